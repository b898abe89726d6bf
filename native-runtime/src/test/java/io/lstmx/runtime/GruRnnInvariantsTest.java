package io.lstmx.runtime;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.lstmx.runtime.TestSupport.assertClose;
import static io.lstmx.runtime.TestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Relations GRU and RNN layers must satisfy between runs of the runtime itself (no expected numbers
 * needed): padding, direction, layout, streaming, thread-count independence. Each relation is
 * checked for the GRU with and without linear_before_reset and for the RNN.
 */
class GruRnnInvariantsTest {
    private static final double TOL = 1e-6;

    /** The three cells under test. */
    private enum Cell {
        GRU_LBR(3), GRU(3), RNN(1);

        final int gates;

        Cell(int gates) {
            this.gates = gates;
        }

        RecurrentSpec spec(int in, int hidden, Direction dir, Layout layout, Float clip) {
            return this == RNN ? TestSupport.rnnSpec(in, hidden, dir, layout, clip) : TestSupport.gruSpec(in, hidden, dir, layout, clip, this == GRU_LBR);
        }

        Layer layer(RecurrentSpec spec, List<RecurrentWeights> w, boolean lens, boolean init) {
            return this == RNN ? TestSupport.rnn(spec, w, lens, init, "Y", "Y_h") : TestSupport.gru(spec, w, lens, init, "Y", "Y_h");
        }

        Model model(RecurrentSpec spec, List<RecurrentWeights> w, boolean lens, boolean init) {
            return TestSupport.singleLayerModel(layer(spec, w, lens, init), lens, init);
        }
    }

    private static Map<String, Tensor> run(Model m, Object... namesAndTensors) {
        Map<String, Tensor> in = new HashMap<>();
        for (int i = 0; i < namesAndTensors.length; i += 2) {
            in.put((String) namesAndTensors[i], (Tensor) namesAndTensors[i + 1]);
        }
        return NativeRuntime.compile(m).run(in);
    }

    /** Rows [T, B, n] time-major: slice of row b, steps [0, len). */
    private static float[] row(float[] x, int batch, int n, int b, int len) {
        float[] r = new float[len * n];
        for (int t = 0; t < len; t++) {
            System.arraycopy(x, (t * batch + b) * n, r, t * n, n);
        }
        return r;
    }

    @Test
    void paddedBatchEqualsEachRowAlone() {
        Random rnd = new Random(1);
        for (Cell cell : Cell.values()) {
            for (Direction dir : Direction.values()) {
                // Clip on the forward runs (the generic element-wise path), off otherwise (the vectorised one).
                RecurrentSpec spec = cell.spec(3, 4, dir, Layout.TIME_MAJOR, dir == Direction.FORWARD ? 1.5f : null);
                int dirs = dir.count();
                List<RecurrentWeights> w = TestSupport.recurrentWeights(rnd, spec, cell.gates);
                int steps = 6;
                int batch = 6; // one group of four rows and two rows on their own
                int[] lens = {6, 2, 4, 1, 0, 5};
                float[] x = random(rnd, steps * batch * 3, 1);
                float[] h0 = random(rnd, dirs * batch * 4, 1);
                Map<String, Tensor> all = run(cell.model(spec, w, true, true), "X", TestSupport.t(x, steps, batch, 3),
                        "L", TestSupport.ints(Arrays.stream(lens).asLongStream().toArray(), batch), "H0", TestSupport.t(h0, dirs, batch, 4));
                float[] y = all.get("Y").toFloatArray();
                float[] yh = all.get("Y_h").toFloatArray();
                for (int b = 0; b < batch; b++) {
                    String what = cell + " " + dir + " row " + b;
                    int len = lens[b];
                    // Y rows [T, D, B, H] viewed as [T*D, B, H]: the padded run's row b, then zeros.
                    float[] mine = row(y, batch, 4, b, steps * dirs);
                    float[] myH = row(yh, batch, 4, b, dirs);
                    if (len == 0) {
                        assertArrayEquals(new float[mine.length], mine, what + ": Y of a row of length 0");
                        assertArrayEquals(new float[myH.length], myH, what + ": Y_h of a row of length 0");
                        continue;
                    }
                    Map<String, Tensor> alone = run(cell.model(spec, w, false, true),
                            "X", TestSupport.t(row(x, batch, 3, b, len), len, 1, 3), "H0", TestSupport.t(row(h0, batch, 4, b, dirs), dirs, 1, 4));
                    float[] expected = Arrays.copyOf(alone.get("Y").toFloatArray(), steps * dirs * 4);
                    assertClose(expected, TestSupport.t(mine, mine.length), TOL, what + ": Y");
                    assertClose(alone.get("Y_h").toFloatArray(), TestSupport.t(myH, myH.length), TOL, what + ": Y_h");
                }
            }
        }
    }

    @Test
    void reverseEqualsForwardOnReversedSequence() {
        Random rnd = new Random(3);
        for (Cell cell : Cell.values()) {
            RecurrentSpec fwd = cell.spec(3, 5, Direction.FORWARD, Layout.TIME_MAJOR, null);
            RecurrentSpec rev = cell.spec(3, 5, Direction.REVERSE, Layout.TIME_MAJOR, null);
            List<RecurrentWeights> w = TestSupport.recurrentWeights(rnd, fwd, cell.gates);
            int steps = 7;
            int batch = 5;
            float[] x = random(rnd, steps * batch * 3, 1);
            float[] xr = TestSupport.reverseTime(x, steps, batch * 3);
            Map<String, Tensor> a = run(cell.model(rev, w, false, false), "X", TestSupport.t(x, steps, batch, 3));
            Map<String, Tensor> b = run(cell.model(fwd, w, false, false), "X", TestSupport.t(xr, steps, batch, 3));
            float[] ya = a.get("Y").toFloatArray();
            float[] yb = b.get("Y").toFloatArray();
            float[] yaReversed = TestSupport.reverseTime(ya, steps, batch * 5);
            assertClose(yb, TestSupport.t(yaReversed, ya.length), TOL, cell + " Y");
            assertClose(b.get("Y_h"), a.get("Y_h"), TOL, cell + " Y_h");
            assertTrue(Math.abs(ya[0] - yb[0]) > 1e-4, cell + ": reverse must differ from forward on the same input");
        }
    }

    @Test
    void bidirectionalEqualsForwardAndReverseLayers() {
        Random rnd = new Random(4);
        for (Cell cell : Cell.values()) {
            RecurrentSpec bi = cell.spec(4, 3, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, null);
            List<RecurrentWeights> w = TestSupport.recurrentWeights(rnd, bi, cell.gates);
            int steps = 5;
            int batch = 3;
            Tensor x = TestSupport.t(random(rnd, steps * batch * 4, 1), steps, batch, 4);
            Tensor h0 = TestSupport.t(random(rnd, 2 * batch * 3, 1), 2, batch, 3);
            float[] h0f = h0.toFloatArray();
            Tensor lens = TestSupport.ints(new long[] {5, 3, 1}, batch);
            Map<String, Tensor> both = run(cell.model(bi, w, true, true), "X", x, "L", lens, "H0", h0);
            Map<String, Tensor> f = run(cell.model(cell.spec(4, 3, Direction.FORWARD, Layout.TIME_MAJOR, null), List.of(w.get(0)), true, true),
                    "X", x, "L", lens, "H0", TestSupport.t(Arrays.copyOfRange(h0f, 0, batch * 3), 1, batch, 3));
            Map<String, Tensor> r = run(cell.model(cell.spec(4, 3, Direction.REVERSE, Layout.TIME_MAJOR, null), List.of(w.get(1)), true, true),
                    "X", x, "L", lens, "H0", TestSupport.t(Arrays.copyOfRange(h0f, batch * 3, 2 * batch * 3), 1, batch, 3));
            float[] y = both.get("Y").toFloatArray();
            float[] yf = f.get("Y").toFloatArray();
            float[] yr = r.get("Y").toFloatArray();
            int blk = batch * 3;
            for (int t = 0; t < steps; t++) {
                assertClose(Arrays.copyOfRange(yf, t * blk, (t + 1) * blk), TestSupport.t(Arrays.copyOfRange(y, (2 * t) * blk, (2 * t + 1) * blk), blk),
                        TOL, cell + " forward t" + t);
                assertClose(Arrays.copyOfRange(yr, t * blk, (t + 1) * blk), TestSupport.t(Arrays.copyOfRange(y, (2 * t + 1) * blk, (2 * t + 2) * blk), blk),
                        TOL, cell + " reverse t" + t);
            }
            float[] yh = both.get("Y_h").toFloatArray();
            assertClose(f.get("Y_h").toFloatArray(), TestSupport.t(Arrays.copyOfRange(yh, 0, blk), blk), TOL, cell + " Y_h forward");
            assertClose(r.get("Y_h").toFloatArray(), TestSupport.t(Arrays.copyOfRange(yh, blk, 2 * blk), blk), TOL, cell + " Y_h reverse");
        }
    }

    @Test
    void batchMajorEqualsTransposedTimeMajor() {
        Random rnd = new Random(5);
        for (Cell cell : Cell.values()) {
            RecurrentSpec tm = cell.spec(3, 4, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, null);
            RecurrentSpec bm = cell.spec(3, 4, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, null);
            List<RecurrentWeights> w = TestSupport.recurrentWeights(rnd, tm, cell.gates);
            int steps = 4;
            int batch = 5;
            float[] x = random(rnd, steps * batch * 3, 1);
            float[] h0 = random(rnd, 2 * batch * 4, 1);
            long[] lens = {4, 2, 3, 0, 4};
            Map<String, Tensor> a = run(cell.model(tm, w, true, true), "X", TestSupport.t(x, steps, batch, 3),
                    "L", TestSupport.ints(lens, batch), "H0", TestSupport.t(h0, 2, batch, 4));
            Map<String, Tensor> b = run(cell.model(bm, w, true, true), "X", TestSupport.transpose(TestSupport.t(x, steps, batch, 3), 1, 0, 2),
                    "L", TestSupport.ints(lens, batch), "H0", TestSupport.transpose(TestSupport.t(h0, 2, batch, 4), 1, 0, 2));
            assertClose(TestSupport.transpose(a.get("Y"), 2, 0, 1, 3), b.get("Y"), TOL, cell + " Y");
            assertClose(TestSupport.transpose(a.get("Y_h"), 1, 0, 2), b.get("Y_h"), TOL, cell + " Y_h");
        }
    }

    /** X [T, B, 4] -> GRU (H 5) -> Squeeze(1) -> RNN (H 3) -> Dense(3 -> 1); also outputs the GRU's and the RNN's last h. */
    private static Model stacked(Random rnd, boolean lbr) {
        RecurrentSpec g = TestSupport.gruSpec(4, 5, Direction.FORWARD, Layout.TIME_MAJOR, null, lbr);
        RecurrentSpec r = TestSupport.rnnSpec(5, 3, Direction.FORWARD, Layout.TIME_MAJOR, null);
        List<Layer> layers = List.of(
                new Layer.Gru("g", RecurrentPorts.withoutCell("X", null, null, "y1", "h1"), g, TestSupport.recurrentWeights(rnd, g, 3), io.lstmx.ir.GateOrder.Gru.CANONICAL),
                new Layer.Squeeze("sq", "y1", "x2", List.of(1)),
                new Layer.Rnn("r", RecurrentPorts.withoutCell("x2", null, null, "y2", "h2"), r, TestSupport.recurrentWeights(rnd, r, 1)),
                new Layer.Dense("fc", "y2", "out", TestSupport.t(random(rnd, 3, 1), 1, 3), null));
        return new Model("stack", ModelInfo.NONE, List.of(new ValueInfo("X", DType.FLOAT32, Shape.of("T", "B", 4))),
                List.of(new ValueInfo("out", DType.FLOAT32, Shape.UNKNOWN), new ValueInfo("h1", DType.FLOAT32, Shape.UNKNOWN),
                        new ValueInfo("h2", DType.FLOAT32, Shape.UNKNOWN)), layers);
    }

    @Test
    void streamingInChunksEqualsOneRun() {
        for (boolean lbr : new boolean[] {true, false}) {
            Random rnd = new Random(7);
            Model m = stacked(rnd, lbr);
            int steps = 9;
            int batch = 5;
            float[] x = random(rnd, steps * batch * 4, 1);
            CompiledModel cm = NativeRuntime.compile(m);
            Map<String, Tensor> full = cm.run(Map.of("X", TestSupport.t(x, steps, batch, 4)));
            StreamingSession session = cm.openSession();
            for (int round = 0; round < 2; round++) { // the second round checks reset()
                int[] chunks = {1, 3, 4, 1};
                float[] got = new float[steps * batch];
                Map<String, Tensor> last = TestSupport.feedInChunks(session, x, batch, 4, chunks, got);
                String what = (lbr ? "linear_before_reset" : "reset before") + ", round " + round;
                assertClose(full.get("out").toFloatArray(), TestSupport.t(got, got.length), TOL, "chunked output, " + what);
                assertClose(full.get("h1"), last.get("h1"), TOL, "GRU last state, " + what);
                assertClose(full.get("h2"), last.get("h2"), TOL, "RNN last state, " + what);
                session.reset();
            }
            // Without carried states each chunk would restart from zero: the relation is not trivial.
            Map<String, Tensor> restarted = cm.run(Map.of("X", TestSupport.t(Arrays.copyOfRange(x, 4 * batch * 4, 9 * batch * 4), 5, batch, 4)));
            assertTrue(Math.abs(restarted.get("h1").toFloatArray()[0] - full.get("h1").toFloatArray()[0]) > 1e-4);
        }
    }

    @Test
    void streamingWithLengthsContinuesFromEachRowsLastValidStep() {
        Random rnd = new Random(8);
        for (Cell cell : Cell.values()) {
            RecurrentSpec spec = cell.spec(2, 3, Direction.FORWARD, Layout.BATCH_MAJOR, null);
            List<RecurrentWeights> w = TestSupport.recurrentWeights(rnd, spec, cell.gates);
            Model m = cell.model(spec, w, true, true);
            float[] h0 = random(rnd, 2 * 3, 1);
            // Row 0: 3 valid steps then 2; row 1: 1 valid step, then 0 in the second chunk, then 2.
            float[][] rows = {random(rnd, 5 * 2, 1), random(rnd, 3 * 2, 1)};
            float[] chunk1 = new float[2 * 3 * 2];
            System.arraycopy(rows[0], 0, chunk1, 0, 6);
            System.arraycopy(rows[1], 0, chunk1, 6, 2);
            float[] chunk2 = new float[2 * 2 * 2];
            System.arraycopy(rows[0], 6, chunk2, 0, 4);
            float[] chunk3 = new float[2 * 2 * 2];
            System.arraycopy(rows[1], 2, chunk3, 4, 4);
            Tensor zeros = TestSupport.t(new float[6], 2, 1, 3);
            StreamingSession s = NativeRuntime.compile(m).openSession();
            s.feed(Map.of("X", TestSupport.t(chunk1, 2, 3, 2), "L", TestSupport.ints(new long[] {3, 1}, 2), "H0", TestSupport.t(h0, 2, 1, 3)));
            Map<String, Tensor> second = s.feed(Map.of("X", TestSupport.t(chunk2, 2, 2, 2), "L", TestSupport.ints(new long[] {2, 0}, 2), "H0", zeros));
            Map<String, Tensor> third = s.feed(Map.of("X", TestSupport.t(chunk3, 2, 2, 2), "L", TestSupport.ints(new long[] {0, 2}, 2), "H0", zeros));
            for (int b = 0; b < 2; b++) {
                int total = b == 0 ? 5 : 3;
                Map<String, Tensor> alone = run(cell.model(spec, w, false, true), "X", TestSupport.t(rows[b], 1, total, 2),
                        "H0", TestSupport.t(Arrays.copyOfRange(h0, 3 * b, 3 * b + 3), 1, 1, 3));
                Map<String, Tensor> lastChunk = b == 0 ? second : third;
                assertClose(alone.get("Y_h").toFloatArray(), TestSupport.t(Arrays.copyOfRange(lastChunk.get("Y_h").toFloatArray(), 3 * b, 3 * b + 3), 3),
                        TOL, cell + " row " + b + " last h");
            }
        }
    }

    @Test
    void streamingRejectsBackwardLayersAndBatchChanges() {
        Random rnd = new Random(9);
        for (Cell cell : Cell.values()) {
            for (Direction dir : new Direction[] {Direction.REVERSE, Direction.BIDIRECTIONAL}) {
                RecurrentSpec spec = cell.spec(2, 2, dir, Layout.TIME_MAJOR, null);
                CompiledModel m = NativeRuntime.compile(cell.model(spec, TestSupport.recurrentWeights(rnd, spec, cell.gates), false, false));
                LstmxException e = assertThrows(LstmxException.class, m::openSession);
                assertEquals(ErrorCode.UNSUPPORTED, e.code());
                String kind = cell == Cell.RNN ? "'rnn' (RNN)" : "'gru' (GRU)";
                assertTrue(e.getMessage().contains(kind) && e.getMessage().contains(dir.toString().toLowerCase()), e.getMessage());
            }
            RecurrentSpec f = cell.spec(2, 2, Direction.FORWARD, Layout.TIME_MAJOR, null);
            StreamingSession s = NativeRuntime.compile(cell.model(f, TestSupport.recurrentWeights(rnd, f, cell.gates), false, false)).openSession();
            s.feed(Map.of("X", TestSupport.t(new float[2 * 3 * 2], 2, 3, 2)));
            LstmxException b = assertThrows(LstmxException.class, () -> s.feed(Map.of("X", TestSupport.t(new float[2 * 2 * 2], 2, 2, 2))));
            assertEquals(ErrorCode.BAD_INPUT, b.code());
            assertTrue(b.getMessage().contains("batch size 2"), b.getMessage());
            s.reset();
            assertEquals(2, s.feed(Map.of("X", TestSupport.t(new float[2 * 2 * 2], 2, 2, 2))).get("Y").dim(2));
        }
    }

    @Test
    void shapeErrorsNameTheLayer() {
        Random rnd = new Random(10);
        for (Cell cell : Cell.values()) {
            String name = cell == Cell.RNN ? "layer 'rnn' (RNN)" : "layer 'gru' (GRU)";
            RecurrentSpec spec = cell.spec(5, 2, Direction.FORWARD, Layout.TIME_MAJOR, null);
            CompiledModel cm = NativeRuntime.compile(cell.model(spec, TestSupport.recurrentWeights(rnd, spec, cell.gates), true, true));
            Tensor h0 = TestSupport.t(new float[2 * 2], 1, 2, 2);
            Tensor lens = TestSupport.ints(new long[] {3, 3}, 2);
            Tensor x = TestSupport.t(new float[3 * 2 * 5], 3, 2, 5);
            LstmxException e = assertThrows(LstmxException.class,
                    () -> cm.run(Map.of("X", TestSupport.t(new float[3 * 2 * 7], 3, 2, 7), "L", lens, "H0", h0)));
            assertEquals(ErrorCode.BAD_INPUT, e.code());
            assertTrue(e.getMessage().contains(name) && e.getMessage().contains("last dim 7") && e.getMessage().contains("expected input size 5"),
                    e.getMessage());
            e = assertThrows(LstmxException.class, () -> cm.run(Map.of("X", x, "L", lens, "H0", TestSupport.t(new float[6], 1, 2, 3))));
            assertTrue(e.getMessage().contains(name) && e.getMessage().contains("initial h") && e.getMessage().contains("[1, 2, 2]"), e.getMessage());
            e = assertThrows(LstmxException.class, () -> cm.run(Map.of("X", x, "L", TestSupport.ints(new long[] {3, 4}, 2), "H0", h0)));
            assertTrue(e.getMessage().contains(name) && e.getMessage().contains("sequence length 4"), e.getMessage());
            e = assertThrows(LstmxException.class, () -> cm.run(Map.of("X", x, "L", TestSupport.ints(new long[] {3}, 1), "H0", h0)));
            assertTrue(e.getMessage().contains(name) && e.getMessage().contains("[2]"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- threads

    private static final int STEPS = 16;
    private static final int BATCH = 13; // three groups of four rows and one row left over

    /** A layer large enough to be split over threads, with ragged lengths (one 0) and initial h. */
    private record Big(String name, Cell cell, RecurrentSpec spec, List<RecurrentWeights> weights, CompiledModel model) {
        static Big of(String name, Cell cell, RecurrentSpec spec, long seed) {
            List<RecurrentWeights> w = TestSupport.recurrentWeights(new Random(seed), spec, cell.gates);
            return new Big(name, cell, spec, w, NativeRuntime.compile(cell.model(spec, w, true, true)));
        }

        long work() {
            return (long) STEPS * BATCH * spec.direction().count() * cell.gates * spec.hiddenSize() * (spec.inputSize() + spec.hiddenSize());
        }

        Map<String, Tensor> inputs(long seed) {
            Random rnd = new Random(seed);
            int dirs = spec.direction().count();
            boolean bm = spec.layout() == Layout.BATCH_MAJOR;
            long[] lens = new long[BATCH];
            for (int b = 0; b < BATCH; b++) {
                lens[b] = b == 5 ? 0 : b % 4 == 0 ? STEPS : 1 + rnd.nextInt(STEPS);
            }
            int i = spec.inputSize();
            int h = spec.hiddenSize();
            return Map.of(
                    "X", Tensor.ofFloats(bm ? new int[] {BATCH, STEPS, i} : new int[] {STEPS, BATCH, i}, random(rnd, STEPS * BATCH * i, 1)),
                    "L", Tensor.ofLongs(DType.INT32, new int[] {BATCH}, lens),
                    "H0", Tensor.ofFloats(bm ? new int[] {BATCH, dirs, h} : new int[] {dirs, BATCH, h}, random(rnd, dirs * BATCH * h, 0.5)));
        }

        /** Y, Y_h of one run with the given thread count (1: no split). */
        float[][] run(int threads, Map<String, Tensor> in) {
            List<float[]> out = new ArrayList<>();
            Parallel.withThreads(threads, () -> model.run(in).values().forEach(t -> out.add(t.toFloatArray())));
            return out.toArray(new float[0][]);
        }
    }

    private static List<Big> bigCases() {
        List<ActivationFn> custom = List.of(ActivationFn.of(ActivationFn.Kind.HARD_SIGMOID, 0.2f, 0.5f), ActivationFn.of(ActivationFn.Kind.SOFTSIGN));
        return List.of(
                Big.of("bidirectional GRU, linear_before_reset", Cell.GRU_LBR, TestSupport.gruSpec(32, 48, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, null, true), 1),
                Big.of("reverse batch-major GRU, reset before, clip, custom activations", Cell.GRU,
                        new io.lstmx.ir.RecurrentSpec(40, 72, Direction.REVERSE, Layout.BATCH_MAJOR, 2.5f, false, custom), 2),
                Big.of("forward GRU, reset before", Cell.GRU, TestSupport.gruSpec(40, 72, Direction.FORWARD, Layout.TIME_MAJOR, null, false), 3),
                Big.of("bidirectional RNN", Cell.RNN, TestSupport.rnnSpec(64, 128, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, null), 4));
    }

    @Test
    void splitRunsGiveTheSameBitsAsOneThread() {
        for (Big c : bigCases()) {
            assertTrue(c.work() >= RecurrentKernel.PARALLEL_WORK, c.name() + ": " + c.work() + " multiply-adds, too few to be split");
            Map<String, Tensor> in = c.inputs(42);
            float[][] single = c.run(1, in);
            // The unsplit run is itself right: the independent double-precision reference agrees.
            int[] lens = Arrays.stream(in.get("L").toLongArray()).mapToInt(v -> (int) v).toArray();
            float[] x = in.get("X").toFloatArray();
            float[] h0 = in.get("H0").toFloatArray();
            RecurrentReference.Out ref = c.cell() == Cell.RNN ? RecurrentReference.rnn(c.spec(), c.weights(), x, STEPS, BATCH, lens, h0)
                    : RecurrentReference.gru(c.spec(), c.weights(), x, STEPS, BATCH, lens, h0);
            assertClose(ref.y(), Tensor.ofFloats(new int[] {single[0].length}, single[0]), 2e-5, 2e-4, c.name() + ": Y against the reference");
            assertClose(ref.yh(), Tensor.ofFloats(new int[] {single[1].length}, single[1]), 2e-5, 2e-4, c.name() + ": Y_h against the reference");
            for (int threads = 2; threads <= 6; threads++) {
                float[][] split = c.run(threads, in);
                for (int k = 0; k < single.length; k++) {
                    assertArrayEquals(single[k], split[k], c.name() + " with " + threads + " threads: output " + k + " differs");
                }
            }
        }
    }

    @Test
    void oneCompiledModelRunFromSeveralThreadsAtOnce() throws Exception {
        for (Big c : List.of(bigCases().get(0), bigCases().get(2))) {
            int callers = 3;
            List<Map<String, Tensor>> inputs = new ArrayList<>();
            List<float[][]> expected = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                // Different inputs per caller: a buffer wrongly shared between calls would mix them up.
                inputs.add(c.inputs(100 + i));
                expected.add(c.run(1, inputs.get(i)));
            }
            List<List<float[][]>> results = TestSupport.runConcurrently(callers, i -> () -> {
                List<float[][]> r = new ArrayList<>();
                for (int rep = 0; rep < 3; rep++) {
                    r.add(c.run(Parallel.THREADS, inputs.get(i)));
                }
                return r;
            });
            for (int i = 0; i < callers; i++) {
                List<float[][]> r = results.get(i);
                assertEquals(3, r.size(), "runs of caller " + i);
                for (int rep = 0; rep < r.size(); rep++) {
                    for (int k = 0; k < r.get(rep).length; k++) {
                        assertArrayEquals(expected.get(i)[k], r.get(rep)[k], c.name() + ": caller " + i + ", run " + rep + ", output " + k);
                    }
                }
            }
        }
    }
}
