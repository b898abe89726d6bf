package io.lstmx.runtime;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
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
    /**
     * Whether the CPU has only 16 vector registers (x86 without AVX-512; property
     * {@code lstmx.vectorRegisters} = 16 or 32 overrides). A whole panel's block for four rows, 16
     * accumulators plus four weight vectors and a broadcast, does not fit then, and C2 spills to the
     * stack on every k; so four rows run a pair of panels as passes of three, three and two vectors
     * ({@link #panelMul4By3}, {@link #panelMul4By2}: 12 and 8 accumulators) and three rows half a panel
     * at a time. Measured on an AVX2 EPYC, one thread, weights in L1/L2: 86-89 GFLOP/s for the
     * three-vector pass (the core's peak is 90-96) against 37-48 for the spilling block; a GEMM of
     * 400 x 512 x 2048 went from 40 to 60-70 (benchmarks/RESULTS.md, 2026-12-08). Same sums, same order.
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

    private VectorKernels() {
    }

    /** Whether the kernels can run here: vectors of at least 4 floats and tile widths that are multiples of two panels. */
    static boolean usable() {
        return L >= 4 && PackedMatrix.NARROW % (2 * PANEL) == 0 && PackedMatrix.TILE % (2 * PANEL) == 0;
    }

    /**
     * One row: {@code acc[j] += sum_{k < kp} a[o + k] * B[k][j]} for j &lt; width, B one
     * tile's panels {@code p} ([width / PANEL][kp][PANEL]). Two panels at a time: eight independent
     * accumulators hide the multiply-add latency, which bounds a single panel's four chains when
     * the weights sit in L1 or L2 (four panels at a time measured no faster); from L3 or memory
     * the kernel is bandwidth-bound either way.
     */
    static void panelMul1(float[] acc, float[] p, int kp, int width, float[] a, int o) {
        panelMul1(acc, p, kp, 0, width, a, o); // widths are multiples of two panels (see usable)
    }

    /** Columns [j0, j1) (multiples of two panels) of {@link #panelMul1}: the same sums, for a caller that claims a step's columns piece by piece. */
    static void panelMul1(float[] acc, float[] p, int kp, int j0, int j1, float[] a, int o) {
        panelMul1(acc, 0, p, kp, j0, j1, a, o);
    }

    /** As above with column j's accumulator at {@code acc[ab + j]} (a row of a larger output, accumulated in place). */
    static void panelMul1(float[] acc, int ab, float[] p, int kp, int j0, int j1, float[] a, int o) {
        int stride = kp * PANEL;
        for (int j = j0, base = j0 / PANEL * stride; j < j1; j += 2 * PANEL, base += 2 * stride) {
            panelMul1Two(acc, ab + j, p, kp, stride, base, a, o);
        }
    }

    /** Two consecutive panels of {@link #panelMul1}, their accumulators from {@code acc[j]}: eight accumulators. */
    private static void panelMul1Two(float[] acc, int j, float[] p, int kp, int stride, int base, float[] a, int o) {
        FloatVector c00 = FloatVector.fromArray(S, acc, j);
        FloatVector c01 = FloatVector.fromArray(S, acc, j + L);
        FloatVector c02 = FloatVector.fromArray(S, acc, j + 2 * L);
        FloatVector c03 = FloatVector.fromArray(S, acc, j + 3 * L);
        FloatVector c10 = FloatVector.fromArray(S, acc, j + PANEL);
        FloatVector c11 = FloatVector.fromArray(S, acc, j + PANEL + L);
        FloatVector c12 = FloatVector.fromArray(S, acc, j + PANEL + 2 * L);
        FloatVector c13 = FloatVector.fromArray(S, acc, j + PANEL + 3 * L);
        for (int k = 0, q = base; k < kp; k++, q += PANEL) {
            FloatVector ak = FloatVector.broadcast(S, a[o + k]);
            c00 = ak.fma(FloatVector.fromArray(S, p, q), c00);
            c01 = ak.fma(FloatVector.fromArray(S, p, q + L), c01);
            c02 = ak.fma(FloatVector.fromArray(S, p, q + 2 * L), c02);
            c03 = ak.fma(FloatVector.fromArray(S, p, q + 3 * L), c03);
            int q1 = q + stride;
            c10 = ak.fma(FloatVector.fromArray(S, p, q1), c10);
            c11 = ak.fma(FloatVector.fromArray(S, p, q1 + L), c11);
            c12 = ak.fma(FloatVector.fromArray(S, p, q1 + 2 * L), c12);
            c13 = ak.fma(FloatVector.fromArray(S, p, q1 + 3 * L), c13);
        }
        c00.intoArray(acc, j);
        c01.intoArray(acc, j + L);
        c02.intoArray(acc, j + 2 * L);
        c03.intoArray(acc, j + 3 * L);
        c10.intoArray(acc, j + PANEL);
        c11.intoArray(acc, j + PANEL + L);
        c12.intoArray(acc, j + PANEL + 2 * L);
        c13.intoArray(acc, j + PANEL + 3 * L);
    }

    /**
     * One panel of a batch-1 step, {@code acc[j..j + PANEL) += sum_k h[ho + k] R[k][panel]} for
     * k &lt; kp (as {@link #panelMul1}), fused with part of a later input projection: eight rows
     * of X times kp / 4 consecutive k of one half panel of W ({@link PackedMatrix#halfPanels},
     * from {@code wh[wb]}), {@code out[oo + r os + c] += sum x[xo + r xs + k] W[k][c]} for r &lt; 8
     * and the half panel's PANEL / 2 columns c, starting from {@code bias[bo + c]} instead of out
     * when bias is not null (the half panel's first k). R and W have the same padded depth kp
     * (I and H round up alike).
     * <p>
     * Why: at batch 1 the step streams R from L2 or L3 (one weight per multiply-add) and leaves
     * the multiply-add units mostly idle, while the projection (one weight per eight multiply-adds)
     * is bound by them; one loop doing both (a projection k every four step k) runs close to the
     * step's time alone (measured, H = 512, 2 MiB of R per core: step 22 us, step then projection
     * 31 us, fused 27 us; four projection rows per call, twice, 32 us). Each output is the same
     * fused multiply-add chain in order of k as in the separate kernels, so the bits are the same.
     * <p>
     * Nothing else is in this method: with loops for the leftovers of unequal depths too, C1 gave up
     * compiling it ("out of virtual registers"), the JIT then at times never reached C2, and the
     * Vector API ran its boxed Java fallback (a 1.4 ms call took 60 ms).
     */
    static void stepAndProject8(float[] acc, int j, float[] rp, int rb, int kp, float[] h, int ho,
            float[] wh, int wb, float[] x, int xo, int xs, float[] out, int oo, int os, float[] bias, int bo) {
        final int hw = 2 * L;
        FloatVector c0 = FloatVector.fromArray(S, acc, j);
        FloatVector c1 = FloatVector.fromArray(S, acc, j + L);
        FloatVector c2 = FloatVector.fromArray(S, acc, j + 2 * L);
        FloatVector c3 = FloatVector.fromArray(S, acc, j + 3 * L);
        float[] di = bias != null ? bias : out;
        int i0 = bias != null ? bo : oo;
        int is = bias != null ? 0 : os;
        FloatVector d00 = FloatVector.fromArray(S, di, i0);
        FloatVector d01 = FloatVector.fromArray(S, di, i0 + L);
        FloatVector d10 = FloatVector.fromArray(S, di, i0 + is);
        FloatVector d11 = FloatVector.fromArray(S, di, i0 + is + L);
        FloatVector d20 = FloatVector.fromArray(S, di, i0 + 2 * is);
        FloatVector d21 = FloatVector.fromArray(S, di, i0 + 2 * is + L);
        FloatVector d30 = FloatVector.fromArray(S, di, i0 + 3 * is);
        FloatVector d31 = FloatVector.fromArray(S, di, i0 + 3 * is + L);
        FloatVector d40 = FloatVector.fromArray(S, di, i0 + 4 * is);
        FloatVector d41 = FloatVector.fromArray(S, di, i0 + 4 * is + L);
        FloatVector d50 = FloatVector.fromArray(S, di, i0 + 5 * is);
        FloatVector d51 = FloatVector.fromArray(S, di, i0 + 5 * is + L);
        FloatVector d60 = FloatVector.fromArray(S, di, i0 + 6 * is);
        FloatVector d61 = FloatVector.fromArray(S, di, i0 + 6 * is + L);
        FloatVector d70 = FloatVector.fromArray(S, di, i0 + 7 * is);
        FloatVector d71 = FloatVector.fromArray(S, di, i0 + 7 * is + L);
        // the loop counts with k itself (C2 keeps the bounds checks of a second counter)
        for (int k = 0, q = rb, wq = wb, xk = xo; k < kp; k += 4, q += 4 * PANEL, wq += hw, xk++) {
            FloatVector w0 = FloatVector.fromArray(S, wh, wq);
            FloatVector w1 = FloatVector.fromArray(S, wh, wq + L);
            FloatVector ak = FloatVector.broadcast(S, h[ho + k]);
            c0 = ak.fma(FloatVector.fromArray(S, rp, q), c0);
            c1 = ak.fma(FloatVector.fromArray(S, rp, q + L), c1);
            c2 = ak.fma(FloatVector.fromArray(S, rp, q + 2 * L), c2);
            c3 = ak.fma(FloatVector.fromArray(S, rp, q + 3 * L), c3);
            FloatVector x0 = FloatVector.broadcast(S, x[xk]);
            d00 = x0.fma(w0, d00);
            d01 = x0.fma(w1, d01);
            FloatVector x1 = FloatVector.broadcast(S, x[xk + xs]);
            d10 = x1.fma(w0, d10);
            d11 = x1.fma(w1, d11);
            ak = FloatVector.broadcast(S, h[ho + k + 1]);
            c0 = ak.fma(FloatVector.fromArray(S, rp, q + PANEL), c0);
            c1 = ak.fma(FloatVector.fromArray(S, rp, q + PANEL + L), c1);
            c2 = ak.fma(FloatVector.fromArray(S, rp, q + PANEL + 2 * L), c2);
            c3 = ak.fma(FloatVector.fromArray(S, rp, q + PANEL + 3 * L), c3);
            FloatVector x2 = FloatVector.broadcast(S, x[xk + 2 * xs]);
            d20 = x2.fma(w0, d20);
            d21 = x2.fma(w1, d21);
            FloatVector x3 = FloatVector.broadcast(S, x[xk + 3 * xs]);
            d30 = x3.fma(w0, d30);
            d31 = x3.fma(w1, d31);
            ak = FloatVector.broadcast(S, h[ho + k + 2]);
            c0 = ak.fma(FloatVector.fromArray(S, rp, q + 2 * PANEL), c0);
            c1 = ak.fma(FloatVector.fromArray(S, rp, q + 2 * PANEL + L), c1);
            c2 = ak.fma(FloatVector.fromArray(S, rp, q + 2 * PANEL + 2 * L), c2);
            c3 = ak.fma(FloatVector.fromArray(S, rp, q + 2 * PANEL + 3 * L), c3);
            FloatVector x4 = FloatVector.broadcast(S, x[xk + 4 * xs]);
            d40 = x4.fma(w0, d40);
            d41 = x4.fma(w1, d41);
            FloatVector x5 = FloatVector.broadcast(S, x[xk + 5 * xs]);
            d50 = x5.fma(w0, d50);
            d51 = x5.fma(w1, d51);
            ak = FloatVector.broadcast(S, h[ho + k + 3]);
            c0 = ak.fma(FloatVector.fromArray(S, rp, q + 3 * PANEL), c0);
            c1 = ak.fma(FloatVector.fromArray(S, rp, q + 3 * PANEL + L), c1);
            c2 = ak.fma(FloatVector.fromArray(S, rp, q + 3 * PANEL + 2 * L), c2);
            c3 = ak.fma(FloatVector.fromArray(S, rp, q + 3 * PANEL + 3 * L), c3);
            FloatVector x6 = FloatVector.broadcast(S, x[xk + 6 * xs]);
            d60 = x6.fma(w0, d60);
            d61 = x6.fma(w1, d61);
            FloatVector x7 = FloatVector.broadcast(S, x[xk + 7 * xs]);
            d70 = x7.fma(w0, d70);
            d71 = x7.fma(w1, d71);
        }
        c0.intoArray(acc, j);
        c1.intoArray(acc, j + L);
        c2.intoArray(acc, j + 2 * L);
        c3.intoArray(acc, j + 3 * L);
        d00.intoArray(out, oo);
        d01.intoArray(out, oo + L);
        d10.intoArray(out, oo + os);
        d11.intoArray(out, oo + os + L);
        d20.intoArray(out, oo + 2 * os);
        d21.intoArray(out, oo + 2 * os + L);
        d30.intoArray(out, oo + 3 * os);
        d31.intoArray(out, oo + 3 * os + L);
        d40.intoArray(out, oo + 4 * os);
        d41.intoArray(out, oo + 4 * os + L);
        d50.intoArray(out, oo + 5 * os);
        d51.intoArray(out, oo + 5 * os + L);
        d60.intoArray(out, oo + 6 * os);
        d61.intoArray(out, oo + 6 * os + L);
        d70.intoArray(out, oo + 7 * os);
        d71.intoArray(out, oo + 7 * os + L);
    }

    // panelMul2 and panelMul3 repeat panelMul4's body for fewer rows on purpose: a register block's
    // accumulators are separate local vectors (an array of vectors would live in memory, and a
    // helper taking or returning vectors may be left out of line, boxing them), so each row count
    // is its own method. Running three rows as panelMul4 with a repeated row costs a third more
    // multiply-adds; two rows as one pass each streams the panel twice.

    /** Two rows of {@link #panelMul4} (the same sums per row), for a step with 2 rows left over after the groups of four. */
    static void panelMul2(float[] acc, int ab, int rs, float[] p, int kp, int j0, int j1, float[] a, int o0, int o1) {
        final int t = rs;
        int stride = kp * PANEL;
        for (int jj = j0, base = j0 / PANEL * stride; jj < j1; jj += PANEL, base += stride) {
            int j = ab + jj;
            FloatVector c00 = FloatVector.fromArray(S, acc, j);
            FloatVector c01 = FloatVector.fromArray(S, acc, j + L);
            FloatVector c02 = FloatVector.fromArray(S, acc, j + 2 * L);
            FloatVector c03 = FloatVector.fromArray(S, acc, j + 3 * L);
            FloatVector c10 = FloatVector.fromArray(S, acc, t + j);
            FloatVector c11 = FloatVector.fromArray(S, acc, t + j + L);
            FloatVector c12 = FloatVector.fromArray(S, acc, t + j + 2 * L);
            FloatVector c13 = FloatVector.fromArray(S, acc, t + j + 3 * L);
            for (int k = 0, q = base; k < kp; k++, q += PANEL) {
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
            }
            c00.intoArray(acc, j);
            c01.intoArray(acc, j + L);
            c02.intoArray(acc, j + 2 * L);
            c03.intoArray(acc, j + 3 * L);
            c10.intoArray(acc, t + j);
            c11.intoArray(acc, t + j + L);
            c12.intoArray(acc, t + j + 2 * L);
            c13.intoArray(acc, t + j + 3 * L);
        }
    }

    /** Three rows of {@link #panelMul4} (the same sums per row), for a step with 3 rows left over after the groups of four. */
    static void panelMul3(float[] acc, int ab, int rs, float[] p, int kp, int j0, int j1, float[] a, int o0, int o1, int o2) {
        final int t = rs;
        int stride = kp * PANEL;
        if (FEW_REGISTERS) {
            for (int jj = j0, base = j0 / PANEL * stride; jj < j1; jj += PANEL, base += stride) {
                panelMul3Half(acc, ab + jj, t, p, kp, base, a, o0, o1, o2);
                panelMul3Half(acc, ab + jj + 2 * L, t, p, kp, base + 2 * L, a, o0, o1, o2);
            }
            return;
        }
        for (int jj = j0, base = j0 / PANEL * stride; jj < j1; jj += PANEL, base += stride) {
            int j = ab + jj;
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
            for (int k = 0, q = base; k < kp; k++, q += PANEL) {
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
        }
    }

    /** Four rows (accumulator rows at offsets 0, TILE, 2 TILE, 3 TILE of acc, A rows at o0..o3): as {@link #panelMul1}. */
    static void panelMul4(float[] acc, float[] p, int kp, int width, float[] a, int o0, int o1, int o2, int o3) {
        panelMul4(acc, 0, PackedMatrix.TILE, p, kp, 0, width, a, o0, o1, o2, o3);
    }

    /**
     * Columns [j0, j1) (multiples of {@link #PANEL}) of {@link #panelMul4}, the four accumulator
     * rows at ab, ab + rs, ab + 2 rs, ab + 3 rs: lets a caller run several groups of rows over one
     * panel while it sits in L2, accumulating in place (rs = the output's row stride).
     */
    static void panelMul4(float[] acc, int ab, int rs, float[] p, int kp, int j0, int j1, float[] a, int o0, int o1, int o2, int o3) {
        final int t = rs;
        int stride = kp * PANEL;
        if (FEW_REGISTERS) {
            int jj = j0;
            int base = j0 / PANEL * stride;
            // two panels (eight vectors of columns) as three passes of 3, 3 and 2 vectors
            for (; jj + 2 * PANEL <= j1; jj += 2 * PANEL, base += 2 * stride) {
                int j = ab + jj;
                panelMul4By3(acc, t, j, p, kp, base, a, o0, o1, o2, o3);
                panelMul4By3(acc, t, j + PANEL, p, kp, base + stride, a, o0, o1, o2, o3);
                panelMul4By2(acc, t, j + 3 * L, j + PANEL + 3 * L, p, kp, base + 3 * L, base + stride + 3 * L, a, o0, o1, o2, o3);
            }
            if (jj < j1) { // one panel left: two passes of 2 vectors
                int j = ab + jj;
                panelMul4By2(acc, t, j, j + L, p, kp, base, base + L, a, o0, o1, o2, o3);
                panelMul4By2(acc, t, j + 2 * L, j + 3 * L, p, kp, base + 2 * L, base + 3 * L, a, o0, o1, o2, o3);
            }
            return;
        }
        for (int jj = j0, base = j0 / PANEL * stride; jj < j1; jj += PANEL, base += stride) {
            int j = ab + jj;
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
            for (int k = 0, q = base; k < kp; k++, q += PANEL) {
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

    /**
     * Three vectors of columns of {@link #panelMul4} for four rows, for {@link #FEW_REGISTERS}: 12
     * accumulators, three weight vectors and a broadcast fill the 16 registers, and each k's three
     * weight loads serve 12 multiply-adds (measured on an AVX2 EPYC, one thread, weights in L1: 86-90
     * GFLOP/s, the core's peak, against 55 for two vectors and 48 for a whole panel, which spills).
     * Accumulators of row m at {@code acc[j + m t]} (three vectors), the weights from {@code p[q0]}
     * (three vectors, then every PANEL floats): the first three vectors of a panel. Constant offsets
     * between the three: with offsets passed in, C2's code measured 15% slower. The same sums in
     * the same order as the whole panel's.
     */
    private static void panelMul4By3(float[] acc, int t, int j, float[] p, int kp, int q0, float[] a, int o0, int o1, int o2,
            int o3) {
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
            FloatVector a0 = FloatVector.broadcast(S, a[o0 + k]);
            c0a = a0.fma(wa, c0a);
            c0b = a0.fma(wb, c0b);
            c0c = a0.fma(wc, c0c);
            FloatVector a1 = FloatVector.broadcast(S, a[o1 + k]);
            c1a = a1.fma(wa, c1a);
            c1b = a1.fma(wb, c1b);
            c1c = a1.fma(wc, c1c);
            FloatVector a2 = FloatVector.broadcast(S, a[o2 + k]);
            c2a = a2.fma(wa, c2a);
            c2b = a2.fma(wb, c2b);
            c2c = a2.fma(wc, c2c);
            FloatVector a3 = FloatVector.broadcast(S, a[o3 + k]);
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

    /**
     * Two vectors of columns of {@link #panelMul4} for four rows (as {@link #panelMul4By3}), two k
     * per iteration (which measured 72 GFLOP/s against 55 for one: the loop's own instructions
     * and bounds checks count at 8 multiply-adds per k). kp is a multiple of 8.
     */
    private static void panelMul4By2(float[] acc, int t, int ja, int jb, float[] p, int kp, int qa, int qb,
            float[] a, int o0, int o1, int o2, int o3) {
        FloatVector c0a = FloatVector.fromArray(S, acc, ja);
        FloatVector c0b = FloatVector.fromArray(S, acc, jb);
        FloatVector c1a = FloatVector.fromArray(S, acc, t + ja);
        FloatVector c1b = FloatVector.fromArray(S, acc, t + jb);
        FloatVector c2a = FloatVector.fromArray(S, acc, 2 * t + ja);
        FloatVector c2b = FloatVector.fromArray(S, acc, 2 * t + jb);
        FloatVector c3a = FloatVector.fromArray(S, acc, 3 * t + ja);
        FloatVector c3b = FloatVector.fromArray(S, acc, 3 * t + jb);
        for (int k = 0, d = 0; k < kp; k += 2, d += 2 * PANEL) {
            FloatVector wa = FloatVector.fromArray(S, p, qa + d);
            FloatVector wb = FloatVector.fromArray(S, p, qb + d);
            FloatVector a0 = FloatVector.broadcast(S, a[o0 + k]);
            c0a = a0.fma(wa, c0a);
            c0b = a0.fma(wb, c0b);
            FloatVector a1 = FloatVector.broadcast(S, a[o1 + k]);
            c1a = a1.fma(wa, c1a);
            c1b = a1.fma(wb, c1b);
            FloatVector a2 = FloatVector.broadcast(S, a[o2 + k]);
            c2a = a2.fma(wa, c2a);
            c2b = a2.fma(wb, c2b);
            FloatVector a3 = FloatVector.broadcast(S, a[o3 + k]);
            c3a = a3.fma(wa, c3a);
            c3b = a3.fma(wb, c3b);
            wa = FloatVector.fromArray(S, p, qa + d + PANEL);
            wb = FloatVector.fromArray(S, p, qb + d + PANEL);
            a0 = FloatVector.broadcast(S, a[o0 + k + 1]);
            c0a = a0.fma(wa, c0a);
            c0b = a0.fma(wb, c0b);
            a1 = FloatVector.broadcast(S, a[o1 + k + 1]);
            c1a = a1.fma(wa, c1a);
            c1b = a1.fma(wb, c1b);
            a2 = FloatVector.broadcast(S, a[o2 + k + 1]);
            c2a = a2.fma(wa, c2a);
            c2b = a2.fma(wb, c2b);
            a3 = FloatVector.broadcast(S, a[o3 + k + 1]);
            c3a = a3.fma(wa, c3a);
            c3b = a3.fma(wb, c3b);
        }
        c0a.intoArray(acc, ja);
        c0b.intoArray(acc, jb);
        c1a.intoArray(acc, t + ja);
        c1b.intoArray(acc, t + jb);
        c2a.intoArray(acc, 2 * t + ja);
        c2b.intoArray(acc, 2 * t + jb);
        c3a.intoArray(acc, 3 * t + ja);
        c3b.intoArray(acc, 3 * t + jb);
    }

    /** Half a panel (two vectors of columns) of {@link #panelMul3} for three rows, for {@link #FEW_REGISTERS}: 6 accumulators. */
    private static void panelMul3Half(float[] acc, int j, int t, float[] p, int kp, int q0, float[] a, int o0, int o1, int o2) {
        FloatVector c00 = FloatVector.fromArray(S, acc, j);
        FloatVector c01 = FloatVector.fromArray(S, acc, j + L);
        FloatVector c10 = FloatVector.fromArray(S, acc, t + j);
        FloatVector c11 = FloatVector.fromArray(S, acc, t + j + L);
        FloatVector c20 = FloatVector.fromArray(S, acc, 2 * t + j);
        FloatVector c21 = FloatVector.fromArray(S, acc, 2 * t + j + L);
        for (int k = 0, q = q0; k < kp; k++, q += PANEL) {
            FloatVector w0 = FloatVector.fromArray(S, p, q);
            FloatVector w1 = FloatVector.fromArray(S, p, q + L);
            FloatVector a0 = FloatVector.broadcast(S, a[o0 + k]);
            c00 = a0.fma(w0, c00);
            c01 = a0.fma(w1, c01);
            FloatVector a1 = FloatVector.broadcast(S, a[o1 + k]);
            c10 = a1.fma(w0, c10);
            c11 = a1.fma(w1, c11);
            FloatVector a2 = FloatVector.broadcast(S, a[o2 + k]);
            c20 = a2.fma(w0, c20);
            c21 = a2.fma(w1, c21);
        }
        c00.intoArray(acc, j);
        c01.intoArray(acc, j + L);
        c10.intoArray(acc, t + j);
        c11.intoArray(acc, t + j + L);
        c20.intoArray(acc, 2 * t + j);
        c21.intoArray(acc, 2 * t + j + L);
    }

    /**
     * The element-wise part of an LSTM step with sigmoid / tanh / tanh and no peephole, clip or
     * coupled gates (what {@code LstmKernel.cellFast} computes in double), in float vectors:
     * <pre>
     *   c' = cellClip(fma(sigmoid(f), c, sigmoid(i) * tanh(g)))      h' = sigmoid(o) * tanh(c')
     * </pre>
     * for {@code nu} units whose pre-activations are runs of {@code u} floats in gate order i, f, o,
     * g from {@code acc[a]}; c at {@code c[co..]} (all u units written: units past nu are padding,
     * whose pre-activations are 0 and whose c therefore stays 0), h' to {@code h[ho..]} (only nu
     * units: h's row stride may end there); {@code tmp} holds at least 5 u floats. See
     * {@link #sigmoidRun} and {@link #tanhRun} for accuracy.
     * <p>
     * Vectors never cross a call that might not be inlined: the activations run over arrays
     * ({@link #sigmoidRun}, {@link #tanhRun}). With the five activations as vector-valued calls in
     * one method, C2 (JDK 17) stopped inlining them, and every vector they passed became a boxed
     * object on the Java fallback path (measured: the cell took 40% of an LSTM's time instead of 5%).
     */
    static void lstmCell(float[] acc, int a, int u, int nu, float[] c, int co, float[] h, int ho, boolean cellClipped,
            float cellClip, float[] tmp) {
        sigmoidRun(acc, a, tmp, 0, 3 * u); // i, f, o
        tanhRun(acc, a + 3 * u, tmp, 3 * u, u); // g
        for (int j = 0; j < u; j += L) {
            FloatVector gi = FloatVector.fromArray(S, tmp, j);
            FloatVector gf = FloatVector.fromArray(S, tmp, u + j);
            FloatVector gg = FloatVector.fromArray(S, tmp, 3 * u + j);
            FloatVector cn = gf.fma(FloatVector.fromArray(S, c, co + j), gi.mul(gg));
            if (cellClipped) {
                cn = cn.min(cellClip).max(-cellClip);
            }
            cn.intoArray(c, co + j);
        }
        tanhRun(c, co, tmp, 4 * u, u);
        for (int j = 0; j < u; j += L) {
            FloatVector.fromArray(S, tmp, 2 * u + j).mul(FloatVector.fromArray(S, tmp, 4 * u + j)).intoArray(tmp, 4 * u + j);
        }
        System.arraycopy(tmp, 4 * u, h, ho, nu);
    }

    // Activations from IEEE operations only (add, multiply, fused multiply-add, divide, min, max and
    // bit moves), not the Vector API's EXP/TANH: those are intrinsics (Intel's SVML) once compiled
    // but per-lane StrictMath calls before, so a result would depend on whether the JIT had compiled
    // the caller yet, and two threads of one call could disagree. These give the same bits either way.
    //
    // Each run is one method with its whole computation written out, e^x included, and no vector
    // passed to or returned from another method of ours. A vector that crosses a call C2 does not
    // inline is boxed (an object and a float[] per value), and C2 refuses to inline a hot helper
    // once the helper has a large compilation of its own ("already compiled into a big method",
    // InlineSmallCode): with e^x as a helper of sigmoid and tanh, tanh inside the LSTM cell boxed
    // e^x's argument and result on every vector and ran at 5 ns per element instead of 1
    // (benchmarks/RESULTS.md, 2026-12-07 18:20). The Vector API's own methods are force-inlined.

    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split in two, the first with few significant bits so that n * LN2_HI is exact. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer (in its low mantissa bits). */
    private static final float ROUND = 12582912f;
    /** Cephes' expf polynomial, highest degree first. */
    private static final float E5 = 1.9875691500e-4f;
    private static final float E4 = 1.3981999507e-3f;
    private static final float E3 = 8.3334519073e-3f;
    private static final float E2 = 4.1665795894e-2f;
    private static final float E1 = 1.6666665459e-1f;
    private static final float E0 = 5.0000001201e-1f;
    /** Cephes' tanhf polynomial for |x| &lt; 0.625, highest degree first. */
    private static final float T4 = -5.70498872745e-3f;
    private static final float T3 = 2.06390887954e-2f;
    private static final float T2 = -5.37397155531e-2f;
    private static final float T1 = 1.33314422036e-1f;
    private static final float T0 = -3.33332819422e-1f;

    /*
     * e^x, as both runs below compute it, for x in [-104, 20] (the sigmoid clamps -|x| below at
     * -104, where the float result is 0; tanh's 2 min(|x|, 10) is at most 20), x = n ln 2 + r with |r| <= ln 2 / 2, e^r by the minimax polynomial of
     * Cephes' expf (degree 7), times 2^n applied as two powers of two made from their bits (2^n
     * alone leaves float's exponent range below n = -126, where e^x is subnormal; the second
     * product rounds it once). n sits in t's low mantissa bits (t = 1.5 * 2^23 + n); 2^n = 2^n1 *
     * 2^n2 with n1 = n >> 1, both exponents within [-76, 64]. Within 2 ulp of the exact value;
     * NaN gives NaN.
     */

    /**
     * {@code dst[d + j] = sigmoid(src[s + j])} for j &lt; n (a multiple of {@link #L}): 1 / (1 + e^-x),
     * as 1 / (1 + e) for x &ge; 0 and e / (1 + e) for x &lt; 0 with e = e^-|x| (never overflows, and
     * far below 0 it is e^x itself, subnormal results included): within 3 ulp of the exact value
     * (the exp's and the division's roundings); NaN gives NaN.
     */
    static void sigmoidRun(float[] src, int s, float[] dst, int d, int n) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int j = 0; j < n; j += L) {
            FloatVector x = FloatVector.fromArray(S, src, s + j);
            // e = e^-|x|
            FloatVector xc = x.abs().neg().max(-104f);
            FloatVector t = xc.fma(FloatVector.broadcast(S, LOG2E), FloatVector.broadcast(S, ROUND));
            FloatVector nf = t.sub(ROUND);
            FloatVector r = nf.fma(FloatVector.broadcast(S, -LN2_HI), xc);
            r = nf.fma(FloatVector.broadcast(S, -LN2_LO), r);
            FloatVector p = FloatVector.broadcast(S, E5).fma(r, FloatVector.broadcast(S, E4)).fma(r, FloatVector.broadcast(S, E3))
                    .fma(r, FloatVector.broadcast(S, E2)).fma(r, FloatVector.broadcast(S, E1)).fma(r, FloatVector.broadcast(S, E0));
            p = p.fma(r.mul(r), r).add(1f);
            IntVector ni = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND));
            IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
            IntVector n2 = ni.sub(n1);
            FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = p.mul(s1).mul(s2);
            FloatVector q = one.div(e.add(one));
            q.blend(e.mul(q), x.compare(VectorOperators.LT, 0f)).intoArray(dst, d + j);
        }
    }

    /**
     * {@code dst[d + j] = tanh(src[s + j])} for j &lt; n (a multiple of {@link #L}): for |x| &lt; 0.625
     * the odd minimax polynomial of Cephes' tanhf (no cancellation near 0, where tanh x ~ x),
     * otherwise 1 - 2 / (e^2|x| + 1) with |x| clamped to 10 (where the float result is 1); x's sign
     * put back last (tanh(-0) = -0); within 3 ulp; NaN gives NaN.
     */
    static void tanhRun(float[] src, int s, float[] dst, int d, int n) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int j = 0; j < n; j += L) {
            FloatVector x = FloatVector.fromArray(S, src, s + j);
            FloatVector ax = x.abs();
            FloatVector z = x.mul(x);
            FloatVector poly = FloatVector.broadcast(S, T4).fma(z, FloatVector.broadcast(S, T3)).fma(z, FloatVector.broadcast(S, T2))
                    .fma(z, FloatVector.broadcast(S, T1)).fma(z, FloatVector.broadcast(S, T0));
            FloatVector small = ax.fma(z.mul(poly), ax);
            // e = e^(2 min(|x|, 10)): the argument is within [0, 20], so no lower clamp
            FloatVector xc = ax.min(10f).mul(2f);
            FloatVector t = xc.fma(FloatVector.broadcast(S, LOG2E), FloatVector.broadcast(S, ROUND));
            FloatVector nf = t.sub(ROUND);
            FloatVector r = nf.fma(FloatVector.broadcast(S, -LN2_HI), xc);
            r = nf.fma(FloatVector.broadcast(S, -LN2_LO), r);
            FloatVector p = FloatVector.broadcast(S, E5).fma(r, FloatVector.broadcast(S, E4)).fma(r, FloatVector.broadcast(S, E3))
                    .fma(r, FloatVector.broadcast(S, E2)).fma(r, FloatVector.broadcast(S, E1)).fma(r, FloatVector.broadcast(S, E0));
            p = p.fma(r.mul(r), r).add(1f);
            IntVector ni = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND));
            IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
            IntVector n2 = ni.sub(n1);
            FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = p.mul(s1).mul(s2);
            FloatVector large = one.sub(FloatVector.broadcast(S, 2f).div(e.add(one)));
            FloatVector v = large.blend(small, ax.compare(VectorOperators.LT, 0.625f));
            v.reinterpretAsInts().or(x.reinterpretAsInts().and(0x80000000)).reinterpretAsFloats().intoArray(dst, d + j);
        }
    }
}
