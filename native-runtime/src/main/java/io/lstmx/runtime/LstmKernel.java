package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;

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
 * Weights are laid out once, at compile time, transposed to [K, 4H] (W^T, R^T, Proj^T) so that every
 * product is a sequence of contiguous {@code y += a * row} updates (axpy), which the JIT vectorises;
 * four rows are applied per pass ({@code axpy4}) so that the destination row is loaded and stored
 * once per four multiply-adds; the two biases are summed once. Per call:
 * <ol>
 *   <li>the input projection of all time steps, X W^T + Wb + Rb, is one GEMM into a [T*B, 4H]
 *       buffer before the time loop (it does not depend on the recurrence);</li>
 *   <li>each step copies the rows of the still-active batch rows into the gate buffer and adds
 *       h R^T, iterating over R^T rows in the outer loop so that each R^T row is reused by every
 *       batch row while it is in cache;</li>
 *   <li>the element-wise gate maths runs block-wise (one activation function per block);</li>
 *   <li>h is written into Y directly at its layout position.</li>
 * </ol>
 * All buffers (gate pre-activations, h, c, the unprojected h, the active-row list) are allocated
 * once per call before the time loop; nothing is allocated inside it. Accumulation is float32,
 * like onnxruntime's, so results agree with it to float rounding.
 * <p>
 * Instances hold only read-only prepared weights: one kernel may run on many threads at once.
 */
final class LstmKernel {
    private final int inputSize;
    private final int hidden;
    /** Width of h: P when projected, else H. */
    private final int hOut;
    private final int dirs;
    private final boolean batchMajor;
    private final boolean inputForget;
    private final float clip;
    private final boolean[] reverse;
    /** Per direction: W^T [I, 4H]. */
    private final float[][] wT;
    /** Per direction: R^T [hOut, 4H]. */
    private final float[][] rT;
    /** Per direction: Wb + Rb [4H]. */
    private final float[][] bias;
    /** Per direction: peepholes [3H] (i, f, o) or null. */
    private final float[][] peep;
    /** Per direction: Proj^T [H, P] or null. */
    private final float[][] projT;
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
        reverse = new boolean[dirs];
        wT = new float[dirs][];
        rT = new float[dirs][];
        bias = new float[dirs][];
        peep = new float[dirs][];
        projT = new float[dirs][];
        fAct = new ActivationFn[dirs];
        gAct = new ActivationFn[dirs];
        hAct = new ActivationFn[dirs];
        int g4 = 4 * hidden;
        for (int d = 0; d < dirs; d++) {
            reverse[d] = spec.direction() == Direction.REVERSE || (spec.direction() == Direction.BIDIRECTIONAL && d == 1);
            LstmWeights w = layer.weights().get(d);
            wT[d] = transpose(w.w().toFloatArray(), g4, inputSize);
            rT[d] = transpose(w.r().toFloatArray(), g4, hOut);
            float[] wb = w.wb().toFloatArray();
            float[] rb = w.rb().toFloatArray();
            bias[d] = new float[g4];
            for (int j = 0; j < g4; j++) {
                bias[d][j] = wb[j] + rb[j];
            }
            peep[d] = w.peephole() == null ? null : w.peephole().toFloatArray();
            projT[d] = w.projection() == null ? null : transpose(w.projection().toFloatArray(), hOut, hidden);
            fAct[d] = spec.activations().get(3 * d);
            gAct[d] = spec.activations().get(3 * d + 1);
            hAct[d] = spec.activations().get(3 * d + 2);
        }
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

    /** a [rows, cols] row-major to [cols, rows]. */
    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        return t;
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
     * Runs the layer. Arguments are checked by the caller.
     *
     * @param x    input, [T, B, I] time-major or [B, T, I] batch-major
     * @param lens per-row sequence lengths in [0, T], or null for all T
     * @param h0   initial h, [D, B, hOut], or null for zeros
     * @param c0   initial c, [D, B, H], or null for zeros
     * @param wantY whether to produce Y
     */
    Result run(float[] x, int steps, int batch, int[] lens, float[] h0, float[] c0, boolean wantY) {
        int g4 = 4 * hidden;
        float[] y = wantY ? new float[Math.multiplyExact(Math.multiplyExact(steps, dirs), Math.multiplyExact(batch, hOut))] : null;
        float[] hLast = new float[dirs * batch * hOut];
        float[] cLast = new float[dirs * batch * hidden];
        if (h0 != null) {
            System.arraycopy(h0, 0, hLast, 0, hLast.length);
        }
        if (c0 != null) {
            System.arraycopy(c0, 0, cLast, 0, cLast.length);
        }
        int rows = steps * batch;
        // All work buffers, allocated once per call (never inside the time loop).
        float[] xw = new float[Math.multiplyExact(rows, g4)];
        float[] gates = new float[batch * g4];
        float[] h = new float[batch * hOut];
        float[] c = new float[batch * hidden];
        float[] hFull = projT[0] != null ? new float[batch * hidden] : h;
        int[] active = new int[batch];
        int[] timeOf = new int[batch];
        int[] len = new int[batch];
        for (int b = 0; b < batch; b++) {
            len[b] = lens == null ? steps : lens[b];
        }
        for (int d = 0; d < dirs; d++) {
            inputProjection(x, rows, d, xw);
            System.arraycopy(hLast, d * batch * hOut, h, 0, batch * hOut);
            System.arraycopy(cLast, d * batch * hidden, c, 0, batch * hidden);
            timeLoop(d, steps, batch, len, xw, gates, h, c, hFull, active, timeOf, y);
            System.arraycopy(h, 0, hLast, d * batch * hOut, batch * hOut);
            System.arraycopy(c, 0, cLast, d * batch * hidden, batch * hidden);
        }
        return new Result(y, hLast, cLast);
    }

    /** xw[n, :] = x[n, :] W^T + Wb + Rb for every (time, batch) row n, in the input's row order. */
    private void inputProjection(float[] x, int rows, int d, float[] xw) {
        int g4 = 4 * hidden;
        float[] w = wT[d];
        float[] bs = bias[d];
        for (int n = 0; n < rows; n++) {
            int out = n * g4;
            System.arraycopy(bs, 0, xw, out, g4);
            int in = n * inputSize;
            int k = 0;
            for (; k + 3 < inputSize; k += 4) {
                axpy4(x[in + k], x[in + k + 1], x[in + k + 2], x[in + k + 3], w, k * g4, g4, xw, out);
            }
            for (; k < inputSize; k++) {
                axpy(x[in + k], w, k * g4, xw, out, g4);
            }
        }
    }

    private void timeLoop(int d, int steps, int batch, int[] len, float[] xw, float[] gates, float[] h, float[] c,
                          float[] hFull, int[] active, int[] timeOf, float[] y) {
        int g4 = 4 * hidden;
        float[] r = rT[d];
        float[] p = peep[d];
        float[] proj = projT[d];
        boolean rev = reverse[d];
        for (int s = 0; s < steps; s++) {
            int na = 0;
            for (int b = 0; b < batch; b++) {
                if (s < len[b]) {
                    int t = rev ? len[b] - 1 - s : s;
                    timeOf[b] = t;
                    active[na++] = b;
                    int row = batchMajor ? b * steps + t : t * batch + b;
                    System.arraycopy(xw, row * g4, gates, b * g4, g4);
                }
            }
            if (na == 0) {
                break; // s only grows, so no row becomes active again
            }
            // gates += h R^T: each R^T row k serves all active batch rows while in cache.
            int k = 0;
            for (; k + 3 < hOut; k += 4) {
                int rk = k * g4;
                for (int a = 0; a < na; a++) {
                    int hb = active[a] * hOut + k;
                    axpy4(h[hb], h[hb + 1], h[hb + 2], h[hb + 3], r, rk, g4, gates, active[a] * g4);
                }
            }
            for (; k < hOut; k++) {
                int rk = k * g4;
                for (int a = 0; a < na; a++) {
                    int b = active[a];
                    axpy(h[b * hOut + k], r, rk, gates, b * g4, g4);
                }
            }
            for (int a = 0; a < na; a++) {
                int b = active[a];
                cell(d, gates, b * g4, c, b * hidden, p, hFull, b * hidden);
                if (proj != null) {
                    int ho = b * hOut;
                    java.util.Arrays.fill(h, ho, ho + hOut, 0f);
                    for (int q = 0; q < hidden; q++) {
                        axpy(hFull[b * hidden + q], proj, q * hOut, h, ho, hOut);
                    }
                }
                if (y != null) {
                    int t = timeOf[b];
                    int yo = batchMajor ? ((b * steps + t) * dirs + d) * hOut : ((t * dirs + d) * batch + b) * hOut;
                    System.arraycopy(h, b * hOut, y, yo, hOut);
                }
            }
        }
    }

    /**
     * Element-wise part of one step for one batch row: gate pre-activations at {@code gates[go..go+4H)}
     * (consumed), cell state at {@code c[co..co+H)} (updated), new unprojected h written to
     * {@code hOutBuf[ho..ho+H)}.
     */
    private void cell(int d, float[] gates, int go, float[] c, int co, float[] p, float[] hOutBuf, int ho) {
        int n = hidden;
        int gi = go;
        int gf = go + n;
        int gg = go + 2 * n;
        int gO = go + 3 * n;
        if (p != null) {
            for (int j = 0; j < n; j++) {
                float cp = c[co + j];
                gates[gi + j] += p[j] * cp;
                gates[gf + j] += p[n + j] * cp;
            }
        }
        if (clip != Float.POSITIVE_INFINITY) {
            clip(gates, gi, 3 * n, clip);
        }
        Activations.apply(fAct[d], gates, gi, inputForget ? n : 2 * n);
        if (inputForget) {
            for (int j = 0; j < n; j++) {
                gates[gf + j] = 1f - gates[gi + j];
            }
        }
        Activations.apply(gAct[d], gates, gg, n);
        for (int j = 0; j < n; j++) {
            c[co + j] = gates[gf + j] * c[co + j] + gates[gi + j] * gates[gg + j];
        }
        if (p != null) {
            for (int j = 0; j < n; j++) {
                gates[gO + j] += p[2 * n + j] * c[co + j];
            }
        }
        if (clip != Float.POSITIVE_INFINITY) {
            clip(gates, gO, n, clip);
        }
        Activations.apply(fAct[d], gates, gO, n);
        System.arraycopy(c, co, hOutBuf, ho, n);
        Activations.apply(hAct[d], hOutBuf, ho, n);
        for (int j = 0; j < n; j++) {
            hOutBuf[ho + j] *= gates[gO + j];
        }
    }

    private static void clip(float[] a, int off, int len, float limit) {
        for (int j = off; j < off + len; j++) {
            float v = a[j];
            a[j] = v > limit ? limit : (v < -limit ? -limit : v);
        }
    }

    /**
     * y[yo..yo+n) += a0 x[xo..) + a1 x[xo+n..) + a2 x[xo+2n..) + a3 x[xo+3n..): four consecutive
     * rows of a [K, n] matrix at once, so y is loaded and stored once per four rows.
     */
    static void axpy4(float a0, float a1, float a2, float a3, float[] x, int xo, int n, float[] y, int yo) {
        int x1 = xo + n;
        int x2 = xo + 2 * n;
        int x3 = xo + 3 * n;
        for (int j = 0; j < n; j++) {
            y[yo + j] += a0 * x[xo + j] + a1 * x[x1 + j] + a2 * x[x2 + j] + a3 * x[x3 + j];
        }
    }

    /** y[yo..yo+n) += a * x[xo..xo+n). */
    static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        for (int j = 0; j < n; j++) {
            y[yo + j] += a * x[xo + j];
        }
    }
}
