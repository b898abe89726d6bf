package io.lstmx.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The libtorch reference engine as the command sees it: listed, chosen by name, clear refusals. */
class LibtorchReferenceCliTest {
    private static Path torchscript() {
        return Cli.root().resolve("fixtures/pytorch/torchscript/lstm_uni_tuple_traced/model.pt");
    }

    @Test
    void formatsListsLibtorchAsTheEngineForTorchScript() {
        String out = Cli.run("formats").expect(0).out();
        assertTrue(out.lines().anyMatch(l -> l.matches("  libtorch +2\\.7\\.1 .*torchscript")), out);
    }

    @Test
    void verifyOfAnOnnxModelWithLibtorchSaysLibtorchRunsTorchScriptOnly() {
        Cli.Result r = Cli.run("verify", Cli.fixture("uni_1layer").resolve("model.onnx"), "--reference", "libtorch").expect(3);
        assertTrue(r.err().contains("reference engine libtorch does not run onnx models"), r.err());
        assertTrue(r.err().contains("libtorch 2.7.1"), "the engines present are listed: " + r.err());
    }

    /** Until the TorchScript reader exists, lstmx's side of the comparison is what is missing: exit 3, one line, no crash. */
    @Test
    void verifyOfATorchScriptModelWithLibtorchFailsCleanlyWhileTorchScriptCannotBeRead() {
        Cli.Result r = Cli.run("verify", torchscript(), "--reference", "libtorch");
        assertTrue(r.exit() == 0 || r.exit() == 3, "exit " + r.exit() + ": " + r.err());
        if (r.exit() == 3) {
            assertTrue(r.err().contains("torchscript"), r.err());
            assertTrue(r.errLines().size() == 1, "one line: " + r.err());
        }
    }
}
