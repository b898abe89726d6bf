package io.lstmx.importers.keras;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Keras LSTM, GRU and SimpleRNN as one IR layer (Layout.BATCH_MAJOR, or TIME_MAJOR for Keras 2's
 * {@code time_major=True}):
 * <ul>
 *   <li>kernel [I, G*H] and recurrent_kernel [H, G*H] are transposed to the IR's [G*H, I] and
 *       [G*H, H], gates brought from Keras' order (LSTM i, f, c, o; GRU z, r, h) by {@link GateOrder};</li>
 *   <li>the bias: LSTM and SimpleRNN [G*H] as the input bias (the recurrent one zero); GRU with
 *       {@code reset_after=True} [2, 3H], row 0 the input bias and row 1 the recurrent bias, the
 *       reset gate applied after the recurrent product (the IR's linearBeforeReset, as PyTorch and
 *       ONNX's linear_before_reset=1); GRU with {@code reset_after=False} [3H] as the input bias, the
 *       reset gate applied to h before the product (a config without reset_after, from Keras
 *       before 2.1, is told by the bias's shape);</li>
 *   <li>activations: LSTM f = recurrent_activation, g = h = activation; GRU f = recurrent_activation,
 *       g = activation; SimpleRNN activation. {@code unit_forget_bias} only initialises the bias
 *       (nothing at inference); dropout and recurrent_dropout are the identity at inference;</li>
 *   <li>outputs: the last h [B, H], or with {@code return_sequences} every h [B, T, H]; with
 *       {@code return_state} then h and (LSTM) c. {@code go_backwards} runs the IR's REVERSE
 *       direction, whose sequence output is aligned with the input, so it is flipped along time to
 *       Keras' order (Keras returns the steps in the order they were computed);</li>
 *   <li>{@code stateful=True} is converted as stateless (each run starts from zero states, as the
 *       Keras layer after reset_states()), with a note;</li>
 *   <li>an input that carries a mask (Embedding mask_zero=True, Masking) is the IR layer's
 *       per-step mask: a masked step keeps the states and outputs the previous output (zeros
 *       before the first), or zeros with {@code zero_output_for_mask=True} (Keras 3 configs say
 *       it; Bidirectional sets it to return_sequences). The returned sequence carries the same
 *       mask on (not reversed for go_backwards, as in Keras); the last output, outputs[-1] in
 *       Keras, is the carried h, except with zero_output_for_mask, where it is the last step
 *       computed of the sequence, zero when that step is masked.</li>
 * </ul>
 */
final class RecurrentLayer implements LayerConverter {
    enum Kind {
        LSTM(4), GRU(3), SIMPLE_RNN(1);

        final int gates;

        Kind(int gates) {
            this.gates = gates;
        }

        static Kind of(String cls) {
            return switch (cls) {
                case "LSTM", "CuDNNLSTM" -> LSTM;
                case "GRU", "CuDNNGRU" -> GRU;
                default -> SIMPLE_RNN;
            };
        }
    }

    /** One direction's settings and weights, as read from a layer config. */
    record Cell(Kind kind, int units, boolean useBias, boolean resetAfter, List<ActivationFn> activations, boolean returnSequences,
                boolean returnState, boolean goBackwards, boolean timeMajor, boolean resetAfterGiven, boolean zeroOutputForMask) {
        /**
         * A GRU config without reset_after (Keras before 2.1 had no such option and computed
         * reset_after=False; later versions always write it): the bias's shape tells, [2, 3H] or [3H].
         */
        Cell resolved(List<WeightSource.Var> vars) {
            if (kind != Kind.GRU || resetAfterGiven || !useBias || vars.size() < 3) {
                return this;
            }
            boolean after = vars.get(2).shape().length == 2;
            return new Cell(kind, units, useBias, after, activations, returnSequences, returnState, goBackwards, timeMajor, true,
                    zeroOutputForMask);
        }
    }

    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        KValue x = single(g, l, inputs);
        Cell cell = cell(g, l);
        int in = inputSize(g, l, x);
        List<WeightSource.Var> vars = g.weights(l, names(cell));
        cell = cell.resolved(vars);
        Object w = weights(g, l, cell, in, vars);
        Direction dir = cell.goBackwards() ? Direction.REVERSE : Direction.FORWARD;
        String[] states = initialStates(g, l, cell, inputs, 1);
        Emitted e = emit(g, l, l.name(), x, cell, in, dir, List.of(w), cell.activations(), cell.zeroOutputForMask(), states);
        List<KValue> outs = new ArrayList<>();
        String base = l.name();
        if (x.mask() != null && (cell.zeroOutputForMask() || states[0] != null) && !cell.returnSequences()) {
            // Keras's last output is outputs[-1]: zeros when that step is masked (zero_output_for_mask), and zeros for a row
            // with every step masked (its initial state is not an output): the last step computed of Y
            String last = g.value(base + "/last_step");
            int timeAxis = cell.timeMajor() ? 0 : 1;
            g.add(new Layer.Select(g.layerName(base + ".last_step"), e.y, last, timeAxis, cell.goBackwards() ? 0 : -1));
            String out = squeeze(g, base + ".squeeze_last_step", last, cell.timeMajor() ? 0 : 1, g.value(base));
            outs.add(new KValue(out, new long[] {batch(x, cell.timeMajor()), cell.units()}, x.dtype(), null));
        }
        if (cell.returnSequences()) {
            String seq = squeeze(g, base + ".squeeze_directions", e.y, cell.timeMajor() ? 1 : 2, g.value(base));
            if (cell.goBackwards()) {
                String rev = g.value(base + "/reversed");
                g.add(new Layer.Slice(g.layerName(base + ".reverse_time"), seq, rev, cell.timeMajor() ? 0 : 1, -1, Long.MIN_VALUE, -1));
                seq = rev;
            }
            outs.add(seqValue(x, seq, cell.units()));
        }
        String h = squeeze(g, base + ".squeeze_h", e.yh, cell.timeMajor() ? 0 : 1, g.value(outs.isEmpty() ? base : base + "/h"));
        KValue hv = new KValue(h, new long[] {batch(x, cell.timeMajor()), cell.units()}, x.dtype(), null);
        if (outs.isEmpty()) {
            outs.add(hv);
        }
        if (cell.returnState()) {
            outs.add(hv);
            if (e.yc != null) {
                String c = squeeze(g, base + ".squeeze_c", e.yc, cell.timeMajor() ? 0 : 1, g.value(base + "/c"));
                outs.add(hv.withName(c));
            }
        }
        return outs;
    }

    /** The sequence a recurrent layer reads (its initial states, if any, follow it). */
    static KValue single(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        if (inputs.isEmpty()) {
            throw g.bad(l, "is called on no tensor");
        }
        KValue x = inputs.get(0);
        if (x.mask() != null) {
            g.masksRead.add(x.mask());
        }
        return x;
    }

    static long batch(KValue x, boolean timeMajor) {
        return x.shape()[timeMajor ? 1 : 0];
    }

    /** The returned sequence: Keras carries the input's mask on to it. */
    private static KValue seqValue(KValue x, String name, long width) {
        long[] s = x.shape();
        return new KValue(name, new long[] {s[0], s[1], width}, x.dtype(), x.mask());
    }

    static int inputSize(KerasGraph g, KerasConfig.LayerSpec l, KValue x) {
        if (x.rank() != 3) {
            throw g.bad(l, "input has shape " + x.shapeText() + "; a recurrent layer takes [batch, time, features]");
        }
        if (x.last() < 1) {
            throw g.unsupported(l, "input has shape " + x.shapeText() + " with an unknown feature size");
        }
        if (x.last() > 1 << 24) {
            throw g.bad(l, "input feature size " + x.last() + " is too large");
        }
        return (int) x.last();
    }

    /** Reads a recurrent layer's config (the layer itself, or the one a Bidirectional wraps). */
    static Cell cell(KerasGraph g, KerasConfig.LayerSpec l) {
        String w = g.where(l);
        Kind kind = Kind.of(l.className());
        int units = g.size(l, "units");
        if (Json.bool(l.config(), "stateful", false, w)) {
            g.notes.add("layer '" + l.name() + "' is stateful: converted as stateless (each run starts from zero states,"
                    + " as the Keras layer after reset_states())");
        }
        boolean timeMajor = Json.bool(l.config(), "time_major", false, w);
        boolean resetAfter = kind == Kind.GRU && Json.bool(l.config(), "reset_after", true, w);
        if (l.className().startsWith("CuDNN")) {
            resetAfter = true;
        }
        List<ActivationFn> acts = new ArrayList<>();
        ActivationFn act = l.className().startsWith("CuDNN") ? ActivationFn.TANH : g.activation(l, "activation", "tanh");
        ActivationFn rec = kind == Kind.SIMPLE_RNN ? null
                : l.className().startsWith("CuDNN") ? ActivationFn.SIGMOID : g.activation(l, "recurrent_activation", "sigmoid");
        if (act == null || (kind != Kind.SIMPLE_RNN && rec == null)) {
            throw g.unsupported(l, "softmax as a recurrent activation is not supported");
        }
        switch (kind) {
            case LSTM -> acts.addAll(List.of(rec, act, act));
            case GRU -> acts.addAll(List.of(rec, act));
            default -> acts.add(act);
        }
        return new Cell(kind, units, Json.bool(l.config(), "use_bias", true, w), resetAfter, acts,
                Json.bool(l.config(), "return_sequences", false, w), Json.bool(l.config(), "return_state", false, w),
                Json.bool(l.config(), "go_backwards", false, w), timeMajor, kind != Kind.GRU || l.config().has("reset_after"),
                Json.bool(l.config(), "zero_output_for_mask", false, w));
    }

    static List<String> names(Cell c) {
        return c.useBias() ? List.of("kernel", "recurrent_kernel", "bias") : List.of("kernel", "recurrent_kernel");
    }

    /** One direction's IR weights (LstmWeights or RecurrentWeights) from vars[from..]. */
    static Object weights(KerasGraph g, KerasConfig.LayerSpec l, Cell c, int in, List<WeightSource.Var> vars) {
        int gh = c.kind().gates * c.units();
        Tensor k = g.tensor(l, "kernel", vars.get(0), in, gh);
        Tensor rk = g.tensor(l, "recurrent_kernel", vars.get(1), c.units(), gh);
        Tensor wb;
        Tensor rb;
        if (!c.useBias()) {
            wb = Tensor.zeros(gh);
            rb = Tensor.zeros(gh);
        } else if (c.resetAfter()) {
            Tensor b = g.tensor(l, "bias", vars.get(2), 2, gh);
            float[] a = b.toFloatArray();
            wb = Tensor.ofFloats(new int[] {gh}, java.util.Arrays.copyOfRange(a, 0, gh));
            rb = Tensor.ofFloats(new int[] {gh}, java.util.Arrays.copyOfRange(a, gh, 2 * gh));
        } else {
            wb = g.tensor(l, "bias", vars.get(2), gh);
            rb = Tensor.zeros(gh);
        }
        Tensor w = KerasGraph.transpose(k);
        Tensor r = KerasGraph.transpose(rk);
        return switch (c.kind()) {
            case LSTM -> new LstmWeights(GateOrder.KERAS.toCanonical(w, 0), GateOrder.KERAS.toCanonical(r, 0),
                    GateOrder.KERAS.toCanonical(wb, 0), rb, null, null);
            case GRU -> new RecurrentWeights(GateOrder.Gru.KERAS.toCanonical(w, 0), GateOrder.Gru.KERAS.toCanonical(r, 0),
                    GateOrder.Gru.KERAS.toCanonical(wb, 0), GateOrder.Gru.KERAS.toCanonical(rb, 0));
            default -> new RecurrentWeights(w, r, wb, rb);
        };
    }

    /**
     * The IR initial states {h, c} ([B, D, H], or [D, B, H] time-major; null when none) of a call
     * with {@code initial_state}: Keras's tensors after the sequence, h (and c for an LSTM) of each
     * direction in turn, each [batch, units], stacked on the direction axis.
     */
    static String[] initialStates(KerasGraph g, KerasConfig.LayerSpec l, Cell c, List<KValue> inputs, int dirs) {
        List<KValue> given = inputs.subList(1, inputs.size());
        if (given.isEmpty()) {
            return new String[] {null, null};
        }
        int per = c.kind() == Kind.LSTM ? 2 : 1;
        if (given.size() != per * dirs) {
            throw g.bad(l, "is called with " + given.size() + " initial state tensor(s); " + (dirs == 2 ? "a Bidirectional " : "a ")
                    + c.kind() + " takes " + per * dirs + " (" + (per == 2 ? "h and c" : "h") + (dirs == 2 ? " of each direction)" : ")"));
        }
        int axis = c.timeMajor() ? 0 : 1;
        String[] out = new String[2];
        for (int k = 0; k < per; k++) {
            List<String> parts = new ArrayList<>();
            for (int d = 0; d < dirs; d++) {
                KValue s = given.get(d * per + k);
                long batch = batch(inputs.get(0), c.timeMajor());
                if (s.rank() != 2 || (s.last() >= 0 && s.last() != c.units()) || (s.shape()[0] >= 0 && batch >= 0 && s.shape()[0] != batch)) {
                    throw g.bad(l, "initial state " + s.shapeText() + " is not [batch, " + c.units() + "]");
                }
                if (!s.dtype().isFloating()) {
                    throw g.bad(l, "initial state '" + s.name() + "' is " + s.dtype() + ", expected floats");
                }
                String u = g.value(l.name() + (k == 0 ? "/initial_h" : "/initial_c") + (dirs == 2 ? d : ""));
                g.add(new Layer.Unsqueeze(g.layerName(l.name() + (k == 0 ? ".initial_h" : ".initial_c") + (dirs == 2 ? d : "")), s.name(), u,
                        List.of(axis)));
                parts.add(u);
            }
            if (parts.size() == 1) {
                out[k] = parts.get(0);
            } else {
                out[k] = g.value(l.name() + (k == 0 ? "/initial_h" : "/initial_c"));
                g.add(new Layer.Concat(g.layerName(l.name() + (k == 0 ? ".initial_h" : ".initial_c")), parts, out[k], axis));
            }
        }
        return out;
    }

    /** The IR layer's outputs: Y, Y_h and (LSTM) Y_c. */
    record Emitted(String y, String yh, String yc) {
    }

    @SuppressWarnings("unchecked")
    static Emitted emit(KerasGraph g, KerasConfig.LayerSpec l, String base, KValue x, Cell c, int in, Direction dir, List<Object> ws,
                        List<ActivationFn> acts, boolean zeroMasked, String[] states) {
        Layout layout = c.timeMajor() ? Layout.TIME_MAJOR : Layout.BATCH_MAJOR;
        String name = g.layerName(base);
        String y = g.value(base + "/Y");
        String yh = g.value(base + "/Y_h");
        String yc = c.kind() == Kind.LSTM ? g.value(base + "/Y_c") : null;
        RecurrentPorts ports = new RecurrentPorts(x.name(), null, states[0], c.kind() == Kind.LSTM ? states[1] : null, y, yh, yc)
                .withMask(x.mask(), zeroMasked);
        switch (c.kind()) {
            case LSTM -> g.add(new Layer.Lstm(name, ports, new LstmSpec(in, c.units(), 0, dir, layout, null, false, acts),
                    (List<LstmWeights>) (List<?>) ws, GateOrder.KERAS));
            case GRU -> g.add(new Layer.Gru(name, ports, new RecurrentSpec(in, c.units(), dir, layout, null, c.resetAfter(), acts),
                    (List<RecurrentWeights>) (List<?>) ws, GateOrder.Gru.KERAS));
            default -> g.add(new Layer.Rnn(name, ports, new RecurrentSpec(in, c.units(), dir, layout, null, false, acts),
                    (List<RecurrentWeights>) (List<?>) ws));
        }
        return new Emitted(y, yh, yc);
    }

    static String squeeze(KerasGraph g, String layerBase, String in, int axis, String out) {
        g.add(new Layer.Squeeze(g.layerName(layerBase), in, out, List.of(axis)));
        return out;
    }
}
