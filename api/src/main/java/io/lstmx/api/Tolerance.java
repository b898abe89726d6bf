package io.lstmx.api;

import io.lstmx.ir.Tensor;

import java.util.Arrays;

/**
 * Element-wise comparison |actual - expected| &lt;= atol + rtol * |expected|, the rule every lstmx
 * parity check uses (as numpy.allclose). NaN never matches.
 *
 * @param atol absolute tolerance
 * @param rtol tolerance relative to the expected value
 */
public record Tolerance(double atol, double rtol) {
    /** atol 1e-5, rtol 1e-4, the defaults of {@code lstmx verify}. */
    public static final Tolerance DEFAULT = new Tolerance(1e-5, 1e-4);

    /**
     * Outcome of one comparison.
     *
     * @param shapeMatches  whether the shapes are equal (nothing else is compared otherwise)
     * @param ok            whether every element is within tolerance
     * @param maxAbs        the largest |actual - expected| (infinite for a NaN)
     * @param maxRel        the largest |actual - expected| / |expected|
     * @param worstIndex    flat index of the element furthest beyond (or least within) tolerance; -1 when empty
     * @param worstActual   the actual value there
     * @param worstExpected the expected value there
     * @param detail        one line for reports
     */
    public record Report(boolean shapeMatches, boolean ok, double maxAbs, double maxRel, int worstIndex,
                         float worstActual, float worstExpected, String detail) {
    }

    /**
     * Compares {@code actual} with {@code expected} element by element.
     *
     * @param actual   the value computed by lstmx
     * @param expected the reference value
     * @return the outcome, with the worst element
     */
    public Report compare(Tensor actual, Tensor expected) {
        if (!Arrays.equals(actual.shape(), expected.shape())) {
            return new Report(false, false, Double.NaN, Double.NaN, -1, Float.NaN, Float.NaN,
                    "shape " + Arrays.toString(actual.shape()) + " vs expected " + Arrays.toString(expected.shape()));
        }
        double maxAbs = 0;
        double maxRel = 0;
        double worstExcess = Double.NEGATIVE_INFINITY;
        int worst = -1;
        boolean ok = true;
        for (int i = 0; i < actual.size(); i++) {
            float a = actual.getFloat(i);
            float e = expected.getFloat(i);
            double abs = Math.abs((double) a - e);
            if (Double.isNaN(abs)) {
                abs = Double.POSITIVE_INFINITY;
            }
            double rel = abs / Math.max(Math.abs(e), 1e-12);
            maxAbs = Math.max(maxAbs, abs);
            maxRel = Math.max(maxRel, rel);
            double excess = abs - (atol + rtol * Math.abs(e));
            if (excess > 0) {
                ok = false;
            }
            if (excess > worstExcess) {
                worstExcess = excess;
                worst = i;
            }
        }
        float wa = worst >= 0 ? actual.getFloat(worst) : Float.NaN;
        float we = worst >= 0 ? expected.getFloat(worst) : Float.NaN;
        String detail = String.format("max abs %.3g, max rel %.3g; worst at flat index %d: %s vs expected %s",
                maxAbs, maxRel, worst, wa, we);
        return new Report(true, ok, maxAbs, maxRel, worst, wa, we, detail);
    }
}
