package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runtime's LSTM against the scalar double-precision reference, over many random configurations. */
class LstmReferenceTest {
    private static final double ATOL = 2e-5;
    private static final double RTOL = 2e-4;

    private static final List<ActivationFn> CHOICES = TestSupport.ACTIVATION_CHOICES;
    private static final List<ActivationFn> GATE_CHOICES = TestSupport.GATE_ACTIVATION_CHOICES;

    /** Feature flags of one random case, printed on failure. */
    private record Case(int seed, LstmSpec spec, boolean peephole, boolean lens, boolean init, int steps, int batch) {
    }

    private static Case randomCase(int seed) {
        Random rnd = new Random(seed);
        int in = 1 + rnd.nextInt(6);
        int hid = 1 + rnd.nextInt(6);
        int proj = rnd.nextInt(3) == 0 ? 1 + rnd.nextInt(4) : 0;
        Direction dir = Direction.values()[rnd.nextInt(3)];
        Layout layout = rnd.nextBoolean() ? Layout.TIME_MAJOR : Layout.BATCH_MAJOR;
        Float clip = rnd.nextInt(3) == 0 ? (float) (0.3 + rnd.nextDouble() * 2) : null;
        boolean inputForget = rnd.nextInt(4) == 0;
        List<ActivationFn> acts = new ArrayList<>();
        boolean custom = rnd.nextInt(3) == 0;
        for (int d = 0; d < dir.count(); d++) {
            if (custom) {
                acts.add(GATE_CHOICES.get(rnd.nextInt(GATE_CHOICES.size())));
                acts.add(CHOICES.get(rnd.nextInt(CHOICES.size())));
                acts.add(CHOICES.get(rnd.nextInt(CHOICES.size())));
            } else {
                acts.addAll(LstmSpec.DEFAULT_ACTIVATIONS);
            }
        }
        LstmSpec spec = new LstmSpec(in, hid, proj, dir, layout, clip, inputForget, acts);
        return new Case(seed, spec, rnd.nextBoolean(), rnd.nextBoolean(), rnd.nextBoolean(), 1 + rnd.nextInt(7), 1 + rnd.nextInt(4));
    }

    @Test
    void matchesScalarReferenceOnRandomConfigurations() {
        int[] seen = new int[8];
        for (int seed = 0; seed < 400; seed++) {
            Case c = randomCase(seed);
            checkCase(c);
            LstmSpec s = c.spec();
            seen[0] += s.projSize() > 0 ? 1 : 0;
            seen[1] += s.clip() != null ? 1 : 0;
            seen[2] += s.inputForget() ? 1 : 0;
            seen[3] += c.peephole() ? 1 : 0;
            seen[4] += c.lens() ? 1 : 0;
            seen[5] += s.direction() == Direction.BIDIRECTIONAL ? 1 : 0;
            seen[6] += s.layout() == Layout.BATCH_MAJOR ? 1 : 0;
            seen[7] += s.hasDefaultActivations() ? 0 : 1;
        }
        for (int i = 0; i < seen.length; i++) {
            assertTrue(seen[i] > 20, "feature " + i + " exercised only " + seen[i] + " times");
        }
    }

    @Test
    void everyFeatureAtOnce() {
        List<ActivationFn> acts = List.of(ActivationFn.of(Kind.HARD_SIGMOID, 0.2f, 0.5f), ActivationFn.of(Kind.SOFTSIGN),
                ActivationFn.of(Kind.SCALED_TANH, 1.5f, 0.7f), ActivationFn.SIGMOID, ActivationFn.of(Kind.ELU, 0.5f, 0f),
                ActivationFn.TANH);
        LstmSpec spec = new LstmSpec(3, 5, 2, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 0.9f, true, acts);
        checkCase(new Case(12345, spec, true, true, true, 6, 3));
    }

    @Test
    void largerSizes() {
        LstmSpec spec = LstmSpec.standard(37, 29, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        checkCase(new Case(7, spec, false, true, true, 23, 5));
    }

    private static void checkCase(Case c) {
        Random rnd = new Random(c.seed() * 31L + 1);
        LstmSpec spec = c.spec();
        int dirs = spec.direction().count();
        List<LstmWeights> w = TestSupport.weights(rnd, spec, c.peephole(), dirs);
        Model model = TestSupport.lstmModel(spec, w, c.lens(), c.init());
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
        float[] c0 = null;
        if (c.init()) {
            h0 = random(rnd, dirs * batch * spec.outputSize(), 0.8);
            c0 = random(rnd, dirs * batch * spec.hiddenSize(), 0.8);
            in.put("H0", Tensor.ofFloats(bm ? new int[] {batch, dirs, spec.outputSize()} : new int[] {dirs, batch, spec.outputSize()}, h0));
            in.put("C0", Tensor.ofFloats(bm ? new int[] {batch, dirs, spec.hiddenSize()} : new int[] {dirs, batch, spec.hiddenSize()}, c0));
        }
        Map<String, Tensor> out = NativeRuntime.compile(model).run(in);
        LstmReference.Out ref = LstmReference.run(spec, w, x, steps, batch, lens, h0, c0);
        String what = c.toString();
        int hr = spec.outputSize();
        assertArrayEquals(bm ? new int[] {batch, steps, dirs, hr} : new int[] {steps, dirs, batch, hr}, out.get("Y").shape(), what);
        assertArrayEquals(bm ? new int[] {batch, dirs, hr} : new int[] {dirs, batch, hr}, out.get("Y_h").shape(), what);
        assertArrayEquals(bm ? new int[] {batch, dirs, spec.hiddenSize()} : new int[] {dirs, batch, spec.hiddenSize()}, out.get("Y_c").shape(), what);
        assertClose(ref.y(), out.get("Y"), ATOL, RTOL, "Y " + what);
        assertClose(ref.yh(), out.get("Y_h"), ATOL, RTOL, "Y_h " + what);
        assertClose(ref.yc(), out.get("Y_c"), ATOL, RTOL, "Y_c " + what);
    }
}
