package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;

import java.util.List;

/**
 * An independent, deliberately naive LSTM in double precision, written straight from the equations
 * of the Layer.Lstm Javadoc (ONNX semantics, plus TensorFlow's cell clip and forget bias), one
 * scalar at a time. It shares no code with the
 * runtime: its own activation functions, its own indexing, no buffers reused.
 */
final class LstmReference {
    private LstmReference() {
    }

    /** Y, Y_h, Y_c in the spec's layout (Y_h/Y_c zero for rows of length 0, as onnxruntime). */
    record Out(double[] y, double[] yh, double[] yc) {
    }

    static double act(ActivationFn fn, double x) {
        double a = fn.alpha();
        double b = fn.beta();
        switch (fn.kind()) {
            case SIGMOID: return 1 / (1 + Math.exp(-x));
            case TANH: return Math.tanh(x);
            case RELU: return Math.max(0, x);
            case IDENTITY: return x;
            case LEAKY_RELU: return x >= 0 ? x : a * x;
            case THRESHOLDED_RELU: return x > a ? x : 0;
            case ELU: return x >= 0 ? x : a * (Math.exp(x) - 1);
            case HARD_SIGMOID: return Math.min(1, Math.max(0, a * x + b));
            case AFFINE: return a * x + b;
            case SCALED_TANH: return a * Math.tanh(b * x);
            case SOFTSIGN: return x / (1 + Math.abs(x));
            case SOFTPLUS: return Math.log(1 + Math.exp(x));
            default: throw new AssertionError(fn);
        }
    }

    /**
     * @param x    [T, B, I] time-major or [B, T, I] batch-major
     * @param lens per-row lengths or null
     * @param h0   initial h in the layout ([D, B, Hr] or [B, D, Hr]) or null
     * @param c0   initial c likewise ([.., H]) or null
     */
    static Out run(LstmSpec spec, List<LstmWeights> ws, float[] x, int steps, int batch, int[] lens, float[] h0, float[] c0) {
        return run(spec, ws, x, steps, batch, lens, h0, c0, null, false);
    }

    /**
     * With a per-step mask, as Keras's backend rnn defines it: at a masked step (mask 0) the states
     * stay as they were and the output is the previous step's output (zeros before the first step),
     * or zeros when {@code zeroMasked}.
     *
     * @param mask [T, B] time-major or [B, T] batch-major, or null
     */
    static Out run(LstmSpec spec, List<LstmWeights> ws, float[] x, int steps, int batch, int[] lens, float[] h0, float[] c0,
                   float[] mask, boolean zeroMasked) {
        int in = spec.inputSize();
        int hid = spec.hiddenSize();
        int hr = spec.outputSize();
        int dirs = spec.direction().count();
        boolean bm = spec.layout() == Layout.BATCH_MAJOR;
        double clip = spec.clip() == null ? Double.POSITIVE_INFINITY : spec.clip();
        double cellClip = spec.cellClip() == null ? Double.POSITIVE_INFINITY : spec.cellClip();
        double forgetBias = spec.forgetBias();
        double[] y = new double[steps * dirs * batch * hr];
        double[] yh = new double[dirs * batch * hr];
        double[] yc = new double[dirs * batch * hid];
        for (int d = 0; d < dirs; d++) {
            boolean reverse = spec.direction() == Direction.REVERSE || (spec.direction() == Direction.BIDIRECTIONAL && d == 1);
            LstmWeights w = ws.get(d);
            float[] wm = w.w().toFloatArray();
            float[] rm = w.r().toFloatArray();
            float[] wb = w.wb().toFloatArray();
            float[] rb = w.rb().toFloatArray();
            float[] pp = w.peephole() == null ? null : w.peephole().toFloatArray();
            float[] proj = w.projection() == null ? null : w.projection().toFloatArray();
            ActivationFn fa = spec.activations().get(3 * d);
            ActivationFn ga = spec.activations().get(3 * d + 1);
            ActivationFn ha = spec.activations().get(3 * d + 2);
            for (int b = 0; b < batch; b++) {
                double[] h = new double[hr];
                double[] c = new double[hid];
                for (int k = 0; k < hr; k++) {
                    h[k] = h0 == null ? 0 : h0[bm ? (b * dirs + d) * hr + k : (d * batch + b) * hr + k];
                }
                for (int k = 0; k < hid; k++) {
                    c[k] = c0 == null ? 0 : c0[bm ? (b * dirs + d) * hid + k : (d * batch + b) * hid + k];
                }
                int len = lens == null ? steps : lens[b];
                double[] prevOut = new double[hr];
                for (int s = 0; s < len; s++) {
                    int t = reverse ? len - 1 - s : s;
                    if (mask != null && mask[bm ? b * steps + t : t * batch + b] == 0) {
                        for (int k = 0; k < hr; k++) {
                            y[bm ? ((b * steps + t) * dirs + d) * hr + k : ((t * dirs + d) * batch + b) * hr + k] = zeroMasked ? 0 : prevOut[k];
                        }
                        continue;
                    }
                    double[] pre = new double[4 * hid];
                    for (int j = 0; j < 4 * hid; j++) {
                        double v = wb[j] + rb[j];
                        for (int k = 0; k < in; k++) {
                            v += wm[j * in + k] * (double) x[bm ? (b * steps + t) * in + k : (t * batch + b) * in + k];
                        }
                        for (int k = 0; k < hr; k++) {
                            v += rm[j * hr + k] * h[k];
                        }
                        pre[j] = v;
                    }
                    double[] cNew = new double[hid];
                    double[] hFull = new double[hid];
                    for (int j = 0; j < hid; j++) {
                        double pi = pre[j] + (pp == null ? 0 : pp[j] * c[j]);
                        double pf = pre[hid + j] + forgetBias + (pp == null ? 0 : pp[hid + j] * c[j]);
                        double pg = pre[2 * hid + j];
                        double i = act(fa, clamp(pi, clip));
                        double f = spec.inputForget() ? 1 - i : act(fa, clamp(pf, clip));
                        double g = act(ga, clamp(pg, clip));
                        // TensorFlow's cell_clip: the new cell state itself is bounded, before o and h read it
                        cNew[j] = clamp(f * c[j] + i * g, cellClip);
                        double po = pre[3 * hid + j] + (pp == null ? 0 : pp[2 * hid + j] * cNew[j]);
                        double o = act(fa, clamp(po, clip));
                        hFull[j] = o * act(ha, cNew[j]);
                    }
                    c = cNew;
                    if (proj != null) {
                        h = new double[hr];
                        for (int p = 0; p < hr; p++) {
                            for (int k = 0; k < hid; k++) {
                                h[p] += proj[p * hid + k] * hFull[k];
                            }
                        }
                    } else {
                        h = hFull;
                    }
                    prevOut = h;
                    for (int k = 0; k < hr; k++) {
                        y[bm ? ((b * steps + t) * dirs + d) * hr + k : ((t * dirs + d) * batch + b) * hr + k] = h[k];
                    }
                }
                for (int k = 0; k < hr; k++) {
                    yh[bm ? (b * dirs + d) * hr + k : (d * batch + b) * hr + k] = len == 0 ? 0 : h[k];
                }
                for (int k = 0; k < hid; k++) {
                    yc[bm ? (b * dirs + d) * hid + k : (d * batch + b) * hid + k] = len == 0 ? 0 : c[k];
                }
            }
        }
        return new Out(y, yh, yc);
    }

    private static double clamp(double v, double limit) {
        return Math.max(-limit, Math.min(limit, v));
    }
}
