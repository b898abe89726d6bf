package io.lstmx.exporters.keras;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.lstmx.errors.LstmxException;
import io.lstmx.exporters.keras.KerasModel.KLayer;
import io.lstmx.exporters.keras.KerasModel.KT;
import io.lstmx.exporters.keras.KerasModel.Ref;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Translates an IR model into Keras layers. Keras tensors always hold the batch on axis 0, and no
 * built-in Keras layer moves it; the IR's glue around recurrent layers (time-major transposes, the
 * direction axis of Y and Y_h, PyTorch's Squeeze / Reshape / Select of the last step) is therefore
 * tracked symbolically: each IR value is a {@link Sym}, a view of a Keras tensor (its axes
 * permuted, size-1 axes added, the last axis of a Bidirectional output seen as [2, H], a go_backwards
 * sequence seen flipped), and Keras layers are emitted only where the IR computes something (a
 * Permute or Reshape where a view must become a tensor). What Keras cannot express is refused
 * (UNSUPPORTED naming the layer and the feature), nothing written.
 * <p>
 * Recurrent layers: which of Y, Y_h, Y_c are read decides return_sequences and return_state;
 * a Select of the last step of a forward layer's Y (the first of a go_backwards one) is its last h
 * (return_sequences=False). The translation runs twice: the first pass finds the layers whose
 * sequence is read, so that a Bidirectional layer's Y_h is its output when it returns no sequence,
 * else the concatenation of its returned states.
 * <p>
 * Per-step masks: Keras keeps a mask beside a tensor rather than as a value, makes it with
 * {@code Embedding(mask_zero=True)} or {@code Masking}, carries it through the layers that support
 * masking and applies it to every recurrent layer it reaches. So an IR StepMask is written only as
 * one of those two: a token mask (value 0) of the ids an Embedding reads becomes that Embedding's
 * mask_zero; a feature mask whose column multiplies the same sequence (the Keras reader's Masking)
 * becomes Masking(mask_value). The mask then follows Keras's propagation (Dense, Activation,
 * Dropout, BatchNormalization, TimeDistributed pass it; recurrent layers pass it on returned
 * sequences; merges join equal masks; other layers drop it, as Keras 3 does) and every recurrent
 * layer must meet exactly the mask the IR gives it, with Keras's output rule
 * ({@code zero_output_for_mask}; Bidirectional forces it on returned sequences): anything else is
 * refused naming the layer.
 */
final class KerasBuilder {
    private static final int UNIT = -1;

    /** An IR value in Keras terms (see the class comment). */
    private record Sym(KT base, boolean split, int[] axes, int reversed, Ref[] dirs, String pairKind, List<Sym> stack, int stackAxis,
                       Tensor constant, boolean cast) {
        static Sym plain(KT t) {
            int[] a = new int[t.rank()];
            for (int i = 0; i < a.length; i++) {
                a[i] = i;
            }
            return new Sym(t, false, a, -1, null, null, null, -1, null, false);
        }

        int rank() {
            return stack != null ? stack.get(0).rank() : constant != null ? constant.rank() : axes.length;
        }

        Sym withAxes(int[] a) {
            return new Sym(base, split, a, reversed, dirs, pairKind, stack, stackAxis, constant, cast);
        }

        Sym withBase(KT b) {
            return new Sym(b, split, axes, reversed, dirs, pairKind, stack, stackAxis, constant, cast);
        }
    }

    private final Model model;
    private final String file;
    private final Set<String> seqRead;
    private final boolean firstPass;
    private final Map<String, Sym> syms = new HashMap<>();
    private final Map<String, ValueInfo> infos;
    private final KerasModel out;
    private final Map<String, Integer> counters = new HashMap<>();
    private final Map<String, KT> pairs = new HashMap<>();
    /** Recurrent Keras layers by IR layer name (pass one: whose sequence is read). */
    private final Map<KLayer, String> irNames = new HashMap<>();
    final List<String> notes = new ArrayList<>();
    /** IR StepMask layers by their output, the masks some recurrent layer reads, Unsqueezed mask columns (output -> mask). */
    private final Map<String, Layer.StepMask> stepMasks = new HashMap<>();
    private final Set<String> masksRead = new HashSet<>();
    private final Map<String, String> maskColumns = new HashMap<>();
    /** The IR input of each Cast (an Embedding of float ids reads a Cast of what the mask tests). */
    private final Map<String, String> castSource = new HashMap<>();
    /** Layers written as part of an earlier Keras layer (the addition of a BatchNormalization), with their result. */
    private final Map<String, Sym> absorbed = new HashMap<>();
    /** The Keras mask a layer's output carries (an IR mask value; recurrent layers: their sequence only). */
    private final Map<KLayer, String> kmask = new HashMap<>();

    private KerasBuilder(Model model, String file, Set<String> seqRead, boolean firstPass) {
        this.model = model;
        this.file = file;
        this.seqRead = seqRead;
        this.firstPass = firstPass;
        this.infos = ShapeInference.infer(model);
        this.out = new KerasModel(kerasName(model.name()));
    }

    /** The Keras model of {@code model}; {@code file} names the target in messages. */
    static KerasModel build(Model model, String file, List<String> notes) {
        Set<String> seq = sequenceValues(model, file);
        KerasBuilder two = new KerasBuilder(model, file, seq, false);
        two.run();
        two.out.resolve();
        notes.addAll(two.notes);
        return two.out;
    }

    /**
     * The first pass: which IR values the second must treat as sequences. In a method of its own so
     * that the first pass's Keras model (a copy of every weight) is garbage before the second makes
     * its own (issue 9: a model's weights are not held three times while it is written).
     */
    private static Set<String> sequenceValues(Model model, String file) {
        KerasBuilder one = new KerasBuilder(model, file, Set.of(), true);
        one.run();
        Set<String> seq = new HashSet<>();
        for (var e : one.irNames.entrySet()) {
            if (e.getKey().recurrent.seq) {
                seq.add(e.getValue());
            }
        }
        return seq;
    }

    private static String kerasName(String n) {
        String s = n == null ? "" : n.replaceAll("[^A-Za-z0-9_.-]", "_").replaceAll("^[_.-]+", "");
        return s.isEmpty() ? "model" : s;
    }

    // ---- errors

    private LstmxException refuse(Layer l, String what) {
        return LstmxException.unsupported(file + ": layer '" + l.name() + "' (" + l.kind() + "): " + what);
    }

    private LstmxException refuse(String what) {
        return LstmxException.unsupported(file + ": " + what);
    }

    // ---- the walk

    private void run() {
        for (ValueInfo v : model.inputs()) {
            String dtype = switch (v.dtype()) {
                case FLOAT32 -> "float32";
                case INT64 -> "int64";
                case INT32 -> "int32";
                default -> throw refuse("input '" + v.name() + "' is " + v.dtype() + "; lstmx writes Keras inputs of float32, int32 and int64");
            };
            if (!v.shape().rankKnown() || v.shape().rank() == 0) {
                throw refuse("input '" + v.name() + "' has " + (v.shape().rankKnown() ? "rank 0" : "an unknown rank")
                        + "; a Keras input has a batch axis first");
            }
            long[] shape = dims(v);
            JsonObject cfg = new JsonObject();
            cfg.add("batch_shape", shapeJson(shape));
            cfg.addProperty("dtype", dtype);
            cfg.addProperty("sparse", false);
            KLayer il = layer("InputLayer", cfg);
            out.inputs.add(il);
            syms.put(v.name(), Sym.plain(new KT(new Ref(il, null, 0), shape, dtype)));
        }
        for (Layer l : model.layers()) {
            if (l instanceof Layer.StepMask m) {
                stepMasks.put(m.output(), m);
            } else if (l instanceof Layer.Cast c) {
                castSource.put(c.output(), c.input());
            } else if (l instanceof Layer.Recurrent r && r.ports().hasMask()) {
                masksRead.add(r.ports().mask());
            }
        }
        for (Layer l : model.layers()) {
            if (l instanceof Layer.StepMask) {
                continue; // written as mask_zero or Masking where it is used
            }
            if (l instanceof Layer.Unsqueeze u && stepMasks.containsKey(u.input())) {
                maskColumns.put(u.output(), u.input());
                continue;
            }
            if (!(l instanceof Layer.Recurrent) && !(l instanceof Layer.Binary)) {
                for (String in : l.inputs()) {
                    refuseMaskValue(l, in);
                }
            }
            List<Sym> outs = absorbed.containsKey(l.name()) ? List.of(absorbed.get(l.name())) : l.accept(new Visit());
            List<String> names = l.outputs();
            if (l instanceof Layer.Recurrent r) {
                // Y, Y_h, Y_c by port (absent ones skipped)
                String[] ports = {r.outputSequence(), r.outputH(), r.outputC()};
                for (int k = 0; k < 3; k++) {
                    if (ports[k] != null && outs.get(k) != null) {
                        syms.put(ports[k], outs.get(k));
                    }
                }
            } else {
                for (int k = 0; k < names.size(); k++) {
                    syms.put(names.get(k), outs.get(k));
                }
            }
        }
        for (ValueInfo v : model.outputs()) {
            KT t = materialize(sym(v.name()), "output '" + v.name() + "'");
            use(t);
            out.outputs.add(t);
        }
    }

    /** A mask read as a value: Keras has no such tensor. */
    private void refuseMaskValue(Layer l, String value) {
        String m = stepMasks.containsKey(value) ? value : maskColumns.get(value);
        if (m != null) {
            throw refuse(l, "reads the per-step mask '" + m + "' as a value; Keras keeps masks beside tensors (made by"
                    + " Embedding(mask_zero=True) or Masking), so only recurrent layers can read one");
        }
    }

    /** The Keras mask {@code t} carries, or null. */
    private String maskOf(KT t) {
        String m = kmask.get(t.ref().layer);
        String kind = t.ref().kind;
        return m != null && (kind == null || kind.equals("seq")) ? m : null;
    }

    private Sym sym(String value) {
        if (stepMasks.containsKey(value) || maskColumns.containsKey(value)) {
            throw refuse("value '" + value + "' is a per-step mask; Keras keeps masks beside tensors, so it cannot be read as a"
                    + " value (a model output, an operand)");
        }
        Sym s = syms.get(value);
        if (s == null) {
            throw LstmxException.badInput(file + ": value '" + value + "' is read before it is written");
        }
        return s;
    }

    private long[] dims(ValueInfo v) {
        long[] s = new long[v.shape().rank()];
        for (int i = 0; i < s.length; i++) {
            s[i] = v.shape().dim(i) instanceof Dim.Fixed f ? f.size() : -1;
        }
        return s;
    }

    private static JsonArray shapeJson(long[] shape) {
        JsonArray a = new JsonArray();
        for (long d : shape) {
            if (d < 0) {
                a.add((Number) null);
            } else {
                a.add(d);
            }
        }
        return a;
    }

    private KLayer layer(String cls, JsonObject cfg) {
        String base = KerasFiles.snake(cls);
        int k = counters.merge(base, 1, Integer::sum) - 1;
        String name = k == 0 ? base : base + "_" + k;
        JsonObject c = new JsonObject();
        c.addProperty("name", name);
        if (!cls.equals("InputLayer")) {
            c.addProperty("trainable", true);
            c.add("dtype", KerasFiles.policy());
        }
        for (var e : cfg.entrySet()) {
            c.add(e.getKey(), e.getValue());
        }
        KLayer l = new KLayer(cls, name, c);
        out.layers.add(l);
        return l;
    }

    /** Records that a Keras tensor is read (it decides the recurrent layers' flags). */
    private void use(KT t) {
        KerasModel.Recurrent r = t.ref().layer.recurrent;
        if (r == null || t.ref().kind == null) {
            return;
        }
        switch (t.ref().kind) {
            case "seq" -> r.seq = true;
            case "h" -> r.h = true;
            case "c" -> r.c = true;
            case "fh", "fc", "bh", "bc" -> r.states = true;
            case "last" -> r.last = true;
            case "fseq", "bseq" -> r.perDirection = true;
            default -> {
            }
        }
    }

    /** Adds a layer called on {@code inputs}; returns its output (index 0) of the given shape. */
    private KT call(String cls, JsonObject cfg, List<KT> inputs, long[] shape) {
        KLayer l = layer(cls, cfg);
        for (KT t : inputs) {
            use(t);
            l.inputs.add(t);
        }
        l.listInput = inputs.size() > 1;
        String m = propagatedMask(l, inputs);
        if (m != null) {
            kmask.put(l, m);
        }
        return new KT(new Ref(l, null, 0), shape, inputs.isEmpty() ? "float32" : "float32");
    }

    private static final Set<String> MASK_PASSING = Set.of("Dense", "Activation", "Dropout", "SpatialDropout1D", "BatchNormalization",
            "LayerNormalization", "TimeDistributed");
    private static final Set<String> MERGES = Set.of("Concatenate", "Add", "Subtract", "Multiply", "Average");

    /**
     * The mask Keras gives the output of {@code l} called on {@code inputs}: its input's for the
     * layers that support masking, the (one) mask of a merge's inputs, none for the others (Keras 3
     * drops it there). Recurrent, Embedding and Masking layers set theirs after the call.
     */
    private String propagatedMask(KLayer l, List<KT> inputs) {
        if (inputs.isEmpty()) {
            return null;
        }
        if (MASK_PASSING.contains(l.className)) {
            return maskOf(inputs.get(0));
        }
        if (MERGES.contains(l.className)) {
            String m = null;
            for (KT t : inputs) {
                String k = maskOf(t);
                if (k != null && m != null && !k.equals(m)) {
                    throw refuse("Keras layer '" + l.name + "' (" + l.className + ") would join two different masks ('" + m + "', '" + k
                            + "') into their logical and, which lstmx does not write");
                }
                m = k != null ? k : m;
            }
            return m;
        }
        return null;
    }

    // ---- views made tensors

    /** The shape of the tensor a view sees: the base's, its last axis split in two when split. */
    private static long[] virtualShape(Sym s) {
        long[] b = s.base().shape();
        if (!s.split()) {
            return b;
        }
        long[] v = Arrays.copyOf(b, b.length + 1);
        v[b.length - 1] = 2;
        v[b.length] = b[b.length - 1] < 0 ? -1 : b[b.length - 1] / 2;
        return v;
    }

    /** The base of a Bidirectional layer's Y_h or Y_c: its merged output, or the concatenation of its states. */
    private Sym withPairBase(Sym s) {
        if (s.base() != null || s.dirs() == null) {
            return s;
        }
        Ref f = s.dirs()[0];
        String key = f.layer.name + "/" + s.pairKind();
        KT t = pairs.get(key);
        long[] half = {f.layer.inputs.get(0).shape()[0], units(f.layer)};
        if (t == null) {
            boolean seqToo = firstPass ? false : seqRead.contains(irNames.get(f.layer));
            if (s.pairKind().equals("h") && !seqToo) {
                t = new KT(new Ref(f.layer, "merged", 0), new long[] {half[0], 2 * half[1]}, "float32");
            } else {
                JsonObject cfg = new JsonObject();
                cfg.addProperty("axis", -1);
                t = call("Concatenate", cfg, List.of(new KT(s.dirs()[0], half, "float32"), new KT(s.dirs()[1], half, "float32")),
                        new long[] {half[0], 2 * half[1]});
            }
            pairs.put(key, t);
        }
        return s.withBase(t);
    }

    private static long units(KLayer l) {
        JsonObject c = l.recurrent != null && l.recurrent.bidirectional ? l.config.getAsJsonObject("layer").getAsJsonObject("config") : l.config;
        return c.get("units").getAsLong();
    }

    /** A Keras tensor holding exactly the IR value {@code s} (batch first), adding Reshape / Permute layers as needed. */
    private KT materialize(Sym s, String what) {
        if (s.constant() != null) {
            throw refuse(what + " is a constant tensor; Keras models have no constant layer");
        }
        if (s.stack() != null) {
            return materializeStack(s, what);
        }
        if (s.cast()) {
            throw refuse(what + " is a Cast to integers; Keras only casts inside an Embedding");
        }
        s = withPairBase(s);
        if (s.reversed() >= 0) {
            throw refuse(what + " is the sequence of a go_backwards layer in input order; Keras returns it in reverse order and has no"
                    + " layer to flip it back");
        }
        KT t = s.base();
        int[] axes = s.axes().clone();
        if (s.split()) {
            long[] v = virtualShape(s);
            t = reshape(t, v, what);
        }
        int batchAt = -1;
        List<Integer> perm = new ArrayList<>();
        for (int k = 0; k < axes.length; k++) {
            if (axes[k] == 0) {
                batchAt = k;
            }
            if (axes[k] != UNIT) {
                perm.add(axes[k]);
            }
        }
        if (batchAt != 0) {
            throw refuse(what + " has the batch axis at position " + batchAt + " (shape " + irShape(s, t) + "); Keras tensors hold the batch"
                    + " first and no built-in Keras layer moves it (model inputs and outputs whose batch axis is traced to a recurrent"
                    + " layer are written batch-major; this value is not one of them)");
        }
        boolean identity = true;
        for (int i = 0; i < perm.size(); i++) {
            identity &= perm.get(i) == i;
        }
        if (!identity) {
            JsonObject cfg = new JsonObject();
            JsonArray dims = new JsonArray();
            long[] shape = new long[perm.size()];
            shape[0] = t.shape()[0];
            for (int i = 1; i < perm.size(); i++) {
                dims.add(perm.get(i));
                shape[i] = t.shape()[perm.get(i)];
            }
            cfg.add("dims", dims);
            t = call("Permute", cfg, List.of(t), shape);
        }
        if (perm.size() != axes.length) {
            long[] shape = new long[axes.length];
            int j = 0;
            for (int k = 0; k < axes.length; k++) {
                shape[k] = axes[k] == UNIT ? 1 : t.shape()[j++];
            }
            t = reshape(t, shape, what);
        }
        return t;
    }

    /**
     * A stack of layer outputs (PyTorch's h_n / c_n: the layers' and directions' last states joined on
     * an axis) as one Keras Concatenate of its elements, each made a batch-first tensor, along the
     * stack axis; refused when that axis is the batch's (Keras cannot concatenate along the batch).
     */
    private KT materializeStack(Sym s, String what) {
        List<KT> ts = new ArrayList<>();
        for (int i = 0; i < s.stack().size(); i++) {
            Sym e = s.stack().get(i);
            int batchAt = e.stack() == null && e.constant() == null ? indexOf(e.axes(), 0) : -1;
            if (batchAt == s.stackAxis() || (batchAt < 0 && e.constant() == null && e.stack() == null)) {
                throw refuse(what + " stacks the outputs of several layers on the batch axis (as PyTorch's h_n / c_n [layers*directions,"
                        + " batch, hidden] before it is made batch-major); Keras cannot concatenate along the batch");
            }
            ts.add(materialize(e, what + " (part " + i + ")"));
        }
        if (ts.size() == 1) {
            return ts.get(0);
        }
        long[] shape = ts.get(0).shape().clone();
        int a = s.stackAxis();
        for (KT t : ts.subList(1, ts.size())) {
            shape[a] = shape[a] < 0 || t.shape()[a] < 0 ? -1 : shape[a] + t.shape()[a];
        }
        JsonObject cfg = new JsonObject();
        cfg.addProperty("axis", a);
        return call("Concatenate", cfg, ts, shape);
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    private String irShape(Sym s, KT t) {
        StringBuilder b = new StringBuilder("[");
        long[] v = s.base() == null ? t.shape() : virtualShape(s);
        for (int k = 0; k < s.axes().length; k++) {
            int a = s.axes()[k];
            b.append(k > 0 ? ", " : "").append(a == UNIT ? "1" : a == 0 ? "batch" : v[a] < 0 ? "?" : Long.toString(v[a]));
        }
        return b.append("]").toString();
    }

    private KT reshape(KT t, long[] shape, String what) {
        if (shape.length == t.rank()) {
            boolean same = true;
            for (int i = 1; i < shape.length; i++) {
                same &= shape[i] == t.shape()[i];
            }
            if (same) {
                return t;
            }
        }
        JsonArray target = new JsonArray();
        int unknown = 0;
        for (int i = 1; i < shape.length; i++) {
            if (shape[i] < 0) {
                unknown++;
            }
            target.add(shape[i] < 0 ? -1 : shape[i]);
        }
        if (unknown > 1) {
            throw refuse(what + " needs a Keras Reshape to " + Arrays.toString(shape).replace("-1", "None") + ", but more than one of its sizes is"
                    + " unknown");
        }
        JsonObject cfg = new JsonObject();
        cfg.add("target_shape", target);
        long[] s = shape.clone();
        s[0] = t.shape()[0];
        return call("Reshape", cfg, List.of(t), s);
    }

    /** The view of {@code s} transposed by {@code perm} (IR Transpose semantics). */
    private static Sym transpose(Sym s, List<Integer> perm) {
        if (s.stack() != null) {
            List<Sym> st = new ArrayList<>();
            for (Sym e : s.stack()) {
                st.add(transpose(e, perm));
            }
            return new Sym(null, false, null, -1, null, null, st, perm.indexOf(s.stackAxis()), null, false);
        }
        if (s.constant() != null) {
            return null;
        }
        int[] a = new int[perm.size()];
        for (int k = 0; k < a.length; k++) {
            a[k] = s.axes()[perm.get(k)];
        }
        return s.withAxes(a);
    }

    private static int norm(int axis, int rank) {
        return axis < 0 ? axis + rank : axis;
    }

    private static int[] remove(int[] a, int k) {
        int[] r = new int[a.length - 1];
        for (int i = 0, j = 0; i < a.length; i++) {
            if (i != k) {
                r[j++] = a[i];
            }
        }
        return r;
    }

    // ---- layers

    private final class Visit implements Layer.Visitor<List<Sym>> {
        @Override
        public List<Sym> visit(Layer.Constant l) {
            return List.of(new Sym(null, false, null, -1, null, null, null, -1, l.value(), false));
        }

        @Override
        public List<Sym> visit(Layer.Lstm l) {
            var s = l.spec();
            if (s.clip() != null) {
                throw refuse(l, "clip " + s.clip() + ": Keras' LSTM has no clip of the gate pre-activations");
            }
            if (s.cellClip() != null) {
                throw refuse(l, "cell clip " + s.cellClip() + ": Keras' LSTM has no cell clip");
            }
            if (s.projSize() > 0) {
                throw refuse(l, "projection to " + s.projSize() + ": Keras' LSTM has no projection");
            }
            if (s.inputForget()) {
                throw refuse(l, "coupled input and forget gates (input_forget): Keras' LSTM has none");
            }
            for (LstmWeights w : l.weights()) {
                if (w.peephole() != null) {
                    throw refuse(l, "peepholes: Keras' LSTM has none");
                }
            }
            List<Object> ws = new ArrayList<>();
            for (LstmWeights w : l.weights()) {
                int h = s.hiddenSize();
                Tensor b = LstmWeights.withForgetBias(sum(w.wb(), w.rb()), h, s.forgetBias());
                // Keras' LSTM order is the IR's: fromCanonical returns the tensors themselves
                ws.add(new CellWeights(GateOrder.KERAS.fromCanonical(w.w(), 0), GateOrder.KERAS.fromCanonical(w.r(), 0),
                        GateOrder.KERAS.fromCanonical(b, 0), null));
            }
            if (s.forgetBias() != 0) {
                notes.add("layer '" + l.name() + "': forget bias " + s.forgetBias() + " folded into the bias");
            }
            return recurrent(l, "LSTM", ws, false);
        }

        @Override
        public List<Sym> visit(Layer.Gru l) {
            var s = l.spec();
            if (s.clip() != null) {
                throw refuse(l, "clip " + s.clip() + ": Keras' GRU has no clip of the gate pre-activations");
            }
            List<Object> ws = new ArrayList<>();
            // W and R stay in the IR's order: GateOrder reorders them into Keras' while they are
            // transposed into the file, so they are never copied whole (issue 9)
            for (RecurrentWeights w : l.weights()) {
                Tensor k = w.w();
                Tensor r = w.r();
                if (s.linearBeforeReset()) {
                    float[] wb = GateOrder.Gru.KERAS.fromCanonical(w.wb(), 0).toFloatArray();
                    float[] rb = GateOrder.Gru.KERAS.fromCanonical(w.rb(), 0).toFloatArray();
                    float[] b = Arrays.copyOf(wb, wb.length * 2);
                    System.arraycopy(rb, 0, b, wb.length, rb.length);
                    ws.add(new CellWeights(k, r, Tensor.ofFloats(new int[] {2, wb.length}, b), GateOrder.Gru.KERAS));
                } else {
                    // n = g(W_n x + Wb_n + R_n (r * h) + Rb_n): every recurrent bias is a constant term, summed into Keras' one bias
                    ws.add(new CellWeights(k, r, GateOrder.Gru.KERAS.fromCanonical(sum(w.wb(), w.rb()), 0), GateOrder.Gru.KERAS));
                }
            }
            return recurrent(l, "GRU", ws, s.linearBeforeReset());
        }

        @Override
        public List<Sym> visit(Layer.Rnn l) {
            if (l.spec().clip() != null) {
                throw refuse(l, "clip " + l.spec().clip() + ": Keras' SimpleRNN has no clip");
            }
            List<Object> ws = new ArrayList<>();
            for (RecurrentWeights w : l.weights()) {
                ws.add(new CellWeights(w.w(), w.r(), sum(w.wb(), w.rb()), null));
            }
            return recurrent(l, "SimpleRNN", ws, false);
        }

        @Override
        public List<Sym> visit(Layer.Dense l) {
            Sym x = withPairBase(sym(l.input()));
            int units = l.weight().dim(0);
            JsonObject cfg = new JsonObject();
            cfg.addProperty("units", units);
            cfg.addProperty("activation", "linear");
            cfg.addProperty("use_bias", l.bias() != null);
            Sym v = lastAxisView(x, "the input of layer '" + l.name() + "'");
            KT in = v.base();
            long[] shape = in.shape().clone();
            shape[shape.length - 1] = units;
            KT y = call("Dense", cfg, List.of(in), shape);
            KLayer kl = y.ref().layer;
            kl.weights.add(new KerasModel.Weight("kernel", "", out.name + "/" + kl.name + "/kernel",
                    new int[] {l.weight().dim(1), l.weight().dim(0)}, KerasModel.transposed(l.weight())));
            if (l.bias() != null) {
                kl.weights.add(weight("bias", "", kl.name + "/bias", l.bias()));
            }
            return List.of(v.withBase(y));
        }

        @Override
        public List<Sym> visit(Layer.Embedding l) {
            Sym x = sym(l.input());
            if (x.cast()) {
                x = new Sym(x.base(), x.split(), x.axes(), x.reversed(), x.dirs(), x.pairKind(), x.stack(), x.stackAxis(), null, false);
            }
            KT in = materialize(x, "the input of layer '" + l.name() + "'");
            JsonObject cfg = new JsonObject();
            cfg.addProperty("input_dim", l.table().dim(0));
            cfg.addProperty("output_dim", l.table().dim(1));
            Layer.StepMask mask = tokenMask(l.input());
            cfg.addProperty("mask_zero", mask != null);
            long[] shape = Arrays.copyOf(in.shape(), in.rank() + 1);
            shape[in.rank()] = l.table().dim(1);
            KT y = call("Embedding", cfg, List.of(in), shape);
            KLayer kl = y.ref().layer;
            if (mask != null) {
                kmask.put(kl, mask.output());
            }
            kl.weights.add(weight("embeddings", "", kl.name + "/embeddings", l.table()));
            notes.add("layer '" + l.name() + "': Keras' Embedding takes indices in [0, " + l.table().dim(0)
                    + "); negative ones (counted from the end in the IR) are not looked up the same way");
            return List.of(Sym.plain(y));
        }

        @Override
        public List<Sym> visit(Layer.Activation l) {
            String n = activation(l.fn());
            if (n == null) {
                throw refuse(l, "activation " + l.fn() + " has no Keras equivalent (Keras: linear, tanh, sigmoid, relu, softsign, softplus,"
                        + " elu with alpha 1, leaky_relu with slope 0.2, hard_sigmoid as relu6(x + 3) / 6)");
            }
            return List.of(elementwise(l, "Activation", act(n), sym(l.input())));
        }

        @Override
        public List<Sym> visit(Layer.Softmax l) {
            Sym x = withPairBase(sym(l.input()));
            int r = x.rank();
            if (norm(l.axis(), r) != r - 1) {
                throw refuse(l, "softmax on axis " + l.axis() + " of a rank-" + r + " value; Keras' Activation('softmax') takes the last axis");
            }
            String n = l.log() ? "log_softmax" : "softmax";
            Sym v = lastAxisView(x, "the input of layer '" + l.name() + "'");
            KT in = v.base();
            KT y = call("Activation", act(n), List.of(in), in.shape());
            return List.of(v.withBase(y));
        }

        @Override
        public List<Sym> visit(Layer.Dropout l) {
            JsonObject cfg = new JsonObject();
            cfg.addProperty("rate", l.rate());
            cfg.add("seed", null);
            cfg.add("noise_shape", null);
            return List.of(elementwise(l, "Dropout", cfg, sym(l.input())));
        }

        @Override
        public List<Sym> visit(Layer.Identity l) {
            return List.of(sym(l.input()));
        }

        @Override
        public List<Sym> visit(Layer.Binary l) {
            Sym masked = masking(l);
            if (masked != null) {
                return List.of(masked);
            }
            refuseMaskValue(l, l.a());
            refuseMaskValue(l, l.b());
            Sym a = sym(l.a());
            Sym b = sym(l.b());
            Sym affine = affine(l, a, b);
            if (affine != null) {
                return List.of(affine);
            }
            Sym repeated = repeatVector(l, a, b);
            if (repeated != null) {
                return List.of(repeated);
            }
            Layer.Binary half = l.op() == Layer.Binary.Op.ADD ? halving(l) : null;
            if (a.constant() != null || b.constant() != null) {
                throw refuse(l, l.op() + " with a constant operand; Keras' merge layers combine tensors only");
            }
            String cls = switch (l.op()) {
                case ADD -> "Add";
                case SUB -> "Subtract";
                case MUL -> "Multiply";
                case DIV -> throw refuse(l, "division; Keras has no layer dividing two tensors");
            };
            KT ta = materialize(a, "the first input of layer '" + l.name() + "'");
            KT tb = materialize(b, "the second input of layer '" + l.name() + "'");
            if (ta.rank() != tb.rank()) {
                throw refuse(l, "broadcasts a rank-" + ta.rank() + " and a rank-" + tb.rank() + " value; Keras' " + cls + " takes equal ranks");
            }
            long[] shape = ta.shape().clone();
            for (int i = 0; i < shape.length; i++) {
                shape[i] = Math.max(shape[i], tb.shape()[i]);
            }
            if (half != null) {
                // (a + b) * 0.5 is Keras's Average of two tensors, (a + b) / 2, the same in float32
                Sym avg = Sym.plain(call("Average", new JsonObject(), List.of(ta, tb), shape));
                absorbed.put(half.name(), avg);
                return List.of(avg);
            }
            return List.of(Sym.plain(call(cls, new JsonObject(), List.of(ta, tb), shape)));
        }

        /** Keras's LayerNormalization over the last axis (gamma and beta as its weights, epsilon kept). */
        @Override
        public List<Sym> visit(Layer.LayerNorm l) {
            int f = l.features();
            if (f < 0) {
                throw refuse(l, "a layer norm without gamma or beta (its size is unknown)");
            }
            Sym x = withPairBase(sym(l.input()));
            Sym v = lastAxisView(x, "the input of layer '" + l.name() + "'");
            KT in = v.base();
            JsonObject cfg = new JsonObject();
            cfg.addProperty("axis", -1);
            cfg.addProperty("epsilon", (double) l.epsilon());
            cfg.addProperty("center", l.beta() != null);
            cfg.addProperty("scale", l.gamma() != null);
            KT y = call("LayerNormalization", cfg, List.of(in), in.shape().clone());
            KLayer kl = y.ref().layer;
            if (l.gamma() != null) {
                kl.weights.add(weight("gamma", "", kl.name + "/gamma", l.gamma()));
            }
            if (l.beta() != null) {
                kl.weights.add(weight("beta", "", kl.name + "/beta", l.beta()));
            }
            return List.of(v.withBase(y));
        }

        @Override
        public List<Sym> visit(Layer.StepMask l) {
            throw new IllegalStateException("StepMask layers are skipped by the walk");
        }

        @Override
        public List<Sym> visit(Layer.MatMul l) {
            throw refuse(l, "a product of two run-time values; Keras has no such built-in layer (Dot is not written)");
        }

        @Override
        public List<Sym> visit(Layer.Concat l) {
            List<Sym> ins = new ArrayList<>();
            for (String v : l.inputs()) {
                ins.add(sym(v));
            }
            int r = ins.get(0).rank();
            int a = norm(l.axis(), r);
            boolean units = ins.stream().allMatch(s -> s.stack() == null && s.constant() == null && s.axes()[a] == UNIT);
            if (units) {
                return List.of(new Sym(null, false, null, -1, null, null, ins, a, null, false));
            }
            // the batch at the same place in every input, not first and not the concat axis: joined lazily, as a stack (PyTorch's
            // h_n of bidirectional layers, [2, B, H] each), written once the batch is first (see materializeStack)
            boolean plain = ins.stream().allMatch(s -> s.stack() == null && s.constant() == null && !s.cast() && s.reversed() < 0);
            if (plain) {
                int b = indexOf(ins.get(0).axes(), 0);
                boolean lazy = b > 0 && b != a;
                for (Sym s : ins) {
                    lazy &= indexOf(s.axes(), 0) == b;
                }
                if (lazy) {
                    return List.of(new Sym(null, false, null, -1, null, null, ins, a, null, false));
                }
            }
            if (a == 0) {
                throw refuse(l, "concatenates along axis 0, the batch axis in Keras");
            }
            List<KT> ts = new ArrayList<>();
            for (int i = 0; i < ins.size(); i++) {
                ts.add(materialize(ins.get(i), "input " + i + " of layer '" + l.name() + "'"));
            }
            long[] shape = ts.get(0).shape().clone();
            for (KT t : ts.subList(1, ts.size())) {
                shape[a] = shape[a] < 0 || t.shape()[a] < 0 ? -1 : shape[a] + t.shape()[a];
            }
            JsonObject cfg = new JsonObject();
            cfg.addProperty("axis", a);
            return List.of(Sym.plain(call("Concatenate", cfg, ts, shape)));
        }

        @Override
        public List<Sym> visit(Layer.Transpose l) {
            Sym t = transpose(sym(l.input()), l.perm());
            if (t == null) {
                throw refuse(l, "transposes a constant");
            }
            return List.of(t);
        }

        @Override
        public List<Sym> visit(Layer.Reshape l) {
            Sym x = sym(l.input());
            int r = x.rank();
            List<Long> shape = l.shape();
            if (x.stack() == null && x.constant() == null && x.split() && shape.size() == r - 1 && r >= 2) {
                Sym px = withPairBase(x);
                int kr = px.base().rank();
                int d = px.axes()[r - 2];
                int h = px.axes()[r - 1];
                boolean lead = true;
                for (int i = 0; i < r - 2; i++) {
                    lead &= shape.get(i) == 0;
                }
                long last = shape.get(r - 2);
                long hs = px.base().shape()[kr - 1];
                if (lead && d == kr - 1 && h == kr && (last == -1 || last == hs)) {
                    int[] a = Arrays.copyOf(px.axes(), r - 1);
                    a[r - 2] = kr - 1;
                    return List.of(new Sym(px.base(), false, a, px.reversed(), null, null, null, -1, null, false));
                }
            }
            KT in = materialize(x, "the input of layer '" + l.name() + "'");
            if (shape.isEmpty() || !(shape.get(0) == 0 || (in.shape()[0] >= 0 && shape.get(0) == in.shape()[0]))) {
                throw refuse(l, "reshapes to " + shape + ", which does not keep the batch axis first (Keras' Reshape keeps it)");
            }
            long[] s = new long[shape.size()];
            s[0] = in.shape()[0];
            for (int i = 1; i < s.length; i++) {
                long d = shape.get(i);
                if (d == 0) {
                    if (i >= in.rank()) {
                        throw refuse(l, "copies input axis " + i + " (0 in shape " + shape + "), which it does not have");
                    }
                    d = in.shape()[i]; // -1 when unknown: Keras' Reshape infers it when it is the only unknown size
                }
                s[i] = d;
            }
            return List.of(Sym.plain(reshape(in, s, "layer '" + l.name() + "'")));
        }

        @Override
        public List<Sym> visit(Layer.Flatten l) {
            KT in = materialize(sym(l.input()), "the input of layer '" + l.name() + "'");
            if (norm(l.axis(), in.rank()) != 1) {
                throw refuse(l, "flattens from axis " + l.axis() + "; Keras' Flatten keeps the batch axis and flattens the rest (axis 1)");
            }
            long n = 1;
            for (int i = 1; i < in.rank(); i++) {
                n = n < 0 || in.shape()[i] < 0 ? -1 : n * in.shape()[i];
            }
            if (in.rank() == 2) {
                return List.of(Sym.plain(in));
            }
            JsonObject cfg = new JsonObject();
            cfg.addProperty("data_format", "channels_last");
            return List.of(Sym.plain(call("Flatten", cfg, List.of(in), new long[] {in.shape()[0], n})));
        }

        @Override
        public List<Sym> visit(Layer.Squeeze l) {
            Sym x = sym(l.input());
            if (x.stack() != null || x.constant() != null) {
                throw refuse(l, "squeezes a stack of layer outputs or a constant");
            }
            int r = x.rank();
            List<Integer> axes = l.axes().stream().map(a -> norm(a, r)).sorted().toList();
            boolean units = axes.stream().allMatch(a -> x.axes()[a] == UNIT);
            if (units) {
                int[] a = x.axes();
                for (int i = axes.size() - 1; i >= 0; i--) {
                    a = remove(a, axes.get(i));
                }
                return List.of(x.withAxes(a));
            }
            KT in = materialize(x, "the input of layer '" + l.name() + "'");
            if (axes.contains(0)) {
                throw refuse(l, "squeezes axis 0, the batch axis in Keras");
            }
            long[] s = new long[in.rank() - axes.size()];
            for (int i = 0, j = 0; i < in.rank(); i++) {
                if (!axes.contains(i)) {
                    s[j++] = in.shape()[i];
                }
            }
            return List.of(Sym.plain(reshape(in, s, "layer '" + l.name() + "'")));
        }

        @Override
        public List<Sym> visit(Layer.Unsqueeze l) {
            Sym x = sym(l.input());
            if (x.stack() != null || x.constant() != null) {
                throw refuse(l, "unsqueezes a stack of layer outputs or a constant");
            }
            int r = x.rank() + l.axes().size();
            List<Integer> axes = l.axes().stream().map(a -> norm(a, r)).sorted().toList();
            int[] a = new int[r];
            for (int k = 0, j = 0; k < r; k++) {
                a[k] = axes.contains(k) ? UNIT : x.axes()[j++];
            }
            return List.of(x.withAxes(a));
        }

        @Override
        public List<Sym> visit(Layer.Select l) {
            Sym x = sym(l.input());
            int r = x.rank();
            int a = norm(l.axis(), r);
            if (x.stack() != null) {
                if (a == x.stackAxis() && x.stack().stream().allMatch(e -> e.stack() == null && e.constant() == null && e.axes()[a] == UNIT)) {
                    int n = x.stack().size();
                    long i = l.index() < 0 ? l.index() + n : l.index();
                    Sym e = x.stack().get((int) i);
                    return List.of(e.withAxes(remove(e.axes(), a)));
                }
                throw refuse(l, "selects along axis " + a + " of a stack of layer outputs");
            }
            if (x.constant() != null) {
                throw refuse(l, "selects from a constant");
            }
            int v = x.axes()[a];
            if (v == UNIT && (l.index() == 0 || l.index() == -1)) {
                return List.of(x.withAxes(remove(x.axes(), a)));
            }
            if (x.dirs() != null && x.split() && v == (x.base() == null ? dirAxis(x) : x.base().rank() - 1)) {
                int d = (int) (l.index() < 0 ? l.index() + 2 : l.index());
                return List.of(direction(x, a, d, false));
            }
            KT b = x.base();
            if (b != null && "seq".equals(b.ref().kind) && x.split() && v == 1) {
                throw refuse(l, "selects one step of a Bidirectional layer's sequence (as the last outputs of a masked Bidirectional"
                        + " called with initial states read); Keras gives them only merged, which lstmx does not write");
            }
            if (b != null && "seq".equals(b.ref().kind) && !x.split() && v == 1) {
                long t = b.shape()[1];
                boolean last = x.reversed() == 1 ? (l.index() == 0 || (t > 0 && l.index() == -t))
                        : (l.index() == -1 || (t > 0 && l.index() == t - 1));
                if (last) {
                    // Keras's last output is outputs[-1]; it is the carried h unless masked steps output zeros, when it is
                    // the last step's output, which the layer gives as "last" (see KerasModel.resolve)
                    KerasModel.Recurrent rec = b.ref().layer.recurrent;
                    KT h = new KT(new Ref(b.ref().layer, rec != null && rec.lastDiffers ? "last" : "h", 0),
                            new long[] {b.shape()[0], b.shape()[2]}, "float32");
                    int[] ax = remove(x.axes(), a);
                    for (int k = 0; k < ax.length; k++) {
                        ax[k] = ax[k] == 2 ? 1 : ax[k];
                    }
                    return List.of(new Sym(h, false, ax, -1, null, null, null, -1, null, false));
                }
                throw refuse(l, "selects step " + l.index() + " of the sequence of a " + (x.reversed() == 1 ? "reverse (go_backwards) " : "")
                        + "recurrent layer; Keras gives only the last step computed (return_sequences=False)");
            }
            throw refuse(l, "selects index " + l.index() + " of axis " + a + "; Keras has no layer that selects one position of an axis");
        }

        @Override
        public List<Sym> visit(Layer.Take l) {
            throw refuse(l, "gathers positions of an axis with constant indices; Keras has no such built-in layer");
        }

        @Override
        public List<Sym> visit(Layer.Slice l) {
            Sym x = sym(l.input());
            if (x.stack() != null || x.constant() != null) {
                throw refuse(l, "slices a stack of layer outputs or a constant");
            }
            int a = norm(l.axis(), x.rank());
            int v = x.axes()[a];
            if (v == UNIT && l.step() == 1 && l.start() <= 0 && l.start() > -2 && (l.end() >= 1 || l.end() == Long.MAX_VALUE)) {
                return List.of(x);
            }
            // the whole of an axis of known size (PyTorch's h0[0:1] of a one-layer, one-direction module) is no slice at all
            long size = sizeOf(l.input(), a);
            if (size > 0 && l.step() == 1 && (l.start() == 0 || l.start() <= -size) && (l.end() >= size || l.end() == Long.MAX_VALUE)) {
                return List.of(x);
            }
            KT sb = x.base();
            if (sb != null && "seq".equals(sb.ref().kind) && x.split() && l.step() == 1 && v == sb.rank() - 1) {
                // one direction of a Bidirectional layer's sequence: Keras gives both apart with merge_mode=None
                long s0 = l.start() < 0 ? l.start() + 2 : l.start();
                long e0 = l.end() < 0 ? l.end() + 2 : Math.min(l.end(), 2);
                if (e0 == s0 + 1 && (s0 == 0 || s0 == 1)) {
                    long[] bs = sb.shape();
                    KT one = new KT(new Ref(sb.ref().layer, s0 == 0 ? "fseq" : "bseq", 0),
                            new long[] {bs[0], bs[1], bs[2] < 0 ? -1 : bs[2] / 2}, "float32");
                    int[] ax = x.axes().clone();
                    for (int k = 0; k < ax.length; k++) {
                        ax[k] = k == a ? UNIT : ax[k] == sb.rank() ? sb.rank() - 1 : ax[k];
                    }
                    return List.of(new Sym(one, false, ax, -1, null, null, null, -1, null, false));
                }
            }
            if (x.dirs() != null && x.split() && l.step() == 1 && v == (x.base() == null ? dirAxis(x) : x.base().rank() - 1)) {
                long s = l.start() < 0 ? l.start() + 2 : l.start();
                long e = l.end() < 0 ? l.end() + 2 : Math.min(l.end(), 2);
                if (e == s + 1 && (s == 0 || s == 1)) {
                    return List.of(direction(x, a, (int) s, true));
                }
            }
            if (v != UNIT && x.base() != null && !(x.split() && v >= x.base().rank() - 1) && l.step() == -1 && l.start() == -1
                    && (l.end() == Long.MIN_VALUE || (x.base() != null && virtualShape(x)[v] > 0 && l.end() <= -virtualShape(x)[v] - 1))) {
                int rev = x.reversed() == v ? -1 : x.reversed() < 0 ? v : -2;
                if (rev != -2) {
                    return List.of(new Sym(x.base(), x.split(), x.axes(), rev, x.dirs(), x.pairKind(), null, -1, null, x.cast()));
                }
            }
            KT cut = cropped(x, v, l.start(), l.end(), l.step());
            if (cut != null) {
                return List.of(x.withBase(cut));
            }
            throw refuse(l, "slices axis " + a + " [" + l.start() + ":" + l.end() + ":" + l.step() + "]; Keras has no slicing layer (only"
                    + " the IR's own glue around recurrent layers is written)");
        }

        @Override
        public List<Sym> visit(Layer.Cast l) {
            Sym x = sym(l.input());
            if (l.to() == DType.INT64 || l.to() == DType.INT32) {
                return List.of(new Sym(x.base(), x.split(), x.axes(), x.reversed(), x.dirs(), x.pairKind(), x.stack(), x.stackAxis(),
                        x.constant(), true));
            }
            if (l.to() == DType.FLOAT32 && !x.cast()) {
                return List.of(x);
            }
            throw refuse(l, "a cast to " + l.to() + "; Keras has no cast layer");
        }
    }

    /** Virtual axis index of the direction axis of a pair view (base [B, 2H] seen as [B, 2, H]). */
    private static int dirAxis(Sym x) {
        return 1;
    }

    /** One direction (0 forward, 1 backward) of a Bidirectional layer's Y_h or Y_c view. */
    private Sym direction(Sym x, int irAxis, int d, boolean keepAxis) {
        Ref ref = x.dirs()[d];
        KT t = new KT(ref, new long[] {ref.layer.inputs.get(0).shape()[0], units(ref.layer)}, "float32");
        int[] a = keepAxis ? x.axes().clone() : remove(x.axes(), irAxis);
        if (keepAxis) {
            a[irAxis] = UNIT;
        }
        // the view was of [B, 2, H]: batch stays 0, H (virtual 2) becomes 1
        for (int k = 0; k < a.length; k++) {
            a[k] = a[k] == 2 ? 1 : a[k];
        }
        return new Sym(t, false, a, -1, null, null, null, -1, null, false);
    }

    /** The static size of axis {@code axis} of an IR value, -1 when unknown. */
    private long sizeOf(String value, int axis) {
        ValueInfo v = infos.get(value);
        if (v == null || !v.shape().rankKnown() || axis >= v.shape().rank()) {
            return -1;
        }
        return v.shape().dim(axis) instanceof Dim.Fixed f ? f.size() : -1;
    }

    /** Applies an element-wise Keras layer to a view's base, keeping the view. */
    private Sym elementwise(Layer l, String cls, JsonObject cfg, Sym x) {
        if (x.constant() != null) {
            throw refuse(l, "applied to a constant");
        }
        if (x.stack() != null) {
            KT t = materialize(x, "the input of layer '" + l.name() + "'");
            return Sym.plain(call(cls, cfg, List.of(t), t.shape()));
        }
        x = withPairBase(x);
        KT y = call(cls, cfg, List.of(x.base()), x.base().shape());
        return x.withBase(y);
    }

    /**
     * A view whose base a layer acting on the last axis may be applied to, the result seen the same way: the view itself when its
     * last axis is its base's last, else the value made a tensor (batch first).
     */
    private Sym lastAxisView(Sym x, String what) {
        if (x.stack() == null && x.constant() == null && !x.cast() && !x.split() && x.base() != null
                && x.axes()[x.axes().length - 1] == x.base().rank() - 1 && x.reversed() != x.base().rank() - 1) {
            return x;
        }
        int r = x.rank();
        int b = x.stack() == null && x.constant() == null ? indexOf(x.axes(), 0) : -1;
        if (b > 0 && b < r - 1 && !x.cast() && !x.split() && x.base() != null && x.reversed() < 0) {
            // the batch not first (a time-major value between an input and a time-major recurrent layer): the value made a tensor
            // with the batch moved to the front, the other axes in order, and seen through the inverse permutation
            List<Integer> q = new ArrayList<>();
            q.add(b);
            for (int k = 0; k < r; k++) {
                if (k != b) {
                    q.add(k);
                }
            }
            KT t = materialize(transpose(x, q), what);
            int[] a = new int[r];
            for (int k = 0; k < r; k++) {
                a[k] = q.indexOf(k);
            }
            return new Sym(t, false, a, -1, null, null, null, -1, null, false);
        }
        return Sym.plain(materialize(x, what));
    }

    private static JsonObject act(String n) {
        JsonObject c = new JsonObject();
        c.addProperty("activation", n);
        return c;
    }

    /** The Keras 3 name of an IR activation, or null when Keras has none. */
    static String activation(ActivationFn f) {
        return switch (f.kind()) {
            case IDENTITY -> "linear";
            case TANH -> "tanh";
            case SIGMOID -> "sigmoid";
            case RELU -> "relu";
            case SOFTSIGN -> "softsign";
            case SOFTPLUS -> "softplus";
            case ELU -> f.alpha() == 1f ? "elu" : null;
            case LEAKY_RELU -> f.alpha() == 0.2f ? "leaky_relu" : null;
            case HARD_SIGMOID -> f.alpha() == 1f / 6f && f.beta() == 0.5f ? "hard_sigmoid" : null;
            default -> null;
        };
    }

    private static Tensor sum(Tensor a, Tensor b) {
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        float[] s = new float[x.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = x[i] + y[i];
        }
        return Tensor.ofFloats(a.shape(), s);
    }

    private KerasModel.Weight weight(String name, String objectPath, String legacy, Tensor t) {
        return new KerasModel.Weight(name, objectPath, out.name + "/" + legacy, t.shape(), KerasModel.of(t));
    }

    /** A recurrent IR layer as one Keras LSTM / GRU / SimpleRNN, or a Bidirectional around one. */
    private List<Sym> recurrent(Layer.Recurrent l, String cls, List<Object> ws, boolean resetAfter) {
        if (l.sequenceLengths() != null) {
            throw refuse(l, "sequence lengths (per-row lengths): Keras expresses them only as a mask, which lstmx does not write");
        }
        if (l instanceof Layer.Lstm && (l.initialH() == null) != (l.initialC() == null)) {
            throw refuse(l, "an initial " + (l.initialH() == null ? "c without an initial h" : "h without an initial c")
                    + "; Keras's initial_state of an LSTM gives both");
        }
        int dirs = l.direction().count();
        int per = l.activations().size() / dirs;
        List<List<String>> acts = new ArrayList<>();
        for (int d = 0; d < dirs; d++) {
            List<ActivationFn> a = l.activations().subList(per * d, per * d + per);
            List<String> names = new ArrayList<>();
            for (ActivationFn f : a) {
                String n = activation(f);
                if (n == null) {
                    throw refuse(l, "activation " + f + " has no Keras equivalent" + (f.kind() == ActivationFn.Kind.HARD_SIGMOID
                            ? " (Keras 2's hard_sigmoid is clip(0.2x + 0.5, 0, 1); Keras 3's, which lstmx writes, is relu6(x + 3) / 6)" : ""));
                }
                names.add(n);
            }
            if (cls.equals("LSTM") && !names.get(1).equals(names.get(2))) {
                throw refuse(l, "cell activation " + names.get(1) + " differs from hidden activation " + names.get(2)
                        + "; Keras' LSTM uses one activation for both");
            }
            acts.add(names);
        }
        Sym x = withPairBase(sym(l.input()));
        Sym xs = l.layout() == Layout.TIME_MAJOR ? transpose(x, List.of(1, 0, 2)) : x;
        if (xs == null) {
            throw refuse(l, "reads a constant");
        }
        KT in = materialize(xs, "the input of layer '" + l.name() + "' (" + (l.layout() == Layout.TIME_MAJOR ? "time-major" : "batch-major") + ")");
        String irMask = l.ports().mask();
        String keras = maskOf(in);
        if (!java.util.Objects.equals(irMask, keras)) {
            throw refuse(l, irMask == null
                    ? "its input carries the Keras mask '" + keras + "', which Keras would apply to this layer, but the model does not mask it"
                    : "reads the per-step mask '" + irMask + "', which Keras cannot attach to its input: Keras makes masks with"
                    + " Embedding(mask_zero=True) on the ids or Masking on the sequence, and carries them through Dense, Activation,"
                    + " Dropout and recurrent layers");
        }
        boolean seqOut = seqRead.contains(l.name());
        if (irMask != null && l.direction() == Direction.BIDIRECTIONAL && seqOut && !l.ports().zeroMaskedOutput()) {
            throw refuse(l, "repeats the previous output at masked steps of its returned sequence, but Keras's Bidirectional outputs"
                    + " zeros there (it sets zero_output_for_mask to return_sequences)");
        }
        long b = in.shape()[0];
        long t = in.shape()[1];
        int h = l.hiddenSize();
        boolean bidi = l.direction() == Direction.BIDIRECTIONAL;
        // initial_state: h (and c) of each direction in turn, each a [batch, units] tensor
        List<KT> states = new ArrayList<>();
        if (l.initialH() != null) {
            for (int d = 0; d < l.direction().count(); d++) {
                states.add(stateTensor(l, l.initialH(), d, "the initial h"));
                if (l.initialC() != null) {
                    states.add(stateTensor(l, l.initialC(), d, "the initial c"));
                }
            }
        }
        boolean lstm = cls.equals("LSTM");
        JsonObject cfg;
        KLayer kl;
        String cell = KerasFiles.snake(cls) + "_cell";
        if (!bidi) {
            cfg = cellConfig(cls, h, acts.get(0), l.direction() == Direction.REVERSE, resetAfter);
            KT y = call(cls, cfg, List.of(in), new long[] {b, t, h});
            kl = y.ref().layer;
            addWeights(kl, (CellWeights) ws.get(0), "cell", kl.name + "/" + cell);
            kl.namedObjects.add(new String[] {"cell", cell});
        } else {
            String inner = innerName(cls);
            JsonObject f = cellConfig(cls, h, acts.get(0), false, resetAfter);
            f.addProperty("name", "forward_" + inner);
            JsonObject bk = cellConfig(cls, h, acts.get(1), true, resetAfter);
            bk.addProperty("name", "backward_" + inner);
            cfg = new JsonObject();
            cfg.addProperty("merge_mode", "concat");
            cfg.add("layer", KerasFiles.wrap(cls, f));
            cfg.add("backward_layer", KerasFiles.wrap(cls, bk));
            KT y = call("Bidirectional", cfg, List.of(in), new long[] {b, t, 2L * h});
            kl = y.ref().layer;
            addWeights(kl, (CellWeights) ws.get(0), "forward_layer/cell", kl.name + "/forward_" + inner + "/" + cell);
            addWeights(kl, (CellWeights) ws.get(1), "backward_layer/cell", kl.name + "/backward_" + inner + "/" + cell);
            kl.namedObjects.add(new String[] {"forward_layer", "forward_" + inner});
            kl.namedObjects.add(new String[] {"forward_layer/cell", cell});
            kl.namedObjects.add(new String[] {"backward_layer", "backward_" + inner});
            kl.namedObjects.add(new String[] {"backward_layer/cell", cell});
        }
        kl.recurrent = new KerasModel.Recurrent(bidi, lstm);
        kl.recurrent.zeroMasked = irMask != null && l.ports().zeroMaskedOutput();
        // Keras's last output (outputs[-1]) is the carried h unless masked steps output zeros, or a row masked throughout
        // keeps its initial state while its outputs stay zero
        kl.recurrent.lastDiffers = irMask != null && (l.ports().zeroMaskedOutput() || !states.isEmpty());
        for (KT st : states) {
            use(st);
            kl.initialState.add(st);
        }
        irNames.put(kl, l.name());
        if (irMask != null) {
            kmask.put(kl, irMask);
        } else {
            kmask.remove(kl);
        }
        boolean tm = l.layout() == Layout.TIME_MAJOR;
        List<Sym> outs = new ArrayList<>();
        if (!bidi) {
            KT seq = new KT(new Ref(kl, "seq", 0), new long[] {b, t, h}, "float32");
            int rev = l.direction() == Direction.REVERSE ? 1 : -1;
            outs.add(new Sym(seq, false, tm ? new int[] {1, UNIT, 0, 2} : new int[] {0, 1, UNIT, 2}, rev, null, null, null, -1, null, false));
            int[] st = tm ? new int[] {UNIT, 0, 1} : new int[] {0, UNIT, 1};
            outs.add(Sym.plain(new KT(new Ref(kl, "h", 0), new long[] {b, h}, "float32")).withAxes(st));
            outs.add(lstm ? Sym.plain(new KT(new Ref(kl, "c", 0), new long[] {b, h}, "float32")).withAxes(st) : null);
        } else {
            KT seq = new KT(new Ref(kl, "seq", 0), new long[] {b, t, 2L * h}, "float32");
            outs.add(new Sym(seq, true, tm ? new int[] {1, 2, 0, 3} : new int[] {0, 1, 2, 3}, -1, null, null, null, -1, null, false));
            int[] st = tm ? new int[] {1, 0, 2} : new int[] {0, 1, 2};
            outs.add(new Sym(null, true, st, -1, new Ref[] {new Ref(kl, "fh", 0), new Ref(kl, "bh", 0)}, "h", null, -1, null, false));
            outs.add(lstm ? new Sym(null, true, st, -1, new Ref[] {new Ref(kl, "fc", 0), new Ref(kl, "bc", 0)}, "c", null, -1, null, false)
                    : null);
        }
        return outs;
    }

    /** Whether {@code s} is a constant vector of {@code n} floats. */
    private static boolean constantVector(Sym s, long n) {
        return s.constant() != null && s.constant().rank() == 1 && s.constant().dim(0) == n && s.constant().dtype().isFloating();
    }

    /**
     * x * c or x + c (x - c) with c a constant vector over x's last axis — what the Keras reader makes
     * of BatchNormalization, y = x * s + t — as Keras's BatchNormalization at inference with
     * gamma = s (or 1), beta = t (or 0), moving_mean 0, and moving_variance 1 - epsilon, chosen so
     * that variance + epsilon is exactly 1 in float32 (Keras computes (x - mean) * gamma /
     * sqrt(variance + epsilon) + beta). A multiplication whose only reader adds a constant vector
     * takes the addition in as beta. Null when {@code l} is not that.
     */
    private Sym affine(Layer.Binary l, Sym a, Sym b) {
        if (l.op() == Layer.Binary.Op.DIV || a.constant() != null || b.constant() == null || a.stack() != null) {
            return null;
        }
        long n = sizeOf(l.a(), infos.get(l.a()) == null || !infos.get(l.a()).shape().rankKnown() ? 0
                : infos.get(l.a()).shape().rank() - 1);
        if (n <= 0 || !constantVector(b, n) || a.rank() < 2) {
            return null;
        }
        float[] c = b.constant().toFloatArray();
        float[] gamma = new float[(int) n];
        float[] beta = new float[(int) n];
        java.util.Arrays.fill(gamma, 1f);
        Layer.Binary add = null;
        if (l.op() == Layer.Binary.Op.MUL) {
            gamma = c;
            add = followingAddition(l, n);
            if (add != null) {
                beta = (add.a().equals(l.output()) ? syms.get(add.b()) : syms.get(add.a())).constant().toFloatArray().clone();
            }
        } else {
            for (int i = 0; i < n; i++) {
                beta[i] = l.op() == Layer.Binary.Op.ADD ? c[i] : -c[i];
            }
        }
        float eps = 1e-3f;
        float var = 1f - eps;
        if (var + eps != 1f) {
            return null;
        }
        float[] variance = new float[(int) n];
        java.util.Arrays.fill(variance, var);
        Sym x = withPairBase(a);
        Sym v = lastAxisView(x, "the input of layer '" + l.name() + "'");
        KT in = v.base();
        JsonObject cfg = new JsonObject();
        cfg.addProperty("axis", -1);
        cfg.addProperty("momentum", 0.99);
        cfg.addProperty("epsilon", (double) eps);
        cfg.addProperty("center", true);
        cfg.addProperty("scale", true);
        KT y = call("BatchNormalization", cfg, List.of(in), in.shape().clone());
        KLayer kl = y.ref().layer;
        int[] shape = {(int) n};
        kl.weights.add(weight("gamma", "", kl.name + "/gamma", Tensor.ofFloats(shape, gamma)));
        kl.weights.add(weight("beta", "", kl.name + "/beta", Tensor.ofFloats(shape, beta)));
        kl.weights.add(weight("moving_mean", "", kl.name + "/moving_mean", Tensor.ofFloats(shape, new float[(int) n])));
        kl.weights.add(weight("moving_variance", "", kl.name + "/moving_variance", Tensor.ofFloats(shape, variance)));
        Sym out = v.withBase(y);
        if (add != null) {
            absorbed.put(add.name(), out);
        }
        return out;
    }

    /**
     * x [B, 1, F] + zeros [n, 1] (the Keras reader's RepeatVector: the row broadcast over n steps)
     * as Keras's RepeatVector(n) of x [B, F]; null when {@code l} is not that.
     */
    private Sym repeatVector(Layer.Binary l, Sym a, Sym b) {
        Sym x = a.constant() == null ? a : b;
        Sym z = a.constant() == null ? b : a;
        if (l.op() != Layer.Binary.Op.ADD || z.constant() == null || x.constant() != null || x.stack() != null || z.constant().rank() != 2
                || z.constant().dim(1) != 1 || x.rank() != 3 || x.axes()[1] != UNIT) {
            return null;
        }
        for (float f : z.constant().toFloatArray()) {
            if (f != 0f) {
                return null;
            }
        }
        long n = z.constant().dim(0);
        KT row = materialize(x.withAxes(remove(x.axes(), 1)), "the input of layer '" + l.name() + "'");
        if (row.rank() != 2) {
            return null;
        }
        JsonObject cfg = new JsonObject();
        cfg.addProperty("n", n);
        return Sym.plain(call("RepeatVector", cfg, List.of(row), new long[] {row.shape()[0], n, row.shape()[1]}));
    }

    /** The one layer reading {@code value}, or null when none or several do, or it is a model output. */
    private Layer soleReader(String value) {
        Layer found = null;
        int readers = 0;
        for (Layer k : model.layers()) {
            if (k.inputs().contains(value)) {
                readers++;
                found = k;
            }
        }
        return readers == 1 && !model.outputNames().contains(value) ? found : null;
    }

    /** The multiplication by the scalar constant 0.5 that alone reads {@code add}'s output, or null. */
    private Layer.Binary halving(Layer.Binary add) {
        if (!(soleReader(add.output()) instanceof Layer.Binary mul) || mul.op() != Layer.Binary.Op.MUL) {
            return null;
        }
        String other = mul.a().equals(add.output()) ? mul.b() : mul.a();
        // the constant may come later in the model than the addition
        for (Layer c : model.layers()) {
            if (c instanceof Layer.Constant kc && kc.output().equals(other) && kc.value().size() == 1
                    && kc.value().dtype().isFloating() && kc.value().toFloatArray()[0] == 0.5f) {
                return mul;
            }
        }
        return null;
    }

    /** The addition of a constant vector that alone reads {@code mul}'s output, or null. */
    private Layer.Binary followingAddition(Layer.Binary mul, long n) {
        if (!(soleReader(mul.output()) instanceof Layer.Binary add) || add.op() != Layer.Binary.Op.ADD) {
            return null;
        }
        Sym o = syms.get(add.a().equals(mul.output()) ? add.b() : add.a());
        return o != null && constantVector(o, n) ? add : null;
    }

    /**
     * The token mask (value 0, ids compared one by one) that a recurrent layer reads, of the ids
     * {@code ids} or of the value they were cast from: Keras's Embedding(mask_zero=True) on them.
     */
    private Layer.StepMask tokenMask(String ids) {
        for (Layer.StepMask m : stepMasks.values()) {
            if (!m.anyOverLastAxis() && m.value() == 0f && masksRead.contains(m.output())
                    && (m.input().equals(ids) || m.input().equals(castSource.get(ids)))) {
                return m;
            }
        }
        return null;
    }

    /**
     * x * column of a feature mask of x (the Keras reader's Masking: StepMask over the last axis,
     * Unsqueeze to [B, T, 1], Binary MUL) written as Keras's Masking(mask_value); null when
     * {@code l} is not that.
     */
    private Sym masking(Layer.Binary l) {
        if (l.op() != Layer.Binary.Op.MUL) {
            return null;
        }
        String x = maskColumns.containsKey(l.b()) ? l.a() : maskColumns.containsKey(l.a()) ? l.b() : null;
        if (x == null) {
            return null;
        }
        Layer.StepMask m = stepMasks.get(maskColumns.get(x.equals(l.a()) ? l.b() : l.a()));
        Layer.Unsqueeze col = null;
        for (Layer k : model.layers()) {
            if (k instanceof Layer.Unsqueeze u && u.output().equals(x.equals(l.a()) ? l.b() : l.a())) {
                col = u;
            }
        }
        if (!m.anyOverLastAxis() || !m.input().equals(x) || col == null || !(col.axes().equals(List.of(2)) || col.axes().equals(List.of(-1)))) {
            throw refuse(l, "multiplies by the per-step mask '" + m.output() + "' in a way Keras's Masking does not (Masking: x * any(x != v, -1))");
        }
        KT in = materialize(sym(x), "the input of layer '" + l.name() + "'");
        if (in.rank() != 3) {
            throw refuse(l, "masks a rank-" + in.rank() + " value; Keras's Masking here takes [batch, time, features]");
        }
        JsonObject cfg = new JsonObject();
        cfg.addProperty("mask_value", (double) m.value());
        KT y = call("Masking", cfg, List.of(in), in.shape());
        kmask.put(y.ref().layer, m.output());
        return Sym.plain(y);
    }

    /**
     * A run [start, end) with step 1 of Keras axis 1 of a plain rank-3 view (a model input such as
     * PyTorch's h0 [layers x directions, batch, hidden], written batch-major [batch, L x D, hidden])
     * cut out by Keras's Cropping1D, which crops axis 1 of a [batch, steps, features] tensor; null
     * when the view is not that, the axis's size is unknown or the run is empty. Start and end count
     * from the end when negative, as the IR's Slice does.
     */
    private KT cropped(Sym x, int kerasAxis, long start, long end, long step) {
        KT t = x.base();
        if (t == null || kerasAxis != 1 || step != 1 || t.rank() != 3 || x.split() || x.reversed() >= 0 || x.dirs() != null
                || x.pairKind() != null || x.stack() != null || x.constant() != null || x.cast()) {
            return null;
        }
        long n = t.shape()[1];
        if (n <= 0) {
            return null;
        }
        long s = start < 0 ? Math.max(0, start + n) : Math.min(start, n);
        long e = end < 0 ? Math.max(0, end + n) : Math.min(end, n);
        if (s >= e) {
            return null;
        }
        if (s == 0 && e == n) {
            return t;
        }
        JsonObject cfg = new JsonObject();
        JsonArray crop = new JsonArray();
        crop.add(s);
        crop.add(n - e);
        cfg.add("cropping", crop);
        return call("Cropping1D", cfg, List.of(t), new long[] {t.shape()[0], e - s, t.shape()[2]});
    }

    /**
     * Direction d of a recurrent layer's initial state value ([D, B, W] time-major, [B, D, W]
     * batch-major) as a [batch, W] Keras tensor: an element of a stack of per-direction values, a
     * Bidirectional layer's returned state, or (one direction) the value without its direction axis.
     */
    private KT stateTensor(Layer.Recurrent l, String value, int d, String what) {
        boolean tm = l.layout() == Layout.TIME_MAJOR;
        int dirAxis = tm ? 0 : 1;
        int dirs = l.direction().count();
        String full = what + " of layer '" + l.name() + "'";
        Sym s = sym(value);
        if (s.constant() != null) {
            throw refuse(l, what + " is a constant; Keras's initial_state takes tensors");
        }
        Sym e = null;
        if (s.stack() != null) {
            if (s.stackAxis() == dirAxis && s.stack().size() == dirs && s.stack().get(d).axes() != null
                    && s.stack().get(d).axes()[dirAxis] == UNIT) {
                e = s.stack().get(d);
            }
        } else if (s.dirs() != null && s.split()) {
            return materialize(direction(s, dirAxis, d, false), full);
        } else if (dirs == 1 && s.axes()[dirAxis] == UNIT) {
            e = s;
        } else if (dirs == 1) {
            KT t = materialize(tm ? transpose(s, List.of(1, 0, 2)) : s, full);
            return reshape(t, new long[] {t.shape()[0], t.shape()[2]}, full);
        }
        if (e == null && s.stack() == null && s.dirs() == null && s.axes() != null && s.axes().length == 3 && s.axes()[dirAxis] == 1
                && s.axes()[tm ? 1 : 0] == 0) {
            // one [D, B, W] value of both directions (PyTorch's h0 of a one-layer bidirectional module): direction d cut out of
            // Keras's [batch, directions, size] by Cropping1D, then its unit axis dropped
            KT cut = cropped(s, 1, d, d + 1, 1);
            if (cut != null) {
                return reshape(cut, new long[] {cut.shape()[0], cut.shape()[2]}, full);
            }
        }
        if (e == null) {
            throw refuse(l, what + " is one [" + (tm ? "directions, batch" : "batch, directions") + ", size] value of both directions;"
                    + " Keras's Bidirectional takes each direction's as a tensor of its own, and lstmx writes no layer cutting them apart");
        }
        return materialize(e.withAxes(remove(e.axes(), dirAxis)), full);
    }

    private String innerName(String cls) {
        String base = KerasFiles.snake(cls);
        int k = counters.merge(base, 1, Integer::sum) - 1;
        return k == 0 ? base : base + "_" + k;
    }

    /**
     * One direction's weights of a recurrent layer in the IR's layout (W [gates*H, I], R [gates*H, H]),
     * the bias in Keras' (gate order, shape), and the GRU gate order W and R are written in (null:
     * as they are).
     */
    record CellWeights(Tensor w, Tensor r, Tensor bias, GateOrder.Gru gruOrder) {
    }

    private void addWeights(KLayer kl, CellWeights cw, String path, String legacy) {
        String[] names = {"kernel", "recurrent_kernel", "bias"};
        Tensor[] w = {cw.w(), cw.r(), cw.bias()};
        for (int i = 0; i < 3; i++) {
            int[] shape = i < 2 ? new int[] {w[i].dim(1), w[i].dim(0)} : w[i].shape();
            H5Writer.Values values = i < 2 ? KerasModel.transposed(w[i], cw.gruOrder()) : KerasModel.of(w[i]);
            kl.weights.add(new KerasModel.Weight(names[i], path, out.name + "/" + legacy + "/" + names[i], shape, values));
        }
    }

    private static JsonObject cellConfig(String cls, int units, List<String> acts, boolean backwards, boolean resetAfter) {
        JsonObject c = new JsonObject();
        c.addProperty("trainable", true);
        c.add("dtype", KerasFiles.policy());
        c.addProperty("return_sequences", false);
        c.addProperty("return_state", false);
        c.addProperty("go_backwards", backwards);
        c.addProperty("stateful", false);
        c.addProperty("unroll", false);
        c.addProperty("zero_output_for_mask", false);
        c.addProperty("units", units);
        if (cls.equals("SimpleRNN")) {
            c.addProperty("activation", acts.get(0));
        } else {
            c.addProperty("activation", acts.get(1));
            c.addProperty("recurrent_activation", acts.get(0));
        }
        c.addProperty("use_bias", true);
        if (cls.equals("LSTM")) {
            c.addProperty("unit_forget_bias", true);
        }
        c.addProperty("dropout", 0.0);
        c.addProperty("recurrent_dropout", 0.0);
        if (cls.equals("GRU")) {
            c.addProperty("reset_after", resetAfter);
        }
        c.add("seed", null);
        return c;
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
