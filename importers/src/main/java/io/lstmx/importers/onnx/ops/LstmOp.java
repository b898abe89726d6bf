package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * ONNX LSTM (opsets 1 to 22) with all inputs (X, W, R, B, sequence_lens, initial_h, initial_c, P),
 * outputs (Y, Y_h, Y_c) and attributes. W, R, B and P must be constants; their gate blocks (ONNX
 * order i, o, f, c; peepholes i, o, f) are reordered to the IR's i, f, g, o. Initial states that
 * are all zeros are dropped, since the IR starts from zeros when no state is given.
 */
final class LstmOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 8; // X, W, R, B, sequence_lens, initial_h, initial_c, P
    }

    @Override
    public int maxOutputs() {
        return 3; // Y, Y_h, Y_c
    }

    @Override
    public boolean firstOutputOptional() {
        return true;
    }

    @Override
    public void convert(OnnxNode n) {
        n.required(0, "X");
        n.required(1, "W");
        n.required(2, "R");
        Tensor w = n.constIn(1, "weight W");
        Tensor r = n.constIn(2, "recurrence weight R");
        Tensor b = n.constIn(3, "bias B");
        Tensor p = n.constIn(7, "peephole P");

        for (Object[] t : new Object[][] {{"W", w}, {"R", r}, {"B", b}, {"P", p}}) {
            if (t[1] != null && !((Tensor) t[1]).dtype().isFloating()) {
                throw n.bad(t[0] + " is " + ((Tensor) t[1]).dtype() + ", expected a floating-point tensor");
            }
        }
        String dirName = n.attrString("direction", "forward");
        Direction dir = switch (dirName) {
            case "forward" -> Direction.FORWARD;
            case "reverse" -> Direction.REVERSE;
            case "bidirectional" -> Direction.BIDIRECTIONAL;
            default -> throw n.bad("direction '" + dirName + "' is not one of forward, reverse, bidirectional");
        };
        int d = dir.count();
        if (w.rank() != 3) {
            throw n.bad("W has shape " + Arrays.toString(w.shape()) + ", expected [num_directions, 4*hidden_size, input_size]");
        }
        long hAttr = n.attrInt("hidden_size", -1);
        if (!n.hasAttr("hidden_size") && w.dim(1) % 4 != 0) {
            throw n.bad("W has shape " + Arrays.toString(w.shape()) + ": its second dimension is not 4*hidden_size");
        }
        if (n.hasAttr("hidden_size") && (hAttr <= 0 || hAttr > Integer.MAX_VALUE / 8)) {
            throw n.bad("hidden_size " + hAttr + " is not a valid size");
        }
        int h = n.hasAttr("hidden_size") ? (int) hAttr : w.dim(1) / 4;
        int in = w.dim(2);
        expect(n, "W", w, d, 4 * h, in);
        expect(n, "R", r, d, 4 * h, h);
        if (b != null) {
            expect(n, "B", b, d, 8 * h);
        }
        if (p != null) {
            expect(n, "P", p, d, 3 * h);
        }
        long layoutAttr = n.attrInt("layout", 0);
        if (layoutAttr != 0 && layoutAttr != 1) {
            throw n.bad("layout " + layoutAttr + " is not 0 or 1");
        }
        Layout layout = layoutAttr == 0 ? Layout.TIME_MAJOR : Layout.BATCH_MAJOR;
        Float clip = null;
        if (n.hasAttr("clip")) {
            clip = n.attrFloat("clip", 0f);
            if (!(clip > 0)) {
                throw n.bad("clip " + clip + " must be positive");
            }
        }
        long inputForget = n.attrInt("input_forget", 0);
        if (inputForget != 0 && inputForget != 1) {
            throw n.bad("input_forget " + inputForget + " is not 0 or 1");
        }
        List<ActivationFn> acts = activations(n, d);
        LstmSpec spec;
        try {
            spec = new LstmSpec(in, h, 0, dir, layout, clip, inputForget == 1, acts);
        } catch (LstmxException e) {
            throw n.bad(e.getMessage());
        }

        List<LstmWeights> weights = new ArrayList<>();
        for (int k = 0; k < d; k++) {
            Tensor wk = GateOrder.ONNX.toCanonical(Fold.slice(w, 0, k, k + 1, 1, n).reshape(4 * h, in), 0);
            Tensor rk = GateOrder.ONNX.toCanonical(Fold.slice(r, 0, k, k + 1, 1, n).reshape(4 * h, h), 0);
            Tensor wb;
            Tensor rb;
            if (b == null) {
                wb = Tensor.zeros(4 * h);
                rb = Tensor.zeros(4 * h);
            } else {
                Tensor bk = Fold.slice(b, 0, k, k + 1, 1, n).reshape(8 * h);
                wb = GateOrder.ONNX.toCanonical(Fold.slice(bk, 0, 0, 4L * h, 1, n), 0);
                rb = GateOrder.ONNX.toCanonical(Fold.slice(bk, 0, 4L * h, 8L * h, 1, n), 0);
            }
            Tensor pk = p == null ? null : GateOrder.onnxPeephole(Fold.slice(p, 0, k, k + 1, 1, n).reshape(3 * h), 0);
            weights.add(new LstmWeights(wk.withDType(DType.FLOAT32), rk.withDType(DType.FLOAT32),
                    wb.withDType(DType.FLOAT32), rb.withDType(DType.FLOAT32),
                    pk == null ? null : pk.withDType(DType.FLOAT32), null));
        }

        Value.Run x = n.runValue(0);
        if (!x.dtype().isFloating()) {
            throw n.bad("X is " + x.dtype() + ", expected a floating-point tensor");
        }
        SDim seq;
        SDim batch;
        if (x.shape() != null) {
            if (x.shape().size() != 3) {
                throw n.bad("X has shape " + x.shape() + ", expected rank 3 " + (layout == Layout.TIME_MAJOR
                        ? "[seq_length, batch_size, input_size]" : "[batch_size, seq_length, input_size]"));
            }
            SDim last = x.shape().get(2);
            if (last.isKnown() && last.value() != in) {
                throw n.bad("X has shape " + x.shape() + ", but W expects input_size " + in);
            }
            seq = x.shape().get(layout == Layout.TIME_MAJOR ? 0 : 1);
            batch = x.shape().get(layout == Layout.TIME_MAJOR ? 1 : 0);
        } else {
            seq = n.freshDim();
            batch = n.freshDim();
        }
        String seqLens = sequenceLengths(n, seq, batch);
        String initialH = initialState(n, 5, "initial_h", d, h, layout);
        String initialC = initialState(n, 6, "initial_c", d, h, layout);

        String y = n.outputName(0);
        String yh = n.outputName(1);
        String yc = n.outputName(2);
        if (y == null && yh == null && yc == null) {
            return; // nothing reads this LSTM
        }
        n.emit(new Layer.Lstm(n.layerName(), x.name(), seqLens, initialH, initialC, y, yh, yc, spec, weights, GateOrder.ONNX));
        SDim dd = SDim.known(d);
        SDim hd = SDim.known(h);
        if (y != null) {
            n.defineRun(0, x.dtype(), layout == Layout.TIME_MAJOR ? List.of(seq, dd, batch, hd) : List.of(batch, seq, dd, hd));
        }
        List<SDim> state = layout == Layout.TIME_MAJOR ? List.of(dd, batch, hd) : List.of(batch, dd, hd);
        if (yh != null) {
            n.defineRun(1, x.dtype(), state);
        }
        if (yc != null) {
            n.defineRun(2, x.dtype(), state);
        }
    }

    private static void expect(OnnxNode n, String what, Tensor t, int... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw n.bad(what + " has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape)
                    + " ([num_directions, ...] for hidden_size " + (shape[1] / (what.equals("B") ? 8 : what.equals("P") ? 3 : 4)) + ")");
        }
    }

    /**
     * Activation functions f, g, h per direction. alpha/beta lists are consumed in order by the
     * functions that take them (as onnxruntime does); missing ones take the ONNX operator defaults
     * (LeakyRelu 0.01, ThresholdedRelu 1, Elu 1, HardSigmoid 0.2/0.5, ScaledTanh 1/1, Affine 1/0).
     * onnxruntime instead uses 0 for ThresholdedRelu, ScaledTanh and Affine; models that rely on
     * those defaults are rare, and the ONNX specification is what we follow.
     */
    private static List<ActivationFn> activations(OnnxNode n, int directions) {
        List<String> names = n.attrStrings("activations");
        if (names == null || names.isEmpty()) {
            List<ActivationFn> l = new ArrayList<>();
            for (int k = 0; k < directions; k++) {
                l.addAll(LstmSpec.DEFAULT_ACTIVATIONS);
            }
            return l;
        }
        if (names.size() != 3 * directions) {
            throw n.bad("activations has " + names.size() + " entries " + names + ", expected " + 3 * directions
                    + " (f, g, h per direction)");
        }
        List<Float> alphaList = n.attrFloats("activation_alpha");
        List<Float> betaList = n.attrFloats("activation_beta");
        Iterator<Float> alphas = (alphaList == null ? List.<Float>of() : alphaList).iterator();
        Iterator<Float> betas = (betaList == null ? List.<Float>of() : betaList).iterator();
        List<ActivationFn> out = new ArrayList<>();
        for (String name : names) {
            String lower = name.toLowerCase(Locale.ROOT);
            ActivationFn fn = switch (lower) {
                case "sigmoid" -> ActivationFn.SIGMOID;
                case "tanh" -> ActivationFn.TANH;
                case "relu" -> ActivationFn.RELU;
                case "softsign" -> ActivationFn.of(Kind.SOFTSIGN);
                case "softplus" -> ActivationFn.of(Kind.SOFTPLUS);
                case "leakyrelu" -> ActivationFn.of(Kind.LEAKY_RELU, next(alphas, 0.01f), 0f);
                case "thresholdedrelu" -> ActivationFn.of(Kind.THRESHOLDED_RELU, next(alphas, 1f), 0f);
                case "elu" -> ActivationFn.of(Kind.ELU, next(alphas, 1f), 0f);
                case "hardsigmoid" -> ActivationFn.of(Kind.HARD_SIGMOID, next(alphas, 0.2f), next(betas, 0.5f));
                case "scaledtanh" -> ActivationFn.of(Kind.SCALED_TANH, next(alphas, 1f), next(betas, 1f));
                case "affine" -> ActivationFn.of(Kind.AFFINE, next(alphas, 1f), next(betas, 0f));
                default -> throw n.unsupported("activation '" + name + "' is not one of the ONNX RNN activations"
                        + " (Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus)");
            };
            out.add(fn);
        }
        return out;
    }

    private static float next(Iterator<Float> it, float dflt) {
        return it.hasNext() ? it.next() : dflt;
    }

    /** IR name of sequence_lens, or null when absent or equal to the full length everywhere. */
    private static String sequenceLengths(OnnxNode n, SDim seq, SDim batch) {
        Value v = n.in(4);
        if (v == null) {
            return null;
        }
        Tensor t = n.graph().asConst(v, n.inputName(4));
        if (t != null) {
            if (t.dtype().isFloating() || t.rank() != 1 || (batch.isKnown() && t.size() != batch.value())) {
                throw n.bad("sequence_lens has shape " + Arrays.toString(t.shape()) + " of " + t.dtype() + ", expected [" + batch
                        + "] of int32");
            }
            for (int i = 0; i < t.size(); i++) {
                long len = t.getLong(i);
                if (len < 0 || (seq.isKnown() && len > seq.value())) {
                    throw n.bad("sequence_lens " + Arrays.toString(t.toLongArray()) + " has length " + len + ", outside [0, "
                            + (seq.isKnown() ? seq.value() : "seq_length") + "]");
                }
            }
            boolean full = seq.isKnown() && t.size() > 0;
            for (int i = 0; i < t.size() && full; i++) {
                full = t.getLong(i) == seq.value();
            }
            if (full) {
                return null; // every sequence runs the whole length: same as no sequence_lens
            }
        } else if (v instanceof Value.Run r && r.dtype().isFloating()) {
            throw n.bad("sequence_lens is " + r.dtype() + ", expected int32");
        }
        return n.runIn(4);
    }

    /** IR name of an initial state, or null when absent or all zeros. */
    private static String initialState(OnnxNode n, int i, String what, int d, int h, Layout layout) {
        Value v = n.in(i);
        if (v == null) {
            return null;
        }
        if (v instanceof Value.Filled f && f.element().getFloat(0) == 0f) {
            checkStateShape(n, what, f.shape(), d, h, layout);
            return null;
        }
        if (v instanceof Value.Const c && Fold.allZero(c.tensor())) {
            checkStateShape(n, what, Value.known(c.tensor().shape()), d, h, layout);
            return null;
        }
        checkStateShape(n, what, Value.shapeOf(v), d, h, layout);
        if (v instanceof Value.Filled f && !Shapes.allKnown(f.shape())) {
            throw n.unsupported(what + " is filled with " + f.element().getFloat(0) + " over the run-time shape " + f.shape()
                    + "; lstmx supports zero-filled or constant initial states of known shape");
        }
        return n.runIn(i);
    }

    private static void checkStateShape(OnnxNode n, String what, List<SDim> s, int d, int h, Layout layout) {
        if (s == null) {
            return;
        }
        int dirAxis = layout == Layout.TIME_MAJOR ? 0 : 1;
        boolean ok = s.size() == 3 && (!s.get(dirAxis).isKnown() || s.get(dirAxis).value() == d)
                && (!s.get(2).isKnown() || s.get(2).value() == h);
        if (!ok) {
            throw n.bad(what + " has shape " + s + ", expected " + (layout == Layout.TIME_MAJOR
                    ? "[" + d + ", batch_size, " + h + "]" : "[batch_size, " + d + ", " + h + "]"));
        }
    }
}
