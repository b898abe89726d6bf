package io.lstmx.runtime;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.Test;

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

/** Relations the LSTM must satisfy between runs of the runtime itself (no expected numbers needed). */
class LstmInvariantsTest {
    private static final double TOL = 1e-6;

    private static Map<String, Tensor> run(Model m, Object... namesAndTensors) {
        Map<String, Tensor> in = new HashMap<>();
        for (int i = 0; i < namesAndTensors.length; i += 2) {
            in.put((String) namesAndTensors[i], (Tensor) namesAndTensors[i + 1]);
        }
        return NativeRuntime.compile(m).run(in);
    }

    /** Rows [T, B, n] time-major: slice of row b, steps [0, len). */
    private static float[] row(float[] x, int steps, int batch, int n, int b, int len) {
        float[] r = new float[len * n];
        for (int t = 0; t < len; t++) {
            System.arraycopy(x, (t * batch + b) * n, r, t * n, n);
        }
        return r;
    }

    @Test
    void paddedBatchEqualsEachRowAlone() {
        Random rnd = new Random(1);
        for (Direction dir : Direction.values()) {
            LstmSpec spec = new LstmSpec(3, 4, 2, dir, Layout.TIME_MAJOR, null, false,
                    dir == Direction.BIDIRECTIONAL ? LstmSpec.standard(3, 4, dir, Layout.TIME_MAJOR).activations() : LstmSpec.DEFAULT_ACTIVATIONS);
            int dirs = dir.count();
            List<LstmWeights> w = TestSupport.weights(rnd, spec, true, dirs);
            int steps = 6;
            int batch = 4;
            int[] lens = {6, 2, 4, 1};
            float[] x = random(rnd, steps * batch * 3, 1);
            float[] h0 = random(rnd, dirs * batch * 2, 1);
            float[] c0 = random(rnd, dirs * batch * 4, 1);
            Map<String, Tensor> all = run(TestSupport.lstmModel(spec, w, true, true),
                    "X", TestSupport.t(x, steps, batch, 3),
                    "L", TestSupport.ints(Arrays.stream(lens).asLongStream().toArray(), batch),
                    "H0", TestSupport.t(h0, dirs, batch, 2), "C0", TestSupport.t(c0, dirs, batch, 4));
            float[] y = all.get("Y").toFloatArray();
            float[] yh = all.get("Y_h").toFloatArray();
            float[] yc = all.get("Y_c").toFloatArray();
            for (int b = 0; b < batch; b++) {
                int len = lens[b];
                Map<String, Tensor> alone = run(TestSupport.lstmModel(spec, w, false, true),
                        "X", TestSupport.t(row(x, steps, batch, 3, b, len), len, 1, 3),
                        "H0", TestSupport.t(row(h0, dirs, batch, 2, b, dirs), dirs, 1, 2),
                        "C0", TestSupport.t(row(c0, dirs, batch, 4, b, dirs), dirs, 1, 4));
                // Y rows [T, D, B, P] viewed as [T*D, B, P]: the padded run's row b, then zeros.
                float[] mine = row(y, steps * dirs, batch, 2, b, steps * dirs);
                float[] expected = Arrays.copyOf(alone.get("Y").toFloatArray(), steps * dirs * 2);
                assertClose(expected, TestSupport.t(mine, steps * dirs * 2), TOL, dir + " Y row " + b);
                assertClose(alone.get("Y_h").toFloatArray(), TestSupport.t(row(yh, dirs, batch, 2, b, dirs), dirs * 2), TOL, dir + " Y_h row " + b);
                assertClose(alone.get("Y_c").toFloatArray(), TestSupport.t(row(yc, dirs, batch, 4, b, dirs), dirs * 4), TOL, dir + " Y_c row " + b);
            }
        }
    }

    @Test
    void zeroLengthRowGivesZeroOutputsAndDoesNotDisturbOthers() {
        Random rnd = new Random(2);
        LstmSpec spec = LstmSpec.standard(2, 3, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        List<LstmWeights> w = TestSupport.weights(rnd, spec, false, 2);
        float[] x = random(rnd, 4 * 2 * 2, 1);
        Tensor h0 = TestSupport.t(random(rnd, 2 * 2 * 3, 1), 2, 2, 3);
        Tensor c0 = TestSupport.t(random(rnd, 2 * 2 * 3, 1), 2, 2, 3);
        Map<String, Tensor> out = run(TestSupport.lstmModel(spec, w, true, true), "X", TestSupport.t(x, 4, 2, 2),
                "L", TestSupport.ints(new long[] {4, 0}, 2), "H0", h0, "C0", c0);
        float[] yh = out.get("Y_h").toFloatArray();
        for (int d = 0; d < 2; d++) {
            for (int k = 0; k < 3; k++) {
                assertEquals(0f, yh[(d * 2 + 1) * 3 + k]);
                assertTrue(yh[(d * 2) * 3 + k] != 0f);
            }
        }
        float[] y = out.get("Y").toFloatArray();
        for (int td = 0; td < 4 * 2; td++) {
            for (int k = 0; k < 3; k++) {
                assertEquals(0f, y[(td * 2 + 1) * 3 + k]);
            }
        }
    }

    @Test
    void reverseEqualsForwardOnReversedSequence() {
        Random rnd = new Random(3);
        LstmSpec fwd = new LstmSpec(3, 5, 0, Direction.FORWARD, Layout.TIME_MAJOR, 2f, false, LstmSpec.DEFAULT_ACTIVATIONS);
        LstmSpec rev = new LstmSpec(3, 5, 0, Direction.REVERSE, Layout.TIME_MAJOR, 2f, false, LstmSpec.DEFAULT_ACTIVATIONS);
        List<LstmWeights> w = TestSupport.weights(rnd, fwd, true, 1);
        int steps = 7;
        int batch = 2;
        float[] x = random(rnd, steps * batch * 3, 1);
        float[] xr = TestSupport.reverseTime(x, steps, batch * 3);
        Map<String, Tensor> a = run(TestSupport.lstmModel(rev, w, false, false), "X", TestSupport.t(x, steps, batch, 3));
        Map<String, Tensor> b = run(TestSupport.lstmModel(fwd, w, false, false), "X", TestSupport.t(xr, steps, batch, 3));
        float[] ya = a.get("Y").toFloatArray();
        float[] yb = b.get("Y").toFloatArray();
        float[] yaReversed = TestSupport.reverseTime(ya, steps, batch * 5);
        assertClose(yb, TestSupport.t(yaReversed, ya.length), TOL, "Y");
        assertClose(b.get("Y_h"), a.get("Y_h"), TOL, "Y_h");
        assertClose(b.get("Y_c"), a.get("Y_c"), TOL, "Y_c");
        assertTrue(Math.abs(ya[0] - yb[0]) > 1e-4, "reverse must differ from forward on the same input");
    }

    @Test
    void bidirectionalEqualsForwardAndReverseLayers() {
        Random rnd = new Random(4);
        LstmSpec bi = LstmSpec.standard(4, 3, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        List<LstmWeights> w = TestSupport.weights(rnd, bi, false, 2);
        int steps = 5;
        int batch = 3;
        Tensor x = TestSupport.t(random(rnd, steps * batch * 4, 1), steps, batch, 4);
        long[] lens = {5, 3, 1};
        Map<String, Tensor> both = run(TestSupport.lstmModel(bi, w, true, false), "X", x, "L", TestSupport.ints(lens, batch));
        Map<String, Tensor> f = run(TestSupport.lstmModel(LstmSpec.standard(4, 3, Direction.FORWARD, Layout.TIME_MAJOR), List.of(w.get(0)), true, false),
                "X", x, "L", TestSupport.ints(lens, batch));
        Map<String, Tensor> r = run(TestSupport.lstmModel(LstmSpec.standard(4, 3, Direction.REVERSE, Layout.TIME_MAJOR), List.of(w.get(1)), true, false),
                "X", x, "L", TestSupport.ints(lens, batch));
        float[] y = both.get("Y").toFloatArray();
        float[] yf = f.get("Y").toFloatArray();
        float[] yr = r.get("Y").toFloatArray();
        int blk = batch * 3;
        for (int t = 0; t < steps; t++) {
            assertClose(Arrays.copyOfRange(yf, t * blk, (t + 1) * blk), TestSupport.t(Arrays.copyOfRange(y, (2 * t) * blk, (2 * t + 1) * blk), blk), TOL, "fwd t" + t);
            assertClose(Arrays.copyOfRange(yr, t * blk, (t + 1) * blk), TestSupport.t(Arrays.copyOfRange(y, (2 * t + 1) * blk, (2 * t + 2) * blk), blk), TOL, "rev t" + t);
        }
        float[] yh = both.get("Y_h").toFloatArray();
        assertClose(f.get("Y_h").toFloatArray(), TestSupport.t(Arrays.copyOfRange(yh, 0, blk), blk), TOL, "Y_h fwd");
        assertClose(r.get("Y_h").toFloatArray(), TestSupport.t(Arrays.copyOfRange(yh, blk, 2 * blk), blk), TOL, "Y_h rev");
    }

    @Test
    void batchMajorEqualsTransposedTimeMajor() {
        Random rnd = new Random(5);
        LstmSpec tm = new LstmSpec(3, 4, 2, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, null, false,
                LstmSpec.standard(3, 4, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR).activations());
        LstmSpec bm = tm.withLayout(Layout.BATCH_MAJOR);
        List<LstmWeights> w = TestSupport.weights(rnd, tm, true, 2);
        int steps = 4;
        int batch = 3;
        float[] x = random(rnd, steps * batch * 3, 1);
        float[] h0 = random(rnd, 2 * batch * 2, 1);
        float[] c0 = random(rnd, 2 * batch * 4, 1);
        long[] lens = {4, 2, 3};
        Map<String, Tensor> a = run(TestSupport.lstmModel(tm, w, true, true), "X", TestSupport.t(x, steps, batch, 3),
                "L", TestSupport.ints(lens, batch), "H0", TestSupport.t(h0, 2, batch, 2), "C0", TestSupport.t(c0, 2, batch, 4));
        Map<String, Tensor> b = run(TestSupport.lstmModel(bm, w, true, true), "X", TestSupport.transpose(TestSupport.t(x, steps, batch, 3), 1, 0, 2),
                "L", TestSupport.ints(lens, batch), "H0", TestSupport.transpose(TestSupport.t(h0, 2, batch, 2), 1, 0, 2),
                "C0", TestSupport.transpose(TestSupport.t(c0, 2, batch, 4), 1, 0, 2));
        assertClose(TestSupport.transpose(a.get("Y"), 2, 0, 1, 3), b.get("Y"), TOL, "Y");
        assertClose(TestSupport.transpose(a.get("Y_h"), 1, 0, 2), b.get("Y_h"), TOL, "Y_h");
        assertClose(TestSupport.transpose(a.get("Y_c"), 1, 0, 2), b.get("Y_c"), TOL, "Y_c");
    }

    /** X [T,B,4] -> LSTM1 (H 5) -> Squeeze(1) -> LSTM2 (H 3, projection 2) -> Dense(2 -> 1). */
    private static Model stacked(Random rnd, List<LstmWeights> w1, List<LstmWeights> w2, Layer.Dense dense) {
        LstmSpec s1 = LstmSpec.standard(4, 5, Direction.FORWARD, Layout.TIME_MAJOR);
        LstmSpec s2 = new LstmSpec(5, 3, 2, Direction.FORWARD, Layout.TIME_MAJOR, null, false, LstmSpec.DEFAULT_ACTIVATIONS);
        List<Layer> layers = List.of(
                new Layer.Lstm("l1", new RecurrentPorts("X", null, null, null, "y1", null, null), s1, w1, GateOrder.CANONICAL),
                new Layer.Squeeze("sq", "y1", "x2", List.of(1)),
                new Layer.Lstm("l2", new RecurrentPorts("x2", null, null, null, "y2", "h2", null), s2, w2, GateOrder.CANONICAL),
                dense);
        return new Model("stack", ModelInfo.NONE, List.of(new ValueInfo("X", DType.FLOAT32, Shape.of("T", "B", 4))),
                List.of(new ValueInfo("out", DType.FLOAT32, Shape.UNKNOWN), new ValueInfo("h2", DType.FLOAT32, Shape.UNKNOWN)), layers);
    }

    @Test
    void stackedLayersChainThroughReference() {
        Random rnd = new Random(6);
        LstmSpec s1 = LstmSpec.standard(4, 5, Direction.FORWARD, Layout.TIME_MAJOR);
        LstmSpec s2 = new LstmSpec(5, 3, 2, Direction.FORWARD, Layout.TIME_MAJOR, null, false, LstmSpec.DEFAULT_ACTIVATIONS);
        List<LstmWeights> w1 = TestSupport.weights(rnd, s1, false, 1);
        List<LstmWeights> w2 = TestSupport.weights(rnd, s2, true, 1);
        float[] dw = random(rnd, 2, 1);
        Layer.Dense dense = new Layer.Dense("fc", "y2", "out", TestSupport.t(dw, 1, 2), TestSupport.t(new float[] {0.25f}, 1));
        int steps = 6;
        int batch = 2;
        float[] x = random(rnd, steps * batch * 4, 1);
        Map<String, Tensor> out = run(stacked(rnd, w1, w2, dense), "X", TestSupport.t(x, steps, batch, 4));
        LstmReference.Out r1 = LstmReference.run(s1, w1, x, steps, batch, null, null, null);
        float[] x2 = new float[r1.y().length];
        for (int i = 0; i < x2.length; i++) {
            x2[i] = (float) r1.y()[i];
        }
        LstmReference.Out r2 = LstmReference.run(s2, w2, x2, steps, batch, null, null, null);
        double[] expected = new double[steps * batch];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = r2.y()[2 * i] * dw[0] + r2.y()[2 * i + 1] * dw[1] + 0.25;
        }
        assertArrayEquals(new int[] {steps, 1, batch, 1}, out.get("out").shape());
        assertClose(expected, out.get("out"), 2e-5, 1e-4, "stacked output");
        assertClose(r2.yh(), out.get("h2"), 2e-5, 1e-4, "stacked last h");
    }

    @Test
    void streamingInChunksEqualsOneRun() {
        Random rnd = new Random(7);
        LstmSpec s1 = LstmSpec.standard(4, 5, Direction.FORWARD, Layout.TIME_MAJOR);
        LstmSpec s2 = new LstmSpec(5, 3, 2, Direction.FORWARD, Layout.TIME_MAJOR, null, false, LstmSpec.DEFAULT_ACTIVATIONS);
        Model m = stacked(rnd, TestSupport.weights(rnd, s1, false, 1), TestSupport.weights(rnd, s2, true, 1),
                new Layer.Dense("fc", "y2", "out", TestSupport.t(random(rnd, 2, 1), 1, 2), null));
        int steps = 9;
        int batch = 2;
        float[] x = random(rnd, steps * batch * 4, 1);
        CompiledModel cm = NativeRuntime.compile(m);
        Map<String, Tensor> full = cm.run(Map.of("X", TestSupport.t(x, steps, batch, 4)));
        StreamingSession session = cm.openSession();
        for (int round = 0; round < 2; round++) { // the second round checks reset()
            int[] chunks = {1, 3, 4, 1};
            float[] got = new float[steps * batch];
            Map<String, Tensor> last = TestSupport.feedInChunks(session, x, batch, 4, chunks, got);
            assertClose(full.get("out").toFloatArray(), TestSupport.t(got, got.length), 1e-6, "chunked output, round " + round);
            assertClose(full.get("h2"), last.get("h2"), 1e-6, "last state, round " + round);
            session.reset();
        }
    }

    @Test
    void streamingWithLengthsContinuesFromEachRowsLastValidStep() {
        Random rnd = new Random(8);
        LstmSpec spec = LstmSpec.standard(2, 3, Direction.FORWARD, Layout.BATCH_MAJOR);
        List<LstmWeights> w = TestSupport.weights(rnd, spec, true, 1);
        Model m = TestSupport.lstmModel(spec, w, true, true);
        float[] h0 = random(rnd, 2 * 3, 1);
        float[] c0 = random(rnd, 2 * 3, 1);
        // Row 0: 3 valid steps then 2 valid steps; row 1: 1 valid step, then 0 in the second chunk, then 2.
        float[][] rows = {random(rnd, 5 * 2, 1), random(rnd, 3 * 2, 1)};
        float[] chunk1 = new float[2 * 3 * 2];
        System.arraycopy(rows[0], 0, chunk1, 0, 6);
        System.arraycopy(rows[1], 0, chunk1, 6, 2);
        float[] chunk2 = new float[2 * 2 * 2];
        System.arraycopy(rows[0], 6, chunk2, 0, 4);
        float[] chunk3 = new float[2 * 2 * 2];
        System.arraycopy(rows[1], 2, chunk3, 4, 4);
        Tensor h0t = TestSupport.t(h0, 2, 1, 3);
        Tensor c0t = TestSupport.t(c0, 2, 1, 3);
        StreamingSession s = NativeRuntime.compile(m).openSession();
        s.feed(Map.of("X", TestSupport.t(chunk1, 2, 3, 2), "L", TestSupport.ints(new long[] {3, 1}, 2), "H0", h0t, "C0", c0t));
        Map<String, Tensor> second = s.feed(Map.of("X", TestSupport.t(chunk2, 2, 2, 2), "L", TestSupport.ints(new long[] {2, 0}, 2),
                "H0", TestSupport.t(new float[6], 2, 1, 3), "C0", TestSupport.t(new float[6], 2, 1, 3)));
        Map<String, Tensor> third = s.feed(Map.of("X", TestSupport.t(chunk3, 2, 2, 2), "L", TestSupport.ints(new long[] {0, 2}, 2),
                "H0", TestSupport.t(new float[6], 2, 1, 3), "C0", TestSupport.t(new float[6], 2, 1, 3)));
        for (int b = 0; b < 2; b++) {
            int total = b == 0 ? 5 : 3;
            Map<String, Tensor> alone = run(TestSupport.lstmModel(spec, w, false, true), "X", TestSupport.t(rows[b], 1, total, 2),
                    "H0", TestSupport.t(Arrays.copyOfRange(h0, 3 * b, 3 * b + 3), 1, 1, 3),
                    "C0", TestSupport.t(Arrays.copyOfRange(c0, 3 * b, 3 * b + 3), 1, 1, 3));
            Map<String, Tensor> lastChunk = b == 0 ? second : third;
            assertClose(alone.get("Y_h").toFloatArray(), TestSupport.t(Arrays.copyOfRange(lastChunk.get("Y_h").toFloatArray(), 3 * b, 3 * b + 3), 3),
                    1e-6, "row " + b + " last h");
            assertClose(alone.get("Y_c").toFloatArray(), TestSupport.t(Arrays.copyOfRange(lastChunk.get("Y_c").toFloatArray(), 3 * b, 3 * b + 3), 3),
                    1e-6, "row " + b + " last c");
        }
    }

    @Test
    void streamingRejectsBackwardLayersAndBatchChanges() {
        Random rnd = new Random(9);
        LstmSpec bi = LstmSpec.standard(2, 2, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        CompiledModel m = NativeRuntime.compile(TestSupport.lstmModel(bi, TestSupport.weights(rnd, bi, false, 2), false, false));
        LstmxException e = assertThrows(LstmxException.class, m::openSession);
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertTrue(e.getMessage().contains("'lstm'"), e.getMessage());

        LstmSpec f = LstmSpec.standard(2, 2, Direction.FORWARD, Layout.TIME_MAJOR);
        StreamingSession s = NativeRuntime.compile(TestSupport.lstmModel(f, TestSupport.weights(rnd, f, false, 1), false, false)).openSession();
        s.feed(Map.of("X", TestSupport.t(new float[2 * 3 * 2], 2, 3, 2)));
        LstmxException b = assertThrows(LstmxException.class, () -> s.feed(Map.of("X", TestSupport.t(new float[2 * 2 * 2], 2, 2, 2))));
        assertEquals(ErrorCode.BAD_INPUT, b.code());
        assertTrue(b.getMessage().contains("'lstm'") && b.getMessage().contains("batch size 2"), b.getMessage());
        s.reset();
        assertEquals(2, s.feed(Map.of("X", TestSupport.t(new float[2 * 2 * 2], 2, 2, 2))).get("Y").dim(2));
    }

    @Test
    void shapeErrorsNameTheLayer() {
        Random rnd = new Random(10);
        LstmSpec spec = LstmSpec.standard(5, 2, Direction.FORWARD, Layout.TIME_MAJOR);
        Model m = TestSupport.lstmModel(spec, TestSupport.weights(rnd, spec, false, 1), true, true);
        CompiledModel cm = NativeRuntime.compile(m);
        Tensor h0 = TestSupport.t(new float[2 * 2], 1, 2, 2);
        Tensor lens = TestSupport.ints(new long[] {3, 3}, 2);
        LstmxException e = assertThrows(LstmxException.class, () -> cm.run(Map.of("X", TestSupport.t(new float[3 * 2 * 7], 3, 2, 7),
                "L", lens, "H0", h0, "C0", h0)));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("layer 'lstm' (LSTM)") && e.getMessage().contains("last dim 7")
                && e.getMessage().contains("expected input size 5"), e.getMessage());

        Tensor x = TestSupport.t(new float[3 * 2 * 5], 3, 2, 5);
        e = assertThrows(LstmxException.class, () -> cm.run(Map.of("X", x, "L", lens, "H0", TestSupport.t(new float[4], 2, 1, 2), "C0", h0)));
        assertTrue(e.getMessage().contains("'lstm'") && e.getMessage().contains("initial h") && e.getMessage().contains("[1, 2, 2]"), e.getMessage());

        e = assertThrows(LstmxException.class, () -> cm.run(Map.of("X", x, "L", TestSupport.ints(new long[] {3, 4}, 2), "H0", h0, "C0", h0)));
        assertTrue(e.getMessage().contains("'lstm'") && e.getMessage().contains("sequence length 4"), e.getMessage());

        e = assertThrows(LstmxException.class, () -> cm.run(Map.of("X", x, "L", TestSupport.ints(new long[] {3}, 1), "H0", h0, "C0", h0)));
        assertTrue(e.getMessage().contains("'lstm'") && e.getMessage().contains("[2]"), e.getMessage());

        e = assertThrows(LstmxException.class, () -> cm.run(Map.of("X", TestSupport.t(new float[10], 2, 5), "L", lens, "H0", h0, "C0", h0)));
        assertTrue(e.getMessage().contains("'lstm'") && e.getMessage().contains("rank 3"), e.getMessage());
    }
}
