package io.lstmx.runtime;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link PackedMatrix}'s products written with the JDK Vector API ({@code jdk.incubator.vector},
 * an incubator module in Java 17-25): used only with {@code -Dlstmx.vector=true} in a JVM started
 * with {@code --add-modules jdk.incubator.vector} (see {@link Vec}, also for why it is off by
 * default); otherwise this class is never loaded and the C2-vectorised scalar kernels run.
 * <p>
 * What they do differently: the accumulators stay in vector registers for the whole k loop
 * (register blocking), so each weight vector is loaded once per use and the accumulators are
 * loaded and stored once per call instead of once per two (one-row kernel: eight) k. The four-row kernel
 * holds 4 rows x 4 vectors of columns (16 accumulators) and per k loads 4 weight vectors and
 * broadcasts 4 values of A for 16 FMAs; the one-row kernel holds 4 vectors of columns.
 * <p>
 * Every output value is the same fused multiply-add chain as in the scalar kernels
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
    /** Columns of one register block: 4 vectors. */
    static final int BLOCK = 4 * L;

    private VectorKernels() {
    }

    /** Whether the kernels can run here: the module is present and a tile width is a multiple of a block. */
    static boolean usable() {
        return L >= 4 && PackedMatrix.NARROW % BLOCK == 0 && PackedMatrix.TILE % BLOCK == 0;
    }

    /** One row: {@code acc[j] += sum_k a[o + k] * w[k][j]}, k &lt; kp, j &lt; width. */
    static void mul1(float[] acc, float[][] w, int kp, int width, float[] a, int o) {
        for (int j = 0; j < width; j += BLOCK) {
            FloatVector c0 = FloatVector.fromArray(S, acc, j);
            FloatVector c1 = FloatVector.fromArray(S, acc, j + L);
            FloatVector c2 = FloatVector.fromArray(S, acc, j + 2 * L);
            FloatVector c3 = FloatVector.fromArray(S, acc, j + 3 * L);
            for (int k = 0; k < kp; k++) {
                float[] wk = w[k];
                FloatVector ak = FloatVector.broadcast(S, a[o + k]);
                c0 = ak.fma(FloatVector.fromArray(S, wk, j), c0);
                c1 = ak.fma(FloatVector.fromArray(S, wk, j + L), c1);
                c2 = ak.fma(FloatVector.fromArray(S, wk, j + 2 * L), c2);
                c3 = ak.fma(FloatVector.fromArray(S, wk, j + 3 * L), c3);
            }
            c0.intoArray(acc, j);
            c1.intoArray(acc, j + L);
            c2.intoArray(acc, j + 2 * L);
            c3.intoArray(acc, j + 3 * L);
        }
    }

    /** Four rows (accumulator rows at offsets 0, TILE, 2 TILE, 3 TILE of acc): as {@link PackedMatrix#mul4}. */
    static void mul4(float[] acc, float[][] w, int kp, int width, float[] a, int o0, int o1, int o2, int o3) {
        final int t = PackedMatrix.TILE;
        for (int j = 0; j < width; j += BLOCK) {
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
            for (int k = 0; k < kp; k++) {
                float[] wk = w[k];
                FloatVector w0 = FloatVector.fromArray(S, wk, j);
                FloatVector w1 = FloatVector.fromArray(S, wk, j + L);
                FloatVector w2 = FloatVector.fromArray(S, wk, j + 2 * L);
                FloatVector w3 = FloatVector.fromArray(S, wk, j + 3 * L);
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
