package io.lstmx.runtime;

import io.lstmx.ir.DType;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Builders and comparisons shared by the runtime tests. */
final class TestSupport {
    private TestSupport() {
    }

    static float[] random(Random rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextGaussian() * scale);
        }
        return a;
    }

    static Tensor t(float[] data, int... shape) {
        return Tensor.ofFloats(shape, data);
    }

    static Tensor ints(long[] data, int... shape) {
        return Tensor.ofLongs(shape, data);
    }

    /** Random weights for one direction (peepholes / projection when asked). */
    static LstmWeights weights(Random rnd, LstmSpec spec, boolean peephole) {
        int h = spec.hiddenSize();
        int hr = spec.outputSize();
        int i = spec.inputSize();
        double s = 0.6;
        return new LstmWeights(
                t(random(rnd, 4 * h * i, s), 4 * h, i),
                t(random(rnd, 4 * h * hr, s), 4 * h, hr),
                t(random(rnd, 4 * h, s), 4 * h),
                t(random(rnd, 4 * h, s), 4 * h),
                peephole ? t(random(rnd, 3 * h, s), 3 * h) : null,
                spec.projSize() > 0 ? t(random(rnd, spec.projSize() * h, s), spec.projSize(), h) : null);
    }

    static List<LstmWeights> weights(Random rnd, LstmSpec spec, boolean peephole, int count) {
        List<LstmWeights> l = new ArrayList<>();
        for (int d = 0; d < count; d++) {
            l.add(weights(rnd, spec, peephole));
        }
        return l;
    }

    /**
     * A model with one LSTM layer reading graph inputs X (and L, H0, C0 when asked) and writing
     * Y, Y_h, Y_c as model outputs.
     */
    static Model lstmModel(LstmSpec spec, List<LstmWeights> w, boolean lens, boolean init) {
        List<ValueInfo> in = new ArrayList<>();
        in.add(new ValueInfo("X", DType.FLOAT32, Shape.UNKNOWN));
        if (lens) {
            in.add(new ValueInfo("L", DType.INT32, Shape.UNKNOWN));
        }
        if (init) {
            in.add(new ValueInfo("H0", DType.FLOAT32, Shape.UNKNOWN));
            in.add(new ValueInfo("C0", DType.FLOAT32, Shape.UNKNOWN));
        }
        Layer l = new Layer.Lstm("lstm", "X", lens ? "L" : null, init ? "H0" : null, init ? "C0" : null,
                "Y", "Y_h", "Y_c", spec, w, GateOrder.CANONICAL);
        return new Model("m", ModelInfo.NONE, in,
                List.of(new ValueInfo("Y", DType.FLOAT32, Shape.UNKNOWN), new ValueInfo("Y_h", DType.FLOAT32, Shape.UNKNOWN),
                        new ValueInfo("Y_c", DType.FLOAT32, Shape.UNKNOWN)),
                List.of(l));
    }

    static void assertClose(double[] expected, Tensor actual, double atol, double rtol, String what) {
        float[] a = actual.toFloatArray();
        assertEquals(expected.length, a.length, what + ": element count");
        for (int i = 0; i < a.length; i++) {
            double diff = Math.abs(a[i] - expected[i]);
            if (!(diff <= atol + rtol * Math.abs(expected[i]))) {
                fail(what + ": element " + i + " of " + Arrays.toString(actual.shape()) + " is " + a[i] + ", expected " + expected[i]);
            }
        }
    }

    static void assertClose(float[] expected, Tensor actual, double atol, String what) {
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = expected[i];
        }
        assertClose(e, actual, atol, 0, what);
    }

    static void assertClose(Tensor expected, Tensor actual, double atol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        assertClose(expected.toFloatArray(), actual, atol, what);
    }

    static void assertTensor(Tensor actual, int[] shape, float... expected) {
        assertArrayEquals(shape, actual.shape(), "shape");
        assertArrayEquals(expected, actual.toFloatArray(), 1e-6f);
    }
}
