package io.lstmx.cli;

import com.google.protobuf.ByteString;
import io.lstmx.onnx.proto.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Well-formed ONNX files whose layers do not fit together: every command exits 2 with one error
 * line naming the file and the layer, and convert writes nothing.
 */
class InconsistentFileTest {
    @TempDir
    Path dir;

    private Onnx.ModelProto sample() throws IOException {
        return Onnx.ModelProto.parseFrom(Files.readAllBytes(Cli.fixture("sample_classifier").resolve("model.onnx")));
    }

    /** The head Linear(32, 4) given a [4, 31] weight: it no longer fits the LSTM's 32 hidden units. */
    private Path gemmInDim() throws IOException {
        Onnx.ModelProto m = sample();
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        for (Onnx.TensorProto.Builder t : g.getInitializerBuilderList()) {
            if (t.getName().equals("head.weight")) {
                t.clearDims().addDims(4).addDims(31).setRawData(ByteString.copyFrom(new byte[4 * 31 * 4]));
            }
        }
        return Files.write(dir.resolve("gemm_in_dim.onnx"), m.toBuilder().setGraph(g).build().toByteArray());
    }

    /** probs declared [batch, 5] although softmax(Linear(32, 4)) makes [batch, 4]. */
    private Path declaredOutput() throws IOException {
        Onnx.ModelProto m = sample();
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        g.getOutputBuilder(0).getTypeBuilder().getTensorTypeBuilder().getShapeBuilder().getDimBuilder(1).setDimValue(5);
        return Files.write(dir.resolve("declared_output.onnx"), m.toBuilder().setGraph(g).build().toByteArray());
    }

    private void refused(Path bad, String layer) {
        Path out = dir.resolve("out.onnx");
        for (Cli.Result r : List.of(Cli.run("convert", bad, out), Cli.run("inspect", bad), Cli.run("run", bad, "--output-dir", dir.resolve("run-out")))) {
            r.expect(2);
            assertTrue(r.err().contains(bad.toString()), "names the file: " + r.err());
            assertTrue(r.err().contains(layer), "names the layer: " + r.err());
        }
        assertEquals(List.of(bad.getFileName().toString()), Cli.list(dir), "nothing written");
    }

    @Test
    void gemmWeightNotFittingTheLstm() throws IOException {
        refused(gemmInDim(), "/head/Gemm");
    }

    @Test
    void declaredOutputNotMatchingItsLayer() throws IOException {
        Path bad = declaredOutput();
        refused(bad, "layer '/Softmax' (Softmax)");
        String err = Cli.run("convert", bad, dir.resolve("out.onnx")).err();
        assertTrue(err.contains("declared [batch, 5]") && err.contains("produces [batch, 4]"), "expected vs found: " + err);
    }
}
