package io.lstmx.ir.samples;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Test models built directly in the IR, with inputs: shared by the writers' tests (converter-core's
 * test-jar), so that every exporter is tried on the same models.
 */
public final class Samples {
    private Samples() {
    }

    /** A model with inputs to run it on. */
    public record Sample(String description, Model model, Map<String, Tensor> inputs) {
        @Override
        public String toString() {
            return description;
        }
    }

    private static final Random RANDOM = new Random(42);

    public static Tensor random(int... shape) {
        int n = Tensor.elementCount(shape);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (RANDOM.nextGaussian() * 0.5);
        }
        return Tensor.ofFloats(shape, f);
    }

    public static ValueInfo f32(String name, int... shape) {
        Object[] dims = new Object[shape.length];
        for (int i = 0; i < shape.length; i++) {
            dims[i] = shape[i];
        }
        return new ValueInfo(name, DType.FLOAT32, Shape.of(dims));
    }

    public static Model model(String name, List<ValueInfo> inputs, List<String> outputs, Layer... layers) {
        List<ValueInfo> outs = new ArrayList<>();
        for (String o : outputs) {
            outs.add(new ValueInfo(o, DType.FLOAT32, Shape.UNKNOWN));
        }
        return new Model(name, ModelInfo.NONE, inputs, outs, List.of(layers));
    }

    public static LstmWeights lstmWeights(int in, int h, int proj, boolean peephole) {
        int hr = proj > 0 ? proj : h;
        return new LstmWeights(random(4 * h, in), random(4 * h, hr), random(4 * h), random(4 * h),
                peephole ? random(3 * h) : null, proj > 0 ? random(proj, h) : null);
    }

    public static RecurrentWeights recurrentWeights(int gates, int in, int h) {
        return new RecurrentWeights(random(gates * h, in), random(gates * h, h), random(gates * h), random(gates * h));
    }

    /**
     * An LSTM with every output in use, initial states when asked, then (on Y) nothing more: the
     * outputs are Y, Y_h, Y_c. Inputs sized batch 2, time 5.
     */
    public static Sample lstm(String description, LstmSpec spec, boolean states, boolean peephole) {
        int d = spec.direction().count();
        List<LstmWeights> w = new ArrayList<>();
        for (int k = 0; k < d; k++) {
            w.add(lstmWeights(spec.inputSize(), spec.hiddenSize(), spec.projSize(), peephole));
        }
        Layer.Lstm l = new Layer.Lstm("lstm", new RecurrentPorts("x", null, states ? "h0" : null, states ? "c0" : null, "y", "yh", "yc"),
                spec, w, GateOrder.PYTORCH);
        return recurrent(description, l, spec.layout(), d, spec.outputSize(), spec.hiddenSize(), spec.inputSize(), states, true);
    }

    public static Sample gru(String description, RecurrentSpec spec, boolean states) {
        List<RecurrentWeights> w = new ArrayList<>();
        for (int k = 0; k < spec.direction().count(); k++) {
            w.add(recurrentWeights(3, spec.inputSize(), spec.hiddenSize()));
        }
        Layer.Gru l = new Layer.Gru("gru", RecurrentPorts.withoutCell("x", null, states ? "h0" : null, "y", "yh"), spec, w, GateOrder.Gru.PYTORCH);
        return recurrent(description, l, spec.layout(), spec.direction().count(), spec.hiddenSize(), 0, spec.inputSize(), states, false);
    }

    public static Sample rnn(String description, RecurrentSpec spec, boolean states) {
        List<RecurrentWeights> w = new ArrayList<>();
        for (int k = 0; k < spec.direction().count(); k++) {
            w.add(recurrentWeights(1, spec.inputSize(), spec.hiddenSize()));
        }
        Layer.Rnn l = new Layer.Rnn("rnn", RecurrentPorts.withoutCell("x", null, states ? "h0" : null, "y", "yh"), spec, w);
        return recurrent(description, l, spec.layout(), spec.direction().count(), spec.hiddenSize(), 0, spec.inputSize(), states, false);
    }

    private static Sample recurrent(String description, Layer.Recurrent l, Layout layout, int d, int out, int cell, int in,
                                    boolean states, boolean lstm) {
        int b = 2;
        int t = 5;
        boolean bm = layout == Layout.BATCH_MAJOR;
        List<ValueInfo> inputs = new ArrayList<>();
        Map<String, Tensor> values = new LinkedHashMap<>();
        int[] xs = bm ? new int[] {b, t, in} : new int[] {t, b, in};
        inputs.add(f32("x", xs));
        values.put("x", random(xs));
        if (states) {
            int[] hs = bm ? new int[] {b, d, out} : new int[] {d, b, out};
            inputs.add(f32("h0", hs));
            values.put("h0", random(hs));
            if (lstm) {
                int[] cs = bm ? new int[] {b, d, cell} : new int[] {d, b, cell};
                inputs.add(f32("c0", cs));
                values.put("c0", random(cs));
            }
        }
        List<String> outs = lstm ? List.of("y", "yh", "yc") : List.of("y", "yh");
        return new Sample(description, model(l.kind().toLowerCase() + "_model", inputs, outs, l), values);
    }

    /** LSTM (time-major, as PyTorch's default) → last step → Dense → softmax: a classifier. */
    public static Sample classifier(String description, Direction dir, Layout layout) {
        int in = 3;
        int h = 4;
        int d = dir.count();
        LstmSpec spec = LstmSpec.standard(in, h, dir, layout);
        List<LstmWeights> w = new ArrayList<>();
        for (int k = 0; k < d; k++) {
            w.add(lstmWeights(in, h, 0, false));
        }
        boolean bm = layout == Layout.BATCH_MAJOR;
        Layer.Lstm lstm = new Layer.Lstm("lstm", RecurrentPorts.of("x").withOutputs("y", null), spec, w, GateOrder.PYTORCH);
        // Y [T, D, B, H] → [T, B, D*H] (PyTorch's output), or [B, T, D, H] → [B, T, D*H]
        List<Layer> layers = new ArrayList<>();
        layers.add(lstm);
        String seq = "y";
        if (!bm) {
            layers.add(new Layer.Transpose("to_tbdh", "y", "y_t", List.of(0, 2, 1, 3)));
            seq = "y_t";
        }
        layers.add(new Layer.Reshape("merge_directions", seq, "out", List.of(0L, 0L, (long) d * h)));
        layers.add(new Layer.Select("last_step", "out", "last", bm ? 1 : 0, -1));
        layers.add(new Layer.Dense("fc", "last", "logits", random(2, d * h), random(2)));
        layers.add(new Layer.Softmax("probs", "logits", "p", -1, false));
        int[] xs = bm ? new int[] {2, 5, in} : new int[] {5, 2, in};
        return new Sample(description, model("classifier", List.of(f32("x", xs)), List.of("p"), layers.toArray(new Layer[0])),
                Map.of("x", random(xs)));
    }

    public static List<ActivationFn> acts(int d, ActivationFn... perDirection) {
        List<ActivationFn> l = new ArrayList<>();
        for (int k = 0; k < d; k++) {
            l.addAll(List.of(perDirection));
        }
        return l;
    }

    /**
     * A recurrent layer reading a per-step mask: with {@code tokens}, ids [B, T] (time-major [T, B])
     * masked where 0 (Keras's Embedding(mask_zero=True): StepMask, then Embedding); else a float
     * sequence masked where every feature is 0 (Keras's Masking: StepMask over the features,
     * Unsqueeze, Multiply). Batch 4, 5 steps: row 0 unmasked, row 1 pre-padded, row 2 post-padded,
     * row 3 with holes. Outputs Y, Y_h (and Y_c).
     *
     * @param kind "lstm", "gru" or "rnn" (default activations; the GRU resets after the product)
     */
    public static Sample masked(String description, String kind, Direction dir, Layout layout, boolean tokens, boolean zeroMasked) {
        int b = 4;
        int t = 5;
        int in = 3;
        int h = 4;
        int d = dir.count();
        boolean bm = layout == Layout.BATCH_MAJOR;
        List<Layer> layers = new ArrayList<>();
        List<ValueInfo> inputs = new ArrayList<>();
        Map<String, Tensor> values = new LinkedHashMap<>();
        String x;
        if (tokens) {
            int[] is = bm ? new int[] {b, t} : new int[] {t, b};
            inputs.add(new ValueInfo("ids", DType.INT64, Shape.of(is[0], is[1])));
            long[] ids = new long[b * t];
            for (int r = 0; r < b; r++) {
                for (int s = 0; s < t; s++) {
                    ids[bm ? r * t + s : s * b + r] = maskedStep(r, s, t) ? 0 : 1 + RANDOM.nextInt(8);
                }
            }
            values.put("ids", Tensor.ofLongs(DType.INT64, is, ids));
            layers.add(new Layer.StepMask("mask", "ids", "m", 0f, false));
            layers.add(new Layer.Embedding("embedding", "ids", "x", random(9, in)));
            x = "x";
        } else {
            int[] xs = bm ? new int[] {b, t, in} : new int[] {t, b, in};
            inputs.add(f32("seq", xs));
            float[] v = random(xs).toFloatArray();
            for (int r = 0; r < b; r++) {
                for (int s = 0; s < t; s++) {
                    if (maskedStep(r, s, t)) {
                        java.util.Arrays.fill(v, (bm ? r * t + s : s * b + r) * in, (bm ? r * t + s : s * b + r) * in + in, 0f);
                    }
                }
            }
            values.put("seq", Tensor.ofFloats(xs, v));
            layers.add(new Layer.StepMask("masking.mask", "seq", "m", 0f, true));
            layers.add(new Layer.Unsqueeze("masking.column", "m", "m_column", List.of(2)));
            layers.add(new Layer.Binary("masking", Layer.Binary.Op.MUL, "seq", "m_column", "x"));
            x = "x";
        }
        RecurrentPorts ports = new RecurrentPorts(x, null, null, null, "y", "yh", kind.equals("lstm") ? "yc" : null).withMask("m", zeroMasked);
        Layer rec;
        if (kind.equals("lstm")) {
            List<LstmWeights> w = new ArrayList<>();
            for (int k = 0; k < d; k++) {
                w.add(lstmWeights(in, h, 0, false));
            }
            rec = new Layer.Lstm("lstm", ports, LstmSpec.standard(in, h, dir, layout), w, GateOrder.KERAS);
        } else {
            boolean gru = kind.equals("gru");
            List<RecurrentWeights> w = new ArrayList<>();
            for (int k = 0; k < d; k++) {
                w.add(recurrentWeights(gru ? 3 : 1, in, h));
            }
            RecurrentSpec spec = new RecurrentSpec(in, h, dir, layout, null, gru,
                    gru ? acts(d, ActivationFn.SIGMOID, ActivationFn.TANH) : acts(d, ActivationFn.TANH));
            rec = gru ? new Layer.Gru("gru", ports, spec, w, GateOrder.Gru.KERAS) : new Layer.Rnn("rnn", ports, spec, w);
        }
        layers.add(rec);
        List<String> outs = kind.equals("lstm") ? List.of("y", "yh", "yc") : List.of("y", "yh");
        return new Sample(description, model("masked_" + kind, inputs, outs, layers.toArray(new Layer[0])), values);
    }

    /**
     * The masking pattern of every masked test input: row 1 pre-padded (its first two steps masked),
     * row 2 post-padded (its last two), row 3 with holes (its odd steps), row 4 masked throughout;
     * row 0 and rows past 4 count every step.
     */
    public static boolean maskedStep(int row, int step, int steps) {
        return row == 4 || (row == 1 ? step < 2 : row == 2 ? step >= steps - 2 : row == 3 && step % 2 == 1);
    }

    /** Sets the masked steps ({@link #maskedStep}) of batch-major data [batch, steps, feat] to {@code value}. */
    public static void maskSteps(float[] data, int batch, int steps, int feat, float value) {
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < steps; t++) {
                if (maskedStep(b, t, steps)) {
                    java.util.Arrays.fill(data, (b * steps + t) * feat, (b * steps + t + 1) * feat, value);
                }
            }
        }
    }
}
