package io.lstmx.tests;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
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
import io.lstmx.runtime.StreamingSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One loaded model shared by 8 threads, with streaming sessions running beside the plain runs,
 * gives bit for bit what single-threaded runs give. The model is large enough (an LSTM of about
 * 24 million multiply-adds per call) for the runtime to split each call over its shared
 * worker pool, so the pool is in use by several callers at once; at batch 1 and 4 a call takes
 * the runtime's step team (persistent threads splitting the hidden units, one barrier per step)
 * when it is free and runs alone otherwise, so team and solo runs are mixed and must agree. The
 * same for GRU models (linear_before_reset) on the step team and, split into pieces (row blocks,
 * the two directions), on the worker pool.
 */
class ConcurrencyTest {
    static final int T = 20, B = 4, I = 32, H = 256, CASES = 12, THREADS = 8, ROUNDS = 3;

    @TempDir
    Path dir;

    /** An ONNX file with one LSTM node (forward, so that it can stream) and seeded random weights. */
    static Path lstm(Path dir) throws IOException {
        Random r = new Random(7);
        NodeProto lstm = NodeProto.newBuilder().setOpType("LSTM").setName("lstm")
                .addInput("x").addInput("W").addInput("R").addInput("B")
                .addOutput("y").addOutput("y_h").addOutput("y_c")
                .addAttribute(AttributeProto.newBuilder().setName("hidden_size").setType(AttributeProto.AttributeType.INT).setI(H))
                .addAttribute(AttributeProto.newBuilder().setName("direction").setType(AttributeProto.AttributeType.STRING)
                        .setS(com.google.protobuf.ByteString.copyFromUtf8("forward")))
                .build();
        GraphProto.Builder g = GraphProto.newBuilder().setName("lstm").addNode(lstm)
                .addInitializer(OnnxTensors.fromTensor("W", random(r, 0.15f, 1, 4 * H, I)))
                .addInitializer(OnnxTensors.fromTensor("R", random(r, 0.08f, 1, 4 * H, H)))
                .addInitializer(OnnxTensors.fromTensor("B", random(r, 0.1f, 1, 8 * H)))
                .addInput(value("x", List.of(-1L, -1L, (long) I)));
        for (String out : List.of("y", "y_h", "y_c")) {
            g.addOutput(ValueInfoProto.newBuilder().setName(out).setType(TypeProto.newBuilder()
                    .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1))));
        }
        ModelProto m = ModelProto.newBuilder().setIrVersion(8).setProducerName("ConcurrencyTest")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(14)).setGraph(g).build();
        Path file = dir.resolve("lstm.onnx");
        Files.write(file, m.toByteArray());
        return file;
    }

    private static ValueInfoProto value(String name, List<Long> dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("d" + s.getDimCount())
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }

    static Tensor random(Random r, float scale, int... shape) {
        float[] v = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (r.nextFloat() * 2 - 1) * scale;
        }
        return Tensor.ofFloats(shape, v);
    }

    /** The time steps [from, to) of a time-major [T, B, I] tensor. */
    static Tensor steps(Tensor x, int from, int to) {
        int[] s = x.shape();
        int step = s[1] * s[2];
        return Tensor.ofFloats(new int[] {to - from, s[1], s[2]}, Arrays.copyOfRange(x.toFloatArray(), from * step, to * step));
    }

    private static List<float[]> flat(Map<String, Tensor> out) {
        List<float[]> l = new ArrayList<>();
        out.values().forEach(t -> l.add(t.toFloatArray()));
        return l;
    }

    private static boolean same(List<float[]> a, List<float[]> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!Arrays.equals(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** Streams x in chunks of 7, 1 and the rest through a fresh session; the outputs of each feed. */
    private static List<List<float[]>> stream(LoadedModel m, Tensor x) {
        StreamingSession s = m.openSession();
        List<List<float[]>> feeds = new ArrayList<>();
        feeds.add(flat(s.feed(Map.of("x", steps(x, 0, 7)))));
        feeds.add(flat(s.feed(Map.of("x", steps(x, 7, 8)))));
        feeds.add(flat(s.feed(Map.of("x", steps(x, 8, T)))));
        return feeds;
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void oneModelRunFromEightThreadsWithStreamingSessionsBesideGivesTheSingleThreadedResultsBitForBit() throws Exception {
        LoadedModel m = Lstmx.load(lstm(dir));
        Random r = new Random(11);
        List<Tensor> inputs = new ArrayList<>();
        for (int c = 0; c < CASES; c++) {
            // batches of 4 and of 1: both run on the step team (hidden units split over the cores) when
            // it is free, alone on their calling thread when another call holds it
            inputs.add(random(r, 1f, T, c % 2 == 0 ? B : 1, I));
        }
        // Single-threaded answers first, one call at a time.
        List<List<float[]>> expected = new ArrayList<>();
        List<List<List<float[]>>> expectedStreams = new ArrayList<>();
        for (Tensor x : inputs) {
            expected.add(flat(m.run(Map.of("x", x))));
            expectedStreams.add(stream(m, x));
        }
        // Streaming is a different computation order only in where calls end: its concatenated
        // sequence output must still be the whole run's (a check that the streams mean something).
        float[] whole = expected.get(0).get(0);
        float[] firstChunk = expectedStreams.get(0).get(0).get(0);
        assertTrue(firstChunk.length > 0 && firstChunk.length < whole.length, "the stream was cut into chunks");

        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int id = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int round = 0; round < ROUNDS; round++) {
                        for (int k = 0; k < CASES; k++) {
                            int c = (k * (id + 1) + round) % CASES; // every thread in its own order
                            if (id % 4 == 3) {
                                if (!sameStreams(stream(m, inputs.get(c)), expectedStreams.get(c))) {
                                    failures.add("thread " + id + " stream of case " + c);
                                }
                            } else if (!same(flat(m.run(Map.of("x", inputs.get(c)))), expected.get(c))) {
                                failures.add("thread " + id + " run of case " + c);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failures.add("thread " + id + ": " + e);
                }
            }, "concurrency-" + t);
            th.start();
            threads.add(th);
        }
        start.countDown();
        for (Thread th : threads) {
            th.join(TimeUnit.MINUTES.toMillis(4));
        }
        assertEquals(List.of(), new ArrayList<>(failures), "results that differ from the single-threaded ones");
    }

    /** An ONNX file with one GRU node (linear_before_reset, PyTorch's form) of the given direction and seeded random weights. */
    static Path gru(Path dir, String direction, int hidden) throws IOException {
        Random r = new Random(direction.hashCode());
        int d = direction.equals("bidirectional") ? 2 : 1;
        NodeProto gru = NodeProto.newBuilder().setOpType("GRU").setName("gru")
                .addInput("x").addInput("W").addInput("R").addInput("B")
                .addOutput("y").addOutput("y_h")
                .addAttribute(AttributeProto.newBuilder().setName("hidden_size").setType(AttributeProto.AttributeType.INT).setI(hidden))
                .addAttribute(AttributeProto.newBuilder().setName("linear_before_reset").setType(AttributeProto.AttributeType.INT).setI(1))
                .addAttribute(AttributeProto.newBuilder().setName("direction").setType(AttributeProto.AttributeType.STRING)
                        .setS(com.google.protobuf.ByteString.copyFromUtf8(direction)))
                .build();
        GraphProto.Builder g = GraphProto.newBuilder().setName("gru").addNode(gru)
                .addInitializer(OnnxTensors.fromTensor("W", random(r, 0.15f, d, 3 * hidden, I)))
                .addInitializer(OnnxTensors.fromTensor("R", random(r, 0.08f, d, 3 * hidden, hidden)))
                .addInitializer(OnnxTensors.fromTensor("B", random(r, 0.1f, d, 6 * hidden)))
                .addInput(value("x", List.of(-1L, -1L, (long) I)));
        for (String out : List.of("y", "y_h")) {
            g.addOutput(ValueInfoProto.newBuilder().setName(out).setType(TypeProto.newBuilder()
                    .setTensorType(TypeProto.Tensor.newBuilder().setElemType(1))));
        }
        ModelProto m = ModelProto.newBuilder().setIrVersion(8).setProducerName("ConcurrencyTest")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(14)).setGraph(g).build();
        Path file = dir.resolve("gru-" + direction + ".onnx");
        Files.write(file, m.toByteArray());
        return file;
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void gruModelsOnTheStepTeamAndTheWorkerPoolFromEightThreadsGiveTheSingleThreadedResultsBitForBit() throws Exception {
        // A forward GRU at batch 1 and 4 takes the step team when it is free; at batch 8, and a
        // bidirectional GRU at any batch, is split into pieces (row blocks, directions) run on the
        // worker pool by several callers at once.
        List<LoadedModel> models = List.of(Lstmx.load(gru(dir, "forward", 256)), Lstmx.load(gru(dir, "bidirectional", 128)));
        Random r = new Random(12);
        int[] batches = {1, 4, 8};
        List<Tensor> inputs = new ArrayList<>();
        List<List<float[]>> expected = new ArrayList<>();
        for (int c = 0; c < CASES; c++) {
            Tensor x = random(r, 1f, 3 * T, batches[c % 3], I);
            inputs.add(x);
            expected.add(flat(models.get(c % 2).run(Map.of("x", x))));
        }
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int id = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int round = 0; round < ROUNDS; round++) {
                        for (int k = 0; k < CASES; k++) {
                            int c = (k * (id + 1) + round) % CASES;
                            if (!same(flat(models.get(c % 2).run(Map.of("x", inputs.get(c)))), expected.get(c))) {
                                failures.add("thread " + id + " run of case " + c);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failures.add("thread " + id + ": " + e);
                }
            }, "concurrency-gru-" + t);
            th.start();
            threads.add(th);
        }
        start.countDown();
        for (Thread th : threads) {
            th.join(TimeUnit.MINUTES.toMillis(4));
        }
        assertEquals(List.of(), new ArrayList<>(failures), "results that differ from the single-threaded ones");
    }

    private static boolean sameStreams(List<List<float[]>> a, List<List<float[]>> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!same(a.get(i), b.get(i))) {
                return false;
            }
        }
        return true;
    }
}
