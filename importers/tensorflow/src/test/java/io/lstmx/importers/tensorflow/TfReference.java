package io.lstmx.importers.tensorflow;

import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs graphs in TensorFlow (Java, native) and compares lstmx's runtime with it. */
final class TfReference {
    private TfReference() {
    }

    static float[] random(long seed, int n) {
        Random r = new Random(seed);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return f;
    }

    static TFloat32 tf(int[] shape, float[] data) {
        return TFloat32.tensorOf(Shape.of(Arrays.stream(shape).asLongStream().toArray()), DataBuffers.of(data));
    }

    /** Runs {@code fetch} in {@code s} feeding {@code feed} with {@code data}. */
    static float[] run(Session s, String feed, String fetch, int[] shape, float[] data, int[] outShape) {
        try (TFloat32 in = tf(shape, data); Result r = s.runner().feed(feed, in).fetch(fetch).run()) {
            TFloat32 out = (TFloat32) r.get(0);
            long[] os = out.shape().asArray();
            if (outShape != null) {
                assertArrayEquals(Arrays.stream(outShape).asLongStream().toArray(), os, "TF output shape");
            }
            float[] f = new float[(int) out.size()];
            out.copyTo(DataBuffers.of(f));
            return f;
        }
    }

    static float[] lstmx(Model m, String input, int[] shape, float[] data) {
        Map<String, Tensor> out = NativeRuntime.compile(m).run(Map.of(input, Tensor.ofFloats(shape, data)));
        return out.values().iterator().next().toFloatArray();
    }

    static void close(float[] expected, float[] actual) {
        assertTrue(expected.length == actual.length, "lengths " + expected.length + " vs " + actual.length);
        for (int i = 0; i < expected.length; i++) {
            float tol = 1e-5f + 1e-4f * Math.abs(expected[i]);
            assertTrue(Math.abs(expected[i] - actual[i]) <= tol, "element " + i + ": TF " + expected[i] + ", lstmx " + actual[i]);
        }
    }
}
