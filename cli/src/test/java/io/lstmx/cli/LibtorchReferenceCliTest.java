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

    /** libtorch does not run ONNX files: it runs lstmx's TorchScript conversion of the model, and the report says so. */
    @Test
    void verifyOfAnOnnxModelWithLibtorchComparesLstmxsTorchScriptConversion() {
        Cli.Result r = Cli.run("verify", Cli.fixture("uni_1layer").resolve("model.onnx"), "--reference", "libtorch", "-q").expect(0);
        assertTrue(r.out().contains("libtorch runs lstmx's torchscript conversion of the model (it does not run onnx files)"), r.out());
        assertTrue(r.out().contains("PASS"), r.out());
    }

    @Test
    void verifyOfATorchScriptArchiveRunsTheArchiveItselfInLibtorch() {
        Cli.Result r = Cli.run("verify", torchscript(), "--reference", "libtorch", "-q").expect(0);
        assertTrue(r.out().contains("lstmx vs libtorch 2.7.1"), r.out());
        assertTrue(!r.out().contains("conversion"), "the archive itself, not a conversion: " + r.out());
        assertTrue(r.out().contains("PASS"), r.out());
    }

    /** A state_dict has no engine of its own: verify picks libtorch and runs lstmx's TorchScript of the network it inferred. */
    @Test
    void verifyOfAStateDictChecksTheInferredNetworkInLibtorchByDefault() {
        Path sd = Cli.root().resolve("fixtures/pytorch/lstm_bidirectional_2layer/state_dict.pt");
        Cli.Result r = Cli.run("verify", sd, "-q").expect(0);
        assertTrue(r.out().contains("lstmx vs libtorch"), r.out());
        assertTrue(r.out().contains("libtorch runs lstmx's torchscript conversion of the model (it does not run pytorch-state-dict files)"),
                r.out());
        assertTrue(r.out().contains("PASS"), r.out());
    }
}
