package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;

import java.util.ArrayList;
import java.util.List;

/**
 * The LSTM kernel of the native runtime: one {@link Layer.Lstm} (all its directions) over a whole
 * batch of sequences, in float32, with ONNX semantics.
 *
 * <h2>What it computes</h2>
 * For each direction d, batch row b and time step t (x_t the input row, h and c the previous
 * states, h of size P when the layer has a projection, gates in canonical order i, f, g, o):
 * <pre>
 *   i  = f_act(clip(W_i x_t + R_i h + Wb_i + Rb_i + p_i * c))
 *   f  = f_act(clip(W_f x_t + R_f h + Wb_f + Rb_f + p_f * c))      (f = 1 - i with input_forget)
 *   g  = g_act(clip(W_g x_t + R_g h + Wb_g + Rb_g))
 *   c' = f * c + i * g
 *   o  = f_act(clip(W_o x_t + R_o h + Wb_o + Rb_o + p_o * c'))
 *   h' = o * h_act(c')                                               (h' = Proj h' when projected)
 * </pre>
 * {@code clip(v)} bounds v to [-clip, clip] when the layer has a clip (ONNX applies it to every
 * gate pre-activation, after the peephole term), f_act / g_act / h_act are the direction's three
 * {@link ActivationFn}s (sigmoid, tanh, tanh by default) and the peephole terms are absent when the
 * layer has none.
 * <ul>
 *   <li>The forward direction visits t = 0 .. L_b-1, the reverse direction t = L_b-1 .. 0, where
 *       L_b is row b's sequence length (T when no lengths are given). Rows stop at their own length:
 *       their outputs past it stay zero and their last states are those of step L_b-1 (forward) or
 *       step 0 (reverse). A padded batch therefore gives each row exactly what it gives alone.</li>
 *   <li>A row of length 0 runs no step: its carried state is its initial state (what streaming
 *       continues from); the layer's Y_h / Y_c outputs show zeros for it, as onnxruntime does.</li>
 *   <li>Initial states default to zero.</li>
 * </ul>
 *
 * <h2>How</h2>
 * At compile time the weights are laid out for the vectorised matrix kernels of
 * {@link PackedMatrix}: W^T [I, gates], R^T [hOut, gates] and Proj^T [H, P], each row of each column
 * tile its own array. The gate columns are reordered into groups of U = 32 hidden units, each group
 * holding its units' i, f, o and g columns side by side (H padded to a multiple of 32 with zero
 * columns), so that one row of matrix output holds every gate of its units; the two biases are
 * summed and reordered likewise. Per call, for each direction and block of batch rows:
 * <ol>
 *   <li>the input projections X W^T + Wb + Rb of a chunk of time steps (as many as fit in 1 MiB)
 *       are one matrix product, computed before those steps: they do not depend on the
 *       recurrence. Rows are gathered in step order, so reverse rows of any length need no special
 *       case;</li>
 *   <li>each step adds h R^T to the projected inputs of the rows still running, four rows at a
 *       time so that each R^T value loaded serves four rows (rows left over go one at a time), all
 *       column tiles of a group of rows before its element-wise maths;</li>
 *   <li>the element-wise maths of the default cell (sigmoid, tanh, tanh, no peephole, clip or
 *       coupled gates) converts the group's gates to double and applies {@link GateMath}'s
 *       vectorised sigmoid and tanh to all of them at once, then c' = f c + i g (rounded to float)
 *       and h' = o tanh(c'); any other cell runs the float equations above one unit at a time;</li>
 *   <li>h alternates between two buffers (the step reads one and writes the other), is projected
 *       when the layer has a projection, and is copied into Y at its layout position.</li>
 * </ol>
 * Sums are float32 fused multiply-adds in order of k, as in a sequential float sum up to rounding
 * (onnxruntime also accumulates in float32), and the activations match the float results of
 * {@link ActivationFn#apply} (see {@link GateMath}), so results agree with onnxruntime and the
 * reference to float rounding. A row's arithmetic is the same whichever rows it is grouped with.
 * <p>
 * Directions and batch rows never interact, so a call with enough work (see
 * {@code PARALLEL_WORK}) is split into pieces, one per direction and block of whole groups of four
 * rows, run by {@link Parallel}; pieces write disjoint parts of the outputs, and the results are the
 * same bit for bit as on one thread. Every piece allocates its buffers (projected inputs, gates, h,
 * c, the unprojected h, the active-row list) before its time loop; nothing is allocated inside it.
 * <p>
 * Instances hold only read-only prepared weights: one kernel may run on many threads at once.
 */
final class LstmKernel {
    private static final int TILE = PackedMatrix.TILE;
    /** Hidden units per column group: a group holds the gates of U consecutive units (4 U columns). */
    private static final int U = 32;
    private static final int GROUP = 4 * U;
    /** Size, in floats, that bounds one chunk of projected inputs (1 MiB: stays in L2). */
    private static final int CHUNK_FLOATS = 1 << 18;
    /** Multiply-adds of a call (steps * batch * directions * 4H * (I + hOut)) from which it is split over threads. */
    static final long PARALLEL_WORK = 1L << 22;

    private final int inputSize;
    private final int hidden;
    /** Width of h: P when projected, else H. */
    private final int hOut;
    private final int dirs;
    private final boolean batchMajor;
    private final boolean inputForget;
    private final float clip;
    private final boolean[] reverse;
    /** H rounded up to a multiple of U. */
    private final int hiddenPadded;
    /** Column groups of the gate matrices: hiddenPadded / U. */
    private final int groups;
    /** Gate columns: groups * GROUP. */
    private final int cols;
    /** Per group: the column tile holding it and its first column in that tile. */
    private final int[] groupTile;
    private final int[] groupOffset;
    /** Per direction: W^T [I, gates], gate columns grouped (see {@link #gateColumns}). */
    private final PackedMatrix[] w;
    /** Per direction: R^T [hOut, gates], same columns. */
    private final PackedMatrix[] r;
    /** Per direction: Wb + Rb, same columns. */
    private final float[][] bias;
    /** Per direction: peepholes [3H] (i, f, o) or null. */
    private final float[][] peep;
    /** Per direction: Proj^T [H, P] or null. */
    private final PackedMatrix[] proj;
    /** Per direction: whether the vectorised cell applies (sigmoid/tanh/tanh, no peephole, clip or coupling). */
    private final boolean[] fast;
    private final ActivationFn[] fAct;
    private final ActivationFn[] gAct;
    private final ActivationFn[] hAct;

    LstmKernel(Layer.Lstm layer) {
        LstmSpec spec = layer.spec();
        inputSize = spec.inputSize();
        hidden = spec.hiddenSize();
        hOut = spec.outputSize();
        dirs = spec.direction().count();
        batchMajor = spec.layout() == Layout.BATCH_MAJOR;
        inputForget = spec.inputForget();
        clip = spec.clip() == null ? Float.POSITIVE_INFINITY : spec.clip();
        hiddenPadded = PackedMatrix.roundUp(hidden, U);
        groups = hiddenPadded / U;
        cols = groups * GROUP;
        reverse = new boolean[dirs];
        w = new PackedMatrix[dirs];
        r = new PackedMatrix[dirs];
        bias = new float[dirs][];
        peep = new float[dirs][];
        proj = new PackedMatrix[dirs];
        fast = new boolean[dirs];
        fAct = new ActivationFn[dirs];
        gAct = new ActivationFn[dirs];
        hAct = new ActivationFn[dirs];
        int g4 = 4 * hidden;
        int[] colMap = gateColumns(hidden, groups);
        for (int d = 0; d < dirs; d++) {
            reverse[d] = spec.direction() == Direction.REVERSE || (spec.direction() == Direction.BIDIRECTIONAL && d == 1);
            LstmWeights lw = layer.weights().get(d);
            w[d] = PackedMatrix.ofTransposed(lw.w().toFloatArray(), inputSize, colMap);
            r[d] = PackedMatrix.ofTransposed(lw.r().toFloatArray(), hOut, colMap);
            float[] wb = lw.wb().toFloatArray();
            float[] rb = lw.rb().toFloatArray();
            float[] sum = new float[g4];
            for (int j = 0; j < g4; j++) {
                sum[j] = wb[j] + rb[j];
            }
            bias[d] = w[d].pack(sum);
            peep[d] = lw.peephole() == null ? null : lw.peephole().toFloatArray();
            proj[d] = lw.projection() == null ? null : PackedMatrix.ofTransposed(lw.projection().toFloatArray(), hOut, hidden);
            fAct[d] = spec.activations().get(3 * d);
            gAct[d] = spec.activations().get(3 * d + 1);
            hAct[d] = spec.activations().get(3 * d + 2);
            fast[d] = fAct[d].kind() == ActivationFn.Kind.SIGMOID && gAct[d].kind() == ActivationFn.Kind.TANH
                    && hAct[d].kind() == ActivationFn.Kind.TANH && peep[d] == null && spec.clip() == null && !inputForget;
        }
        groupTile = new int[groups];
        groupOffset = new int[groups];
        for (int g = 0, t = 0; g < groups; g++) {
            while (g * GROUP >= r[0].start(t) + r[0].width(t)) {
                t++;
            }
            groupTile[g] = t;
            groupOffset[g] = g * GROUP - r[0].start(t);
        }
    }

    /**
     * Column order of the packed gate matrices: group g holds units [g U, g U + U) as four runs of U
     * columns, gates i, f, o, g (the three sigmoid gates first); entry = canonical row (gate * H +
     * unit) of W / R / biases, or -1 for a unit past H (zero weights, never read back).
     */
    private static int[] gateColumns(int hidden, int groups) {
        int[] canonical = {0, 1, 3, 2}; // slot i, f, o, g -> canonical gate index (i, f, g, o)
        int[] map = new int[groups * GROUP];
        for (int c = 0; c < map.length; c++) {
            int unit = c / GROUP * U + c % U;
            map[c] = unit < hidden ? canonical[c % GROUP / U] * hidden + unit : -1;
        }
        return map;
    }

    int directions() {
        return dirs;
    }

    int inputSize() {
        return inputSize;
    }

    int hiddenSize() {
        return hidden;
    }

    /** Width of h (P when projected, else H). */
    int outputSize() {
        return hOut;
    }

    boolean batchMajor() {
        return batchMajor;
    }

    /** Outputs of one call. */
    static final class Result {
        /** Y in the layer's layout, or null when not requested. */
        final float[] y;
        /** Last h per direction and row, [D, B, hOut] (initial state for rows of length 0). */
        final float[] hLast;
        /** Last c per direction and row, [D, B, H] (initial state for rows of length 0). */
        final float[] cLast;

        Result(float[] y, float[] hLast, float[] cLast) {
            this.y = y;
            this.hLast = hLast;
            this.cLast = cLast;
        }
    }

    /**
     * Work buffers of one piece of a call: one direction and a block [b0, b0 + rows) of the batch
     * rows, which evolve independently of all others. Allocated before the time loop, never shared.
     * Internal buffers are indexed by the local row (b - b0).
     */
    private final class Work {
        final int d;
        final int b0;
        final int rows;
        /** The call's full batch size and time steps (for indexing X and Y) and all rows' lengths. */
        final int batch;
        final int steps;
        final int[] len;
        /** Steps whose input projections are computed at once, and the piece's longest row. */
        final int chunk;
        final int maxLen;
        /** Gathered input rows of one chunk, [chunk, rows, I padded to 8], zero past I. */
        final float[] xin;
        /** Their projections X W^T + Wb + Rb, [chunk, rows, cols]. */
        final float[] xw;
        /** h before / after each step, alternating, [rows, hOut padded to 8], zero past hOut. */
        final float[] h0;
        final float[] h1;
        /** c [rows, hiddenPadded]. */
        final float[] c;
        /** Unprojected h [rows, hiddenPadded] when the layer has a projection, else null. */
        final float[] hFull;
        /** Gate pre-activations of up to four rows, per tile [4, TILE] (one array per tile, see PackedMatrix). */
        final float[][] acc = new float[r[0].tileCount()][4 * TILE];
        /** The same rows' sigmoid gates (i, f, o per group) [4, 3 hiddenPadded], tanh gate g and tanh(c') [4, hiddenPadded], in double. */
        final double[] sg = new double[4 * 3 * hiddenPadded];
        final double[] tg = new double[4 * hiddenPadded];
        final double[] tc = new double[4 * hiddenPadded];
        /** Active local rows of the current step, their input-projection offsets and their time index. */
        final int[] act;
        final int[] xwRow;
        final int[] timeOf;

        Work(int d, int b0, int rows, int batch, int steps, int[] len) {
            this.d = d;
            this.b0 = b0;
            this.rows = rows;
            this.batch = batch;
            this.steps = steps;
            this.len = len;
            int longest = 0;
            for (int b = b0; b < b0 + rows; b++) {
                longest = Math.max(longest, len[b]);
            }
            maxLen = longest;
            int perStep = Math.multiplyExact(rows, cols);
            chunk = Math.max(1, Math.min(maxLen, CHUNK_FLOATS / Math.max(1, perStep)));
            xin = new float[Math.multiplyExact(Math.multiplyExact(chunk, rows), w[d].kPadded)];
            xw = new float[Math.multiplyExact(chunk, perStep)];
            int kp = r[d].kPadded;
            h0 = new float[Math.multiplyExact(rows, kp)];
            h1 = new float[rows * kp];
            c = new float[Math.multiplyExact(rows, hiddenPadded)];
            hFull = proj[d] != null ? new float[rows * hiddenPadded] : null;
            act = new int[rows];
            xwRow = new int[rows];
            timeOf = new int[rows];
        }
    }

    /**
     * Runs the layer. Arguments are checked by the caller.
     *
     * @param x    input, [T, B, I] time-major or [B, T, I] batch-major
     * @param lens per-row sequence lengths in [0, T], or null for all T
     * @param h0   initial h, [D, B, hOut], or null for zeros
     * @param c0   initial c, [D, B, H], or null for zeros
     * @param wantY whether to produce Y
     */
    Result run(float[] x, int steps, int batch, int[] lens, float[] h0, float[] c0, boolean wantY) {
        float[] y = wantY ? new float[Math.multiplyExact(Math.multiplyExact(steps, dirs), Math.multiplyExact(batch, hOut))] : null;
        float[] hLast = new float[dirs * batch * hOut];
        float[] cLast = new float[dirs * batch * hidden];
        if (h0 != null) {
            System.arraycopy(h0, 0, hLast, 0, hLast.length);
        }
        if (c0 != null) {
            System.arraycopy(c0, 0, cLast, 0, cLast.length);
        }
        int[] len = new int[batch];
        for (int b = 0; b < batch; b++) {
            len[b] = lens == null ? steps : lens[b];
        }
        // Directions and batch rows are independent: large calls are split into pieces that run
        // on several threads (blocks of whole groups of four rows). Pieces write disjoint parts of
        // y, hLast and cLast, and each row's arithmetic is the same in any piece, so the result
        // does not depend on the split.
        int blocks = 1;
        long work = (long) steps * batch * dirs * 4 * hidden * (inputSize + hOut);
        int threads = Parallel.threads();
        if (threads > 1 && work >= PARALLEL_WORK) {
            blocks = Math.max(1, Math.min((threads + dirs - 1) / dirs, batch / 4));
        }
        List<Runnable> pieces = new ArrayList<>(dirs * blocks);
        for (int d = 0; d < dirs; d++) {
            for (int k = 0; k < blocks; k++) {
                int from = batch / 4 * k / blocks * 4;
                int to = k == blocks - 1 ? batch : batch / 4 * (k + 1) / blocks * 4;
                int dir = d;
                if (to > from) {
                    pieces.add(() -> runPiece(new Work(dir, from, to - from, batch, steps, len), x, y, hLast, cLast));
                }
            }
        }
        Parallel.runAll(pieces);
        return new Result(y, hLast, cLast);
    }

    /** One direction over one block of rows: initial states in, time loop, last states out. */
    private void runPiece(Work wk, float[] x, float[] y, float[] hLast, float[] cLast) {
        int d = wk.d;
        int kp = r[d].kPadded;
        int base = d * wk.batch + wk.b0;
        for (int lb = 0; lb < wk.rows; lb++) {
            System.arraycopy(hLast, (base + lb) * hOut, wk.h0, lb * kp, hOut);
            System.arraycopy(cLast, (base + lb) * hidden, wk.c, lb * hiddenPadded, hidden);
        }
        timeLoop(d, x, wk, y);
        for (int lb = 0; lb < wk.rows; lb++) {
            // The row's last step (len - 1) wrote the h buffer of parity len (see step()); a row of
            // length 0 keeps its initial state.
            float[] hb = (wk.len[wk.b0 + lb] & 1) == 0 ? wk.h0 : wk.h1;
            System.arraycopy(hb, lb * kp, hLast, (base + lb) * hOut, hOut);
            System.arraycopy(wk.c, lb * hiddenPadded, cLast, (base + lb) * hidden, hidden);
        }
    }

    private void timeLoop(int d, float[] x, Work wk, float[] y) {
        int rows = wk.rows;
        int ip = w[d].kPadded;
        boolean rev = reverse[d];
        for (int s0 = 0; s0 < wk.maxLen; s0 += wk.chunk) {
            int s1 = Math.min(wk.maxLen, s0 + wk.chunk);
            // The input rows the chunk's steps visit, in step order (reverse rows run backwards from
            // their own length), projected by one GEMM: this does not depend on the recurrence.
            for (int s = s0; s < s1; s++) {
                for (int lb = 0; lb < rows; lb++) {
                    int b = wk.b0 + lb;
                    if (s < wk.len[b]) {
                        int t = rev ? wk.len[b] - 1 - s : s;
                        int src = (batchMajor ? b * wk.steps + t : t * wk.batch + b) * inputSize;
                        System.arraycopy(x, src, wk.xin, ((s - s0) * rows + lb) * ip, inputSize);
                    }
                }
            }
            w[d].multiply(wk.xin, (s1 - s0) * rows, ip, bias[d], wk.xw, cols, wk.acc[0]);
            for (int s = s0; s < s1; s++) {
                step(d, s, s0, wk, y);
            }
        }
    }

    /** One time step of all rows still running: reads h from buffer (s &amp; 1), writes the other. */
    private void step(int d, int s, int s0, Work wk, float[] y) {
        int kp = r[d].kPadded;
        float[] hCur = (s & 1) == 0 ? wk.h0 : wk.h1;
        float[] hNext = (s & 1) == 0 ? wk.h1 : wk.h0;
        int na = 0;
        for (int lb = 0; lb < wk.rows; lb++) {
            int len = wk.len[wk.b0 + lb];
            if (s < len) {
                wk.act[na] = lb;
                wk.xwRow[na] = ((s - s0) * wk.rows + lb) * cols;
                wk.timeOf[na] = reverse[d] ? len - 1 - s : s;
                na++;
            }
        }
        PackedMatrix pj = proj[d];
        float[] hDst = pj == null ? hNext : wk.hFull;
        int hStride = pj == null ? kp : hiddenPadded;
        PackedMatrix rm = r[d];
        int[] act = wk.act;
        // Rows in groups of four (each R^T value loaded serves four rows), the rest one by one;
        // for each group all gate tiles, then the element-wise maths over the whole group at once.
        for (int i = 0; i < na; ) {
            int n = na - i >= 4 ? 4 : 1;
            for (int t = 0; t < rm.tileCount(); t++) {
                float[] acc = wk.acc[t];
                int width = rm.width(t);
                for (int m = 0; m < n; m++) {
                    System.arraycopy(wk.xw, wk.xwRow[i + m] + rm.start(t), acc, m * TILE, width);
                }
                if (n == 4) {
                    PackedMatrix.mul4(acc, rm.tiles[t], kp, width, hCur, act[i] * kp, act[i + 1] * kp, act[i + 2] * kp, act[i + 3] * kp);
                } else {
                    PackedMatrix.mul1(acc, rm.tiles[t], kp, width, hCur, act[i] * kp);
                }
            }
            if (fast[d]) {
                cellFast(n, i, wk, hDst, hStride);
            } else {
                cellGeneric(d, n, i, wk, hDst, hStride);
            }
            i += n;
        }
        if (pj != null) {
            project(pj, na, wk, hNext, kp);
        }
        if (y != null) {
            for (int a = 0; a < na; a++) {
                int b = wk.b0 + act[a];
                int t = wk.timeOf[a];
                int yo = batchMajor ? ((b * wk.steps + t) * dirs + d) * hOut : ((t * dirs + d) * wk.batch + b) * hOut;
                System.arraycopy(hNext, act[a] * kp, y, yo, hOut);
            }
        }
    }

    /** hNext[b] = Proj hFull[b] for the step's active rows. */
    private void project(PackedMatrix pj, int na, Work wk, float[] hNext, int kp) {
        float[] acc = wk.acc[0];
        int[] act = wk.act;
        int hp = hiddenPadded;
        for (int t = 0; t < pj.tileCount(); t++) {
            int width = pj.width(t);
            int c0 = pj.start(t);
            int outWidth = Math.min(width, hOut - c0);
            int i = 0;
            for (; i + 4 <= na; i += 4) {
                java.util.Arrays.fill(acc, 0f);
                PackedMatrix.mul4(acc, pj.tiles[t], pj.kPadded, width, wk.hFull, act[i] * hp, act[i + 1] * hp, act[i + 2] * hp, act[i + 3] * hp);
                for (int m = 0; m < 4; m++) {
                    System.arraycopy(acc, m * TILE, hNext, act[i + m] * kp + c0, outWidth);
                }
            }
            for (; i < na; i++) {
                java.util.Arrays.fill(acc, 0, TILE, 0f);
                PackedMatrix.mul1(acc, pj.tiles[t], pj.kPadded, width, wk.hFull, act[i] * hp);
                System.arraycopy(acc, 0, hNext, act[i] * kp + c0, outWidth);
            }
        }
    }

    /**
     * Element-wise part of one step for the n (1 or 4) active rows act[i..i+n), whose gate
     * pre-activations are in {@code wk.acc} (per tile, rows at stride TILE, runs of U units in gate
     * order i, f, o, g): c updated in place, the new (unprojected) h written to {@code hDst} at row
     * stride {@code hStride}. Sigmoid / tanh / tanh without peephole, clip or coupling: activations
     * vectorised in double (GateMath), c' = f c + i g rounded to float once.
     */
    private void cellFast(int n, int i, Work wk, float[] hDst, int hStride) {
        int hp = hiddenPadded;
        float[] c = wk.c;
        double[] sg = wk.sg;
        double[] tg = wk.tg;
        double[] tc = wk.tc;
        for (int g = 0; g < groups; g++) {
            float[] acc = wk.acc[groupTile[g]];
            for (int m = 0; m < n; m++) {
                int a = m * TILE + groupOffset[g];
                int so = m * 3 * hp + g * 3 * U;
                for (int j = 0; j < 3 * U; j++) {
                    sg[so + j] = acc[a + j];
                }
                int go = m * hp + g * U;
                for (int j = 0; j < U; j++) {
                    tg[go + j] = acc[a + 3 * U + j];
                }
            }
        }
        GateMath.sigmoid(sg, 0, n * 3 * hp);
        GateMath.tanh(tg, 0, n * hp);
        for (int m = 0; m < n; m++) {
            int co = wk.act[i + m] * hp;
            for (int g = 0; g < groups; g++) {
                int nu = Math.min(U, hidden - g * U);
                int so = m * 3 * hp + g * 3 * U;
                int go = m * hp + g * U;
                int ct = co + g * U;
                for (int u = 0; u < nu; u++) {
                    float cn = (float) (sg[so + U + u] * c[ct + u] + sg[so + u] * tg[go + u]);
                    c[ct + u] = cn;
                    tc[go + u] = cn;
                }
            }
        }
        GateMath.tanh(tc, 0, n * hp);
        for (int m = 0; m < n; m++) {
            int ho = wk.act[i + m] * hStride;
            for (int g = 0; g < groups; g++) {
                int nu = Math.min(U, hidden - g * U);
                int so = m * 3 * hp + g * 3 * U + 2 * U;
                int go = m * hp + g * U;
                int ht = ho + g * U;
                for (int u = 0; u < nu; u++) {
                    hDst[ht + u] = (float) (sg[so + u] * tc[go + u]);
                }
            }
        }
    }

    /** As {@link #cellFast}, for any activations, peepholes, clip, coupled gates: float maths, one unit at a time. */
    private void cellGeneric(int d, int n, int i, Work wk, float[] hDst, int hStride) {
        float[] c = wk.c;
        float[] p = peep[d];
        ActivationFn fa = fAct[d];
        ActivationFn ga = gAct[d];
        ActivationFn ha = hAct[d];
        for (int g = 0; g < groups; g++) {
            float[] acc = wk.acc[groupTile[g]];
            int nu = Math.min(U, hidden - g * U);
            for (int m = 0; m < n; m++) {
                int a = m * TILE + groupOffset[g];
                int co = wk.act[i + m] * hiddenPadded + g * U;
                int ho = wk.act[i + m] * hStride + g * U;
                for (int u = 0; u < nu; u++) {
                    int unit = g * U + u;
                    float cp = c[co + u];
                    float gi = acc[a + u];
                    float gf = acc[a + U + u];
                    float go = acc[a + 2 * U + u];
                    float gg = acc[a + 3 * U + u];
                    if (p != null) {
                        gi += p[unit] * cp;
                        gf += p[hidden + unit] * cp;
                    }
                    gi = fa.apply(clip(gi));
                    gf = inputForget ? 1f - gi : fa.apply(clip(gf));
                    gg = ga.apply(clip(gg));
                    float cn = gf * cp + gi * gg;
                    c[co + u] = cn;
                    if (p != null) {
                        go += p[2 * hidden + unit] * cn;
                    }
                    go = fa.apply(clip(go));
                    hDst[ho + u] = go * ha.apply(cn);
                }
            }
        }
    }

    private float clip(float v) {
        return v > clip ? clip : (v < -clip ? -clip : v);
    }
}
