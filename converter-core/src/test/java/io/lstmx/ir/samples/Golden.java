package io.lstmx.ir.samples;

import io.lstmx.ir.Tensor;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** The golden tests' tolerance, comparison and repository root, shared by the exporters' tests. */
public final class Golden {
    /** Absolute and relative tolerance of a comparison with a real framework's output. */
    public static final double ATOL = 1e-5;
    public static final double RTOL = 1e-4;

    private Golden() {
    }

    /** The repository root (surefire sets lstmx.root). */
    public static Path root() {
        String r = System.getProperty("lstmx.root");
        return r != null ? Path.of(r) : Path.of("../..").toAbsolutePath().normalize();
    }

    /** |actual - expected| <= atol + rtol |expected| everywhere, same shape. */
    public static void close(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape " + Arrays.toString(actual.shape())
                + ", expected " + Arrays.toString(expected.shape()));
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        double worst = 0;
        int at = -1;
        for (int i = 0; i < e.length; i++) {
            double excess = Math.abs((double) a[i] - e[i]) - (ATOL + RTOL * Math.abs(e[i]));
            if (!(excess <= 0) && (at < 0 || excess > worst || Double.isNaN(excess))) {
                worst = excess;
                at = i;
            }
        }
        if (at >= 0) {
            fail(what + ": element " + at + " is " + a[at] + ", expected " + e[at] + " (atol " + ATOL + ", rtol " + RTOL + ")");
        }
    }
}
