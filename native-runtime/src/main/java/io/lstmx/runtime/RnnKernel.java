package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;

/**
 * The simple RNN kernel of the native runtime: one {@link Layer.Rnn} (all its directions) over a
 * whole batch of sequences, in float32, with ONNX semantics. Directions, layouts, sequence lengths,
 * initial states, the input projection, Y and the split over threads are {@link RecurrentKernel}'s.
 *
 * <h2>What it computes</h2>
 * For each direction, batch row and time step, with f the direction's {@link ActivationFn} (tanh
 * by default) and {@code clip(v)} bounding v to [-clip, clip] when the layer has a clip:
 * <pre>
 *   h' = f(clip(W x_t + R h + Wb + Rb))
 * </pre>
 *
 * <h2>How</h2>
 * W^T [I, H] and R^T [H, H] are laid out for {@link PackedMatrix} (columns in unit order); the input
 * projection X W^T adds Wb + Rb. Each step adds h R^T to the projected inputs of the running rows,
 * four rows at a time (each R^T value loaded serves four rows; rows left over go one at a time),
 * then applies f: for tanh without clip in double with {@link GateMath#tanh} (vectorised) and
 * rounded to float, otherwise in float one value at a time. Sums are float32 fused multiply-adds in
 * order of k. A row's arithmetic is the same whichever rows it is grouped with, so a split over
 * threads gives the same bits.
 */
final class RnnKernel extends RecurrentKernel<RnnKernel.RnnWork> {
    private final int hidden;
    private final float clip;
    /** Per direction: R^T [H, H]. */
    private final PackedMatrix[] r;
    /** Per direction: whether the vectorised path applies (tanh, no clip). */
    private final boolean[] fast;
    private final ActivationFn[] fAct;

    RnnKernel(Layer.Rnn layer) {
        super(layer.spec().inputSize(), layer.spec().hiddenSize(), layer.spec().direction(), layer.spec().layout(),
                layer.spec().hiddenSize(), layer.spec().hiddenSize());
        RecurrentSpec spec = layer.spec();
        hidden = spec.hiddenSize();
        clip = spec.clip() == null ? Float.POSITIVE_INFINITY : spec.clip();
        r = new PackedMatrix[dirs];
        fast = new boolean[dirs];
        fAct = new ActivationFn[dirs];
        for (int d = 0; d < dirs; d++) {
            RecurrentWeights rw = layer.weights().get(d);
            w[d] = PackedMatrix.ofTransposed(rw.w().toFloatArray(), hidden, inputSize, vector);
            r[d] = PackedMatrix.ofTransposed(rw.r().toFloatArray(), hidden, hidden, vector);
            float[] wb = rw.wb().toFloatArray();
            float[] rb = rw.rb().toFloatArray();
            float[] sum = new float[hidden];
            for (int j = 0; j < hidden; j++) {
                sum[j] = wb[j] + rb[j];
            }
            xwBias[d] = w[d].pack(sum);
            fAct[d] = spec.activations().get(d);
            fast[d] = fAct[d].kind() == ActivationFn.Kind.TANH && spec.clip() == null;
        }
    }

    /** The RNN's own buffer beside {@link RecurrentKernel.Work}'s (acc: the tiles of R^T). */
    static final class RnnWork extends Work {
        /** Pre-activations of up to four rows [4, H], in double (vectorised path). */
        final double[] pre;

        RnnWork(RnnKernel k, int d, int b0, int rows, int batch, int steps, int[] len) {
            super(k, d, b0, rows, batch, steps, len, k.r[0].tileCount());
            pre = new double[4 * k.hidden];
        }
    }

    @Override
    RnnWork newWork(int d, int b0, int rows, int batch, int steps, int[] len) {
        return new RnnWork(this, d, b0, rows, batch, steps, len);
    }

    /** One time step of the running rows (see {@link RecurrentKernel#recur}). */
    @Override
    void recur(RnnWork wk, int na, float[] hCur, float[] hNext) {
        int d = wk.d;
        int kp = hStride;
        PackedMatrix rm = r[d];
        int[] act = wk.act;
        ActivationFn fa = fAct[d];
        for (int i = 0; i < na; ) {
            int n = rm.rowsAtOnce(na - i);
            for (int t = 0; t < rm.tileCount(); t++) {
                float[] acc = wk.acc[t];
                int width = rm.width(t);
                int c0 = rm.start(t);
                int copy = Math.min(width, hidden - c0);
                for (int m = 0; m < n; m++) {
                    System.arraycopy(wk.xw, wk.xwRow[i + m] + c0, acc, m * TILE, copy);
                }
                rm.mulRows(t, n, acc, hCur, act, i, kp);
                if (fast[d]) {
                    for (int m = 0; m < n; m++) {
                        for (int j = 0; j < copy; j++) {
                            wk.pre[m * hidden + c0 + j] = acc[m * TILE + j];
                        }
                    }
                } else {
                    for (int m = 0; m < n; m++) {
                        int ho = act[i + m] * kp + c0;
                        for (int j = 0; j < copy; j++) {
                            hNext[ho + j] = fa.apply(clip(acc[m * TILE + j], clip));
                        }
                    }
                }
            }
            if (fast[d]) {
                GateMath.tanh(wk.pre, 0, n * hidden);
                for (int m = 0; m < n; m++) {
                    int ho = act[i + m] * kp;
                    for (int u = 0; u < hidden; u++) {
                        hNext[ho + u] = (float) wk.pre[m * hidden + u];
                    }
                }
            }
            i += n;
        }
    }
}
