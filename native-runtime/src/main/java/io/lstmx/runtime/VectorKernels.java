package io.lstmx.runtime;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link PackedMatrix}'s products written with the JDK Vector API ({@code jdk.incubator.vector},
 * an incubator module in Java 17-25), on its panel layout: used when the JVM was started with
 * {@code --add-modules jdk.incubator.vector} (see {@link Vec}); otherwise this class is never
 * loaded and the C2-vectorised kernels run on the row layout.
 *
 * <h2>Why panels and register blocks</h2>
 * C2 (JDK 17) auto-vectorises only an innermost loop over arrays, so its kernels load and store
 * the accumulators once per pass over k (two k in the four-row kernel); with 512-bit vectors the
 * stores, not the multiply-adds, bound them (measured on this machine, one thread: 57-67 GFLOP/s
 * for four rows whatever the cache level). Here the accumulators of a block of {@link #PANEL}
 * columns (four vectors) stay in registers for the whole range of k, for four rows 16 of them,
 * and each k costs four weight loads, four broadcasts and 16 multiply-adds. The weights of a
 * block are one contiguous k-major panel, so the kernel reads one sequential stream that the
 * hardware prefetcher follows (with one array per row of k, as the C2 kernels need, the same
 * kernel walks K separate streams and measured slower than C2). Measured, one thread, H = 512
 * (R^T 512 x 2048, 4 MiB, from L3): four rows 74 us (C2: 147), one row 45 us (C2: 60).
 * <p>
 * Every output value is the same fused multiply-add chain as in the C2 kernels
 * ({@code acc = fma(a_k, w_k, acc)} for k = 0, 1, ... in order), so the results are the same
 * bits (checked by PackedMatrixTest).
 */
final class VectorKernels {
    /** The preferred species, or the one of {@code lstmx.vectorBits} (128, 256, 512) when set. */
    static final VectorSpecies<Float> S = switch (Integer.getInteger("lstmx.vectorBits", 0)) {
        case 128 -> FloatVector.SPECIES_128;
        case 256 -> FloatVector.SPECIES_256;
        case 512 -> FloatVector.SPECIES_512;
        default -> FloatVector.SPECIES_PREFERRED;
    };
    static final int L = S.length();
    /** Columns of one panel (one register block): four vectors. */
    static final int PANEL = 4 * L;

    private VectorKernels() {
    }

    /** Whether the kernels can run here: vectors of at least 4 floats and tile widths that are multiples of a panel. */
    static boolean usable() {
        return L >= 4 && PackedMatrix.NARROW % PANEL == 0 && PackedMatrix.TILE % PANEL == 0;
    }

    /**
     * One row: {@code acc[j] += sum_{k0 <= k < k1} a[o + k] * B[k][j]} for j &lt; width, B one
     * tile's panels {@code p} ([width / PANEL][kp][PANEL]).
     */
    static void panelMul1(float[] acc, float[] p, int kp, int width, int k0, int k1, float[] a, int o) {
        int stride = kp * PANEL;
        for (int j = 0, base = 0; j < width; j += PANEL, base += stride) {
            FloatVector c0 = FloatVector.fromArray(S, acc, j);
            FloatVector c1 = FloatVector.fromArray(S, acc, j + L);
            FloatVector c2 = FloatVector.fromArray(S, acc, j + 2 * L);
            FloatVector c3 = FloatVector.fromArray(S, acc, j + 3 * L);
            for (int k = k0, q = base + k0 * PANEL; k < k1; k++, q += PANEL) {
                FloatVector ak = FloatVector.broadcast(S, a[o + k]);
                c0 = ak.fma(FloatVector.fromArray(S, p, q), c0);
                c1 = ak.fma(FloatVector.fromArray(S, p, q + L), c1);
                c2 = ak.fma(FloatVector.fromArray(S, p, q + 2 * L), c2);
                c3 = ak.fma(FloatVector.fromArray(S, p, q + 3 * L), c3);
            }
            c0.intoArray(acc, j);
            c1.intoArray(acc, j + L);
            c2.intoArray(acc, j + 2 * L);
            c3.intoArray(acc, j + 3 * L);
        }
    }

    /** Four rows (accumulator rows at offsets 0, TILE, 2 TILE, 3 TILE of acc, A rows at o0..o3): as {@link #panelMul1}. */
    static void panelMul4(float[] acc, float[] p, int kp, int width, int k0, int k1, float[] a, int o0, int o1, int o2, int o3) {
        final int t = PackedMatrix.TILE;
        int stride = kp * PANEL;
        for (int j = 0, base = 0; j < width; j += PANEL, base += stride) {
            FloatVector c00 = FloatVector.fromArray(S, acc, j);
            FloatVector c01 = FloatVector.fromArray(S, acc, j + L);
            FloatVector c02 = FloatVector.fromArray(S, acc, j + 2 * L);
            FloatVector c03 = FloatVector.fromArray(S, acc, j + 3 * L);
            FloatVector c10 = FloatVector.fromArray(S, acc, t + j);
            FloatVector c11 = FloatVector.fromArray(S, acc, t + j + L);
            FloatVector c12 = FloatVector.fromArray(S, acc, t + j + 2 * L);
            FloatVector c13 = FloatVector.fromArray(S, acc, t + j + 3 * L);
            FloatVector c20 = FloatVector.fromArray(S, acc, 2 * t + j);
            FloatVector c21 = FloatVector.fromArray(S, acc, 2 * t + j + L);
            FloatVector c22 = FloatVector.fromArray(S, acc, 2 * t + j + 2 * L);
            FloatVector c23 = FloatVector.fromArray(S, acc, 2 * t + j + 3 * L);
            FloatVector c30 = FloatVector.fromArray(S, acc, 3 * t + j);
            FloatVector c31 = FloatVector.fromArray(S, acc, 3 * t + j + L);
            FloatVector c32 = FloatVector.fromArray(S, acc, 3 * t + j + 2 * L);
            FloatVector c33 = FloatVector.fromArray(S, acc, 3 * t + j + 3 * L);
            for (int k = k0, q = base + k0 * PANEL; k < k1; k++, q += PANEL) {
                FloatVector w0 = FloatVector.fromArray(S, p, q);
                FloatVector w1 = FloatVector.fromArray(S, p, q + L);
                FloatVector w2 = FloatVector.fromArray(S, p, q + 2 * L);
                FloatVector w3 = FloatVector.fromArray(S, p, q + 3 * L);
                FloatVector a0 = FloatVector.broadcast(S, a[o0 + k]);
                c00 = a0.fma(w0, c00);
                c01 = a0.fma(w1, c01);
                c02 = a0.fma(w2, c02);
                c03 = a0.fma(w3, c03);
                FloatVector a1 = FloatVector.broadcast(S, a[o1 + k]);
                c10 = a1.fma(w0, c10);
                c11 = a1.fma(w1, c11);
                c12 = a1.fma(w2, c12);
                c13 = a1.fma(w3, c13);
                FloatVector a2 = FloatVector.broadcast(S, a[o2 + k]);
                c20 = a2.fma(w0, c20);
                c21 = a2.fma(w1, c21);
                c22 = a2.fma(w2, c22);
                c23 = a2.fma(w3, c23);
                FloatVector a3 = FloatVector.broadcast(S, a[o3 + k]);
                c30 = a3.fma(w0, c30);
                c31 = a3.fma(w1, c31);
                c32 = a3.fma(w2, c32);
                c33 = a3.fma(w3, c33);
            }
            c00.intoArray(acc, j);
            c01.intoArray(acc, j + L);
            c02.intoArray(acc, j + 2 * L);
            c03.intoArray(acc, j + 3 * L);
            c10.intoArray(acc, t + j);
            c11.intoArray(acc, t + j + L);
            c12.intoArray(acc, t + j + 2 * L);
            c13.intoArray(acc, t + j + 3 * L);
            c20.intoArray(acc, 2 * t + j);
            c21.intoArray(acc, 2 * t + j + L);
            c22.intoArray(acc, 2 * t + j + 2 * L);
            c23.intoArray(acc, 2 * t + j + 3 * L);
            c30.intoArray(acc, 3 * t + j);
            c31.intoArray(acc, 3 * t + j + L);
            c32.intoArray(acc, 3 * t + j + 2 * L);
            c33.intoArray(acc, 3 * t + j + 3 * L);
        }
    }
}
