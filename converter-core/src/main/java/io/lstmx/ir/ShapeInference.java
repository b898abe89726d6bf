package io.lstmx.ir;

import io.lstmx.errors.LstmxException;
import io.lstmx.util.SafeText;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Static shape and type inference over an IR model, with consistency checks. Starting from the
 * declared inputs, every layer's outputs get an element type and a shape with ONNX semantics
 * (see each {@link Layer}'s Javadoc). A dimension that cannot be known statically is an anonymous
 * {@link Dim.Symbolic} (empty name); an unknown rank is {@link Shape#UNKNOWN}.
 *
 * <p>While inferring, every statically decidable inconsistency (a recurrent layer's input whose last dimension is
 * not the input size, a Dense input that does not fit the weight, fixed dimensions that do not
 * broadcast, a squeezed axis that is not 1, a declared output that differs from what its layer
 * produces ...) is a BAD_INPUT error naming the model, the layer and what was expected vs found.
 * Symbolic and unknown dimensions are never errors: the runtime checks them on actual values.
 * Two symbolic dimensions are equal only when they carry the same non-empty name. A layer is named
 * by its IR name, followed by its name in the source format when that differs
 * ({@link ModelInfo.SourceNames}).
 *
 * <p>Half precision ({@link DType#isHalf}) is a storage type: a layer holding half weights or a
 * half constant produces FLOAT32 values (the runtime widens them when it compiles the model).
 * Model inputs, outputs and Cast targets in half precision are UNSUPPORTED.
 */
public final class ShapeInference {
    /** An anonymous dimension: known only at run time, and equal to no other. */
    private static final Dim ANY = new Dim.Symbolic("");

    private final Model model;
    private final Map<String, ValueInfo> values;
    /** Layer writing each value; absent for model inputs. */
    private final Map<String, Layer> producers;

    private ShapeInference(Model model) {
        this.model = model;
        // Sized up front (most layers write one value): growing them step by step costs more than filling them.
        int capacity = (int) Math.min(1 << 30, (model.inputs().size() + model.layers().size()) * 4L / 3 + 16);
        values = new LinkedHashMap<>(capacity);
        producers = new HashMap<>(capacity);
    }

    /**
     * Element type and shape of every value of {@code model} (inputs as declared, then each layer's
     * outputs), in definition order. Throws BAD_INPUT when the model is inconsistent.
     */
    public static Map<String, ValueInfo> infer(Model model) {
        ShapeInference s = new ShapeInference(model);
        for (ValueInfo v : model.inputs()) {
            s.refuseHalf("input", v);
            s.values.put(v.name(), v);
        }
        for (ValueInfo v : model.outputs()) {
            s.refuseHalf("output", v);
        }
        Rules rules = s.new Rules();
        for (Layer l : model.layers()) {
            List<ValueInfo> outs = l.accept(rules);
            List<String> names = l.outputs();
            if (outs.size() != names.size()) {
                throw LstmxException.internal("shape inference of layer '" + l.name() + "' gave " + outs.size()
                        + " outputs for " + SafeText.list(names));
            }
            for (int i = 0; i < outs.size(); i++) {
                s.values.put(names.get(i), outs.get(i));
                s.producers.put(names.get(i), l);
            }
        }
        s.checkDeclaredOutputs();
        return Collections.unmodifiableMap(s.values);
    }

    /** Model inputs and outputs are computed in float32; half precision is for stored weights only. */
    private void refuseHalf(String what, ValueInfo v) {
        if (v.dtype().isHalf()) {
            throw LstmxException.unsupported("model '" + model.name() + "': " + what + " '" + v.name() + "' is declared "
                    + type(v.dtype()) + "; lstmx computes in float32 and keeps half precision only as a storage type of weights"
                    + " and constants, so declare it float32");
        }
    }

    // ---------------------------------------------------------------- declared outputs

    /** A declared output must agree with what its layer produces where both are fixed. */
    private void checkDeclaredOutputs() {
        for (ValueInfo declared : model.outputs()) {
            ValueInfo found = values.get(declared.name());
            if (declared.dtype().isFloating() != found.dtype().isFloating()) {
                throw outputMismatch(declared, type(declared.dtype()), type(found.dtype()));
            }
            Shape d = declared.shape();
            Shape f = found.shape();
            if (!d.rankKnown() || !f.rankKnown()) {
                continue;
            }
            boolean ok = d.rank() == f.rank();
            for (int i = 0; ok && i < d.rank(); i++) {
                ok = merge(d.dim(i), f.dim(i)) != null;
            }
            if (!ok) {
                throw outputMismatch(declared, d.toString(), f.toString());
            }
        }
    }

    /** The message is built only on failure: a model may declare 100,000 outputs. */
    private LstmxException outputMismatch(ValueInfo declared, String expected, String found) {
        Layer by = producers.get(declared.name());
        String source = by == null ? "the input of that name" : "layer '" + by.name() + "' (" + by.kind() + ")";
        return LstmxException.badInput("model '" + model.name() + "': output '" + declared.name() + "' is declared " + expected
                + ", but " + source + " produces " + found);
    }

    // ---------------------------------------------------------------- dispatch

    /** The rule of each kind of layer: its outputs' types and shapes, its checks. */
    private final class Rules implements Layer.Visitor<List<ValueInfo>> {
        @Override
        public List<ValueInfo> visit(Layer.Constant c) {
            // half-precision constants are widened when the model is compiled
            return List.of(out(c.output(), c.value().dtype().computeType(), fixed(c.value().shape())));
        }

        @Override public List<ValueInfo> visit(Layer.Lstm l) { return recurrent(l); }
        @Override public List<ValueInfo> visit(Layer.Gru g) { return recurrent(g); }
        @Override public List<ValueInfo> visit(Layer.Rnn r) { return recurrent(r); }
        @Override public List<ValueInfo> visit(Layer.Dense d) { return List.of(dense(d)); }
        @Override public List<ValueInfo> visit(Layer.Embedding e) { return List.of(embedding(e)); }

        @Override
        public List<ValueInfo> visit(Layer.Activation a) {
            ValueInfo x = requireFloat(a, "input", a.input());
            return List.of(out(a.output(), x.dtype(), x.shape()));
        }

        @Override
        public List<ValueInfo> visit(Layer.Softmax s) {
            ValueInfo x = requireFloat(s, "input", s.input());
            if (x.shape().rankKnown()) {
                axis(s, "axis", s.axis(), x.shape().rank(), s.input());
            }
            return List.of(out(s.output(), x.dtype(), x.shape()));
        }

        @Override public List<ValueInfo> visit(Layer.Dropout d) { return List.of(same(d.input(), d.output())); }
        @Override public List<ValueInfo> visit(Layer.Identity i) { return List.of(same(i.input(), i.output())); }
        @Override public List<ValueInfo> visit(Layer.Binary b) { return List.of(binary(b)); }
        @Override public List<ValueInfo> visit(Layer.MatMul m) { return List.of(matmul(m)); }
        @Override public List<ValueInfo> visit(Layer.Concat c) { return List.of(concat(c)); }
        @Override public List<ValueInfo> visit(Layer.Transpose t) { return List.of(transpose(t)); }
        @Override public List<ValueInfo> visit(Layer.Reshape r) { return List.of(reshape(r)); }
        @Override public List<ValueInfo> visit(Layer.Flatten f) { return List.of(flatten(f)); }
        @Override public List<ValueInfo> visit(Layer.Squeeze s) { return List.of(squeeze(s)); }
        @Override public List<ValueInfo> visit(Layer.Unsqueeze u) { return List.of(unsqueeze(u)); }
        @Override public List<ValueInfo> visit(Layer.Select s) { return List.of(select(s)); }
        @Override public List<ValueInfo> visit(Layer.Take t) { return List.of(take(t)); }
        @Override public List<ValueInfo> visit(Layer.Slice s) { return List.of(slice(s)); }

        @Override
        public List<ValueInfo> visit(Layer.LayerNorm n) {
            ValueInfo x = requireFloat(n, "input", n.input());
            Shape s = x.shape();
            if (s.rankKnown()) {
                if (s.rank() == 0) {
                    throw fail(n, "input '" + n.input() + "' is a scalar, expected a last axis to normalise");
                }
                Dim last = s.dim(s.rank() - 1);
                if (n.features() >= 0 && size(last) >= 0 && size(last) != n.features()) {
                    throw fail(n, "input '" + n.input() + "' " + s + " has last dimension " + last + ", expected " + n.features()
                            + " (gamma and beta)");
                }
            }
            return List.of(out(n.output(), DType.FLOAT32, s));
        }

        @Override
        public List<ValueInfo> visit(Layer.StepMask m) {
            ValueInfo x = get(m.input());
            Shape s = x.shape();
            if (m.anyOverLastAxis() && s.rankKnown()) {
                if (s.rank() == 0) {
                    throw fail(m, "input '" + m.input() + "' is a scalar, expected a last axis of features to test");
                }
                s = new Shape(s.dims().subList(0, s.rank() - 1));
            }
            return List.of(out(m.output(), DType.FLOAT32, s));
        }

        @Override
        public List<ValueInfo> visit(Layer.Cast c) {
            if (c.to().isHalf()) {
                // values are float32 at run time; rounding them to half would need a half value type
                throw LstmxException.unsupported(describe(c) + " casts to " + type(c.to())
                        + "; lstmx computes in float32 and keeps half precision only as a storage type of weights");
            }
            ValueInfo x = get(c.input());
            return List.of(out(c.output(), c.to(), x.shape()));
        }
    }

    // ---------------------------------------------------------------- LSTM, GRU, RNN

    /** LSTM, GRU and simple RNN: the same ports and rules, the cell state for LSTM only. */
    private List<ValueInfo> recurrent(Layer.Recurrent l) {
        boolean bm = l.layout() == Layout.BATCH_MAJOR;
        long dirs = l.direction().count();
        long hOut = l.outputSize();
        boolean projected = l instanceof Layer.Lstm lstm && lstm.spec().projSize() > 0;
        Dim[] tb = sequence(l, l.input(), l.sequenceLengths(), bm, l.inputSize());
        tb = stepMask(l, l.ports().mask(), bm, tb);
        Dim batch = initialState(l, bm, "initial h", l.initialH(), dirs, tb[1], hOut, projected ? "projection size" : "hidden size");
        batch = initialState(l, bm, "initial c", l.initialC(), dirs, batch, l.cellWidth(), "hidden size");
        List<ValueInfo> outs = recurrentOutputs(bm, dirs, tb[0], batch, hOut, l.outputSequence(), l.outputH());
        if (present(l.outputC())) {
            outs.add(out(l.outputC(), DType.FLOAT32, stateShape(bm, dirs, batch, l.cellWidth())));
        }
        return outs;
    }

    /**
     * Checks a recurrent layer's sequence input ([T, B, I] time-major, [B, T, I] batch-major) and
     * its optional sequence lengths ([B] integers); returns {time, batch}, batch refined by the lengths.
     */
    private Dim[] sequence(Layer l, String input, String lens, boolean bm, int inputSize) {
        ValueInfo x = requireFloat(l, "input", input);
        Dim time = ANY;
        Dim batch = ANY;
        if (x.shape().rankKnown()) {
            Shape xs = x.shape();
            if (xs.rank() != 3) {
                throw fail(l, "input '" + input + "' has shape " + xs + ", expected rank 3 "
                        + (bm ? "[batch, time, " : "[time, batch, ") + inputSize + "]");
            }
            if (size(xs.dim(2)) >= 0 && size(xs.dim(2)) != inputSize) {
                throw fail(l, "input '" + input + "' has last dimension " + xs.dim(2) + ", expected input size " + inputSize);
            }
            time = bm ? xs.dim(1) : xs.dim(0);
            batch = bm ? xs.dim(0) : xs.dim(1);
        }
        if (present(lens)) {
            ValueInfo n = get(lens);
            String what = "sequence lengths '" + n.name() + "'";
            if (n.dtype().isFloating()) {
                throw fail(l, what + " are " + type(n.dtype()) + ", expected integers");
            }
            if (n.shape().rankKnown()) {
                if (n.shape().rank() != 1) {
                    throw fail(l, what + " have shape " + n.shape() + ", expected rank 1 [" + batch + "] (one length per batch row)");
                }
                Dim b = merge(batch, n.shape().dim(0));
                if (b == null) {
                    throw fail(l, what + " have shape " + n.shape() + ", expected [" + batch + "] (the batch size of input '" + input + "')");
                }
                batch = b;
            }
        }
        return new Dim[] {time, batch};
    }

    /** Checks a per-step mask against [T, B] (time-major) or [B, T]; returns {time, batch}, refined. */
    private Dim[] stepMask(Layer.Recurrent l, String mask, boolean bm, Dim[] tb) {
        if (!present(mask)) {
            return tb;
        }
        ValueInfo m = requireFloat(l, "mask", mask);
        if (!m.shape().rankKnown()) {
            return tb;
        }
        Shape ms = m.shape();
        Dim t = ms.rank() == 2 ? merge(ms.dim(bm ? 1 : 0), tb[0]) : null;
        Dim b = ms.rank() == 2 ? merge(ms.dim(bm ? 0 : 1), tb[1]) : null;
        if (t == null || b == null) {
            throw fail(l, "mask '" + mask + "' has shape " + ms + ", expected " + (bm ? shape(tb[1], tb[0]) + " [batch, time]"
                    : shape(tb[0], tb[1]) + " [time, batch]") + " like its input '" + l.input() + "'");
        }
        return new Dim[] {t, b};
    }

    /** Y [T, D, B, size] / [B, T, D, size] and Y_h [D, B, size] / [B, D, size], those present. */
    private static List<ValueInfo> recurrentOutputs(boolean bm, long dirs, Dim time, Dim batch, long size, String y, String yh) {
        List<ValueInfo> outs = new ArrayList<>();
        if (present(y)) {
            outs.add(out(y, DType.FLOAT32,
                    bm ? shape(batch, time, Dim.of(dirs), Dim.of(size)) : shape(time, Dim.of(dirs), batch, Dim.of(size))));
        }
        if (present(yh)) {
            outs.add(out(yh, DType.FLOAT32, stateShape(bm, dirs, batch, size)));
        }
        return outs;
    }

    /** Checks an initial state against [D, B, size] (time-major) or [B, D, size]; returns the batch dimension, refined. */
    private Dim initialState(Layer l, boolean bm, String what, String name, long dirs, Dim batch, long size, String sizeName) {
        if (!present(name)) {
            return batch;
        }
        ValueInfo v = requireFloat(l, what, name);
        Shape expected = stateShape(bm, dirs, batch, size);
        Shape found = v.shape();
        if (!found.rankKnown()) {
            return batch;
        }
        boolean ok = found.rank() == 3;
        Dim b = batch;
        if (ok) {
            Dim d = merge(found.dim(bm ? 1 : 0), Dim.of(dirs));
            Dim last = merge(found.dim(2), Dim.of(size));
            b = merge(found.dim(bm ? 0 : 1), batch);
            ok = d != null && last != null && b != null;
        }
        if (!ok) {
            throw fail(l, what + " '" + name + "' has shape " + found + ", expected " + expected
                    + (bm ? " [batch, directions, " : " [directions, batch, ") + sizeName + "]");
        }
        return b;
    }

    private static Shape stateShape(boolean batchMajor, long dirs, Dim batch, long size) {
        return batchMajor ? shape(batch, Dim.of(dirs), Dim.of(size)) : shape(Dim.of(dirs), batch, Dim.of(size));
    }

    // ---------------------------------------------------------------- Dense, Embedding

    private ValueInfo dense(Layer.Dense d) {
        ValueInfo x = requireFloat(d, "input", d.input());
        long out = d.weight().dim(0);
        long in = d.weight().dim(1);
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return out(d.output(), DType.FLOAT32, Shape.UNKNOWN);
        }
        if (s.rank() == 0) {
            throw fail(d, "input '" + d.input() + "' is a scalar, expected [..., " + in + "] (weight [" + out + ", " + in + "])");
        }
        Dim last = s.dim(s.rank() - 1);
        if (size(last) >= 0 && size(last) != in) {
            throw fail(d, "input '" + d.input() + "' " + s + " has last dimension " + last + ", expected " + in
                    + " (weight [" + out + ", " + in + "])");
        }
        List<Dim> dims = new ArrayList<>(s.dims());
        dims.set(dims.size() - 1, Dim.of(out));
        return out(d.output(), DType.FLOAT32, new Shape(dims));
    }

    private ValueInfo embedding(Layer.Embedding e) {
        ValueInfo x = get(e.input());
        if (x.dtype().isFloating()) {
            throw fail(e, "input '" + e.input() + "' is " + type(x.dtype()) + " " + x.shape() + ", expected integer indices");
        }
        Shape s = x.shape();
        DType dt = e.table().dtype().computeType(); // a half-precision table is widened when compiled
        if (!s.rankKnown()) {
            return out(e.output(), dt, Shape.UNKNOWN);
        }
        List<Dim> dims = new ArrayList<>(s.dims());
        dims.add(Dim.of(e.table().dim(1)));
        return out(e.output(), dt, new Shape(dims));
    }

    // ---------------------------------------------------------------- Binary, MatMul

    private ValueInfo binary(Layer.Binary b) {
        ValueInfo x = get(b.a());
        ValueInfo y = get(b.b());
        if (x.dtype().isFloating() != y.dtype().isFloating()) {
            throw fail(b, "operands '" + b.a() + "' (" + type(x.dtype()) + ") and '" + b.b() + "' (" + type(y.dtype())
                    + ") must both be float or both integer");
        }
        DType dt = x.dtype().isFloating() ? DType.FLOAT32
                : x.dtype() == DType.INT64 || y.dtype() == DType.INT64 ? DType.INT64 : x.dtype();
        if (!x.shape().rankKnown() || !y.shape().rankKnown()) {
            return out(b.output(), dt, Shape.UNKNOWN);
        }
        return out(b.output(), dt, new Shape(broadcast(b, x, y, x.shape().dims(), y.shape().dims())));
    }

    /** NumPy broadcasting; fixed sizes that differ and are not 1 are an error. */
    private List<Dim> broadcast(Layer l, ValueInfo x, ValueInfo y, List<Dim> a, List<Dim> b) {
        int r = Math.max(a.size(), b.size());
        List<Dim> out = new ArrayList<>(r);
        for (int k = 0; k < r; k++) {
            Dim da = k - (r - a.size()) >= 0 ? a.get(k - (r - a.size())) : Dim.of(1);
            Dim db = k - (r - b.size()) >= 0 ? b.get(k - (r - b.size())) : Dim.of(1);
            long sa = size(da);
            long sb = size(db);
            if (sa == 1) {
                out.add(db);
            } else if (sb == 1) {
                out.add(da);
            } else if (sa >= 0 && sb >= 0) {
                if (sa != sb) {
                    throw fail(l, "operands '" + x.name() + "' " + x.shape() + " and '" + y.name() + "' " + y.shape()
                            + " do not broadcast: dimension " + sa + " vs " + sb + " (expected equal sizes or 1)");
                }
                out.add(da);
            } else if (sa >= 0) {
                out.add(da); // the symbolic side must be 1 or this size
            } else if (sb >= 0) {
                out.add(db);
            } else {
                out.add(sameSymbol(da, db) ? da : ANY);
            }
        }
        return out;
    }

    private ValueInfo matmul(Layer.MatMul m) {
        ValueInfo a = requireFloat(m, "first operand", m.a());
        ValueInfo b = requireFloat(m, "second operand", m.b());
        Shape sa = a.shape();
        Shape sb = b.shape();
        if (sa.rankKnown() && sa.rank() == 0 || sb.rankKnown() && sb.rank() == 0) {
            throw fail(m, "operands '" + m.a() + "' " + sa + " and '" + m.b() + "' " + sb + " must have rank >= 1");
        }
        if (!sa.rankKnown() || !sb.rankKnown()) {
            return out(m.output(), DType.FLOAT32, Shape.UNKNOWN);
        }
        List<Dim> as = new ArrayList<>(sa.dims());
        List<Dim> bs = new ArrayList<>(sb.dims());
        if (as.size() == 1) {
            as.add(0, Dim.of(1));
        }
        if (bs.size() == 1) {
            bs.add(Dim.of(1));
        }
        Dim depthA = as.get(as.size() - 1);
        Dim depthB = bs.get(bs.size() - 2);
        if (merge(depthA, depthB) == null) {
            throw fail(m, "inner dimensions differ: '" + m.a() + "' " + sa + " x '" + m.b() + "' " + sb
                    + " (" + depthA + " vs " + depthB + ")");
        }
        List<Dim> dims = broadcast(m, a, b, as.subList(0, as.size() - 2), bs.subList(0, bs.size() - 2));
        if (sa.rank() > 1) {
            dims.add(as.get(as.size() - 2));
        }
        if (sb.rank() > 1) {
            dims.add(bs.get(bs.size() - 1));
        }
        return out(m.output(), DType.FLOAT32, new Shape(dims));
    }

    // ---------------------------------------------------------------- movement

    private ValueInfo concat(Layer.Concat c) {
        if (c.inputs().isEmpty()) {
            throw fail(c, "has no inputs");
        }
        ValueInfo first = get(c.inputs().get(0));
        boolean floating = first.dtype().isFloating();
        DType dt = first.dtype();
        int rank = -1;
        ValueInfo ranked = null;
        for (String name : c.inputs()) {
            ValueInfo v = get(name);
            if (v.dtype().isFloating() != floating) {
                throw fail(c, "input '" + name + "' is " + type(v.dtype()) + ", expected " + type(first.dtype()) + " like input '" + first.name() + "'");
            }
            if (v.dtype() == DType.INT64) {
                dt = DType.INT64;
            }
            if (v.shape().rankKnown()) {
                if (ranked != null && v.shape().rank() != rank) {
                    throw fail(c, "input '" + name + "' has shape " + v.shape() + ", expected rank " + rank + " like input '"
                            + ranked.name() + "' " + ranked.shape());
                }
                if (ranked == null) {
                    rank = v.shape().rank();
                    ranked = v; // the reference the others are checked against
                }
            }
        }
        if (ranked == null) {
            return out(c.output(), dt, Shape.UNKNOWN);
        }
        int axis = axis(c, "axis", c.axis(), rank, ranked.name());
        List<Dim> dims = new ArrayList<>(ranked.shape().dims());
        long total = 0;
        for (String name : c.inputs()) {
            ValueInfo v = get(name);
            if (!v.shape().rankKnown()) {
                total = -1;
                continue;
            }
            for (int k = 0; k < rank; k++) {
                if (k == axis) {
                    continue;
                }
                Dim m = merge(dims.get(k), v.shape().dim(k));
                if (m == null) {
                    throw fail(c, "input '" + name + "' has shape " + v.shape() + ", expected dimension " + k + " = " + dims.get(k)
                            + " as in input '" + ranked.name() + "' " + ranked.shape() + " (only axis " + axis + " may differ)");
                }
                dims.set(k, m);
            }
            long n = size(v.shape().dim(axis));
            total = total < 0 || n < 0 ? -1 : total + n;
        }
        dims.set(axis, total >= 0 ? Dim.of(total) : c.inputs().size() == 1 ? ranked.shape().dim(axis) : ANY);
        return out(c.output(), floating ? DType.FLOAT32 : dt, new Shape(dims));
    }

    private ValueInfo transpose(Layer.Transpose t) {
        ValueInfo x = get(t.input());
        Shape s = x.shape();
        int r = s.rankKnown() ? s.rank() : t.perm().size();
        if (t.perm().isEmpty()) {
            if (!s.rankKnown()) {
                return out(t.output(), x.dtype(), Shape.UNKNOWN);
            }
            List<Dim> dims = new ArrayList<>(s.dims());
            Collections.reverse(dims);
            return out(t.output(), x.dtype(), new Shape(dims));
        }
        if (t.perm().size() != r) {
            throw fail(t, "perm " + SafeText.list(t.perm()) + " has " + t.perm().size() + " entries, but input '" + t.input() + "' " + s + " has rank " + r);
        }
        boolean[] seen = new boolean[r];
        List<Dim> dims = new ArrayList<>(r);
        for (int p : t.perm()) {
            int a = p < 0 ? p + r : p;
            if (a < 0 || a >= r || seen[a]) {
                throw fail(t, "perm " + SafeText.list(t.perm()) + " is not a permutation of the " + r + " axes of input '" + t.input() + "'");
            }
            seen[a] = true;
            dims.add(s.rankKnown() ? s.dim(a) : ANY);
        }
        return out(t.output(), x.dtype(), new Shape(dims));
    }

    private ValueInfo reshape(Layer.Reshape r) {
        ValueInfo x = get(r.input());
        Shape in = x.shape();
        List<Long> spec = r.shape();
        List<Dim> dims = new ArrayList<>(spec.size());
        int infer = -1;
        for (int i = 0; i < spec.size(); i++) {
            long s = spec.get(i);
            if (s == 0) {
                if (in.rankKnown() && i >= in.rank()) {
                    throw fail(r, "target " + SafeText.list(spec) + " copies dimension " + i + " (0), but input '" + r.input() + "' " + in + " has rank " + in.rank());
                }
                dims.add(in.rankKnown() ? in.dim(i) : ANY);
            } else if (s == -1) {
                if (infer >= 0) {
                    throw fail(r, "target " + SafeText.list(spec) + " has more than one -1");
                }
                infer = i;
                dims.add(ANY);
            } else if (s < -1 || s > Integer.MAX_VALUE) {
                throw fail(r, "target " + SafeText.list(spec) + " has the invalid entry " + s);
            } else {
                dims.add(Dim.of(s));
            }
        }
        if (in.rankKnown()) {
            List<Dim> others = new ArrayList<>(dims);
            if (infer >= 0) {
                others.remove(infer);
            }
            Factor fin = Factor.of(in.dims());
            Factor fout = Factor.of(others);
            Factor rest = fin == null || fout == null ? null : fin.over(fout);
            if (rest != null && infer >= 0) {
                if (rest.symbols.isEmpty() && (fout.fixed == 0 || fin.fixed % fout.fixed != 0)) {
                    throw fail(r, "cannot infer the -1 of target " + SafeText.list(spec) + " for input '" + r.input() + "' " + in
                            + " (" + fin.fixed + " elements over " + fout.fixed + ")");
                }
                if (fout.fixed != 0 && fin.fixed % fout.fixed == 0) {
                    long q = fin.fixed / fout.fixed;
                    if (rest.symbols.isEmpty()) {
                        dims.set(infer, Dim.of(q));
                    } else if (rest.symbols.size() == 1 && q == 1) {
                        dims.set(infer, Dim.of(rest.symbols.get(0)));
                    }
                }
            } else if (rest != null && rest.symbols.isEmpty() && fin.fixed != fout.fixed) {
                throw fail(r, "cannot reshape input '" + r.input() + "' " + in + " (" + fin.fixed + " elements) to " + SafeText.list(spec)
                        + " (" + fout.fixed + " elements)");
            }
        }
        return out(r.output(), x.dtype(), new Shape(dims));
    }

    private ValueInfo flatten(Layer.Flatten f) {
        ValueInfo x = get(f.input());
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return out(f.output(), x.dtype(), shape(f.axis() == 0 ? Dim.of(1) : ANY, ANY));
        }
        int r = s.rank();
        int a = f.axis() < 0 ? f.axis() + r : f.axis();
        if (a < 0 || a > r) {
            throw fail(f, "axis " + f.axis() + " is out of range for input '" + f.input() + "' " + s + " (allowed " + (-r) + " .. " + r + ")");
        }
        return out(f.output(), x.dtype(), shape(product(s.dims().subList(0, a)), product(s.dims().subList(a, r))));
    }

    private ValueInfo squeeze(Layer.Squeeze q) {
        ValueInfo x = get(q.input());
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return out(q.output(), x.dtype(), Shape.UNKNOWN);
        }
        int r = s.rank();
        boolean[] drop = new boolean[r];
        if (q.axes().isEmpty()) {
            for (int i = 0; i < r; i++) {
                if (!s.dim(i).isFixed()) {
                    // whether it is 1 (and dropped) is known only at run time, and with it the rank
                    return out(q.output(), x.dtype(), Shape.UNKNOWN);
                }
                drop[i] = size(s.dim(i)) == 1;
            }
        } else {
            for (int ax : q.axes()) {
                int a = axis(q, "axis", ax, r, q.input());
                long n = size(s.dim(a));
                if (n >= 0 && n != 1) {
                    throw fail(q, "axis " + ax + " of input '" + q.input() + "' " + s + " has size " + n + ", expected 1");
                }
                drop[a] = true;
            }
        }
        List<Dim> dims = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            if (!drop[i]) {
                dims.add(s.dim(i));
            }
        }
        return out(q.output(), x.dtype(), new Shape(dims));
    }

    private ValueInfo unsqueeze(Layer.Unsqueeze u) {
        ValueInfo x = get(u.input());
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return out(u.output(), x.dtype(), Shape.UNKNOWN);
        }
        int outRank = s.rank() + u.axes().size();
        boolean[] added = new boolean[outRank];
        for (int ax : u.axes()) {
            int a = axis(u, "axis", ax, outRank, u.input());
            if (added[a]) {
                throw fail(u, "axes " + SafeText.list(u.axes()) + " repeat axis " + a);
            }
            added[a] = true;
        }
        List<Dim> dims = new ArrayList<>(outRank);
        int k = 0;
        for (int i = 0; i < outRank; i++) {
            dims.add(added[i] ? Dim.of(1) : s.dim(k++));
        }
        return out(u.output(), x.dtype(), new Shape(dims));
    }

    private ValueInfo select(Layer.Select sel) {
        ValueInfo x = get(sel.input());
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return out(sel.output(), x.dtype(), Shape.UNKNOWN);
        }
        int a = axis(sel, "axis", sel.axis(), s.rank(), sel.input());
        checkIndex(sel, sel.index(), s, a, sel.input());
        List<Dim> dims = new ArrayList<>(s.dims());
        dims.remove(a);
        return out(sel.output(), x.dtype(), new Shape(dims));
    }

    private ValueInfo take(Layer.Take t) {
        ValueInfo x = get(t.input());
        if (t.indices().dtype().isFloating()) {
            throw fail(t, "indices are " + type(t.indices().dtype()) + ", expected integers");
        }
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return out(t.output(), x.dtype(), Shape.UNKNOWN);
        }
        int a = axis(t, "axis", t.axis(), s.rank(), t.input());
        for (long i : t.indices().toLongArray()) {
            checkIndex(t, i, s, a, t.input());
        }
        List<Dim> dims = new ArrayList<>(s.dims().subList(0, a));
        dims.addAll(fixed(t.indices().shape()).dims());
        dims.addAll(s.dims().subList(a + 1, s.rank()));
        return out(t.output(), x.dtype(), new Shape(dims));
    }

    private void checkIndex(Layer l, long index, Shape s, int axis, String input) {
        long n = size(s.dim(axis));
        if (n >= 0 && (index < -n || index >= n)) {
            throw fail(l, "index " + index + " is out of range for axis " + axis + " of input '" + input + "' " + s
                    + " (expected " + (-n) + " .. " + (n - 1) + ")");
        }
    }

    private ValueInfo slice(Layer.Slice sl) {
        ValueInfo x = get(sl.input());
        if (sl.step() == 0) {
            throw fail(sl, "step is 0, expected a non-zero step");
        }
        Shape s = x.shape();
        if (!s.rankKnown()) {
            return out(sl.output(), x.dtype(), Shape.UNKNOWN);
        }
        int a = axis(sl, "axis", sl.axis(), s.rank(), sl.input());
        List<Dim> dims = new ArrayList<>(s.dims());
        long n = size(s.dim(a));
        if (n >= 0) {
            dims.set(a, Dim.of(SliceRange.of(n, sl.start(), sl.end(), sl.step()).count()));
        } else if (sl.start() == 0 && sl.step() == 1 && sl.end() >= Integer.MAX_VALUE) {
            dims.set(a, s.dim(a)); // the whole axis, whatever its size
        } else {
            dims.set(a, ANY);
        }
        return out(sl.output(), x.dtype(), new Shape(dims));
    }

    // ---------------------------------------------------------------- helpers

    private ValueInfo get(String name) {
        ValueInfo v = values.get(name);
        if (v == null) {
            // Model's constructor guarantees definition before use
            throw LstmxException.internal("model '" + model.name() + "': value '" + name + "' has no inferred shape");
        }
        return v;
    }

    private ValueInfo same(String in, String out) {
        ValueInfo x = get(in);
        return out(out, x.dtype(), x.shape());
    }

    private ValueInfo requireFloat(Layer l, String what, String name) {
        ValueInfo v = get(name);
        if (!v.dtype().isFloating()) {
            throw fail(l, what + " '" + name + "' is " + type(v.dtype()) + " " + v.shape() + ", expected a float tensor");
        }
        return v;
    }

    private int axis(Layer l, String what, int axis, int rank, String input) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw fail(l, what + " " + axis + " is out of range for input '" + input + "' of rank " + rank
                    + " (expected " + (-rank) + " .. " + (rank - 1) + ")");
        }
        return a;
    }

    private LstmxException fail(Layer l, String message) {
        return LstmxException.badInput(describe(l) + " " + message);
    }

    /** "model 'm': layer 'x' (LSTM)", with the layer's name in the source format when it differs. */
    private String describe(Layer l) {
        String source = model.info() == null ? null : model.info().sourceNames().layer(l.name());
        return "model '" + model.name() + "': layer '" + l.name() + "' (" + l.kind()
                + (source == null ? "" : ", '" + source + "' in the " + sourceFormat()) + ")";
    }

    private String sourceFormat() {
        String f = model.info().sourceFormat();
        return f.isEmpty() ? "source" : f + " source";
    }

    private static ValueInfo out(String name, DType dtype, Shape shape) {
        return new ValueInfo(name, dtype, shape);
    }

    private static boolean present(String name) {
        return name != null && !name.isEmpty();
    }

    private static String type(DType t) {
        return t.toString().toLowerCase(Locale.ROOT);
    }

    private static Shape shape(Dim... dims) {
        return new Shape(Arrays.asList(dims));
    }

    private static Shape fixed(int[] shape) {
        List<Dim> dims = new ArrayList<>(shape.length);
        for (int d : shape) {
            dims.add(Dim.of(d));
        }
        return new Shape(dims);
    }

    /** The size of a fixed dimension, -1 for a symbolic one. */
    private static long size(Dim d) {
        return d instanceof Dim.Fixed f ? f.size() : -1;
    }

    private static boolean sameSymbol(Dim a, Dim b) {
        return a instanceof Dim.Symbolic x && b instanceof Dim.Symbolic y && !x.name().isEmpty() && x.name().equals(y.name());
    }

    /**
     * Two facts about one dimension combined: the fixed one if either is fixed, a named symbol over an
     * anonymous one; null when both are fixed and differ.
     */
    private static Dim merge(Dim a, Dim b) {
        if (a instanceof Dim.Fixed fa) {
            return b instanceof Dim.Fixed fb && fb.size() != fa.size() ? null : a;
        }
        if (b instanceof Dim.Fixed) {
            return b;
        }
        return ((Dim.Symbolic) a).name().isEmpty() ? b : a;
    }

    /** Product of dimensions: fixed when all are, the symbol itself when the others are all 1, else anonymous. */
    private static Dim product(List<Dim> dims) {
        Factor f = Factor.of(dims);
        if (f == null) {
            return ANY;
        }
        if (f.symbols.isEmpty()) {
            return Dim.of(f.fixed);
        }
        return f.symbols.size() == 1 && f.fixed == 1 ? Dim.of(f.symbols.get(0)) : ANY;
    }

    /** An element count as a fixed product times named symbols; {@link #of} gives null when it cannot be tracked. */
    private record Factor(long fixed, List<String> symbols) {
        static Factor of(List<Dim> dims) {
            long p = 1;
            List<String> syms = new ArrayList<>();
            for (Dim d : dims) {
                if (d instanceof Dim.Fixed f) {
                    try {
                        p = Math.multiplyExact(p, f.size());
                    } catch (ArithmeticException e) {
                        return null;
                    }
                } else {
                    String n = ((Dim.Symbolic) d).name();
                    if (n.isEmpty()) {
                        return null; // anonymous dims never cancel
                    }
                    syms.add(n);
                }
            }
            return new Factor(p, syms);
        }

        /** The symbols left after cancelling {@code other}'s (fixed part kept as this one's), or null when some do not cancel. */
        Factor over(Factor other) {
            // Counted, not removed from a list one by one: that is quadratic in the rank.
            Map<String, Integer> cancel = new HashMap<>();
            for (String s : other.symbols) {
                cancel.merge(s, 1, Integer::sum);
            }
            List<String> left = new ArrayList<>(symbols.size());
            for (String s : symbols) {
                Integer c = cancel.get(s);
                if (c != null && c > 0) {
                    cancel.put(s, c - 1); // the first occurrences cancel
                } else {
                    left.add(s);
                }
            }
            for (int c : cancel.values()) {
                if (c > 0) {
                    return null;
                }
            }
            return new Factor(fixed, left);
        }
    }
}
