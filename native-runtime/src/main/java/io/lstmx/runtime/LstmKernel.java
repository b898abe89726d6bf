package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Layer;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;

/**
 * The LSTM kernel of the native runtime: one {@link Layer.Lstm} (all its directions) over a whole
 * batch of sequences, in float32, with ONNX semantics. Directions, layouts, sequence lengths,
 * initial states, the input projection, Y and the split over threads are {@link RecurrentKernel}'s.
 *
 * <h2>What it computes</h2>
 * For each direction d, batch row b and time step t (x_t the input row, h and c the previous
 * states, h of size P when the layer has a projection, gates in canonical order i, f, g, o):
 * <pre>
 *   i  = f_act(clip(W_i x_t + R_i h + Wb_i + Rb_i + p_i * c))
 *   f  = f_act(clip(W_f x_t + R_f h + Wb_f + Rb_f + forgetBias + p_f * c))   (f = 1 - i with input_forget)
 *   g  = g_act(clip(W_g x_t + R_g h + Wb_g + Rb_g))
 *   c' = cellClip(f * c + i * g)
 *   o  = f_act(clip(W_o x_t + R_o h + Wb_o + Rb_o + p_o * c'))
 *   h' = o * h_act(c')                                               (h' = Proj h' when projected)
 * </pre>
 * {@code clip(v)} bounds v to [-clip, clip] when the layer has a clip (ONNX applies it to every
 * gate pre-activation, after the peephole term); {@code cellClip(v)} bounds the new cell state to
 * [-cellClip, cellClip] when the layer has a cell clip (TensorFlow's cell_clip), and is the
 * identity otherwise; forgetBias is 0 unless the layer has one. f_act / g_act / h_act are the direction's three
 * {@link ActivationFn}s (sigmoid, tanh, tanh by default) and the peephole terms are absent when the
 * layer has none. c is carried beside h as the cell state (rows of length 0 keep their initial c).
 *
 * <h2>How</h2>
 * At compile time the weights are laid out for the vectorised matrix kernels of
 * {@link PackedMatrix}: W^T [I, gates], R^T [hOut, gates] and Proj^T [H, P], each row of each column
 * tile its own array. The gate columns are reordered into groups of U = 32 hidden units, each group
 * holding its units' i, f, o and g columns side by side (H padded to a multiple of 32 with zero
 * columns), so that one row of matrix output holds every gate of its units; the two biases are
 * summed (the forget bias added to Wb_f first, as an exporter folding it into Wb writes it, so
 * both give the same bits) and reordered likewise and added to the input projection X W^T. Each step:
 * <ol>
 *   <li>adds h R^T to the projected inputs of the rows still running, four rows at a time so that
 *       each R^T value loaded serves four rows (two or three rows left over go together on the
 *       Vector API kernels, one at a time otherwise), all column tiles of a group of rows before
 *       its element-wise maths;</li>
 *   <li>the element-wise maths of the default cell (sigmoid, tanh, tanh, no peephole, clip or
 *       coupled gates) converts the group's gates to double and applies {@link GateMath}'s
 *       vectorised sigmoid and tanh to all of them at once, then c' = f c + i g (rounded to float,
 *       then clipped with a cell clip) and h' = o tanh(c'); any other cell runs the float
 *       equations above one unit at a time;</li>
 *   <li>h is projected when the layer has a projection.</li>
 * </ol>
 * Sums are float32 fused multiply-adds in order of k, as in a sequential float sum up to rounding
 * (onnxruntime also accumulates in float32), and the activations match the float results of
 * {@link ActivationFn#apply} (see {@link GateMath}), so results agree with onnxruntime and the
 * reference to float rounding. A row's arithmetic is the same whichever rows it is grouped with.
 * Every piece allocates its buffers (projected inputs, gates, h, c, the unprojected h, the
 * active-row list) before its time loop; nothing is allocated inside it.
 *
 * <h2>Step team</h2>
 * All of the above works on a {@link Slice}: the gate columns of a range of unit groups, with its
 * own W^T and R^T. A plain piece uses the whole layer as one slice. A single piece with idle cores
 * (see {@link RecurrentKernel#runTeam}) is run by a {@link StepTeam} whose participants each take
 * one slice of direction 0 ({@link #teamParts}, packed on first use and kept), so that each core
 * streams only its part of R per step. Without a projection a unit's gates, c and h depend only on
 * the full previous h and its own columns, so one barrier per step suffices; layers with a
 * projection are not split.
 * <p>
 * On the Vector API kernels the participants claim the step's work group by group
 * ({@link #recurClaimed}): each first claims the groups of its own slice (whose R^T it keeps in its
 * cache), then helps with the groups the others have not claimed yet. With fixed slices every
 * step waited for the slower participant, and which one is slower changes from step to step
 * (the two cores share L3 bandwidth; another process takes a core for a while): at H = 512,
 * batch 1, the participants spent 4-8 us of each 37 us step waiting at the barrier; claimed,
 * 3 us, both doing the same amount of work. A group is computed the same way by whoever claims
 * it, so the bits do not depend on the claims.
 * <p>
 * At batch 1, where a step streams R and leaves the multiply-add units mostly idle, a team's
 * steps also compute later steps' input projections ({@link #projectsAhead}): each chunk
 * projects its first 8 rows before its steps, and while the steps of rows [8 j, 8 j + 8) run,
 * each group's step adds a share of rows [8 j + 8, 8 j + 16) (the fused kernel
 * {@link VectorKernels#stepAndProject8}). The projected values are the same bits as when the
 * chunk is projected at once.
 */
final class LstmKernel extends RecurrentKernel<LstmKernel.LstmWork> {
    /** Hidden units per column group: a group holds the gates of U consecutive units (4 U columns). */
    private static final int U = 32;
    private static final int GROUP = 4 * U;
    /** Rows whose step products run panel by panel together (see {@link #recur}); the accumulators' capacity. */
    static final int BLOCK_ROWS = 16;
    /**
     * Bytes of R^T from which rows are blocked: below it R^T stays in L2 between groups of four
     * anyway, and the blocks' extra calls cost more than they save (H = 256, batch 32: 1 MiB of R^T).
     */
    static final long BLOCK_MIN_BYTES = 2L << 20;

    /** Whether steps of 8 or more rows run in blocks over R^T (panels, and more than {@link #BLOCK_MIN_BYTES} of it). */
    static boolean blocksRows(PackedMatrix r) {
        return r.panelled() && (long) r.kPadded * r.cols * Float.BYTES > BLOCK_MIN_BYTES;
    }

    private final int hidden;
    private final boolean inputForget;
    private final float clip;
    /** The cell clip, +infinity when the layer has none (then clipping is skipped, see {@link #cellClipped}). */
    private final float cellClip;
    private final boolean cellClipped;
    /** H rounded up to a multiple of U. */
    private final int hiddenPadded;
    /** Column groups of the gate matrices: hiddenPadded / U. */
    private final int groups;
    /** Per direction: R^T [hOut, gates], gate columns grouped (see {@link #gateColumns}); W^T (in {@link #w}) likewise. */
    private final PackedMatrix[] r;
    /** Per direction: peepholes [3H] (i, f, o) or null. */
    private final float[][] peep;
    /** Per direction: Proj^T [H, P] or null. */
    private final PackedMatrix[] proj;
    /** Per direction: whether the vectorised cell applies (sigmoid/tanh/tanh, no peephole, clip or coupling). */
    private final boolean[] fast;
    private final ActivationFn[] fAct;
    private final ActivationFn[] gAct;
    private final ActivationFn[] hAct;
    /** The layer (its weights are packed again, by slices, the first time a step team runs it). */
    private final Layer.Lstm layer;
    /** Per direction: Wb + Rb (+ forget bias), canonical order. */
    private final float[][] biasSum;
    /** Per direction: all columns as one slice. */
    private final Slice[] full;
    /** Per team size: the slices of direction 0, packed on first use. */
    private final Slice[][] teamSlices = new Slice[65][];

    /**
     * Per-step multiply-adds of h R^T (rows x 4H x hOut) from which a single piece is split over a
     * step team (property {@code lstmx.teamStepWork}): below it the barrier costs more than it saves.
     */
    static final long TEAM_STEP_WORK = Long.getLong("lstmx.teamStepWork", 1L << 16);

    /**
     * The gate columns of hidden-unit groups [g0, g1): W^T and R^T of those columns, the bias, and
     * where each group sits in R^T's column tiles. The whole layer is one slice; a step team gives
     * each participant one slice, with its own packed copy of its columns.
     */
    static final class Slice extends Part {
        final PackedMatrix r;
        final int g0;
        final int g1;
        /** Per local group (g - g0): the column tile holding it and its first column in that tile. */
        final int[] groupTile;
        final int[] groupOffset;
        /**
         * W^T of this slice in half panels ({@link PackedMatrix#halfPanels}) when a batch-1 team
         * step projects later inputs as it goes ({@link #projectsAhead}), else null.
         */
        float[] wHalf;

        Slice(PackedMatrix w, float[] bias, PackedMatrix r, int g0, int g1, int u0, int u1, boolean whole) {
            super(w, bias, (g1 - g0) * GROUP, u0, u1, whole);
            this.r = r;
            this.g0 = g0;
            this.g1 = g1;
            int n = g1 - g0;
            groupTile = new int[n];
            groupOffset = new int[n];
            for (int g = 0, t = 0; g < n; g++) {
                while (g * GROUP >= r.start(t) + r.width(t)) {
                    t++;
                }
                groupTile[g] = t;
                groupOffset[g] = g * GROUP - r.start(t);
            }
        }
    }

    LstmKernel(Layer.Lstm layer) {
        super(layer.spec().inputSize(), layer.spec().outputSize(), layer.spec().direction(), layer.spec().layout(),
                PackedMatrix.roundUp(layer.spec().hiddenSize(), U) / U * GROUP, 4L * layer.spec().hiddenSize());
        LstmSpec spec = layer.spec();
        hidden = spec.hiddenSize();
        inputForget = spec.inputForget();
        clip = spec.clip() == null ? Float.POSITIVE_INFINITY : spec.clip();
        cellClipped = spec.cellClip() != null;
        cellClip = cellClipped ? spec.cellClip() : Float.POSITIVE_INFINITY;
        hiddenPadded = PackedMatrix.roundUp(hidden, U);
        groups = hiddenPadded / U;
        r = new PackedMatrix[dirs];
        peep = new float[dirs][];
        proj = new PackedMatrix[dirs];
        fast = new boolean[dirs];
        fAct = new ActivationFn[dirs];
        gAct = new ActivationFn[dirs];
        hAct = new ActivationFn[dirs];
        this.layer = layer;
        biasSum = new float[dirs][];
        full = new Slice[dirs];
        int g4 = 4 * hidden;
        int[] colMap = gateColumns(hidden, groups);
        for (int d = 0; d < dirs; d++) {
            LstmWeights lw = layer.weights().get(d);
            w[d] = PackedMatrix.ofTransposed(lw.w().toFloatArray(), inputSize, colMap, vector);
            r[d] = PackedMatrix.ofTransposed(lw.r().toFloatArray(), hOut, colMap, vector);
            float[] wb = lw.wb().toFloatArray();
            float[] rb = lw.rb().toFloatArray();
            if (spec.forgetBias() != 0) {
                // (Wb_f + forgetBias) + Rb_f: the order of an exported model with the bias folded into Wb
                for (int j = hidden; j < 2 * hidden; j++) {
                    wb[j] += spec.forgetBias();
                }
            }
            float[] sum = new float[g4];
            for (int j = 0; j < g4; j++) {
                sum[j] = wb[j] + rb[j];
            }
            xwBias[d] = w[d].pack(sum);
            biasSum[d] = sum;
            peep[d] = lw.peephole() == null ? null : lw.peephole().toFloatArray();
            proj[d] = lw.projection() == null ? null : PackedMatrix.ofTransposed(lw.projection().toFloatArray(), hOut, hidden, vector);
            fAct[d] = spec.activations().get(3 * d);
            gAct[d] = spec.activations().get(3 * d + 1);
            hAct[d] = spec.activations().get(3 * d + 2);
            fast[d] = fAct[d].kind() == ActivationFn.Kind.SIGMOID && gAct[d].kind() == ActivationFn.Kind.TANH
                    && hAct[d].kind() == ActivationFn.Kind.TANH && peep[d] == null && spec.clip() == null && !inputForget;
        }
        for (int d = 0; d < dirs; d++) {
            full[d] = new Slice(w[d], xwBias[d], r[d], 0, groups, 0, hOut, true);
        }
    }

    @Override
    Part fullPart(int d) {
        return full[d];
    }

    /**
     * Slices of direction 0 for a step team of up to {@code parts} participants: whole groups of
     * U units, as even as they come; null with a projection (h would need a second exchange per
     * step), fewer than two groups, or too little work per step.
     */
    @Override
    Part[] teamParts(int parts, int rows) {
        int n = Math.min(parts, groups);
        if (proj[0] != null || n < 2 || (long) rows * 4 * hidden * hOut < TEAM_STEP_WORK) {
            return null;
        }
        synchronized (teamSlices) {
            Slice[] sl = teamSlices[n];
            if (sl == null) {
                sl = new Slice[n];
                LstmWeights lw = layer.weights().get(0);
                float[] wf = lw.w().toFloatArray();
                float[] rf = lw.r().toFloatArray();
                int[] colMap = gateColumns(hidden, groups);
                for (int p = 0; p < n; p++) {
                    int g0 = groups * p / n;
                    int g1 = groups * (p + 1) / n;
                    int[] sub = java.util.Arrays.copyOfRange(colMap, g0 * GROUP, g1 * GROUP);
                    PackedMatrix ws = PackedMatrix.ofTransposed(wf, inputSize, sub, vector);
                    PackedMatrix rs = PackedMatrix.ofTransposed(rf, hOut, sub, vector);
                    sl[p] = new Slice(ws, ws.pack(biasSum[0]), rs, g0, g1, g0 * U, Math.min(g1 * U, hidden), false);
                    long rBytes = (long) rs.kPadded * rs.cols * Float.BYTES;
                    long wBytes = (long) ws.kPadded * ws.cols * Float.BYTES;
                    // the fused kernel takes R and W of one padded depth (I and H round up to the same multiple of 8)
                    // (panels exist only with the Vector API module, so VectorKernels is loaded only then)
                    if (fast[0] && rs.panelled() && ws.panelled() && (!VectorKernels.FEW_REGISTERS || fuseOnFewRegisters)
                            && rs.kPadded == ws.kPadded && rBytes >= fuseMinBytes
                            && rBytes + wBytes <= fuseMaxBytes) {
                        sl[p].wHalf = ws.halfPanels();
                    }
                }
                teamSlices[n] = sl;
            }
            return sl;
        }
    }

    /**
     * Bytes of a team slice's R^T from which batch-1 team steps also compute later steps' input
     * projections ({@link #projectsAhead}; property {@code lstmx.fuseMinBytes}, default 256 KiB):
     * with less, a step's product is too short for the projection's share (H = 256, 512 KiB per
     * slice, gained 6% from it; the step there reads R from L2 with three-quarters of the
     * multiply-add units idle). Tests lower it.
     */
    static volatile long fuseMinBytes = Long.getLong("lstmx.fuseMinBytes", 256L << 10);

    /**
     * Bytes of a team slice's R^T and W^T together up to which its steps project ahead (property
     * {@code lstmx.fuseMaxBytes}, default 4 MiB): the steps then touch R and the half panels of W
     * in turn, and both must stay in L3 between steps. At H = 1024 (8 + 8 MiB per slice, the
     * 32 MiB L3 here filled by the two slices) R came from memory: the steps took 5.0 ms per call
     * instead of 3.05 ms, for 0.7 ms of projection saved.
     */
    static volatile long fuseMaxBytes = Long.getLong("lstmx.fuseMaxBytes", 4L << 20);

    /**
     * Whether batch-1 team steps project ahead on a CPU with 16 vector registers too (property
     * {@code lstmx.fuseOnFewRegisters}; tests set it): by default they do not, as the fused kernel's
     * 20 accumulators need 32 (with 16, C2 spills them on every k, and on an AVX2 EPYC the JIT at
     * times left the kernel to the Vector API's boxed fallback: calls of 1.9 ms took 21).
     */
    static volatile boolean fuseOnFewRegisters = Boolean.getBoolean("lstmx.fuseOnFewRegisters");

    /** Rows of inputs projected per block while the steps of the previous block run (see {@link VectorKernels#stepAndProject8}). */
    static final int AHEAD = 8;

    /**
     * A batch-1 team slice with {@link Slice#wHalf} projects the first {@link #AHEAD} rows of each
     * chunk before its steps; then, while the steps of rows [j A, j A + A) stream R, each group's
     * step also computes a share of rows [j A + A, j A + 2 A): step phase p (0..A-1) of the block
     * covers, for each of the group's R panels, a quarter of I of one half panel of W (the group's
     * half panels times I, in A equal shares), so that a block's A steps project all the group's
     * columns for the next A rows. The input projection, bound by multiply-adds, then runs inside
     * steps bound by streaming R from L3 (at H = 512 and 1024, about 25% of a batch-1 call when
     * done apart).
     */
    @Override
    int projectsAhead(Part part, int rows) {
        return rows == 1 && part instanceof Slice sl && sl.wHalf != null ? AHEAD : 0;
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

    int hiddenSize() {
        return hidden;
    }

    @Override
    int cellWidth() {
        return hidden;
    }

    /** The LSTM's own buffers beside {@link RecurrentKernel.Work}'s (acc: the tiles of R^T). */
    static final class LstmWork extends Work {
        /** c [rows, hiddenPadded]. */
        final float[] c;
        /** Unprojected h [rows, hiddenPadded] when the layer has a projection, else null. */
        final float[] hFull;
        /**
         * The same rows' sigmoid gates (i, f, o per group) [4, 3 hiddenPadded], tanh gate g and tanh(c')
         * [4, hiddenPadded], in double; null unless the double cell runs (see {@link LstmKernel#cellFast}).
         */
        final double[] sg;
        final double[] tg;
        final double[] tc;
        /** Scratch of the Vector API cell (5 U floats). */
        final float[] vtmp = new float[5 * U];

        LstmWork(LstmKernel k, Slice sl, int d, int b0, int rows, int batch, int steps, int[] len, float[] hA, float[] hB) {
            super(k, sl, d, b0, rows, batch, steps, len, sl.r.tileCount(), rows >= 8 && blocksRows(sl.r) ? BLOCK_ROWS : 4, hA, hB);
            int hp = k.hiddenPadded;
            int hs = (sl.g1 - sl.g0) * U;
            c = new float[Math.multiplyExact(rows, hp)];
            hFull = k.proj[d] != null ? new float[Math.multiplyExact(rows, hp)] : null;
            // only the double cell (cellFast without the Vector API) uses these: not allocated per call otherwise
            boolean doubles = k.fast[d] && !k.vector;
            sg = doubles ? new double[Math.multiplyExact(4 * 3, hs)] : null;
            tg = doubles ? new double[4 * hs] : null;
            tc = doubles ? new double[4 * hs] : null;
        }
    }

    @Override
    LstmWork newWork(int d, int b0, int rows, int batch, int steps, int[] len) {
        return new LstmWork(this, full[d], d, b0, rows, batch, steps, len, null, null);
    }

    @Override
    LstmWork newPartWork(Part part, int d, int b0, int rows, int batch, int steps, int[] len, float[] hA, float[] hB) {
        return new LstmWork(this, (Slice) part, d, b0, rows, batch, steps, len, hA, hB);
    }

    @Override
    void loadCell(LstmWork wk, float[] cLast, int base) {
        for (int lb = 0; lb < wk.rows; lb++) {
            System.arraycopy(cLast, (base + lb) * hidden, wk.c, lb * hiddenPadded, hidden);
        }
    }

    @Override
    void storeCell(LstmWork wk, float[] cLast, int base) {
        // a team participant stores only its own units
        int u0 = wk.part.whole ? 0 : wk.part.u0;
        int nu = wk.part.whole ? hidden : wk.part.u1 - u0;
        for (int lb = 0; lb < wk.rows; lb++) {
            System.arraycopy(wk.c, lb * hiddenPadded + u0, cLast, (base + lb) * hidden + u0, nu);
        }
    }

    /** One time step of the running rows (see {@link RecurrentKernel#recur}). */
    @Override
    void recur(LstmWork wk, int na, float[] hCur, float[] hNext) {
        if (wk.claims != null) {
            recurClaimed(wk, na, hCur, hNext);
            return;
        }
        int d = wk.d;
        Slice sl = (Slice) wk.part;
        PackedMatrix rm = sl.r;
        int kp = rm.kPadded;
        PackedMatrix pj = proj[d];
        float[] hDst = pj == null ? hNext : wk.hFull;
        int dstStride = pj == null ? kp : hiddenPadded;
        int[] act = wk.act;
        boolean blockRows = blocksRows(rm);
        // Rows in groups of four (each R^T value loaded serves four rows), the rest one by one;
        // for each group all gate tiles, then the element-wise maths over the whole group at once.
        for (int i = 0; i < na; ) {
            if (blockRows && na - i >= 8) {
                // Up to four groups at once, panel by panel: R^T is read from L3 or memory once per
                // block of up to 16 rows instead of once per four (at batch 32 and H = 1536 R is 36 MiB).
                int groups4 = Math.min(BLOCK_ROWS, na - i) / 4;
                for (int t = 0; t < rm.tileCount(); t++) {
                    float[] acc = wk.acc[t];
                    int width = rm.width(t);
                    for (int m = 0; m < 4 * groups4; m++) {
                        System.arraycopy(wk.xw, wk.xwRow[i + m] + rm.start(t), acc, m * TILE, width);
                    }
                    for (int q = 0; q < width / VectorKernels.PANEL; q += PackedMatrix.PANELS_AT_ONCE) {
                        for (int b = 0; b < groups4; b++) {
                            int r0 = i + 4 * b;
                            rm.mul4Panel(t, q, acc, 4 * b * TILE, hCur, act[r0] * kp, act[r0 + 1] * kp, act[r0 + 2] * kp, act[r0 + 3] * kp);
                        }
                    }
                }
                for (int b = 0; b < groups4; b++) {
                    cell(sl, d, 4, i + 4 * b, 4 * b, wk, hDst, dstStride);
                }
                i += 4 * groups4;
                continue;
            }
            int n = rm.rowsAtOnce(na - i);
            for (int t = 0; t < rm.tileCount(); t++) {
                float[] acc = wk.acc[t];
                int width = rm.width(t);
                for (int m = 0; m < n; m++) {
                    System.arraycopy(wk.xw, wk.xwRow[i + m] + rm.start(t), acc, m * TILE, width);
                }
                rm.mulRows(t, n, acc, hCur, act, i, kp);
            }
            cell(sl, d, n, i, 0, wk, hDst, dstStride);
            i += n;
        }
        if (pj != null) {
            project(pj, na, wk, hNext, kp);
        }
    }

    /** Whether team steps are claimed group by group (property {@code lstmx.teamClaims}, default true). */
    static final boolean CLAIMS = !"false".equals(System.getProperty("lstmx.teamClaims"));

    /**
     * For tests: participant p starts claiming with participant (p + claimShift)'s groups, so that
     * with a shift of 1 or more every group is computed by a participant other than its owner. 0
     * (each starts with its own groups, which stay in its core's cache) otherwise.
     */
    static volatile int claimShift;

    /** Team steps are claimed group by group on the Vector API kernels (the C2 kernels need whole tiles). */
    @Override
    boolean claimsSteps(Part[] parts) {
        return CLAIMS && ((Slice) parts[0]).r.panelled();
    }

    /**
     * One step of a team participant when the team claims its steps' work (see
     * {@link RecurrentKernel#claimsSteps}): the participant claims its own slice's unit groups one
     * at a time, then those the others have not claimed yet, so that a participant whose core is
     * slower this step (another process, a cache miss storm) costs the step the time of at most
     * one group rather than the rest of its slice. A claimed group is computed exactly as its
     * owner computes it (the owner's R^T columns, projected inputs and cell state, the same sums
     * in the same order), so the result does not depend on who claims what.
     */
    private void recurClaimed(LstmWork wk, int na, float[] hCur, float[] hNext) {
        Work[] team = wk.team;
        int parts = team.length;
        int p = wk.participant;
        int parity = wk.step & 1;
        int first = p + claimShift;
        for (int v = 0; v < parts; v++) {
            int q = (first + v) % parts;
            LstmWork owner = (LstmWork) team[q];
            int slot = claimSlot(parity, q, parts);
            int ng = ((Slice) owner.part).g1 - ((Slice) owner.part).g0;
            int l;
            while ((l = wk.claims.getAndIncrement(slot)) < ng) {
                groupStep(wk, owner, l, na, hCur, hNext);
            }
        }
    }

    /**
     * Local group l of the owner's slice for the step's na running rows (the owner's act list, the
     * same for every participant), with {@code wk}'s scratch: the group's columns of the projected
     * inputs plus h R^T, four rows at a time then the two, three or one left together (a padded batch's
     * last steps), then the group's cell maths.
     */
    private void groupStep(LstmWork wk, LstmWork owner, int l, int na, float[] hCur, float[] hNext) {
        Slice sl = (Slice) owner.part;
        PackedMatrix rm = sl.r;
        int kp = rm.kPadded;
        int t = sl.groupTile[l];
        int off = sl.groupOffset[l];
        int col = rm.start(t) + off;
        int g = sl.g0 + l;
        int d = owner.d;
        float[] acc = wk.acc[0];
        int[] act = wk.act;
        int cols = owner.part.cols;
        int myCols = wk.part.cols;
        for (int i = 0; i < na; ) {
            int n = Math.min(4, na - i);
            for (int m = 0; m < n; m++) {
                // the same row of the owner's projected inputs (rows are stored [step in chunk, row, cols])
                int xo = wk.xwRow[i + m] / myCols * cols + col;
                System.arraycopy(owner.xw, xo, acc, m * TILE + off, GROUP);
            }
            int o0 = act[i] * kp;
            if (n == 1 && owner.projecting && (wk.step - wk.chunkStart) / AHEAD * AHEAD + AHEAD < wk.chunkLen) {
                stepAndProject(sl, owner, l, t, off, acc, hCur, o0, wk.step - wk.chunkStart);
            } else {
                rm.mulColumns(t, off, off + GROUP, n, acc, hCur, o0, n > 1 ? act[i + 1] * kp : 0, n > 2 ? act[i + 2] * kp : 0,
                        n > 3 ? act[i + 3] * kp : 0);
            }
            if (fast[d]) {
                int nu = Math.min(U, hidden - g * U);
                for (int m = 0; m < n; m++) {
                    VectorKernels.lstmCell(acc, m * TILE + off, U, nu, owner.c, act[i + m] * hiddenPadded + g * U, hNext,
                            act[i + m] * kp + g * U, cellClipped, cellClip, wk.vtmp);
                }
            } else {
                cellGenericGroup(d, g, n, i, act, acc, off, owner.c, hNext, kp);
            }
            i += n;
        }
    }

    /**
     * Local group l's product h R^T for the single row (as {@code mulColumns} does) together with
     * its share of the next block's input projections (see {@link #projectsAhead}), at step i of
     * the chunk: the owner's next A rows of gathered inputs times a quarter of I of one of the
     * group's half panels of W, per R panel, into the owner's projected inputs (from the bias at
     * a half panel's first k). Phase i mod A of the block takes the shares in order, so each
     * projected value is the same chain in order of k as the projection done at once.
     */
    private static void stepAndProject(Slice sl, LstmWork owner, int l, int t, int off, float[] acc, float[] h, int ho, int i) {
        PackedMatrix rm = sl.r;
        int pw = VectorKernels.PANEL;
        int hw = pw / 2;
        int kpW = sl.w.kPadded;
        int share = kpW / 4;
        int rPanels = GROUP / pw;
        int phase = i % AHEAD;
        int next = i - phase + AHEAD; // first row of the next block, in the chunk
        int cols = sl.cols;
        float[] x = owner.xin;
        for (int q = 0; q < rPanels; q++) {
            int lin = (phase * rPanels + q) * share; // in (half panel of the group, k) order
            int hh = lin / kpW;
            int k0 = lin % kpW;
            int col = l * GROUP + hh * hw; // packed column of the half panel
            VectorKernels.stepAndProject8(acc, off + q * pw, rm.panels[t], (off / pw + q) * rm.kPadded * pw, rm.kPadded, h, ho,
                    sl.wHalf, (col / hw * kpW + k0) * hw, x, next * kpW + k0, kpW, owner.xw, next * cols + col, cols,
                    k0 == 0 ? sl.bias : null, col);
        }
    }

    /** The element-wise part of a step for rows act[i..i+n) whose gates sit at accumulator row rb: {@link #cellFast} or {@link #cellGeneric}. */
    private void cell(Slice sl, int d, int n, int i, int rb, LstmWork wk, float[] hDst, int hStride) {
        if (fast[d]) {
            cellFast(sl, n, i, rb, wk, hDst, hStride);
        } else {
            cellGeneric(sl, d, n, i, rb, wk, hDst, hStride);
        }
    }

    /** hNext[b] = Proj hFull[b] for the step's active rows. */
    private void project(PackedMatrix pj, int na, LstmWork wk, float[] hNext, int kp) {
        float[] acc = wk.acc[0];
        int[] act = wk.act;
        int hp = hiddenPadded;
        for (int t = 0; t < pj.tileCount(); t++) {
            int width = pj.width(t);
            int c0 = pj.start(t);
            int outWidth = Math.min(width, hOut - c0);
            for (int i = 0; i < na; ) {
                int n = pj.rowsAtOnce(na - i);
                java.util.Arrays.fill(acc, 0, n * TILE, 0f);
                pj.mulRows(t, n, acc, wk.hFull, act, i, hp);
                for (int m = 0; m < n; m++) {
                    System.arraycopy(acc, m * TILE, hNext, act[i + m] * kp + c0, outWidth);
                }
                i += n;
            }
        }
    }

    /**
     * Element-wise part of one step for the n (1 or 4) active rows act[i..i+n), whose gate
     * pre-activations are in {@code wk.acc} (per tile, rows at stride TILE, runs of U units in gate
     * order i, f, o, g): c updated in place, the new (unprojected) h written to {@code hDst} at row
     * stride {@code hStride}. Sigmoid / tanh / tanh without peephole, clip or coupling: activations
     * vectorised in double (GateMath), c' = f c + i g rounded to float once (then cell-clipped).
     */
    private void cellFast(Slice sl, int n, int i, int rb, LstmWork wk, float[] hDst, int hStride) {
        int hp = hiddenPadded;
        if (vector) {
            for (int m = 0; m < n; m++) {
                int co = wk.act[i + m] * hp;
                int ho = wk.act[i + m] * hStride;
                for (int l = 0; l < sl.g1 - sl.g0; l++) {
                    int g = sl.g0 + l;
                    VectorKernels.lstmCell(wk.acc[sl.groupTile[l]], (rb + m) * TILE + sl.groupOffset[l], U, Math.min(U, hidden - g * U),
                            wk.c, co + g * U, hDst, ho + g * U, cellClipped, cellClip, wk.vtmp);
                }
            }
            return;
        }
        int hs = (sl.g1 - sl.g0) * U; // the slice's units: the row stride of sg / tg / tc
        int g0 = sl.g0;
        int ng = sl.g1 - g0;
        float[] c = wk.c;
        double[] sg = wk.sg;
        double[] tg = wk.tg;
        double[] tc = wk.tc;
        for (int l = 0; l < ng; l++) {
            float[] acc = wk.acc[sl.groupTile[l]];
            for (int m = 0; m < n; m++) {
                int a = (rb + m) * TILE + sl.groupOffset[l];
                int so = m * 3 * hs + l * 3 * U;
                for (int j = 0; j < 3 * U; j++) {
                    sg[so + j] = acc[a + j];
                }
                int go = m * hs + l * U;
                for (int j = 0; j < U; j++) {
                    tg[go + j] = acc[a + 3 * U + j];
                }
            }
        }
        GateMath.sigmoid(sg, 0, n * 3 * hs);
        GateMath.tanh(tg, 0, n * hs);
        for (int m = 0; m < n; m++) {
            int co = wk.act[i + m] * hp;
            for (int l = 0; l < ng; l++) {
                int g = g0 + l;
                int nu = Math.min(U, hidden - g * U);
                int so = m * 3 * hs + l * 3 * U;
                int go = m * hs + l * U;
                int ct = co + g * U;
                if (cellClipped) {
                    // a separate loop, so that layers without a cell clip run exactly the code they ran before
                    float cc = cellClip;
                    for (int u = 0; u < nu; u++) {
                        float cn = (float) (sg[so + U + u] * c[ct + u] + sg[so + u] * tg[go + u]);
                        cn = cn > cc ? cc : (cn < -cc ? -cc : cn);
                        c[ct + u] = cn;
                        tc[go + u] = cn;
                    }
                } else {
                    for (int u = 0; u < nu; u++) {
                        float cn = (float) (sg[so + U + u] * c[ct + u] + sg[so + u] * tg[go + u]);
                        c[ct + u] = cn;
                        tc[go + u] = cn;
                    }
                }
            }
        }
        GateMath.tanh(tc, 0, n * hs);
        for (int m = 0; m < n; m++) {
            int ho = wk.act[i + m] * hStride;
            for (int l = 0; l < ng; l++) {
                int g = g0 + l;
                int nu = Math.min(U, hidden - g * U);
                int so = m * 3 * hs + l * 3 * U + 2 * U;
                int go = m * hs + l * U;
                int ht = ho + g * U;
                for (int u = 0; u < nu; u++) {
                    hDst[ht + u] = (float) (sg[so + u] * tc[go + u]);
                }
            }
        }
    }

    /** As {@link #cellFast}, for any activations, peepholes, clip, coupled gates, cell clip: float maths, one unit at a time. */
    private void cellGeneric(Slice sl, int d, int n, int i, int rb, LstmWork wk, float[] hDst, int hStride) {
        for (int g = sl.g0; g < sl.g1; g++) {
            cellGenericGroup(d, g, n, i, wk.act, wk.acc[sl.groupTile[g - sl.g0]], rb * TILE + sl.groupOffset[g - sl.g0], wk.c, hDst, hStride);
        }
    }

    /**
     * {@link #cellGeneric} for the units of group g: the gates of row act[i + m] at {@code acc[a0 + m TILE ..]}
     * (runs of U units in gate order i, f, o, g), its cell state in {@code c} at row stride hiddenPadded.
     */
    private void cellGenericGroup(int d, int g, int n, int i, int[] act, float[] acc, int a0, float[] c, float[] hDst, int hStride) {
        float[] p = peep[d];
        ActivationFn fa = fAct[d];
        ActivationFn ga = gAct[d];
        ActivationFn ha = hAct[d];
        int nu = Math.min(U, hidden - g * U);
        for (int m = 0; m < n; m++) {
            int a = a0 + m * TILE;
            int co = act[i + m] * hiddenPadded + g * U;
            int ho = act[i + m] * hStride + g * U;
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
                float cn = clip(gf * cp + gi * gg, cellClip); // the identity without a cell clip (cellClip = +inf)
                c[co + u] = cn;
                if (p != null) {
                    go += p[2 * hidden + unit] * cn;
                }
                go = fa.apply(clip(go));
                hDst[ho + u] = go * ha.apply(cn);
            }
        }
    }

    private float clip(float v) {
        return clip(v, clip);
    }
}
