package io.lstmx.importers.tensorflow;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
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
import io.lstmx.util.SafeText;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.NodeDef;

import java.util.ArrayList;
import java.util.List;

/**
 * Keras 2's recurrent layers in a SavedModel. An LSTM or GRU layer that can use cuDNN calls a
 * function ({@code standard_lstm}, {@code gpu_lstm_with_fallback}, {@code standard_gru}, ...) whose
 * {@code api_implements} attribute is "lstm_&lt;uuid&gt;" or "gru_&lt;uuid&gt;": TensorFlow swaps
 * implementations by it, and lstmx reads the call as one layer, without running its While loop.
 * The function's arguments are fixed by Keras: (inputs, init_h, init_c, kernel, recurrent_kernel,
 * bias) for LSTM, (inputs, init_h, kernel, recurrent_kernel, bias) for GRU, with kernel [I, G·H]
 * and recurrent_kernel [H, G·H] in Keras's gate order (i,f,c,o; z,r,h), the LSTM bias [4H] and the
 * GRU bias [2, 3H] (input and recurrent: reset_after). It returns (last_output, outputs, h[, c],
 * runtime); outputs is batch-major unless the layer is time-major (no transpose of the inputs).
 */
final class KerasRecurrent {
    private KerasRecurrent() {
    }

    static String api(FunctionDef f) {
        AttrValue a = f.getAttrMap().get("api_implements");
        return a == null ? null : a.getS().toStringUtf8();
    }

    static boolean implementsRecurrent(FunctionDef f) {
        String a = api(f);
        return a != null && (a.startsWith("lstm_") || a.startsWith("gru_"));
    }

    /** A value the IR cannot give (the cell-state sequence of a BlockLSTM, ...): refused when a node reads it. */
    record Unavailable(String what) {
        @Override
        public String toString() {
            return what;
        }
    }

    static List<Object> convert(FunctionDef f, List<Object> args, TfNode at) {
        boolean lstm = api(f).startsWith("lstm_");
        String fn = SafeText.name(f.getSignature().getName());
        int expect = lstm ? 6 : 5;
        if (args.size() != expect || f.getSignature().getInputArgCount() != expect) {
            throw at.unsupported("calls Keras " + (lstm ? "LSTM" : "GRU") + " function '" + fn + "' with " + args.size()
                    + " arguments; lstmx reads the " + expect + "-argument form (no mask)");
        }
        String inputsArg = f.getSignature().getInputArg(0).getName();
        boolean batchMajor = false;
        for (NodeDef d : f.getNodeDefList()) {
            if (d.getOp().equals("ReverseV2") || d.getOp().equals("ReverseSequence")) {
                throw at.unsupported("Keras " + (lstm ? "LSTM" : "GRU") + " function '" + fn + "' reverses its sequence (go_backwards), not read yet");
            }
            if (d.getOp().equals("Transpose") && d.getInputCount() > 0 && d.getInput(0).equals(inputsArg)) {
                batchMajor = true;
            }
        }
        Value x = value(args.get(0), at, "inputs");
        Tensor kernel = constant(args.get(lstm ? 3 : 2), at, "kernel");
        Tensor rk = constant(args.get(lstm ? 4 : 3), at, "recurrent_kernel");
        Tensor bias = constant(args.get(lstm ? 5 : 4), at, "bias");
        int gates = lstm ? 4 : 3;
        if (kernel.rank() != 2 || rk.rank() != 2 || rk.dim(1) != rk.dim(0) * gates || kernel.dim(1) != rk.dim(1)) {
            throw at.bad("Keras " + (lstm ? "LSTM" : "GRU") + " kernel " + java.util.Arrays.toString(kernel.shape()) + " and recurrent kernel "
                    + java.util.Arrays.toString(rk.shape()) + " do not fit " + gates + " gates");
        }
        int h = rk.dim(0);
        int in = kernel.dim(0);
        Tensor w = Fold.transpose(kernel, new int[] {1, 0}, at);
        Tensor r = Fold.transpose(rk, new int[] {1, 0}, at);
        Layout layout = batchMajor ? Layout.BATCH_MAJOR : Layout.TIME_MAJOR;
        String base = at.name();
        String xs = at.in.materialize(x, at);
        String h0 = initial(args.get(1), at, layout, "init_h");
        String c0 = lstm ? initial(args.get(2), at, layout, "init_c") : null;
        String y = at.in.names.fresh(base + "/Y");
        String yh = at.in.names.fresh(base + "/Y_h");
        String yc = lstm ? at.in.names.fresh(base + "/Y_c") : null;
        if (lstm) {
            if (bias.rank() != 1 || bias.dim(0) != 4 * h) {
                throw at.bad("Keras LSTM bias " + java.util.Arrays.toString(bias.shape()) + " is not [" + 4 * h + "]");
            }
            LstmWeights lw = new LstmWeights(GateOrder.KERAS.toCanonical(w, 0), GateOrder.KERAS.toCanonical(r, 0),
                    GateOrder.KERAS.toCanonical(bias, 0), Tensor.zeros(4 * h), null, null);
            at.add(new Layer.Lstm(base, new RecurrentPorts(xs, null, h0, c0, y, yh, yc), LstmSpec.standard(in, h, Direction.FORWARD, layout),
                    List.of(lw), GateOrder.KERAS));
        } else {
            Tensor wb;
            Tensor rb;
            boolean resetAfter = bias.rank() == 2;
            if (resetAfter && bias.dim(0) == 2 && bias.dim(1) == 3 * h) {
                wb = Fold.slice(bias, 0, 0, 1, 1, at).reshape(3 * h);
                rb = Fold.slice(bias, 0, 1, 2, 1, at).reshape(3 * h);
            } else if (bias.rank() == 1 && bias.dim(0) == 3 * h) {
                wb = bias;
                rb = Tensor.zeros(3 * h);
            } else {
                throw at.bad("Keras GRU bias " + java.util.Arrays.toString(bias.shape()) + " is neither [2, " + 3 * h + "] nor [" + 3 * h + "]");
            }
            GateOrder.Gru g = GateOrder.Gru.KERAS;
            RecurrentWeights rw = new RecurrentWeights(g.toCanonical(w, 0), g.toCanonical(r, 0), g.toCanonical(wb, 0), g.toCanonical(rb, 0));
            RecurrentSpec spec = new RecurrentSpec(in, h, Direction.FORWARD, layout, null, resetAfter, List.of(ActivationFn.SIGMOID, ActivationFn.TANH));
            at.add(new Layer.Gru(base, RecurrentPorts.withoutCell(xs, null, h0, y, yh), spec, List.of(rw), g));
        }
        List<SDim> xsShape = Value.shapeOf(x);
        SDim batch = xsShape != null && xsShape.size() == 3 ? xsShape.get(batchMajor ? 0 : 1) : at.freshDim();
        SDim time = xsShape != null && xsShape.size() == 3 ? xsShape.get(batchMajor ? 1 : 0) : at.freshDim();
        // Y is [B, T, 1, H] batch-major, [T, 1, B, H] time-major; Y_h and Y_c [B, 1, H] or [1, B, H]
        String seq = squeeze(at, y, batchMajor ? 2 : 1, base + "/outputs");
        Value.Run seqV = new Value.Run(seq, DType.FLOAT32, batchMajor ? List.of(batch, time, SDim.known(h)) : List.of(time, batch, SDim.known(h)));
        Value.Run last = new Value.Run(squeeze(at, yh, batchMajor ? 1 : 0, base + "/last_output"), DType.FLOAT32, List.of(batch, SDim.known(h)));
        List<Object> out = new ArrayList<>();
        out.add(last);
        out.add(seqV);
        out.add(last);
        if (lstm) {
            out.add(new Value.Run(squeeze(at, yc, batchMajor ? 1 : 0, base + "/state_c"), DType.FLOAT32, List.of(batch, SDim.known(h))));
        }
        out.add(new Value.Const(Tensor.scalar(lstm ? 1f : 1f)));
        return out;
    }

    static String squeeze(TfNode at, String input, int axis, String name) {
        String o = at.in.names.fresh(name);
        at.add(new Layer.Squeeze(o, input, o, List.of(axis)));
        return o;
    }

    private static Value value(Object o, TfNode at, String what) {
        if (o instanceof Value v) {
            return Value.simplify(v);
        }
        throw at.unsupported("passes " + TfInterpreter.describe(o) + " as the recurrent layer's " + what);
    }

    private static Tensor constant(Object o, TfNode at, String what) {
        Value v = value(o, at, what);
        Tensor t = Fold.constant(v, at.name() + "/" + what, at.in.budget);
        if (t == null) {
            throw at.unsupported("the recurrent layer's " + what + " must be known when the model is read, but it is " + Value.describe(v));
        }
        if (!t.dtype().isFloating()) {
            throw at.bad("the recurrent layer's " + what + " is " + t.dtype());
        }
        return t.dtype() == DType.FLOAT32 ? t : t.withDType(DType.FLOAT32);
    }

    /** An initial state [B, H] as the IR's [B, 1, H] or [1, B, H], or null when it is all zeros. */
    static String initial(Object o, TfNode at, Layout layout, String what) {
        Value v = value(o, at, what);
        if (v instanceof Value.Filled f && f.element().getFloat(0) == 0f) {
            return null;
        }
        if (v instanceof Value.Const c && Fold.allZero(c.tensor())) {
            return null;
        }
        String s = at.in.materialize(v, at);
        String u = at.in.names.fresh(at.name() + "/" + what);
        at.add(new Layer.Unsqueeze(u, s, u, List.of(layout == Layout.BATCH_MAJOR ? 1 : 0)));
        return u;
    }
}
