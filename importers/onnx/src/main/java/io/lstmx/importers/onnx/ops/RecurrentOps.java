package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layout;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * What the ONNX recurrent operators LSTM, GRU and RNN have in common: the direction, layout, clip
 * and activation attributes, the constant W/R/B checks, X with its sequence and batch axes,
 * sequence_lens, initial states (zero ones are dropped, since the IR starts from zeros when no
 * state is given) and the shapes of Y and the final states.
 */
final class RecurrentOps {
    private RecurrentOps() {
    }

    /** X with its sequence and batch dimensions (fresh symbols when X's shape is unknown). */
    record Input(Value.Run x, SDim seq, SDim batch) {
    }

    /** Everything a GRU or RNN node gives beyond its operator-specific attributes. */
    record Parsed(Input x, Direction direction, Layout layout, int inputSize, int hiddenSize, Float clip,
                  List<ActivationFn> activations, List<RecurrentWeights> weights, String sequenceLengths, String initialH) {
    }

    /**
     * Reads a GRU or RNN node (inputs X, W, R, B, sequence_lens, initial_h): W, R and B must be
     * constants with {@code gates} gate blocks, reordered to the IR's by {@code toCanonical}.
     */
    static Parsed parseGruOrRnn(OnnxNode n, int gates, List<ActivationFn> defaultActivations, String roles,
                                UnaryOperator<Tensor> toCanonical) {
        n.required(0, "X");
        n.required(1, "W");
        n.required(2, "R");
        Tensor w = n.constIn(1, "weight W");
        Tensor r = n.constIn(2, "recurrence weight R");
        Tensor b = n.constIn(3, "bias B");
        requireFloating(n, new Object[][] {{"W", w}, {"R", r}, {"B", b}});
        Direction dir = direction(n);
        int d = dir.count();
        int h = hiddenSize(n, w, gates);
        int in = w.dim(2);
        expect(n, "W", w, h, d, gates * h, in);
        expect(n, "R", r, h, d, gates * h, h);
        if (b != null) {
            expect(n, "B", b, h, d, 2 * gates * h);
        }
        Layout layout = layout(n);
        Float clip = clip(n);
        List<ActivationFn> acts = activations(n, d, defaultActivations, roles);
        List<RecurrentWeights> weights = weights(n, w, r, b, d, gates, h, in, toCanonical);
        Input x = input(n, layout, in);
        String seqLens = sequenceLengths(n, x.seq(), x.batch());
        String initialH = initialState(n, 5, "initial_h", d, h, layout);
        return new Parsed(x, dir, layout, in, h, clip, acts, weights, seqLens, initialH);
    }

    /** Refuses any present constant among {@code named} ({name, tensor} pairs) that is not floating point. */
    static void requireFloating(OnnxNode n, Object[][] named) {
        for (Object[] t : named) {
            if (t[1] != null && !((Tensor) t[1]).dtype().isFloating()) {
                throw n.bad(t[0] + " is " + ((Tensor) t[1]).dtype() + ", expected a floating-point tensor");
            }
        }
    }

    static Direction direction(OnnxNode n) {
        String dirName = n.attrString("direction", "forward");
        return switch (dirName) {
            case "forward" -> Direction.FORWARD;
            case "reverse" -> Direction.REVERSE;
            case "bidirectional" -> Direction.BIDIRECTIONAL;
            default -> throw n.bad("direction '" + dirName + "' is not one of forward, reverse, bidirectional");
        };
    }

    /** hidden_size from the attribute, or from W [num_directions, gates*hidden_size, input_size] without it. */
    static int hiddenSize(OnnxNode n, Tensor w, int gates) {
        String g = gates == 1 ? "" : gates + "*";
        if (w.rank() != 3) {
            throw n.bad("W has shape " + Arrays.toString(w.shape()) + ", expected [num_directions, " + g + "hidden_size, input_size]");
        }
        long hAttr = n.attrInt("hidden_size", -1);
        if (!n.hasAttr("hidden_size") && w.dim(1) % gates != 0) {
            throw n.bad("W has shape " + Arrays.toString(w.shape()) + ": its second dimension is not " + g + "hidden_size");
        }
        if (n.hasAttr("hidden_size") && (hAttr <= 0 || hAttr > Integer.MAX_VALUE / 8)) {
            throw n.bad("hidden_size " + hAttr + " is not a valid size");
        }
        return n.hasAttr("hidden_size") ? (int) hAttr : w.dim(1) / gates;
    }

    static void expect(OnnxNode n, String what, Tensor t, int hiddenSize, int... shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw n.bad(what + " has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape)
                    + " ([num_directions, ...] for hidden_size " + hiddenSize + ")");
        }
    }

    static Layout layout(OnnxNode n) {
        long layoutAttr = n.attrInt("layout", 0);
        if (layoutAttr != 0 && layoutAttr != 1) {
            throw n.bad("layout " + layoutAttr + " is not 0 or 1");
        }
        return layoutAttr == 0 ? Layout.TIME_MAJOR : Layout.BATCH_MAJOR;
    }

    static Float clip(OnnxNode n) {
        if (!n.hasAttr("clip")) {
            return null;
        }
        float clip = n.attrFloat("clip", 0f);
        if (!(clip > 0)) {
            throw n.bad("clip " + clip + " must be positive");
        }
        return clip;
    }

    /** A 0/1 attribute. */
    static boolean flag(OnnxNode n, String name) {
        long v = n.attrInt(name, 0);
        if (v != 0 && v != 1) {
            throw n.bad(name + " " + v + " is not 0 or 1");
        }
        return v == 1;
    }

    /**
     * Activation functions per direction ({@code defaults} gives their number and the defaults, e.g.
     * f, g, h for LSTM). alpha/beta lists are consumed in order by the functions that take them (as
     * onnxruntime does); missing ones take the ONNX operator defaults (LeakyRelu 0.01,
     * ThresholdedRelu 1, Elu 1, HardSigmoid 0.2/0.5, ScaledTanh 1/1, Affine 1/0). onnxruntime instead
     * uses 0 for ThresholdedRelu, ScaledTanh and Affine; models that rely on those defaults are rare,
     * and the ONNX specification is what we follow.
     */
    static List<ActivationFn> activations(OnnxNode n, int directions, List<ActivationFn> defaults, String roles) {
        List<String> names = n.attrStrings("activations");
        int per = defaults.size();
        if (names == null || names.isEmpty()) {
            List<ActivationFn> l = new ArrayList<>();
            for (int k = 0; k < directions; k++) {
                l.addAll(defaults);
            }
            return l;
        }
        if (names.size() != per * directions) {
            throw n.bad("activations has " + names.size() + " entries " + SafeText.list(names) + ", expected " + per * directions
                    + " (" + roles + " per direction)");
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

    /**
     * Per-direction IR weights of a GRU or RNN: W [D, G*H, I], R [D, G*H, H], B [D, 2*G*H] (Wb then
     * Rb, zeros when absent), gate blocks put in canonical order by {@code toCanonical}.
     */
    static List<RecurrentWeights> weights(OnnxNode n, Tensor w, Tensor r, Tensor b, int d, int gates, int h, int in,
                                          UnaryOperator<Tensor> toCanonical) {
        int gh = gates * h;
        List<RecurrentWeights> out = new ArrayList<>();
        for (int k = 0; k < d; k++) {
            Tensor wk = toCanonical.apply(direction(w, k, d, n).reshape(gh, in));
            Tensor rk = toCanonical.apply(direction(r, k, d, n).reshape(gh, h));
            Tensor wb;
            Tensor rb;
            if (b == null) {
                wb = Tensor.zeros(gh);
                rb = Tensor.zeros(gh);
            } else {
                Tensor bk = direction(b, k, d, n).reshape(2 * gh);
                wb = toCanonical.apply(Fold.slice(bk, 0, 0, gh, 1, n));
                rb = toCanonical.apply(Fold.slice(bk, 0, gh, 2L * gh, 1, n));
            }
            out.add(new RecurrentWeights(wk.withDType(DType.FLOAT32), rk.withDType(DType.FLOAT32),
                    wb.withDType(DType.FLOAT32), rb.withDType(DType.FLOAT32)));
        }
        return out;
    }

    /**
     * Direction {@code k} of a [num_directions, ...] weight: a one-direction weight is itself (its
     * reshape is a view), so that the only copy of a large W or R is its gate permutation.
     */
    static Tensor direction(Tensor t, int k, int d, OnnxNode n) {
        return d == 1 ? t : Fold.slice(t, 0, k, k + 1, 1, n);
    }

    /** X (input 0), checked against input_size, with its sequence and batch axes for {@code layout}. */
    static Input input(OnnxNode n, Layout layout, int in) {
        Value.Run x = n.runValue(0);
        if (!x.dtype().isFloating()) {
            throw n.bad("X is " + x.dtype() + ", expected a floating-point tensor");
        }
        if (x.shape() == null) {
            return new Input(x, n.freshDim(), n.freshDim());
        }
        if (x.shape().size() != 3) {
            throw n.bad("X has shape " + x.shape() + ", expected rank 3 " + (layout == Layout.TIME_MAJOR
                    ? "[seq_length, batch_size, input_size]" : "[batch_size, seq_length, input_size]"));
        }
        SDim last = x.shape().get(2);
        if (last.isKnown() && last.value() != in) {
            throw n.bad("X has shape " + x.shape() + ", but W expects input_size " + in);
        }
        return new Input(x, x.shape().get(layout == Layout.TIME_MAJOR ? 0 : 1), x.shape().get(layout == Layout.TIME_MAJOR ? 1 : 0));
    }

    /**
     * Defines the shapes of Y (output 0, [T, D, B, H] or [B, T, D, H]) and of the final states
     * (outputs 1 to {@code states}, [D, B, H] or [B, D, H]) that the node names.
     */
    static void defineOutputs(OnnxNode n, Input x, Layout layout, int d, int h, int states) {
        SDim dd = SDim.known(d);
        SDim hd = SDim.known(h);
        if (n.outputName(0) != null) {
            n.defineRun(0, x.x().dtype(), layout == Layout.TIME_MAJOR ? List.of(x.seq(), dd, x.batch(), hd)
                    : List.of(x.batch(), x.seq(), dd, hd));
        }
        List<SDim> state = layout == Layout.TIME_MAJOR ? List.of(dd, x.batch(), hd) : List.of(x.batch(), dd, hd);
        for (int i = 1; i <= states; i++) {
            if (n.outputName(i) != null) {
                n.defineRun(i, x.x().dtype(), state);
            }
        }
    }

    /** IR name of sequence_lens (input 4), or null when absent or equal to the full length everywhere. */
    static String sequenceLengths(OnnxNode n, SDim seq, SDim batch) {
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

    /**
     * IR name of an initial state (input {@code i}), or null when absent or all zeros (for example
     * built by ConstantOfShape from the run-time Shape of X, as torch.onnx does).
     */
    static String initialState(OnnxNode n, int i, String what, int d, int h, Layout layout) {
        Value v = n.in(i);
        if (v == null) {
            return null;
        }
        if (v instanceof Value.Filled f && f.element().getFloat(0) == 0f) {
            checkStateShape(n, what, f.shape(), d, h, layout);
            return null;
        }
        if (v instanceof Value.Const c && Fold.allZero(c.tensor())) {
            checkStateShape(n, what, Shapes.known(c.tensor().shape()), d, h, layout);
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
