package io.lstmx.cli;

import io.lstmx.onnx.proto.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * onnxruntime's C API cuts names at NUL; verify maps such names for it, so a model whose input and
 * output names contain NUL (valid UTF-8, valid ONNX) is still checked against it.
 */
class NulNamesTest {
    @TempDir
    Path dir;

    @Test
    void verifyPassesOnAModelWhoseInputAndOutputNamesContainNul() throws IOException {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(Cli.fixture("sample_classifier").resolve("model.onnx")));
        // Two names that would collide once cut: "x\0in" and "probs\0out" both keep distinct prefixes,
        // and a value "x\0other" is added so that cutting would also merge names.
        UnaryOperator<String> r = n -> n.equals("x") ? "x\0in" : n.equals("probs") ? "probs\0out" : n;
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        g.getInputBuilder(0).setName(r.apply(g.getInput(0).getName()));
        for (Onnx.ValueInfoProto.Builder v : g.getOutputBuilderList()) {
            v.setName(r.apply(v.getName()));
        }
        for (Onnx.NodeProto.Builder n : g.getNodeBuilderList()) {
            for (int i = 0; i < n.getInputCount(); i++) {
                n.setInput(i, r.apply(n.getInput(i)));
            }
            for (int i = 0; i < n.getOutputCount(); i++) {
                n.setOutput(i, r.apply(n.getOutput(i)));
            }
        }
        Path f = Files.write(dir.resolve("nul.onnx"), m.toBuilder().setGraph(g).build().toByteArray());
        Cli.Result res = Cli.run("verify", f).expect(0);
        assertTrue(res.out().contains("PASS"), res.out());
        assertFalse(res.out().contains("\0"), "names are printed escaped");
    }
}
