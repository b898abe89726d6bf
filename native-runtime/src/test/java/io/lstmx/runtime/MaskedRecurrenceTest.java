package io.lstmx.runtime;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.RecurrentPorts;
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

import static io.lstmx.runtime.TestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-step masks (Keras's mask_zero and Masking) in the runtime's LSTM, GRU and RNN against the
 * scalar references, which implement Keras's rule literally: a masked step keeps the states and
 * outputs the previous step's output (zeros at the start), or zeros when the layer says so.
 */
class MaskedRecurrenceTest {
    private static final double ATOL = 2e-5;
    private static final double RTOL = 2e-4;

    /**
     * A [T, B] or [B, T] mask mixing Keras's cases per row: pre-padding (Keras's default), post
     * padding, holes, every step masked, none masked.
     */
    static float[] randomMask(Random rnd, int steps, int batch, boolean bm) {
        float[] m = new float[steps * batch];
        for (int b = 0; b < batch; b++) {
            int kind = (b + rnd.nextInt(5)) % 5;
            int cut = rnd.nextInt(steps + 1);
            for (int t = 0; t < steps; t++) {
                boolean keep;
                if (kind == 0) {
                    keep = t >= cut;
                } else if (kind == 1) {
                    keep = t < cut;
                } else if (kind == 2) {
                    keep = rnd.nextInt(3) != 0;
                } else {
                    keep = kind == 4;
                }
                m[bm ? b * steps + t : t * batch + b] = keep ? 1f : 0f;
            }
        }
        return m;
    }

    private static Model model(Layer layer, boolean init, boolean cell) {
        List<ValueInfo> in = new ArrayList<>();
        in.add(new ValueInfo("X", DType.FLOAT32, Shape.UNKNOWN));
        if (init) {
            in.add(new ValueInfo("H0", DType.FLOAT32, Shape.UNKNOWN));
            if (cell) {
                in.add(new ValueInfo("C0", DType.FLOAT32, Shape.UNKNOWN));
            }
        }
        in.add(new ValueInfo("M", DType.FLOAT32, Shape.UNKNOWN));
        List<ValueInfo> out = new ArrayList<>();
        for (String o : layer.outputs()) {
            out.add(new ValueInfo(o, DType.FLOAT32, Shape.UNKNOWN));
        }
        return new Model("m", ModelInfo.NONE, in, out, List.of(layer));
    }

    private static RecurrentPorts ports(boolean init, boolean cell, boolean zero) {
        RecurrentPorts p = new RecurrentPorts("X", null, init ? "H0" : null, init && cell ? "C0" : null, "Y", "Y_h", cell ? "Y_c" : null);
        return p.withMask("M", zero);
    }

    private static void check(double[] expected, Tensor got, String what) {
        TestSupport.assertClose(expected, got, ATOL, RTOL, what);
    }

    @Test
    void maskedLstmMatchesKerasRuleOnRandomConfigurations() {
        int zeroCases = 0;
        int changed = 0;
        for (int seed = 0; seed < 200; seed++) {
            Random rnd = new Random(seed);
            int in = 1 + rnd.nextInt(5);
            int hid = 1 + rnd.nextInt(6);
            int proj = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(3) : 0;
            Direction dir = Direction.values()[rnd.nextInt(3)];
            Layout layout = rnd.nextBoolean() ? Layout.TIME_MAJOR : Layout.BATCH_MAJOR;
            Float clip = rnd.nextInt(4) == 0 ? 1.5f : null;
            LstmSpec spec = new LstmSpec(in, hid, proj, dir, layout, clip, false, defaults(dir));
            boolean peephole = rnd.nextInt(3) == 0;
            boolean init = rnd.nextBoolean();
            boolean zero = rnd.nextBoolean();
            int steps = 1 + rnd.nextInt(8);
            int batch = 1 + rnd.nextInt(6);
            int dirs = dir.count();
            boolean bm = layout == Layout.BATCH_MAJOR;
            List<LstmWeights> w = TestSupport.weights(rnd, spec, peephole, dirs);
            float[] x = random(rnd, steps * batch * in, 1);
            float[] mask = randomMask(rnd, steps, batch, bm);
            float[] h0 = init ? random(rnd, dirs * batch * spec.outputSize(), 0.8) : null;
            float[] c0 = init ? random(rnd, dirs * batch * hid, 0.8) : null;
            Map<String, Tensor> feed = new HashMap<>();
            feed.put("X", Tensor.ofFloats(bm ? new int[] {batch, steps, in} : new int[] {steps, batch, in}, x));
            feed.put("M", Tensor.ofFloats(bm ? new int[] {batch, steps} : new int[] {steps, batch}, mask));
            if (init) {
                feed.put("H0", Tensor.ofFloats(bm ? new int[] {batch, dirs, spec.outputSize()} : new int[] {dirs, batch, spec.outputSize()}, h0));
                feed.put("C0", Tensor.ofFloats(bm ? new int[] {batch, dirs, hid} : new int[] {dirs, batch, hid}, c0));
            }
            Layer l = new Layer.Lstm("lstm", ports(init, true, zero), spec, w, GateOrder.CANONICAL);
            Map<String, Tensor> got = NativeRuntime.compile(model(l, init, true)).run(feed);
            LstmReference.Out ref = LstmReference.run(spec, w, x, steps, batch, null, h0, c0, mask, zero);
            String what = "seed " + seed + " " + spec;
            check(ref.y(), got.get("Y"), what + ": Y");
            check(ref.yh(), got.get("Y_h"), what + ": Y_h");
            check(ref.yc(), got.get("Y_c"), what + ": Y_c");
            LstmReference.Out unmasked = LstmReference.run(spec, w, x, steps, batch, null, h0, c0);
            changed += Arrays.equals(unmasked.y(), ref.y()) ? 0 : 1;
            zeroCases += zero ? 1 : 0;
        }
        assertTrue(changed > 150, "the mask changed Y in only " + changed + " of 200 cases");
        assertTrue(zeroCases > 50 && zeroCases < 150, "zero-output cases: " + zeroCases);
    }

    /**
     * A forward masked layer streamed in chunks (of 1 to 4 steps) gives the bits of the whole
     * sequence at once, Y step by step and the last states: a masked step at the start of a chunk
     * repeats the row's last output from an earlier chunk (zero only before its first counted step),
     * which the stream carries. LSTM, GRU and RNN, with and without zeros at masked steps.
     */
    @Test
    void aMaskedLayerStreamedInChunksGivesTheBitsOfTheWholeSequence() {
        for (int seed = 0; seed < 60; seed++) {
            Random rnd = new Random(900 + seed);
            int kind = seed % 3;
            int in = 1 + rnd.nextInt(5);
            int hid = 1 + rnd.nextInt(40);
            boolean zero = rnd.nextBoolean();
            int steps = 2 + rnd.nextInt(10);
            int batch = 1 + rnd.nextInt(5);
            Layout layout = Layout.TIME_MAJOR;
            Layer l;
            if (kind == 0) {
                LstmSpec spec = LstmSpec.standard(in, hid, Direction.FORWARD, layout);
                l = new Layer.Lstm("lstm", ports(false, true, zero), spec, TestSupport.weights(rnd, spec, false, 1), GateOrder.CANONICAL);
            } else {
                RecurrentSpec spec = kind == 1 ? TestSupport.gruSpec(in, hid, Direction.FORWARD, layout, null, true)
                        : TestSupport.rnnSpec(in, hid, Direction.FORWARD, layout, null);
                List<RecurrentWeights> w = TestSupport.recurrentWeights(rnd, spec, kind == 1 ? 3 : 1);
                l = kind == 1 ? new Layer.Gru("gru", ports(false, false, zero), spec, w, GateOrder.Gru.CANONICAL)
                        : new Layer.Rnn("rnn", ports(false, false, zero), spec, w);
            }
            float[] x = random(rnd, steps * batch * in, 1);
            float[] mask = randomMask(rnd, steps, batch, false);
            // a row whose first chunk is all masked, then counts: its later masked steps repeat, not zero
            for (int t = 0; t < steps; t++) {
                mask[t * batch] = t == 0 ? 0f : t == 1 ? 1f : (t % 2 == 0 ? 0f : 1f);
            }
            CompiledModel cm = NativeRuntime.compile(model(l, false, kind == 0));
            Map<String, Tensor> whole = cm.run(Map.of("X", Tensor.ofFloats(new int[] {steps, batch, in}, x),
                    "M", Tensor.ofFloats(new int[] {steps, batch}, mask)));
            float[] y = whole.get("Y").toFloatArray();
            int per = y.length / steps;
            StreamingSession s = cm.openSession();
            Map<String, Tensor> last = null;
            for (int t0 = 0; t0 < steps; ) {
                int n = Math.min(steps - t0, 1 + rnd.nextInt(4));
                last = s.feed(Map.of("X", Tensor.ofFloats(new int[] {n, batch, in}, Arrays.copyOfRange(x, t0 * batch * in, (t0 + n) * batch * in)),
                        "M", Tensor.ofFloats(new int[] {n, batch}, Arrays.copyOfRange(mask, t0 * batch, (t0 + n) * batch))));
                assertArrayEquals(Arrays.copyOfRange(y, t0 * per, (t0 + n) * per), last.get("Y").toFloatArray(),
                        "seed " + seed + " " + l.kind() + (zero ? " (zeros at masked steps)" : "") + ": Y of steps " + t0 + ".." + (t0 + n - 1));
                t0 += n;
            }
            for (String o : List.of("Y_h", "Y_c")) {
                if (whole.containsKey(o)) {
                    assertArrayEquals(whole.get(o).toFloatArray(), last.get(o).toFloatArray(), "seed " + seed + " " + l.kind() + ": " + o);
                }
            }
        }
    }

    @Test
    void maskedGruAndRnnMatchKerasRule() {
        for (int seed = 0; seed < 120; seed++) {
            Random rnd = new Random(500 + seed);
            boolean gru = seed % 2 == 0;
            int in = 1 + rnd.nextInt(5);
            int hid = 1 + rnd.nextInt(6);
            Direction dir = Direction.values()[rnd.nextInt(3)];
            Layout layout = rnd.nextBoolean() ? Layout.TIME_MAJOR : Layout.BATCH_MAJOR;
            RecurrentSpec spec = gru ? TestSupport.gruSpec(in, hid, dir, layout, null, rnd.nextBoolean())
                    : TestSupport.rnnSpec(in, hid, dir, layout, null);
            boolean init = rnd.nextBoolean();
            boolean zero = rnd.nextBoolean();
            int steps = 1 + rnd.nextInt(8);
            int batch = 1 + rnd.nextInt(6);
            int dirs = dir.count();
            boolean bm = layout == Layout.BATCH_MAJOR;
            List<RecurrentWeights> w = TestSupport.recurrentWeights(rnd, spec, gru ? 3 : 1);
            float[] x = random(rnd, steps * batch * in, 1);
            float[] mask = randomMask(rnd, steps, batch, bm);
            float[] h0 = init ? random(rnd, dirs * batch * hid, 0.8) : null;
            Map<String, Tensor> feed = new HashMap<>();
            feed.put("X", Tensor.ofFloats(bm ? new int[] {batch, steps, in} : new int[] {steps, batch, in}, x));
            feed.put("M", Tensor.ofFloats(bm ? new int[] {batch, steps} : new int[] {steps, batch}, mask));
            if (init) {
                feed.put("H0", Tensor.ofFloats(bm ? new int[] {batch, dirs, hid} : new int[] {dirs, batch, hid}, h0));
            }
            RecurrentPorts p = ports(init, false, zero);
            Layer l = gru ? new Layer.Gru("gru", p, spec, w, GateOrder.Gru.CANONICAL) : new Layer.Rnn("rnn", p, spec, w);
            Map<String, Tensor> got = NativeRuntime.compile(model(l, init, false)).run(feed);
            RecurrentReference.Out ref = gru ? RecurrentReference.gru(spec, w, x, steps, batch, h0, mask, zero)
                    : RecurrentReference.rnn(spec, w, x, steps, batch, h0, mask, zero);
            String what = "seed " + seed + " " + l.kind() + " " + spec;
            check(ref.y(), got.get("Y"), what + ": Y");
            check(ref.yh(), got.get("Y_h"), what + ": Y_h");
        }
    }

    @Test
    void aMaskedLayerSplitOverThreadsAndOverAStepTeamGivesTheSameBitsAsOneThread() {
        // H = 130 at batch 1 and 2 runs on a step team (several threads splitting the hidden units);
        // batch 24 splits rows over threads.
        for (int batch : new int[] {1, 2, 24}) {
            Random rnd = new Random(batch);
            LstmSpec spec = LstmSpec.standard(30, 130, Direction.FORWARD, Layout.BATCH_MAJOR);
            List<LstmWeights> w = TestSupport.weights(rnd, spec, false, 1);
            for (LstmWeights d : w) {
                float[] r = d.r().toFloatArray();
                for (int i = 0; i < r.length; i++) {
                    r[i] *= (float) (1 / Math.sqrt(130));
                }
                w.set(w.indexOf(d), new LstmWeights(d.w(), Tensor.ofFloats(d.r().shape(), r), d.wb(), d.rb(), null, null));
            }
            int steps = 24;
            float[] x = random(rnd, steps * batch * 30, 1);
            float[] mask = randomMask(rnd, steps, batch, true);
            Map<String, Tensor> feed = Map.of("X", Tensor.ofFloats(new int[] {batch, steps, 30}, x),
                    "M", Tensor.ofFloats(new int[] {batch, steps}, mask));
            CompiledModel m = NativeRuntime.compile(model(new Layer.Lstm("lstm", ports(false, true, false), spec, w, GateOrder.CANONICAL), false, true));
            List<float[]> one = new ArrayList<>();
            Parallel.withThreads(1, () -> m.run(feed).values().forEach(t -> one.add(t.toFloatArray())));
            LstmReference.Out ref = LstmReference.run(spec, w, x, steps, batch, null, null, null, mask, false);
            check(ref.y(), Tensor.ofFloats(new int[] {one.get(0).length}, one.get(0)), "batch " + batch + ": Y against the reference");
            long teamCalls = StepTeam.CALLS.get();
            List<float[]> many = new ArrayList<>();
            Parallel.withThreads(3, () -> m.run(feed).values().forEach(t -> many.add(t.toFloatArray())));
            for (int k = 0; k < one.size(); k++) {
                assertArrayEquals(one.get(k), many.get(k), "batch " + batch + ", output " + k + ": 3 threads differ from one");
            }
            if (batch == 1) {
                assertTrue(StepTeam.CALLS.get() > teamCalls, "batch 1 ran on a step team");
            }
        }
    }

    @Test
    void stepMaskMarksTokensAndFeatureVectorsThatDifferFromTheMaskValue() {
        Layer.StepMask tokens = new Layer.StepMask("m", "ids", "mask", 0f, false);
        Val ids = Val.longs(DType.INT64, new int[] {2, 3}, new long[] {0, 5, 0, 7, 0, 0});
        assertArrayEquals(new float[] {0, 1, 0, 1, 0, 0}, Ops.stepMask(tokens, ids).f);
        Layer.StepMask features = new Layer.StepMask("m", "x", "mask", -1f, true);
        Val x = Val.floats(new int[] {1, 3, 2}, new float[] {-1, -1, -1, 0, 2, -1});
        Val got = Ops.stepMask(features, x);
        assertArrayEquals(new int[] {1, 3}, got.shape);
        assertArrayEquals(new float[] {0, 1, 1}, got.f);
    }

    @Test
    void aMaskOfTheWrongShapeIsRefusedNamingTheLayer() {
        LstmSpec spec = LstmSpec.standard(2, 3, Direction.FORWARD, Layout.BATCH_MAJOR);
        List<LstmWeights> w = TestSupport.weights(new Random(1), spec, false, 1);
        CompiledModel m = NativeRuntime.compile(model(new Layer.Lstm("enc", ports(false, true, false), spec, w, GateOrder.CANONICAL), false, true));
        LstmxException e = assertThrows(LstmxException.class, () -> m.run(Map.of("X", Tensor.ofFloats(new int[] {2, 4, 2}, new float[16]),
                "M", Tensor.ofFloats(new int[] {4, 2}, new float[8]))));
        assertTrue(e.getMessage().contains("enc") && e.getMessage().contains("mask"), e.getMessage());
    }

    @Test
    void aLayerCannotTakeBothSequenceLengthsAndAMask() {
        LstmxException e = assertThrows(LstmxException.class,
                () -> new RecurrentPorts("X", "L", null, null, "Y", null, null, "M", false));
        assertTrue(e.getMessage().contains("not both"), e.getMessage());
        assertFalse(new RecurrentPorts("X", null, null, null, "Y", null, null, null, true).zeroMaskedOutput(),
                "without a mask the output rule means nothing and is normalised away");
    }

    private static List<io.lstmx.ir.ActivationFn> defaults(Direction dir) {
        List<io.lstmx.ir.ActivationFn> acts = new ArrayList<>();
        for (int d = 0; d < dir.count(); d++) {
            acts.addAll(LstmSpec.DEFAULT_ACTIVATIONS);
        }
        return acts;
    }
}
