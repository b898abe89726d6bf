package io.lstmx.runtime;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static io.lstmx.runtime.TestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * PackedMatrix products against a naive triple loop in double, over seeded shapes at and around
 * every size the kernels care about (tile widths 128 and 512, k steps of 4 and 8, the 4-row
 * blocking), and Dense / MatMul through {@link NativeRuntime#evaluate} on shapes that do and do not
 * take the packed path.
 * <p>
 * Bound: the kernels sum {@code bias + a_0 b_0 + ... + a_{k-1} b_{k-1}} with k float fused
 * multiply-adds, each rounding once, so the result is within {@code k u sum|terms|} (u = 2^-24) of
 * the exact sum (computed here in double, where products of floats are exact). The plain loops
 * of the non-packed paths round the product and the sum separately: {@code 2k u sum|terms|}.
 */
class PackedMatrixTest {
    private static final double U = 0x1p-24;

    /** Column counts at and around the narrow (128) and wide (512) tile widths. */
    private static final int[] COLS = {1, 2, 31, 32, 127, 128, 129, 511, 512, 513, 640, 1025};
    /** Depths: 0, below, at and around multiples of 4 and 8. */
    private static final int[] DEPTHS = {0, 1, 3, 4, 5, 7, 8, 9, 12, 17, 67};

    /** Exact {@code bias[c] + sum_k a[r][k] b[k][c]} and the sum of its terms' magnitudes, b given as b(k, c). */
    private record Exact(double[] value, double[] magnitude) {
        static Exact of(float[] a, int rows, int lda, int k, int n, Entry b, float[] bias) {
            double[] v = new double[rows * n];
            double[] m = new double[rows * n];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < n; c++) {
                    double s = bias == null ? 0 : bias[c];
                    double abs = Math.abs(s);
                    for (int kk = 0; kk < k; kk++) {
                        double p = (double) a[r * lda + kk] * b.at(kk, c);
                        s += p;
                        abs += Math.abs(p);
                    }
                    v[r * n + c] = s;
                    m[r * n + c] = abs;
                }
            }
            return new Exact(v, m);
        }

        /** Asserts out[r * ldo + c] (c &lt; n) is within roundings * u * magnitude of the exact value. */
        void check(float[] out, int rows, int n, int ldo, double roundings, String what) {
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < n; c++) {
                    double e = value[r * n + c];
                    double got = out[r * ldo + c];
                    double tol = roundings * U * magnitude[r * n + c];
                    if (!(Math.abs(got - e) <= tol)) {
                        fail(what + ": [" + r + ", " + c + "] = " + got + ", exact " + e + ", allowed error " + tol);
                    }
                }
            }
        }
    }

    @FunctionalInterface
    private interface Entry {
        double at(int k, int c);
    }

    private static float[] sentinel(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }

    @Test
    void transposedWeightTimesRowsOfEveryShape() {
        Random rnd = new Random(101);
        float[] acc = new float[4 * PackedMatrix.TILE];
        for (int n : COLS) {
            for (int k : DEPTHS) {
                float[] w = random(rnd, n * k, 1); // w [n, k]: B = w^T
                float[] bias = random(rnd, n, 1);
                PackedMatrix p = PackedMatrix.ofTransposed(w, n, k);
                assertEquals(PackedMatrix.roundUp(k, 8), p.kPadded);
                float[] packedBias = p.pack(bias);
                for (int rows = 1; rows <= 9; rows++) {
                    float[] a = random(rnd, rows * k, 1);
                    String what = "A [" + rows + ", " + k + "] x w^T, w [" + n + ", " + k + "]";
                    Exact ex = Exact.of(a, rows, k, k, n, (kk, c) -> w[c * k + kk], bias);
                    // Output rows exactly n wide, followed by a sentinel that must stay untouched.
                    float[] out = sentinel(rows * n + 3);
                    Arrays.fill(acc, Float.NaN); // a dirty scratch must not leak into results
                    p.multiply(a, rows, k, packedBias, out, n, acc);
                    ex.check(out, rows, n, n, k, what);
                    for (int i = rows * n; i < out.length; i++) {
                        assertEquals(Float.NaN, out[i], what + ": wrote past the output at " + i);
                    }
                    float[] noBias = new float[rows * n];
                    p.multiply(a, rows, k, null, noBias, n);
                    Exact.of(a, rows, k, k, n, (kk, c) -> w[c * k + kk], null).check(noBias, rows, n, n, k, what + ", no bias");
                    // Each row is the same, bit for bit, whether it went through the four-row or the
                    // one-row kernel (LstmKernel's thread-count independence relies on this).
                    for (int r = 0; r < rows; r++) {
                        float[] alone = new float[n];
                        p.multiply(Arrays.copyOfRange(a, r * k, r * k + k), 1, k, packedBias, alone, n);
                        assertArrayEquals(alone, Arrays.copyOfRange(out, r * n, r * n + n), what + ": row " + r + " alone differs");
                    }
                }
            }
        }
    }

    @Test
    void plainMatrixAtAnOffsetWithPaddedAndStridedRows() {
        Random rnd = new Random(202);
        int[][] shapes = {{1, 1, 1}, {5, 3, 129}, {9, 8, 128}, {4, 16, 512}, {7, 13, 513}, {6, 67, 511}, {3, 9, 1025}, {8, 4, 127}};
        for (int[] s : shapes) {
            int rows = s[0];
            int k = s[1];
            int n = s[2];
            int off = 1 + rnd.nextInt(50);
            float[] buf = random(rnd, off + k * n + 7, 1); // b [k, n] at off, surrounded by other values
            PackedMatrix p = PackedMatrix.of(buf, off, k, n);
            int kp = p.kPadded;
            String what = "A [" + rows + ", " + k + "] x B [" + k + ", " + n + "] at offset " + off;
            Entry b = (kk, c) -> buf[off + kk * n + c];

            // A read in place: lda == kPadded, zero padding columns.
            float[] padded = new float[rows * kp];
            float[] a = random(rnd, rows * k, 1);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(a, r * k, padded, r * kp, k);
            }
            Exact ex = Exact.of(a, rows, k, k, n, b, null);
            float[] out = new float[rows * n];
            p.multiply(padded, rows, kp, null, out, n);
            ex.check(out, rows, n, n, k, what + ", lda = kPadded");

            // A with a wider stride whose extra columns hold NaN: only the first k may be read.
            int lda = kp + 3;
            float[] strided = sentinel(rows * lda);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(a, r * k, strided, r * lda, k);
            }
            float[] out2 = new float[rows * n];
            p.multiply(strided, rows, lda, null, out2, n);
            assertArrayEquals(out, out2, what + ": lda " + lda + " differs from the in-place read");

            // Output rows as wide as the packed columns: columns n .. ldo get the zero padding columns.
            int ldo = p.cols;
            float[] wide = sentinel(rows * ldo);
            p.multiply(padded, rows, kp, null, wide, ldo);
            ex.check(wide, rows, n, ldo, k, what + ", ldo " + ldo);
            for (int r = 0; r < rows; r++) {
                for (int c = n; c < ldo; c++) {
                    assertEquals(0f, wide[r * ldo + c], what + ": padding column " + c + " of row " + r);
                }
            }
        }
    }

    @Test
    void reorderedAndZeroColumns() {
        // LstmKernel's layout: packed column c holds source row map[c] of w [n, k], -1 for zeros.
        Random rnd = new Random(303);
        for (int n : new int[] {5, 40, 130, 600}) {
            int k = 11;
            float[] w = random(rnd, n * k, 1);
            float[] bias = random(rnd, n, 1);
            int packedCols = n + n / 3;
            int[] map = new int[packedCols];
            Arrays.fill(map, -1);
            int[] perm = rnd.ints(0, packedCols).distinct().limit(n).toArray();
            for (int i = 0; i < n; i++) {
                map[perm[i]] = i;
            }
            PackedMatrix p = PackedMatrix.ofTransposed(w, k, map);
            int rows = 6;
            float[] a = random(rnd, rows * k, 1);
            float[] out = new float[rows * packedCols];
            p.multiply(a, rows, k, p.pack(bias), out, packedCols);
            float[] packedBias = new float[packedCols];
            for (int c = 0; c < packedCols; c++) {
                packedBias[c] = map[c] < 0 ? 0 : bias[map[c]];
            }
            Exact withBias = Exact.of(a, rows, k, k, packedCols, (kk, c) -> map[c] < 0 ? 0 : w[map[c] * k + kk], packedBias);
            withBias.check(out, rows, packedCols, packedCols, k, "reordered columns, n = " + n);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < packedCols; c++) {
                    if (map[c] < 0) {
                        assertEquals(0f, out[r * packedCols + c], "zero column " + c);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- through the layers

    private static Tensor eval(Layer layer, Map<String, Tensor> in) {
        return NativeRuntime.evaluate(layer, in).get(layer.outputs().get(0));
    }

    @Test
    void denseOnBothPaths() {
        Random rnd = new Random(404);
        // out >= 32 takes the packed path, out < 32 the plain loop.
        for (int out : new int[] {1, 31, 32, 33, 129, 513}) {
            for (int in : new int[] {1, 5, 8, 13}) {
                for (int[] lead : new int[][] {{1}, {3}, {2, 5}, {9}}) {
                    float[] w = random(rnd, out * in, 1);
                    float[] b = rnd.nextBoolean() ? random(rnd, out, 1) : null;
                    int rows = Arrays.stream(lead).reduce(1, (x, y) -> x * y);
                    float[] x = random(rnd, rows * in, 1);
                    int[] xs = Arrays.copyOf(lead, lead.length + 1);
                    xs[lead.length] = in;
                    Layer.Dense d = new Layer.Dense("fc", "x", "y", Tensor.ofFloats(new int[] {out, in}, w),
                            b == null ? null : Tensor.ofFloats(new int[] {out}, b));
                    Tensor y = eval(d, Map.of("x", Tensor.ofFloats(xs, x)));
                    int[] ys = xs.clone();
                    ys[lead.length] = out;
                    String what = "Dense [" + out + ", " + in + "] on " + Arrays.toString(xs);
                    assertArrayEquals(ys, y.shape(), what + ": shape");
                    Exact.of(x, rows, in, in, out, (k, c) -> w[c * in + k], b).check(y.toFloatArray(), rows, out, out, 2 * in, what);
                }
            }
        }
    }

    @Test
    void matMulOnBothPaths() {
        Random rnd = new Random(505);
        // rows >= 4 and cols >= 32 take the packed path.
        for (int rows : new int[] {1, 3, 4, 5, 9}) {
            for (int depth : new int[] {1, 7, 8, 17}) {
                for (int cols : new int[] {1, 31, 32, 129, 513}) {
                    float[] a = random(rnd, rows * depth, 1);
                    float[] b = random(rnd, depth * cols, 1);
                    Tensor y = eval(new Layer.MatMul("mm", "a", "b", "y"),
                            Map.of("a", Tensor.ofFloats(new int[] {rows, depth}, a), "b", Tensor.ofFloats(new int[] {depth, cols}, b)));
                    String what = "MatMul [" + rows + ", " + depth + "] x [" + depth + ", " + cols + "]";
                    assertArrayEquals(new int[] {rows, cols}, y.shape(), what + ": shape");
                    Exact.of(a, rows, depth, depth, cols, (k, c) -> b[k * cols + c], null).check(y.toFloatArray(), rows, cols, cols, 2 * depth, what);
                }
            }
        }
    }

    @Test
    void batchedMatMulWithBroadcast() {
        // a [2, 1, 5, 7] x b [3, 7, 40] -> [2, 3, 5, 40]: packed per batch entry, B at a nonzero offset.
        Random rnd = new Random(606);
        int rows = 5;
        int depth = 7;
        int cols = 40;
        float[] a = random(rnd, 2 * rows * depth, 1);
        float[] b = random(rnd, 3 * depth * cols, 1);
        Tensor y = eval(new Layer.MatMul("mm", "a", "b", "y"),
                Map.of("a", Tensor.ofFloats(new int[] {2, 1, rows, depth}, a), "b", Tensor.ofFloats(new int[] {3, depth, cols}, b)));
        assertArrayEquals(new int[] {2, 3, rows, cols}, y.shape());
        float[] yf = y.toFloatArray();
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                int ao = i * rows * depth;
                int bo = j * depth * cols;
                float[] ai = Arrays.copyOfRange(a, ao, ao + rows * depth);
                float[] yij = Arrays.copyOfRange(yf, (i * 3 + j) * rows * cols, (i * 3 + j + 1) * rows * cols);
                Exact.of(ai, rows, depth, depth, cols, (k, c) -> b[bo + k * cols + c], null)
                        .check(yij, rows, cols, cols, 2 * depth, "batch entry [" + i + ", " + j + "]");
            }
        }
    }

    /**
     * The Vector API kernels on the panel layout (when this JVM has jdk.incubator.vector; the
     * build's tests add it) give the same bits as the C2-vectorised kernels on the row layout: one
     * and four rows, wide and narrow tiles, depths around multiples of 8 and past one k-block,
     * accumulators starting non-zero, A read at offsets, and whole products of 1 to 11 rows.
     */
    @Test
    void vectorKernelsGiveTheScalarKernelsBits() {
        org.junit.jupiter.api.Assumptions.assumeTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
                "the JVM has no jdk.incubator.vector");
        java.util.Random rnd = new java.util.Random(5);
        for (int k : new int[] {1, 7, 8, 9, 64, 131, 300}) {
            for (int n : new int[] {100, 512, 700}) {
                float[] w = new float[n * k];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) rnd.nextGaussian();
                }
                PackedMatrix rows = PackedMatrix.ofTransposed(w, n, k, false);
                PackedMatrix panels = PackedMatrix.ofTransposed(w, n, k, true);
                assertEquals(rows.tileCount(), panels.tileCount());
                int kp = rows.kPadded;
                float[] a = new float[11 * kp + 3];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) rnd.nextGaussian();
                }
                for (int r = 0; r < 11; r++) {
                    java.util.Arrays.fill(a, 3 + r * kp + k, 3 + (r + 1) * kp, 0f); // zero padding past K, as the kernels expect
                }
                for (int t = 0; t < rows.tileCount(); t++) {
                    float[] init = new float[4 * PackedMatrix.TILE];
                    for (int i = 0; i < init.length; i++) {
                        init[i] = (float) rnd.nextGaussian();
                    }
                    float[] v = init.clone();
                    float[] s = init.clone();
                    panels.mul1(t, v, a, 3 + kp);
                    rows.mul1(t, s, a, 3 + kp);
                    assertArrayEquals(s, v, "mul1 k=" + k + " n=" + n + " tile " + t);
                    v = init.clone();
                    s = init.clone();
                    panels.mul4(t, v, a, 3, 3 + 2 * kp, 3 + kp, 3 + 4 * kp);
                    rows.mul4(t, s, a, 3, 3 + 2 * kp, 3 + kp, 3 + 4 * kp);
                    assertArrayEquals(s, v, "mul4 k=" + k + " n=" + n + " tile " + t);
                    // panel by panel (two at once with few vector registers), accumulator rows at an offset
                    float[] p = new float[5 * PackedMatrix.TILE];
                    System.arraycopy(init, 0, p, PackedMatrix.TILE, init.length);
                    for (int q = 0; q < panels.width(t) / VectorKernels.PANEL; q += PackedMatrix.PANELS_AT_ONCE) {
                        panels.mul4Panel(t, q, p, PackedMatrix.TILE, a, 3, 3 + 2 * kp, 3 + kp, 3 + 4 * kp);
                    }
                    assertArrayEquals(s, Arrays.copyOfRange(p, PackedMatrix.TILE, p.length), "mul4Panel k=" + k + " n=" + n + " tile " + t);
                }
                float[] bias = new float[rows.cols];
                for (int i = 0; i < bias.length; i++) {
                    bias[i] = (float) rnd.nextGaussian();
                }
                for (int m = 1; m <= 11; m++) {
                    float[] s = new float[m * n];
                    float[] v = new float[m * n];
                    rows.multiply(a, m, kp, rows.pack(bias), s, n);
                    panels.multiply(a, m, kp, panels.pack(bias), v, n);
                    assertArrayEquals(s, v, "multiply rows=" + m + " k=" + k + " n=" + n);
                }
            }
        }
    }

    @Test
    void aManyRowProductIsTheSameBitForBitAsEachRowAlone() {
        // Depths past one k-block of either tile width, so that the k-blocked path runs (rows > 4).
        Random rnd = new Random(91);
        for (int depth : new int[] {8, 64, 72, 130, 257, 600}) {
            for (int cols : new int[] {128, 512, 640, 1100}) {
                for (int rows : new int[] {5, 8, 13}) {
                    float[] w = random(rnd, cols * depth, 1f);
                    PackedMatrix b = PackedMatrix.ofTransposed(w, cols, depth);
                    float[] bias = b.pack(random(rnd, cols, 1f));
                    float[] a = random(rnd, rows * b.kPadded, 1f);
                    for (int r = 0; r < rows; r++) {
                        Arrays.fill(a, r * b.kPadded + depth, (r + 1) * b.kPadded, 0f);
                    }
                    float[] all = new float[rows * b.cols];
                    b.multiply(a, rows, b.kPadded, bias, all, b.cols);
                    float[] one = new float[rows * b.cols];
                    for (int r = 0; r < rows; r++) {
                        float[] out = new float[b.cols];
                        b.multiply(Arrays.copyOfRange(a, r * b.kPadded, (r + 1) * b.kPadded), 1, b.kPadded, bias, out, b.cols);
                        System.arraycopy(out, 0, one, r * b.cols, b.cols);
                    }
                    assertArrayEquals(one, all, "depth " + depth + ", cols " + cols + ", rows " + rows);
                }
            }
        }
    }

    @Test
    void halfPanelsHoldEachPackedColumnInNarrowKMajorRuns() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Vec.ENABLED, "half panels are a Vector API layout");
        java.util.Random rnd = new java.util.Random(31);
        // 700 columns: a wide tile and narrow ones; K = 13 pads to 16
        int n = 700;
        int k = 13;
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        PackedMatrix m = PackedMatrix.ofTransposed(w, n, k, true);
        float[] half = m.halfPanels();
        int hw = VectorKernels.PANEL / 2;
        int kp = m.kPadded;
        assertEquals(m.cols * kp, half.length);
        for (int c = 0; c < m.cols; c++) {
            for (int kk = 0; kk < kp; kk++) {
                float expected = c < n && kk < k ? w[c * k + kk] : 0f;
                assertEquals(expected, half[(c / hw * kp + kk) * hw + c % hw], "column " + c + ", k " + kk);
            }
        }
    }

    @Test
    void aStepFusedWithEightRowsOfProjectionGivesTheSeparateKernelsBits() {
        // VectorKernels.stepAndProject8 as LstmKernel schedules it over a block's 8 phases: each
        // phase a group's 128-column step product (one row) plus a share of the 8 rows' input
        // projection; I and H of one padded depth (20 and 24 both pad to 24).
        org.junit.jupiter.api.Assumptions.assumeTrue(Vec.ENABLED, "the fused kernel is a Vector API kernel");
        java.util.Random rnd = new java.util.Random(77);
        int cols = 128;
        int pw = VectorKernels.PANEL;
        int hw = pw / 2;
        for (int[] ih : new int[][] {{512, 512}, {130, 130}, {20, 24}, {17, 17}}) {
            int in = ih[0];
            int hid = ih[1];
            PackedMatrix r = PackedMatrix.ofTransposed(gaussian(rnd, cols * hid), cols, hid, true);
            PackedMatrix wm = PackedMatrix.ofTransposed(gaussian(rnd, cols * in), cols, in, true);
            float[] wh = wm.halfPanels();
            int kpR = r.kPadded;
            int kpW = wm.kPadded;
            float[] h = gaussian(rnd, kpR);
            java.util.Arrays.fill(h, hid, kpR, 0f);
            float[] x = gaussian(rnd, 8 * kpW);
            for (int row = 0; row < 8; row++) {
                java.util.Arrays.fill(x, row * kpW + in, (row + 1) * kpW, 0f);
            }
            float[] bias = gaussian(rnd, cols);
            float[] init = gaussian(rnd, 4 * PackedMatrix.TILE);
            float[] step = init.clone();
            r.mulColumns(0, 0, cols, 1, step, h, 0, 0, 0, 0);
            float[] proj = new float[8 * cols];
            wm.multiply(x, 8, kpW, bias, proj, cols);
            float[] out = new float[8 * cols];
            java.util.Arrays.fill(out, Float.NaN); // every value starts from the bias at its first k
            int share = kpW / 4;
            int rPanels = cols / pw;
            for (int phase = 0; phase < 8; phase++) {
                float[] acc = init.clone();
                for (int q = 0; q < rPanels; q++) {
                    int lin = (phase * rPanels + q) * share;
                    int hh = lin / kpW;
                    int k0 = lin % kpW;
                    int col = hh * hw;
                    VectorKernels.stepAndProject8(acc, q * pw, r.panels[0], q * kpR * pw, kpR, h, 0, wh, (col / hw * kpW + k0) * hw, x, k0,
                            kpW, out, col, cols, k0 == 0 ? bias : null, col);
                }
                assertArrayEquals(step, acc, "I=" + in + " H=" + hid + ": the step's product in phase " + phase);
            }
            assertArrayEquals(proj, out, "I=" + in + " H=" + hid + ": the 8 rows' projections after the 8 phases");
        }
    }

    @Test
    void twoAndThreeRowsTogetherGiveEachRowsOwnBits() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Vec.ENABLED, "column ranges are a Vector API path");
        java.util.Random rnd = new java.util.Random(19);
        for (int k : new int[] {5, 64, 300}) {
            PackedMatrix m = PackedMatrix.ofTransposed(gaussian(rnd, 700 * k), 700, k, true);
            int kp = m.kPadded;
            float[] a = gaussian(rnd, 4 * kp);
            for (int r = 0; r < 4; r++) {
                java.util.Arrays.fill(a, r * kp + k, (r + 1) * kp, 0f);
            }
            for (int t = 0; t < m.tileCount(); t++) {
                int j1 = m.width(t);
                float[] init = gaussian(rnd, 4 * PackedMatrix.TILE);
                for (int n = 2; n <= 3; n++) {
                    float[] together = init.clone();
                    // rows 2, 0, 3 of A (any order), accumulator rows 0..n-1
                    m.mulColumns(t, 0, j1, n, together, a, 2 * kp, 0, 3 * kp, 0);
                    int[] src = {2 * kp, 0, 3 * kp};
                    for (int r = 0; r < n; r++) {
                        float[] alone = java.util.Arrays.copyOfRange(init, r * PackedMatrix.TILE, (r + 1) * PackedMatrix.TILE);
                        m.mulColumns(t, 0, j1, 1, alone, a, src[r], 0, 0, 0);
                        assertArrayEquals(alone, java.util.Arrays.copyOfRange(together, r * PackedMatrix.TILE, (r + 1) * PackedMatrix.TILE),
                                n + " rows, k=" + k + ", tile " + t + ": row " + r);
                    }
                }
            }
        }
    }

    private static float[] gaussian(java.util.Random rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextGaussian();
        }
        return f;
    }
}
