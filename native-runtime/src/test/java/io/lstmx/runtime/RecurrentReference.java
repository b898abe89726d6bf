package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layout;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;

import java.util.List;

/**
 * Independent, deliberately naive GRU and simple RNN in double precision, written straight from the
 * equations of the Layer.Gru and Layer.Rnn Javadoc (ONNX GRU / RNN semantics), one scalar at a time.
 * Shares no code with the runtime: its own indexing, no buffers reused, activations from
 * {@link LstmReference#act} (test code, also independent of the runtime).
 */
final class RecurrentReference {
    private RecurrentReference() {
    }

    /** Y and Y_h in the spec's layout (Y_h zero for rows of length 0, as onnxruntime). */
    record Out(double[] y, double[] yh) {
    }

    /**
     * GRU, gates r, z, n (canonical order) in W [3H, I], R [3H, H], Wb, Rb [3H]:
     * <pre>
     *   r  = f(clip(W_r x + R_r h + Wb_r + Rb_r))
     *   z  = f(clip(W_z x + R_z h + Wb_z + Rb_z))
     *   n  = g(clip(W_n x + Wb_n + r * (R_n h + Rb_n)))      linear_before_reset
     *   n  = g(clip(W_n x + Wb_n + R_n (r * h) + Rb_n))      otherwise
     *   h' = (1 - z) * n + z * h
     * </pre>
     *
     * @param x    [T, B, I] time-major or [B, T, I] batch-major
     * @param lens per-row lengths or null
     * @param h0   initial h in the layout ([D, B, H] or [B, D, H]) or null
     */
    static Out gru(RecurrentSpec spec, List<RecurrentWeights> ws, float[] x, int steps, int batch, int[] lens, float[] h0) {
        return run(spec, ws, x, steps, batch, lens, h0, true, null, false);
    }

    /** GRU with a per-step mask (Keras's rule, see {@link LstmReference#run(io.lstmx.ir.LstmSpec, List, float[], int, int, int[], float[], float[], float[], boolean)}). */
    static Out gru(RecurrentSpec spec, List<RecurrentWeights> ws, float[] x, int steps, int batch, float[] h0, float[] mask, boolean zeroMasked) {
        return run(spec, ws, x, steps, batch, null, h0, true, mask, zeroMasked);
    }

    /** Simple RNN with a per-step mask. */
    static Out rnn(RecurrentSpec spec, List<RecurrentWeights> ws, float[] x, int steps, int batch, float[] h0, float[] mask, boolean zeroMasked) {
        return run(spec, ws, x, steps, batch, null, h0, false, mask, zeroMasked);
    }

    /** Simple RNN: h' = f(clip(W x + R h + Wb + Rb)), W [H, I], R [H, H]. Arguments as for {@link #gru}. */
    static Out rnn(RecurrentSpec spec, List<RecurrentWeights> ws, float[] x, int steps, int batch, int[] lens, float[] h0) {
        return run(spec, ws, x, steps, batch, lens, h0, false, null, false);
    }

    private static Out run(RecurrentSpec spec, List<RecurrentWeights> ws, float[] x, int steps, int batch, int[] lens, float[] h0,
                           boolean gru, float[] mask, boolean zeroMasked) {
        int in = spec.inputSize();
        int hid = spec.hiddenSize();
        int dirs = spec.direction().count();
        boolean bm = spec.layout() == Layout.BATCH_MAJOR;
        double clip = spec.clip() == null ? Double.POSITIVE_INFINITY : spec.clip();
        double[] y = new double[steps * dirs * batch * hid];
        double[] yh = new double[dirs * batch * hid];
        for (int d = 0; d < dirs; d++) {
            boolean reverse = spec.direction() == Direction.REVERSE || (spec.direction() == Direction.BIDIRECTIONAL && d == 1);
            RecurrentWeights w = ws.get(d);
            float[] wm = w.w().toFloatArray();
            float[] rm = w.r().toFloatArray();
            float[] wb = w.wb().toFloatArray();
            float[] rb = w.rb().toFloatArray();
            int acts = gru ? 2 : 1;
            ActivationFn f = spec.activations().get(acts * d);
            ActivationFn g = gru ? spec.activations().get(acts * d + 1) : null;
            for (int b = 0; b < batch; b++) {
                double[] h = new double[hid];
                for (int k = 0; k < hid; k++) {
                    h[k] = h0 == null ? 0 : h0[bm ? (b * dirs + d) * hid + k : (d * batch + b) * hid + k];
                }
                int len = lens == null ? steps : lens[b];
                double[] prevOut = new double[hid];
                for (int s = 0; s < len; s++) {
                    int t = reverse ? len - 1 - s : s;
                    if (mask != null && mask[bm ? b * steps + t : t * batch + b] == 0) {
                        for (int k = 0; k < hid; k++) {
                            y[bm ? ((b * steps + t) * dirs + d) * hid + k : ((t * dirs + d) * batch + b) * hid + k] = zeroMasked ? 0 : prevOut[k];
                        }
                        continue;
                    }
                    double[] xt = new double[in];
                    for (int k = 0; k < in; k++) {
                        xt[k] = x[bm ? (b * steps + t) * in + k : (t * batch + b) * in + k];
                    }
                    double[] hNew = new double[hid];
                    if (gru) {
                        double[] r = new double[hid];
                        double[] z = new double[hid];
                        for (int j = 0; j < hid; j++) {
                            r[j] = LstmReference.act(f, clamp(dot(wm, j, in, xt) + dot(rm, j, hid, h) + wb[j] + rb[j], clip));
                            int jz = hid + j;
                            z[j] = LstmReference.act(f, clamp(dot(wm, jz, in, xt) + dot(rm, jz, hid, h) + wb[jz] + rb[jz], clip));
                        }
                        double[] rh = new double[hid];
                        for (int k = 0; k < hid; k++) {
                            rh[k] = r[k] * h[k];
                        }
                        for (int j = 0; j < hid; j++) {
                            int jn = 2 * hid + j;
                            double pre = spec.linearBeforeReset()
                                    ? dot(wm, jn, in, xt) + wb[jn] + r[j] * (dot(rm, jn, hid, h) + rb[jn])
                                    : dot(wm, jn, in, xt) + wb[jn] + dot(rm, jn, hid, rh) + rb[jn];
                            double n = LstmReference.act(g, clamp(pre, clip));
                            hNew[j] = (1 - z[j]) * n + z[j] * h[j];
                        }
                    } else {
                        for (int j = 0; j < hid; j++) {
                            hNew[j] = LstmReference.act(f, clamp(dot(wm, j, in, xt) + dot(rm, j, hid, h) + wb[j] + rb[j], clip));
                        }
                    }
                    h = hNew;
                    prevOut = h;
                    for (int k = 0; k < hid; k++) {
                        y[bm ? ((b * steps + t) * dirs + d) * hid + k : ((t * dirs + d) * batch + b) * hid + k] = h[k];
                    }
                }
                for (int k = 0; k < hid; k++) {
                    yh[bm ? (b * dirs + d) * hid + k : (d * batch + b) * hid + k] = len == 0 ? 0 : h[k];
                }
            }
        }
        return new Out(y, yh);
    }

    /** Row j of the row-major matrix m [*, cols] times v. */
    private static double dot(float[] m, int j, int cols, double[] v) {
        double s = 0;
        for (int k = 0; k < cols; k++) {
            s += m[j * cols + k] * v[k];
        }
        return s;
    }

    private static double clamp(double v, double limit) {
        return Math.max(-limit, Math.min(limit, v));
    }
}
