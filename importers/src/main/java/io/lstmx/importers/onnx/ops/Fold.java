package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleBinaryOperator;
import java.util.function.LongBinaryOperator;

/**
 * Constant folding of the small data-movement and arithmetic operators that shape computations and
 * weight preprocessing use. Every result size is checked against {@link #LIMIT} before allocation so
 * that a hostile ConstantOfShape/Expand/Tile cannot exhaust memory.
 */
final class Fold {
    /** Largest tensor the importer materialises while folding (64 Mi elements, 256 MiB of float32). */
    static final long LIMIT = 1L << 26;

    private Fold() {
    }

    static int checkedCount(String what, long... shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw LstmxException.badInput(what + ": negative dimension " + d + " in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
            if (n > LIMIT) {
                throw LstmxException.unsupported(what + ": folding would create a tensor of shape " + Arrays.toString(shape)
                        + ", more than " + LIMIT + " elements");
            }
        }
        return (int) n;
    }

    static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** out[i] = src[index[i]] with src's dtype. */
    static Tensor pick(Tensor src, int[] shape, int[] index) {
        if (src.dtype().isFloating()) {
            float[] f = new float[index.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = src.getFloat(index[i]);
            }
            return Tensor.ofFloats(shape, f);
        }
        long[] l = new long[index.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = src.getLong(index[i]);
        }
        return Tensor.ofLongs(src.dtype(), shape, l);
    }

    /** Source flat index for each output position, given per-axis source strides (0 = broadcast). */
    private static int[] mapIndices(int[] outShape, int[] srcStrides, int base) {
        int n = Tensor.elementCount(outShape);
        int[] idx = new int[n];
        int rank = outShape.length;
        int[] pos = new int[rank];
        int cur = base;
        for (int i = 0; i < n; i++) {
            idx[i] = cur;
            for (int ax = rank - 1; ax >= 0; ax--) {
                pos[ax]++;
                cur += srcStrides[ax];
                if (pos[ax] < outShape[ax]) {
                    break;
                }
                cur -= srcStrides[ax] * pos[ax];
                pos[ax] = 0;
            }
        }
        return idx;
    }

    static Tensor transpose(Tensor t, int[] perm) {
        int[] shape = t.shape();
        int[] st = strides(shape);
        int[] out = new int[perm.length];
        int[] srcStrides = new int[perm.length];
        for (int k = 0; k < perm.length; k++) {
            out[k] = shape[perm[k]];
            srcStrides[k] = st[perm[k]];
        }
        return pick(t, out, mapIndices(out, srcStrides, 0));
    }

    /** Broadcasts {@code t} to {@code shape} (NumPy rules; {@code shape} must already be the broadcast result). */
    static Tensor broadcastTo(Tensor t, int[] shape, String what) {
        checkedCount(what, Arrays.stream(shape).asLongStream().toArray());
        int[] src = t.shape();
        int[] st = strides(src);
        int[] bs = new int[shape.length];
        int off = shape.length - src.length;
        for (int k = 0; k < shape.length; k++) {
            int j = k - off;
            bs[k] = j < 0 || src[j] == 1 ? 0 : st[j];
        }
        return pick(t, shape, mapIndices(shape, bs, 0));
    }

    static int[] broadcastShape(int[] a, int[] b, String what) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int k = 0; k < r; k++) {
            int da = k - (r - a.length) >= 0 ? a[k - (r - a.length)] : 1;
            int db = k - (r - b.length) >= 0 ? b[k - (r - b.length)] : 1;
            if (da != db && da != 1 && db != 1) {
                throw LstmxException.badInput(what + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            out[k] = da == 1 ? db : da;
        }
        return out;
    }

    static Tensor binary(Layer.Binary.Op op, Tensor a, Tensor b, String what) {
        int[] shape = broadcastShape(a.shape(), b.shape(), what);
        Tensor x = broadcastTo(a, shape, what);
        Tensor y = broadcastTo(b, shape, what);
        int n = x.size();
        if (!a.dtype().isFloating() && !b.dtype().isFloating()) {
            LongBinaryOperator f = switch (op) {
                case ADD -> Math::addExact;
                case SUB -> Math::subtractExact;
                case MUL -> Math::multiplyExact;
                case DIV -> (p, q) -> {
                    if (q == 0) {
                        throw LstmxException.badInput(what + ": integer division by zero");
                    }
                    return p / q;
                };
            };
            long[] l = new long[n];
            for (int i = 0; i < n; i++) {
                l[i] = f.applyAsLong(x.getLong(i), y.getLong(i));
            }
            return Tensor.ofLongs(a.dtype(), shape, l);
        }
        DoubleBinaryOperator f = switch (op) {
            case ADD -> (p, q) -> (float) p + (float) q;
            case SUB -> (p, q) -> (float) p - (float) q;
            case MUL -> (p, q) -> (float) p * (float) q;
            case DIV -> (p, q) -> (float) p / (float) q;
        };
        float[] r = new float[n];
        for (int i = 0; i < n; i++) {
            r[i] = (float) f.applyAsDouble(x.getFloat(i), y.getFloat(i));
        }
        return Tensor.ofFloats(shape, r);
    }

    /** Elements of {@code t} along {@code axis} from {@code start} (inclusive) to {@code end} with {@code step}. */
    static Tensor slice(Tensor t, int axis, long start, long end, long step) {
        int[] shape = t.shape();
        long[] r = sliceRange(shape[axis], start, end, step);
        int count = (int) r[2];
        int[] out = shape.clone();
        out[axis] = count;
        int[] st = strides(shape);
        int[] srcStrides = st.clone();
        srcStrides[axis] = (int) (st[axis] * step);
        if (count == 0) {
            return pick(t, out, new int[0]);
        }
        return pick(t, out, mapIndices(out, srcStrides, (int) (r[0] * st[axis])));
    }

    /** ONNX Slice clamping: returns {first index, step, count}. */
    static long[] sliceRange(long dim, long start, long end, long step) {
        if (step == 0) {
            throw LstmxException.badInput("slice step 0");
        }
        if (start < 0) {
            start += dim;
        }
        if (end < 0) {
            end += dim;
        }
        long count;
        if (step > 0) {
            start = Math.max(0, Math.min(dim, start));
            end = Math.max(0, Math.min(dim, end));
            count = end > start ? (end - start + step - 1) / step : 0;
        } else {
            start = Math.max(-1, Math.min(dim - 1, start));
            end = Math.max(-1, Math.min(dim - 1, end));
            count = start > end ? (start - end - step - 1) / -step : 0;
        }
        return new long[] {start, step, count};
    }

    static Tensor concat(List<Tensor> parts, int axis, String what) {
        int[] first = parts.get(0).shape();
        int total = 0;
        for (Tensor p : parts) {
            int[] s = p.shape();
            if (s.length != first.length) {
                throw LstmxException.badInput(what + ": Concat of ranks " + first.length + " and " + s.length);
            }
            for (int k = 0; k < s.length; k++) {
                if (k != axis && s[k] != first[k]) {
                    throw LstmxException.badInput(what + ": Concat shapes " + Arrays.toString(first) + " and " + Arrays.toString(s)
                            + " differ outside axis " + axis);
                }
            }
            total += s[axis];
        }
        int[] out = first.clone();
        out[axis] = total;
        int outer = 1;
        for (int k = 0; k < axis; k++) {
            outer *= first[k];
        }
        boolean floating = parts.stream().anyMatch(p -> p.dtype().isFloating());
        int n = checkedCount(what, Arrays.stream(out).asLongStream().toArray());
        float[] f = floating ? new float[n] : null;
        long[] l = floating ? null : new long[n];
        int pos = 0;
        for (int o = 0; o < outer; o++) {
            for (Tensor p : parts) {
                int block = p.size() / outer;
                for (int i = 0; i < block; i++) {
                    int src = o * block + i;
                    if (floating) {
                        f[pos++] = p.getFloat(src);
                    } else {
                        l[pos++] = p.getLong(src);
                    }
                }
            }
        }
        return floating ? Tensor.ofFloats(out, f) : Tensor.ofLongs(parts.get(0).dtype(), out, l);
    }

    /** ONNX Gather: out = data[:axis] + indices.shape + data[axis+1:]. */
    static Tensor gather(Tensor data, Tensor indices, int axis, String what) {
        int[] ds = data.shape();
        int[] is = indices.shape();
        int[] out = new int[ds.length - 1 + is.length];
        System.arraycopy(ds, 0, out, 0, axis);
        System.arraycopy(is, 0, out, axis, is.length);
        System.arraycopy(ds, axis + 1, out, axis + is.length, ds.length - axis - 1);
        int n = checkedCount(what, Arrays.stream(out).asLongStream().toArray());
        int outer = 1;
        for (int k = 0; k < axis; k++) {
            outer *= ds[k];
        }
        int inner = 1;
        for (int k = axis + 1; k < ds.length; k++) {
            inner *= ds[k];
        }
        int ni = indices.size();
        int[] idx = new int[n];
        int pos = 0;
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < ni; j++) {
                long k = indices.getLong(j);
                if (k < 0) {
                    k += ds[axis];
                }
                if (k < 0 || k >= ds[axis]) {
                    throw LstmxException.badInput(what + ": Gather index " + indices.getLong(j) + " is out of range for axis " + axis
                            + " of size " + ds[axis]);
                }
                int base = (o * ds[axis] + (int) k) * inner;
                for (int i = 0; i < inner; i++) {
                    idx[pos++] = base + i;
                }
            }
        }
        return pick(data, out, idx);
    }

    static Tensor tile(Tensor t, long[] repeats, String what) {
        int[] s = t.shape();
        long[] outL = new long[s.length];
        for (int k = 0; k < s.length; k++) {
            outL[k] = (long) s[k] * repeats[k];
        }
        checkedCount(what, outL);
        int[] out = Arrays.stream(outL).mapToInt(v -> (int) v).toArray();
        int[] st = strides(s);
        int n = Tensor.elementCount(out);
        int[] idx = new int[n];
        int[] pos = new int[out.length];
        for (int i = 0; i < n; i++) {
            int src = 0;
            for (int k = 0; k < out.length; k++) {
                src += (pos[k] % s[k]) * st[k];
            }
            idx[i] = src;
            for (int k = out.length - 1; k >= 0; k--) {
                if (++pos[k] < out[k]) {
                    break;
                }
                pos[k] = 0;
            }
        }
        return pick(t, out, idx);
    }

    /** 2-D matrix product a [M,K] x b [K,N] in float32 with double accumulation. */
    static Tensor matmul2d(Tensor a, Tensor b) {
        int m = a.dim(0);
        int k = a.dim(1);
        int n = b.dim(1);
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        float[] out = new float[checkedCount("MatMul", m, n)];
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

    static Tensor map(Tensor t, java.util.function.DoubleUnaryOperator f) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) f.applyAsDouble(v[i]);
        }
        return Tensor.ofFloats(t.shape(), v);
    }

    static Tensor scale(Tensor t, float s) {
        return s == 1f ? t : map(t, x -> (float) x * s);
    }

    /** Cast with ONNX semantics for the IR dtypes (float to integer truncates; to bool is x != 0). */
    static Tensor cast(Tensor t, DType to, boolean toBool) {
        if (toBool) {
            long[] l = new long[t.size()];
            for (int i = 0; i < l.length; i++) {
                l[i] = t.getFloat(i) != 0 ? 1 : 0;
            }
            return Tensor.ofLongs(DType.INT64, t.shape(), l);
        }
        return t.withDType(to);
    }

    /** True when every element equals the first (and there is at least one). */
    static boolean uniform(Tensor t) {
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

    static boolean allZero(Tensor t) {
        for (int i = 0; i < t.size(); i++) {
            if (t.getFloat(i) != 0f) {
                return false;
            }
        }
        return true;
    }

    /** The rank-0 tensor holding element {@code i} of {@code t}. */
    static Tensor element(Tensor t, int i) {
        if (t.dtype().isFloating()) {
            return Tensor.ofFloats(new int[0], new float[] {t.getFloat(i)});
        }
        return Tensor.ofLongs(t.dtype(), new int[0], new long[] {t.getLong(i)});
    }

    /** A tensor of {@code shape} filled with the rank-0 {@code element}. */
    static Tensor fill(Tensor element, int[] shape, String what) {
        int n = checkedCount(what, Arrays.stream(shape).asLongStream().toArray());
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
