package io.lstmx.ir;

import io.lstmx.errors.LstmxException;

import java.util.Arrays;

/**
 * An immutable dense tensor in row-major order. Floating tensors store float32, or 16-bit values
 * for the half-precision storage types {@link DType#FLOAT16} and {@link DType#BFLOAT16} (read back
 * widened to float32, exactly, by every float accessor); integer tensors store int64 (see
 * {@link DType}). Every accessor that hands out an array returns a copy.
 */
public final class Tensor {
    /** Largest element count lstmx allocates for one tensor (2^31 - 16). */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 16L;

    private final DType dtype;
    private final int[] shape;
    private final float[] floats;
    private final long[] longs;
    /** Raw 16-bit patterns of a FLOAT16 or BFLOAT16 tensor, else null. */
    private final short[] halves;

    private Tensor(DType dtype, int[] shape, float[] floats, long[] longs) {
        this(dtype, shape, floats, longs, null);
    }

    private Tensor(DType dtype, int[] shape, float[] floats, long[] longs, short[] halves) {
        this.dtype = dtype;
        this.shape = shape;
        this.floats = floats;
        this.longs = longs;
        this.halves = halves;
    }

    /** Number of elements of a shape, checked against {@link #MAX_ELEMENTS} before anything is allocated. */
    public static int elementCount(long... shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw LstmxException.badInput("negative dimension " + d + " in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
            if (n > MAX_ELEMENTS) {
                throw LstmxException.badInput("shape " + Arrays.toString(shape) + " has more than " + MAX_ELEMENTS + " elements");
            }
        }
        return (int) n;
    }

    public static int elementCount(int... shape) {
        long[] l = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            l[i] = shape[i];
        }
        return elementCount(l);
    }

    public static Tensor ofFloats(int[] shape, float[] data) {
        int n = elementCount(shape);
        if (data.length != n) {
            throw LstmxException.badInput("tensor of shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
        return new Tensor(DType.FLOAT32, shape.clone(), data.clone(), null);
    }

    public static Tensor ofLongs(DType dtype, int[] shape, long[] data) {
        if (dtype.isFloating()) {
            throw new IllegalArgumentException("ofLongs needs an integer dtype, got " + dtype);
        }
        int n = elementCount(shape);
        if (data.length != n) {
            throw LstmxException.badInput("tensor of shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
        return new Tensor(dtype, shape.clone(), null, data.clone());
    }

    public static Tensor ofLongs(int[] shape, long[] data) {
        return ofLongs(DType.INT64, shape, data);
    }

    /**
     * A half-precision tensor from raw 16-bit patterns ({@link HalfFloats} describes them).
     *
     * @param dtype {@link DType#FLOAT16} or {@link DType#BFLOAT16}
     */
    public static Tensor ofHalfBits(DType dtype, int[] shape, short[] bits) {
        if (!dtype.isHalf()) {
            throw new IllegalArgumentException("ofHalfBits needs FLOAT16 or BFLOAT16, got " + dtype);
        }
        int n = elementCount(shape);
        if (bits.length != n) {
            throw LstmxException.badInput("tensor of shape " + Arrays.toString(shape) + " needs " + n + " values, got " + bits.length);
        }
        return new Tensor(dtype, shape.clone(), null, null, bits.clone());
    }

    public static Tensor scalar(float v) {
        return new Tensor(DType.FLOAT32, new int[0], new float[] {v}, null);
    }

    public static Tensor zeros(int... shape) {
        return new Tensor(DType.FLOAT32, shape.clone(), new float[elementCount(shape)], null);
    }

    /**
     * A float tensor that takes {@code data} over without copying it: for readers that have just
     * filled the array and never touch it again (a model's weights are then held once, not twice).
     */
    public static Tensor adoptFloats(int[] shape, float[] data) {
        int n = elementCount(shape);
        if (data.length != n) {
            throw LstmxException.badInput("tensor of shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
        }
        return new Tensor(DType.FLOAT32, shape.clone(), data, null);
    }

    /** Wraps an array without copying: only for code that has just created it and drops it. */
    static Tensor wrapFloats(int[] shape, float[] data) {
        return new Tensor(DType.FLOAT32, shape, data, null);
    }

    public DType dtype() {
        return dtype;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int axis) {
        return shape[axis < 0 ? axis + shape.length : axis];
    }

    public int size() {
        return floats != null ? floats.length : halves != null ? halves.length : longs.length;
    }

    /** A copy of the raw 16-bit patterns of a FLOAT16 or BFLOAT16 tensor. */
    public short[] toHalfBits() {
        if (halves == null) {
            throw new IllegalStateException("toHalfBits needs a FLOAT16 or BFLOAT16 tensor, this is " + dtype);
        }
        return halves.clone();
    }

    /**
     * The float values without a copy when the tensor holds float32 values, else {@link #toFloatArray}:
     * for callers that only read them (this package, and lstmx's runtime through {@link TensorAccess}).
     */
    float[] floatsShared() {
        return floats != null ? floats : toFloatArray();
    }

    /** A copy of the values as float32 (half precision widened exactly, integers converted). */
    public float[] toFloatArray() {
        if (floats != null) {
            return floats.clone();
        }
        if (halves != null) {
            float[] f = new float[halves.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = HalfFloats.toFloat(dtype, halves[i]);
            }
            return f;
        }
        float[] f = new float[longs.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = longs[i];
        }
        return f;
    }

    /** A copy of the values as int64 (floating tensors are truncated). */
    public long[] toLongArray() {
        if (longs != null) {
            return longs.clone();
        }
        long[] l = new long[size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = (long) getFloat(i);
        }
        return l;
    }

    public float getFloat(int flatIndex) {
        return floats != null ? floats[flatIndex] : halves != null ? HalfFloats.toFloat(dtype, halves[flatIndex]) : longs[flatIndex];
    }

    public long getLong(int flatIndex) {
        return longs != null ? longs[flatIndex] : (long) getFloat(flatIndex);
    }

    /** Copies the float values (widened from half precision) into {@code dst} at {@code offset} without an intermediate copy. */
    public void copyFloatsTo(float[] dst, int offset) {
        if (floats != null) {
            System.arraycopy(floats, 0, dst, offset, floats.length);
        } else if (halves != null) {
            for (int i = 0; i < halves.length; i++) {
                dst[offset + i] = HalfFloats.toFloat(dtype, halves[i]);
            }
        } else {
            for (int i = 0; i < longs.length; i++) {
                dst[offset + i] = longs[i];
            }
        }
    }

    /**
     * Puts {@code count} values from flat index {@code from} as float32 (widened from half precision,
     * integers converted) into {@code dst}, without an intermediate copy: for writers that stream a
     * tensor's bytes (a FloatBuffer view of a little-endian ByteBuffer gives them in file order).
     */
    public void putFloats(int from, int count, java.nio.FloatBuffer dst) {
        java.util.Objects.checkFromIndexSize(from, count, size());
        if (floats != null) {
            dst.put(floats, from, count);
            return;
        }
        for (int i = from; i < from + count; i++) {
            dst.put(getFloat(i));
        }
    }

    /**
     * Writes this 2-D tensor [r, c] transposed into {@code dst}: element (i, j) goes to
     * {@code dst[offset + j * stride + i]} (stride r gives the [c, r] transpose; a larger stride
     * places it in a wider matrix). Rows are read a tile at a time so that each write fills a cache
     * line rather than one float of a line, and nothing is copied on the way (writers transpose
     * whole weight matrices with it).
     */
    public void transposeInto(float[] dst, int offset, int stride) {
        if (shape.length != 2) {
            throw new IllegalArgumentException("transposeInto needs a 2-D tensor, this is " + Arrays.toString(shape));
        }
        transposeColumnsInto(0, shape[1], dst, offset, stride);
    }

    /**
     * Columns [j0, j1) of this 2-D tensor [r, c], transposed: element (i, j) goes to
     * {@code dst[offset + (j - j0) * stride + i]}; with stride r, rows j0..j1-1 of the [c, r]
     * transpose. For writers that stream a transposed weight a few rows at a time instead of
     * holding all of it (the same tiled reads as {@link #transposeInto}).
     */
    public void transposeColumnsInto(int j0, int j1, float[] dst, int offset, int stride) {
        if (shape.length != 2) {
            throw new IllegalArgumentException("transposeColumnsInto needs a 2-D tensor, this is " + Arrays.toString(shape));
        }
        transposeBlockInto(0, shape[0], j0, j1, dst, offset, stride);
    }

    /**
     * Rows [i0, i1) and columns [j0, j1) of this 2-D tensor [r, c], transposed: element (i, j) goes
     * to {@code dst[offset + (j - j0) * stride + (i - i0)]}. For writers that put a matrix's row
     * blocks (gates) in another order while they transpose it, a few columns at a time, so that
     * neither the reordered nor the transposed matrix is ever whole (the same tiled reads as
     * {@link #transposeInto}).
     */
    public void transposeBlockInto(int i0, int i1, int j0, int j1, float[] dst, int offset, int stride) {
        if (shape.length != 2) {
            throw new IllegalArgumentException("transposeBlockInto needs a 2-D tensor, this is " + Arrays.toString(shape));
        }
        int c = shape[1];
        java.util.Objects.checkFromToIndex(i0, i1, shape[0]);
        java.util.Objects.checkFromToIndex(j0, j1, c);
        int r = i1 - i0;
        if (r > 0 && j1 > j0 && (offset < 0 || stride < r || offset + (long) (j1 - j0 - 1) * stride + r > dst.length)) {
            throw new IndexOutOfBoundsException("a [" + r + ", " + (j1 - j0) + "] transpose at offset " + offset + ", stride " + stride
                    + " does not fit " + dst.length + " values");
        }
        final int tile = 16;
        for (int t0 = i0; t0 < i1; t0 += tile) {
            int rows = Math.min(tile, i1 - t0);
            for (int j = j0; j < j1; j++) {
                int at = offset + (j - j0) * stride + (t0 - i0);
                int from = t0 * c + j;
                if (floats != null) {
                    for (int i = 0; i < rows; i++) {
                        dst[at + i] = floats[from + i * c];
                    }
                } else {
                    for (int i = 0; i < rows; i++) {
                        dst[at + i] = getFloat(from + i * c);
                    }
                }
            }
        }
    }

    public Tensor reshape(int... newShape) {
        if (elementCount(newShape) != size()) {
            throw LstmxException.badInput("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        }
        return new Tensor(dtype, newShape.clone(), floats, longs, halves);
    }

    /**
     * The values as another dtype: another integer label keeps them; FLOAT32 converts integers and
     * widens half precision exactly; FLOAT16 / BFLOAT16 narrow float32 rounding to nearest even
     * ({@link HalfFloats}; integers go through float32 first, exact up to 2^24); floats to integers
     * truncate.
     */
    public Tensor withDType(DType target) {
        if (target == dtype) {
            return this;
        }
        if (target.isHalf()) {
            short[] h = new short[size()];
            for (int i = 0; i < h.length; i++) {
                h[i] = HalfFloats.fromFloat(target, getFloat(i));
            }
            return new Tensor(target, shape, null, null, h);
        }
        if (target.isFloating()) {
            return new Tensor(target, shape, toFloatArray(), null);
        }
        return new Tensor(target, shape, null, longs != null ? longs : toLongArray());
    }

    /** True when both tensors have the same dtype, shape and bit-identical values. */
    public boolean bitEquals(Tensor o) {
        if (dtype != o.dtype || !Arrays.equals(shape, o.shape)) {
            return false;
        }
        if (halves != null) {
            return Arrays.equals(halves, o.halves);
        }
        if (floats != null) {
            for (int i = 0; i < floats.length; i++) {
                if (Float.floatToRawIntBits(floats[i]) != Float.floatToRawIntBits(o.floats[i])) {
                    return false;
                }
            }
            return true;
        }
        return Arrays.equals(longs, o.longs);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && bitEquals(t);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(shape) * 31
                + (floats != null ? Arrays.hashCode(floats) : halves != null ? Arrays.hashCode(halves) : Arrays.hashCode(longs));
    }

    @Override
    public String toString() {
        return "Tensor(" + dtype + " " + Arrays.toString(shape) + ")";
    }
}
