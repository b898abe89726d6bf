package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;
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
import java.util.Arrays;
import java.util.List;

/**
 * PyTorch's recurrent operators as IR layers: {@code aten::lstm / gru / rnn_tanh / rnn_relu}
 * (what nn.LSTM, nn.GRU and nn.RNN call) become one IR layer per stacked layer, with PyTorch's
 * tensors around them: the output sequence [T, B, D*H] (or [B, T, D*H] with batch_first), the
 * directions side by side, and the last states [L*D, B, H] whatever the layout. Weights come in
 * PyTorch's flat list order (per layer, per direction: w_ih, w_hh, then b_ih, b_hh when there are
 * biases, then w_hr for a projected LSTM) and its gate order, brought to the IR's by
 * {@link GateOrder}.
 */
final class TorchRecurrent {
    /** The operator family. */
    enum Kind {
        LSTM(4, "lstm"), GRU(3, "gru"), RNN_TANH(1, "rnn_tanh"), RNN_RELU(1, "rnn_relu");

        final int gates;
        final String op;

        Kind(int gates, String op) {
            this.gates = gates;
            this.op = op;
        }
    }

    /** Emits layers and names values; implemented by the interpreter. */
    interface Graph {
        String value(String base);

        String layerName(String base);

        void add(Layer l);
    }

    /**
     * The values written: the output sequence, the stacked last h and (LSTM) c, each may be unused
     * later; and the widths the weights gave: {@code hidden} (H, of c) and {@code width} (of h and of
     * each direction's part of y: the projection's rows for a projected LSTM, else H).
     */
    record Outputs(String y, String h, String c, int hidden, int width) {
    }

    private TorchRecurrent() {
    }

    /**
     * Emits the stack.
     *
     * @param base       name of the layers (the module's path)
     * @param input      the sequence value
     * @param h0         initial h [L*D, B, out] or null for zeros
     * @param c0         initial c [L*D, B, H] (LSTM) or null
     * @param params     the flat weight list
     * @param inputSize  the input's feature size
     */
    static Outputs emit(Graph g, Kind kind, String base, String input, String h0, String c0, List<Tensor> params, boolean hasBiases,
                        int layers, boolean bidirectional, boolean batchFirst, int inputSize, String where) {
        int dirs = bidirectional ? 2 : 1;
        int perSet = params.size() / Math.max(1, layers * dirs);
        if (layers < 1 || layers > 10_000 || perSet * layers * dirs != params.size()) {
            throw bad(where, kind.op + " with " + layers + " layer(s)" + (bidirectional ? ", bidirectional," : "") + " and " + params.size()
                    + " weights (not a whole number of weight sets)");
        }
        int plain = hasBiases ? 4 : 2;
        boolean proj = perSet == plain + 1 && kind == Kind.LSTM;
        if (perSet != plain && !proj) {
            throw bad(where, kind.op + " weight sets of " + perSet + " tensors; " + (hasBiases ? "w_ih, w_hh, b_ih, b_hh" : "w_ih, w_hh")
                    + (kind == Kind.LSTM ? " (and w_hr)" : "") + " expected");
        }
        Tensor hh0 = params.get(1);
        if (hh0.rank() != 2) {
            throw bad(where, kind.op + " w_hh is " + Arrays.toString(hh0.shape()) + ", not a matrix");
        }
        int hidden = proj ? params.get(perSet - 1).dim(1) : hh0.dim(1);
        int out = proj ? params.get(perSet - 1).dim(0) : hidden;
        int rows = kind.gates * hidden;
        Direction direction = bidirectional ? Direction.BIDIRECTIONAL : Direction.FORWARD;
        Layout layout = batchFirst ? Layout.BATCH_MAJOR : Layout.TIME_MAJOR;
        List<String> hs = new ArrayList<>();
        List<String> cs = new ArrayList<>();
        String cur = input;
        int in = inputSize;
        for (int k = 0; k < layers; k++) {
            String name = g.layerName(layers == 1 ? base : base + ".l" + k);
            String y = g.value(name + "/Y");
            String yh = g.value(name + "/Y_h");
            String yc = kind == Kind.LSTM ? g.value(name + "/Y_c") : null;
            String ih = state(g, name, h0, k, dirs, layers, batchFirst, "h0");
            String ic = kind == Kind.LSTM ? state(g, name, c0, k, dirs, layers, batchFirst, "c0") : null;
            RecurrentPorts ports = new RecurrentPorts(cur, null, ih, ic, y, yh, yc);
            List<LstmWeights> lw = new ArrayList<>();
            List<RecurrentWeights> rw = new ArrayList<>();
            List<ActivationFn> acts = new ArrayList<>();
            for (int d = 0; d < dirs; d++) {
                int at = (k * dirs + d) * perSet;
                String set = "layer " + k + (d == 1 ? " (reverse)" : "");
                Tensor w = check(params.get(at), where, set + " w_ih", rows, in);
                Tensor r = check(params.get(at + 1), where, set + " w_hh", rows, out);
                Tensor wb = hasBiases ? check(params.get(at + 2), where, set + " b_ih", rows) : Tensor.zeros(rows);
                Tensor rb = hasBiases ? check(params.get(at + 3), where, set + " b_hh", rows) : Tensor.zeros(rows);
                switch (kind) {
                    case LSTM -> {
                        Tensor p = proj ? check(params.get(at + perSet - 1), where, set + " w_hr", out, hidden) : null;
                        lw.add(new LstmWeights(GateOrder.PYTORCH.toCanonical(w, 0), GateOrder.PYTORCH.toCanonical(r, 0),
                                GateOrder.PYTORCH.toCanonical(wb, 0), GateOrder.PYTORCH.toCanonical(rb, 0), null, p));
                        acts.addAll(LstmSpec.DEFAULT_ACTIVATIONS);
                    }
                    case GRU -> {
                        GateOrder.Gru go = GateOrder.Gru.PYTORCH;
                        rw.add(new RecurrentWeights(go.toCanonical(w, 0), go.toCanonical(r, 0), go.toCanonical(wb, 0), go.toCanonical(rb, 0)));
                        acts.add(ActivationFn.SIGMOID);
                        acts.add(ActivationFn.TANH);
                    }
                    default -> {
                        rw.add(new RecurrentWeights(w, r, wb, rb));
                        acts.add(kind == Kind.RNN_RELU ? ActivationFn.RELU : ActivationFn.TANH);
                    }
                }
            }
            switch (kind) {
                case LSTM -> g.add(new Layer.Lstm(name, ports, new LstmSpec(in, hidden, proj ? out : 0, direction, layout, null, false, acts),
                        lw, GateOrder.PYTORCH));
                // PyTorch applies the reset gate to the recurrent product: ONNX's linear_before_reset.
                case GRU -> g.add(new Layer.Gru(name, ports, new RecurrentSpec(in, hidden, direction, layout, null, true, acts), rw,
                        GateOrder.Gru.PYTORCH));
                default -> g.add(new Layer.Rnn(name, ports, new RecurrentSpec(in, hidden, direction, layout, null, false, acts), rw));
            }
            cur = sequence(g, name, y, dirs, batchFirst, null);
            hs.add(layerMajor(g, name, yh, batchFirst, null));
            if (yc != null) {
                cs.add(layerMajor(g, name, yc, batchFirst, null));
            }
            in = dirs * out;
        }
        String h = stack(g, base + ".h_n", hs);
        String c = cs.isEmpty() ? null : stack(g, base + ".c_n", cs);
        return new Outputs(cur, h, c, hidden, out);
    }

    /** Layer k's slice of an initial state [L*D, B, W], as the IR layer wants it ([D, B, W], or [B, D, W] batch-major). */
    private static String state(Graph g, String name, String s, int k, int dirs, int layers, boolean batchFirst, String what) {
        if (s == null) {
            return null;
        }
        String cur = s;
        if (layers > 1) {
            String sl = g.value(name + "/" + what);
            g.add(new Layer.Slice(g.layerName(name + "." + what), cur, sl, 0, (long) k * dirs, (long) (k + 1) * dirs, 1));
            cur = sl;
        }
        if (batchFirst) {
            String t = g.value(name + "/" + what + "_bdh");
            g.add(new Layer.Transpose(g.layerName(name + "." + what + "_transpose"), cur, t, List.of(1, 0, 2)));
            cur = t;
        }
        return cur;
    }

    /**
     * Y ([T, D, B, H], or [B, T, D, H] batch-major) as PyTorch's output: directions side by side on
     * the last axis, written to {@code target} (a fresh name when null).
     */
    static String sequence(Graph g, String name, String y, int dirs, boolean batchFirst, String target) {
        String out = target != null ? target : g.value(name + "/out");
        if (dirs == 1) {
            g.add(new Layer.Squeeze(g.layerName(name + ".squeeze"), y, out, List.of(batchFirst ? 2 : 1)));
            return out;
        }
        String from = y;
        if (!batchFirst) {
            from = g.value(name + "/Y_tbdh");
            g.add(new Layer.Transpose(g.layerName(name + ".transpose"), y, from, List.of(0, 2, 1, 3)));
        }
        g.add(new Layer.Reshape(g.layerName(name + ".concat_directions"), from, out, List.of(0L, 0L, -1L)));
        return out;
    }

    /** A last state as [D, B, H] (batch-major layers give [B, D, H]), written to {@code target} (a fresh name when null). */
    static String layerMajor(Graph g, String name, String state, boolean batchFirst, String target) {
        if (!batchFirst) {
            return state;
        }
        String out = target != null ? target : g.value(state + "_dbh");
        g.add(new Layer.Transpose(g.layerName(name + ".state_transpose"), state, out, List.of(1, 0, 2)));
        return out;
    }

    private static String stack(Graph g, String name, List<String> states) {
        if (states.size() == 1) {
            return states.get(0);
        }
        String out = g.value(name);
        g.add(new Layer.Concat(g.layerName(name), states, out, 0));
        return out;
    }

    private static Tensor check(Tensor t, String where, String what, int... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw bad(where, what + " is " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
        }
        if (!t.dtype().isFloating()) {
            throw bad(where, what + " holds " + t.dtype() + " values, not floating-point weights");
        }
        return t;
    }

    private static LstmxException bad(String where, String what) {
        return LstmxException.badInput(where + ": " + what);
    }
}
