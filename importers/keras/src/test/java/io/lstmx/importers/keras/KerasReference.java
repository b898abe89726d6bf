package io.lstmx.importers.keras;

import com.google.gson.JsonObject;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A straightforward float64 implementation of Keras' layer equations, written from Keras' own
 * definitions and independent of the importer's conversion (it reads the kernels as Keras stores
 * them: [in, gates * units], gates in Keras order, biases as Keras shapes them), used as the
 * expected outputs of the tests.
 */
final class KerasReference {
    /** A dense float64 array, and the Keras mask [batch, time] it carries (true: the step counts), or null. */
    record Arr(int[] shape, double[] d, boolean[] mask) {
        Arr(int[] shape, double[] d) {
            this(shape, d, null);
        }

        Arr withMask(boolean[] m) {
            return new Arr(shape, d, m);
        }

        int size(int axis) {
            return shape[axis];
        }

        static Arr zeros(int... shape) {
            return new Arr(shape, new double[Arrays.stream(shape).reduce(1, (a, b) -> a * b)]);
        }

        static Arr of(Tensor t) {
            float[] f = t.dtype().isFloating() ? t.toFloatArray() : null;
            double[] d = new double[t.size()];
            for (int i = 0; i < d.length; i++) {
                d[i] = f != null ? f[i] : t.getLong(i);
            }
            return new Arr(t.shape(), d);
        }
    }

    private final KerasConfig config;
    private final WeightSource weights;
    private final boolean keras3;
    private final Map<String, List<Arr>> memo = new HashMap<>();

    KerasReference(KerasConfig config, WeightSource weights, boolean keras3) {
        this.config = config;
        this.weights = weights;
        this.keras3 = keras3;
    }

    /** The model's outputs for the given inputs (in input order). */
    List<Arr> run(List<Arr> inputs) {
        for (int i = 0; i < config.inputs.size(); i++) {
            memo.put(config.inputs.get(i).layer() + "#0", List.of(inputs.get(i)));
        }
        List<Arr> out = new ArrayList<>();
        for (KerasConfig.Ref r : config.outputs) {
            out.add(eval(r));
        }
        return out;
    }

    private Arr eval(KerasConfig.Ref r) {
        String key = r.layer() + "#" + r.node();
        List<Arr> outs = memo.get(key);
        if (outs == null) {
            KerasConfig.LayerSpec l = config.layer(r.layer());
            List<Arr> ins = new ArrayList<>();
            for (KerasConfig.Ref i : l.calls().get(r.node()).inputs()) {
                ins.add(eval(i));
            }
            outs = masks(l.className(), l.config(), ins, layer(l.className(), l.config(), w(l), ins));
            memo.put(key, outs);
        }
        return outs.get(r.index());
    }

    private List<Arr> w(KerasConfig.LayerSpec l) {
        List<Arr> out = new ArrayList<>();
        for (WeightSource.Var v : weights.weights(l)) {
            out.add(Arr.of(weights.read(v)));
        }
        return out;
    }

    /**
     * The masks of a layer's outputs, as Keras propagates them: Embedding(mask_zero) makes
     * x != 0; the layers that support masking pass their input's on (recurrent layers and
     * Bidirectional only on returned sequences); merges take the logical and of their inputs'
     * masks; every other layer drops it. Masking set its own in {@link #layer}.
     */
    private static List<Arr> masks(String cls, JsonObject c, List<Arr> in, List<Arr> outs) {
        Arr x = in.get(0);
        List<Arr> r = new ArrayList<>(outs);
        switch (cls) {
            case "Masking":
                return r;
            case "Embedding":
                if (bool(c, "mask_zero")) {
                    boolean[] m = new boolean[x.d().length];
                    for (int i = 0; i < m.length; i++) {
                        m[i] = x.d()[i] != 0;
                    }
                    r.set(0, r.get(0).withMask(m));
                }
                return r;
            case "Dense", "TimeDistributed", "Dropout", "SpatialDropout1D", "Activation", "BatchNormalization", "LayerNormalization":
                r.set(0, r.get(0).withMask(x.mask()));
                return r;
            case "LSTM", "GRU", "SimpleRNN":
                r.set(0, r.get(0).withMask(bool(c, "return_sequences") ? x.mask() : null));
                return r;
            case "Bidirectional": {
                boolean seq = bool(c.getAsJsonObject("layer").getAsJsonObject("config"), "return_sequences");
                boolean two = c.get("merge_mode").isJsonNull();
                for (int k = 0; k < (two ? 2 : 1); k++) {
                    r.set(k, r.get(k).withMask(seq ? x.mask() : null));
                }
                return r;
            }
            case "Add", "Concatenate": {
                boolean[] m = null;
                for (Arr a : in) {
                    if (a.mask() != null) {
                        if (m == null) {
                            m = a.mask().clone();
                        } else {
                            for (int i = 0; i < m.length; i++) {
                                m[i] &= a.mask()[i];
                            }
                        }
                    }
                }
                r.set(0, r.get(0).withMask(m));
                return r;
            }
            default:
                for (int k = 0; k < r.size(); k++) {
                    r.set(k, r.get(k).withMask(null));
                }
                return r;
        }
    }

    private List<Arr> layer(String cls, JsonObject c, List<Arr> w, List<Arr> in) {
        Arr x = in.get(0);
        switch (cls) {
            case "LSTM", "GRU", "SimpleRNN":
                return recurrent(cls, c, w, x, bool(c, "go_backwards"), bool(c, "zero_output_for_mask"), in.subList(1, in.size()));
            case "Masking": {
                // Keras: keep = any(x != mask_value, axis=-1); y = x * keep
                double v = c.has("mask_value") ? c.get("mask_value").getAsDouble() : 0.0;
                float mv = (float) v;
                int f = x.size(2);
                int steps = x.d().length / f;
                boolean[] m = new boolean[steps];
                Arr y = Arr.zeros(x.shape());
                for (int st = 0; st < steps; st++) {
                    for (int k = 0; k < f; k++) {
                        m[st] |= (float) x.d()[st * f + k] != mv;
                    }
                    for (int k = 0; k < f; k++) {
                        y.d()[st * f + k] = m[st] ? x.d()[st * f + k] : 0;
                    }
                }
                return List.of(y.withMask(m));
            }
            case "Bidirectional": {
                JsonObject inner = c.getAsJsonObject("layer");
                String ic = inner.get("class_name").getAsString();
                JsonObject icfg = inner.getAsJsonObject("config");
                int per = w.size() / 2;
                // Bidirectional sets zero_output_for_mask = return_sequences on both layers
                boolean zero = bool(icfg, "return_sequences");
                // initial_state: the forward layer's states, then the backward layer's
                List<Arr> st = in.subList(1, in.size());
                List<Arr> f = recurrent(ic, icfg, w.subList(0, per), x, false, zero, st.subList(0, st.size() / 2));
                List<Arr> b = recurrent(ic, icfg, w.subList(per, 2 * per), x, true, zero, st.subList(st.size() / 2, st.size()));
                Arr fo = f.get(0);
                Arr bo = b.get(0);
                if (bool(icfg, "return_sequences")) {
                    bo = reverseTime(bo);
                }
                String mode = c.get("merge_mode").isJsonNull() ? null : c.get("merge_mode").getAsString();
                List<Arr> out = new ArrayList<>();
                if (mode == null) {
                    out.add(fo);
                    out.add(bo);
                } else {
                    out.add(merge(mode, fo, bo));
                }
                out.addAll(f.subList(1, f.size()));
                out.addAll(b.subList(1, b.size()));
                return out;
            }
            case "Dense":
                return List.of(dense(c, w, x));
            case "TimeDistributed":
                return List.of(dense(c.getAsJsonObject("layer").getAsJsonObject("config"), w, x));
            case "Embedding": {
                Arr t = w.get(0);
                int dim = t.size(1);
                int[] s = Arrays.copyOf(x.shape(), x.shape().length + 1);
                s[s.length - 1] = dim;
                Arr y = Arr.zeros(s);
                for (int i = 0; i < x.d().length; i++) {
                    System.arraycopy(t.d(), (int) x.d()[i] * dim, y.d(), i * dim, dim);
                }
                return List.of(y);
            }
            case "BatchNormalization": {
                double eps = c.get("epsilon").getAsDouble();
                Arr g = w.get(0), b = w.get(1), m = w.get(2), v = w.get(3);
                int f = g.d().length;
                Arr y = Arr.zeros(x.shape());
                for (int i = 0; i < x.d().length; i++) {
                    int k = i % f;
                    y.d()[i] = g.d()[k] * (x.d()[i] - m.d()[k]) / Math.sqrt(v.d()[k] + eps) + b.d()[k];
                }
                return List.of(y);
            }
            case "Dropout", "SpatialDropout1D":
                return List.of(x);
            case "LayerNormalization": {
                // Keras: mean and variance over the last axis; (x - mean) / sqrt(variance + epsilon) * gamma + beta
                double eps = c.has("epsilon") ? c.get("epsilon").getAsDouble() : 1e-3;
                boolean scale = !c.has("scale") || c.get("scale").getAsBoolean();
                boolean center = !c.has("center") || c.get("center").getAsBoolean();
                int f = x.shape()[x.shape().length - 1];
                Arr y = Arr.zeros(x.shape());
                for (int r = 0; r < x.d().length / f; r++) {
                    double mean = 0;
                    for (int k = 0; k < f; k++) {
                        mean += x.d()[r * f + k];
                    }
                    mean /= f;
                    double var = 0;
                    for (int k = 0; k < f; k++) {
                        var += (x.d()[r * f + k] - mean) * (x.d()[r * f + k] - mean);
                    }
                    var /= f;
                    for (int k = 0; k < f; k++) {
                        double v = (x.d()[r * f + k] - mean) / Math.sqrt(var + eps);
                        y.d()[r * f + k] = v * (scale ? w.get(0).d()[k] : 1) + (center ? w.get(scale ? 1 : 0).d()[k] : 0);
                    }
                }
                return List.of(y);
            }
            case "Activation":
                return List.of(activate(c.get("activation").getAsString(), x));
            case "Flatten":
                return List.of(new Arr(new int[] {x.size(0), x.d().length / x.size(0)}, x.d()));
            case "Reshape": {
                var t = c.getAsJsonArray("target_shape");
                int[] s = new int[t.size() + 1];
                s[0] = x.size(0);
                for (int i = 0; i < t.size(); i++) {
                    s[i + 1] = t.get(i).getAsInt();
                }
                return List.of(new Arr(s, x.d()));
            }
            case "Permute": {
                // rank 3 only: dims [2, 1]
                int b = x.size(0), p = x.size(1), q = x.size(2);
                Arr y = Arr.zeros(b, q, p);
                for (int i = 0; i < b; i++) {
                    for (int j = 0; j < p; j++) {
                        for (int k = 0; k < q; k++) {
                            y.d()[(i * q + k) * p + j] = x.d()[(i * p + j) * q + k];
                        }
                    }
                }
                return List.of(y);
            }
            case "RepeatVector": {
                int n = c.get("n").getAsInt();
                int b = x.size(0), f = x.size(1);
                Arr y = Arr.zeros(b, n, f);
                for (int i = 0; i < b; i++) {
                    for (int t = 0; t < n; t++) {
                        System.arraycopy(x.d(), i * f, y.d(), (i * n + t) * f, f);
                    }
                }
                return List.of(y);
            }
            case "Add": {
                Arr y = Arr.zeros(x.shape());
                for (Arr a : in) {
                    for (int i = 0; i < y.d().length; i++) {
                        y.d()[i] += a.d()[i];
                    }
                }
                return List.of(y);
            }
            case "Concatenate": {
                // last axis
                int rows = x.d().length / x.shape()[x.shape().length - 1];
                int total = in.stream().mapToInt(a -> a.shape()[a.shape().length - 1]).sum();
                int[] s = x.shape().clone();
                s[s.length - 1] = total;
                Arr y = Arr.zeros(s);
                int off = 0;
                for (Arr a : in) {
                    int f = a.shape()[a.shape().length - 1];
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(a.d(), r * f, y.d(), r * total + off, f);
                    }
                    off += f;
                }
                return List.of(y);
            }
            default:
                throw new IllegalArgumentException("reference has no " + cls);
        }
    }

    private static boolean bool(JsonObject c, String k) {
        return c.has(k) && !c.get(k).isJsonNull() && c.get(k).getAsBoolean();
    }

    private static Arr merge(String mode, Arr a, Arr b) {
        if (mode.equals("concat")) {
            int f = a.shape()[a.shape().length - 1];
            int rows = a.d().length / f;
            int[] s = a.shape().clone();
            s[s.length - 1] = 2 * f;
            Arr y = Arr.zeros(s);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(a.d(), r * f, y.d(), r * 2 * f, f);
                System.arraycopy(b.d(), r * f, y.d(), r * 2 * f + f, f);
            }
            return y;
        }
        Arr y = Arr.zeros(a.shape());
        for (int i = 0; i < y.d().length; i++) {
            double p = a.d()[i], q = b.d()[i];
            y.d()[i] = switch (mode) {
                case "sum" -> p + q;
                case "mul" -> p * q;
                default -> (p + q) / 2;
            };
        }
        return y;
    }

    private static Arr reverseTime(Arr a) {
        int b = a.size(0), t = a.size(1), f = a.size(2);
        Arr y = Arr.zeros(a.shape());
        for (int i = 0; i < b; i++) {
            for (int s = 0; s < t; s++) {
                System.arraycopy(a.d(), (i * t + s) * f, y.d(), (i * t + (t - 1 - s)) * f, f);
            }
        }
        return y;
    }

    private Arr dense(JsonObject c, List<Arr> w, Arr x) {
        Arr k = w.get(0);
        int in = k.size(0), units = k.size(1);
        int rows = x.d().length / in;
        int[] s = x.shape().clone();
        s[s.length - 1] = units;
        Arr y = Arr.zeros(s);
        for (int r = 0; r < rows; r++) {
            for (int u = 0; u < units; u++) {
                double acc = w.size() > 1 ? w.get(1).d()[u] : 0;
                for (int i = 0; i < in; i++) {
                    acc += x.d()[r * in + i] * k.d()[i * units + u];
                }
                y.d()[r * units + u] = acc;
            }
        }
        return activate(c.get("activation").getAsString(), y);
    }

    private Arr activate(String a, Arr x) {
        if (a.equals("softmax")) {
            int f = x.shape()[x.shape().length - 1];
            Arr y = Arr.zeros(x.shape());
            for (int r = 0; r < x.d().length / f; r++) {
                double m = Double.NEGATIVE_INFINITY, sum = 0;
                for (int i = 0; i < f; i++) {
                    m = Math.max(m, x.d()[r * f + i]);
                }
                for (int i = 0; i < f; i++) {
                    sum += Math.exp(x.d()[r * f + i] - m);
                }
                for (int i = 0; i < f; i++) {
                    y.d()[r * f + i] = Math.exp(x.d()[r * f + i] - m) / sum;
                }
            }
            return y;
        }
        Arr y = Arr.zeros(x.shape());
        for (int i = 0; i < y.d().length; i++) {
            y.d()[i] = f(a, x.d()[i]);
        }
        return y;
    }

    double f(String a, double x) {
        return switch (a) {
            case "linear" -> x;
            case "tanh" -> Math.tanh(x);
            case "sigmoid" -> 1 / (1 + Math.exp(-x));
            case "relu" -> Math.max(0, x);
            // Keras 2: clip(0.2x + 0.5, 0, 1); Keras 3: relu6(x + 3) / 6
            case "hard_sigmoid" -> keras3 ? Math.min(Math.max(x + 3, 0), 6) / 6 : Math.max(0, Math.min(1, 0.2 * x + 0.5));
            default -> throw new IllegalArgumentException(a);
        };
    }

    /**
     * Keras' recurrent layers, step by step: outputs [output, states...]. With a mask on x (Keras's
     * backend rnn): a masked step leaves the states as they are and outputs the previous step's
     * output (zeros before the first), or zeros with zero_output_for_mask; the last output is the
     * last step's output.
     */
    private List<Arr> recurrent(String cls, JsonObject c, List<Arr> w, Arr x, boolean backwards, boolean zeroOutputForMask,
                                List<Arr> initialState) {
        String act = c.get("activation").getAsString();
        String rec = c.has("recurrent_activation") ? c.get("recurrent_activation").getAsString() : null;
        int units = c.get("units").getAsInt();
        boolean useBias = !c.has("use_bias") || c.get("use_bias").getAsBoolean();
        boolean resetAfter = cls.equals("GRU") && (c.has("reset_after") ? c.get("reset_after").getAsBoolean()
                : useBias && w.get(2).shape().length == 2);
        boolean seq = bool(c, "return_sequences");
        boolean state = bool(c, "return_state");
        Arr k = w.get(0), rk = w.get(1);
        Arr bias = useBias ? w.get(2) : null;
        int b = x.size(0), t = x.size(1), in = x.size(2), g = k.size(1);
        double[][] h = new double[b][units];
        double[][] cs = new double[b][units];
        // initial_state: h (and c), each [batch, units]
        for (int n = 0; n < b; n++) {
            for (int u = 0; u < units; u++) {
                h[n][u] = initialState.isEmpty() ? 0 : initialState.get(0).d()[n * units + u];
                cs[n][u] = initialState.size() < 2 ? 0 : initialState.get(1).d()[n * units + u];
            }
        }
        Arr ys = Arr.zeros(b, t, units);
        for (int step = 0; step < t; step++) {
            int ts = backwards ? t - 1 - step : step;
            for (int n = 0; n < b; n++) {
                if (x.mask() != null && !x.mask()[n * t + ts]) {
                    if (!zeroOutputForMask && step > 0) {
                        System.arraycopy(ys.d(), (n * t + step - 1) * units, ys.d(), (n * t + step) * units, units);
                    }
                    continue;
                }
                double[] mx = new double[g];
                double[] mh = new double[g];
                for (int j = 0; j < g; j++) {
                    double s = 0;
                    for (int i = 0; i < in; i++) {
                        s += x.d()[(n * t + ts) * in + i] * k.d()[i * g + j];
                    }
                    double r = 0;
                    for (int i = 0; i < units; i++) {
                        r += h[n][i] * rk.d()[i * g + j];
                    }
                    if (bias != null) {
                        if (resetAfter) {
                            s += bias.d()[j];
                            r += bias.d()[g + j];
                        } else {
                            s += bias.d()[j];
                        }
                    }
                    mx[j] = s;
                    mh[j] = r;
                }
                double[] hn = new double[units];
                for (int u = 0; u < units; u++) {
                    switch (cls) {
                        case "LSTM" -> {
                            double ig = f(rec, mx[u] + mh[u]);
                            double fg = f(rec, mx[units + u] + mh[units + u]);
                            double cc = f(act, mx[2 * units + u] + mh[2 * units + u]);
                            double og = f(rec, mx[3 * units + u] + mh[3 * units + u]);
                            cs[n][u] = fg * cs[n][u] + ig * cc;
                            hn[u] = og * f(act, cs[n][u]);
                        }
                        case "GRU" -> {
                            double z = f(rec, mx[u] + mh[u]);
                            double r = f(rec, mx[units + u] + mh[units + u]);
                            double hh;
                            if (resetAfter) {
                                hh = f(act, mx[2 * units + u] + r * mh[2 * units + u]);
                            } else {
                                // (r * h) . rk_h; r of every unit is needed, so computed below
                                hh = Double.NaN;
                            }
                            hn[u] = hh;
                            mh[u] = z; // keep z
                        }
                        default -> hn[u] = f(act, mx[u] + mh[u]);
                    }
                }
                if (cls.equals("GRU")) {
                    double[] r = new double[units];
                    for (int u = 0; u < units; u++) {
                        r[u] = f(rec, mx[units + u] + (resetAfter ? mhR(h[n], rk, bias, g, units, u, true) : mhR(h[n], rk, null, g, units, u, false)));
                    }
                    for (int u = 0; u < units; u++) {
                        double z = mh[u];
                        double hh = hn[u];
                        if (!resetAfter) {
                            double s = 0;
                            for (int i = 0; i < units; i++) {
                                s += r[i] * h[n][i] * rk.d()[i * g + 2 * units + u];
                            }
                            hh = f(act, mx[2 * units + u] + s);
                        }
                        hn[u] = z * h[n][u] + (1 - z) * hh;
                    }
                }
                h[n] = hn;
                System.arraycopy(hn, 0, ys.d(), (n * t + step) * units, units);
            }
        }
        Arr last = Arr.zeros(b, units);
        Arr cl = Arr.zeros(b, units);
        for (int n = 0; n < b; n++) {
            System.arraycopy(h[n], 0, last.d(), n * units, units);
            System.arraycopy(cs[n], 0, cl.d(), n * units, units);
        }
        Arr lastOut = Arr.zeros(b, units);
        for (int n = 0; n < b; n++) {
            System.arraycopy(ys.d(), (n * t + t - 1) * units, lastOut.d(), n * units, units);
        }
        List<Arr> out = new ArrayList<>();
        out.add(seq ? ys : lastOut);
        if (state) {
            out.add(last);
            if (cls.equals("LSTM")) {
                out.add(cl);
            }
        }
        return out;
    }

    /** The recurrent pre-activation of GRU's reset gate for unit u (h . rk_r, plus the recurrent bias when reset_after). */
    private static double mhR(double[] h, Arr rk, Arr bias, int g, int units, int u, boolean withBias) {
        double s = 0;
        for (int i = 0; i < units; i++) {
            s += h[i] * rk.d()[i * g + units + u];
        }
        return withBias && bias != null ? s + bias.d()[g + units + u] : s;
    }
}
