package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Builders and comparisons shared by the runtime tests. */
final class TestSupport {
    private TestSupport() {
    }

    /** Activation choices for the random reference cases (every kind, with alpha/beta where it has them). */
    static final List<ActivationFn> ACTIVATION_CHOICES = List.of(
            ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.RELU, ActivationFn.IDENTITY,
            ActivationFn.of(Kind.LEAKY_RELU, 0.1f, 0f), ActivationFn.of(Kind.THRESHOLDED_RELU, 0.3f, 0f),
            ActivationFn.of(Kind.ELU, 0.8f, 0f), ActivationFn.of(Kind.HARD_SIGMOID, 0.2f, 0.5f),
            ActivationFn.of(Kind.AFFINE, 0.7f, 0.1f), ActivationFn.of(Kind.SCALED_TANH, 1.2f, 0.8f),
            ActivationFn.of(Kind.SOFTSIGN), ActivationFn.of(Kind.SOFTPLUS));
    /** Bounded choices for a gate function f, so that seven steps cannot overflow float32. */
    static final List<ActivationFn> GATE_ACTIVATION_CHOICES = List.of(
            ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.of(Kind.HARD_SIGMOID, 0.2f, 0.5f),
            ActivationFn.of(Kind.SOFTSIGN), ActivationFn.of(Kind.SCALED_TANH, 1.2f, 0.8f));

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
        Layer l = new Layer.Lstm("lstm", new RecurrentPorts("X", lens ? "L" : null, init ? "H0" : null, init ? "C0" : null,
                "Y", "Y_h", "Y_c"), spec, w, GateOrder.CANONICAL);
        return new Model("m", ModelInfo.NONE, in,
                List.of(new ValueInfo("Y", DType.FLOAT32, Shape.UNKNOWN), new ValueInfo("Y_h", DType.FLOAT32, Shape.UNKNOWN),
                        new ValueInfo("Y_c", DType.FLOAT32, Shape.UNKNOWN)),
                List.of(l));
    }

    /** GRU (2 activations per direction: sigmoid, tanh) or RNN (1: tanh) hyper-parameters with default activations. */
    static RecurrentSpec gruSpec(int in, int hidden, Direction dir, Layout layout, Float clip, boolean linearBeforeReset) {
        List<ActivationFn> acts = new ArrayList<>();
        for (int d = 0; d < dir.count(); d++) {
            acts.add(ActivationFn.SIGMOID);
            acts.add(ActivationFn.TANH);
        }
        return new RecurrentSpec(in, hidden, dir, layout, clip, linearBeforeReset, acts);
    }

    static RecurrentSpec rnnSpec(int in, int hidden, Direction dir, Layout layout, Float clip) {
        List<ActivationFn> acts = new ArrayList<>();
        for (int d = 0; d < dir.count(); d++) {
            acts.add(ActivationFn.TANH);
        }
        return new RecurrentSpec(in, hidden, dir, layout, clip, false, acts);
    }

    /**
     * Random GRU (gates 3) or RNN (gates 1) weights for every direction of {@code spec}, of scale 0.6
     * except R, at most 1.5 / sqrt(H): with larger R the recurrence of a wide layer is chaotic (float
     * rounding grows several times per step, so no float implementation could agree with a reference).
     */
    static List<RecurrentWeights> recurrentWeights(Random rnd, RecurrentSpec spec, int gates) {
        int gh = gates * spec.hiddenSize();
        double s = 0.6;
        double sr = Math.min(s, 1.5 / Math.sqrt(spec.hiddenSize()));
        List<RecurrentWeights> l = new ArrayList<>();
        for (int d = 0; d < spec.direction().count(); d++) {
            l.add(new RecurrentWeights(t(random(rnd, gh * spec.inputSize(), s), gh, spec.inputSize()),
                    t(random(rnd, gh * spec.hiddenSize(), sr), gh, spec.hiddenSize()), t(random(rnd, gh, s), gh), t(random(rnd, gh, s), gh)));
        }
        return l;
    }

    /** A GRU layer "gru" reading X (and L, H0 when asked), writing the named outputs (null: absent). */
    static Layer.Gru gru(RecurrentSpec spec, List<RecurrentWeights> w, boolean lens, boolean init, String y, String yh) {
        return new Layer.Gru("gru", RecurrentPorts.withoutCell("X", lens ? "L" : null, init ? "H0" : null, y, yh), spec, w, GateOrder.Gru.CANONICAL);
    }

    static Layer.Rnn rnn(RecurrentSpec spec, List<RecurrentWeights> w, boolean lens, boolean init, String y, String yh) {
        return new Layer.Rnn("rnn", RecurrentPorts.withoutCell("X", lens ? "L" : null, init ? "H0" : null, y, yh), spec, w);
    }

    /** A model made of one layer reading graph inputs X (and L, H0 when asked), its outputs the model's. */
    static Model singleLayerModel(Layer layer, boolean lens, boolean init) {
        List<ValueInfo> in = new ArrayList<>();
        in.add(new ValueInfo("X", DType.FLOAT32, Shape.UNKNOWN));
        if (lens) {
            in.add(new ValueInfo("L", DType.INT32, Shape.UNKNOWN));
        }
        if (init) {
            in.add(new ValueInfo("H0", DType.FLOAT32, Shape.UNKNOWN));
        }
        List<ValueInfo> out = new ArrayList<>();
        for (String o : layer.outputs()) {
            out.add(new ValueInfo(o, DType.FLOAT32, Shape.UNKNOWN));
        }
        return new Model("m", ModelInfo.NONE, in, out, List.of(layer));
    }

    /** Independent transpose (nested loops over an n-D index): y.shape[k] = x.shape[perm[k]]. */
    static Tensor transpose(Tensor t, int... perm) {
        int[] s = t.shape();
        float[] a = t.toFloatArray();
        int[] os = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            os[i] = s[perm[i]];
        }
        float[] o = new float[a.length];
        int[] idx = new int[s.length];
        for (int flat = 0; flat < a.length; flat++) {
            int rem = flat;
            for (int k = s.length - 1; k >= 0; k--) {
                idx[k] = rem % s[k];
                rem /= s[k];
            }
            int of = 0;
            for (int k = 0; k < s.length; k++) {
                of = of * os[k] + idx[perm[k]];
            }
            o[of] = a[flat];
        }
        return Tensor.ofFloats(os, o);
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

    /**
     * Feeds time-major X [T,B,F] to {@code session} in consecutive chunks of {@code chunks} steps,
     * copying each chunk's output "out" ([len,B,...] with one value per step and row) into {@code got}
     * at its time offset; returns the outputs of the last feed.
     */
    static Map<String, Tensor> feedInChunks(StreamingSession session, float[] x, int batch, int features, int[] chunks, float[] got) {
        int t0 = 0;
        Map<String, Tensor> last = null;
        for (int len : chunks) {
            float[] part = Arrays.copyOfRange(x, t0 * batch * features, (t0 + len) * batch * features);
            last = session.feed(Map.of("X", t(part, len, batch, features)));
            last.get("out").copyFloatsTo(got, t0 * batch);
            t0 += len;
        }
        return last;
    }

    /**
     * Runs {@code task.apply(i)} for every caller i on its own thread, all released by one latch so
     * that they overlap; returns the results in caller order (each waited for at most 60 s).
     */
    static <T> List<T> runConcurrently(int callers, IntFunction<Callable<T>> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                Callable<T> c = task.apply(i);
                futures.add(pool.submit(() -> {
                    start.await();
                    return c.call();
                }));
            }
            start.countDown();
            List<T> results = new ArrayList<>();
            for (Future<T> f : futures) {
                results.add(f.get(60, TimeUnit.SECONDS));
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }

    /** A copy of {@code a} (time-major, {@code block} values per step) with its steps in reverse order. */
    static float[] reverseTime(float[] a, int steps, int block) {
        float[] r = new float[a.length];
        for (int t = 0; t < steps; t++) {
            System.arraycopy(a, t * block, r, (steps - 1 - t) * block, block);
        }
        return r;
    }

    /** One random sequence length in [0, steps] per batch row (zero included on purpose). */
    static int[] randomLengths(Random rnd, int batch, int steps) {
        int[] lens = new int[batch];
        for (int b = 0; b < batch; b++) {
            lens[b] = rnd.nextInt(steps + 1);
        }
        return lens;
    }

    /** Sequence lengths as the int32 tensor [B] the ONNX operators take. */
    static Tensor lengthsTensor(int[] lens) {
        long[] l = new long[lens.length];
        for (int b = 0; b < lens.length; b++) {
            l[b] = lens[b];
        }
        return Tensor.ofLongs(DType.INT32, new int[] {lens.length}, l);
    }
}
