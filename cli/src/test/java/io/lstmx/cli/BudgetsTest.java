package io.lstmx.cli;

import io.lstmx.onnx.proto.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A small file must not cost a big run: shapes a model declares (or inputs imply) are checked
 * against a budget before anything is allocated, an out-of-memory error is reported as such, and
 * error lines stay short whatever the file's names.
 */
class BudgetsTest {
    @TempDir
    Path dir;

    /** The sample classifier with input x declared as [batch, time, 8] replaced by {@code dims}. */
    private Path withInputDims(String name, long... dims) throws IOException {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(Cli.fixture("sample_classifier").resolve("model.onnx")));
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        g.getInputBuilder(0).getTypeBuilder().getTensorTypeBuilder().setShape(s);
        return Files.write(dir.resolve(name), m.toBuilder().setGraph(g).build().toByteArray());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void verifyRefusesAFixedSequenceOfTwoHundredMillionStepsBeforeAllocatingIt() throws IOException {
        Path f = withInputDims("long.onnx", 1, 200_000_000, 8);
        Cli.Result r = Cli.run("verify", f).expect(3);
        assertTrue(r.err().contains("input 'x' would have shape [1, 200000000, 8]"), r.err());
        assertTrue(r.err().contains("--max-elements"), "names the option that raises the budget: " + r.err());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void verifyRefusesAFixedBatchOfFiveHundredMillion() throws IOException {
        Path f = withInputDims("wide.onnx", 500_000_000, 10, 8);
        Cli.Result r = Cli.run("verify", f).expect(3);
        assertTrue(r.err().contains("[500000000, 10, 8]") && r.err().contains("--max-elements"), r.err());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aDimensionOfTwoToTheFortyIsRefusedNotAnInternalError() throws IOException {
        Path f = withInputDims("huge.onnx", 1L << 40, 10, 8);
        Cli.Result r = Cli.run("verify", f).expect(3);
        assertTrue(r.err().contains("1099511627776"), r.err());
        assertFalse(r.err().contains("internal error"), r.err());
    }

    @Test
    void theBudgetIsAnOptionAndTheDefaultLetsOrdinaryModelsThrough() throws IOException {
        Path f = withInputDims("fixed.onnx", 2, 12, 8);
        Cli.run("verify", f).expect(0);
        Cli.Result r = Cli.run("verify", f, "--max-elements", "100").expect(3);
        assertTrue(r.err().contains("over the budget of 100 elements"), r.err());
        Cli.run("verify", f, "--max-elements", "0").expect(2);
    }

    @Test
    void runChecksTheValuesItsInputsImplyBeforeRunning() throws IOException {
        Path x = dir.resolve("x.npy");
        float[] v = new float[2 * 50 * 8];
        io.lstmx.api.Npy.write(io.lstmx.ir.Tensor.ofFloats(new int[] {2, 50, 8}, v), x);
        Path out = dir.resolve("out");
        Cli.Result r = Cli.run("run", Cli.fixture("sample_classifier").resolve("model.onnx"), x, "--output-dir", out,
                "--max-elements", "1000").expect(3);
        // x has 800 elements; the LSTM's sequence output [50, 1, 2, 32] has 3,200.
        assertTrue(r.err().contains("would have shape") && r.err().contains("3200 elements"), r.err());
        assertFalse(Files.exists(out), "nothing written");
        Cli.run("run", Cli.fixture("sample_classifier").resolve("model.onnx"), x, "--output-dir", out).expect(0);
    }

    @Test
    void anOutOfMemoryErrorIsReportedAsSuchWithTheHeapHint() {
        StringWriter s = new StringWriter();
        int status = Main.report(new OutOfMemoryError("Java heap space"), new PrintWriter(s), false);
        assertEquals(3, status, "a model too large for the heap is not a bug in lstmx");
        String line = s.toString();
        assertTrue(line.startsWith("lstmx: error: out of memory (Java heap space)"), line);
        assertTrue(line.contains("JAVA_TOOL_OPTIONS=-Xmx"), line);
        assertEquals(1, line.lines().count(), line);
    }

    @Test
    void aTenMegabyteNodeNameCostsOneShortLine() throws IOException {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(Cli.fixture("sample_classifier").resolve("model.onnx")));
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        String huge = "n".repeat(10_000_000);
        g.addNode(Onnx.NodeProto.newBuilder().setOpType("NoSuchOp").setName(huge).addInput("probs").addOutput("zz"));
        Path f = Files.write(dir.resolve("name.onnx"), m.toBuilder().setGraph(g).build().toByteArray());
        Cli.Result r = Cli.run("convert", f, dir.resolve("o.onnx")).expect(3);
        assertTrue(r.err().length() < 3000, "short: " + r.err().length() + " characters");
        assertTrue(r.err().contains("NoSuchOp") && r.err().contains("characters)"), r.err());
        assertEquals(List.of("name.onnx"), Cli.list(dir));
    }
}
