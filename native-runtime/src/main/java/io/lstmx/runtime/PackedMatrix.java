package io.lstmx.runtime;

import java.util.Arrays;

/**
 * A constant right-hand matrix B [K, N] of products {@code A B}, laid out once for the
 * micro-kernels below, which compute {@code acc += A B} one column tile (up to {@link #TILE}
 * columns) at a time.
 *
 * <h2>Layout, and why</h2>
 * The kernels rely on C2's auto-vectorisation (no Vector API in Java 17 without incubator
 * modules). C2 (JDK 17) vectorises a loop only when it can tell its loads and stores apart, which
 * in practice means that every array in the inner loop is indexed by the loop variable plus a
 * compile-time constant: an invariant offset such as {@code y[yo + j]} makes C2 assume that a
 * store may hit a later load and leaves the loop scalar (measured: 4-8x slower). So
 * <ul>
 *   <li>every row k of every tile t is its own {@code float[width]} ({@link #tiles}[t][k]), indexed
 *       by j only; rows k &ge; K, up to {@link #kPadded} (a multiple of 8), are one shared zero row,
 *       so kernels can step k by 4 or 8 without a remainder loop;</li>
 *   <li>an accumulator block holds up to four rows of the product at the constant offsets
 *       0, TILE, 2 TILE, 3 TILE of one array;</li>
 *   <li>the loop over a tile's columns has a constant trip count: with a variable one, C2 left the
 *       four-row kernel scalar. Tiles are therefore {@link #TILE} (512) columns wide, and the
 *       columns past the last multiple of 512 are covered by {@link #NARROW} (128) column tiles,
 *       each size with its own copy of the kernels. Wide tiles measured some 15% faster (C2 runs a
 *       vectorised loop's first and last few iterations, for alignment and remainder, as scalar
 *       code). Columns are zero-padded to a multiple of 128.</li>
 * </ul>
 * <p>
 * Each B value loaded by the 4-row kernel is used for four rows of A, and each accumulator value is
 * loaded and stored once per two k (see the comment above the kernels for why not more). Products are fused multiply-adds ({@link Math#fma}), so sums
 * differ from sequential float sums only by float rounding.
 * <p>
 * Instances are immutable after construction and may be shared by threads.
 */
final class PackedMatrix {
    /** Columns of a wide tile, and the row stride of accumulator blocks (a compile-time constant). */
    static final int TILE = 512;
    /** Columns of a narrow tile. */
    static final int NARROW = 128;

    /** K, the number of rows of B. */
    final int k;
    /** Number of packed columns, zero-padded to a multiple of {@link #NARROW}. */
    final int cols;
    /** K rounded up to a multiple of 8: the length of A rows the kernels read. */
    final int kPadded;
    /** [tile][kPadded][width of the tile], or null when {@link #panels} holds the matrix. */
    final float[][][] tiles;
    /**
     * The Vector API layout ({@link VectorKernels}), or null: per tile, its columns in panels of
     * {@link VectorKernels#PANEL} each stored k-major and contiguous ([width / PANEL][kPadded][PANEL]
     * flattened), so that a register-blocked kernel reads one sequential stream per panel.
     */
    final float[][] panels;
    /** First packed column of each tile. */
    private final int[] start;
    /**
     * Per tile, its rows in blocks of {@link #kBlockRows} (the last one shorter, padded rows
     * included): views of {@link #tiles} for {@link #multiplyBlocked}.
     */
    private final float[][][][] kBlocks;
    /**
     * Bytes of a tile's weights per k-block of a many-row product (property {@code lstmx.kBlockBytes}):
     * small enough to stay in L2 beside the partial sums while every row of A uses them.
     */
    static final int K_BLOCK_BYTES = Integer.getInteger("lstmx.kBlockBytes", 128 << 10);
    /** Source row/column of each packed column (or -1). */
    private final int[] colMap;

    /**
     * @param src  source matrix, row-major from {@code off} with {@code ld} values per row
     * @param transposed when true, packed column c is source row {@code colMap[c]} (B = src^T, src
     *             [N, K] like a weight [out, in]); when false, packed column c is source column
     *             {@code colMap[c]} (src [K, N])
     * @param map  for every packed column, its source row/column, or -1 for a zero column
     */
    private PackedMatrix(int k, float[] src, int off, int ld, boolean transposed, int[] map, boolean panelled) {
        this.k = k;
        this.cols = roundUp(map.length, NARROW);
        this.colMap = Arrays.copyOf(map, cols);
        Arrays.fill(colMap, map.length, cols, -1);
        this.kPadded = roundUp(k, 8);
        int wide = cols / TILE;
        int nt = wide + (cols - wide * TILE) / NARROW;
        start = new int[nt];
        for (int t = 0; t < nt; t++) {
            start[t] = t <= wide ? t * TILE : wide * TILE + (t - wide) * NARROW;
        }
        if (panelled) {
            // one layout only: the weights are the largest thing a model holds
            tiles = null;
            kBlocks = null;
            panels = new float[nt][];
            int pw = VectorKernels.PANEL;
            for (int t = 0; t < nt; t++) {
                int width = t < wide ? TILE : NARROW;
                float[] pt = new float[Math.multiplyExact(width, kPadded)];
                for (int j = 0; j < width; j++) {
                    int s = colMap[start[t] + j];
                    if (s < 0) {
                        continue;
                    }
                    int base = j / pw * kPadded * pw + j % pw;
                    for (int kk = 0; kk < k; kk++) {
                        pt[base + kk * pw] = transposed ? src[off + s * ld + kk] : src[off + kk * ld + s];
                    }
                }
                panels[t] = pt;
            }
            return;
        }
        panels = null;
        float[] zero = new float[TILE];
        tiles = new float[nt][kPadded][];
        for (int t = 0; t < nt; t++) {
            int width = t < wide ? TILE : NARROW;
            for (int kk = 0; kk < kPadded; kk++) {
                if (kk >= k) {
                    tiles[t][kk] = zero;
                    continue;
                }
                float[] row = new float[width];
                for (int j = 0; j < width; j++) {
                    int s = colMap[start[t] + j];
                    if (s >= 0) {
                        row[j] = transposed ? src[off + s * ld + kk] : src[off + kk * ld + s];
                    }
                }
                tiles[t][kk] = row;
            }
        }
        kBlocks = new float[nt][][][];
        for (int t = 0; t < nt; t++) {
            int kb = kBlockRows(t);
            int n = (kPadded + kb - 1) / kb;
            kBlocks[t] = new float[n][][];
            for (int b = 0; b < n; b++) {
                kBlocks[t][b] = Arrays.copyOfRange(tiles[t], b * kb, Math.min(kPadded, (b + 1) * kb));
            }
        }
    }

    /** B = w^T for a weight w [N, K] (row-major), with packed column c holding w's row {@code colMap[c]} (-1: zeros). */
    static PackedMatrix ofTransposed(float[] w, int k, int[] colMap) {
        return ofTransposed(w, k, colMap, Vec.ENABLED);
    }

    /** As above, panelled for the Vector API kernels or in the C2 kernels' row layout. */
    static PackedMatrix ofTransposed(float[] w, int k, int[] colMap, boolean panelled) {
        return new PackedMatrix(k, w, 0, k, true, colMap, panelled);
    }

    /** B = w^T for a weight w [N, K] (row-major), columns in their natural order. */
    static PackedMatrix ofTransposed(float[] w, int n, int k) {
        return ofTransposed(w, n, k, Vec.ENABLED);
    }

    /** As above, in the layout of the Vector API kernels (panelled) or of the C2 kernels (for tests of one against the other). */
    static PackedMatrix ofTransposed(float[] w, int n, int k, boolean panelled) {
        return new PackedMatrix(k, w, 0, k, true, identity(n), panelled);
    }

    /** B itself, [K, N] row-major starting at {@code off} in {@code b}, columns in their natural order. */
    static PackedMatrix of(float[] b, int off, int k, int n) {
        return new PackedMatrix(k, b, off, n, false, identity(n), Vec.ENABLED);
    }

    static int roundUp(int v, int m) {
        return Math.addExact(v, m - 1) / m * m;
    }

    private static int[] identity(int n) {
        int[] map = new int[n];
        for (int i = 0; i < n; i++) {
            map[i] = i;
        }
        return map;
    }

    int tileCount() {
        return start.length;
    }

    /** First packed column of tile t. */
    int start(int t) {
        return start[t];
    }

    /** Width of tile t: {@link #TILE} or {@link #NARROW}. */
    int width(int t) {
        return t < cols / TILE ? TILE : NARROW;
    }

    /** A row vector over B's columns (e.g. a bias, indexed like B's source rows/columns) in packed order. */
    float[] pack(float[] v) {
        float[] out = new float[cols];
        for (int c = 0; c < cols; c++) {
            if (colMap[c] >= 0) {
                out[c] = v[colMap[c]];
            }
        }
        return out;
    }

    /**
     * {@code out[r * ldo + c] = bias[c] + sum_k a[r * lda + k] * B[k, c]} for rows r &lt; rows and
     * packed columns c &lt; min(ldo, cols) ({@code bias} in packed order (see {@link #pack}), or null
     * for 0). A is read in place when {@code lda == kPadded} (its columns K..kPadded must then be
     * zero), otherwise first copied into a zero-padded buffer.
     */
    void multiply(float[] a, int rows, int lda, float[] bias, float[] out, int ldo) {
        multiply(a, rows, lda, bias, out, ldo, new float[4 * TILE]);
    }

    /** As above, with a caller-provided scratch {@code acc} of at least 4 TILE floats: allocates nothing when lda == kPadded. */
    void multiply(float[] a, int rows, int lda, float[] bias, float[] out, int ldo, float[] acc) {
        if (rows == 0) {
            return;
        }
        float[] src = a;
        int ld = lda;
        if (lda != kPadded) {
            src = new float[Math.multiplyExact(rows, kPadded)];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(a, r * lda, src, r * kPadded, k);
            }
            ld = kPadded;
        }
        if (panels != null && rows >= 8 && ldo >= cols) {
            multiplyByPanels(src, rows, ld, bias, out, ldo);
            return;
        }
        for (int t = 0; t < start.length; t++) {
            int c0 = start[t];
            int width = width(t);
            int outWidth = Math.min(width, ldo - c0);
            if (outWidth <= 0) {
                break;
            }
            // The panel kernels keep their accumulators in registers and are bound by multiply-adds
            // even streaming the weights from L3 (k-blocking them measured 15% slower); the row
            // kernels reload theirs every two k and need the weights close.
            if (panels == null && rows > 4 && kPadded > kBlockRows(t) && outWidth == width) {
                multiplyBlocked(t, src, rows, ld, bias, out, ldo, acc);
                continue;
            }
            int r = 0;
            for (; r + 4 <= rows; r += 4) {
                for (int m = 0; m < 4; m++) {
                    initRow(acc, m, bias, c0, width);
                }
                mul4(t, acc, src, r * ld, (r + 1) * ld, (r + 2) * ld, (r + 3) * ld);
                for (int m = 0; m < 4; m++) {
                    System.arraycopy(acc, m * TILE, out, (r + m) * ldo + c0, outWidth);
                }
            }
            for (; r < rows; r++) {
                initRow(acc, 0, bias, c0, width);
                mul1(t, acc, src, r * ld);
                System.arraycopy(acc, 0, out, r * ldo + c0, outWidth);
            }
        }
    }

    /**
     * {@link #multiply} on panels for many rows: every group of four rows runs over one panel
     * while it sits in L2, accumulating in place in {@code out} (started from the bias), instead
     * of streaming the whole tile from L3 once per group (measured ~15% faster at 100-400 rows of
     * a 512 x 2048 product); the rows left over after the last group of four run over each pair of
     * panels just after the groups did, while it is still in L2 (they used to stream the whole tile
     * again: for 25 rows of a 512 x 1024 slice, 2 MiB from L3 for one row). The same sums in the
     * same order as the tile-by-tile loop.
     */
    private void multiplyByPanels(float[] src, int rows, int ld, float[] bias, float[] out, int ldo) {
        for (int r = 0; r < rows; r++) {
            if (bias == null) {
                Arrays.fill(out, r * ldo, r * ldo + cols, 0f);
            } else {
                System.arraycopy(bias, 0, out, r * ldo, cols);
            }
        }
        int pw = VectorKernels.PANEL;
        int step = PANELS_AT_ONCE * pw; // the columns of one call of the four-row kernel
        int full = rows / 4 * 4;
        for (int t = 0; t < start.length; t++) {
            int c0 = start[t];
            int width = width(t);
            for (int j1 = 0; j1 < width; j1 += 2 * pw) { // widths are multiples of two panels (see VectorKernels.usable)
                for (int j0 = j1; j0 < j1 + 2 * pw; j0 += step) {
                    for (int r = 0; r < full; r += 4) {
                        VectorKernels.panelMul4(out, r * ldo + c0, ldo, panels[t], kPadded, j0, j0 + step, src, r * ld, (r + 1) * ld,
                                (r + 2) * ld, (r + 3) * ld);
                    }
                }
                for (int r = full; r < rows; r++) {
                    VectorKernels.panelMul1(out, r * ldo + c0, panels[t], kPadded, j1, j1 + 2 * pw, src, r * ld);
                }
            }
        }
    }

    /**
     * Tile t of the product for many rows, k-blocked: for each block of {@link #kBlockRows} rows
     * of the tile, every row of A in turn (four at a time, then one at a time) adds that block's
     * terms to its partial sums, kept in {@code out} between blocks. Without blocking, every four
     * rows of A would stream the whole tile (up to K x 2 KiB) through the caches again; with it,
     * each block is loaded once and stays in L2 while all rows use it. Each sum still takes its
     * terms in order of k, so the result is the same, bit for bit, as the unblocked loop.
     */
    private void multiplyBlocked(int t, float[] src, int rows, int ld, float[] bias, float[] out, int ldo, float[] acc) {
        int c0 = start[t];
        int width = width(t);
        float[][][] blocks = kBlocks[t];
        for (int kb = 0; kb < blocks.length; kb++) {
            float[][] w = blocks[kb];
            int k0 = kb * kBlockRows(t);
            int r = 0;
            for (; r + 4 <= rows; r += 4) {
                for (int m = 0; m < 4; m++) {
                    if (kb == 0) {
                        initRow(acc, m, bias, c0, width);
                    } else {
                        System.arraycopy(out, (r + m) * ldo + c0, acc, m * TILE, width);
                    }
                }
                mul4Scalar(acc, w, w.length, width, src, r * ld + k0, (r + 1) * ld + k0, (r + 2) * ld + k0, (r + 3) * ld + k0);
                for (int m = 0; m < 4; m++) {
                    System.arraycopy(acc, m * TILE, out, (r + m) * ldo + c0, width);
                }
            }
            for (; r < rows; r++) {
                if (kb == 0) {
                    initRow(acc, 0, bias, c0, width);
                } else {
                    System.arraycopy(out, r * ldo + c0, acc, 0, width);
                }
                mul1Scalar(acc, w, w.length, width, src, r * ld + k0);
                System.arraycopy(acc, 0, out, r * ldo + c0, width);
            }
        }
    }

    /** Rows of tile t per k-block of {@link #multiplyBlocked}: {@link #K_BLOCK_BYTES} of weights, a multiple of 8. */
    private int kBlockRows(int t) {
        return Math.max(8, K_BLOCK_BYTES / 4 / width(t) / 8 * 8);
    }

    private static void initRow(float[] acc, int m, float[] bias, int c0, int width) {
        if (bias == null) {
            Arrays.fill(acc, m * TILE, m * TILE + width, 0f);
        } else {
            System.arraycopy(bias, c0, acc, m * TILE, width);
        }
    }

    /**
     * Four rows of A times tile t: {@code acc[m*TILE + j] += sum_k a[o_m + k] * B[k, start(t) + j]}
     * for m = 0..3, k &lt; kPadded, j &lt; width(t), on whichever layout this matrix has.
     */
    void mul4(int t, float[] acc, float[] a, int o0, int o1, int o2, int o3) {
        if (panels != null) {
            VectorKernels.panelMul4(acc, panels[t], kPadded, width(t), a, o0, o1, o2, o3);
        } else {
            mul4Scalar(acc, tiles[t], kPadded, width(t), a, o0, o1, o2, o3);
        }
    }

    /** Whether the matrix is laid out in panels (the Vector API kernels), which {@link #mul4Panel} needs. */
    boolean panelled() {
        return panels != null;
    }

    /**
     * Panel {@code q} of tile t (columns q PANEL .. (q + 1) PANEL of the tile; with
     * {@link #PANELS_AT_ONCE} = 2 panels q and q + 1) of {@link #mul4},
     * with the four accumulator rows at {@code ab + m TILE}: a caller with many rows runs each
     * group of four over one panel while the panel sits in L2, instead of streaming the whole
     * matrix from L3 or memory once per group. Panelled matrices only.
     */
    void mul4Panel(int t, int q, float[] acc, int ab, float[] a, int o0, int o1, int o2, int o3) {
        int pw = VectorKernels.PANEL;
        VectorKernels.panelMul4(acc, ab, TILE, panels[t], kPadded, q * pw, (q + PANELS_AT_ONCE) * pw, a, o0, o1, o2, o3);
    }

    /**
     * Panels a caller of {@link #mul4Panel} takes at once (q steps by this many): two with few vector
     * registers, where the kernel's blocks of three vectors need a pair (see
     * {@link VectorKernels#FEW_REGISTERS}), else one. Tile widths are multiples of two panels.
     */
    static final int PANELS_AT_ONCE = Vec.ENABLED && VectorKernels.FEW_REGISTERS ? 2 : 1;

    /**
     * Columns [j0, j1) of tile t (multiples of two panels) of the product of n (1 to 4) rows of A
     * (at a[o0..], a[o1..], ...; offsets past n unused), accumulator rows at 0, TILE, 2 TILE,
     * 3 TILE: the same sums as {@link #mul1} and {@link #mul4} for those columns, two or three rows
     * together in one pass over the columns (a padded batch spends its last steps with two or three
     * rows). Panelled matrices only.
     */
    void mulColumns(int t, int j0, int j1, int n, float[] acc, float[] a, int o0, int o1, int o2, int o3) {
        switch (n) {
            case 4 -> VectorKernels.panelMul4(acc, 0, TILE, panels[t], kPadded, j0, j1, a, o0, o1, o2, o3);
            case 3 -> VectorKernels.panelMul3(acc, 0, TILE, panels[t], kPadded, j0, j1, a, o0, o1, o2);
            case 2 -> VectorKernels.panelMul2(acc, 0, TILE, panels[t], kPadded, j0, j1, a, o0, o1);
            case 1 -> VectorKernels.panelMul1(acc, panels[t], kPadded, j0, j1, a, o0);
            default -> throw new IllegalArgumentException("rows: " + n);
        }
    }

    /**
     * This matrix again in half panels ({@link VectorKernels#PANEL} / 2 columns each, k-major):
     * [cols / (PANEL / 2)][kPadded][PANEL / 2], half panel i holding packed columns [i PANEL / 2,
     * (i + 1) PANEL / 2). For {@link VectorKernels#stepAndProject8}, which multiplies eight rows by
     * one half panel at a time (sixteen accumulators beside the step's four): read from L3 in
     * these narrow k-major runs rather than as halves of full panels (which measured ~7% slower:
     * the hardware fetches the other half too). Panelled matrices only.
     */
    float[] halfPanels() {
        int pw = VectorKernels.PANEL;
        int hw = pw / 2;
        float[] out = new float[Math.multiplyExact(cols, kPadded)];
        for (int t = 0; t < start.length; t++) {
            float[] pt = panels[t];
            for (int j = 0; j < width(t); j++) {
                int c = start[t] + j;
                int src = j / pw * kPadded * pw + j % pw;
                int dst = c / hw * kPadded * hw + c % hw;
                for (int kk = 0; kk < kPadded; kk++) {
                    out[dst + kk * hw] = pt[src + kk * pw];
                }
            }
        }
        return out;
    }

    /**
     * How many of a step's {@code left} running rows one product takes: four, or on panels all of
     * up to three ({@link #mulColumns}), else one (the row layout's kernels take one or four).
     */
    int rowsAtOnce(int left) {
        return left >= 4 ? 4 : panels != null ? left : 1;
    }

    /**
     * Tile t times rows[i .. i + n) of A, row r at {@code a[rows[r] * stride ..]}, n from
     * {@link #rowsAtOnce}; accumulator rows at 0, TILE, 2 TILE, 3 TILE.
     */
    void mulRows(int t, int n, float[] acc, float[] a, int[] rows, int i, int stride) {
        int o0 = rows[i] * stride;
        if (n == 4) {
            mul4(t, acc, a, o0, rows[i + 1] * stride, rows[i + 2] * stride, rows[i + 3] * stride);
        } else if (n == 1) {
            mul1(t, acc, a, o0);
        } else {
            mulColumns(t, 0, width(t), n, acc, a, o0, rows[i + 1] * stride, n > 2 ? rows[i + 2] * stride : 0, 0);
        }
    }

    /** One row of A times tile t: {@code acc[j] += sum_k a[o + k] * B[k, start(t) + j]}, on whichever layout this matrix has. */
    void mul1(int t, float[] acc, float[] a, int o) {
        if (panels != null) {
            VectorKernels.panelMul1(acc, panels[t], kPadded, width(t), a, o);
        } else {
            mul1Scalar(acc, tiles[t], kPadded, width(t), a, o);
        }
    }

    /**
     * The C2 kernel of {@link #mul4} on the row layout (one tile's rows {@code w}):
     * {@code acc[m*TILE + j] += sum_k a[o_m + k] * w[k][j]} for m = 0..3, k &lt; kp (even), j &lt;
     * width ({@link #TILE} or {@link #NARROW}); the reference the Vector API kernels are tested against.
     */
    static void mul4Scalar(float[] acc, float[][] w, int kp, int width, float[] a, int o0, int o1, int o2, int o3) {
        if (width == TILE) {
            mul4Wide(acc, w, kp, a, o0, o1, o2, o3);
        } else {
            mul4Narrow(acc, w, kp, a, o0, o1, o2, o3);
        }
    }

    /** The C2 kernel of {@link #mul1}: {@code acc[j] += sum_k a[o + k] * w[k][j]} for k &lt; kp (a multiple of 8), j &lt; width. */
    static void mul1Scalar(float[] acc, float[][] w, int kp, int width, float[] a, int o) {
        if (width == TILE) {
            mul1Wide(acc, w, kp, a, o);
        } else {
            mul1Narrow(acc, w, kp, a, o);
        }
    }

    // The a values of two (four-row kernel) or eight (one-row kernel) k are held in locals while one
    // pass over j applies them; the Wide and Narrow copies differ only in their constant trip count
    // (see the class comment). Two k, not four, in the four-row kernel: its eight a values then stay
    // in vector registers as broadcasts beside the weights and accumulators (AVX2 has 16), where
    // sixteen made C2 reload them inside the j loop; measured 10-15% faster on this machine despite
    // loading and storing the accumulators twice as often. Sums are the same fused multiply-adds in
    // the same order of k either way, so the results are the same bits.

    private static void mul4Wide(float[] acc, float[][] w, int kp, float[] a, int o0, int o1, int o2, int o3) {
        for (int k = 0; k < kp; k += 2) {
            float[] w0 = w[k];
            float[] w1 = w[k + 1];
            float a00 = a[o0 + k];
            float a01 = a[o0 + k + 1];
            float a10 = a[o1 + k];
            float a11 = a[o1 + k + 1];
            float a20 = a[o2 + k];
            float a21 = a[o2 + k + 1];
            float a30 = a[o3 + k];
            float a31 = a[o3 + k + 1];
            for (int j = 0; j < TILE; j++) {
                float b0 = w0[j];
                float b1 = w1[j];
                acc[j] = Math.fma(a01, b1, Math.fma(a00, b0, acc[j]));
                acc[j + TILE] = Math.fma(a11, b1, Math.fma(a10, b0, acc[j + TILE]));
                acc[j + 2 * TILE] = Math.fma(a21, b1, Math.fma(a20, b0, acc[j + 2 * TILE]));
                acc[j + 3 * TILE] = Math.fma(a31, b1, Math.fma(a30, b0, acc[j + 3 * TILE]));
            }
        }
    }

    private static void mul4Narrow(float[] acc, float[][] w, int kp, float[] a, int o0, int o1, int o2, int o3) {
        for (int k = 0; k < kp; k += 2) {
            float[] w0 = w[k];
            float[] w1 = w[k + 1];
            float a00 = a[o0 + k];
            float a01 = a[o0 + k + 1];
            float a10 = a[o1 + k];
            float a11 = a[o1 + k + 1];
            float a20 = a[o2 + k];
            float a21 = a[o2 + k + 1];
            float a30 = a[o3 + k];
            float a31 = a[o3 + k + 1];
            for (int j = 0; j < NARROW; j++) {
                float b0 = w0[j];
                float b1 = w1[j];
                acc[j] = Math.fma(a01, b1, Math.fma(a00, b0, acc[j]));
                acc[j + TILE] = Math.fma(a11, b1, Math.fma(a10, b0, acc[j + TILE]));
                acc[j + 2 * TILE] = Math.fma(a21, b1, Math.fma(a20, b0, acc[j + 2 * TILE]));
                acc[j + 3 * TILE] = Math.fma(a31, b1, Math.fma(a30, b0, acc[j + 3 * TILE]));
            }
        }
    }

    private static void mul1Wide(float[] acc, float[][] w, int kp, float[] a, int o) {
        for (int k = 0; k < kp; k += 8) {
            float[] w0 = w[k];
            float[] w1 = w[k + 1];
            float[] w2 = w[k + 2];
            float[] w3 = w[k + 3];
            float[] w4 = w[k + 4];
            float[] w5 = w[k + 5];
            float[] w6 = w[k + 6];
            float[] w7 = w[k + 7];
            float a0 = a[o + k];
            float a1 = a[o + k + 1];
            float a2 = a[o + k + 2];
            float a3 = a[o + k + 3];
            float a4 = a[o + k + 4];
            float a5 = a[o + k + 5];
            float a6 = a[o + k + 6];
            float a7 = a[o + k + 7];
            for (int j = 0; j < TILE; j++) {
                acc[j] = Math.fma(a7, w7[j], Math.fma(a6, w6[j], Math.fma(a5, w5[j], Math.fma(a4, w4[j],
                        Math.fma(a3, w3[j], Math.fma(a2, w2[j], Math.fma(a1, w1[j], Math.fma(a0, w0[j], acc[j]))))))));
            }
        }
    }

    private static void mul1Narrow(float[] acc, float[][] w, int kp, float[] a, int o) {
        for (int k = 0; k < kp; k += 8) {
            float[] w0 = w[k];
            float[] w1 = w[k + 1];
            float[] w2 = w[k + 2];
            float[] w3 = w[k + 3];
            float[] w4 = w[k + 4];
            float[] w5 = w[k + 5];
            float[] w6 = w[k + 6];
            float[] w7 = w[k + 7];
            float a0 = a[o + k];
            float a1 = a[o + k + 1];
            float a2 = a[o + k + 2];
            float a3 = a[o + k + 3];
            float a4 = a[o + k + 4];
            float a5 = a[o + k + 5];
            float a6 = a[o + k + 6];
            float a7 = a[o + k + 7];
            for (int j = 0; j < NARROW; j++) {
                acc[j] = Math.fma(a7, w7[j], Math.fma(a6, w6[j], Math.fma(a5, w5[j], Math.fma(a4, w4[j],
                        Math.fma(a3, w3[j], Math.fma(a2, w2[j], Math.fma(a1, w1[j], Math.fma(a0, w0[j], acc[j]))))))));
            }
        }
    }
}
