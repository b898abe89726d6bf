package io.lstmx.passes;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Recurrent layers with random weights for the pass tests, and the numerical comparison of a
 * model before and after a rewrite on random inputs.
 */
final class RecurrentCase {
    /** Input size, hidden size, projection size (LSTM projection cases), steps, batch. */
    static final int I = 4;
    static final int H = 3;
    static final int P = 2;
    static final int T = 5;
    static final int B = 3;

    enum Kind { LSTM, GRU, RNN }

    private RecurrentCase() {
    }

    /** Ports of a recurrent layer; null entries are absent (initialC, yc: LSTM only). */
    record Ports(String input, String lens, String h0, String c0, String y, String yh, String yc) {
        static Ports of(String input, String y) {
            return new Ports(input, null, null, null, y, null, null);
        }

        Ports lens(String l) {
            return new Ports(input, l, h0, c0, y, yh, yc);
        }

        Ports initial(String h, String c) {
            return new Ports(input, lens, h, c, y, yh, yc);
        }

        Ports states(String h, String c) {
            return new Ports(input, lens, h0, c0, y, h, c);
        }
    }

    /** Hyper-parameters of one test layer: its kind, direction, layout, projection (LSTM), and one activation set. */
    record Spec(Kind kind, Direction direction, Layout layout, int proj, int hidden, boolean altActivations) {
        static Spec of(Kind kind, Direction direction, Layout layout) {
            return new Spec(kind, direction, layout, 0, H, false);
        }

        Spec withDirection(Direction d) {
            return new Spec(kind, d, layout, proj, hidden, altActivations);
        }

        Spec withProjection(int p) {
            return new Spec(kind, direction, layout, p, hidden, altActivations);
        }

        Spec withHidden(int h) {
            return new Spec(kind, direction, layout, proj, h, altActivations);
        }

        Spec withOtherActivations() {
            return new Spec(kind, direction, layout, proj, hidden, true);
        }

        /** Size of one direction's h in Y. */
        int outputSize() {
            return proj > 0 ? proj : hidden;
        }

        /** Size of h0 (and Y_h): the projection size when projected. */
        int stateSize() {
            return outputSize();
        }
    }

    // ---------------------------------------------------------------- layers

    /** A layer of {@code spec} with random weights drawn from {@code rnd}. */
    static Layer layer(String name, Spec spec, Ports p, Random rnd) {
        int d = spec.direction().count();
        List<ActivationFn> acts = new ArrayList<>();
        for (int k = 0; k < d; k++) {
            acts.addAll(activations(spec.kind(), spec.altActivations()));
        }
        return switch (spec.kind()) {
            case LSTM -> {
                LstmSpec s = new LstmSpec(I, spec.hidden(), spec.proj(), spec.direction(), spec.layout(), null, false, acts);
                List<LstmWeights> w = new ArrayList<>();
                for (int k = 0; k < d; k++) {
                    int h = spec.hidden();
                    w.add(new LstmWeights(random(rnd, 4 * h, I), random(rnd, 4 * h, spec.outputSize()), random(rnd, 4 * h), random(rnd, 4 * h),
                            random(rnd, 3 * h), spec.proj() > 0 ? random(rnd, spec.proj(), h) : null));
                }
                yield lstm(name, p, s, w);
            }
            case GRU -> gru(name, p, new RecurrentSpec(I, spec.hidden(), spec.direction(), spec.layout(), null, true, acts),
                    recurrentWeights(rnd, 3, spec.hidden(), d));
            case RNN -> rnn(name, p, new RecurrentSpec(I, spec.hidden(), spec.direction(), spec.layout(), null, false, acts),
                    recurrentWeights(rnd, 1, spec.hidden(), d));
        };
    }

    private static List<ActivationFn> activations(Kind kind, boolean alt) {
        ActivationFn hard = ActivationFn.of(ActivationFn.Kind.HARD_SIGMOID, 0.2f, 0.5f);
        ActivationFn soft = ActivationFn.of(ActivationFn.Kind.SOFTSIGN);
        return switch (kind) {
            case LSTM -> alt ? List.of(hard, soft, ActivationFn.TANH) : LstmSpec.DEFAULT_ACTIVATIONS;
            case GRU -> alt ? List.of(hard, soft) : List.of(ActivationFn.SIGMOID, ActivationFn.TANH);
            case RNN -> alt ? List.of(soft) : List.of(ActivationFn.TANH);
        };
    }

    private static List<RecurrentWeights> recurrentWeights(Random rnd, int gates, int h, int directions) {
        List<RecurrentWeights> l = new ArrayList<>();
        for (int k = 0; k < directions; k++) {
            l.add(new RecurrentWeights(random(rnd, gates * h, I), random(rnd, gates * h, h), random(rnd, gates * h), random(rnd, gates * h)));
        }
        return l;
    }

    // The only calls of the recurrent records' constructors in these tests.

    private static Layer lstm(String name, Ports p, LstmSpec s, List<LstmWeights> w) {
        return new Layer.Lstm(name, new io.lstmx.ir.RecurrentPorts(p.input(), p.lens(), p.h0(), p.c0(), p.y(), p.yh(), p.yc()), s, w, GateOrder.CANONICAL);
    }

    private static Layer gru(String name, Ports p, RecurrentSpec s, List<RecurrentWeights> w) {
        return new Layer.Gru(name, io.lstmx.ir.RecurrentPorts.withoutCell(p.input(), p.lens(), p.h0(), p.y(), p.yh()), s, w, GateOrder.Gru.CANONICAL);
    }

    private static Layer rnn(String name, Ports p, RecurrentSpec s, List<RecurrentWeights> w) {
        return new Layer.Rnn(name, io.lstmx.ir.RecurrentPorts.withoutCell(p.input(), p.lens(), p.h0(), p.y(), p.yh()), s, w);
    }

    /** Random float32 tensor of {@code shape}, scale 0.5. */
    static Tensor random(Random rnd, int... shape) {
        float[] v = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * 0.5);
        }
        return Tensor.ofFloats(shape, v);
    }

    /** Random sequence lengths [B] in [0, T] as int64 (0 included on purpose). */
    static Tensor lengths(Random rnd) {
        long[] l = new long[B];
        for (int b = 0; b < B; b++) {
            l[b] = rnd.nextInt(T + 1);
        }
        l[0] = T;
        return Tensor.ofLongs(DType.INT64, new int[] {B}, l);
    }

    // ---------------------------------------------------------------- comparison

    /** Runs {@code model} with the native runtime. */
    static Map<String, Tensor> run(Model model, Map<String, Tensor> inputs) {
        return NativeRuntime.compile(model).run(inputs);
    }

    /** Every output of {@code after} is bit for bit the same output of {@code before}, on {@code inputs}. */
    static void assertSameOutputs(Model before, Model after, Map<String, Tensor> inputs) {
        assertEquals(before.outputNames(), after.outputNames(), "the model's outputs");
        Map<String, Tensor> expected = run(before, inputs);
        Map<String, Tensor> actual = run(after, inputs);
        for (String name : before.outputNames()) {
            Tensor e = expected.get(name);
            Tensor a = actual.get(name);
            assertArrayEquals(e.shape(), a.shape(), name + ": shape");
            float[] ev = e.toFloatArray();
            float[] av = a.toFloatArray();
            assertTrue(ev.length > 0, name + " is not empty");
            for (int i = 0; i < ev.length; i++) {
                if (Float.floatToIntBits(ev[i]) != Float.floatToIntBits(av[i])) {
                    fail(name + ": element " + i + " is " + av[i] + " after the rewrite, " + ev[i] + " before");
                }
            }
        }
    }

    /** An ordered map of inputs. */
    static Map<String, Tensor> inputs(Object... nameTensor) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < nameTensor.length; i += 2) {
            m.put((String) nameTensor[i], (Tensor) nameTensor[i + 1]);
        }
        return m;
    }
}
