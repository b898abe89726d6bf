package io.lstmx.ir;

import io.lstmx.errors.LstmxException;

/**
 * The elements ONNX Slice keeps on one axis: indices {@code start + k * step} for {@code k} in
 * {@code [0, count)}. The one place the clamping rules live (importer folding, shape inference and the
 * runtime all use it).
 *
 * @param start first index kept (meaningless when count is 0)
 * @param step  the (non-zero) step
 * @param count number of elements kept
 */
public record SliceRange(long start, long step, long count) {

    /**
     * ONNX Slice semantics for an axis of size {@code dim}: a negative start or end counts from the end;
     * then with a positive step both are clamped to [0, dim], with a negative step start to [0, dim - 1]
     * and end to [-1, dim - 1]. Any long values are accepted without overflow (the count is computed as
     * (distance - 1) / |step| + 1, never forming distance + step or -step).
     */
    public static SliceRange of(long dim, long start, long end, long step) {
        if (step == 0) {
            throw LstmxException.badInput("slice step 0");
        }
        if (dim < 0) {
            throw LstmxException.badInput("slice of an axis of negative size " + dim);
        }
        // start + dim cannot overflow: start < 0 <= dim
        long s = start < 0 ? start + dim : start;
        long e = end < 0 ? end + dim : end;
        if (step > 0) {
            s = Math.max(0, Math.min(dim, s));
            e = Math.max(0, Math.min(dim, e));
            return new SliceRange(s, step, e > s ? (e - s - 1) / step + 1 : 0);
        }
        s = Math.max(0, Math.min(dim - 1, s));
        e = Math.max(-1, Math.min(dim - 1, e));
        // s - e - 1 >= 0 and < 2^63; dividing by the negative step (Long.MIN_VALUE included) gives -(distance / |step|)
        return new SliceRange(s, step, dim > 0 && s > e ? 1 - (s - e - 1) / step : 0);
    }
}
