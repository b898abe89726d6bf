package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GruOpTest {
    @Test
    void onnxGateBlocksBecomeCanonicalRzn() {
        // H = 2, I = 1: ONNX rows z = 1,2  r = 3,4  h = 5,6.
        float[] r = new float[12];
        for (int row = 0; row < 6; row++) {
            r[2 * row] = 10 * row;
            r[2 * row + 1] = 10 * row + 1;
        }
        float[] b = new float[12];
        for (int k = 0; k < 6; k++) {
            b[k] = k;
            b[6 + k] = 100 + k;
        }
        Model m = new OnnxBuilder(14).input("X", FLOAT, 5, 3, 1)
                .initializer("W", f(s(1, 6, 1), 1, 2, 3, 4, 5, 6))
                .initializer("R", f(s(1, 6, 2), r))
                .initializer("B", f(s(1, 12), b))
                .node("gru", "GRU", List.of("X", "W", "R", "B"), List.of("Y", "Y_h"), attr("hidden_size", 2L))
                .output("Y").output("Y_h").convert();
        Layer.Gru gru = only(m, Layer.Gru.class);
        RecurrentWeights w = gru.weights().get(0);
        assertArrayEquals(new float[] {3, 4, 1, 2, 5, 6}, w.w().toFloatArray());
        assertArrayEquals(new int[] {6, 1}, w.w().shape());
        assertArrayEquals(new float[] {20, 21, 30, 31, 0, 1, 10, 11, 40, 41, 50, 51}, w.r().toFloatArray());
        assertArrayEquals(new float[] {2, 3, 0, 1, 4, 5}, w.wb().toFloatArray());
        assertArrayEquals(new float[] {102, 103, 100, 101, 104, 105}, w.rb().toFloatArray());
        assertEquals(GateOrder.Gru.ONNX, gru.sourceGateOrder());
        assertFalse(gru.spec().linearBeforeReset());
        assertEquals(List.of(ActivationFn.SIGMOID, ActivationFn.TANH), gru.spec().activations());
        assertEquals(io.lstmx.ir.Shape.of(5, 1, 3, 2), m.outputs().get(0).shape(), "Y is [T, D, B, H]");
        assertEquals(io.lstmx.ir.Shape.of(1, 3, 2), m.outputs().get(1).shape(), "Y_h is [D, B, H]");
    }

    /** Two steps of one unit with distinct per-gate weights and biases, checked against the ONNX equations by hand. */
    @Test
    void runsTheOnnxEquationsWithAndWithoutLinearBeforeReset() {
        float[] w = {0.5f, -1.0f, 0.8f};   // z, r, h
        float[] r = {0.3f, -0.2f, 0.7f};
        float[] b = {0.1f, 0.2f, 0.3f, -0.05f, 0.05f, 0.15f};
        float[] x = {1.5f, -0.5f};
        for (long lbr : new long[] {0, 1}) {
            Model m = new OnnxBuilder(14).input("X", FLOAT, 2, 1, 1)
                    .initializer("W", f(s(1, 3, 1), w)).initializer("R", f(s(1, 3, 1), r)).initializer("B", f(s(1, 6), b))
                    .node("GRU", List.of("X", "W", "R", "B"), List.of("Y", "Y_h"), attr("hidden_size", 1L),
                            attr("linear_before_reset", lbr))
                    .output("Y").output("Y_h").convert();
            assertEquals(lbr == 1, only(m, Layer.Gru.class).spec().linearBeforeReset());
            double h = 0;
            double[] ys = new double[2];
            for (int t = 0; t < 2; t++) {
                double z = sigmoid(w[0] * x[t] + r[0] * h + b[0] + b[3]);
                double rr = sigmoid(w[1] * x[t] + r[1] * h + b[1] + b[4]);
                double n = lbr == 1
                        ? Math.tanh(w[2] * x[t] + b[2] + rr * (r[2] * h + b[5]))
                        : Math.tanh(w[2] * x[t] + b[2] + r[2] * (rr * h) + b[5]);
                h = (1 - z) * n + z * h;
                ys[t] = h;
            }
            Map<String, Tensor> out = run(m, Map.of("X", f(s(2, 1, 1), x)));
            assertValues(out.get("Y"), s(2, 1, 1, 1), (float) ys[0], (float) ys[1]);
            assertValues(out.get("Y_h"), s(1, 1, 1), (float) h);
        }
    }

    @Test
    void attributesMapToTheSpec() {
        Model m = new OnnxBuilder(14).input("X", FLOAT, "batch", 4, 2)
                .initializer("W", Tensor.zeros(2, 3, 2)).initializer("R", Tensor.zeros(2, 3, 1))
                .node("GRU", List.of("X", "W", "R"), List.of("Y", "Y_h"),
                        attr("hidden_size", 1L), attr("direction", "bidirectional"), attr("layout", 1L), attr("clip", 3.5f),
                        attr("linear_before_reset", 1L),
                        strings("activations", "HardSigmoid", "LeakyRelu", "Sigmoid", "Affine"),
                        floats("activation_alpha", 0.3f, 2f), floats("activation_beta", 5f))
                .output("Y").output("Y_h").convert();
        Layer.Gru gru = only(m, Layer.Gru.class);
        assertEquals(Direction.BIDIRECTIONAL, gru.spec().direction());
        assertEquals(2, gru.weights().size());
        assertEquals(Layout.BATCH_MAJOR, gru.spec().layout());
        assertEquals(3.5f, gru.spec().clip());
        assertTrue(gru.spec().linearBeforeReset());
        // alphas are consumed by HardSigmoid and LeakyRelu (then exhausted); betas by HardSigmoid only.
        assertEquals(List.of(ActivationFn.of(Kind.HARD_SIGMOID, 0.3f, 5f), ActivationFn.of(Kind.LEAKY_RELU, 2f, 0f),
                ActivationFn.SIGMOID, ActivationFn.of(Kind.AFFINE, 1f, 0f)), gru.spec().activations());
        assertEquals(io.lstmx.ir.Shape.of("batch", 4, 2, 1), m.outputs().get(0).shape(), "batch-major Y is [B, T, D, H]");
        assertEquals(io.lstmx.ir.Shape.of("batch", 2, 1), m.outputs().get(1).shape(), "batch-major Y_h is [B, D, H]");
    }

    @Test
    void hiddenSizeIsInferredFromWAndOpset3Works() {
        Model m = new OnnxBuilder(3).input("X", FLOAT, 1, 1, 3)
                .initializer("W", Tensor.zeros(1, 15, 3)).initializer("R", Tensor.zeros(1, 15, 5))
                .node("GRU", List.of("X", "W", "R"), List.of("", "Y_h")).output("Y_h").convert();
        assertEquals(5, only(m, Layer.Gru.class).spec().hiddenSize());
        assertNull(only(m, Layer.Gru.class).outputSequence());
    }

    @Test
    void wrongWeightShapeIsBadInputNamingTheNode() {
        LstmxException e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 2)
                .initializer("W", Tensor.zeros(1, 12, 2)).initializer("R", Tensor.zeros(1, 12, 3))
                .node("my_gru", "GRU", List.of("X", "W", "R"), List.of("Y"), attr("hidden_size", 3L))
                .output("Y").fails(ErrorCode.BAD_INPUT);
        assertTrue(e.getMessage().contains("my_gru") && e.getMessage().contains("W has shape [1, 12, 2]")
                && e.getMessage().contains("expected [1, 9, 2]"), e.getMessage());
    }

    @Test
    void badLinearBeforeResetAndActivationCountAreBadInput() {
        LstmxException e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 1)
                .initializer("W", Tensor.zeros(1, 3, 1)).initializer("R", Tensor.zeros(1, 3, 1))
                .node("GRU", List.of("X", "W", "R"), List.of("Y"), attr("linear_before_reset", 2L)).output("Y")
                .fails(ErrorCode.BAD_INPUT);
        assertTrue(e.getMessage().contains("linear_before_reset 2"), e.getMessage());
        e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 1)
                .initializer("W", Tensor.zeros(1, 3, 1)).initializer("R", Tensor.zeros(1, 3, 1))
                .node("GRU", List.of("X", "W", "R"), List.of("Y"), strings("activations", "Sigmoid", "Tanh", "Tanh")).output("Y")
                .fails(ErrorCode.BAD_INPUT);
        assertTrue(e.getMessage().contains("expected 2 (f, g per direction)"), e.getMessage());
    }

    @Test
    void weightsThatAreGraphInputsAreUnsupported() {
        LstmxException e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 2).input("R", FLOAT, 1, 3, 1)
                .initializer("W", Tensor.zeros(1, 3, 2))
                .node("GRU", List.of("X", "W", "R"), List.of("Y")).output("Y").fails(ErrorCode.UNSUPPORTED);
        assertTrue(e.getMessage().contains("'R' must be a constant"), e.getMessage());
    }

    /** torch.onnx's zero h0 for a run-time batch: Shape, Gather, Unsqueeze, Concat, ConstantOfShape. */
    @Test
    void zeroStateOfRunTimeBatchIsDropped() {
        Model m = new OnnxBuilder(13).input("X", FLOAT, "T", "batch", 2)
                .initializer("W", Tensor.zeros(1, 9, 2)).initializer("R", Tensor.zeros(1, 9, 3))
                .initializer("one", l(s(), 1)).initializer("axes0", l(s(1), 0))
                .initializer("layers", l(s(1), 1)).initializer("hidden", l(s(1), 3))
                .node("Shape", List.of("X"), List.of("shape"))
                .node("Gather", List.of("shape", "one"), List.of("batch"), attr("axis", 0L))
                .node("Unsqueeze", List.of("batch", "axes0"), List.of("batch1"))
                .node("Concat", List.of("layers", "batch1", "hidden"), List.of("stateShape"), attr("axis", 0L))
                .node("ConstantOfShape", List.of("stateShape"), List.of("h0"))
                .node("GRU", List.of("X", "W", "R", "", "", "h0"), List.of("Y"), attr("hidden_size", 3L))
                .output("Y").convert();
        assertEquals(1, m.layers().size(), "only the GRU remains: " + m.layers());
        assertNull(only(m, Layer.Gru.class).initialH());
    }
}
