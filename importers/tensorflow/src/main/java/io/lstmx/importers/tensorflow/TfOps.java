package io.lstmx.importers.tensorflow;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;
import org.tensorflow.proto.DataType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Converters of TensorFlow ops, keyed by op name (TensorFlow ops carry no version: an op's
 * meaning is fixed once registered; new behaviour comes as a new op, as BlockLSTMV2 did). Each
 * converter folds what is known at import time and adds IR layers for the rest.
 */
final class TfOps {
    /** Converts one node; returns its outputs in order. */
    interface Op {
        Object[] convert(TfNode n);
    }

    private static final Map<String, Op> OPS = new HashMap<>();

    /** Ops with several named output arguments (each single): the arguments in order. */
    private static final Map<String, List<String>> MULTI_OUTPUT = Map.of(
            "BlockLSTM", List.of("i", "cs", "f", "o", "ci", "co", "h"),
            "BlockLSTMV2", List.of("i", "cs", "f", "o", "ci", "co", "h"),
            "LSTMBlockCell", List.of("i", "cs", "f", "o", "ci", "co", "h"));

    static {
        for (String s : List.of("Identity", "StopGradient", "Snapshot", "PreventGradient", "EnsureShape", "CheckNumerics")) {
            OPS.put(s, n -> new Object[] {n.input(0)});
        }
        OPS.put("IdentityN", n -> n.inputs.toArray());
        OPS.put("NoOp", n -> new Object[0]);
        OPS.put("Const", n -> {
            var a = n.attr("value");
            if (a == null) {
                throw n.bad("has no value");
            }
            Tensor t = TfTensors.fromProto(a.getTensor(), n.where(), n.in.budget.room());
            n.in.budget.hold(t, "constant '" + n.name() + "'");
            return one(new Value.Const(t));
        });
        OPS.put("Placeholder", n -> {
            throw n.unsupported("is a placeholder the model's signature does not feed");
        });
        OPS.put("PlaceholderWithDefault", n -> new Object[] {n.input(0)});
        OPS.put("VarHandleOp", n -> one(new TfInterpreter.Resource(n.attrString("shared_name", n.def.getName()),
                n.in.variables.apply(n.attrString("shared_name", "").isEmpty() ? n.def.getName() : n.attrString("shared_name", "")))));
        for (String s : List.of("VariableV2", "Variable")) {
            OPS.put(s, n -> one(new Value.Const(n.in.variables.apply(n.def.getName()))));
        }
        OPS.put("ReadVariableOp", n -> {
            if (n.input(0) instanceof TfInterpreter.Resource r) {
                return one(new Value.Const(r.value()));
            }
            throw n.unsupported("reads " + TfInterpreter.describe(n.input(0)) + ", not a variable");
        });
        for (String s : List.of("StatefulPartitionedCall", "PartitionedCall")) {
            OPS.put(s, n -> {
                var f = n.attr("f");
                if (f == null || !f.hasFunc()) {
                    throw n.bad("names no function");
                }
                return n.in.call(f.getFunc().getName(), n.inputs, n).toArray();
            });
        }
        OPS.put("AddV2", binary(Layer.Binary.Op.ADD));
        OPS.put("Add", binary(Layer.Binary.Op.ADD));
        OPS.put("BiasAdd", n -> {
            if (!n.attrString("data_format", "NHWC").equals("NHWC")) {
                throw n.unsupported("data_format " + n.attrString("data_format", "") + " is not read (NHWC is)");
            }
            return binary(Layer.Binary.Op.ADD).convert(n);
        });
        OPS.put("Sub", binary(Layer.Binary.Op.SUB));
        OPS.put("Mul", binary(Layer.Binary.Op.MUL));
        OPS.put("RealDiv", binary(Layer.Binary.Op.DIV));
        OPS.put("Div", binary(Layer.Binary.Op.DIV));
        OPS.put("Relu", activation(ActivationFn.RELU));
        OPS.put("Tanh", activation(ActivationFn.TANH));
        OPS.put("Sigmoid", activation(ActivationFn.SIGMOID));
        OPS.put("Elu", activation(ActivationFn.of(ActivationFn.Kind.ELU, 1f, 0f)));
        OPS.put("Softplus", activation(ActivationFn.of(ActivationFn.Kind.SOFTPLUS)));
        OPS.put("Softsign", activation(ActivationFn.of(ActivationFn.Kind.SOFTSIGN)));
        OPS.put("LeakyRelu", n -> activation(ActivationFn.of(ActivationFn.Kind.LEAKY_RELU, n.attrFloat("alpha", 0.2f), 0f)).convert(n));
        OPS.put("Softmax", softmax(false));
        OPS.put("LogSoftmax", softmax(true));
        OPS.put("MatMul", TfOps::matmul);
        OPS.put("BatchMatMulV2", TfOps::matmul);
        OPS.put("Shape", TfOps::shape);
        OPS.put("Fill", n -> {
            List<SDim> dims = dims(n, 0);
            Tensor e = n.constant(1, "the fill value");
            if (e.rank() != 0) {
                throw n.bad("fill value must be a scalar");
            }
            return one(new Value.Filled(e, dims));
        });
        OPS.put("ZerosLike", n -> like(n, 0f));
        OPS.put("OnesLike", n -> like(n, 1f));
        OPS.put("Pack", TfOps::pack);
        OPS.put("ConcatV2", TfOps::concat);
        OPS.put("StridedSlice", TfOps::stridedSlice);
        OPS.put("Reshape", TfOps::reshape);
        OPS.put("Squeeze", TfOps::squeeze);
        OPS.put("ExpandDims", TfOps::expandDims);
        OPS.put("Transpose", TfOps::transpose);
        OPS.put("Cast", TfOps::cast);
        OPS.put("Split", TfOps::split);
        OPS.put("GatherV2", TfSymbolic::gather);
        for (String c : List.of("Less", "LessEqual", "Greater", "GreaterEqual")) {
            OPS.put(c, TfSymbolic.compare(c));
        }
        OPS.put("Mean", TfSymbolic::mean);
        OPS.put("Rsqrt", TfSymbolic::rsqrt);
        OPS.put("Max", TfSymbolic.reduce(true));
        OPS.put("Sum", TfSymbolic.reduce(false));
        OPS.put("Exp", TfSymbolic.expLog(true));
        OPS.put("Log", TfSymbolic.expLog(false));
        OPS.put("Prod", TfSymbolic::prod);
        OPS.put("ReverseV2", TfSymbolic::reverse);
        OPS.put("ReverseSequence", n -> {
            throw n.unsupported("reverses sequences of run-time lengths; lstmx does not read masked recurrent loops yet");
        });
        OPS.put("TruncateDiv", binary(Layer.Binary.Op.DIV));
        OPS.put("NotEqual", TfSymbolic::notEqual);
        OPS.put("Any", TfSymbolic::any);
        OPS.put("SelectV2", TfSymbolic::select);
        OPS.put("Select", TfSymbolic::select);
        OPS.put("StatelessWhile", TfWhile::convert);
        OPS.put("While", TfWhile::convert);
        OPS.put("TensorScatterUpdate", TfWhile::scatter);
        OPS.put("LSTMBlockCell", BlockLstm::cell);
        OPS.put("Unpack", TfOps::unpack);
        OPS.put("TensorListFromTensor", TfLists::fromTensor);
        OPS.put("TensorListReserve", TfLists::reserve);
        OPS.put("TensorListGetItem", TfLists::getItem);
        OPS.put("TensorListSetItem", TfLists::setItem);
        OPS.put("TensorListStack", TfLists::stack);
        OPS.put("LogicalAnd", TfLists::logicalAnd);
        OPS.put("Minimum", n -> TfLists.clip(n, false, true));
        OPS.put("Maximum", n -> TfLists.clip(n, true, false));
        OPS.put("ClipByValue", n -> TfLists.clip(n, true, true));
        OPS.put("BlockLSTM", n -> BlockLstm.convert(n, false));
        OPS.put("BlockLSTMV2", n -> BlockLstm.convert(n, true));
    }

    private TfOps() {
    }

    /** The converter of {@code op}; a node whose op names a library function is a call of it. */
    static Op find(String op, boolean isFunction) {
        Op o = OPS.get(op);
        if (o == null && isFunction) {
            return n -> n.in.call(op, n.inputs, n).toArray();
        }
        return o;
    }

    /** Flat output index of "out_arg:k" of an {@code op} node in a function body. */
    static int outputIndex(String op, String outArg, int k) {
        List<String> args = MULTI_OUTPUT.get(op);
        if (args != null) {
            int i = args.indexOf(outArg);
            return i < 0 ? k : i + k;
        }
        return k;
    }

    static Object[] one(Object o) {
        return new Object[] {o};
    }

    static Object[] run(TfNode n, String name, DType dtype, List<SDim> shape) {
        return one(new Value.Run(name, dtype, shape));
    }

    private static int rank(TfNode n, Value v) {
        List<SDim> s = Value.shapeOf(v);
        if (s == null) {
            throw n.unsupported("needs the rank of its input, which is not known");
        }
        return s.size();
    }

    private static int axis(TfNode n, long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw n.bad("axis " + axis + " is out of range for rank " + rank);
        }
        return (int) a;
    }

    // ---- elementwise

    private static Op binary(Layer.Binary.Op op) {
        return n -> {
            Object[] symbolic = TfSymbolic.binary(n, op);
            if (symbolic != null) {
                return symbolic;
            }
            Value a = n.value(0);
            Value b = n.value(1);
            if (a instanceof Value.Const ca && b instanceof Value.Const cb) {
                return one(new Value.Const(Fold.binary(op, ca.tensor(), cb.tensor(), n)));
            }
            if (!(a instanceof Value.Run) && !(b instanceof Value.Run) && (Value.dtypeOf(a) == DType.INT64 || Value.dtypeOf(a) == DType.INT32)) {
                return scalarArithmetic(n, op, a, b);
            }
            List<SDim> sa = Value.shapeOf(a);
            List<SDim> sb = Value.shapeOf(b);
            String x = n.run(0);
            String y = n.run(1);
            String out = n.out(0);
            n.add(new Layer.Binary(n.name(), op, x, y, out));
            return run(n, out, Value.dtypeOf(a instanceof Value.Run ? a : b), sa == null || sb == null ? null : Shapes.broadcast(sa, sb, n));
        };
    }

    /** Integer arithmetic on shape entries (batch * units): known sizes fold, others become fresh dimensions. */
    private static Object[] scalarArithmetic(TfNode n, Layer.Binary.Op op, Value a, Value b) {
        List<SDim> ea = Shapes.entries(a);
        List<SDim> eb = Shapes.entries(b);
        if (ea == null || eb == null || ea.size() != 1 || eb.size() != 1) {
            throw n.unsupported("integer arithmetic on " + Value.describe(a) + " and " + Value.describe(b) + " is not folded");
        }
        SDim x = ea.get(0);
        SDim y = eb.get(0);
        SDim r;
        if (x.isKnown() && y.isKnown()) {
            long v = switch (op) {
                case ADD -> x.value() + y.value();
                case SUB -> x.value() - y.value();
                case MUL -> x.value() * y.value();
                case DIV -> y.value() == 0 ? 0 : x.value() / y.value();
            };
            r = SDim.known(v);
        } else if (op == Layer.Binary.Op.MUL && (x.is(1) || y.is(1))) {
            r = x.is(1) ? y : x;
        } else if (op == Layer.Binary.Op.MUL && (x.is(0) || y.is(0))) {
            r = SDim.known(0);
        } else if (op == Layer.Binary.Op.ADD && (x.isKnown() || y.isKnown())) {
            r = x.isKnown() ? TfSymbolic.offset(y, x.value()) : TfSymbolic.offset(x, y.value());
        } else if (op == Layer.Binary.Op.SUB && y.isKnown()) {
            r = TfSymbolic.offset(x, -y.value());
        } else {
            r = n.freshDim();
        }
        boolean scalar = a instanceof Value.ShapeVec s ? s.scalar() : Value.shapeOf(a).isEmpty();
        return one(Value.simplify(new Value.ShapeVec(List.of(r), scalar)));
    }

    private static Op activation(ActivationFn fn) {
        return n -> {
            Value v = n.value(0);
            String out = n.out(0);
            n.add(new Layer.Activation(n.name(), n.run(0), out, fn));
            return run(n, out, Value.dtypeOf(v), Value.shapeOf(v));
        };
    }

    private static Op softmax(boolean log) {
        return n -> {
            Value v = n.value(0);
            String out = n.out(0);
            n.add(new Layer.Softmax(n.name(), n.run(0), out, rank(n, v) - 1, log));
            return run(n, out, Value.dtypeOf(v), Value.shapeOf(v));
        };
    }

    private static Object[] cast(TfNode n) {
        if (n.input(0) instanceof TfSymbolic.NegMask m) {
            return one(m);
        }
        DType to = TfTensors.irType(n.attrType("DstT", DataType.DT_FLOAT));
        if (to == null) {
            throw n.unsupported("casts to " + n.attrType("DstT", DataType.DT_FLOAT));
        }
        Object[] mask = TfSymbolic.castMask(n, to);
        if (mask != null) {
            return mask;
        }
        Value v = n.value(0);
        if (v instanceof Value.Const c) {
            return one(new Value.Const(Fold.cast(c.tensor(), to, n)));
        }
        if (v instanceof Value.ShapeVec) {
            return one(v);
        }
        String out = n.out(0);
        n.add(new Layer.Cast(n.name(), n.run(0), out, to));
        return run(n, out, to, Value.shapeOf(v));
    }

    // ---- linear algebra

    private static Object[] matmul(TfNode n) {
        Value a = n.value(0);
        Value b = n.value(1);
        boolean ta = n.attrBool("transpose_a", false) || n.attrBool("adj_x", false);
        boolean tb = n.attrBool("transpose_b", false) || n.attrBool("adj_y", false);
        if (a instanceof Value.Const ca && b instanceof Value.Const cb && ca.tensor().rank() == 2 && cb.tensor().rank() == 2) {
            Tensor x = ta ? Fold.transpose(ca.tensor(), new int[] {1, 0}, n) : ca.tensor();
            Tensor y = tb ? Fold.transpose(cb.tensor(), new int[] {1, 0}, n) : cb.tensor();
            return one(new Value.Const(Fold.matmul2d(x, y, n)));
        }
        List<SDim> sa = Value.shapeOf(a);
        String x = n.run(0);
        if (ta) {
            int r = rank(n, a);
            int[] perm = swapLast(r);
            String t = n.in.names.fresh(n.name() + "/transpose_a");
            n.add(new Layer.Transpose(n.name() + "/transpose_a", x, t, Arrays.stream(perm).boxed().toList()));
            x = t;
            sa = permute(sa, perm);
        }
        String out = n.out(0);
        if (b instanceof Value.Const cb && cb.tensor().rank() == 2) {
            Tensor w = tb ? cb.tensor() : Fold.transpose(cb.tensor(), new int[] {1, 0}, n); // Dense holds [out, in]
            n.add(new Layer.Dense(n.name(), x, out, w, null));
            List<SDim> s = sa == null ? null : new ArrayList<>(sa.subList(0, sa.size() - 1));
            if (s != null) {
                s.add(SDim.known(w.dim(0)));
            }
            return run(n, out, DType.FLOAT32, s);
        }
        String y = n.run(1);
        List<SDim> sb = Value.shapeOf(b);
        if (tb) {
            int r = rank(n, b);
            int[] perm = swapLast(r);
            String t = n.in.names.fresh(n.name() + "/transpose_b");
            n.add(new Layer.Transpose(n.name() + "/transpose_b", y, t, Arrays.stream(perm).boxed().toList()));
            y = t;
            sb = permute(sb, perm);
        }
        n.add(new Layer.MatMul(n.name(), x, y, out));
        List<SDim> s = null;
        if (sa != null && sb != null && sa.size() >= 2 && sb.size() >= 2) {
            s = new ArrayList<>(sa.subList(0, sa.size() - 1));
            s.add(sb.get(sb.size() - 1));
        }
        return run(n, out, DType.FLOAT32, s);
    }

    private static int[] swapLast(int r) {
        int[] p = new int[r];
        for (int i = 0; i < r; i++) {
            p[i] = i;
        }
        if (r >= 2) {
            p[r - 1] = r - 2;
            p[r - 2] = r - 1;
        }
        return p;
    }

    private static List<SDim> permute(List<SDim> s, int[] perm) {
        if (s == null || s.size() != perm.length) {
            return null;
        }
        List<SDim> out = new ArrayList<>();
        for (int p : perm) {
            out.add(s.get(p));
        }
        return out;
    }

    // ---- shapes

    private static Object[] shape(TfNode n) {
        Value v = n.input(0) instanceof TfSymbolic.Reversed r ? r.inner() : n.value(0);
        List<SDim> s = Value.shapeOf(v);
        if (s == null) {
            throw n.unsupported("reads the shape of a value of unknown rank");
        }
        return one(Value.simplify(new Value.ShapeVec(s, false)));
    }

    /** Input {@code i} as a list of dimensions (a constant or a shape vector). */
    private static List<SDim> dims(TfNode n, int i) {
        Value v = n.value(i);
        List<SDim> e = Shapes.entries(v);
        if (e == null) {
            throw n.unsupported("input " + i + " must be a shape, but it is " + Value.describe(v));
        }
        return e;
    }

    private static Object[] like(TfNode n, float value) {
        Value v = n.value(0);
        List<SDim> s = Value.shapeOf(v);
        if (s == null) {
            throw n.unsupported("needs the shape of its input");
        }
        Tensor e = Value.dtypeOf(v).isFloating() ? Tensor.scalar(value) : Tensor.ofLongs(Value.dtypeOf(v), new int[0], new long[] {(long) value});
        return one(new Value.Filled(e, s));
    }

    private static Object[] pack(TfNode n) {
        int count = n.arity();
        if (count == 0) {
            throw n.bad("packs nothing");
        }
        Value first = n.value(0);
        int r = Value.shapeOf(first) == null ? -1 : Value.shapeOf(first).size();
        long axisAttr = n.attrInt("axis", 0);
        boolean allKnown = true;
        boolean allScalarInts = true;
        for (int i = 0; i < count; i++) {
            Value v = n.value(i);
            allKnown &= v instanceof Value.Const;
            List<SDim> s = Value.shapeOf(v);
            allScalarInts &= !Value.dtypeOf(v).isFloating() && s != null && s.isEmpty() && !(v instanceof Value.Run);
        }
        if (allScalarInts && axisAttr == 0) {
            List<SDim> entries = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                entries.addAll(Shapes.entries(n.value(i)));
            }
            return one(Value.simplify(new Value.ShapeVec(entries, false)));
        }
        if (r < 0) {
            throw n.unsupported("packs values of unknown rank");
        }
        int axis = axis(n, axisAttr, r + 1);
        if (allKnown) {
            List<Tensor> parts = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                Tensor t = ((Value.Const) n.value(i)).tensor();
                int[] s = t.shape();
                int[] ns = new int[s.length + 1];
                for (int k = 0, j = 0; k < ns.length; k++) {
                    ns[k] = k == axis ? 1 : s[j++];
                }
                parts.add(t.reshape(ns));
            }
            return one(new Value.Const(Fold.concat(parts, axis, n)));
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String u = n.in.names.fresh(n.name() + "/unsqueeze_" + i);
            n.add(new Layer.Unsqueeze(u, n.run(i), u, List.of(axis)));
            names.add(u);
        }
        String out = n.out(0);
        n.add(new Layer.Concat(n.name(), names, out, axis));
        List<SDim> s = new ArrayList<>(Value.shapeOf(first));
        s.add(axis, SDim.known(count));
        return run(n, out, Value.dtypeOf(first), s);
    }

    private static Object[] concat(TfNode n) {
        int count = n.arity() - 1;
        if (count < 1) {
            throw n.bad("concatenates nothing");
        }
        long axisAttr = n.constLongs(count, "the axis")[0];
        boolean allKnown = true;
        boolean shapeLike = true;
        for (int i = 0; i < count; i++) {
            Value v = n.value(i);
            allKnown &= v instanceof Value.Const;
            shapeLike &= !(v instanceof Value.Run) && !Value.dtypeOf(v).isFloating() && Value.shapeOf(v) != null && Value.shapeOf(v).size() == 1;
        }
        if (shapeLike && !allKnown) {
            List<SDim> entries = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                entries.addAll(Shapes.entries(n.value(i)));
            }
            return one(Value.simplify(new Value.ShapeVec(entries, false)));
        }
        Value first = n.value(0);
        int r = rank(n, first);
        int axis = axis(n, axisAttr, r);
        if (allKnown) {
            List<Tensor> parts = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                parts.add(((Value.Const) n.value(i)).tensor());
            }
            return one(new Value.Const(Fold.concat(parts, axis, n)));
        }
        List<String> names = new ArrayList<>();
        List<SDim> s = new ArrayList<>(Value.shapeOf(first));
        SDim total = SDim.known(0);
        for (int i = 0; i < count; i++) {
            names.add(n.run(i));
            List<SDim> si = Value.shapeOf(n.value(i));
            SDim d = si == null || si.size() != r ? n.freshDim() : si.get(axis);
            total = total.isKnown() && d.isKnown() ? SDim.known(total.value() + d.value()) : n.freshDim();
        }
        s.set(axis, total);
        String out = n.out(0);
        n.add(new Layer.Concat(n.name(), names, out, axis));
        return run(n, out, Value.dtypeOf(first), s);
    }

    private static Object[] stridedSlice(TfNode n) {
        Value v = n.value(0);
        long[] begin = n.constLongs(1, "begin");
        long[] end = n.constLongs(2, "end");
        long[] strides = n.constLongs(3, "strides");
        if (begin.length != end.length || begin.length != strides.length) {
            throw n.bad("begin, end and strides differ in length");
        }
        if (n.attrInt("new_axis_mask", 0) != 0) {
            throw n.unsupported("new_axis_mask is not read");
        }
        long bm = n.attrInt("begin_mask", 0);
        long em = n.attrInt("end_mask", 0);
        long sm = n.attrInt("shrink_axis_mask", 0);
        long ell = n.attrInt("ellipsis_mask", 0);
        if (ell != 0) {
            // one ellipsis: expand it into whole axes, so that the specs name every axis from 0
            int e = Long.numberOfTrailingZeros(ell);
            List<SDim> vs = Value.shapeOf(v);
            if (Long.bitCount(ell) != 1 || vs == null || v instanceof Value.ShapeVec || begin.length - 1 > vs.size()) {
                throw n.unsupported("an ellipsis_mask on a value of unknown rank, or several ellipses, are not read");
            }
            int rank = vs.size();
            int fill = rank - (begin.length - 1);
            long[] nb = new long[rank];
            long[] ne = new long[rank];
            long[] ns = new long[rank];
            long nbm = 0;
            long nem = 0;
            long nsm = 0;
            for (int a = 0; a < rank; a++) {
                int src = a < e ? a : a < e + fill ? -1 : a - fill + 1;
                if (src < 0) {
                    ns[a] = 1;
                    nbm |= 1L << a;
                    nem |= 1L << a;
                    continue;
                }
                nb[a] = begin[src];
                ne[a] = end[src];
                ns[a] = strides[src];
                nbm |= ((bm >> src) & 1) << a;
                nem |= ((em >> src) & 1) << a;
                nsm |= ((sm >> src) & 1) << a;
            }
            begin = nb;
            end = ne;
            strides = ns;
            bm = nbm;
            em = nem;
            sm = nsm;
        }
        if (v instanceof Value.ShapeVec sv && !sv.scalar() && begin.length == 1) {
            List<SDim> e = sv.entries();
            int len = e.size();
            long step = strides[0];
            if (step == 0) {
                throw n.bad("stride 0");
            }
            if ((sm & 1) != 0) {
                long i = begin[0] < 0 ? begin[0] + len : begin[0];
                if (i < 0 || i >= len) {
                    throw n.bad("index " + begin[0] + " is out of range for " + len + " entries");
                }
                return one(Value.simplify(new Value.ShapeVec(List.of(e.get((int) i)), true)));
            }
            List<SDim> out = new ArrayList<>();
            long[] range = range(begin[0], end[0], step, (bm & 1) != 0, (em & 1) != 0, len);
            for (long i = range[0]; step > 0 ? i < range[1] : i > range[1]; i += step) {
                out.add(e.get((int) i));
            }
            return one(Value.simplify(new Value.ShapeVec(out, false)));
        }
        List<SDim> shape = Value.shapeOf(v);
        if (shape == null || begin.length > shape.size()) {
            throw n.unsupported("slices a value of unknown or smaller rank");
        }
        if (v instanceof Value.Const c) {
            Tensor t = c.tensor();
            List<Integer> drop = new ArrayList<>();
            for (int a = 0; a < begin.length; a++) {
                int len = t.dim(a);
                if (strides[a] == 0) {
                    throw n.bad("stride 0");
                }
                if ((sm >> a & 1) != 0) {
                    long i = begin[a] < 0 ? begin[a] + len : begin[a];
                    if (i < 0 || i >= len) {
                        throw n.bad("index " + begin[a] + " is out of range on axis " + a);
                    }
                    t = Fold.slice(t, a, i, i + 1, 1, n);
                    drop.add(a);
                } else {
                    long[] r = range(begin[a], end[a], strides[a], (bm >> a & 1) != 0, (em >> a & 1) != 0, len);
                    t = Fold.slice(t, a, r[0], r[1], strides[a], n);
                }
            }
            int[] s = t.shape();
            int[] ns = new int[s.length - drop.size()];
            for (int a = 0, j = 0; a < s.length; a++) {
                if (!drop.contains(a)) {
                    ns[j++] = s[a];
                }
            }
            return one(new Value.Const(t.reshape(ns)));
        }
        String cur = n.run(0);
        List<SDim> s = new ArrayList<>(shape);
        int removed = 0;
        for (int a0 = 0; a0 < begin.length; a0++) {
            int a = a0 - removed;
            long step = strides[a0];
            if (step == 0) {
                throw n.bad("stride 0");
            }
            boolean shrink = (sm >> a0 & 1) != 0;
            boolean full = !shrink && step == 1 && ((bm >> a0 & 1) != 0 || begin[a0] == 0) && ((em >> a0 & 1) != 0);
            if (full) {
                continue;
            }
            String o = n.in.names.fresh(n.name() + "/axis" + a0);
            if (shrink) {
                n.add(new Layer.Select(o, cur, o, a, begin[a0]));
                s.remove(a);
                removed++;
            } else {
                long st = (bm >> a0 & 1) != 0 ? (step > 0 ? 0 : Long.MAX_VALUE) : begin[a0];
                long en = (em >> a0 & 1) != 0 ? (step > 0 ? Long.MAX_VALUE : Long.MIN_VALUE) : end[a0];
                n.add(new Layer.Slice(o, cur, o, a, st, en, step));
                SDim d = s.get(a);
                if (d.isKnown()) {
                    long[] r = range(begin[a0], end[a0], step, (bm >> a0 & 1) != 0, (em >> a0 & 1) != 0, d.value());
                    long cnt = step > 0 ? Math.max(0, (r[1] - r[0] + step - 1) / step) : Math.max(0, (r[0] - r[1] - step - 1) / -step);
                    s.set(a, SDim.known(cnt));
                } else {
                    s.set(a, n.freshDim());
                }
            }
            cur = o;
        }
        String out = n.out(0);
        n.add(new Layer.Identity(n.name(), cur, out));
        return run(n, out, Value.dtypeOf(v), s);
    }

    /** Clamped [start, end) of a strided range on an axis of length {@code len} (Python slicing). */
    private static long[] range(long b, long e, long step, boolean bMask, boolean eMask, long len) {
        long lo = step > 0 ? 0 : -1;
        long hi = step > 0 ? len : len - 1;
        long start = bMask ? (step > 0 ? lo : hi) : clamp(b < 0 ? b + len : b, lo, hi);
        long end = eMask ? (step > 0 ? hi : lo) : clamp(e < 0 ? e + len : e, lo, hi);
        return new long[] {start, end};
    }

    private static long clamp(long v, long lo, long hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    private static Object[] reshape(TfNode n) {
        if (n.input(0) instanceof TfSymbolic.LoopIndex li) {
            return one(li); // [[t]] for a TensorScatterUpdate at step t
        }
        Value v = n.value(0);
        List<SDim> target = dims(n, 1);
        if (target.size() > 32) {
            throw n.bad("reshapes to rank " + target.size());
        }
        if (v instanceof Value.Const c) {
            long[] t = new long[target.size()];
            long known = 1;
            int infer = -1;
            for (int i = 0; i < t.length; i++) {
                if (!target.get(i).isKnown()) {
                    throw n.unsupported("reshapes a constant to a run-time shape");
                }
                t[i] = target.get(i).value();
                if (t[i] == -1) {
                    if (infer >= 0) {
                        throw n.bad("two -1 entries in the target shape");
                    }
                    infer = i;
                } else if (t[i] < 0) {
                    throw n.bad("negative target dimension " + t[i]);
                } else {
                    known = Fold.saturatedProduct(known, t[i]);
                }
            }
            int size = c.tensor().size();
            if (infer >= 0) {
                if (known == 0 || size % known != 0) {
                    throw n.bad("cannot infer -1 reshaping " + size + " elements");
                }
                t[infer] = size / known;
            }
            int[] ns = Arrays.stream(t).mapToInt(x -> (int) Math.min(Integer.MAX_VALUE, x)).toArray();
            if (Tensor.elementCount(t) != size) {
                throw n.bad("reshapes " + size + " elements to " + Arrays.toString(t));
            }
            return one(new Value.Const(c.tensor().reshape(ns)));
        }
        if (v instanceof Value.Filled f) {
            return one(new Value.Filled(f.element(), target));
        }
        List<SDim> in = Value.shapeOf(v);
        if (v instanceof Value.Run r && in != null && in.size() > 2 && target.size() == 2 && target.get(0).is(-1) && target.get(1).isKnown()
                && in.get(in.size() - 1).equals(target.get(1))) {
            // [..., K] flattened to [-1, K] before a matrix product and unflattened after it (how TensorFlow spells a Dense
            // layer on a sequence): the IR's layers act on the last axis, so the value keeps its rank and is marked
            // "flattened" until the matching reshape; only matrix products and additions may read it in between.
            SDim f = n.freshDim();
            n.in.flattened.put(f, new ArrayList<>(in.subList(0, in.size() - 1)));
            String o = n.out(0);
            n.add(new Layer.Identity(n.name(), r.name(), o));
            n.in.virtualFlat.add(o);
            return run(n, o, r.dtype(), List.of(f, target.get(1)));
        }
        if (v instanceof Value.Run r && in != null && in.size() == 2 && n.in.virtualFlat.contains(r.name()) && n.in.flattened.containsKey(in.get(0))
                && target.size() >= 2 && target.subList(0, target.size() - 1).equals(n.in.flattened.get(in.get(0)))
                && target.get(target.size() - 1).equals(in.get(1))) {
            String o = n.out(0);
            n.add(new Layer.Identity(n.name(), r.name(), o));
            return run(n, o, r.dtype(), target);
        }
        List<Long> spec = new ArrayList<>();
        List<SDim> outShape = new ArrayList<>();
        int unknown = 0;
        for (int i = 0; i < target.size(); i++) {
            SDim d = target.get(i);
            if (d.isKnown()) {
                if (d.value() == 0) {
                    throw n.unsupported("reshapes to a zero-size dimension");
                }
                if (d.value() < -1) {
                    throw n.bad("target dimension " + d.value());
                }
                spec.add(d.value());
                unknown += d.value() == -1 ? 1 : 0;
                outShape.add(d.value() == -1 ? n.freshDim() : d);
            } else if (in != null && i < in.size() && in.get(i).equals(d)) {
                spec.add(0L);
                outShape.add(d);
            } else {
                spec.add(-1L);
                unknown++;
                outShape.add(d);
            }
        }
        if (unknown > 1) {
            throw n.unsupported("reshapes to " + SafeText.list(target) + ", more than one entry unknown when the model is read");
        }
        String out = n.out(0);
        n.add(new Layer.Reshape(n.name(), n.run(0), out, spec));
        return run(n, out, Value.dtypeOf(v), outShape);
    }

    private static Object[] squeeze(TfNode n) {
        Value v = n.value(0);
        List<SDim> s = Value.shapeOf(v);
        if (s == null) {
            throw n.unsupported("squeezes a value of unknown rank");
        }
        List<Long> dims = n.attrInts("squeeze_dims");
        if (dims.isEmpty()) {
            dims = n.attrInts("axis");
        }
        List<Integer> axes = new ArrayList<>();
        if (dims.isEmpty()) {
            for (int i = 0; i < s.size(); i++) {
                if (s.get(i).is(1)) {
                    axes.add(i);
                } else if (!s.get(i).isKnown()) {
                    throw n.unsupported("squeezes every size-1 axis of a value whose shape is not known");
                }
            }
        } else {
            for (long d : dims) {
                axes.add(axis(n, d, s.size()));
            }
        }
        List<SDim> out = new ArrayList<>();
        for (int i = 0; i < s.size(); i++) {
            if (!axes.contains(i)) {
                out.add(s.get(i));
            }
        }
        if (v instanceof Value.Const c) {
            return one(new Value.Const(c.tensor().reshape(out.stream().mapToInt(d -> (int) d.value()).toArray())));
        }
        String o = n.out(0);
        n.add(new Layer.Squeeze(n.name(), n.run(0), o, axes.stream().sorted().toList()));
        return run(n, o, Value.dtypeOf(v), out);
    }

    private static Object[] expandDims(TfNode n) {
        Object[] mask = TfSymbolic.expandMask(n);
        if (mask != null) {
            return mask;
        }
        Value v = n.value(0);
        long d = n.constLongs(1, "the axis")[0];
        if (v instanceof Value.ShapeVec sv && sv.scalar()) {
            return one(new Value.ShapeVec(sv.entries(), false));
        }
        List<SDim> s = Value.shapeOf(v);
        if (s == null) {
            throw n.unsupported("expands a value of unknown rank");
        }
        int a = axis(n, d, s.size() + 1);
        List<SDim> out = new ArrayList<>(s);
        out.add(a, SDim.known(1));
        if (v instanceof Value.Const c) {
            return one(new Value.Const(c.tensor().reshape(out.stream().mapToInt(x -> (int) x.value()).toArray())));
        }
        String o = n.out(0);
        n.add(new Layer.Unsqueeze(n.name(), n.run(0), o, List.of(a)));
        return run(n, o, Value.dtypeOf(v), out);
    }

    private static Object[] transpose(TfNode n) {
        Value v = n.value(0);
        long[] p = n.constLongs(1, "the permutation");
        List<SDim> s = Value.shapeOf(v);
        int r = s == null ? p.length : s.size();
        if (p.length != r) {
            throw n.bad("permutation of " + p.length + " entries for rank " + r);
        }
        int[] perm = new int[r];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < r; i++) {
            perm[i] = axis(n, p[i], r);
            if (seen[perm[i]]) {
                throw n.bad("permutation repeats axis " + perm[i]);
            }
            seen[perm[i]] = true;
        }
        if (v instanceof Value.Const c) {
            return one(new Value.Const(Fold.transpose(c.tensor(), perm, n)));
        }
        String o = n.out(0);
        n.add(new Layer.Transpose(n.name(), n.run(0), o, Arrays.stream(perm).boxed().toList()));
        return run(n, o, Value.dtypeOf(v), permute(s, perm));
    }

    /** Unpack (tf.unstack): one Select per entry of the axis, whose size must be known. */
    private static Object[] unpack(TfNode n) {
        Value v = n.value(0);
        List<SDim> s = Value.shapeOf(v);
        if (s == null) {
            throw n.unsupported("unstacks a value of unknown rank");
        }
        int a = axis(n, n.attrInt("axis", 0), s.size());
        long num = n.attrInt("num", -1);
        if (s.get(a).isKnown() && s.get(a).value() != num) {
            throw n.bad("unstacks axis " + a + " of size " + s.get(a) + " into num = " + num + " values; they must be equal");
        }
        if (!s.get(a).isKnown() || num < 1 || num > 100_000) {
            throw n.unsupported("unstacks axis " + a + " of size " + s.get(a) + " into " + num + " values (lstmx needs the size known, 1 to 100000)");
        }
        Object[] out = new Object[(int) num];
        List<SDim> os = new ArrayList<>(s);
        os.remove(a);
        for (int k = 0; k < num; k++) {
            if (v instanceof Value.Const c) {
                Tensor t = Fold.slice(c.tensor(), a, k, k + 1, 1, n);
                int[] shape = t.shape();
                int[] ns = new int[shape.length - 1];
                for (int i = 0, j = 0; i < shape.length; i++) {
                    if (i != a) {
                        ns[j++] = shape[i];
                    }
                }
                out[k] = new Value.Const(t.reshape(ns));
                continue;
            }
            String o = n.out(k);
            n.add(new Layer.Select(o, n.run(0), o, a, k));
            out[k] = new Value.Run(o, Value.dtypeOf(v), os);
        }
        return out;
    }

    private static Object[] split(TfNode n) {
        long d = n.constLongs(0, "the split axis")[0];
        Value v = n.value(1);
        int parts = (int) n.attrInt("num_split", 1);
        List<SDim> s = Value.shapeOf(v);
        if (s == null) {
            throw n.unsupported("splits a value of unknown rank");
        }
        int a = axis(n, d, s.size());
        if (parts < 1 || !s.get(a).isKnown() || s.get(a).value() % parts != 0) {
            throw n.unsupported("splits axis " + a + " of size " + s.get(a) + " into " + parts + " equal parts");
        }
        long size = s.get(a).value() / parts;
        Object[] out = new Object[parts];
        for (int k = 0; k < parts; k++) {
            if (v instanceof Value.Const c) {
                out[k] = new Value.Const(Fold.slice(c.tensor(), a, k * size, (k + 1) * size, 1, n));
                continue;
            }
            String o = n.out(k);
            n.add(new Layer.Slice(o, n.run(1), o, a, k * size, (k + 1) * size, 1));
            List<SDim> os = new ArrayList<>(s);
            os.set(a, SDim.known(size));
            out[k] = new Value.Run(o, Value.dtypeOf(v), os);
        }
        return out;
    }
}
