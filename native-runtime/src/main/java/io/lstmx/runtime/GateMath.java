package io.lstmx.runtime;

/**
 * Sigmoid and tanh over ranges of a double array, written so that C2 (JDK 17) vectorises them:
 * only min/max, multiply, fused multiply-add and divide, no calls and no branches. The per-element
 * alternatives, {@link Math#exp} and especially {@link Math#tanh} (a native call in JDK 17), cost
 * 5-15 ns each and dominated the LSTM's time at small sizes.
 *
 * <h2>Accuracy</h2>
 * Both work in double precision. For arguments inside the clamps described below (sigmoid: x in
 * [-104, 20], tanh: |x| &le; 10) the relative error is below 1e-13 (measured: 5.2e-14 for sigmoid,
 * 1e-15 for tanh); beyond them the result is the value at the clamp, within 2.1e-9 (sigmoid) or
 * 4.2e-9 (tanh) of the saturated value. Either way it is far below float's 6e-8, so rounded to
 * float they give the values of {@code (float) (1 / (1 + Math.exp(-x)))} and
 * {@code (float) Math.tanh(x)} (what {@link io.lstmx.ir.ActivationFn#apply} computes) except when
 * the exact value lies within that error of a rounding boundary. Checked over all 2^32 float
 * inputs (JDK 17): tanh gives the same float for every input, sigmoid for all but 337, which differ
 * by one ulp (at most 1.2e-7 relative). NaN gives NaN, tanh(-0) is -0, infinities saturate.
 * GateMathTest checks all of this on a seeded sample of a million floats.
 *
 * <h2>How</h2>
 * exp(z) = p(z / 2^s)^(2^s): p is the Taylor polynomial of exp on the small reduced interval
 * (error below 1e-16) and s squarings undo the reduction; each squaring doubles the relative
 * error and adds one rounding, so sigmoid's 8 squarings leave about 256 * 2e-16 = 6e-14, and
 * sigmoid = 1 / (1 + exp(-x)) keeps that relative accuracy even where it is tiny. For tanh the
 * same is done with expm1 (E' = E (E + 2) per doubling), which stays accurate near 0 where
 * tanh(x) ~ x: tanh(x) = -expm1(-2x) / (2 + expm1(-2x)) for either sign of x. Arguments are first
 * clamped to where float results saturate (sigmoid: below -104 it rounds to 0, above 20 to 1;
 * tanh beyond &plusmn;10 rounds to &plusmn;1), which also bounds the polynomial's argument.
 */
final class GateMath {
    private GateMath() {
    }

    /** d[j] = 1 / (1 + e^-d[j]) for j in [off, off + len). */
    static void sigmoid(double[] d, int off, int len) {
        int end = off + len;
        for (int j = off; j < end; j++) {
            // w = -x / 256 in [-0.079, 0.41]: exp(w) by its Taylor series to w^13 (relative error < 1e-16).
            double w = Math.max(Math.min(d[j], 20.0), -104.0) * (-1.0 / 256);
            double p = Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w,
                    Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, 1.0 / 6227020800.0, 1.0 / 479001600),
                    1.0 / 39916800), 1.0 / 3628800), 1.0 / 362880), 1.0 / 40320), 1.0 / 5040), 1.0 / 720), 1.0 / 120),
                    1.0 / 24), 1.0 / 6), 0.5), 1.0), 1.0);
            p *= p; // eight squarings: p = exp(-x)
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            p *= p;
            d[j] = 1 / (1 + p);
        }
    }

    /** d[j] = tanh(d[j]) for j in [off, off + len). */
    static void tanh(double[] d, int off, int len) {
        int end = off + len;
        for (int j = off; j < end; j++) {
            // w = -2x / 64 in [-0.32, 0.32]: expm1(w) by its Taylor series to w^13 (relative error < 1e-17);
            // six doublings give expm1(-2x).
            double w = Math.max(Math.min(d[j], 10.0), -10.0) * (-2.0 / 64);
            double e = w * Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w,
                    Math.fma(w, Math.fma(w, Math.fma(w, Math.fma(w, 1.0 / 6227020800.0, 1.0 / 479001600), 1.0 / 39916800),
                    1.0 / 3628800), 1.0 / 362880), 1.0 / 40320), 1.0 / 5040), 1.0 / 720), 1.0 / 120), 1.0 / 24), 1.0 / 6), 0.5), 1.0);
            e *= e + 2;
            e *= e + 2;
            e *= e + 2;
            e *= e + 2;
            e *= e + 2;
            e *= e + 2;
            d[j] = -e / (2 + e);
        }
    }
}
