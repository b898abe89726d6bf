package io.lstmx.runtime;

import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.TensorAccess;

import java.util.Arrays;

/**
 * A run-time value: a shape and either float32 or int64 data in row-major order. Unlike
 * {@link Tensor} it hands out its arrays, so that values flow between layers without copies; the
 * runtime never writes into a value after creating it (layers only read their inputs).
 */
final class Val {
    final DType dtype;
    final int[] shape;
    final float[] f;
    final long[] l;

    private Val(DType dtype, int[] shape, float[] f, long[] l) {
        this.dtype = dtype;
        this.shape = shape;
        this.f = f;
        this.l = l;
    }

    static Val floats(int[] shape, float[] data) {
        return new Val(DType.FLOAT32, shape, data, null);
    }

    static Val longs(DType dtype, int[] shape, long[] data) {
        return new Val(dtype, shape, null, data);
    }

    /** A zero-filled value of the given shape and dtype (size checked before allocation). */
    static Val zeros(DType dtype, int[] shape) {
        int n = Tensor.elementCount(shape);
        return dtype.isFloating() ? floats(shape, new float[n]) : longs(dtype, shape, new long[n]);
    }

    /**
     * A call's input: float32 values are the tensor's own array, not a copy (the runtime only
     * reads values; see {@link TensorAccess}).
     */
    static Val of(Tensor t) {
        return t.dtype().isFloating() ? floats(t.shape(), TensorAccess.floatsForReading(t)) : longs(t.dtype(), t.shape(), t.toLongArray());
    }

    /**
     * A call's output: the tensor takes the float array over without a copy. Nothing writes a
     * value's array after creating it, so the array may be shared with an input or another
     * output (a layer that passes its input through): every holder only reads it.
     */
    Tensor toTensor() {
        return isFloat() ? Tensor.adoptFloats(shape, f) : Tensor.ofLongs(dtype, shape, l);
    }

    boolean isFloat() {
        return f != null;
    }

    int rank() {
        return shape.length;
    }

    int size() {
        return f != null ? f.length : l.length;
    }

    /** The same data under another shape of equal element count (data shared, never written). */
    Val withShape(int[] newShape) {
        return new Val(dtype, newShape, f, l);
    }

    /** An empty value of the same dtype with the given shape. */
    Val like(int[] newShape) {
        return zeros(dtype, newShape);
    }

    /** The data array (float[] or long[]), for System.arraycopy which handles both. */
    Object data() {
        return f != null ? f : l;
    }

    String shapeString() {
        return Arrays.toString(shape);
    }
}
