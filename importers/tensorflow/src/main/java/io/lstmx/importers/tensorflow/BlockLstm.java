package io.lstmx.importers.tensorflow;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Tensor;

import java.util.List;

/**
 * TensorFlow's fused LSTM ops BlockLSTM and BlockLSTMV2 (inputs seq_len_max, x [T, B, I],
 * cs_prev [B, H], h_prev [B, H], w [I + H, 4H] on concat(x, h), wci, wcf, wco [H] peepholes, b [4H])
 * as one IR LSTM layer. BlockLSTM's gates are i, c, f, o ({@link GateOrder#TF_BLOCK}) with
 * {@code forget_bias} added to f and {@code cell_clip} (default 3; none when &le; 0) clipping the
 * cell state; BlockLSTMV2's are i, f, c, o (Keras's order) with neither forget bias nor, by
 * default, a clip. Outputs i, cs, f, o, ci, co, h: only h (every step) and the cell state of the
 * last step are in the IR; the other gate sequences are refused where read.
 */
final class BlockLstm {
    private BlockLstm() {
    }

    /** Spec, canonical weights and source gate order of a BlockLSTM/LSTMBlockCell; its w, wci, wcf, wco, b are inputs wi..wi+4. */
    record Parts(LstmSpec spec, LstmWeights weights, GateOrder order) {
    }

    static Parts parts(TfNode n, boolean v2, int wi, Direction dir) {
        Tensor w = n.constant(wi, "the weights w");
        Tensor b = n.constant(wi + 4, "the bias b");
        if (w.rank() != 2 || b.rank() != 1 || b.dim(0) % 4 != 0 || w.dim(1) != b.dim(0) || w.dim(0) <= b.dim(0) / 4) {
            throw n.bad("weights " + java.util.Arrays.toString(w.shape()) + " and bias " + java.util.Arrays.toString(b.shape())
                    + " are not [I + H, 4H] and [4H]");
        }
        int h = b.dim(0) / 4;
        int in = w.dim(0) - h;
        GateOrder order = v2 ? GateOrder.KERAS : GateOrder.TF_BLOCK;
        Tensor wt = Fold.transpose(w, new int[] {1, 0}, n); // [4H, I + H]
        Tensor wx = Fold.slice(wt, 1, 0, in, 1, n);
        Tensor wh = Fold.slice(wt, 1, in, in + h, 1, n);
        boolean peephole = n.attrBool("use_peephole", false);
        Tensor p = null;
        if (peephole) {
            Tensor ci = n.constant(wi + 1, "wci");
            Tensor cf = n.constant(wi + 2, "wcf");
            Tensor co = n.constant(wi + 3, "wco");
            for (Tensor t : List.of(ci, cf, co)) {
                if (t.rank() != 1 || t.dim(0) != h) {
                    throw n.bad("peephole weights " + java.util.Arrays.toString(t.shape()) + " are not [" + h + "]");
                }
            }
            p = Fold.concat(List.of(ci, cf, co), 0, n);
        }
        float forgetBias = v2 ? 0f : n.attrFloat("forget_bias", 1f);
        float clip = n.attrFloat("cell_clip", v2 ? 0f : 3f);
        LstmSpec spec = LstmSpec.standard(in, h, dir, Layout.TIME_MAJOR).withForgetBias(forgetBias).withCellClip(clip > 0 ? clip : null);
        LstmWeights lw = new LstmWeights(order.toCanonical(wx, 0), order.toCanonical(wh, 0), order.toCanonical(b, 0),
                Tensor.zeros(4 * h), p, null);
        return new Parts(spec, lw, order);
    }

    static Object[] convert(TfNode n, boolean v2) {
        n.needInputs(9);
        boolean reversed = n.input(1) instanceof TfSymbolic.Reversed rv && rv.last() == null;
        Value x = reversed ? ((TfSymbolic.Reversed) n.input(1)).inner() : n.value(1);
        // inputs: 0 seq_len_max, 1 x, 2 cs_prev, 3 h_prev, 4 w, 5 wci, 6 wcf, 7 wco, 8 b
        Parts parts = parts(n, v2, 4, reversed ? Direction.REVERSE : Direction.FORWARD);
        LstmSpec spec = parts.spec();
        LstmWeights lw = parts.weights();
        GateOrder order = parts.order();
        int h = spec.hiddenSize();
        String xs = n.in.materialize(x, n);
        String c0 = KerasRecurrent.initial(n.input(2), n, Layout.TIME_MAJOR, "cs_prev");
        String h0 = KerasRecurrent.initial(n.input(3), n, Layout.TIME_MAJOR, "h_prev");
        String y = n.in.names.fresh(n.name() + "/Y");
        String yh = n.in.names.fresh(n.name() + "/Y_h");
        String yc = n.in.names.fresh(n.name() + "/Y_c");
        n.add(new Layer.Lstm(n.name(), new RecurrentPorts(xs, null, h0, c0, y, yh, yc), spec, List.of(lw), order));
        List<SDim> xsShape = Value.shapeOf(x);
        SDim time = xsShape != null && xsShape.size() == 3 ? xsShape.get(0) : n.freshDim();
        SDim batch = xsShape != null && xsShape.size() == 3 ? xsShape.get(1) : n.freshDim();
        String hs = KerasRecurrent.squeeze(n, y, 1, n.name() + "/h");
        Object[] out = new Object[7];
        String[] names = {"i", "cs", "f", "o", "ci", "co", "h"};
        for (int k = 0; k < 7; k++) {
            out[k] = new KerasRecurrent.Unavailable("BlockLSTM output '" + names[k] + "' (lstmx gives h of every step and the cell state"
                    + " of the last step only)");
        }
        Value.Run seq = new Value.Run(hs, DType.FLOAT32, List.of(time, batch, SDim.known(h)));
        Value.Run lastH = new Value.Run(KerasRecurrent.squeeze(n, yh, 0, n.name() + "/h_last"), DType.FLOAT32, List.of(batch, SDim.known(h)));
        Value.Run lastC = new Value.Run(KerasRecurrent.squeeze(n, yc, 0, n.name() + "/c_last"), DType.FLOAT32, List.of(batch, SDim.known(h)));
        // h of every step (in the order the op ran them: reversed for a reversed input), and the cell state of the last step
        if (reversed) {
            out[6] = new TfSymbolic.Reversed(seq, lastH);
        } else {
            n.in.lastSteps.put(hs, lastH);
            out[6] = seq;
        }
        out[1] = new TfSymbolic.LastOnly(lastC, time, "BlockLSTM output 'cs'");
        return out;
    }

    /**
     * LSTMBlockCell: ONE step of BlockLSTM's cell (inputs x [B, I], cs_prev, h_prev [B, H], w, wci, wcf,
     * wco, b; the same gates i, c, f, o, forget_bias, cell_clip and peepholes), as an IR LSTM layer
     * over a sequence of one step: x unsqueezed to [1, B, I], outputs Y_h and Y_c squeezed back to
     * h and cs [B, H]. A chain of them over every step of a sequence, sharing weights, is folded into
     * one layer afterwards ({@link TfUnrolled}); one in a While loop body is the loop's cell
     * ({@link TfWhile}). The gate outputs i, f, o, ci, co are refused where read.
     */
    static Object[] cell(TfNode n) {
        n.needInputs(8);
        Value x = n.value(0);
        List<SDim> xs = Value.shapeOf(x);
        if (xs == null || xs.size() != 2) {
            throw n.unsupported("x is " + Value.describe(x) + "; LSTMBlockCell reads one step x [B, I]");
        }
        // inputs: 0 x, 1 cs_prev, 2 h_prev, 3 w, 4 wci, 5 wcf, 6 wco, 7 b
        Parts parts = parts(n, false, 3, Direction.FORWARD);
        int h = parts.spec().hiddenSize();
        if (xs.get(1).isKnown() && xs.get(1).value() != parts.spec().inputSize()) {
            throw n.bad("x has " + xs.get(1) + " features but w [I + H, 4H] gives I = " + parts.spec().inputSize());
        }
        String xt = n.in.materialize(x, n);
        String u = n.in.names.fresh(n.name() + "/x");
        n.add(new Layer.Unsqueeze(u, xt, u, List.of(0)));
        String c0 = KerasRecurrent.initial(n.input(1), n, Layout.TIME_MAJOR, "cs_prev");
        String h0 = KerasRecurrent.initial(n.input(2), n, Layout.TIME_MAJOR, "h_prev");
        String yh = n.in.names.fresh(n.name() + "/Y_h");
        String yc = n.in.names.fresh(n.name() + "/Y_c");
        n.add(new Layer.Lstm(n.name(), new RecurrentPorts(u, null, h0, c0, null, yh, yc), parts.spec(), List.of(parts.weights()), parts.order()));
        SDim batch = xs.get(0);
        Object[] out = new Object[7];
        String[] names = {"i", "cs", "f", "o", "ci", "co", "h"};
        for (int k = 0; k < 7; k++) {
            out[k] = new KerasRecurrent.Unavailable("LSTMBlockCell output '" + names[k] + "' (lstmx gives the new h and cs only)");
        }
        out[6] = new Value.Run(KerasRecurrent.squeeze(n, yh, 0, n.name() + "/h"), DType.FLOAT32, List.of(batch, SDim.known(h)));
        out[1] = new Value.Run(KerasRecurrent.squeeze(n, yc, 0, n.name() + "/cs"), DType.FLOAT32, List.of(batch, SDim.known(h)));
        return out;
    }
}
