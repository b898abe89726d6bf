package io.lstmx.importers.kit;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Constant folding of the small data-movement and arithmetic operators that shape computations and
 * weight preprocessing use. Operators the IR has a layer for (Transpose, Slice, Concat, Gather as
 * Take, Add/Sub/Mul/Div as Binary, Cast) are computed by that layer in the native runtime, so that a
 * folded constant and the same operator at run time follow the same (ONNX) semantics; broadcasting
 * and tiling are gathers along each axis. Every result size is checked against the node's
 * {@link NodeContext#foldRoom() room} (at most {@link #LIMIT}) before anything is allocated, so that
 * a hostile file cannot exhaust memory with a few bytes of ConstantOfShape, Expand or Tile.
 * Errors name the node being converted.
 */
public final class Fold {
    /** Largest tensor the importer materialises while folding (64 Mi elements, 256 MiB of float32). */
    public static final long LIMIT = 1L << 26;

    private static final String IN = "x";
    private static final String OUT = "y";

    private Fold() {
    }

    /** Element count of a folding result of {@code shape}, refused (before anything is allocated) above node {@code n}'s fold room. */
    public static int checkedCount(NodeContext n, long... shape) {
        return checkedCount(n.where(), n.foldRoom(), shape);
    }

    /** Element count of {@code shape}, refused (before anything is allocated) above {@code limit} elements. */
    public static int checkedCount(String what, long limit, long... shape) {
        long count = 1;
        for (long d : shape) {
            if (d < 0) {
                throw LstmxException.badInput(what + ": negative dimension " + d + " in " + Arrays.toString(shape));
            }
            if (d > Integer.MAX_VALUE || (d != 0 && count > limit / d)) { // count * d > limit, without overflowing
                throw LstmxException.unsupported(what + ": folding would create a tensor of shape " + Arrays.toString(shape)
                        + ", more than " + limit + " elements");
            }
            count *= d;
        }
        return (int) count;
    }

    /** {@code a * b} for non-negative factors, or Long.MAX_VALUE when that overflows (a size check then refuses it). */
    public static long saturatedProduct(long a, long b) {
        return a != 0 && b > Long.MAX_VALUE / a ? Long.MAX_VALUE : a * b;
    }

    private static long[] longs(int[] shape) {
        return Arrays.stream(shape).asLongStream().toArray();
    }

    /** Output 0 of {@code layer} (named after node {@code n}) run by the native runtime; errors name the node. */
    private static Tensor evaluate(NodeContext n, Layer layer, Map<String, Tensor> inputs) {
        try {
            return NativeRuntime.evaluate(layer, inputs).get(layer.outputs().get(0));
        } catch (LstmxException e) {
            throw e.withContext(n.where());
        }
    }

    /** Axis permutation: result.shape[k] = t.shape[perm[k]]. */
    public static Tensor transpose(Tensor t, int[] perm, NodeContext n) {
        List<Integer> p = Arrays.stream(perm).boxed().toList();
        return evaluate(n, new Layer.Transpose(n.layerName(), IN, OUT, p), Map.of(IN, t));
    }

    /** Elements of {@code t} along {@code axis} from {@code start} (inclusive) to {@code end} with {@code step}, clamped as ONNX Slice. */
    public static Tensor slice(Tensor t, int axis, long start, long end, long step, NodeContext n) {
        return evaluate(n, new Layer.Slice(n.layerName(), IN, OUT, axis, start, end, step), Map.of(IN, t));
    }

    /**
     * Concatenation along {@code axis} (already normalised for the first part). ONNX wants one element
     * type; parts that mix float and integer are concatenated in float, integer results keep the first
     * part's integer type.
     */
    public static Tensor concat(List<Tensor> parts, int axis, NodeContext n) {
        int[] first = parts.get(0).shape();
        long[] out = longs(first);
        out[axis] = 0;
        for (Tensor p : parts) {
            out[axis] += p.rank() == first.length ? p.dim(axis) : 0;
        }
        checkedCount(n, out);
        boolean floating = parts.stream().anyMatch(p -> p.dtype().isFloating());
        List<String> names = new ArrayList<>();
        Map<String, Tensor> inputs = new HashMap<>();
        for (Tensor p : parts) {
            String name = IN + names.size();
            names.add(name);
            inputs.put(name, floating ? p.withDType(DType.FLOAT32) : p);
        }
        Tensor r = evaluate(n, new Layer.Concat(n.layerName(), names, OUT, axis), inputs);
        return floating ? r : r.withDType(parts.get(0).dtype());
    }

    /** ONNX Gather along a normalised axis: out = data[:axis] + indices.shape + data[axis+1:]. */
    public static Tensor gather(Tensor data, Tensor indices, int axis, NodeContext n) {
        int[] ds = data.shape();
        int[] is = indices.shape();
        long[] out = new long[ds.length - 1 + is.length];
        for (int k = 0; k < out.length; k++) {
            out[k] = k < axis ? ds[k] : k < axis + is.length ? is[k - axis] : ds[k - is.length + 1];
        }
        checkedCount(n, out);
        return evaluate(n, new Layer.Take(n.layerName(), IN, OUT, axis, indices), Map.of(IN, data));
    }

    /** Broadcasts {@code t} to {@code shape} (NumPy rules; {@code shape} must already be the broadcast result). */
    public static Tensor broadcastTo(Tensor t, int[] shape, NodeContext n) {
        if (checkedCount(n, longs(shape)) == 0) {
            return empty(t.dtype(), shape);
        }
        int[] src = t.shape();
        int[] aligned = new int[shape.length];
        Arrays.fill(aligned, 1);
        System.arraycopy(src, 0, aligned, shape.length - src.length, src.length);
        Tensor r = t.reshape(aligned);
        for (int k = 0; k < shape.length; k++) {
            if (aligned[k] != shape[k]) {
                r = gather(r, axisIndices(new long[shape[k]]), k, n); // a size-1 axis repeats its element 0
            }
        }
        return r;
    }

    /** ONNX Tile: output index i along axis k reads input index i mod dim k. */
    public static Tensor tile(Tensor t, long[] repeats, NodeContext n) {
        int[] s = t.shape();
        long[] outL = new long[s.length];
        for (int k = 0; k < s.length; k++) {
            outL[k] = saturatedProduct(s[k], repeats[k]);
        }
        int count = checkedCount(n, outL);
        int[] out = Arrays.stream(outL).mapToInt(v -> (int) v).toArray();
        if (count == 0) {
            return empty(t.dtype(), out);
        }
        // Now every dimension is at most count, so the index arrays stay within LIMIT too.
        Tensor r = t;
        for (int k = 0; k < s.length; k++) {
            if (repeats[k] != 1) {
                long[] idx = new long[out[k]];
                for (int i = 0; i < idx.length; i++) {
                    idx[i] = i % s[k];
                }
                r = gather(r, axisIndices(idx), k, n);
            }
        }
        return r;
    }

    private static Tensor axisIndices(long[] idx) {
        return Tensor.ofLongs(new int[] {idx.length}, idx);
    }

    private static Tensor empty(DType dtype, int[] shape) {
        return dtype.isFloating() ? Tensor.ofFloats(shape, new float[0]) : Tensor.ofLongs(dtype, shape, new long[0]);
    }

    /**
     * Add, Sub, Mul or Div with NumPy broadcasting (integer Div truncates, as ONNX). ONNX wants one
     * element type; operands that mix float and integer are computed in float, integer results keep
     * the first operand's integer type.
     */
    public static Tensor binary(Layer.Binary.Op op, Tensor a, Tensor b, NodeContext n) {
        int[] shape = Shapes.toInts(Shapes.broadcast(Shapes.known(a.shape()), Shapes.known(b.shape()), n), n);
        checkedCount(n, longs(shape));
        boolean mixed = a.dtype().isFloating() != b.dtype().isFloating();
        Map<String, Tensor> inputs = Map.of("a", mixed ? a.withDType(DType.FLOAT32) : a, "b", mixed ? b.withDType(DType.FLOAT32) : b);
        Tensor r = evaluate(n, new Layer.Binary(n.layerName(), op, "a", "b", OUT), inputs);
        return r.dtype().isFloating() ? r : r.withDType(a.dtype());
    }

    /** Most multiply-adds one folded matrix product may take (about a second). */
    public static final long MATMUL_WORK_LIMIT = 1L << 30;

    /** 2-D matrix product a [M,K] x b [K,N] in float32 with double accumulation. */
    public static Tensor matmul2d(Tensor a, Tensor b, NodeContext node) {
        int m = a.dim(0);
        int k = a.dim(1);
        int n = b.dim(1);
        if (saturatedProduct(saturatedProduct(m, n), k) > MATMUL_WORK_LIMIT) {
            throw LstmxException.unsupported(node.where() + ": folding the product of constants [" + m + ", " + k + "] x [" + k + ", " + n
                    + "] would take more than " + MATMUL_WORK_LIMIT + " multiply-adds");
        }
        float[] out = new float[checkedCount(node, m, n)];
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += (double) x[i * k + p] * y[p * n + j];
                }
                out[i * n + j] = (float) s;
            }
        }
        return Tensor.ofFloats(new int[] {m, n}, out);
    }

    /** {@code f} applied to every element, as float32. */
    public static Tensor map(Tensor t, java.util.function.DoubleUnaryOperator f) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) f.applyAsDouble(v[i]);
        }
        return Tensor.ofFloats(t.shape(), v);
    }

    /** Every element times {@code s} (float32); {@code t} itself when {@code s} is 1. */
    public static Tensor scale(Tensor t, float s) {
        return s == 1f ? t : map(t, x -> (float) x * s);
    }

    /**
     * Cast to {@code to} with the IR's semantics (float to integer truncates, int64 to int32 keeps
     * the low 32 bits), computed by the runtime's Cast layer.
     */
    public static Tensor cast(Tensor t, DType to, NodeContext n) {
        return evaluate(n, new Layer.Cast(n.layerName(), IN, OUT, to), Map.of(IN, t));
    }

    /** True when every element equals the first (and there is at least one). */
    public static boolean uniform(Tensor t) {
        if (t.size() == 0) {
            return false;
        }
        for (int i = 1; i < t.size(); i++) {
            if (Float.floatToRawIntBits(t.getFloat(i)) != Float.floatToRawIntBits(t.getFloat(0)) || t.getLong(i) != t.getLong(0)) {
                return false;
            }
        }
        return true;
    }

    /** True when every element is zero (also for no element). */
    public static boolean allZero(Tensor t) {
        for (int i = 0; i < t.size(); i++) {
            if (t.getFloat(i) != 0f) {
                return false;
            }
        }
        return true;
    }

    /** The rank-0 tensor holding element {@code i} of {@code t}. */
    public static Tensor element(Tensor t, int i) {
        if (t.dtype().isFloating()) {
            return Tensor.ofFloats(new int[0], new float[] {t.getFloat(i)});
        }
        return Tensor.ofLongs(t.dtype(), new int[0], new long[] {t.getLong(i)});
    }

    /**
     * {@code v} as a constant tensor, or null when it is only known at run time: a constant is
     * itself, a filled value of known shape is materialised (refused beyond the budget's room and
     * counted against it). {@code name} names the source value in messages.
     */
    public static Tensor constant(Value v, String name, FoldBudget budget) {
        if (v instanceof Value.Const c) {
            return c.tensor();
        }
        if (v instanceof Value.Filled f && Shapes.allKnown(f.shape())) {
            String what = budget.file() + ": value '" + name + "'";
            long[] dims = f.shape().stream().mapToLong(SDim::value).toArray();
            checkedCount(what, budget.room(), dims); // before the dims are narrowed to int
            int[] shape = Arrays.stream(dims).mapToInt(d -> (int) d).toArray();
            Tensor t = fill(f.element(), shape, what, budget.room());
            budget.hold(t, "value '" + name + "'");
            return t;
        }
        return null;
    }

    /** A tensor of {@code shape} filled with the rank-0 {@code element}; {@code what} names it if it is refused above {@code limit} elements. */
    public static Tensor fill(Tensor element, int[] shape, String what, long limit) {
        int n = checkedCount(what, limit, longs(shape));
        if (element.dtype().isFloating()) {
            float[] f = new float[n];
            Arrays.fill(f, element.getFloat(0));
            return Tensor.ofFloats(shape, f);
        }
        long[] l = new long[n];
        Arrays.fill(l, element.getLong(0));
        return Tensor.ofLongs(element.dtype(), shape, l);
    }
}
