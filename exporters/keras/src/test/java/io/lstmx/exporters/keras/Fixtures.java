package io.lstmx.exporters.keras;

import io.lstmx.ir.Tensor;

import java.util.List;

/** Keras tests' own fixture helper (the .npy reading and writing is {@link io.lstmx.ir.samples.Npy}). */
final class Fixtures {
    private Fixtures() {
    }

    /** {@code t} with new axis k = old axis perm[k] (numpy's transpose); {@code t} itself for a null perm. */
    static Tensor permute(Tensor t, List<Integer> perm) {
        if (perm == null) {
            return t;
        }
        int r = t.rank();
        int[] shape = new int[r];
        for (int k = 0; k < r; k++) {
            shape[k] = t.dim(perm.get(k));
        }
        int[] oldStrides = new int[r];
        for (int k = r - 1, s = 1; k >= 0; k--) {
            oldStrides[k] = s;
            s *= t.dim(k);
        }
        int n = t.size();
        int[] src = new int[n];
        int[] idx = new int[r];
        for (int i = 0; i < n; i++) {
            int o = 0;
            for (int k = 0; k < r; k++) {
                o += idx[k] * oldStrides[perm.get(k)];
            }
            src[i] = o;
            for (int k = r - 1; k >= 0; k--) {
                if (++idx[k] < shape[k]) {
                    break;
                }
                idx[k] = 0;
            }
        }
        if (t.dtype().isFloating()) {
            float[] a = t.toFloatArray();
            float[] b = new float[n];
            for (int i = 0; i < n; i++) {
                b[i] = a[src[i]];
            }
            return Tensor.ofFloats(shape, b);
        }
        long[] a = t.toLongArray();
        long[] b = new long[n];
        for (int i = 0; i < n; i++) {
            b[i] = a[src[i]];
        }
        return Tensor.ofLongs(t.dtype(), shape, b);
    }
}
