package io.lstmx.runtime;

import io.lstmx.ir.Direction;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * What the recurrent kernels ({@link LstmKernel}, {@link GruKernel}, {@link RnnKernel}) share: one
 * layer (all its directions) over a whole batch of sequences, in float32, with ONNX semantics for
 * directions, layouts, sequence lengths and initial states. A subclass supplies its prepared input
 * weights and the recurrence of one step; this class does everything around it.
 *
 * <h2>Rules common to all three</h2>
 * <ul>
 *   <li>The forward direction visits t = 0 .. L_b-1, the reverse direction t = L_b-1 .. 0, where
 *       L_b is row b's sequence length (T when no lengths are given). Rows stop at their own length:
 *       their outputs past it stay zero and their last states are those of step L_b-1 (forward) or
 *       step 0 (reverse). A padded batch therefore gives each row exactly what it gives alone.</li>
 *   <li>A row of length 0 runs no step: its carried state is its initial state (what streaming
 *       continues from); the layer's last-state outputs show zeros for it, as onnxruntime does
 *       (that zeroing is {@link RecurrentStep}'s).</li>
 *   <li>With a per-step mask, a row's masked step is listed apart from the running rows: no
 *       recurrence runs for it (its cell state is untouched), its h is copied on to the buffer the
 *       next step reads, and its Y repeats the row's last Y (zero until it has counted a step, or
 *       always zero when the layer says so). Running rows are computed exactly as without a mask.</li>
 *   <li>Initial states default to zero. Y is [T, D, B, hOut] time-major or [B, T, D, hOut]
 *       batch-major; states are handled here as [D, B, width].</li>
 * </ul>
 *
 * <h2>How</h2>
 * Per call, for each direction and block of batch rows (a "piece", see below):
 * <ol>
 *   <li>the input projections X W^T + bias of a chunk of time steps (as many as fit in 1 MiB) are
 *       one matrix product ({@link PackedMatrix}), computed before those steps: they do not depend
 *       on the recurrence. Rows are gathered in step order, so reverse rows of any length need no
 *       special case. The subclass chooses W's column order and the bias (see its Javadoc);</li>
 *   <li>each step lists the rows still running ({@link Work#act}, with their projected-input
 *       offsets and time index) and hands them to the subclass's {@link #recur}, which reads h from
 *       one buffer and writes the new h to the other (the buffers alternate with the step's
 *       parity, so a row that stopped keeps its last h in the buffer of its length's parity);</li>
 *   <li>the new h of the running rows is copied into Y at its layout position.</li>
 * </ol>
 * Directions and batch rows never interact, so a call with enough work (see
 * {@link #PARALLEL_WORK}) is split into pieces, one per direction and block of whole groups of four
 * rows, run by {@link Parallel}; pieces write disjoint parts of the outputs, and since a row's
 * arithmetic is the same whichever rows it is grouped with (the subclasses' step products take rows
 * four at a time, then one at a time, with the same per-row sums either way), the results are the
 * same bit for bit as on one thread. Every piece allocates its buffers before its time loop;
 * nothing is allocated inside it.
 * <p>
 * Instances hold only read-only prepared weights: one kernel may run on many threads at once.
 *
 * @param <W> the subclass's work buffers
 */
abstract class RecurrentKernel<W extends RecurrentKernel.Work> {
    static final int TILE = PackedMatrix.TILE;
    /** Size, in floats, that bounds one chunk of projected inputs (1 MiB: stays in L2). */
    private static final int CHUNK_FLOATS = 1 << 18;
    /** Multiply-adds of a call (steps * batch * directions * gate rows * (I + hOut)) from which it is split over threads. */
    static final long PARALLEL_WORK = 1L << 22;
    /**
     * Multiply-adds of a call from which a single piece (one direction, fewer than eight rows) is
     * split over a {@link StepTeam} by hidden units (property {@code lstmx.teamWork}); the kernel
     * also requires enough work per step (see its {@link #teamParts}).
     */
    static final long TEAM_WORK = Long.getLong("lstmx.teamWork", 1L << 18);
    /**
     * Multiply-adds of a split call below which its pieces run on a {@link StepTeam}'s spinning
     * workers rather than {@link Parallel}'s executor (property {@code lstmx.pieceTeamWork}; 0 turns
     * it off).
     */
    static final long PIECE_TEAM_WORK = Long.getLong("lstmx.pieceTeamWork", 1L << 26);

    final int inputSize;
    /** Width of h (what Y and Y_h hold). */
    final int hOut;
    /** Row stride of the h buffers: hOut rounded up to 8, the kPadded of h's products, so they read h in place. */
    final int hStride;
    final int dirs;
    final boolean batchMajor;
    final boolean[] reverse;
    /** Per direction: W^T [I, xwCols at least], columns in the subclass's order; filled by the subclass. */
    final PackedMatrix[] w;
    /** Per direction: the bias added to X W^T, in W's packed column order; filled by the subclass. */
    final float[][] xwBias;
    /** Columns of X W^T kept per row (the row stride of {@link Work#xw}). */
    final int xwCols;
    /** Rows of W (gates times hidden size): with I + hOut, the multiply-adds of one row and step. */
    private final long gateRows;

    /**
     * Set while {@link NativeRuntime#compileScalar} compiles: kernels made then run the plain path
     * (see {@link #plain}).
     */
    static final ThreadLocal<Boolean> COMPILING_PLAIN = ThreadLocal.withInitial(() -> false);

    /**
     * Whether this kernel runs the plain path every fast path is tested against: one thread, no
     * step team, the C2 kernels on the row layout, the LSTM cell in double.
     */
    final boolean plain = COMPILING_PLAIN.get();

    /** Whether this kernel's weights go to the Vector API's panel layout and its LSTM cell to float vectors. */
    final boolean vector = Vec.ENABLED && !plain;

    RecurrentKernel(int inputSize, int hOut, Direction direction, Layout layout, int xwCols, long gateRows) {
        this.inputSize = inputSize;
        this.hOut = hOut;
        this.hStride = PackedMatrix.roundUp(hOut, 8);
        this.dirs = direction.count();
        this.batchMajor = layout == Layout.BATCH_MAJOR;
        this.xwCols = xwCols;
        this.gateRows = gateRows;
        reverse = new boolean[dirs];
        for (int d = 0; d < dirs; d++) {
            reverse[d] = direction == Direction.REVERSE || (direction == Direction.BIDIRECTIONAL && d == 1);
        }
        w = new PackedMatrix[dirs];
        xwBias = new float[dirs][];
    }

    int directions() {
        return dirs;
    }

    int inputSize() {
        return inputSize;
    }

    /** Width of h. */
    int outputSize() {
        return hOut;
    }

    boolean batchMajor() {
        return batchMajor;
    }

    /** Width of the cell state carried beside h (LSTM c), 0 when there is none. */
    int cellWidth() {
        return 0;
    }

    /** Outputs of one call. */
    static final class Result {
        /** Y in the layer's layout, or null when not requested. */
        final float[] y;
        /** Last h per direction and row, [D, B, hOut] (initial state for rows of length 0). */
        final float[] hLast;
        /** Last cell state per direction and row, [D, B, cellWidth] (likewise), or null when there is none. */
        final float[] cLast;

        Result(float[] y, float[] hLast, float[] cLast) {
            this.y = y;
            this.hLast = hLast;
            this.cLast = cLast;
        }
    }

    /**
     * The gate columns one piece of work computes: W^T (and the bias) of those columns, the number
     * of columns (the row stride of {@link Work#xw}) and the hidden units [u0, u1) whose h it writes.
     * A plain piece has every column ({@link #fullPart}); a participant of a {@link StepTeam} has
     * the columns of its slice of the hidden units (see {@link #teamParts}).
     */
    static class Part {
        final PackedMatrix w;
        final float[] bias;
        final int cols;
        final int u0;
        final int u1;
        /** Whether this part is all of the layer's columns. */
        final boolean whole;

        Part(PackedMatrix w, float[] bias, int cols, int u0, int u1, boolean whole) {
            this.w = w;
            this.bias = bias;
            this.cols = cols;
            this.u0 = u0;
            this.u1 = u1;
            this.whole = whole;
        }
    }

    /** All columns of direction d. */
    Part fullPart(int d) {
        return new Part(w[d], xwBias[d], xwCols, 0, hOut, true);
    }

    /**
     * The hidden units split into {@code parts} (or fewer, at least 2) slices for a step team
     * running a single piece of {@code rows} rows, or null when this kernel does not split (the
     * default). See {@link #runTeam}.
     */
    Part[] teamParts(int parts, int rows) {
        return null;
    }

    /**
     * Rows of a chunk's input projections computed before its first step when the steps compute
     * the rest as they go (see {@link Work#projectsAhead}): 0, the default, when the kernel
     * projects each chunk at once before its steps.
     */
    int projectsAhead(Part part, int rows) {
        return 0;
    }

    /** Pieces whose steps projected later inputs as they went (for tests: shows that it happened). */
    static final java.util.concurrent.atomic.LongAdder PROJECTED_AHEAD = new java.util.concurrent.atomic.LongAdder();

    /**
     * The gathered input rows and projections ({@link Work#xin}, {@link Work#xw}) of finished
     * calls, handed to later ones. A new array is zeroed by the JVM: allocating these per call
     * (0.5-1.5 MB for a 256-unit layer over 150 steps) cost 3-4% of a batch-1 or batch-4 call,
     * measured inside the runtime (benchmarks/RESULTS.md, 2026-12-07 16:10).
     */
    final Spares spares = new Spares();

    /**
     * A few float arrays of finished calls, each under a tag, lent to one call at a time. An input
     * row buffer is tagged with its row stride (I padded): a call writes only the first I floats
     * of each row, so the padding a product reads stays zero from the array's allocation on, as
     * long as the array is only ever used with that stride. Projections ({@link #ANY}) are
     * written in full before they are read.
     */
    static final class Spares {
        static final int ANY = -1;
        /** Arrays lent again so far, by every kernel (for tests: shows that reuse happened). */
        static final java.util.concurrent.atomic.AtomicLong REUSED = new java.util.concurrent.atomic.AtomicLong();
        /**
         * Arrays kept at most (the oldest is dropped): bounds what an idle model holds, each array
         * being at most max(2^18 floats, one step's rows times columns) (see the chunk in Work).
         */
        private static final int KEEP = 8;

        private record Spare(float[] array, int tag) {
        }

        /** Newest first. */
        private final java.util.ArrayDeque<Spare> kept = new java.util.ArrayDeque<>();

        /** An array of exactly {@code length} floats kept under {@code tag}, or a new zeroed one. */
        float[] take(int length, int tag) {
            synchronized (this) {
                for (java.util.Iterator<Spare> it = kept.iterator(); it.hasNext(); ) {
                    Spare s = it.next();
                    if (s.array().length == length && s.tag() == tag) {
                        it.remove();
                        REUSED.incrementAndGet();
                        return s.array();
                    }
                }
            }
            return new float[length];
        }

        synchronized void give(float[] f, int tag) {
            if (kept.size() >= KEEP) {
                kept.removeLast();
            }
            kept.addFirst(new Spare(f, tag));
        }
    }

    /**
     * Work buffers of one piece of a call: one direction and a block [b0, b0 + rows) of the batch
     * rows, which evolve independently of all others, for the gate columns of one {@link Part}.
     * Taken before the time loop (the large ones from {@link #spares}), never shared, except the h
     * buffers of a team's participants (each writes only its own units of them). Internal buffers
     * are indexed by the local row (b - b0). Subclasses add their own buffers.
     */
    static class Work {
        final int d;
        final int b0;
        final int rows;
        /** The call's full batch size and time steps (for indexing X and Y) and all rows' lengths. */
        final int batch;
        final int steps;
        final int[] len;
        /** The columns this work computes. */
        final Part part;
        /** Steps whose input projections are computed at once, and the piece's longest row. */
        final int chunk;
        final int maxLen;
        /** Gathered input rows of one chunk, [chunk, rows, I padded to 8], zero past I. */
        final float[] xin;
        /** Their projections X W^T + bias, [chunk, rows, part.cols]. */
        final float[] xw;
        /** h before / after each step, alternating, [rows, hStride], zero past hOut. */
        final float[] h0;
        final float[] h1;
        /**
         * Product accumulators of up to four rows, per column tile [4, TILE] (one array per tile, see
         * PackedMatrix); {@code acc[0]} is also the scratch of the input projection.
         */
        final float[][] acc;
        /** Active local rows of the current step, their offsets in {@link #xw} and their time index. */
        final int[] act;
        final int[] xwRow;
        final int[] timeOf;
        /**
         * With a per-step mask: the local rows the current step holds (masked: states kept, no
         * recurrence), their count and time index, and per row whether it has counted a step yet
         * (before that, a masked step's Y is zero).
         */
        final int[] held;
        final int[] heldTime;
        int heldCount;
        final boolean[] emitted;
        /**
         * In a team whose steps are claimed group by group (see {@link #claimsSteps}): every
         * participant's work (indexed by participant), this one's index, the team's claim counters
         * and the current step (its parity picks the counters); null / unused otherwise.
         */
        Work[] team;
        int participant;
        AtomicIntegerArray claims;
        int step;
        /**
         * For a kernel whose steps project later inputs as they go ({@link RecurrentKernel#projectsAhead}):
         * the rows of a chunk projected before its steps (F), 0 otherwise. Then the steps of rows
         * [j F, j F + F) of a chunk project its rows [j F + F, j F + 2 F), each step a share; the
         * buffers hold F rows more than the chunk so that the last block may run past its end.
         */
        final int projectsAhead;
        /** Whether the current call does so (a team claiming its steps, no mask), and the current chunk's first step and length. */
        boolean projecting;
        int chunkStart;
        int chunkLen;

        Work(RecurrentKernel<?> k, int d, int b0, int rows, int batch, int steps, int[] len, int accTiles) {
            this(k, k.fullPart(d), d, b0, rows, batch, steps, len, accTiles, null, null);
        }

        /** hA, hB: the shared h buffers of a team, or null to allocate them. */
        Work(RecurrentKernel<?> k, Part part, int d, int b0, int rows, int batch, int steps, int[] len, int accTiles,
                float[] hA, float[] hB) {
            this(k, part, d, b0, rows, batch, steps, len, accTiles, 4, hA, hB);
        }

        /** accRows: rows of product accumulators per tile (4, or more for a kernel that blocks more rows). */
        Work(RecurrentKernel<?> k, Part part, int d, int b0, int rows, int batch, int steps, int[] len, int accTiles,
                int accRows, float[] hA, float[] hB) {
            this.d = d;
            this.b0 = b0;
            this.rows = rows;
            this.batch = batch;
            this.steps = steps;
            this.len = len;
            this.part = part;
            int longest = 0;
            for (int b = b0; b < b0 + rows; b++) {
                longest = Math.max(longest, len[b]);
            }
            maxLen = longest;
            int perStep = Math.multiplyExact(rows, part.cols);
            // a team's participants all take the chunk of the whole layer, so that their chunks
            // start at the same steps (a participant may read another's projected inputs)
            int chunkPerStep = part.whole ? perStep : Math.multiplyExact(rows, k.xwCols);
            chunk = Math.max(1, Math.min(maxLen, CHUNK_FLOATS / Math.max(1, chunkPerStep)));
            projectsAhead = k.projectsAhead(part, rows);
            int bufferRows = chunk + projectsAhead;
            xin = k.spares.take(Math.multiplyExact(Math.multiplyExact(bufferRows, rows), part.w.kPadded), part.w.kPadded);
            xw = k.spares.take(Math.multiplyExact(bufferRows, perStep), Spares.ANY);
            h0 = hA != null ? hA : new float[Math.multiplyExact(rows, k.hStride)];
            h1 = hB != null ? hB : new float[Math.multiplyExact(rows, k.hStride)];
            acc = new float[Math.max(1, accTiles)][Math.max(4, accRows) * TILE];
            act = new int[rows];
            xwRow = new int[rows];
            timeOf = new int[rows];
            held = new int[rows];
            heldTime = new int[rows];
            emitted = new boolean[rows];
        }
    }

    /**
     * Whether a team running these parts claims its steps' work piece by piece instead of each
     * participant computing exactly its own part (see {@link #runTeam}); the subclass's
     * {@link #recur} then does the claiming. False by default.
     */
    boolean claimsSteps(Part[] parts) {
        return false;
    }

    /** Slots per participant and step parity in {@link Work#claims}: one counter per 64-byte line. */
    static final int CLAIM_STRIDE = 16;

    /** The claim counter of participant q's pieces at steps of the given parity. */
    static int claimSlot(int parity, int q, int parts) {
        return (parity * parts + q) * CLAIM_STRIDE;
    }

    /** The work buffers of one piece (see {@link Work}). */
    abstract W newWork(int d, int b0, int rows, int batch, int steps, int[] len);

    /** The work buffers of one participant of a team (see {@link #teamParts}); hA, hB are the team's shared h buffers. */
    W newPartWork(Part part, int d, int b0, int rows, int batch, int steps, int[] len, float[] hA, float[] hB) {
        throw new UnsupportedOperationException();
    }

    /**
     * One step of the {@code na} running rows {@code wk.act[0..na)}: their projected inputs are at
     * {@code wk.xw[wk.xwRow[a]..]}, their h at {@code hCur[act * hStride..]}; writes their new h to
     * {@code hNext} at the same offsets (and updates any cell state in place).
     */
    abstract void recur(W wk, int na, float[] hCur, float[] hNext);

    /** Copies the cell state of the piece's rows in from {@code cLast} [D, B, cellWidth] (row base = d B + b0). */
    void loadCell(W wk, float[] cLast, int base) {
    }

    /** Copies the cell state of the piece's rows back to {@code cLast}. */
    void storeCell(W wk, float[] cLast, int base) {
    }

    /**
     * Runs the layer. Arguments are checked by the caller.
     * <p>
     * With a per-step mask (see {@link io.lstmx.ir.RecurrentPorts#mask()}) a row's masked step
     * (mask 0) runs no recurrence, its states stay, and its Y there repeats the row's previous Y in
     * the direction's order (zero before its first counted step), or is zero when
     * {@code zeroMasked}.
     *
     * @param x       input, [T, B, I] time-major or [B, T, I] batch-major
     * @param lens    per-row sequence lengths in [0, T], or null for all T
     * @param h0      initial h, [D, B, hOut], or null for zeros
     * @param c0      initial cell state, [D, B, cellWidth], or null for zeros (ignored without a cell state)
     * @param wantY   whether to produce Y
     * @param mask    [T, B] time-major or [B, T] batch-major, nonzero where a step counts, or null
     * @param counted for a stream of chunks: [D, B], per direction and row whether it has counted a
     *                step in an earlier chunk (a masked step then repeats its last Y rather than
     *                zero), updated in place to say so after this chunk; null for a call on its own
     */
    final Result run(float[] x, int steps, int batch, int[] lens, float[] h0, float[] c0, boolean wantY, float[] mask,
            boolean zeroMasked, boolean[] counted) {
        if (counted != null && counted.length != dirs * batch) {
            throw new IllegalArgumentException("counted has " + counted.length + " flags, expected " + dirs * batch);
        }
        // Checked sizes: an overflow is BAD_INPUT, which the caller prefixes with the layer's name.
        float[] y = wantY ? new float[Tensor.elementCount(steps, dirs, batch, hOut)] : null;
        float[] hLast = new float[Tensor.elementCount(dirs, batch, hOut)];
        float[] cLast = cellWidth() > 0 ? new float[Tensor.elementCount(dirs, batch, cellWidth())] : null;
        if (h0 != null) {
            System.arraycopy(h0, 0, hLast, 0, hLast.length);
        }
        if (c0 != null && cLast != null) {
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
        long work = (long) steps * batch * dirs * gateRows * (inputSize + hOut);
        int threads = plain ? 1 : Parallel.threads();
        if (threads > 1 && work >= PARALLEL_WORK) {
            blocks = Math.max(1, Math.min((threads + dirs - 1) / dirs, batch / 4));
        }
        if (dirs * blocks == 1 && threads > 1 && work >= TEAM_WORK && StepTeam.worthTrying()) {
            // One piece but idle cores: split the hidden units over a step team, if it is free.
            Part[] parts = teamParts(threads, batch);
            StepTeam team = parts == null ? null : StepTeam.tryAcquire(parts.length);
            if (team != null) {
                try {
                    runTeam(team, parts, x, steps, batch, len, y, hLast, cLast, mask, zeroMasked, counted);
                } finally {
                    team.release();
                }
                return new Result(y, hLast, cLast);
            }
        }
        List<Runnable> pieces = new ArrayList<>(dirs * blocks);
        for (int d = 0; d < dirs; d++) {
            for (int k = 0; k < blocks; k++) {
                int from = batch / 4 * k / blocks * 4;
                int to = k == blocks - 1 ? batch : batch / 4 * (k + 1) / blocks * 4;
                int dir = d;
                if (to > from) {
                    pieces.add(() -> runPiece(newWork(dir, from, to - from, batch, steps, len), x, y, hLast, cLast, mask, zeroMasked,
                            counted));
                }
            }
        }
        if (pieces.size() > 1 && pieces.size() <= threads && work < PIECE_TEAM_WORK) {
            // Persistent workers that spin a while after each call pick the pieces up without the
            // executor's queue and wake-up (what a 0.3 ms bidirectional call would mostly wait for).
            // Not for long calls: there the wake-up does not matter, and measured side by side with
            // other engines a 20 ms call at batch 32 sometimes ran as slowly as on one thread.
            StepTeam team = StepTeam.tryAcquire(pieces.size());
            if (team != null) {
                try {
                    team.runPieces(pieces);
                } finally {
                    team.release();
                }
                return new Result(y, hLast, cLast);
            }
        }
        Parallel.runAll(pieces);
        return new Result(y, hLast, cLast);
    }

    /**
     * The single piece of a call (one direction, all rows) run by a {@link StepTeam}: participant p
     * computes the gate columns and hidden units of parts[p] (its own W and R slices, projected
     * inputs, cell state and scratch), all read and write the same two h buffers, and they meet
     * once per step, after writing their units of the new h (and of Y), so that the next step
     * reads a complete h. Each unit's arithmetic is what the single-threaded piece does.
     */
    private void runTeam(StepTeam team, Part[] parts, float[] x, int steps, int batch, int[] len, float[] y,
            float[] hLast, float[] cLast, float[] mask, boolean zeroMasked, boolean[] counted) {
        float[] hA = new float[Math.multiplyExact(batch, hStride)];
        float[] hB = new float[hA.length];
        List<W> works = new ArrayList<>(parts.length);
        for (Part part : parts) {
            works.add(newPartWork(part, 0, 0, batch, batch, steps, len, hA, hB));
        }
        if (claimsSteps(parts)) {
            Work[] all = works.toArray(new Work[0]);
            AtomicIntegerArray claims = new AtomicIntegerArray(2 * parts.length * CLAIM_STRIDE);
            for (int p = 0; p < all.length; p++) {
                all[p].team = all;
                all[p].participant = p;
                all[p].claims = claims;
            }
        }
        for (W wk : works) {
            loadCounted(wk, counted);
        }
        W first = works.get(0);
        loadStates(first, hLast);
        if (cLast != null) {
            for (W wk : works) {
                loadCell(wk, cLast, 0);
            }
        }
        team.run(p -> timeLoop(works.get(p), x, y, mask, zeroMasked, team, p));
        storeCounted(first, counted); // every participant has the same flags (the same rows ran)
        storeStates(first, hLast);
        if (cLast != null) {
            for (W wk : works) {
                storeCell(wk, cLast, 0);
            }
        }
        for (W wk : works) {
            giveBack(wk);
        }
    }

    /** The work's large buffers, for later calls (the caller no longer uses them). */
    private void giveBack(Work wk) {
        if (poisonSpares) {
            // what a later call must overwrite before reading: each input row's first I floats, all projections
            int ip = wk.part.w.kPadded;
            for (int o = 0; o + inputSize <= wk.xin.length; o += ip) {
                java.util.Arrays.fill(wk.xin, o, o + inputSize, Float.NaN);
            }
            java.util.Arrays.fill(wk.xw, Float.NaN);
        }
        spares.give(wk.xin, wk.part.w.kPadded);
        spares.give(wk.xw, Spares.ANY);
    }

    /** For tests: fill buffers given back with NaN where a later call must write before it reads. */
    static volatile boolean poisonSpares;

    /** One direction over one block of rows: initial states in, time loop, last states out. */
    private void runPiece(W wk, float[] x, float[] y, float[] hLast, float[] cLast, float[] mask, boolean zeroMasked,
            boolean[] counted) {
        int base = wk.d * wk.batch + wk.b0;
        loadStates(wk, hLast);
        if (cLast != null) {
            loadCell(wk, cLast, base);
        }
        loadCounted(wk, counted);
        timeLoop(wk, x, y, mask, zeroMasked, null, 0);
        storeCounted(wk, counted);
        storeStates(wk, hLast);
        if (cLast != null) {
            storeCell(wk, cLast, base);
        }
        giveBack(wk);
    }

    /** The piece's rows' "has counted a step" flags from an earlier chunk of the stream (see {@link Work#emitted}). */
    private static void loadCounted(Work wk, boolean[] counted) {
        if (counted != null) {
            System.arraycopy(counted, wk.d * wk.batch + wk.b0, wk.emitted, 0, wk.rows);
        }
    }

    private static void storeCounted(Work wk, boolean[] counted) {
        if (counted != null) {
            System.arraycopy(wk.emitted, 0, counted, wk.d * wk.batch + wk.b0, wk.rows);
        }
    }

    private void loadStates(W wk, float[] hLast) {
        int base = wk.d * wk.batch + wk.b0;
        for (int lb = 0; lb < wk.rows; lb++) {
            System.arraycopy(hLast, (base + lb) * hOut, wk.h0, lb * hStride, hOut);
        }
    }

    private void storeStates(W wk, float[] hLast) {
        int base = wk.d * wk.batch + wk.b0;
        for (int lb = 0; lb < wk.rows; lb++) {
            // The row's last step (len - 1) wrote the h buffer of parity len (see timeLoop); a row
            // of length 0 keeps its initial state.
            float[] hb = (wk.len[wk.b0 + lb] & 1) == 0 ? wk.h0 : wk.h1;
            System.arraycopy(hb, lb * hStride, hLast, (base + lb) * hOut, hOut);
        }
    }

    /** The piece's steps; with a team, participant p meets the others after each step. */
    private void timeLoop(W wk, float[] x, float[] y, float[] mask, boolean zeroMasked, StepTeam team, int p) {
        int d = wk.d;
        int rows = wk.rows;
        PackedMatrix wm = wk.part.w;
        int ip = wm.kPadded;
        boolean rev = reverse[d];
        // every step must run (no mask) for the steps to finish the projections they share
        wk.projecting = wk.projectsAhead > 0 && wk.claims != null && mask == null;
        if (wk.projecting) {
            PROJECTED_AHEAD.increment();
        }
        for (int s0 = 0; s0 < wk.maxLen; s0 += wk.chunk) {
            int s1 = Math.min(wk.maxLen, s0 + wk.chunk);
            wk.chunkStart = s0;
            wk.chunkLen = s1 - s0;
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
            int ahead = wk.projecting ? Math.min(wk.projectsAhead, s1 - s0) : s1 - s0;
            wm.multiply(wk.xin, ahead * rows, ip, wk.part.bias, wk.xw, wk.part.cols, wk.acc[0]);
            if (wk.claims != null) {
                // others may claim this participant's pieces of the chunk's steps: its projected inputs must be there
                team.await(p);
            }
            for (int s = s0; s < s1; s++) {
                // Step s reads h from buffer (s & 1) and writes the other.
                float[] hCur = (s & 1) == 0 ? wk.h0 : wk.h1;
                float[] hNext = (s & 1) == 0 ? wk.h1 : wk.h0;
                int na = activeRows(wk, s, s0, mask);
                wk.step = s;
                if (wk.claims != null) {
                    // this participant's counter for the next step (the counters alternate with the
                    // step's parity): nobody claims from it now, as all claims of the previous step
                    // ended before its barrier; reset every step, whether or not rows run
                    wk.claims.set(claimSlot((s & 1) ^ 1, p, wk.team.length), 0);
                }
                if (na > 0) {
                    recur(wk, na, hCur, hNext);
                }
                if (na > 0 && y != null && team == null) {
                    writeY(wk, na, hNext, y);
                }
                if (mask != null) {
                    hold(wk, na, hCur, hNext, zeroMasked ? null : y);
                }
                if (team != null) {
                    team.await(p);
                    // after the barrier: with claimed steps, another participant may have written
                    // some of this one's units (nobody writes hNext again before the next barrier)
                    if (na > 0 && y != null) {
                        writeY(wk, na, hNext, y);
                    }
                }
            }
        }
    }

    /**
     * Lists the rows running at step s (of the chunk starting at s0); returns how many. With a
     * mask, the rows whose step is masked are listed in {@link Work#held} instead.
     */
    private int activeRows(W wk, int s, int s0, float[] mask) {
        boolean rev = reverse[wk.d];
        int na = 0;
        int nh = 0;
        for (int lb = 0; lb < wk.rows; lb++) {
            int b = wk.b0 + lb;
            int len = wk.len[b];
            if (s < len) {
                int t = rev ? len - 1 - s : s;
                if (mask != null && mask[batchMajor ? b * wk.steps + t : t * wk.batch + b] == 0f) {
                    wk.held[nh] = lb;
                    wk.heldTime[nh] = t;
                    nh++;
                    continue;
                }
                wk.act[na] = lb;
                wk.xwRow[na] = ((s - s0) * wk.rows + lb) * wk.part.cols;
                wk.timeOf[na] = t;
                na++;
            }
        }
        wk.heldCount = nh;
        return na;
    }

    /**
     * The masked rows of a step keep their h (copied to the buffer the next step reads; their
     * cell state was not touched) and, once they have counted a step, repeat it in Y (y null:
     * masked steps stay zero). The running rows have now counted one.
     */
    private void hold(W wk, int na, float[] hCur, float[] hNext, float[] y) {
        int u0 = wk.part.u0;
        int nu = wk.part.u1 - u0;
        for (int a = 0; a < na; a++) {
            wk.emitted[wk.act[a]] = true;
        }
        for (int k = 0; k < wk.heldCount; k++) {
            int lb = wk.held[k];
            System.arraycopy(hCur, lb * hStride + u0, hNext, lb * hStride + u0, nu);
            if (y != null && wk.emitted[lb]) {
                int b = wk.b0 + lb;
                int t = wk.heldTime[k];
                int yo = batchMajor ? ((b * wk.steps + t) * dirs + wk.d) * hOut : ((t * dirs + wk.d) * wk.batch + b) * hOut;
                System.arraycopy(hCur, lb * hStride + u0, y, yo + u0, nu);
            }
        }
    }

    /** Copies the running rows' new h (the part's units) into Y at their layout positions. */
    private void writeY(W wk, int na, float[] hNext, float[] y) {
        int d = wk.d;
        int u0 = wk.part.u0;
        int nu = wk.part.u1 - u0;
        for (int a = 0; a < na; a++) {
            int b = wk.b0 + wk.act[a];
            int t = wk.timeOf[a];
            int yo = batchMajor ? ((b * wk.steps + t) * dirs + d) * hOut : ((t * dirs + d) * wk.batch + b) * hOut;
            System.arraycopy(hNext, wk.act[a] * hStride + u0, y, yo + u0, nu);
        }
    }

    /** v bounded to [-clip, clip] (clip is +infinity when the layer has none). */
    static float clip(float v, float clip) {
        return v > clip ? clip : (v < -clip ? -clip : v);
    }
}
