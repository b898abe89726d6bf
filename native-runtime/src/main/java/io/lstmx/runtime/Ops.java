package io.lstmx.runtime;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.SliceRange;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;

import java.util.Arrays;
import java.util.List;

/**
 * Every layer except the recurrent ones (see {@link RecurrentStep}), with ONNX semantics. Data-movement layers
 * work on float and integer values alike; arithmetic layers need float values except
 * {@link Layer.Binary}, which also works on integers (both operands the same kind, as in ONNX).
 */
final class Ops {
    private Ops() {
    }

    /**
     * Prepares a layer (weights laid out once, half-precision tensors widened to float32). The
     * dispatch on the layer's kind happens here, once per layer when the model is compiled; the
     * returned step runs without it.
     */
    static Step compile(Layer layer) {
        return layer.accept(COMPILER);
    }

    private static final Layer.Visitor<Step> COMPILER = new Layer.Visitor<>() {
        @Override public Step visit(Layer.Lstm l) { return RecurrentStep.of(l); }
        @Override public Step visit(Layer.Gru g) { return RecurrentStep.of(g); }
        @Override public Step visit(Layer.Rnn r) { return RecurrentStep.of(r); }

        @Override
        public Step visit(Layer.Constant c) {
            Val v = Val.of(c.value());
            return args -> new Val[] {v};
        }

        @Override public Step visit(Layer.Dense d) { return dense(d); }

        @Override
        public Step visit(Layer.Embedding e) {
            Val table = Val.of(e.table());
            return args -> new Val[] {gather(e, table, 0, indices(e, args[0]), args[0].shape, "index")};
        }

        @Override
        public Step visit(Layer.Activation a) {
            return args -> {
                Val x = requireFloat(a, args[0], "input");
                float[] out = x.f.clone();
                Activations.apply(a.fn(), out, 0, out.length);
                return new Val[] {Val.floats(x.shape, out)};
            };
        }

        @Override public Step visit(Layer.Softmax s) { return args -> new Val[] {softmax(s, args[0])}; }
        @Override public Step visit(Layer.Dropout d) { return args -> new Val[] {args[0]}; }
        @Override public Step visit(Layer.Identity i) { return args -> new Val[] {args[0]}; }
        @Override public Step visit(Layer.Binary b) { return args -> new Val[] {binary(b, args[0], args[1])}; }
        @Override public Step visit(Layer.MatMul m) { return args -> new Val[] {matmul(m, args[0], args[1])}; }
        @Override public Step visit(Layer.Concat c) { return args -> new Val[] {concat(c, args)}; }
        @Override public Step visit(Layer.Transpose t) { return args -> new Val[] {transpose(t, args[0])}; }
        @Override public Step visit(Layer.Reshape r) { return args -> new Val[] {args[0].withShape(reshapeTarget(r, args[0].shape))}; }
        @Override public Step visit(Layer.Flatten f) { return args -> new Val[] {flatten(f, args[0])}; }
        @Override public Step visit(Layer.Squeeze s) { return args -> new Val[] {squeeze(s, args[0])}; }
        @Override public Step visit(Layer.Unsqueeze u) { return args -> new Val[] {unsqueeze(u, args[0])}; }
        @Override public Step visit(Layer.Select s) { return args -> new Val[] {select(s, args[0])}; }

        @Override
        public Step visit(Layer.Take t) {
            if (t.indices().dtype().isFloating()) {
                throw Step.bad(t, "indices must be integers, got " + t.indices().dtype());
            }
            long[] idx = t.indices().toLongArray();
            int[] idxShape = t.indices().shape();
            return args -> {
                int axis = axis(t, t.axis(), args[0].rank());
                return new Val[] {gather(t, args[0], axis, idx, idxShape, "index")};
            };
        }

        @Override
        public Step visit(Layer.Slice s) {
            if (s.step() == 0) {
                throw Step.bad(s, "slice step must not be 0");
            }
            return args -> new Val[] {slice(s, args[0])};
        }

        @Override
        public Step visit(Layer.Cast c) {
            if (c.to().isHalf()) {
                // run-time values are float32: a cast to half precision would have to round them
                throw LstmxException.unsupported("layer '" + c.name() + "' (Cast): casting to " + c.to()
                        + " is not supported; half precision is a storage type of weights only");
            }
            return args -> new Val[] {cast(args[0], c.to())};
        }

        @Override public Step visit(Layer.StepMask m) { return args -> new Val[] {stepMask(m, args[0])}; }

        @Override
        public Step visit(Layer.LayerNorm n) {
            float[] gamma = n.gamma() == null ? null : n.gamma().toFloatArray();
            float[] beta = n.beta() == null ? null : n.beta().toFloatArray();
            return args -> new Val[] {layerNorm(n, requireFloat(n, args[0], "input"), gamma, beta)};
        }
    };

    /** Layer normalisation over the last axis (see {@link Layer.LayerNorm}); statistics in double. */
    static Val layerNorm(Layer.LayerNorm n, Val x, float[] gamma, float[] beta) {
        if (x.shape.length == 0) {
            throw Step.bad(n, "input is a scalar, expected a last axis to normalise");
        }
        int f = x.shape[x.shape.length - 1];
        if (n.features() >= 0 && f != n.features()) {
            throw Step.bad(n, "input " + x.shapeString() + " has last dimension " + f + ", expected " + n.features());
        }
        float[] y = new float[x.f.length];
        int rows = f == 0 ? 0 : x.f.length / f;
        for (int r = 0; r < rows; r++) {
            int o = r * f;
            double mean = 0;
            for (int k = 0; k < f; k++) {
                mean += x.f[o + k];
            }
            mean /= f;
            double var = 0;
            for (int k = 0; k < f; k++) {
                double d = x.f[o + k] - mean;
                var += d * d;
            }
            var /= f;
            double inv = 1 / Math.sqrt(var + n.epsilon());
            for (int k = 0; k < f; k++) {
                double v = (x.f[o + k] - mean) * inv;
                y[o + k] = (float) (v * (gamma == null ? 1 : gamma[k]) + (beta == null ? 0 : beta[k]));
            }
        }
        return Val.floats(x.shape.clone(), y);
    }

    /** 1 where x differs from the mask value (any element of the last axis, when so asked), else 0. */
    static Val stepMask(Layer.StepMask m, Val x) {
        int[] shape = x.shape;
        int inner = 1;
        if (m.anyOverLastAxis()) {
            if (shape.length == 0) {
                throw Step.bad(m, "input is a scalar, expected a last axis of features to test");
            }
            inner = shape[shape.length - 1];
            shape = Arrays.copyOf(shape, shape.length - 1);
        }
        int n = Tensor.elementCount(shape);
        float[] y = new float[n];
        double value = m.value();
        for (int i = 0; i < n; i++) {
            boolean kept = false;
            for (int k = i * inner; k < (i + 1) * inner && !kept; k++) {
                double v = x.isFloat() ? x.f[k] : x.l[k];
                kept = v != value;
            }
            y[i] = kept ? 1f : 0f;
        }
        return Val.floats(shape, y);
    }

    // ---------------------------------------------------------------- helpers

    static Val requireFloat(Layer l, Val v, String what) {
        if (!v.isFloat()) {
            throw Step.bad(l, what + " must be float, got " + v.dtype + " " + v.shapeString());
        }
        return v;
    }

    /** Normalises an axis (negative counts from the end) for a value of the given rank. */
    static int axis(Layer l, int axis, int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw Step.bad(l, "axis " + axis + " is out of range for rank " + rank);
        }
        return a;
    }

    static int product(int[] shape, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) {
            p *= shape[i];
        }
        return (int) p;
    }

    /** Row-major strides of a shape. */
    static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /**
     * For every element of {@code outShape} (row-major), the offset {@code sum(index[k] * strides[k])}
     * into a source; strides of 0 repeat (broadcast) the source along that axis.
     */
    static int[] offsets(int[] outShape, int[] strides) {
        int n = Tensor.elementCount(outShape);
        int[] off = new int[n];
        int rank = outShape.length;
        int[] idx = new int[rank];
        int cur = 0;
        for (int i = 0; i < n; i++) {
            off[i] = cur;
            for (int k = rank - 1; k >= 0; k--) {
                if (++idx[k] < outShape[k]) {
                    cur += strides[k];
                    break;
                }
                cur -= strides[k] * (idx[k] - 1);
                idx[k] = 0;
            }
        }
        return off;
    }

    // ---------------------------------------------------------------- Dense

    private static Step dense(Layer.Dense d) {
        int out = d.weight().dim(0);
        int in = d.weight().dim(1);
        float[] w = d.weight().toFloatArray();
        float[] b = d.bias() == null ? null : d.bias().toFloatArray();
        // W^T laid out once for the vectorised kernels (see PackedMatrix), unless the layer is so
        // narrow that padding its columns to 128 would cost more than it saves.
        PackedMatrix wT = out >= 32 ? PackedMatrix.ofTransposed(w, out, in) : null;
        float[] bias = wT != null && b != null ? wT.pack(b) : b;
        return args -> {
            Val x = requireFloat(d, args[0], "input");
            if (x.rank() < 1 || x.shape[x.rank() - 1] != in) {
                throw Step.bad(d, "input shape " + x.shapeString() + " has last dim "
                        + (x.rank() < 1 ? "none" : Integer.toString(x.shape[x.rank() - 1])) + ", expected " + in + " (weight [" + out + ", " + in + "])");
            }
            int rows = in == 0 ? product(x.shape, 0, x.rank() - 1) : x.size() / in;
            int[] shape = x.shape.clone();
            shape[shape.length - 1] = out;
            float[] y = new float[Tensor.elementCount(shape)];
            if (wT != null) {
                wT.multiply(x.f, rows, in, bias, y, out);
            } else {
                for (int r = 0; r < rows; r++) {
                    for (int o = 0; o < out; o++) {
                        float sum = bias == null ? 0f : bias[o];
                        for (int k = 0; k < in; k++) {
                            sum += x.f[r * in + k] * w[o * in + k];
                        }
                        y[r * out + o] = sum;
                    }
                }
            }
            return new Val[] {Val.floats(shape, y)};
        };
    }

    // ---------------------------------------------------------------- gathers

    private static long[] indices(Layer l, Val v) {
        if (v.isFloat()) {
            throw Step.bad(l, "indices must be integers, got " + v.dtype + " " + v.shapeString());
        }
        return v.l;
    }

    /**
     * ONNX Gather: out.shape = data.shape[:axis] + idxShape + data.shape[axis+1:]; negative indices
     * count from the end of the axis.
     */
    static Val gather(Layer l, Val data, int axis, long[] idx, int[] idxShape, String what) {
        int n = data.shape[axis];
        int outer = product(data.shape, 0, axis);
        int inner = product(data.shape, axis + 1, data.rank());
        int[] src = new int[idx.length];
        for (int i = 0; i < idx.length; i++) {
            long v = idx[i] < 0 ? idx[i] + n : idx[i];
            if (v < 0 || v >= n) {
                throw Step.bad(l, what + " " + idx[i] + " is out of range for axis " + axis + " of size " + n
                        + " (allowed " + (-n) + " .. " + (n - 1) + ")");
            }
            src[i] = (int) v;
        }
        int[] shape = new int[data.rank() - 1 + idxShape.length];
        System.arraycopy(data.shape, 0, shape, 0, axis);
        System.arraycopy(idxShape, 0, shape, axis, idxShape.length);
        System.arraycopy(data.shape, axis + 1, shape, axis + idxShape.length, data.rank() - axis - 1);
        Val out = data.like(shape);
        Object s = data.data();
        Object d = out.data();
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < src.length; i++) {
                System.arraycopy(s, (o * n + src[i]) * inner, d, (o * src.length + i) * inner, inner);
            }
        }
        return out;
    }

    private static Val select(Layer.Select s, Val x) {
        int axis = axis(s, s.axis(), x.rank());
        return gather(s, x, axis, new long[] {s.index()}, new int[0], "index");
    }

    // ---------------------------------------------------------------- Softmax

    private static Val softmax(Layer.Softmax s, Val in) {
        Val x = requireFloat(s, in, "input");
        int axis = axis(s, s.axis(), x.rank());
        int n = x.shape[axis];
        int outer = product(x.shape, 0, axis);
        int inner = product(x.shape, axis + 1, x.rank());
        float[] y = new float[x.size()];
        float[] a = x.f;
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = o * n * inner + i;
                float max = Float.NEGATIVE_INFINITY;
                for (int k = 0; k < n; k++) {
                    max = Math.max(max, a[base + k * inner]);
                }
                double sum = 0;
                for (int k = 0; k < n; k++) {
                    sum += Math.exp(a[base + k * inner] - max);
                }
                if (s.log()) {
                    double logSum = Math.log(sum);
                    for (int k = 0; k < n; k++) {
                        y[base + k * inner] = (float) (a[base + k * inner] - max - logSum);
                    }
                } else {
                    for (int k = 0; k < n; k++) {
                        y[base + k * inner] = (float) (Math.exp(a[base + k * inner] - max) / sum);
                    }
                }
            }
        }
        return Val.floats(x.shape, y);
    }

    // ---------------------------------------------------------------- Binary

    /** NumPy broadcast of two shapes, or a BAD_INPUT naming the layer. */
    static int[] broadcast(Layer l, int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)] : 1;
            int db = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)] : 1;
            if (da != db && da != 1 && db != 1) {
                throw Step.bad(l, "shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " cannot be broadcast together");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Strides of {@code shape} seen through the broadcast {@code out} shape (0 on repeated axes). */
    static int[] broadcastStrides(int[] shape, int[] out) {
        int[] own = strides(shape);
        int[] s = new int[out.length];
        int shift = out.length - shape.length;
        for (int i = shift; i < out.length; i++) {
            s[i] = shape[i - shift] == 1 && out[i] != 1 ? 0 : own[i - shift];
        }
        return s;
    }

    private static Val binary(Layer.Binary bl, Val a, Val b) {
        if (a.isFloat() != b.isFloat()) {
            throw Step.bad(bl, "operands must both be float or both integer, got " + a.dtype + " " + a.shapeString()
                    + " and " + b.dtype + " " + b.shapeString());
        }
        int[] shape = broadcast(bl, a.shape, b.shape);
        int n = Tensor.elementCount(shape);
        int[] oa = Arrays.equals(a.shape, shape) ? null : offsets(shape, broadcastStrides(a.shape, shape));
        int[] ob = Arrays.equals(b.shape, shape) ? null : offsets(shape, broadcastStrides(b.shape, shape));
        Layer.Binary.Op op = bl.op();
        if (a.isFloat()) {
            float[] y = new float[n];
            float[] x1 = a.f;
            float[] x2 = b.f;
            for (int i = 0; i < n; i++) {
                float u = x1[oa == null ? i : oa[i]];
                float v = x2[ob == null ? i : ob[i]];
                switch (op) {
                    case ADD -> y[i] = u + v;
                    case SUB -> y[i] = u - v;
                    case MUL -> y[i] = u * v;
                    default -> y[i] = u / v;
                }
            }
            return Val.floats(shape, y);
        }
        long[] y = new long[n];
        for (int i = 0; i < n; i++) {
            long u = a.l[oa == null ? i : oa[i]];
            long v = b.l[ob == null ? i : ob[i]];
            switch (op) {
                case ADD -> y[i] = u + v;
                case SUB -> y[i] = u - v;
                case MUL -> y[i] = u * v;
                default -> {
                    if (v == 0) {
                        throw Step.bad(bl, "integer division by zero at output element " + i);
                    }
                    y[i] = u / v;
                }
            }
        }
        DType dt = a.dtype == DType.INT64 || b.dtype == DType.INT64 ? DType.INT64 : a.dtype;
        return Val.longs(dt, shape, y);
    }

    // ---------------------------------------------------------------- MatMul

    /** y[yo..yo+n) += a * x[xo..xo+n). */
    private static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        for (int j = 0; j < n; j++) {
            y[yo + j] += a * x[xo + j];
        }
    }

    private static Val matmul(Layer.MatMul m, Val a0, Val b0) {
        Val a = requireFloat(m, a0, "first operand");
        Val b = requireFloat(m, b0, "second operand");
        if (a.rank() == 0 || b.rank() == 0) {
            throw Step.bad(m, "operands must have rank >= 1, got " + a.shapeString() + " and " + b.shapeString());
        }
        int[] as = a.rank() == 1 ? new int[] {1, a.shape[0]} : a.shape;
        int[] bs = b.rank() == 1 ? new int[] {b.shape[0], 1} : b.shape;
        int rows = as[as.length - 2];
        int depth = as[as.length - 1];
        int cols = bs[bs.length - 1];
        if (bs[bs.length - 2] != depth) {
            throw Step.bad(m, "inner dimensions differ: " + a.shapeString() + " x " + b.shapeString()
                    + " (" + depth + " vs " + bs[bs.length - 2] + ")");
        }
        int[] batchA = Arrays.copyOf(as, as.length - 2);
        int[] batchB = Arrays.copyOf(bs, bs.length - 2);
        int[] batch = broadcast(m, batchA, batchB);
        int[] offA = offsets(batch, scale(broadcastStrides(batchA, batch), rows * depth));
        int[] offB = offsets(batch, scale(broadcastStrides(batchB, batch), depth * cols));
        int[] full = Arrays.copyOf(batch, batch.length + 2);
        full[batch.length] = rows;
        full[batch.length + 1] = cols;
        float[] y = new float[Tensor.elementCount(full)];
        for (int p = 0; p < offA.length; p++) {
            int yo = p * rows * cols;
            if (rows >= 4 && cols >= 32) {
                // Laying B out for the vectorised kernels (columns padded to 128) costs depth * cols,
                // repaid over 4+ rows; narrow products stay on the plain loop.
                float[] ap = offA[p] == 0 && a.f.length == rows * depth ? a.f : Arrays.copyOfRange(a.f, offA[p], offA[p] + rows * depth);
                float[] yp = new float[rows * cols];
                PackedMatrix.of(b.f, offB[p], depth, cols).multiply(ap, rows, depth, null, yp, cols);
                System.arraycopy(yp, 0, y, yo, rows * cols);
                continue;
            }
            for (int i = 0; i < rows; i++) {
                for (int k = 0; k < depth; k++) {
                    axpy(a.f[offA[p] + i * depth + k], b.f, offB[p] + k * cols, y, yo + i * cols, cols);
                }
            }
        }
        // NumPy: a 1-D operand's added axis is removed again.
        int[] shape = full;
        if (a.rank() == 1 && b.rank() == 1) {
            shape = batch;
        } else if (a.rank() == 1) {
            shape = Arrays.copyOf(batch, batch.length + 1);
            shape[batch.length] = cols;
        } else if (b.rank() == 1) {
            shape = Arrays.copyOf(batch, batch.length + 1);
            shape[batch.length] = rows;
        }
        return Val.floats(shape, y);
    }

    private static int[] scale(int[] s, int factor) {
        for (int i = 0; i < s.length; i++) {
            s[i] *= factor;
        }
        return s;
    }

    // ---------------------------------------------------------------- movement

    private static Val concat(Layer.Concat c, Val[] args) {
        Val first = args[0];
        int axis = axis(c, c.axis(), first.rank());
        int total = 0;
        for (int i = 0; i < args.length; i++) {
            Val v = args[i];
            if (v.isFloat() != first.isFloat() || v.rank() != first.rank()) {
                throw Step.bad(c, "input " + i + " ('" + c.inputs().get(i) + "') is " + v.dtype + " " + v.shapeString()
                        + ", expected " + first.dtype + " of rank " + first.rank() + " like input 0 " + first.shapeString());
            }
            for (int k = 0; k < v.rank(); k++) {
                if (k != axis && v.shape[k] != first.shape[k]) {
                    throw Step.bad(c, "input " + i + " ('" + c.inputs().get(i) + "') has shape " + v.shapeString()
                            + ", expected dim " + k + " = " + first.shape[k] + " as input 0 " + first.shapeString());
                }
            }
            total += v.shape[axis];
        }
        int[] shape = first.shape.clone();
        shape[axis] = total;
        Val out = Val.zeros(first.isFloat() ? DType.FLOAT32 : widest(args), shape);
        int outer = product(shape, 0, axis);
        int inner = product(shape, axis + 1, shape.length);
        int pos = 0;
        for (Val v : args) {
            int block = v.shape[axis] * inner;
            for (int o = 0; o < outer; o++) {
                System.arraycopy(v.data(), o * block, out.data(), o * total * inner + pos, block);
            }
            pos += block;
        }
        return out;
    }

    private static DType widest(Val[] args) {
        for (Val v : args) {
            if (v.dtype == DType.INT64) {
                return DType.INT64;
            }
        }
        return args[0].dtype;
    }

    private static Val transpose(Layer.Transpose t, Val x) {
        int r = x.rank();
        int[] perm = new int[r];
        if (t.perm().isEmpty()) {
            for (int i = 0; i < r; i++) {
                perm[i] = r - 1 - i;
            }
        } else {
            if (t.perm().size() != r) {
                throw Step.bad(t, "perm " + SafeText.list(t.perm()) + " has " + t.perm().size() + " entries, input " + x.shapeString() + " has rank " + r);
            }
            boolean[] seen = new boolean[r];
            for (int i = 0; i < r; i++) {
                int p = t.perm().get(i);
                p = p < 0 ? p + r : p;
                if (p < 0 || p >= r || seen[p]) {
                    throw Step.bad(t, "perm " + SafeText.list(t.perm()) + " is not a permutation of the " + r + " axes of " + x.shapeString());
                }
                seen[p] = true;
                perm[i] = p;
            }
        }
        int[] own = strides(x.shape);
        int[] shape = new int[r];
        int[] st = new int[r];
        for (int i = 0; i < r; i++) {
            shape[i] = x.shape[perm[i]];
            st[i] = own[perm[i]];
        }
        // The output's trailing axes that read consecutive input elements (st = 1, then each
        // stride the product of the dims after it) are copied as runs: a bidirectional layer's Y
        // [T, 2, B, H] -> [T, B, 2, H] moves runs of H floats instead of one float per offset.
        int inner = r;
        int run = 1;
        while (inner > 0 && st[inner - 1] == run) {
            run *= shape[inner - 1];
            inner--;
        }
        if (inner == r || run == 0) {
            return gatherFlat(x, shape, offsets(shape, st));
        }
        int[] outer = offsets(Arrays.copyOf(shape, inner), Arrays.copyOf(st, inner));
        int n = Tensor.elementCount(shape);
        if (x.isFloat()) {
            float[] y = new float[n];
            for (int i = 0; i < outer.length; i++) {
                System.arraycopy(x.f, outer[i], y, i * run, run);
            }
            return Val.floats(shape, y);
        }
        long[] y = new long[n];
        for (int i = 0; i < outer.length; i++) {
            System.arraycopy(x.l, outer[i], y, i * run, run);
        }
        return Val.longs(x.dtype, shape, y);
    }

    /** out[i] = x[src[i]]. */
    private static Val gatherFlat(Val x, int[] shape, int[] src) {
        if (x.isFloat()) {
            float[] y = new float[src.length];
            for (int i = 0; i < src.length; i++) {
                y[i] = x.f[src[i]];
            }
            return Val.floats(shape, y);
        }
        long[] y = new long[src.length];
        for (int i = 0; i < src.length; i++) {
            y[i] = x.l[src[i]];
        }
        return Val.longs(x.dtype, shape, y);
    }

    /** ONNX Reshape target (allowzero = 0): 0 copies the input dim at that position, one -1 is inferred. */
    static int[] reshapeTarget(Layer.Reshape r, int[] in) {
        List<Long> spec = r.shape();
        int[] out = new int[spec.size()];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            long s = spec.get(i);
            if (s == 0) {
                if (i >= in.length) {
                    throw Step.bad(r, "target " + SafeText.list(spec) + " copies dim " + i + " (0) but input " + Arrays.toString(in) + " has rank " + in.length);
                }
                out[i] = in[i];
            } else if (s == -1) {
                if (infer >= 0) {
                    throw Step.bad(r, "target " + SafeText.list(spec) + " has more than one -1");
                }
                infer = i;
                continue;
            } else if (s < -1 || s > Integer.MAX_VALUE) {
                throw Step.bad(r, "target " + SafeText.list(spec) + " has invalid dim " + s);
            } else {
                out[i] = (int) s;
            }
            known *= out[i];
        }
        long size = Tensor.elementCount(in);
        if (infer >= 0) {
            if (known == 0 || size % known != 0) {
                throw Step.bad(r, "cannot infer the -1 of " + SafeText.list(spec) + " for input " + Arrays.toString(in) + " (" + size + " elements)");
            }
            out[infer] = (int) (size / known);
            known *= out[infer];
        }
        if (known != size) {
            throw Step.bad(r, "cannot reshape input " + Arrays.toString(in) + " (" + size + " elements) to " + SafeText.list(spec)
                    + " (" + known + " elements)");
        }
        return out;
    }

    private static Val flatten(Layer.Flatten f, Val x) {
        int r = x.rank();
        int a = f.axis() < 0 ? f.axis() + r : f.axis();
        if (a < 0 || a > r) {
            throw Step.bad(f, "axis " + f.axis() + " is out of range for input " + x.shapeString() + " (allowed " + (-r) + " .. " + r + ")");
        }
        return x.withShape(new int[] {product(x.shape, 0, a), product(x.shape, a, r)});
    }

    private static Val squeeze(Layer.Squeeze s, Val x) {
        int r = x.rank();
        boolean[] drop = new boolean[r];
        if (s.axes().isEmpty()) {
            for (int i = 0; i < r; i++) {
                drop[i] = x.shape[i] == 1;
            }
        } else {
            for (int ax : s.axes()) {
                int a = axis(s, ax, r);
                if (x.shape[a] != 1) {
                    throw Step.bad(s, "axis " + ax + " of input " + x.shapeString() + " has size " + x.shape[a] + ", expected 1");
                }
                drop[a] = true;
            }
        }
        int n = 0;
        for (boolean d : drop) {
            n += d ? 0 : 1;
        }
        int[] shape = new int[n];
        int k = 0;
        for (int i = 0; i < r; i++) {
            if (!drop[i]) {
                shape[k++] = x.shape[i];
            }
        }
        return x.withShape(shape);
    }

    private static Val unsqueeze(Layer.Unsqueeze u, Val x) {
        int outRank = x.rank() + u.axes().size();
        boolean[] added = new boolean[outRank];
        for (int ax : u.axes()) {
            int a = axis(u, ax, outRank);
            if (added[a]) {
                throw Step.bad(u, "axes " + SafeText.list(u.axes()) + " repeat axis " + a);
            }
            added[a] = true;
        }
        int[] shape = new int[outRank];
        int k = 0;
        for (int i = 0; i < outRank; i++) {
            shape[i] = added[i] ? 1 : x.shape[k++];
        }
        return x.withShape(shape);
    }

    /** ONNX Slice on one axis, clamped as {@link SliceRange}. */
    private static Val slice(Layer.Slice s, Val x) {
        int axis = axis(s, s.axis(), x.rank());
        long n = x.shape[axis];
        SliceRange r = SliceRange.of(n, s.start(), s.end(), s.step());
        long start = r.start();
        long step = r.step();
        long count = r.count();
        int[] shape = x.shape.clone();
        shape[axis] = (int) count;
        Val out = x.like(shape);
        int outer = product(x.shape, 0, axis);
        int inner = product(x.shape, axis + 1, x.rank());
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < count; k++) {
                long src = start + k * step;
                System.arraycopy(x.data(), (int) ((o * n + src) * inner), out.data(), (int) ((o * count + k) * inner), inner);
            }
        }
        return out;
    }

    /** ONNX Cast: float to integer truncates toward zero; int64 to int32 keeps the low 32 bits. */
    static Val cast(Val x, DType to) {
        if (to.isFloating()) {
            if (x.isFloat()) {
                return x;
            }
            float[] y = new float[x.l.length];
            for (int i = 0; i < y.length; i++) {
                y[i] = x.l[i];
            }
            return Val.floats(x.shape, y);
        }
        long[] y = new long[x.size()];
        for (int i = 0; i < y.length; i++) {
            long v = x.isFloat() ? (long) x.f[i] : x.l[i];
            y[i] = to == DType.INT32 ? (int) v : v;
        }
        return Val.longs(to, x.shape, y);
    }
}
