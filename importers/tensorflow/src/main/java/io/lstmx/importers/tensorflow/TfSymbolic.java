package io.lstmx.importers.tensorflow;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Values of the interpreter that are not tensors of the IR: intermediate results of TensorFlow
 * idioms that the IR holds as one layer (a time reversal around a recurrent op, the index
 * normalisation before a GatherV2, a softmax spelt out as max/sub/exp/sum/div, the stand-ins of
 * a While loop's variables). Ops that recognise them consume them; every other op refuses them
 * with their description.
 */
final class TfSymbolic {
    private TfSymbolic() {
    }

    /**
     * A time-major sequence with its time axis reversed (ReverseV2 on axis 0): {@code inner} is the
     * sequence in its original order. When a recurrent op produced it (a reverse direction), {@code
     * last} is the state after its last step (Gather at T - 1).
     */
    record Reversed(Value.Run inner, Value last) {
        @Override
        public String toString() {
            return "a sequence with its time axis reversed (ReverseV2 is read only around a recurrent layer)";
        }
    }

    /** A per-step sequence of a recurrent op of which the IR holds only the last step (BlockLSTM's cell states). */
    record LastOnly(Value last, SDim time, String what) {
        @Override
        public String toString() {
            return what + " (lstmx holds only its last step)";
        }
    }

    /** {@code idx < 0} for an integer run-time index tensor. */
    record NegMask(Value.Run idx) {
        @Override
        public String toString() {
            return "a comparison (Less) of run-time indices, read only as part of index normalisation";
        }
    }

    /** {@code (idx < 0) * size}. */
    record NegFix(Value.Run idx, long size) {
        @Override
        public String toString() {
            return "a run-time index correction, read only as part of index normalisation";
        }
    }

    /** {@code idx + (idx < 0) * size}: indices counting negative ones from {@code size}. */
    record Wrapped(Value.Run idx, long size) {
        @Override
        public String toString() {
            return "normalised run-time indices, read only by a GatherV2 of a table of " + size + " rows";
        }
    }

    /**
     * Layer-norm pieces over the last axis, as lstmx's TensorFlow writer spells a LayerNorm out:
     * mean = Mean(x, -1, keep), d = x - mean, d * d, var = Mean(d * d, -1, keep), var + eps,
     * Rsqrt(var + eps); d * Rsqrt(...) is the layer norm (its gamma and beta, where present, follow
     * as a Mul and an Add of constants, read as such and folded into it afterwards by
     * {@link io.lstmx.passes.LayerNormAffineFusion}).
     */
    record NormPart(Value.Run x, int stage, float eps) {
        static final int MEAN = 0;
        static final int CENTERED = 1;
        static final int SQUARED = 2;
        static final int VARIANCE = 3;
        static final int VARIANCE_EPS = 4;
        static final int INV_STD = 5;

        @Override
        public String toString() {
            return "part of a layer norm spelt out in TensorFlow ops (stage " + stage + "), read only as a whole";
        }
    }

    /** Whether {@code axes} is the last axis of x: -1, or rank - 1 where the rank is known. */
    private static boolean lastAxis(long[] axes, Value.Run x) {
        return axes.length == 1 && (axes[0] == -1 || x.shape() != null && axes[0] == x.shape().size() - 1);
    }

    /** Mean over the last axis with keep_dims: of x (a layer norm's mean) or of its squared deviations (its variance). */
    static Object[] mean(TfNode n) {
        Object x = n.input(0);
        long[] axes = n.constLongs(1, "the reduction axes");
        if (n.attrBool("keep_dims", false)) {
            if (x instanceof Value.Run r && lastAxis(axes, r)) {
                return TfOps.one(new NormPart(r, NormPart.MEAN, 0f));
            }
            if (x instanceof NormPart p && p.stage() == NormPart.SQUARED && lastAxis(axes, p.x())) {
                return TfOps.one(new NormPart(p.x(), NormPart.VARIANCE, 0f));
            }
        }
        throw n.unsupported("takes the mean of " + TfInterpreter.describe(x) + " over axes " + java.util.Arrays.toString(axes)
                + " (lstmx reads Mean only as part of a layer norm over the last axis, with keep_dims)");
    }

    /** Rsqrt of a layer norm's variance plus epsilon. */
    static Object[] rsqrt(TfNode n) {
        Object x = n.input(0);
        if (x instanceof NormPart p && p.stage() == NormPart.VARIANCE_EPS) {
            return TfOps.one(new NormPart(p.x(), NormPart.INV_STD, p.eps()));
        }
        throw n.unsupported("applies Rsqrt to " + TfInterpreter.describe(x) + " (lstmx reads it only as part of a layer norm)");
    }

    /** The binary steps of a layer norm (see {@link NormPart}), or null. */
    private static Object[] norm(TfNode n, Layer.Binary.Op op, Object a, Object b) {
        if (op == Layer.Binary.Op.SUB && a instanceof Value.Run x && b instanceof NormPart m && m.stage() == NormPart.MEAN
                && m.x().name().equals(x.name())) {
            return TfOps.one(new NormPart(x, NormPart.CENTERED, 0f));
        }
        if (op == Layer.Binary.Op.MUL && a instanceof NormPart d && b instanceof NormPart e && d.stage() == NormPart.CENTERED
                && e.stage() == NormPart.CENTERED && d.x().name().equals(e.x().name())) {
            return TfOps.one(new NormPart(d.x(), NormPart.SQUARED, 0f));
        }
        if (op == Layer.Binary.Op.ADD) {
            if (b instanceof NormPart) {
                Object t = a;
                a = b;
                b = t;
            }
            if (a instanceof NormPart v && v.stage() == NormPart.VARIANCE && b instanceof Value.Const c && c.tensor().size() == 1
                    && c.tensor().dtype().isFloating()) {
                return TfOps.one(new NormPart(v.x(), NormPart.VARIANCE_EPS, c.tensor().getFloat(0)));
            }
        }
        if (op == Layer.Binary.Op.MUL) {
            if (b instanceof NormPart nb && nb.stage() == NormPart.CENTERED) {
                Object t = a;
                a = b;
                b = t;
            }
            if (a instanceof NormPart d && b instanceof NormPart s && d.stage() == NormPart.CENTERED && s.stage() == NormPart.INV_STD
                    && d.x().name().equals(s.x().name())) {
                String o = n.out(0);
                n.add(new Layer.LayerNorm(n.name(), d.x().name(), o, s.eps(), null, null));
                return TfOps.run(n, o, d.x().dtype(), d.x().shape());
            }
        }
        return null;
    }

    /** Softmax pieces: max(x, axis, keep), x - max, exp(x - max), sum(exp(x - max)), log(sum(...)). */
    record SoftmaxPart(Value.Run x, long axis, int stage) {
        static final int MAX = 0;
        static final int SHIFTED = 1;
        static final int EXP = 2;
        static final int SUM = 3;
        static final int LOG_SUM = 4;

        @Override
        public String toString() {
            return "part of a softmax spelt out in TensorFlow ops (stage " + stage + "), read only as a whole";
        }
    }

    /** The step counter of a While loop being read (t, then t + 1). */
    record LoopIndex(boolean next) {
        @Override
        public String toString() {
            return "the step counter of a While loop";
        }
    }

    /** The loop condition {@code t < time}. */
    record LoopCond(SDim time) {
        @Override
        public String toString() {
            return "the condition of a While loop";
        }
    }

    /**
     * The output accumulator of a While loop; {@code update} is the value written at step t (null
     * before): the step's output itself ({@code element}, TensorListSetItem) or it unsqueezed to
     * [1, B, H] (TensorScatterUpdate).
     */
    record Accum(String update, boolean element) {
        @Override
        public String toString() {
            return "the output accumulator of a While loop";
        }
    }

    /** An empty TensorList of {@code count} elements of {@code element} shape (TensorListReserve), before a loop fills it. */
    record ListReserve(SDim count, List<SDim> element, DType dtype) {
        @Override
        public String toString() {
            return "an empty TensorList (TensorListReserve), read only as the output accumulator of a While loop";
        }
    }

    /** One side of a clip_by_value (Minimum or Maximum of a run-time value and a scalar constant); null for the open side. */
    record HalfClip(Value.Run x, Float lo, Float hi) {
        @Override
        public String toString() {
            return "a Minimum or Maximum with a constant, read only as half of a clip_by_value";
        }
    }

    /** A value clipped to [lo, hi] (clip_by_value): {@code input} is the unclipped value, {@code where} names the node. */
    record ClipOf(String input, float lo, float hi, String where) {
    }

    /**
     * {@code x != value} for a run-time x and a scalar constant, reduced by Any over the last axis
     * when {@code any}: a boolean that a Cast to float32 turns into the IR's {@link Layer.StepMask}
     * (1 where x differs from value, 0 elsewhere; with any, 1 where some element of the last axis does).
     */
    record NotEqualOf(Value.Run x, float value, boolean any) {
        @Override
        public String toString() {
            return "a comparison (NotEqual) of run-time values, read only as a step mask (a Cast to float32 of it, or Any over its last axis)";
        }
    }

    /** The stand-in of a While loop's per-step mask [T, B] (lstmx's masked loops): the body reads it at step t only. */
    record LoopMask(String name) {
        @Override
        public String toString() {
            return "the per-step mask of a While loop, read only at step t";
        }
    }

    /** The mask at step t, [B]: read only as {@code mask[t] != 0}. */
    record MaskStep(String name) {
        @Override
        public String toString() {
            return "the per-step mask of a While loop at step t, read only as NotEqual(mask[t], 0)";
        }
    }

    /** {@code mask[t] != 0}, [B], or [B, 1] when {@code column} (ExpandDims on axis 1): read only as a SelectV2 condition. */
    record MaskCounts(String name, boolean column) {
        @Override
        public String toString() {
            return "whether each row's step t counts (NotEqual(mask[t], 0)), read only as the condition of a SelectV2 over [B, H] values";
        }
    }

    /**
     * {@code SelectV2(mask[t] != 0, kept, otherwise)} in a masked loop's body: at a counted step
     * the row takes {@code kept}, at a masked one {@code otherwise} (a value's name, or null for
     * zeros). The loop reader checks which loop variable each select feeds.
     */
    record MaskSelect(String kept, String otherwise, String mask) {
    }

    /** The symbol of a dimension {@code d + k} (equal symbols mean equal sizes, so this stays exact). */
    static SDim offset(SDim d, long k) {
        if (d.isKnown()) {
            return SDim.known(d.value() + k);
        }
        if (k == 0) {
            return d;
        }
        return SDim.symbolic(SDim.ANONYMOUS + "(" + d.symbol() + ")" + (k > 0 ? "+" : "") + k);
    }

    /** Whether {@code index} is known to equal {@code time - 1}. */
    static boolean isLast(Value index, SDim time) {
        index = Value.simplify(index);
        if (index instanceof Value.Const c && c.tensor().size() == 1 && !c.tensor().dtype().isFloating()) {
            return time.isKnown() && c.tensor().toLongArray()[0] == time.value() - 1;
        }
        if (index instanceof Value.ShapeVec s && s.entries().size() == 1) {
            return s.entries().get(0).equals(offset(time, -1));
        }
        return false;
    }

    /** The constant index {@code k} that {@code index} equals relative to a dimension {@code d}: k, or -j for d - j; null if unknown. */
    static Long relativeIndex(Value index, SDim d) {
        index = Value.simplify(index);
        if (index instanceof Value.Const c && c.tensor().size() == 1 && !c.tensor().dtype().isFloating() && c.tensor().rank() == 0) {
            return c.tensor().toLongArray()[0];
        }
        if (index instanceof Value.ShapeVec s && s.scalar() && s.entries().size() == 1) {
            for (long j = 1; j <= 64; j++) {
                if (s.entries().get(0).equals(offset(d, -j))) {
                    return -j;
                }
            }
        }
        return null;
    }

    // ---- ops

    /** GatherV2 (batch_dims 0). */
    static Object[] gather(TfNode n) {
        if (n.attrInt("batch_dims", 0) != 0) {
            throw n.unsupported("batch_dims " + n.attrInt("batch_dims", 0) + " is not read");
        }
        return gather(n, n.constLongs(2, "the axis")[0]);
    }

    /** Gathers input 0 at the indices of input 1 along {@code axisAttr} (GatherV2; TensorListGetItem on axis 0). */
    static Object[] gather(TfNode n, long axisAttr) {
        Object p = n.input(0);
        Object idx = n.input(1);
        if (p instanceof LoopMask m) {
            if (!(idx instanceof LoopIndex li0) || li0.next() || axisAttr != 0) {
                throw n.unsupported("a masked While loop reads its mask other than at step t on axis 0");
            }
            return TfOps.one(new MaskStep(m.name()));
        }
        if (idx instanceof TfSymbolic.LoopIndex li && !li.next() && p instanceof Value.Run run && n.in.loopSequences.contains(run.name())) {
            if (axisAttr != 0) {
                throw n.unsupported("a While loop reads its sequence along axis " + axisAttr + "; lstmx reads loops over axis 0 (time)");
            }
            List<SDim> s = run.shape();
            String o = n.in.names.fresh(n.name() + "/x_t");
            if (n.in.loopXt != null) {
                throw n.unsupported("a While loop body reads its sequence at step t twice");
            }
            n.in.loopXt = o;
            return TfOps.one(new Value.Run(o, run.dtype(), s.subList(1, s.size())));
        }
        if (p instanceof Reversed r && r.last() != null) {
            return TfOps.one(last(n, r.last(), r.inner().shape().get(0), axisAttr));
        }
        if (p instanceof LastOnly l) {
            return TfOps.one(last(n, l.last(), l.time(), axisAttr));
        }
        if (p instanceof Value.Run run && n.in.lastSteps.containsKey(run.name()) && idx instanceof Value iv && axisAttr == 0
                && isLast(iv, run.shape().get(0))) {
            return TfOps.one(n.in.lastSteps.get(run.name()));
        }
        if (idx instanceof Wrapped w) {
            Value pv = n.value(0);
            if (pv instanceof Value.Const table && axisAttr == 0 && table.tensor().rank() == 2 && table.tensor().dim(0) == w.size()) {
                return embedding(n, table.tensor(), w.idx());
            }
            throw n.unsupported("gathers normalised indices from " + TfInterpreter.describe(pv));
        }
        Value pv = n.value(0);
        Value iv = n.value(1);
        if (pv instanceof Value.ShapeVec sv && !sv.scalar() && axisAttr == 0) {
            Tensor t = n.constant(1, "the indices of a shape entry");
            long[] l = t.toLongArray();
            List<SDim> e = new ArrayList<>();
            for (long k : l) {
                long i = k < 0 ? k + sv.entries().size() : k;
                if (i < 0 || i >= sv.entries().size()) {
                    throw n.bad("index " + k + " is out of range for " + sv.entries().size() + " entries");
                }
                e.add(sv.entries().get((int) i));
            }
            if (t.rank() > 1) {
                throw n.unsupported("gathers shape entries with indices of rank " + t.rank());
            }
            return TfOps.one(Value.simplify(new Value.ShapeVec(e, t.rank() == 0)));
        }
        List<SDim> shape = Value.shapeOf(pv);
        if (shape == null) {
            throw n.unsupported("gathers from a value of unknown rank");
        }
        int rank = shape.size();
        long a0 = axisAttr < 0 ? axisAttr + rank : axisAttr;
        if (a0 < 0 || a0 >= rank) {
            throw n.bad("axis " + axisAttr + " is out of range for rank " + rank);
        }
        int a = (int) a0;
        if (pv instanceof Value.Const c && iv instanceof Value.Const ci) {
            return TfOps.one(new Value.Const(Fold.gather(c.tensor(), ci.tensor(), a, n)));
        }
        if (pv instanceof Value.Const c && iv instanceof Value.Run ri && a == 0 && c.tensor().rank() == 2 && !ri.dtype().isFloating()) {
            return embedding(n, c.tensor(), ri);
        }
        if (iv instanceof Value.Run) {
            throw n.unsupported("gathers with run-time indices from " + TfInterpreter.describe(pv) + " (lstmx reads run-time indices into a constant table, axis 0)");
        }
        Long k = relativeIndex(iv, shape.get(a));
        List<SDim> out = new ArrayList<>(shape);
        if (k != null) {
            out.remove(a);
            if (pv instanceof Value.Filled f) {
                return TfOps.one(new Value.Filled(f.element(), out));
            }
            String o = n.out(0);
            n.add(new Layer.Select(n.name(), n.run(0), o, a, k));
            return TfOps.run(n, o, Value.dtypeOf(pv), out);
        }
        if (iv instanceof Value.Const ci && !ci.tensor().dtype().isFloating()) {
            Tensor t = ci.tensor().dtype() == DType.INT64 ? ci.tensor() : Fold.cast(ci.tensor(), DType.INT64, n);
            out.remove(a);
            List<SDim> is = Shapes.known(t.shape());
            out.addAll(a, is);
            String o = n.out(0);
            n.add(new Layer.Take(n.name(), n.run(0), o, a, t));
            return TfOps.run(n, o, Value.dtypeOf(pv), out);
        }
        throw n.unsupported("gathers with indices " + Value.describe(iv) + ", not known when the model is read");
    }

    private static Value last(TfNode n, Value last, SDim time, long axis) {
        if (axis != 0 || !isLast(n.value(1), time)) {
            throw n.unsupported("reads a step other than the last of a recurrent op's per-step sequence that lstmx holds only as its last step");
        }
        return last;
    }

    private static Object[] embedding(TfNode n, Tensor table, Value.Run idx) {
        String o = n.out(0);
        n.add(new Layer.Embedding(n.name(), idx.name(), o, table.dtype() == DType.FLOAT32 ? table : table.withDType(DType.FLOAT32)));
        List<SDim> s = idx.shape() == null ? null : new ArrayList<>(idx.shape());
        if (s != null) {
            s.add(SDim.known(table.dim(1)));
        }
        return TfOps.run(n, o, DType.FLOAT32, s);
    }

    /** Less, Greater, LessEqual, GreaterEqual: folded on constants; {@code idx < 0} and the loop condition recognised. */
    static TfOps.Op compare(String op) {
        return n -> {
            Object a = n.input(0);
            Object b = n.input(1);
            if (op.equals("Less") && a instanceof LoopIndex li && !li.next() && b instanceof Value bv) {
                List<SDim> e = io.lstmx.importers.kit.Shapes.entries(Value.simplify(bv));
                if (e != null && e.size() == 1) {
                    return TfOps.one(new LoopCond(e.get(0)));
                }
            }
            Value va = n.value(0);
            Value vb = n.value(1);
            Tensor ca = constOf(va, n);
            Tensor cb = constOf(vb, n);
            if (ca != null && cb != null) {
                Tensor diff = Fold.binary(Layer.Binary.Op.SUB, widen(ca, n), widen(cb, n), n);
                float[] d = diff.toFloatArray();
                long[] r = new long[d.length];
                for (int i = 0; i < d.length; i++) {
                    boolean v = switch (op) {
                        case "Less" -> d[i] < 0;
                        case "LessEqual" -> d[i] <= 0;
                        case "Greater" -> d[i] > 0;
                        default -> d[i] >= 0;
                    };
                    r[i] = v ? 1 : 0;
                }
                return TfOps.one(new Value.Const(Tensor.ofLongs(DType.INT32, diff.shape(), r)));
            }
            if (op.equals("Less") && va instanceof Value.Run ra && !ra.dtype().isFloating() && cb != null && Fold.allZero(cb) && cb.size() <= 1) {
                return TfOps.one(new NegMask(ra));
            }
            throw n.unsupported("compares " + Value.describe(va) + " with " + Value.describe(vb)
                    + " (lstmx reads comparisons only as part of index normalisation or a loop condition)");
        };
    }

    private static Tensor widen(Tensor t, TfNode n) {
        return t.dtype().isFloating() ? t : Fold.cast(t, DType.FLOAT32, n);
    }

    /** A constant, a filled value of known shape as one, or null. */
    static Tensor constOf(Value v, TfNode n) {
        if (v instanceof Value.Const c) {
            return c.tensor();
        }
        if (v instanceof Value.Filled f && Shapes.allKnown(f.shape())) {
            return Fold.constant(v, n.name(), n.in.budget);
        }
        return null;
    }

    /** Binary ops on the symbolic values; null when none is involved. */
    static Object[] binary(TfNode n, Layer.Binary.Op op) {
        Object a = n.input(0);
        Object b = n.input(1);
        Object[] norm = norm(n, op, a, b);
        if (norm != null) {
            return norm;
        }
        if (op == Layer.Binary.Op.ADD && a instanceof LoopIndex li && !li.next() && b instanceof Value.Const c && c.tensor().size() == 1
                && c.tensor().toLongArray()[0] == 1) {
            return TfOps.one(new LoopIndex(true));
        }
        if (op == Layer.Binary.Op.MUL && a instanceof Value va && b instanceof Value vb) {
            // zero times a shape entry (an index correction that does not apply): zeros
            Value ca = Value.simplify(va);
            Value cb = Value.simplify(vb);
            if (ca instanceof Value.Const z && !z.tensor().dtype().isFloating() && Fold.allZero(z.tensor()) && cb instanceof Value.ShapeVec sv && sv.scalar()) {
                return TfOps.one(ca);
            }
            if (cb instanceof Value.Const z && !z.tensor().dtype().isFloating() && Fold.allZero(z.tensor()) && ca instanceof Value.ShapeVec sv && sv.scalar()) {
                return TfOps.one(cb);
            }
        }
        if (op == Layer.Binary.Op.MUL) {
            if (b instanceof NegMask) {
                Object t = a;
                a = b;
                b = t;
            }
            if (a instanceof NegMask m && b instanceof Value.Const c && c.tensor().size() == 1) {
                return TfOps.one(new NegFix(m.idx(), c.tensor().toLongArray()[0]));
            }
        }
        if (op == Layer.Binary.Op.ADD) {
            if (a instanceof NegFix) {
                Object t = a;
                a = b;
                b = t;
            }
            if (b instanceof NegFix f && a instanceof Value.Run r && r.name().equals(f.idx().name())) {
                return TfOps.one(new Wrapped(r, f.size()));
            }
        }
        if (op == Layer.Binary.Op.SUB && a instanceof Value.Run x && b instanceof SoftmaxPart p && p.stage() == SoftmaxPart.MAX
                && p.x().name().equals(x.name())) {
            return TfOps.one(new SoftmaxPart(x, p.axis(), SoftmaxPart.SHIFTED));
        }
        if (op == Layer.Binary.Op.DIV && a instanceof SoftmaxPart e && b instanceof SoftmaxPart s && e.stage() == SoftmaxPart.EXP
                && s.stage() == SoftmaxPart.SUM && e.x().name().equals(s.x().name()) && e.axis() == s.axis()) {
            return softmax(n, e.x(), e.axis(), false);
        }
        if (op == Layer.Binary.Op.SUB && a instanceof SoftmaxPart e && b instanceof SoftmaxPart s && e.stage() == SoftmaxPart.SHIFTED
                && s.stage() == SoftmaxPart.LOG_SUM && e.x().name().equals(s.x().name()) && e.axis() == s.axis()) {
            return softmax(n, e.x(), e.axis(), true);
        }
        return null;
    }

    private static Object[] softmax(TfNode n, Value.Run x, long axis, boolean log) {
        String o = n.out(0);
        n.add(new Layer.Softmax(n.name(), x.name(), o, (int) axis, log));
        return TfOps.run(n, o, x.dtype(), x.shape());
    }

    /** Max and Sum over one axis with keep_dims, as parts of a softmax. */
    static TfOps.Op reduce(boolean max) {
        return n -> {
            Object x = n.input(0);
            long[] axes = n.constLongs(1, "the reduction axes");
            if (axes.length == 1 && n.attrBool("keep_dims", false)) {
                if (max && x instanceof Value.Run r) {
                    return TfOps.one(new SoftmaxPart(r, axes[0], SoftmaxPart.MAX));
                }
                if (!max && x instanceof SoftmaxPart p && p.stage() == SoftmaxPart.EXP && p.axis() == axes[0]) {
                    return TfOps.one(new SoftmaxPart(p.x(), p.axis(), SoftmaxPart.SUM));
                }
            }
            Value v = n.value(0);
            Tensor t = constOf(v, n);
            if (t != null && !max && axes.length == 0) {
                return TfOps.one(new Value.Const(t));
            }
            throw n.unsupported("reduces " + Value.describe(v) + " (lstmx reads " + n.op() + " only as part of a softmax)");
        };
    }

    /** Exp and Log as parts of a softmax. */
    static TfOps.Op expLog(boolean exp) {
        return n -> {
            Object x = n.input(0);
            if (exp && x instanceof SoftmaxPart p && p.stage() == SoftmaxPart.SHIFTED) {
                return TfOps.one(new SoftmaxPart(p.x(), p.axis(), SoftmaxPart.EXP));
            }
            if (!exp && x instanceof SoftmaxPart p && p.stage() == SoftmaxPart.SUM) {
                return TfOps.one(new SoftmaxPart(p.x(), p.axis(), SoftmaxPart.LOG_SUM));
            }
            Value v = n.value(0);
            if (v instanceof Value.Const c) {
                return TfOps.one(new Value.Const(Fold.map(c.tensor(), exp ? Math::exp : Math::log)));
            }
            throw n.unsupported("applies " + n.op() + " to " + Value.describe(v) + " (lstmx reads it only as part of a softmax)");
        };
    }

    /** Prod: of a constant, or of shape entries (a flattened size). */
    static Object[] prod(TfNode n) {
        Value v = n.value(0);
        long[] axes = n.constLongs(1, "the reduction axes");
        List<SDim> e = Shapes.entries(v);
        if (e != null && !(v instanceof Value.Run) && Value.shapeOf(v) != null && Value.shapeOf(v).size() == 1 && axes.length == 1
                && (axes[0] == 0 || axes[0] == -1)) {
            SDim p = Shapes.product(e, n);
            return TfOps.one(Value.simplify(new Value.ShapeVec(List.of(p), !n.attrBool("keep_dims", false))));
        }
        throw n.unsupported("multiplies the entries of " + Value.describe(v) + " (lstmx reads Prod of shape entries)");
    }

    /** ReverseV2 on the time axis (0) of a time-major sequence, or undoing one. */
    static Object[] reverse(TfNode n) {
        long[] axes = n.constLongs(1, "the axes");
        Object x = n.input(0);
        if (axes.length != 1 || axes[0] != 0) {
            throw n.unsupported("reverses axes " + java.util.Arrays.toString(axes) + " (lstmx reads a reversal of axis 0 around a recurrent layer)");
        }
        if (x instanceof Reversed r) {
            return TfOps.one(r.inner());
        }
        Value v = n.value(0);
        if (v instanceof Value.Run r && r.shape() != null && (r.shape().size() == 3 || r.shape().size() == 2 && r.dtype().isFloating())) {
            // [T, B, I] a sequence, [T, B] a per-step mask that a masked While loop reads in the same order
            return TfOps.one(new Reversed(r, null));
        }
        throw n.unsupported("reverses " + Value.describe(v) + " (lstmx reads a reversal of the time axis of a [T, B, I] sequence around a recurrent layer)");
    }

    /**
     * NotEqual: {@code mask[t] != 0} in a masked While loop's body; {@code x != value} of a run-time
     * x and a scalar constant (a step mask, see {@link NotEqualOf}); constants fold.
     */
    static Object[] notEqual(TfNode n) {
        Object a = n.input(0);
        if (a instanceof MaskStep m) {
            Tensor z = constOf(n.value(1), n);
            if (z == null || z.size() != 1 || z.getFloat(0) != 0f) {
                throw n.unsupported("a masked While loop compares its mask at step t with " + Value.describe(n.value(1))
                        + "; lstmx reads mask[t] != 0 (nonzero: the step counts)");
            }
            return TfOps.one(new MaskCounts(m.name(), false));
        }
        Value va = n.value(0);
        Value vb = n.value(1);
        Tensor ca = constOf(va, n);
        Tensor cb = constOf(vb, n);
        if (ca != null && cb != null) {
            Tensor diff = Fold.binary(Layer.Binary.Op.SUB, widen(ca, n), widen(cb, n), n);
            float[] d = diff.toFloatArray();
            long[] r = new long[d.length];
            for (int i = 0; i < d.length; i++) {
                r[i] = d[i] != 0 ? 1 : 0;
            }
            return TfOps.one(new Value.Const(Tensor.ofLongs(DType.INT32, diff.shape(), r)));
        }
        if (va instanceof Value.Run x && cb != null && cb.size() == 1) {
            float v = cb.dtype().isFloating() ? cb.getFloat(0) : (float) cb.toLongArray()[0];
            if (!cb.dtype().isFloating() && (double) v != (double) cb.toLongArray()[0]) {
                throw n.unsupported("compares with " + cb.toLongArray()[0] + ", which a step mask's float value cannot hold exactly");
            }
            return TfOps.one(new NotEqualOf(x, v, false));
        }
        throw n.unsupported("compares " + Value.describe(va) + " with " + Value.describe(vb)
                + " (lstmx reads NotEqual of a run-time value and a scalar constant as a step mask, or of a masked loop's mask at step t and 0)");
    }

    /** Any over the last axis (keep_dims false) of a step mask's comparison: Masking's "some feature differs". */
    static Object[] any(TfNode n) {
        Object a = n.input(0);
        long[] axes = n.constLongs(1, "the reduction axes");
        if (a instanceof NotEqualOf ne && !ne.any() && axes.length == 1 && !n.attrBool("keep_dims", false) && ne.x().shape() != null) {
            int rank = ne.x().shape().size();
            if (axes[0] == -1 || axes[0] == rank - 1) {
                return TfOps.one(new NotEqualOf(ne.x(), ne.value(), true));
            }
        }
        throw n.unsupported("reduces " + TfInterpreter.describe(a) + " over axes " + java.util.Arrays.toString(axes)
                + " (lstmx reads Any only over the last axis of NotEqual(x, value), without keep_dims: a step mask)");
    }

    /** Cast to float32 of a step mask's comparison: the IR's StepMask. Null when the input is none. */
    static Object[] castMask(TfNode n, DType to) {
        if (!(n.input(0) instanceof NotEqualOf ne)) {
            return null;
        }
        if (to != DType.FLOAT32) {
            throw n.unsupported("casts a step mask (NotEqual) to " + to + "; lstmx reads it cast to float32");
        }
        String o = n.out(0);
        n.add(new Layer.StepMask(n.name(), ne.x().name(), o, ne.value(), ne.any()));
        List<SDim> s = ne.x().shape() == null ? null : new ArrayList<>(ne.x().shape());
        if (s != null && ne.any()) {
            s.remove(s.size() - 1);
        }
        return TfOps.run(n, o, DType.FLOAT32, s);
    }

    /** ExpandDims of {@code mask[t] != 0} on axis 1 (or -1): [B] to [B, 1]. Null when the input is none. */
    static Object[] expandMask(TfNode n) {
        if (!(n.input(0) instanceof MaskCounts m)) {
            return null;
        }
        long d = n.constLongs(1, "the axis")[0];
        if (m.column() || (d != 1 && d != -1)) {
            throw n.unsupported("expands a masked loop's mask[t] != 0 on axis " + d + "; lstmx reads it as a column [B, 1]");
        }
        return TfOps.one(new MaskCounts(m.name(), true));
    }

    /**
     * SelectV2 (and Select) in a masked While loop's body: {@code where(mask[t] != 0, kept, otherwise)}
     * over [B, H] values, with otherwise a value or zeros. Recorded for the loop reader as a
     * {@link MaskSelect}; anything else is refused.
     */
    static Object[] select(TfNode n) {
        if (!(n.input(0) instanceof MaskCounts m) || !m.column()) {
            throw n.unsupported("selects by " + TfInterpreter.describe(n.input(0)) + " (lstmx reads " + n.op()
                    + " only in a masked While loop's body: where(mask[t] != 0 as a [B, 1] column, new value, previous value or zeros))");
        }
        Value kept = n.value(1);
        Value other = n.value(2);
        if (!(kept instanceof Value.Run k) || k.shape() == null || k.shape().size() != 2) {
            throw n.unsupported("a masked loop's select keeps " + Value.describe(kept) + " at counted steps; lstmx reads a run-time [B, H] value there");
        }
        String otherwise;
        if (other instanceof Value.Run r) {
            otherwise = r.name();
        } else if (other instanceof Value.Filled f && f.element().dtype().isFloating() && f.element().getFloat(0) == 0f
                || other instanceof Value.Const c && c.tensor().dtype().isFloating() && Fold.allZero(c.tensor())) {
            otherwise = null;
        } else {
            throw n.unsupported("a masked loop's select gives " + Value.describe(other) + " at masked steps; lstmx reads a loop variable or zeros there");
        }
        String o = n.out(0);
        n.in.loopSelects.put(o, new MaskSelect(k.name(), otherwise, m.name()));
        return TfOps.run(n, o, k.dtype(), k.shape());
    }
}
