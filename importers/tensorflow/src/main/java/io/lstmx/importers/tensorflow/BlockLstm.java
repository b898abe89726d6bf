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

    static Object[] convert(TfNode n, boolean v2) {
        n.needInputs(9);
        boolean reversed = n.input(1) instanceof TfSymbolic.Reversed rv && rv.last() == null;
        Value x = reversed ? ((TfSymbolic.Reversed) n.input(1)).inner() : n.value(1);
        Tensor w = n.constant(4, "the weights w");
        Tensor b = n.constant(8, "the bias b");
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
            // inputs: 0 seq_len_max, 1 x, 2 cs_prev, 3 h_prev, 4 w, 5 wci, 6 wcf, 7 wco, 8 b
            Tensor ci = n.constant(5, "wci");
            Tensor cf = n.constant(6, "wcf");
            Tensor co = n.constant(7, "wco");
            for (Tensor t : List.of(ci, cf, co)) {
                if (t.rank() != 1 || t.dim(0) != h) {
                    throw n.bad("peephole weights " + java.util.Arrays.toString(t.shape()) + " are not [" + h + "]");
                }
            }
            p = Fold.concat(List.of(ci, cf, co), 0, n);
        }
        float forgetBias = v2 ? 0f : n.attrFloat("forget_bias", 1f);
        float clip = n.attrFloat("cell_clip", v2 ? 0f : 3f);
        LstmSpec spec = LstmSpec.standard(in, h, reversed ? Direction.REVERSE : Direction.FORWARD, Layout.TIME_MAJOR).withForgetBias(forgetBias)
                .withCellClip(clip > 0 ? clip : null);
        LstmWeights lw = new LstmWeights(order.toCanonical(wx, 0), order.toCanonical(wh, 0), order.toCanonical(b, 0),
                Tensor.zeros(4 * h), p, null);
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
}
