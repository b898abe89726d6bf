package io.lstmx.ir;

/**
 * Copy-free access to a tensor's values for lstmx's own modules: not part of the library's API.
 * <p>
 * {@link Tensor} is immutable and copies on the way in and out. The native runtime reads a
 * call's inputs many times and writes none of them, and its outputs are arrays it has just
 * filled and never touches again; copying both per call cost it 3-5% of a batch-1 LSTM call
 * (150 KB in and out, and up to 0.3 ms for a 1536-wide layer whose weights had just pushed the
 * input out of the caches). Whoever receives an array from {@link #floatsForReading} must never
 * write it: the tensor, and whoever else holds it, would see the change.
 */
public final class TensorAccess {
    private TensorAccess() {
    }

    /** The tensor's own float32 array (no copy) when it holds float32 values, else a new widened copy. Read only. */
    public static float[] floatsForReading(Tensor t) {
        return t.floatsShared();
    }
}
