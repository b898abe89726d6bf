package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;

import java.util.Arrays;

/**
 * The GRU kernel of the native runtime: one {@link Layer.Gru} (all its directions) over a whole
 * batch of sequences, in float32, with ONNX semantics. Directions, layouts, sequence lengths,
 * initial states, the input projection, Y and the split over threads are {@link RecurrentKernel}'s.
 *
 * <h2>What it computes</h2>
 * For each direction, batch row and time step (x_t the input row, h the previous state, gates in
 * canonical order r, z, n, f and g the direction's two {@link ActivationFn}s, sigmoid and tanh by
 * default):
 * <pre>
 *   r  = f(clip(W_r x_t + R_r h + Wb_r + Rb_r))
 *   z  = f(clip(W_z x_t + R_z h + Wb_z + Rb_z))
 *   n  = g(clip(W_n x_t + Wb_n + r * (R_n h + Rb_n)))      with linear_before_reset
 *   n  = g(clip(W_n x_t + Wb_n + R_n (r * h) + Rb_n))      without
 *   h' = (1 - z) * n + z * h
 * </pre>
 * {@code clip(v)} bounds v to [-clip, clip] when the layer has a clip (ONNX applies it to the
 * input of every activation).
 *
 * <h2>How</h2>
 * At compile time W^T [I, 3 gates] is laid out for {@link PackedMatrix} with its r and z columns in
 * groups of U = 32 hidden units (r of the group's units, then z; H padded to a multiple of 32 with
 * zero columns), followed by the n columns in unit order; the input projection X W^T adds
 * Wb + Rb for r and z, and Wb_n for n (plus Rb_n without linear_before_reset, where it is just
 * another constant of n's sum). R is split into R_rz^T [H, 2 gates] (columns as W's first part)
 * and R_n^T [H, H]: n's recurrent product must stay apart from its input projection (the reset
 * gate scales it), and without linear_before_reset it can only start once r is known. Each step,
 * for the running rows four at a time (each weight loaded serves four rows; rows left over go one
 * at a time):
 * <ol>
 *   <li>r and z pre-activations: projected inputs + h R_rz^T; with linear_before_reset also
 *       R_n h + Rb_n (a second product of the same h);</li>
 *   <li>r and z activated: for the default sigmoid without clip, converted to double and put
 *       through {@link GateMath}'s vectorised sigmoid all at once, otherwise one value at a time in
 *       float;</li>
 *   <li>without linear_before_reset, r * h (rounded to float) times R_n^T added to n's projected
 *       input;</li>
 *   <li>n and h': for the default tanh without clip, in double with {@link GateMath#tanh} and h'
 *       rounded to float once; otherwise the float equations above one unit at a time.</li>
 * </ol>
 * Sums are float32 fused multiply-adds in order of k, as in a sequential float sum up to rounding,
 * so results agree with the double-precision reference to float rounding. A row's arithmetic is
 * the same whichever rows it is grouped with, so a split over threads gives the same bits.
 *
 * <h2>Step team</h2>
 * All of the above works on a {@link Slice}: the columns of a range of unit groups (their r and z
 * columns, then their n columns), with its own W^T, R_rz^T and R_n^T. A plain piece uses the whole
 * layer as one slice. With linear_before_reset (PyTorch's GRU, Keras's reset_after) a unit's r, z,
 * n and h' depend only on the full previous h and its own columns, so a single piece with idle
 * cores is run by a {@link StepTeam} whose participants each take one slice of direction 0
 * ({@link #teamParts}, packed on first use and kept) and meet once per step, as the LSTM's do.
 * Without linear_before_reset n needs r * h of every unit first (a second exchange per step): such
 * layers are not split.
 */
final class GruKernel extends RecurrentKernel<GruKernel.GruWork> {
    /** Hidden units per column group of R_rz: a group holds r and z of U consecutive units (2 U columns). */
    private static final int U = 32;
    private static final int GROUP = 2 * U;

    private final int hidden;
    /** H rounded up to a multiple of U. */
    private final int hiddenPadded;
    private final int groups;
    private final boolean linearBeforeReset;
    private final float clip;
    /** Per direction: whether the vectorised path applies (sigmoid, tanh, no clip). */
    private final boolean[] fast;
    private final ActivationFn[] fAct;
    private final ActivationFn[] gAct;
    /** The layer (its weights are packed again, by slices, the first time a step team runs it). */
    private final Layer.Gru layer;
    /** Per direction: all columns as one slice. */
    private final Slice[] full;
    /** Per team size: the slices of direction 0, packed on first use. */
    private final Slice[][] teamSlices = new Slice[65][];

    /**
     * The columns of hidden-unit groups [g0, g1): W^T of their r and z columns (grouped) followed by
     * their n columns, R_rz^T and R_n^T of those columns, Rb_n of them (linear_before_reset), and
     * where each group sits in the column tiles. xw rows of a slice hold 3 hs values (hs = its units,
     * padded): r and z of its groups, then n. The whole layer is one slice; a step team gives each
     * participant one slice, with its own packed copy of its columns.
     */
    static final class Slice extends Part {
        final PackedMatrix rz;
        final PackedMatrix rn;
        final float[] rbn;
        final int g0;
        final int g1;
        /** Units of the slice, padded: (g1 - g0) U. */
        final int hs;
        /** Per local group (g - g0): the tile of R_rz holding its columns and its first column there; the same in R_n. */
        final int[] rzTile;
        final int[] rzOffset;
        final int[] nTile;
        final int[] nOffset;

        Slice(PackedMatrix w, float[] bias, PackedMatrix rz, PackedMatrix rn, float[] rbn, int g0, int g1, int hidden, boolean whole) {
            super(w, bias, 3 * (g1 - g0) * U, g0 * U, Math.min(g1 * U, hidden), whole);
            this.rz = rz;
            this.rn = rn;
            this.rbn = rbn;
            this.g0 = g0;
            this.g1 = g1;
            hs = (g1 - g0) * U;
            int n = g1 - g0;
            rzTile = new int[n];
            rzOffset = new int[n];
            nTile = new int[n];
            nOffset = new int[n];
            for (int l = 0; l < n; l++) {
                // Tiles are 128 or 512 columns wide and start at multiples of 128: a group (64 or 32
                // columns, starting at a multiple of its size) never straddles two.
                rzTile[l] = tileOf(rz, l * GROUP);
                rzOffset[l] = l * GROUP - rz.start(rzTile[l]);
                nTile[l] = tileOf(rn, l * U);
                nOffset[l] = l * U - rn.start(nTile[l]);
            }
        }
    }

    GruKernel(Layer.Gru layer) {
        super(layer.spec().inputSize(), layer.spec().hiddenSize(), layer.spec().direction(), layer.spec().layout(),
                3 * PackedMatrix.roundUp(layer.spec().hiddenSize(), U), 3L * layer.spec().hiddenSize());
        RecurrentSpec spec = layer.spec();
        this.layer = layer;
        hidden = spec.hiddenSize();
        hiddenPadded = PackedMatrix.roundUp(hidden, U);
        groups = hiddenPadded / U;
        linearBeforeReset = spec.linearBeforeReset();
        clip = spec.clip() == null ? Float.POSITIVE_INFINITY : spec.clip();
        fast = new boolean[dirs];
        fAct = new ActivationFn[dirs];
        gAct = new ActivationFn[dirs];
        full = new Slice[dirs];
        for (int d = 0; d < dirs; d++) {
            full[d] = slice(d, 0, groups, true);
            w[d] = full[d].w;
            xwBias[d] = full[d].bias;
            fAct[d] = spec.activations().get(2 * d);
            gAct[d] = spec.activations().get(2 * d + 1);
            fast[d] = fAct[d].kind() == ActivationFn.Kind.SIGMOID && gAct[d].kind() == ActivationFn.Kind.TANH && spec.clip() == null;
        }
    }

    /** Packs the columns of groups [g0, g1) of direction d (see {@link Slice}). */
    private Slice slice(int d, int g0, int g1, boolean whole) {
        int hs = (g1 - g0) * U;
        int[] wMap = new int[3 * hs];
        for (int c = 0; c < 2 * hs; c++) {
            int unit = g0 * U + c / GROUP * U + c % U;
            wMap[c] = unit < hidden ? (c % GROUP / U) * hidden + unit : -1; // gate 0 = r, 1 = z
        }
        int[] nMap = new int[hs];
        for (int u = 0; u < hs; u++) {
            int unit = g0 * U + u;
            nMap[u] = unit < hidden ? 2 * hidden + unit : -1;
            wMap[2 * hs + u] = nMap[u];
        }
        int[] rzMap = Arrays.copyOf(wMap, 2 * hs);
        RecurrentWeights rw = layer.weights().get(d);
        float[] rm = rw.r().toFloatArray();
        PackedMatrix wm = PackedMatrix.ofTransposed(rw.w().toFloatArray(), inputSize, wMap, vector);
        PackedMatrix rz = PackedMatrix.ofTransposed(rm, hidden, rzMap, vector);
        PackedMatrix rn = PackedMatrix.ofTransposed(rm, hidden, nMap, vector);
        float[] wb = rw.wb().toFloatArray();
        float[] rb = rw.rb().toFloatArray();
        float[] sum = new float[3 * hidden];
        for (int j = 0; j < 3 * hidden; j++) {
            sum[j] = j < 2 * hidden || !linearBeforeReset ? wb[j] + rb[j] : wb[j];
        }
        return new Slice(wm, wm.pack(sum), rz, rn, linearBeforeReset ? rn.pack(rb) : null, g0, g1, hidden, whole);
    }

    private static int tileOf(PackedMatrix m, int column) {
        int t = 0;
        while (column >= m.start(t) + m.width(t)) {
            t++;
        }
        return t;
    }

    @Override
    Part fullPart(int d) {
        return full[d];
    }

    /**
     * Slices of direction 0 for a step team of up to {@code parts} participants: whole groups of
     * U units, as even as they come; null without linear_before_reset (see the class comment),
     * fewer than two groups, or too little work per step ({@link LstmKernel#TEAM_STEP_WORK}).
     */
    @Override
    Part[] teamParts(int parts, int rows) {
        int n = Math.min(parts, groups);
        if (!linearBeforeReset || n < 2 || (long) rows * 3 * hidden * hidden < LstmKernel.TEAM_STEP_WORK) {
            return null;
        }
        synchronized (teamSlices) {
            Slice[] sl = teamSlices[n];
            if (sl == null) {
                sl = new Slice[n];
                for (int p = 0; p < n; p++) {
                    sl[p] = slice(0, groups * p / n, groups * (p + 1) / n, false);
                }
                teamSlices[n] = sl;
            }
            return sl;
        }
    }

    /** The GRU's own buffers beside {@link RecurrentKernel.Work}'s (acc: the tiles of R_rz^T). */
    static final class GruWork extends Work {
        /** n's accumulators of up to four rows, per tile of R_n^T [4, TILE]. */
        final float[][] accN;
        /** r * h of up to four rows [4, hStride], zero past H (without linear_before_reset), else null. */
        final float[] rh;
        /** Those rows' activated r and z (per group: r of U units, then z) [4, 2 hs], in double. */
        final double[] sg;
        /** Their candidate pre-activations, then n, [4, hs], in double (vectorised path). */
        final double[] tn;

        GruWork(GruKernel k, Slice sl, int d, int b0, int rows, int batch, int steps, int[] len, float[] hA, float[] hB) {
            super(k, sl, d, b0, rows, batch, steps, len, sl.rz.tileCount(), hA, hB);
            accN = new float[sl.rn.tileCount()][4 * TILE];
            rh = k.linearBeforeReset ? null : new float[4 * k.hStride];
            sg = new double[4 * 2 * sl.hs];
            tn = new double[4 * sl.hs];
        }
    }

    @Override
    GruWork newWork(int d, int b0, int rows, int batch, int steps, int[] len) {
        return new GruWork(this, full[d], d, b0, rows, batch, steps, len, null, null);
    }

    @Override
    GruWork newPartWork(Part part, int d, int b0, int rows, int batch, int steps, int[] len, float[] hA, float[] hB) {
        return new GruWork(this, (Slice) part, d, b0, rows, batch, steps, len, hA, hB);
    }

    /** One time step of the running rows (see {@link RecurrentKernel#recur}). */
    @Override
    void recur(GruWork wk, int na, float[] hCur, float[] hNext) {
        int d = wk.d;
        int kp = hStride;
        Slice sl = (Slice) wk.part;
        int hs = sl.hs;
        PackedMatrix mrz = sl.rz;
        PackedMatrix mn = sl.rn;
        int[] act = wk.act;
        for (int i = 0; i < na; ) {
            int n = Math.min(mrz.rowsAtOnce(na - i), mn.rowsAtOnce(na - i));
            // r, z: projected inputs + h R_rz^T.
            for (int t = 0; t < mrz.tileCount(); t++) {
                float[] acc = wk.acc[t];
                int width = mrz.width(t);
                int c0 = mrz.start(t);
                int copy = Math.min(width, 2 * hs - c0);
                for (int m = 0; m < n; m++) {
                    System.arraycopy(wk.xw, wk.xwRow[i + m] + c0, acc, m * TILE, copy);
                }
                mrz.mulRows(t, n, acc, hCur, act, i, kp);
            }
            if (linearBeforeReset) {
                // R_n h + Rb_n, apart from n's input projection: r scales it.
                for (int t = 0; t < mn.tileCount(); t++) {
                    float[] acc = wk.accN[t];
                    int width = mn.width(t);
                    for (int m = 0; m < n; m++) {
                        System.arraycopy(sl.rbn, mn.start(t), acc, m * TILE, width);
                    }
                    mn.mulRows(t, n, acc, hCur, act, i, kp);
                }
            }
            if (fast[d]) {
                gatesFast(sl, n, wk);
            } else {
                gatesGeneric(sl, d, n, wk);
            }
            if (!linearBeforeReset) {
                // n's input projection (Rb_n included) + (r * h) R_n^T.
                resetHidden(sl, n, i, wk, hCur);
                for (int t = 0; t < mn.tileCount(); t++) {
                    float[] acc = wk.accN[t];
                    int width = mn.width(t);
                    int c0 = mn.start(t);
                    int copy = Math.min(width, hs - c0);
                    for (int m = 0; m < n; m++) {
                        System.arraycopy(wk.xw, wk.xwRow[i + m] + 2 * hs + c0, acc, m * TILE, copy);
                    }
                    mn.mulRows(t, n, acc, wk.rh, RH_ROWS, 0, kp);
                }
            }
            if (fast[d]) {
                updateFast(sl, n, i, wk, hCur, hNext);
            } else {
                updateGeneric(sl, d, n, i, wk, hCur, hNext);
            }
            i += n;
        }
    }

    /** The rows of {@code wk.rh} (r * h of the step's rows, one after another). */
    private static final int[] RH_ROWS = {0, 1, 2, 3};

    /** r and z of the n rows from their pre-activations in {@code wk.acc}: sigmoid in double, vectorised. */
    private void gatesFast(Slice sl, int n, GruWork wk) {
        double[] sg = wk.sg;
        int hs = sl.hs;
        for (int l = 0; l < sl.g1 - sl.g0; l++) {
            float[] acc = wk.acc[sl.rzTile[l]];
            for (int m = 0; m < n; m++) {
                int a = m * TILE + sl.rzOffset[l];
                int so = m * 2 * hs + l * GROUP;
                for (int j = 0; j < GROUP; j++) {
                    sg[so + j] = acc[a + j];
                }
            }
        }
        GateMath.sigmoid(sg, 0, n * 2 * hs);
    }

    /** As {@link #gatesFast}, for any gate function and clip: float, one value at a time. */
    private void gatesGeneric(Slice sl, int d, int n, GruWork wk) {
        double[] sg = wk.sg;
        int hs = sl.hs;
        ActivationFn fa = fAct[d];
        for (int l = 0; l < sl.g1 - sl.g0; l++) {
            float[] acc = wk.acc[sl.rzTile[l]];
            int nu = Math.min(U, hidden - (sl.g0 + l) * U);
            for (int m = 0; m < n; m++) {
                int a = m * TILE + sl.rzOffset[l];
                int so = m * 2 * hs + l * GROUP;
                for (int u = 0; u < nu; u++) {
                    sg[so + u] = fa.apply(clip(acc[a + u], clip));
                    sg[so + U + u] = fa.apply(clip(acc[a + U + u], clip));
                }
            }
        }
    }

    /** {@code wk.rh} = r * h of the n rows, rounded to float (the input of their R_n product). */
    private void resetHidden(Slice sl, int n, int i, GruWork wk, float[] hCur) {
        int kp = hStride;
        int hs = sl.hs;
        for (int m = 0; m < n; m++) {
            int ho = wk.act[i + m] * kp;
            for (int l = 0; l < sl.g1 - sl.g0; l++) {
                int g = sl.g0 + l;
                int nu = Math.min(U, hidden - g * U);
                int so = m * 2 * hs + l * GROUP;
                int o = g * U;
                for (int u = 0; u < nu; u++) {
                    wk.rh[m * kp + o + u] = (float) (wk.sg[so + u] * hCur[ho + o + u]);
                }
            }
        }
    }

    /** n = tanh(...) and h' = (1 - z) n + z h of the n rows in double (GateMath), h' rounded to float once. */
    private void updateFast(Slice sl, int n, int i, GruWork wk, float[] hCur, float[] hNext) {
        int hs = sl.hs;
        int kp = hStride;
        int ng = sl.g1 - sl.g0;
        double[] sg = wk.sg;
        double[] tn = wk.tn;
        for (int m = 0; m < n; m++) {
            int xo = wk.xwRow[i + m] + 2 * hs;
            for (int l = 0; l < ng; l++) {
                float[] an = wk.accN[sl.nTile[l]];
                int ao = m * TILE + sl.nOffset[l];
                int nu = Math.min(U, hidden - (sl.g0 + l) * U);
                int so = m * 2 * hs + l * GROUP;
                int to = m * hs + l * U;
                if (linearBeforeReset) {
                    for (int u = 0; u < nu; u++) {
                        tn[to + u] = wk.xw[xo + l * U + u] + sg[so + u] * an[ao + u];
                    }
                } else {
                    for (int u = 0; u < nu; u++) {
                        tn[to + u] = an[ao + u];
                    }
                }
            }
        }
        GateMath.tanh(tn, 0, n * hs);
        for (int m = 0; m < n; m++) {
            int ho = wk.act[i + m] * kp;
            for (int l = 0; l < ng; l++) {
                int g = sl.g0 + l;
                int nu = Math.min(U, hidden - g * U);
                int so = m * 2 * hs + l * GROUP + U;
                int to = m * hs + l * U;
                int o = ho + g * U;
                for (int u = 0; u < nu; u++) {
                    double z = sg[so + u];
                    hNext[o + u] = (float) ((1 - z) * tn[to + u] + z * hCur[o + u]);
                }
            }
        }
    }

    /** As {@link #updateFast}, for any candidate function and clip: the float equations, one unit at a time. */
    private void updateGeneric(Slice sl, int d, int n, int i, GruWork wk, float[] hCur, float[] hNext) {
        int hs = sl.hs;
        int kp = hStride;
        ActivationFn ga = gAct[d];
        for (int m = 0; m < n; m++) {
            int xo = wk.xwRow[i + m] + 2 * hs;
            int ho = wk.act[i + m] * kp;
            for (int l = 0; l < sl.g1 - sl.g0; l++) {
                float[] an = wk.accN[sl.nTile[l]];
                int ao = m * TILE + sl.nOffset[l];
                int g = sl.g0 + l;
                int nu = Math.min(U, hidden - g * U);
                int so = m * 2 * hs + l * GROUP;
                for (int u = 0; u < nu; u++) {
                    int unit = g * U + u;
                    float r = (float) wk.sg[so + u];
                    float z = (float) wk.sg[so + U + u];
                    float pre = linearBeforeReset ? wk.xw[xo + l * U + u] + r * an[ao + u] : an[ao + u];
                    float cand = ga.apply(clip(pre, clip));
                    hNext[ho + unit] = (1 - z) * cand + z * hCur[ho + unit];
                }
            }
        }
    }
}
