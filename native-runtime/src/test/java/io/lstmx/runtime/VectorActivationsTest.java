package io.lstmx.runtime;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float activations of the Vector API LSTM cell ({@link VectorKernels#sigmoidRun},
 * {@link VectorKernels#tanhRun}) against the exact values (the double formulas, rounded once): within
 * 3 ulp everywhere, exactly right at the special values, and the LSTM cell as a whole within a few
 * ulps of the double path's equations.
 */
class VectorActivationsTest {
    @BeforeAll
    static void needsTheModule() {
        org.junit.jupiter.api.Assumptions.assumeTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
                "the JVM has no jdk.incubator.vector");
    }

    private static float[] apply(boolean sigmoid, float[] x) {
        int l = VectorKernels.L;
        float[] in = java.util.Arrays.copyOf(x, (x.length + l - 1) / l * l);
        float[] out = new float[in.length];
        if (sigmoid) {
            VectorKernels.sigmoidRun(in, 0, out, 0, in.length);
        } else {
            VectorKernels.tanhRun(in, 0, out, 0, in.length);
        }
        return java.util.Arrays.copyOf(out, x.length);
    }

    /** Distance in ulps of the float {@code got} from the exact {@code want}, measured in float ulps at want. */
    private static double ulps(float got, double want) {
        float w = (float) want;
        return Math.abs(got - want) / Math.ulp(w == 0 ? Float.MIN_VALUE : w);
    }

    @Test
    void sigmoidAndTanhAreWithinThreeUlpsOverAMillionArguments() {
        SplittableRandom rnd = new SplittableRandom(17);
        float[] x = new float[1 << 20];
        for (int i = 0; i < x.length; i++) {
            double scale = i % 4 == 0 ? 40 : i % 4 == 1 ? 0.01 : i % 4 == 2 ? 1e-6 : 4;
            x[i] = (float) (rnd.nextGaussian() * scale);
        }
        float[] s = apply(true, x);
        float[] t = apply(false, x);
        double worstS = 0;
        double worstT = 0;
        for (int i = 0; i < x.length; i++) {
            worstS = Math.max(worstS, ulps(s[i], 1 / (1 + Math.exp(-(double) x[i]))));
            worstT = Math.max(worstT, ulps(t[i], Math.tanh(x[i])));
        }
        assertTrue(worstS <= 3, "sigmoid: " + worstS + " ulp");
        assertTrue(worstT <= 3, "tanh: " + worstT + " ulp");
    }

    @Test
    void specialValuesComeOutExactly() {
        float[] x = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 200f, -200f, 1e-30f, -1e-30f, -100f};
        float[] s = apply(true, x);
        float[] t = apply(false, x);
        assertEquals(0.5f, s[0]);
        assertEquals(0.5f, s[1]);
        assertTrue(Float.isNaN(s[2]) && Float.isNaN(t[2]), "NaN stays NaN");
        assertEquals(1f, s[3]);
        assertEquals(0f, s[4]);
        assertEquals(1f, s[5]);
        assertEquals(0f, s[6]);
        assertEquals((float) (1 / (1 + Math.exp(100))), s[9], "subnormal results of far-negative arguments");
        assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(t[0]));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(t[1]), "tanh(-0) = -0");
        assertEquals(1f, t[3]);
        assertEquals(-1f, t[4]);
        assertEquals(1f, t[5]);
        assertEquals(-1f, t[6]);
        assertEquals(1e-30f, t[7]);
        assertEquals(-1e-30f, t[8]);
    }

    @Test
    void theVectorCellIsWithinAFewUlpsOfTheExactEquations() {
        SplittableRandom rnd = new SplittableRandom(3);
        int u = 32;
        for (int nu : new int[] {32, 20, 1}) {
            float[] acc = new float[4 * u];
            for (int i = 0; i < acc.length; i++) {
                acc[i] = i % u < nu ? (float) (rnd.nextGaussian() * 3) : 0f; // padding units have zero pre-activations
            }
            float[] c = new float[u];
            for (int i = 0; i < nu; i++) {
                c[i] = (float) rnd.nextGaussian();
            }
            float[] c0 = c.clone();
            float[] h = new float[nu + 5];
            java.util.Arrays.fill(h, 7f);
            VectorKernels.lstmCell(acc, 0, u, nu, c, 0, h, 0, false, 0f, new float[5 * u]);
            for (int j = 0; j < u; j++) {
                double gi = 1 / (1 + Math.exp(-acc[j]));
                double gf = 1 / (1 + Math.exp(-acc[u + j]));
                double go = 1 / (1 + Math.exp(-acc[2 * u + j]));
                double gg = Math.tanh(acc[3 * u + j]);
                double cn = gf * c0[j] + gi * gg;
                if (j >= nu) {
                    assertEquals(0f, c[j], "padding unit " + j + " keeps c = 0");
                    continue;
                }
                assertTrue(Math.abs(c[j] - cn) <= 1e-6 * (Math.abs(gf * c0[j]) + Math.abs(gi * gg)) + 1e-30, "c of unit " + j);
                double hn = go * Math.tanh(c[j]);
                assertTrue(Math.abs(h[j] - hn) <= 1e-6 * Math.abs(hn) + 1e-30, "h of unit " + j + ": " + h[j] + " vs " + hn);
            }
            for (int j = nu; j < h.length; j++) {
                assertEquals(7f, h[j], "h past nu units is not written (" + j + ")");
            }
        }
    }
}
