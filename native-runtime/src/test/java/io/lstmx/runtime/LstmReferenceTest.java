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

    /**
     * TensorFlow's cell clip and forget bias on random configurations, on both cell paths (the
     * vectorised default cell and the generic one): each case is checked against the reference,
     * and the reference itself must show that the clip bounded some cell state and that the bias
     * changed the outputs, so that neither feature can be ignored unnoticed.
     */
    @Test
    void cellClipAndForgetBiasMatchTheReferenceOnBothCellPaths() {
        int clippedCases = 0;
        int fastCases = 0;
        int genericCases = 0;
        int biasedCases = 0;
        for (int seed = 0; seed < 120; seed++) {
            Case base = randomCase(1000 + seed);
            Random rnd = new Random(seed);
            LstmSpec s = base.spec();
            float cellClip = (float) (0.2 + 0.5 * rnd.nextDouble());
            float forgetBias = s.inputForget() ? 0f : (float) (rnd.nextBoolean() ? 1 + rnd.nextDouble() : -1 - rnd.nextDouble());
            LstmSpec spec = s.withCellClip(cellClip).withForgetBias(forgetBias);
            // half the cases without peepholes, so that default-activation cases take the vectorised path
            boolean peephole = seed % 2 == 0 && base.peephole();
            Case c = new Case(base.seed(), spec, peephole, base.lens(), base.init(), base.steps(), base.batch());
            checkCase(c);
            boolean fast = spec.hasDefaultActivations() && !peephole && spec.clip() == null && !spec.inputForget();
            fastCases += fast ? 1 : 0;
            genericCases += fast ? 0 : 1;
            Reference clipped = reference(c);
            Reference free = reference(new Case(c.seed(), spec.withCellClip(null), peephole, c.lens(), c.init(), c.steps(), c.batch()));
            double maxAbsC = 0;
            for (double v : clipped.out.yc()) {
                maxAbsC = Math.max(maxAbsC, Math.abs(v));
            }
            assertTrue(maxAbsC <= cellClip, c + ": |Y_c| " + maxAbsC + " exceeds the cell clip " + cellClip);
            if (!java.util.Arrays.equals(clipped.out.yc(), free.out.yc())) {
                clippedCases++;
            }
            if (forgetBias != 0 && previousCellMatters(c, clipped.lens)) {
                biasedCases++;
                Reference unbiased = reference(new Case(c.seed(), spec.withForgetBias(0), peephole, c.lens(), c.init(), c.steps(), c.batch()));
                assertTrue(!java.util.Arrays.equals(clipped.out.yh(), unbiased.out.yh()), c + ": the forget bias changed nothing");
            }
        }
        assertTrue(biasedCases > 60, "the forget bias was checked in only " + biasedCases + " cases");
        assertTrue(clippedCases > 60, "the cell clip bit in only " + clippedCases + " cases");
        assertTrue(fastCases > 10 && genericCases > 10, "cell paths exercised: vectorised " + fastCases + ", generic " + genericCases);
    }

    @Test
    void cellClipOnALargeLayerSplitOverThreadsMatchesTheReference() {
        // big enough for the parallel split (RecurrentKernel.PARALLEL_WORK) and several column groups
        LstmSpec spec = LstmSpec.standard(40, 70, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR).withCellClip(0.5f).withForgetBias(1f);
        checkCase(new Case(99, spec, false, true, true, 30, 9));
    }

    /**
     * Whether some row runs a step from a non-zero cell state (a second step, or a first one from
     * an initial state): only then does f, and with it the forget bias, reach the outputs.
     */
    private static boolean previousCellMatters(Case c, int[] lens) {
        for (int b = 0; b < c.batch(); b++) {
            int len = lens == null ? c.steps() : lens[b];
            if (len > 1 || (len == 1 && c.init())) {
                return true;
            }
        }
        return false;
    }

    /** The reference's outputs for a case, from the same random inputs {@link #checkCase} feeds the runtime. */
    private record Reference(LstmReference.Out out, int[] lens) {
    }

    private static Reference reference(Case c) {
        Inputs in = inputs(c);
        return new Reference(LstmReference.run(c.spec(), in.w, in.x, c.steps(), c.batch(), in.lens, in.h0, in.c0), in.lens);
    }

    @Test
    void largerSizes() {
        LstmSpec spec = LstmSpec.standard(37, 29, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        checkCase(new Case(7, spec, false, true, true, 23, 5));
    }

    /** One case's weights and inputs, drawn from its seed. */
    private record Inputs(List<LstmWeights> w, float[] x, int[] lens, float[] h0, float[] c0, Map<String, Tensor> feed) {
    }

    private static Inputs inputs(Case c) {
        Random rnd = new Random(c.seed() * 31L + 1);
        LstmSpec spec = c.spec();
        int dirs = spec.direction().count();
        List<LstmWeights> w = TestSupport.weights(rnd, spec, c.peephole(), dirs);
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
        return new Inputs(w, x, lens, h0, c0, in);
    }

    private static void checkCase(Case c) {
        LstmSpec spec = c.spec();
        int dirs = spec.direction().count();
        int steps = c.steps();
        int batch = c.batch();
        boolean bm = spec.layout() == Layout.BATCH_MAJOR;
        Inputs in = inputs(c);
        Model model = TestSupport.lstmModel(spec, in.w, c.lens(), c.init());
        Map<String, Tensor> out = NativeRuntime.compile(model).run(in.feed);
        LstmReference.Out ref = LstmReference.run(spec, in.w, in.x, steps, batch, in.lens, in.h0, in.c0);
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
