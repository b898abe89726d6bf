package io.lstmx.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Machine}'s probes in the shape of the runtime's Vector API kernels (copies of
 * VectorKernels.panelMul4 / panelMul1, package-private there), used when this JVM has
 * jdk.incubator.vector, which is when the runtime uses those kernels: accumulators in registers,
 * weights read as one sequential panel of 4 vectors' width. Loaded only then.
 */
final class VectorProbes {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int PANEL = 4 * L;

    private VectorProbes() {
    }

    static String describe() {
        return "Vector API, " + L + " floats per vector";
    }

    /** FLOPs of the 4-row register-blocked kernel over an L1-resident panel (64 k deep, 2 panels), about 0.3 s. */
    static double fmaProbe(int id) {
        int kp = 64;
        int width = 2 * PANEL;
        float[] p = new float[kp * width];
        for (int i = 0; i < p.length; i++) {
            p[i] = 1e-3f * (i % 7);
        }
        float[] a = new float[4 * kp];
        for (int i = 0; i < a.length; i++) {
            a[i] = 1e-3f * (i % 5 - 2);
        }
        float[] acc = new float[4 * width];
        int reps = id < 0 ? 20_000 : 150_000;
        for (int r = 0; r < reps; r++) {
            mul4(acc, p, kp, width, a);
        }
        Machine.sink = acc[17];
        return 2.0 * 4 * kp * width * reps;
    }

    private static void mul4(float[] acc, float[] p, int kp, int width, float[] a) {
        for (int j = 0, base = 0; j < width; j += PANEL, base += kp * PANEL) {
            FloatVector c00 = FloatVector.fromArray(S, acc, j);
            FloatVector c01 = FloatVector.fromArray(S, acc, j + L);
            FloatVector c02 = FloatVector.fromArray(S, acc, j + 2 * L);
            FloatVector c03 = FloatVector.fromArray(S, acc, j + 3 * L);
            FloatVector c10 = FloatVector.fromArray(S, acc, width + j);
            FloatVector c11 = FloatVector.fromArray(S, acc, width + j + L);
            FloatVector c12 = FloatVector.fromArray(S, acc, width + j + 2 * L);
            FloatVector c13 = FloatVector.fromArray(S, acc, width + j + 3 * L);
            FloatVector c20 = FloatVector.fromArray(S, acc, 2 * width + j);
            FloatVector c21 = FloatVector.fromArray(S, acc, 2 * width + j + L);
            FloatVector c22 = FloatVector.fromArray(S, acc, 2 * width + j + 2 * L);
            FloatVector c23 = FloatVector.fromArray(S, acc, 2 * width + j + 3 * L);
            FloatVector c30 = FloatVector.fromArray(S, acc, 3 * width + j);
            FloatVector c31 = FloatVector.fromArray(S, acc, 3 * width + j + L);
            FloatVector c32 = FloatVector.fromArray(S, acc, 3 * width + j + 2 * L);
            FloatVector c33 = FloatVector.fromArray(S, acc, 3 * width + j + 3 * L);
            for (int k = 0, q = base; k < kp; k++, q += PANEL) {
                FloatVector w0 = FloatVector.fromArray(S, p, q);
                FloatVector w1 = FloatVector.fromArray(S, p, q + L);
                FloatVector w2 = FloatVector.fromArray(S, p, q + 2 * L);
                FloatVector w3 = FloatVector.fromArray(S, p, q + 3 * L);
                FloatVector a0 = FloatVector.broadcast(S, a[k]);
                c00 = a0.fma(w0, c00);
                c01 = a0.fma(w1, c01);
                c02 = a0.fma(w2, c02);
                c03 = a0.fma(w3, c03);
                FloatVector a1 = FloatVector.broadcast(S, a[kp + k]);
                c10 = a1.fma(w0, c10);
                c11 = a1.fma(w1, c11);
                c12 = a1.fma(w2, c12);
                c13 = a1.fma(w3, c13);
                FloatVector a2 = FloatVector.broadcast(S, a[2 * kp + k]);
                c20 = a2.fma(w0, c20);
                c21 = a2.fma(w1, c21);
                c22 = a2.fma(w2, c22);
                c23 = a2.fma(w3, c23);
                FloatVector a3 = FloatVector.broadcast(S, a[3 * kp + k]);
                c30 = a3.fma(w0, c30);
                c31 = a3.fma(w1, c31);
                c32 = a3.fma(w2, c32);
                c33 = a3.fma(w3, c33);
            }
            c00.intoArray(acc, j);
            c01.intoArray(acc, j + L);
            c02.intoArray(acc, j + 2 * L);
            c03.intoArray(acc, j + 3 * L);
            c10.intoArray(acc, width + j);
            c11.intoArray(acc, width + j + L);
            c12.intoArray(acc, width + j + 2 * L);
            c13.intoArray(acc, width + j + 3 * L);
            c20.intoArray(acc, 2 * width + j);
            c21.intoArray(acc, 2 * width + j + L);
            c22.intoArray(acc, 2 * width + j + 2 * L);
            c23.intoArray(acc, 2 * width + j + 3 * L);
            c30.intoArray(acc, 3 * width + j);
            c31.intoArray(acc, 3 * width + j + L);
            c32.intoArray(acc, 3 * width + j + 2 * L);
            c33.intoArray(acc, 3 * width + j + 3 * L);
        }
    }

    /** Bytes streamed by the one-row panel kernel (acc += a_k w_k) over a matrix of {@code size} bytes (512 columns), for about 0.2 s. */
    static double streamProbe(long size) {
        return streamProbe((int) Math.max(8, size / (4 * Machine.W)), Machine.W);
    }

    /**
     * As above over a matrix of kp rows of k and {@code width} columns (a multiple of {@link #PANEL}):
     * the shape of one core's share of a row's R (see {@link Machine#rowRate}).
     */
    static double streamProbe(int kp, int width) {
        float[] p = new float[kp * width];
        for (int i = 0; i < p.length; i += 16) {
            p[i] = 1e-4f;
        }
        float[] a = new float[kp];
        java.util.Arrays.fill(a, 0.5f);
        float[] acc = new float[width];
        long bytes = (long) kp * width * 4;
        int reps = (int) Math.max(2, 400L * 1024 * 1024 / bytes);
        for (int r = 0; r < reps; r++) {
            for (int j = 0, base = 0; j < width; j += PANEL, base += kp * PANEL) {
                FloatVector c0 = FloatVector.fromArray(S, acc, j);
                FloatVector c1 = FloatVector.fromArray(S, acc, j + L);
                FloatVector c2 = FloatVector.fromArray(S, acc, j + 2 * L);
                FloatVector c3 = FloatVector.fromArray(S, acc, j + 3 * L);
                for (int k = 0, q = base; k < kp; k++, q += PANEL) {
                    FloatVector ak = FloatVector.broadcast(S, a[k]);
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
        Machine.sink = acc[5];
        return (double) bytes * reps;
    }
}
