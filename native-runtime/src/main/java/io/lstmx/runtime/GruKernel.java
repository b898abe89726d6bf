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
    /** Per direction: R_rz^T [H, 2 hiddenPadded], columns grouped as W's first 2 hiddenPadded. */
    private final PackedMatrix[] rz;
    /** Per direction: R_n^T [H, H], columns in unit order. */
    private final PackedMatrix[] rn;
    /** Per direction with linear_before_reset: Rb_n in R_n's packed order (the start of R_n h + Rb_n); else null. */
    private final float[][] rbn;
    /** Per group of U units: the tile of R_rz holding its columns and its first column there; the same in R_n. */
    private final int[] rzTile;
    private final int[] rzOffset;
    private final int[] nTile;
    private final int[] nOffset;
    /** Per direction: whether the vectorised path applies (sigmoid, tanh, no clip). */
    private final boolean[] fast;
    private final ActivationFn[] fAct;
    private final ActivationFn[] gAct;

    GruKernel(Layer.Gru layer) {
        super(layer.spec().inputSize(), layer.spec().hiddenSize(), layer.spec().direction(), layer.spec().layout(),
                3 * PackedMatrix.roundUp(layer.spec().hiddenSize(), U), 3L * layer.spec().hiddenSize());
        RecurrentSpec spec = layer.spec();
        hidden = spec.hiddenSize();
        hiddenPadded = PackedMatrix.roundUp(hidden, U);
        groups = hiddenPadded / U;
        linearBeforeReset = spec.linearBeforeReset();
        clip = spec.clip() == null ? Float.POSITIVE_INFINITY : spec.clip();
        int hp = hiddenPadded;
        int[] wMap = new int[3 * hp];
        for (int c = 0; c < 2 * hp; c++) {
            int unit = c / GROUP * U + c % U;
            wMap[c] = unit < hidden ? (c % GROUP / U) * hidden + unit : -1; // gate 0 = r, 1 = z
        }
        for (int u = 0; u < hp; u++) {
            wMap[2 * hp + u] = u < hidden ? 2 * hidden + u : -1;
        }
        int[] rzMap = Arrays.copyOf(wMap, 2 * hp);
        int[] nMap = new int[hidden];
        for (int u = 0; u < hidden; u++) {
            nMap[u] = 2 * hidden + u;
        }
        rz = new PackedMatrix[dirs];
        rn = new PackedMatrix[dirs];
        rbn = new float[dirs][];
        fast = new boolean[dirs];
        fAct = new ActivationFn[dirs];
        gAct = new ActivationFn[dirs];
        for (int d = 0; d < dirs; d++) {
            RecurrentWeights rw = layer.weights().get(d);
            float[] rm = rw.r().toFloatArray();
            w[d] = PackedMatrix.ofTransposed(rw.w().toFloatArray(), inputSize, wMap);
            rz[d] = PackedMatrix.ofTransposed(rm, hidden, rzMap);
            rn[d] = PackedMatrix.ofTransposed(rm, hidden, nMap);
            float[] wb = rw.wb().toFloatArray();
            float[] rb = rw.rb().toFloatArray();
            float[] sum = new float[3 * hidden];
            for (int j = 0; j < 3 * hidden; j++) {
                sum[j] = j < 2 * hidden || !linearBeforeReset ? wb[j] + rb[j] : wb[j];
            }
            xwBias[d] = w[d].pack(sum);
            rbn[d] = linearBeforeReset ? rn[d].pack(rb) : null;
            fAct[d] = spec.activations().get(2 * d);
            gAct[d] = spec.activations().get(2 * d + 1);
            fast[d] = fAct[d].kind() == ActivationFn.Kind.SIGMOID && gAct[d].kind() == ActivationFn.Kind.TANH && spec.clip() == null;
        }
        rzTile = new int[groups];
        rzOffset = new int[groups];
        nTile = new int[groups];
        nOffset = new int[groups];
        for (int g = 0; g < groups; g++) {
            // Tiles are 128 or 512 columns wide and start at multiples of 128: a group (64 or 32
            // columns, starting at a multiple of its size) never straddles two.
            rzTile[g] = tileOf(rz[0], g * GROUP);
            rzOffset[g] = g * GROUP - rz[0].start(rzTile[g]);
            nTile[g] = tileOf(rn[0], g * U);
            nOffset[g] = g * U - rn[0].start(nTile[g]);
        }
    }

    private static int tileOf(PackedMatrix m, int column) {
        int t = 0;
        while (column >= m.start(t) + m.width(t)) {
            t++;
        }
        return t;
    }

    /** The GRU's own buffers beside {@link RecurrentKernel.Work}'s (acc: the tiles of R_rz^T). */
    static final class GruWork extends Work {
        /** n's accumulators of up to four rows, per tile of R_n^T [4, TILE]. */
        final float[][] accN;
        /** r * h of up to four rows [4, hStride], zero past H (without linear_before_reset), else null. */
        final float[] rh;
        /** Those rows' activated r and z (per group: r of U units, then z) [4, 2 hiddenPadded], in double. */
        final double[] sg;
        /** Their candidate pre-activations, then n, [4, hiddenPadded], in double (vectorised path). */
        final double[] tn;

        GruWork(GruKernel k, int d, int b0, int rows, int batch, int steps, int[] len) {
            super(k, d, b0, rows, batch, steps, len, k.rz[0].tileCount());
            accN = new float[k.rn[0].tileCount()][4 * TILE];
            rh = k.linearBeforeReset ? null : new float[4 * k.hStride];
            sg = new double[4 * 2 * k.hiddenPadded];
            tn = new double[4 * k.hiddenPadded];
        }
    }

    @Override
    GruWork newWork(int d, int b0, int rows, int batch, int steps, int[] len) {
        return new GruWork(this, d, b0, rows, batch, steps, len);
    }

    /** One time step of the running rows (see {@link RecurrentKernel#recur}). */
    @Override
    void recur(GruWork wk, int na, float[] hCur, float[] hNext) {
        int d = wk.d;
        int kp = hStride;
        int hp = hiddenPadded;
        PackedMatrix mrz = rz[d];
        PackedMatrix mn = rn[d];
        int[] act = wk.act;
        for (int i = 0; i < na; ) {
            int n = na - i >= 4 ? 4 : 1;
            // r, z: projected inputs + h R_rz^T.
            for (int t = 0; t < mrz.tileCount(); t++) {
                float[] acc = wk.acc[t];
                int width = mrz.width(t);
                int c0 = mrz.start(t);
                int copy = Math.min(width, 2 * hp - c0);
                for (int m = 0; m < n; m++) {
                    System.arraycopy(wk.xw, wk.xwRow[i + m] + c0, acc, m * TILE, copy);
                }
                multiply(acc, mrz, t, n, hCur, act, i, kp);
            }
            if (linearBeforeReset) {
                // R_n h + Rb_n, apart from n's input projection: r scales it.
                for (int t = 0; t < mn.tileCount(); t++) {
                    float[] acc = wk.accN[t];
                    int width = mn.width(t);
                    for (int m = 0; m < n; m++) {
                        System.arraycopy(rbn[d], mn.start(t), acc, m * TILE, width);
                    }
                    multiply(acc, mn, t, n, hCur, act, i, kp);
                }
            }
            if (fast[d]) {
                gatesFast(n, wk);
            } else {
                gatesGeneric(d, n, wk);
            }
            if (!linearBeforeReset) {
                // n's input projection (Rb_n included) + (r * h) R_n^T.
                resetHidden(n, i, wk, hCur);
                for (int t = 0; t < mn.tileCount(); t++) {
                    float[] acc = wk.accN[t];
                    int width = mn.width(t);
                    int c0 = mn.start(t);
                    int copy = Math.min(width, hp - c0);
                    for (int m = 0; m < n; m++) {
                        System.arraycopy(wk.xw, wk.xwRow[i + m] + 2 * hp + c0, acc, m * TILE, copy);
                    }
                    if (n == 4) {
                        PackedMatrix.mul4(acc, mn.tiles[t], kp, width, wk.rh, 0, kp, 2 * kp, 3 * kp);
                    } else {
                        PackedMatrix.mul1(acc, mn.tiles[t], kp, width, wk.rh, 0);
                    }
                }
            }
            if (fast[d]) {
                updateFast(n, i, wk, hCur, hNext);
            } else {
                updateGeneric(d, n, i, wk, hCur, hNext);
            }
            i += n;
        }
    }

    /** acc += h B for tile t of B, rows act[i..i+n) of h (n = 4 or 1). */
    private static void multiply(float[] acc, PackedMatrix b, int t, int n, float[] h, int[] act, int i, int kp) {
        if (n == 4) {
            PackedMatrix.mul4(acc, b.tiles[t], kp, b.width(t), h, act[i] * kp, act[i + 1] * kp, act[i + 2] * kp, act[i + 3] * kp);
        } else {
            PackedMatrix.mul1(acc, b.tiles[t], kp, b.width(t), h, act[i] * kp);
        }
    }

    /** r and z of the n rows from their pre-activations in {@code wk.acc}: sigmoid in double, vectorised. */
    private void gatesFast(int n, GruWork wk) {
        double[] sg = wk.sg;
        for (int g = 0; g < groups; g++) {
            float[] acc = wk.acc[rzTile[g]];
            for (int m = 0; m < n; m++) {
                int a = m * TILE + rzOffset[g];
                int so = m * 2 * hiddenPadded + g * GROUP;
                for (int j = 0; j < GROUP; j++) {
                    sg[so + j] = acc[a + j];
                }
            }
        }
        GateMath.sigmoid(sg, 0, n * 2 * hiddenPadded);
    }

    /** As {@link #gatesFast}, for any gate function and clip: float, one value at a time. */
    private void gatesGeneric(int d, int n, GruWork wk) {
        double[] sg = wk.sg;
        ActivationFn fa = fAct[d];
        for (int g = 0; g < groups; g++) {
            float[] acc = wk.acc[rzTile[g]];
            int nu = Math.min(U, hidden - g * U);
            for (int m = 0; m < n; m++) {
                int a = m * TILE + rzOffset[g];
                int so = m * 2 * hiddenPadded + g * GROUP;
                for (int u = 0; u < nu; u++) {
                    sg[so + u] = fa.apply(clip(acc[a + u], clip));
                    sg[so + U + u] = fa.apply(clip(acc[a + U + u], clip));
                }
            }
        }
    }

    /** {@code wk.rh} = r * h of the n rows, rounded to float (the input of their R_n product). */
    private void resetHidden(int n, int i, GruWork wk, float[] hCur) {
        int kp = hStride;
        for (int m = 0; m < n; m++) {
            int ho = wk.act[i + m] * kp;
            for (int g = 0; g < groups; g++) {
                int nu = Math.min(U, hidden - g * U);
                int so = m * 2 * hiddenPadded + g * GROUP;
                int o = g * U;
                for (int u = 0; u < nu; u++) {
                    wk.rh[m * kp + o + u] = (float) (wk.sg[so + u] * hCur[ho + o + u]);
                }
            }
        }
    }

    /** n = tanh(...) and h' = (1 - z) n + z h of the n rows in double (GateMath), h' rounded to float once. */
    private void updateFast(int n, int i, GruWork wk, float[] hCur, float[] hNext) {
        int hp = hiddenPadded;
        int kp = hStride;
        double[] sg = wk.sg;
        double[] tn = wk.tn;
        for (int m = 0; m < n; m++) {
            int xo = wk.xwRow[i + m] + 2 * hp;
            for (int g = 0; g < groups; g++) {
                float[] an = wk.accN[nTile[g]];
                int ao = m * TILE + nOffset[g];
                int nu = Math.min(U, hidden - g * U);
                int so = m * 2 * hp + g * GROUP;
                int to = m * hp + g * U;
                if (linearBeforeReset) {
                    for (int u = 0; u < nu; u++) {
                        tn[to + u] = wk.xw[xo + g * U + u] + sg[so + u] * an[ao + u];
                    }
                } else {
                    for (int u = 0; u < nu; u++) {
                        tn[to + u] = an[ao + u];
                    }
                }
            }
        }
        GateMath.tanh(tn, 0, n * hp);
        for (int m = 0; m < n; m++) {
            int ho = wk.act[i + m] * kp;
            for (int g = 0; g < groups; g++) {
                int nu = Math.min(U, hidden - g * U);
                int so = m * 2 * hp + g * GROUP + U;
                int to = m * hp + g * U;
                int o = ho + g * U;
                for (int u = 0; u < nu; u++) {
                    double z = sg[so + u];
                    hNext[o + u] = (float) ((1 - z) * tn[to + u] + z * hCur[o + u]);
                }
            }
        }
    }

    /** As {@link #updateFast}, for any candidate function and clip: the float equations, one unit at a time. */
    private void updateGeneric(int d, int n, int i, GruWork wk, float[] hCur, float[] hNext) {
        int hp = hiddenPadded;
        int kp = hStride;
        ActivationFn ga = gAct[d];
        for (int m = 0; m < n; m++) {
            int xo = wk.xwRow[i + m] + 2 * hp;
            int ho = wk.act[i + m] * kp;
            for (int g = 0; g < groups; g++) {
                float[] an = wk.accN[nTile[g]];
                int ao = m * TILE + nOffset[g];
                int nu = Math.min(U, hidden - g * U);
                int so = m * 2 * hp + g * GROUP;
                for (int u = 0; u < nu; u++) {
                    int unit = g * U + u;
                    float r = (float) wk.sg[so + u];
                    float z = (float) wk.sg[so + U + u];
                    float pre = linearBeforeReset ? wk.xw[xo + unit] + r * an[ao + u] : an[ao + u];
                    float cand = ga.apply(clip(pre, clip));
                    hNext[ho + unit] = (1 - z) * cand + z * hCur[ho + unit];
                }
            }
        }
    }
}
