package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.lstmx.runtime.TestSupport.assertClose;
import static io.lstmx.runtime.TestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The runtime's GRU (both linear_before_reset values) and simple RNN against the scalar
 * double-precision {@link RecurrentReference}, over many random configurations: every direction and
 * layout, clip, custom activations with alpha/beta per direction, ragged and zero sequence lengths,
 * initial states, each output alone, and sizes that exercise the four-row and one-row products and
 * several column tiles (both the vectorised and the generic element-wise paths).
 */
class GruRnnReferenceTest {
    private static final double ATOL = 2e-5;
    private static final double RTOL = 2e-4;

    private static final List<ActivationFn> CHOICES = TestSupport.ACTIVATION_CHOICES;
    private static final List<ActivationFn> GATE_CHOICES = TestSupport.GATE_ACTIVATION_CHOICES;

    /** Which outputs the layer has: both, Y only, Y_h only. */
    private enum Outputs { BOTH, Y, Y_H }

    /** One random case, printed on failure. */
    private record Case(int seed, boolean gru, RecurrentSpec spec, boolean lens, boolean init, int steps, int batch, Outputs outputs) {
    }

    private static Case randomCase(int seed, boolean gru) {
        Random rnd = new Random(seed * 7919L + (gru ? 1 : 2));
        int in = 1 + rnd.nextInt(6);
        // Mostly tiny; sometimes past one group of 32 units (GRU) and one 128-column tile.
        int hid = rnd.nextInt(6) == 0 ? 30 + rnd.nextInt(110) : 1 + rnd.nextInt(6);
        Direction dir = Direction.values()[rnd.nextInt(3)];
        Layout layout = rnd.nextBoolean() ? Layout.TIME_MAJOR : Layout.BATCH_MAJOR;
        Float clip = rnd.nextInt(3) == 0 ? (float) (0.3 + rnd.nextDouble() * 2) : null;
        boolean lbr = gru && rnd.nextBoolean();
        boolean custom = rnd.nextInt(3) == 0;
        List<ActivationFn> acts = new ArrayList<>();
        for (int d = 0; d < dir.count(); d++) {
            if (gru) {
                acts.add(custom ? GATE_CHOICES.get(rnd.nextInt(GATE_CHOICES.size())) : ActivationFn.SIGMOID);
                acts.add(custom ? CHOICES.get(rnd.nextInt(CHOICES.size())) : ActivationFn.TANH);
            } else {
                acts.add(custom ? CHOICES.get(rnd.nextInt(CHOICES.size())) : ActivationFn.TANH);
            }
        }
        RecurrentSpec spec = new RecurrentSpec(in, hid, dir, layout, clip, lbr, acts);
        Outputs outs = Outputs.values()[rnd.nextInt(5) < 3 ? 0 : 1 + rnd.nextInt(2)];
        return new Case(seed, gru, spec, rnd.nextBoolean(), rnd.nextBoolean(), 1 + rnd.nextInt(7), 1 + rnd.nextInt(9), outs);
    }

    private static boolean defaultActivations(RecurrentSpec s, boolean gru) {
        for (int d = 0; d < s.direction().count(); d++) {
            List<ActivationFn> a = s.activations();
            boolean def = gru ? a.get(2 * d).equals(ActivationFn.SIGMOID) && a.get(2 * d + 1).equals(ActivationFn.TANH)
                    : a.get(d).equals(ActivationFn.TANH);
            if (!def) {
                return false;
            }
        }
        return true;
    }

    @Test
    void gruMatchesScalarReferenceOnRandomConfigurations() {
        randomConfigurations(true);
    }

    @Test
    void rnnMatchesScalarReferenceOnRandomConfigurations() {
        randomConfigurations(false);
    }

    private static void randomConfigurations(boolean gru) {
        String[] names = {"linear_before_reset", "not linear_before_reset", "clip", "custom activations", "vectorised path",
                "lengths", "initial h", "bidirectional", "reverse", "batch-major", "Y only", "Y_h only", "batch >= 5", "hidden > 32"};
        int[] seen = new int[names.length];
        for (int seed = 0; seed < 300; seed++) {
            Case c = randomCase(seed, gru);
            checkCase(c);
            RecurrentSpec s = c.spec();
            boolean def = defaultActivations(s, gru);
            boolean[] f = {s.linearBeforeReset(), gru && !s.linearBeforeReset(), s.clip() != null, !def, def && s.clip() == null,
                    c.lens(), c.init(), s.direction() == Direction.BIDIRECTIONAL, s.direction() == Direction.REVERSE,
                    s.layout() == Layout.BATCH_MAJOR, c.outputs() == Outputs.Y, c.outputs() == Outputs.Y_H, c.batch() >= 5,
                    s.hiddenSize() > 32};
            for (int i = 0; i < f.length; i++) {
                seen[i] += f[i] ? 1 : 0;
            }
        }
        for (int i = 0; i < seen.length; i++) {
            if (gru || i > 1) {
                assertTrue(seen[i] >= 15, names[i] + " exercised only " + seen[i] + " times");
            }
        }
    }

    @Test
    void everyFeatureAtOnce() {
        List<ActivationFn> gruActs = List.of(ActivationFn.of(Kind.HARD_SIGMOID, 0.2f, 0.5f), ActivationFn.of(Kind.SCALED_TANH, 1.5f, 0.7f),
                ActivationFn.SIGMOID, ActivationFn.of(Kind.ELU, 0.5f, 0f));
        for (boolean lbr : new boolean[] {true, false}) {
            RecurrentSpec g = new RecurrentSpec(3, 5, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 0.9f, lbr, gruActs);
            checkCase(new Case(12345, true, g, true, true, 6, 7, Outputs.BOTH));
        }
        RecurrentSpec r = new RecurrentSpec(3, 5, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 0.9f, false,
                List.of(ActivationFn.of(Kind.LEAKY_RELU, 0.2f, 0f), ActivationFn.of(Kind.AFFINE, 0.6f, -0.2f)));
        checkCase(new Case(12346, false, r, true, true, 6, 7, Outputs.BOTH));
    }

    @Test
    void largerSizes() {
        for (boolean lbr : new boolean[] {true, false}) {
            // Two groups of 32 units; several column tiles of 128 (H 150) and a 512-wide tile (H 300).
            checkCase(new Case(7, true, TestSupport.gruSpec(29, 37, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, null, lbr),
                    true, true, 23, 5, Outputs.BOTH));
            checkCase(new Case(8, true, TestSupport.gruSpec(20, 150, Direction.FORWARD, Layout.BATCH_MAJOR, null, lbr),
                    true, true, 5, 6, Outputs.BOTH));
            checkCase(new Case(9, true, TestSupport.gruSpec(16, 300, Direction.REVERSE, Layout.TIME_MAJOR, 3f, lbr),
                    true, true, 3, 5, Outputs.BOTH));
        }
        checkCase(new Case(10, false, TestSupport.rnnSpec(29, 37, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, null), true, true, 23, 5, Outputs.BOTH));
        checkCase(new Case(11, false, TestSupport.rnnSpec(20, 150, Direction.FORWARD, Layout.BATCH_MAJOR, null), true, true, 5, 6, Outputs.BOTH));
        checkCase(new Case(12, false, TestSupport.rnnSpec(16, 600, Direction.REVERSE, Layout.TIME_MAJOR, 2f), true, true, 3, 5, Outputs.BOTH));
    }

    @Test
    void evaluateRunsGruAndRnnLayers() {
        // NativeRuntime.evaluate (constant folding) runs a recurrent layer alone, by port names.
        Random rnd = new Random(77);
        RecurrentSpec g = TestSupport.gruSpec(3, 4, Direction.FORWARD, Layout.TIME_MAJOR, null, true);
        List<RecurrentWeights> gw = TestSupport.recurrentWeights(rnd, g, 3);
        RecurrentSpec r = TestSupport.rnnSpec(3, 4, Direction.REVERSE, Layout.BATCH_MAJOR, null);
        List<RecurrentWeights> rw = TestSupport.recurrentWeights(rnd, r, 1);
        float[] x = random(rnd, 5 * 2 * 3, 1);
        float[] h0 = random(rnd, 2 * 4, 1);
        Map<String, Tensor> go = NativeRuntime.evaluate(TestSupport.gru(g, gw, false, true, "Y", "Y_h"),
                Map.of("X", TestSupport.t(x, 5, 2, 3), "H0", TestSupport.t(h0, 1, 2, 4)));
        RecurrentReference.Out gref = RecurrentReference.gru(g, gw, x, 5, 2, null, h0);
        assertEquals(List.of("Y", "Y_h"), new ArrayList<>(go.keySet()));
        assertClose(gref.y(), go.get("Y"), ATOL, RTOL, "GRU Y");
        assertClose(gref.yh(), go.get("Y_h"), ATOL, RTOL, "GRU Y_h");
        Map<String, Tensor> ro = NativeRuntime.evaluate(TestSupport.rnn(r, rw, false, false, null, "Y_h"), Map.of("X", TestSupport.t(x, 2, 5, 3)));
        assertEquals(List.of("Y_h"), new ArrayList<>(ro.keySet()));
        assertClose(RecurrentReference.rnn(r, rw, x, 5, 2, null, null).yh(), ro.get("Y_h"), ATOL, RTOL, "RNN Y_h");
    }

    private static void checkCase(Case c) {
        Random rnd = new Random(c.seed() * 31L + 1);
        RecurrentSpec spec = c.spec();
        int dirs = spec.direction().count();
        int hid = spec.hiddenSize();
        List<RecurrentWeights> w = TestSupport.recurrentWeights(rnd, spec, c.gru() ? 3 : 1);
        String y = c.outputs() == Outputs.Y_H ? null : "Y";
        String yh = c.outputs() == Outputs.Y ? null : "Y_h";
        Layer layer = c.gru() ? TestSupport.gru(spec, w, c.lens(), c.init(), y, yh) : TestSupport.rnn(spec, w, c.lens(), c.init(), y, yh);
        int steps = c.steps();
        int batch = c.batch();
        boolean bm = spec.layout() == Layout.BATCH_MAJOR;
        float[] x = random(rnd, steps * batch * spec.inputSize(), 1.0);
        Map<String, Tensor> in = new HashMap<>();
        in.put("X", Tensor.ofFloats(bm ? new int[] {batch, steps, spec.inputSize()} : new int[] {steps, batch, spec.inputSize()}, x));
        int[] lens = null;
        if (c.lens()) {
            lens = TestSupport.randomLengths(rnd, batch, steps);
            in.put("L", TestSupport.lengthsTensor(lens));
        }
        float[] h0 = null;
        if (c.init()) {
            h0 = random(rnd, dirs * batch * hid, 0.8);
            in.put("H0", Tensor.ofFloats(bm ? new int[] {batch, dirs, hid} : new int[] {dirs, batch, hid}, h0));
        }
        Map<String, Tensor> out = NativeRuntime.compile(TestSupport.singleLayerModel(layer, c.lens(), c.init())).run(in);
        RecurrentReference.Out ref = c.gru() ? RecurrentReference.gru(spec, w, x, steps, batch, lens, h0)
                : RecurrentReference.rnn(spec, w, x, steps, batch, lens, h0);
        String what = c.toString();
        assertEquals(layer.outputs(), new ArrayList<>(out.keySet()), what);
        if (y != null) {
            assertArrayEquals(bm ? new int[] {batch, steps, dirs, hid} : new int[] {steps, dirs, batch, hid}, out.get("Y").shape(), what);
            assertClose(ref.y(), out.get("Y"), ATOL, RTOL, "Y " + what);
        }
        if (yh != null) {
            assertArrayEquals(bm ? new int[] {batch, dirs, hid} : new int[] {dirs, batch, hid}, out.get("Y_h").shape(), what);
            assertClose(ref.yh(), out.get("Y_h"), ATOL, RTOL, "Y_h " + what);
        }
    }
}
