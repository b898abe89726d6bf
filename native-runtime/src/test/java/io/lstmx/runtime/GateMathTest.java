package io.lstmx.runtime;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * GateMath against straightforward double references ({@code 1 / (1 + Math.exp(-x))},
 * {@code Math.tanh}) over a seeded sample of about a million floats of every magnitude, and the
 * promises of its Javadoc: tanh gives the float-rounded reference exactly, sigmoid within one ulp
 * (and almost always exactly), in double a relative error below 1e-13 inside the clamps and the
 * clamp's value (within 2.1e-9 / 4.2e-9 of saturation) beyond them; NaN, signed zeros, infinities.
 * The arrays are processed in calls of varied offset and length, so that C2's vectorised loop and
 * its scalar pre- and post-loops are all compiled and checked.
 */
class GateMathTest {
    private static final int SAMPLES = 1_000_000;

    private static final DoubleUnaryOperator SIGMOID_REF = x -> 1 / (1 + Math.exp(-x));
    private static final DoubleUnaryOperator TANH_REF = Math::tanh;

    /** Values at and around every boundary: zeros, subnormals, clamps, saturation points, extremes. */
    private static final float[] SPECIAL = {
        0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 2 * Float.MIN_VALUE, Float.MIN_NORMAL, -Float.MIN_NORMAL,
        Math.nextDown(Float.MIN_NORMAL), -Math.nextDown(Float.MIN_NORMAL), 1e-30f, -1e-30f, 1e-8f, -1e-8f,
        0.5f, -0.5f, 1f, -1f, 9f, -9f, 9.1f, -9.1f, 10f, -10f, Math.nextUp(10f), Math.nextDown(-10f), Math.nextDown(10f),
        17.3f, 17.4f, 20f, Math.nextUp(20f), Math.nextDown(20f), -20f, -87f, -88f, -100f, -103f, -103.3f, -103.9f,
        -104f, Math.nextUp(-104f), Math.nextDown(-104f), -105f, 104f, 1e10f, -1e10f,
        Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
        Float.intBitsToFloat(0xffc00001), Float.intBitsToFloat(0x7f800001),
    };

    /** Half random bit patterns (all exponents, subnormals, NaNs), a quarter each over tanh's and sigmoid's live ranges. */
    private static float[] sample(long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[SAMPLES];
        System.arraycopy(SPECIAL, 0, x, 0, SPECIAL.length);
        for (int i = SPECIAL.length; i < x.length; i++) {
            x[i] = switch (i & 3) {
                case 0, 1 -> Float.intBitsToFloat(rnd.nextInt());
                case 2 -> (float) (rnd.nextDouble() * 24 - 12);
                default -> (float) (rnd.nextDouble() * 140 - 110);
            };
        }
        // Specials also in the middle of the array, where the compiled (vectorised) loop runs.
        for (int i = 0; i < SPECIAL.length; i++) {
            x[SAMPLES / 2 + 7 * i] = SPECIAL[i];
        }
        return x;
    }

    /** Applies fn to d in consecutive calls of seeded lengths 1..4099 (and one element at a time at the start). */
    private static void inCalls(double[] d, Random rnd, Fn fn) {
        int off = 0;
        for (; off < 64; off++) {
            fn.apply(d, off, 1);
        }
        while (off < d.length) {
            int len = Math.min(d.length - off, 1 + rnd.nextInt(4099));
            fn.apply(d, off, len);
            off += len;
        }
    }

    @FunctionalInterface
    private interface Fn {
        void apply(double[] d, int off, int len);
    }

    private static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    /** Number of floats between a and b (finite): 0 when equal, 1 when neighbours; +0 and -0 count as one. */
    private static long ulps(float a, float b) {
        return Math.abs(ordered(a) - ordered(b));
    }

    private static long ordered(float x) {
        int bits = Float.floatToRawIntBits(x);
        return bits >= 0 ? bits : (long) Integer.MIN_VALUE - bits;
    }

    private static String show(float x) {
        return x + " (0x" + Integer.toHexString(Float.floatToRawIntBits(x)) + ")";
    }

    /**
     * Checks the double results (relative error inside [lo, hi], clamp's value beyond it) and returns
     * the number of float results that differ from the float-rounded reference (each by at most one ulp).
     */
    private static int check(String name, float[] x, double[] got, DoubleUnaryOperator ref, double lo, double hi, double saturationGap) {
        int ulpOff = 0;
        for (int i = 0; i < x.length; i++) {
            double r = ref.applyAsDouble(x[i]);
            float expected = (float) r;
            float actual = (float) got[i];
            String where = name + "(" + show(x[i]) + ") = " + got[i] + ", reference " + r;
            if (Float.isNaN(expected) || Float.isNaN(actual)) {
                if (Float.isNaN(expected) != Float.isNaN(actual)) {
                    fail(where + ": NaN must give NaN and only NaN");
                }
                continue;
            }
            if (expected == 0 && Float.floatToRawIntBits(actual) != Float.floatToRawIntBits(expected)) {
                fail(where + ": zero of the wrong sign or not zero");
            }
            if (ulps(actual, expected) > 1) {
                fail(where + ": float " + actual + " is " + ulps(actual, expected) + " ulps from " + expected);
            }
            if (actual != expected) {
                ulpOff++;
            }
            if (x[i] >= lo && x[i] <= hi) {
                if (!(Math.abs(got[i] - r) <= 1e-13 * Math.abs(r))) {
                    fail(where + ": relative error " + Math.abs(got[i] - r) / Math.abs(r) + " above 1e-13");
                }
            } else if (!(Math.abs(got[i] - r) <= saturationGap)) {
                fail(where + ": beyond the clamp, more than " + saturationGap + " from the reference");
            }
        }
        return ulpOff;
    }

    @Test
    void sigmoidWithinOneUlpOfFloatRoundedReference() {
        float[] x = sample(11);
        double[] d = toDouble(x);
        inCalls(d, new Random(12), GateMath::sigmoid);
        int ulpOff = check("sigmoid", x, d, SIGMOID_REF, -104, 20, 2.1e-9);
        // The Javadoc: over all 2^32 floats, 337 results are one ulp off; a sample may hold a few.
        assertTrue(ulpOff <= 10, ulpOff + " of " + SAMPLES + " sigmoid results are one ulp off the float-rounded reference");
    }

    @Test
    void tanhEqualsFloatRoundedReference() {
        float[] x = sample(21);
        double[] d = toDouble(x);
        inCalls(d, new Random(22), GateMath::tanh);
        int ulpOff = check("tanh", x, d, TANH_REF, -10, 10, 4.2e-9);
        assertEquals(0, ulpOff, "tanh results one ulp off the float-rounded reference (the Javadoc promises none)");
    }

    @Test
    void specialValues() {
        double[] s = {0.0, -0.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1e300, -1e300};
        double[] t = s.clone();
        GateMath.sigmoid(s, 0, s.length);
        GateMath.tanh(t, 0, t.length);
        assertEquals(0.5, s[0]);
        assertEquals(0.5, s[1]);
        assertTrue(Double.isNaN(s[2]));
        assertEquals(1f, (float) s[3]);
        assertEquals(0f, (float) s[4]);
        assertEquals(1f, (float) s[5]);
        assertEquals(0f, (float) s[6]);
        assertEquals(Double.doubleToRawLongBits(0.0), Double.doubleToRawLongBits(t[0]), "tanh(+0) is +0");
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(t[1]), "tanh(-0) is -0");
        assertTrue(Double.isNaN(t[2]));
        assertEquals(1f, (float) t[3]);
        assertEquals(-1f, (float) t[4]);
        assertEquals(1f, (float) t[5]);
        assertEquals(-1f, (float) t[6]);
        // Odd symmetry of tanh and sigmoid(-x) = 1 - sigmoid(x) on the float results.
        Random rnd = new Random(31);
        for (int i = 0; i < 10_000; i++) {
            float v = (float) (rnd.nextGaussian() * 4);
            double[] p = {v, -v};
            double[] q = {v, -v};
            GateMath.tanh(p, 0, 2);
            GateMath.sigmoid(q, 0, 2);
            assertEquals((float) p[0], -(float) p[1], "tanh(" + v + ") and tanh(-" + v + ")");
            assertEquals(1.0, q[0] + q[1], 1e-13, "sigmoid(" + v + ") + sigmoid(-" + v + ")");
        }
    }

    @Test
    void touchesOnlyTheGivenRange() {
        for (Fn fn : new Fn[] {GateMath::sigmoid, GateMath::tanh}) {
            double[] d = new double[40];
            java.util.Arrays.fill(d, 3.0);
            fn.apply(d, 5, 30);
            for (int i = 0; i < d.length; i++) {
                boolean inside = i >= 5 && i < 35;
                assertEquals(inside, d[i] != 3.0, "element " + i + " = " + d[i]);
            }
            fn.apply(d, 40, 0);
        }
    }
}
