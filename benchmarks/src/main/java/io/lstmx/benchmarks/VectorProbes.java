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

    /**
     * Whether the runtime runs its four-row kernels as blocks of three vectors (VectorKernels.FEW_REGISTERS:
     * x86 without AVX-512, or property lstmx.vectorRegisters below 32), since a whole panel's 16
     * accumulators do not fit 16 registers. The probe then measures that kernel: measured with the
     * whole-panel one, it reported a third of this AVX2 machine's peak.
     */
    static final boolean FEW_REGISTERS = fewRegisters();

    private static boolean fewRegisters() {
        int regs = Integer.getInteger("lstmx.vectorRegisters", 0);
        if (regs > 0) {
            return regs < 32;
        }
        String arch = System.getProperty("os.arch", "");
        return (arch.equals("amd64") || arch.equals("x86_64")) && FloatVector.SPECIES_PREFERRED.length() < 16;
    }

    static String describe() {
        return "Vector API, " + L + " floats per vector" + (FEW_REGISTERS ? ", 16 registers: 4 x 3 vector blocks" : "");
    }

    /**
     * FLOPs of the 4-row register-blocked kernel over an L1-resident panel (64 k deep, 2 panels),
     * about 0.3 s; with {@link #FEW_REGISTERS} three vectors of each panel (the runtime's main block), 256 deep.
     */
    static double fmaProbe(int id) {
        // with few registers 256 deep (64 KiB, from L2): at 64 the twelve accumulators' loads and
        // stores per call held the kernel at half its rate
        int kp = FEW_REGISTERS ? 256 : 64;
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
        int reps = (id < 0 ? 20_000 : 150_000) * 64 / kp;
        if (FEW_REGISTERS) {
            for (int r = 0; r < reps; r++) {
                mul4By3(acc, 0, width, p, kp, 0, a);
                mul4By3(acc, PANEL, width, p, kp, kp * PANEL, a);
            }
            Machine.sink = acc[17];
            return 2.0 * 4 * kp * 2 * 3 * L * reps;
        }
        for (int r = 0; r < reps; r++) {
            mul4(acc, p, kp, width, a);
        }
        Machine.sink = acc[17];
        return 2.0 * 4 * kp * width * reps;
    }

    /** Three vectors of one panel for four rows (VectorKernels.panelMul4By3's shape): 12 accumulators. */
    private static void mul4By3(float[] acc, int j, int t, float[] p, int kp, int q0, float[] a) {
        FloatVector c0a = FloatVector.fromArray(S, acc, j);
        FloatVector c0b = FloatVector.fromArray(S, acc, j + L);
        FloatVector c0c = FloatVector.fromArray(S, acc, j + 2 * L);
        FloatVector c1a = FloatVector.fromArray(S, acc, t + j);
        FloatVector c1b = FloatVector.fromArray(S, acc, t + j + L);
        FloatVector c1c = FloatVector.fromArray(S, acc, t + j + 2 * L);
        FloatVector c2a = FloatVector.fromArray(S, acc, 2 * t + j);
        FloatVector c2b = FloatVector.fromArray(S, acc, 2 * t + j + L);
        FloatVector c2c = FloatVector.fromArray(S, acc, 2 * t + j + 2 * L);
        FloatVector c3a = FloatVector.fromArray(S, acc, 3 * t + j);
        FloatVector c3b = FloatVector.fromArray(S, acc, 3 * t + j + L);
        FloatVector c3c = FloatVector.fromArray(S, acc, 3 * t + j + 2 * L);
        for (int k = 0, q = q0; k < kp; k++, q += PANEL) {
            FloatVector wa = FloatVector.fromArray(S, p, q);
            FloatVector wb = FloatVector.fromArray(S, p, q + L);
            FloatVector wc = FloatVector.fromArray(S, p, q + 2 * L);
            FloatVector a0 = FloatVector.broadcast(S, a[k]);
            c0a = a0.fma(wa, c0a);
            c0b = a0.fma(wb, c0b);
            c0c = a0.fma(wc, c0c);
            FloatVector a1 = FloatVector.broadcast(S, a[kp + k]);
            c1a = a1.fma(wa, c1a);
            c1b = a1.fma(wb, c1b);
            c1c = a1.fma(wc, c1c);
            FloatVector a2 = FloatVector.broadcast(S, a[2 * kp + k]);
            c2a = a2.fma(wa, c2a);
            c2b = a2.fma(wb, c2b);
            c2c = a2.fma(wc, c2c);
            FloatVector a3 = FloatVector.broadcast(S, a[3 * kp + k]);
            c3a = a3.fma(wa, c3a);
            c3b = a3.fma(wb, c3b);
            c3c = a3.fma(wc, c3c);
        }
        c0a.intoArray(acc, j);
        c0b.intoArray(acc, j + L);
        c0c.intoArray(acc, j + 2 * L);
        c1a.intoArray(acc, t + j);
        c1b.intoArray(acc, t + j + L);
        c1c.intoArray(acc, t + j + 2 * L);
        c2a.intoArray(acc, 2 * t + j);
        c2b.intoArray(acc, 2 * t + j + L);
        c2c.intoArray(acc, 2 * t + j + 2 * L);
        c3a.intoArray(acc, 3 * t + j);
        c3b.intoArray(acc, 3 * t + j + L);
        c3c.intoArray(acc, 3 * t + j + 2 * L);
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
