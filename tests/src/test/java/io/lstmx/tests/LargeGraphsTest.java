package io.lstmx.tests;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.OperatorSetIdProto;
import io.lstmx.onnx.proto.Onnx.TensorShapeProto;
import io.lstmx.onnx.proto.Onnx.TypeProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every pass over a graph is near-linear in its size: generated graphs of 100,000 nodes, outputs or
 * initializers are read, checked, compiled, written and read back within a bound that a quadratic
 * pass (100,000^2 steps) could not meet. The bounds are loose on purpose (shared CI machines); the
 * quadratic versions of these passes took minutes.
 */
class LargeGraphsTest {
    static final int N = 100_000;
    static final Duration BOUND = Duration.ofSeconds(40);

    @TempDir
    Path dir;

    private static ValueInfoProto value(String name, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }

    private Path write(String name, GraphProto.Builder g) throws IOException {
        ModelProto m = ModelProto.newBuilder().setIrVersion(8).setProducerName("LargeGraphsTest")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(14)).setGraph(g.setName(name)).build();
        Path f = dir.resolve(name + ".onnx");
        Files.write(f, m.toByteArray());
        return f;
    }

    /** Reads, compiles, runs, writes and reads back; returns the output of the re-read model. */
    private Tensor roundTrip(Path file, Tensor x) {
        LoadedModel m = Lstmx.load(file);
        Tensor y = m.run(Map.of("x", x)).values().iterator().next();
        Path out = dir.resolve("back_" + file.getFileName());
        Lstmx.save(m.model(), out, Format.ONNX);
        Tensor back = Lstmx.load(out).run(Map.of("x", x)).values().iterator().next();
        assertArrayEquals(y.toFloatArray(), back.toFloatArray(), "the written copy computes the same");
        return y;
    }

    @Test
    void aChainOfAHundredThousandNodesIsReadCompiledRunAndWrittenInBoundedTime() throws IOException {
        GraphProto.Builder g = GraphProto.newBuilder().addInput(value("x", 2, 3));
        String prev = "x";
        for (int i = 0; i < N; i++) {
            String out = i == N - 1 ? "y" : "v" + i;
            g.addNode(NodeProto.newBuilder().setOpType("Relu").addInput(prev).addOutput(out));
            prev = out;
        }
        g.addOutput(value("y", 2, 3));
        Path f = write("chain", g);
        Tensor x = Tensor.ofFloats(new int[] {2, 3}, new float[] {1, -2, 3, -4, 5, -6});
        Tensor y = assertTimeoutPreemptively(BOUND, () -> roundTrip(f, x));
        assertArrayEquals(new float[] {1, 0, 3, 0, 5, 0}, y.toFloatArray(), "relu of relu ... of x is relu(x)");
    }

    @Test
    void aHundredThousandGraphOutputsAliasingOneValueAreHandledInBoundedTime() throws IOException {
        GraphProto.Builder g = GraphProto.newBuilder().addInput(value("x", 2))
                .addNode(NodeProto.newBuilder().setOpType("Relu").addInput("x").addOutput("y"));
        for (int i = 0; i < N; i++) {
            // Each output is an alias of y: the importer and the exporter each add an Identity per output.
            g.addNode(NodeProto.newBuilder().setOpType("Identity").addInput("y").addOutput("o" + i));
            g.addOutput(value("o" + i, 2));
        }
        Path f = write("outputs", g);
        assertTimeoutPreemptively(BOUND, () -> {
            LoadedModel m = Lstmx.load(f);
            assertEquals(N, m.outputs().size());
            Map<String, Tensor> out = m.run(Map.of("x", Tensor.ofFloats(new int[] {2}, new float[] {-1, 2})));
            assertEquals(N, out.size());
            assertArrayEquals(new float[] {0, 2}, out.get("o" + (N - 1)).toFloatArray());
            Path back = dir.resolve("outputs_back.onnx");
            Lstmx.save(m.model(), back, Format.ONNX);
            assertEquals(N, Lstmx.load(back).outputs().size());
        });
    }

    @Test
    void aGraphDeclaringOneOutputAHundredThousandTimesIsRefusedInBoundedTime() throws IOException {
        GraphProto.Builder g = GraphProto.newBuilder().addInput(value("x", 2))
                .addNode(NodeProto.newBuilder().setOpType("Relu").addInput("x").addOutput("y"));
        for (int i = 0; i < N; i++) {
            g.addOutput(value("y", 2));
        }
        Path f = write("repeated", g);
        LstmxException e = assertTimeoutPreemptively(BOUND, () -> assertThrows(LstmxException.class, () -> Lstmx.read(f, null)));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("output 'y' is declared twice"), e.getMessage());
    }

    @Test
    void aHundredThousandInitializersAreFoldedOrAddedInBoundedTime() throws IOException {
        GraphProto.Builder g = GraphProto.newBuilder().addInput(value("x", 2));
        String prev = "x";
        for (int i = 0; i < N; i++) {
            g.addInitializer(OnnxTensors.fromTensor("c" + i, Tensor.ofFloats(new int[] {2}, new float[] {1, -1})));
            String out = i == N - 1 ? "y" : "s" + i;
            g.addNode(NodeProto.newBuilder().setOpType("Add").addInput(prev).addInput("c" + i).addOutput(out));
            prev = out;
        }
        g.addOutput(value("y", 2));
        Path f = write("initializers", g);
        Tensor y = assertTimeoutPreemptively(BOUND, () -> roundTrip(f, Tensor.ofFloats(new int[] {2}, new float[] {0.5f, 0.5f})));
        assertArrayEquals(new float[] {0.5f + N, 0.5f - N}, y.toFloatArray());
    }

    @Test
    void twentyThousandUnknownNodesAfterAnLstmAreReportedTogetherInBoundedTime() throws IOException {
        int h = 4;
        Random r = new Random(1);
        GraphProto.Builder g = GraphProto.newBuilder().addInput(value("x", 3, 1, 2))
                .addInitializer(OnnxTensors.fromTensor("W", ConcurrencyTest.random(r, 0.5f, 1, 4 * h, 2)))
                .addInitializer(OnnxTensors.fromTensor("R", ConcurrencyTest.random(r, 0.5f, 1, 4 * h, h)))
                .addInitializer(OnnxTensors.fromTensor("k", Tensor.ofLongs(new int[] {1}, new long[] {1})))
                .addNode(NodeProto.newBuilder().setOpType("LSTM").addInput("x").addInput("W").addInput("R")
                        .addOutput("y").addAttribute(AttributeProto.newBuilder().setName("hidden_size")
                                .setType(AttributeProto.AttributeType.INT).setI(h)));
        for (int i = 0; i < 20_000; i++) {
            // TopK is what torch.onnx's packed-sequence pattern starts from: the rewrite must not
            // index the whole graph once per TopK.
            g.addNode(NodeProto.newBuilder().setOpType("TopK").setName("topk" + i).addInput("y").addInput("k")
                    .addOutput("t" + i).addOutput("ti" + i));
        }
        g.addOutput(value("t19999"));
        Path f = write("topk", g);
        LstmxException e = assertTimeoutPreemptively(BOUND, () -> assertThrows(LstmxException.class, () -> Lstmx.read(f, null)));
        assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("TopK"), e.getMessage().substring(0, 200));
        assertTrue(e.getMessage().length() < 5000, "the line names a few nodes, not 20,000: " + e.getMessage().length());
    }

    @Test
    void aModelOfAHundredThousandInputsIsRunInBoundedTimeAndItsErrorsNameAFewOfThem() throws IOException {
        GraphProto.Builder g = GraphProto.newBuilder();
        NodeProto.Builder concat = NodeProto.newBuilder().setOpType("Concat").addOutput("y")
                .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(0));
        Map<String, Tensor> inputs = new HashMap<>();
        float[] expected = new float[N];
        for (int i = 0; i < N; i++) {
            g.addInput(value("x" + i, 1));
            concat.addInput("x" + i);
            inputs.put("x" + i, Tensor.ofFloats(new int[] {1}, new float[] {i}));
            expected[i] = i;
        }
        g.addNode(concat).addOutput(value("y", N));
        Path f = write("inputs", g);
        assertTimeoutPreemptively(BOUND, () -> {
            // Each given input is looked up among the declared ones: by name, not by a scan of the list.
            LoadedModel m = Lstmx.load(f);
            assertArrayEquals(expected, m.run(inputs).get("y").toFloatArray());
            Path back = dir.resolve("inputs_back.onnx");
            Lstmx.save(m.model(), back, Format.ONNX);
            assertArrayEquals(expected, Lstmx.load(back).run(inputs).get("y").toFloatArray());
            Map<String, Tensor> oneTooMany = new HashMap<>(inputs);
            oneTooMany.put("z", Tensor.ofFloats(new int[] {1}, new float[] {0}));
            LstmxException e = assertThrows(LstmxException.class, () -> m.run(oneTooMany));
            assertEquals(ErrorCode.BAD_INPUT, e.code());
            assertTrue(e.getMessage().contains("unknown input 'z'") && e.getMessage().contains("and " + (N - 10) + " more"),
                    e.getMessage().substring(0, Math.min(300, e.getMessage().length())));
            assertTrue(e.getMessage().length() < 1000, "the line names a few inputs, not 100,000: " + e.getMessage().length());
        });
    }

    @Test
    void aHundredThousandAxesAreUnsqueezedAndSqueezedAgainInBoundedTime() throws IOException {
        long[] axes = new long[N];
        for (int i = 0; i < N; i++) {
            axes[i] = i + 1;
        }
        // Importer, shape inference and runtime each check the axes: a flag per axis, not a search per axis.
        GraphProto.Builder g = GraphProto.newBuilder().addInput(value("x", 2))
                .addInitializer(OnnxTensors.fromTensor("axes", Tensor.ofLongs(new int[] {N}, axes)))
                .addNode(NodeProto.newBuilder().setOpType("Unsqueeze").addInput("x").addInput("axes").addOutput("u"))
                .addNode(NodeProto.newBuilder().setOpType("Relu").addInput("u").addOutput("r"))
                .addNode(NodeProto.newBuilder().setOpType("Squeeze").addInput("r").addInput("axes").addOutput("y"))
                .addOutput(value("y", 2));
        Path f = write("axes", g);
        Tensor y = assertTimeoutPreemptively(BOUND, () -> roundTrip(f, Tensor.ofFloats(new int[] {2}, new float[] {-1, 2})));
        assertArrayEquals(new float[] {0, 2}, y.toFloatArray(), "relu of x, through a rank of 100,001");
    }

    private static ValueInfoProto value(String name) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1))).build();
    }

}
