package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LstmOpTest {
    private static float[] range(int n, float start) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = start + i;
        }
        return v;
    }

    /** H = 2, I = 1: every row of W, R, B and P is distinct so that each block can be traced. */
    private static OnnxBuilder tracedLstm(int opset) {
        float[] r = new float[16];
        for (int row = 0; row < 8; row++) {
            r[2 * row] = 10 * row;
            r[2 * row + 1] = 10 * row + 1;
        }
        float[] b = new float[16];
        for (int k = 0; k < 8; k++) {
            b[k] = k;
            b[8 + k] = 100 + k;
        }
        return new OnnxBuilder(opset)
                .input("X", FLOAT, 5, 3, 1)
                .initializer("W", f(s(1, 8, 1), range(8, 1)))
                .initializer("R", f(s(1, 8, 2), r))
                .initializer("B", f(s(1, 16), b))
                .initializer("P", f(s(1, 6), range(6, 1)))
                .node("lstm", "LSTM", List.of("X", "W", "R", "B", "", "", "", "P"), List.of("Y", "Y_h", "Y_c"), attr("hidden_size", 2L))
                .output("Y").output("Y_h").output("Y_c");
    }

    @Test
    void onnxGateBlocksBecomeCanonicalIfgo() {
        Model m = tracedLstm(14).convert();
        Layer.Lstm lstm = only(m, Layer.Lstm.class);
        LstmWeights w = lstm.weights().get(0);
        // ONNX rows: i = 1,2  o = 3,4  f = 5,6  c = 7,8; the IR wants i, f, g(=c), o.
        assertArrayEquals(new float[] {1, 2, 5, 6, 7, 8, 3, 4}, w.w().toFloatArray());
        assertArrayEquals(new int[] {8, 1}, w.w().shape());
        assertArrayEquals(new float[] {0, 1, 10, 11, 40, 41, 50, 51, 60, 61, 70, 71, 20, 21, 30, 31}, w.r().toFloatArray());
        assertArrayEquals(new float[] {0, 1, 4, 5, 6, 7, 2, 3}, w.wb().toFloatArray());
        assertArrayEquals(new float[] {100, 101, 104, 105, 106, 107, 102, 103}, w.rb().toFloatArray());
        // ONNX peepholes i = 1,2  o = 3,4  f = 5,6; the IR keeps i, f, o.
        assertArrayEquals(new float[] {1, 2, 5, 6, 3, 4}, w.peephole().toFloatArray());
        assertNull(w.projection());
        assertEquals(GateOrder.ONNX, lstm.sourceGateOrder());
        assertEquals(Direction.FORWARD, lstm.spec().direction());
        assertEquals(Layout.TIME_MAJOR, lstm.spec().layout());
        assertEquals(1, lstm.spec().inputSize());
        assertEquals(2, lstm.spec().hiddenSize());
        assertEquals(List.of("Y", "Y_h", "Y_c"), lstm.outputs());
        assertEquals(io.lstmx.ir.Shape.of(5, 1, 3, 2), m.outputs().get(0).shape(), "Y is [T, D, B, H]");
        assertEquals(io.lstmx.ir.Shape.of(1, 3, 2), m.outputs().get(1).shape(), "Y_h is [D, B, H]");
    }

    @Test
    void hiddenSizeIsInferredFromWWhenAbsent() {
        Model m = new OnnxBuilder(7).input("X", FLOAT, 1, 1, 3)
                .initializer("W", Tensor.zeros(1, 20, 3)).initializer("R", Tensor.zeros(1, 20, 5))
                .node("LSTM", List.of("X", "W", "R"), List.of("", "Y_h")).output("Y_h").convert();
        assertEquals(5, only(m, Layer.Lstm.class).spec().hiddenSize());
        assertNull(only(m, Layer.Lstm.class).outputSequence());
    }

    /** Two steps of one unit with distinct per-gate weights, bias and peepholes, checked against the ONNX equations by hand. */
    @Test
    void runsTheOnnxEquations() {
        float[] w = {0.5f, -1.0f, 2.0f, 0.8f};        // i, o, f, c
        float[] r = {0.3f, -0.2f, 0.1f, 0.4f};
        float[] b = {0.1f, 0.2f, 0.3f, 0.4f, -0.05f, 0.05f, 0.15f, -0.1f};
        float[] p = {0.2f, -0.3f, 0.5f};             // i, o, f
        Model m = new OnnxBuilder(14).input("X", FLOAT, 2, 1, 1)
                .initializer("W", f(s(1, 4, 1), w)).initializer("R", f(s(1, 4, 1), r)).initializer("B", f(s(1, 8), b))
                .initializer("P", f(s(1, 3), p))
                .node("LSTM", List.of("X", "W", "R", "B", "", "", "", "P"), List.of("Y", "Y_h", "Y_c"), attr("hidden_size", 1L))
                .output("Y").output("Y_h").output("Y_c").convert();
        float[] x = {1.5f, -0.5f};
        double h = 0;
        double c = 0;
        double[] ys = new double[2];
        for (int t = 0; t < 2; t++) {
            double ai = w[0] * x[t] + r[0] * h + b[0] + b[4];
            double ao = w[1] * x[t] + r[1] * h + b[1] + b[5];
            double af = w[2] * x[t] + r[2] * h + b[2] + b[6];
            double ac = w[3] * x[t] + r[3] * h + b[3] + b[7];
            double i = sigmoid(ai + p[0] * c);
            double f = sigmoid(af + p[2] * c);
            c = f * c + i * Math.tanh(ac);
            double o = sigmoid(ao + p[1] * c);
            h = o * Math.tanh(c);
            ys[t] = h;
        }
        Map<String, Tensor> out = run(m, Map.of("X", f(s(2, 1, 1), x)));
        assertValues(out.get("Y"), s(2, 1, 1, 1), (float) ys[0], (float) ys[1]);
        assertValues(out.get("Y_h"), s(1, 1, 1), (float) h);
        assertValues(out.get("Y_c"), s(1, 1, 1), (float) c);
    }

    @Test
    void attributesMapToTheSpec() {
        Model m = new OnnxBuilder(14).input("X", FLOAT, "batch", 4, 2)
                .initializer("W", Tensor.zeros(2, 4, 2)).initializer("R", Tensor.zeros(2, 4, 1))
                .node("LSTM", List.of("X", "W", "R"), List.of("Y", "Y_h"),
                        attr("hidden_size", 1L), attr("direction", "bidirectional"), attr("layout", 1L), attr("clip", 3.5f),
                        attr("input_forget", 1L),
                        strings("activations", "LeakyRelu", "Tanh", "HardSigmoid", "Affine", "ScaledTanh", "Elu"),
                        floats("activation_alpha", 0.3f, 2f, 3f), floats("activation_beta", 5f))
                .output("Y").output("Y_h").convert();
        Layer.Lstm lstm = only(m, Layer.Lstm.class);
        assertEquals(Direction.BIDIRECTIONAL, lstm.spec().direction());
        assertEquals(2, lstm.weights().size());
        assertEquals(Layout.BATCH_MAJOR, lstm.spec().layout());
        assertEquals(3.5f, lstm.spec().clip());
        assertTrue(lstm.spec().inputForget());
        // alphas are consumed by LeakyRelu, HardSigmoid, Affine (then exhausted); betas by HardSigmoid only.
        assertEquals(List.of(
                ActivationFn.of(Kind.LEAKY_RELU, 0.3f, 0f), ActivationFn.TANH, ActivationFn.of(Kind.HARD_SIGMOID, 2f, 5f),
                ActivationFn.of(Kind.AFFINE, 3f, 0f), ActivationFn.of(Kind.SCALED_TANH, 1f, 1f), ActivationFn.of(Kind.ELU, 1f, 0f)),
                lstm.spec().activations());
        assertEquals(io.lstmx.ir.Shape.of("batch", 4, 2, 1), m.outputs().get(0).shape(), "batch-major Y is [B, T, D, H]");
        assertEquals(io.lstmx.ir.Shape.of("batch", 2, 1), m.outputs().get(1).shape(), "batch-major Y_h is [B, D, H]");
    }

    @Test
    void activationDefaultsFollowTheOnnxOperators() {
        Model m = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 1)
                .initializer("W", Tensor.zeros(1, 4, 1)).initializer("R", Tensor.zeros(1, 4, 1))
                .node("LSTM", List.of("X", "W", "R"), List.of("", "Y_h"), attr("hidden_size", 1L),
                        strings("activations", "hardsigmoid", "LeakyRelu", "ThresholdedRelu"))
                .output("Y_h").convert();
        assertEquals(List.of(ActivationFn.of(Kind.HARD_SIGMOID, 0.2f, 0.5f), ActivationFn.of(Kind.LEAKY_RELU, 0.01f, 0f),
                ActivationFn.of(Kind.THRESHOLDED_RELU, 1f, 0f)), only(m, Layer.Lstm.class).spec().activations());
    }

    @Test
    void wrongWeightShapeIsBadInputNamingTheNode() {
        LstmxException e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 2)
                .initializer("W", Tensor.zeros(1, 12, 2)).initializer("R", Tensor.zeros(1, 16, 4))
                .node("my_lstm", "LSTM", List.of("X", "W", "R"), List.of("Y"), attr("hidden_size", 4L))
                .output("Y").fails(ErrorCode.BAD_INPUT);
        assertTrue(e.getMessage().contains("test.onnx") && e.getMessage().contains("my_lstm") && e.getMessage().contains("W has shape [1, 12, 2]")
                && e.getMessage().contains("expected [1, 16, 2]"), e.getMessage());
    }

    @Test
    void inputSizeMismatchWithXIsBadInput() {
        LstmxException e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 3)
                .initializer("W", Tensor.zeros(1, 4, 2)).initializer("R", Tensor.zeros(1, 4, 1))
                .node("LSTM", List.of("X", "W", "R"), List.of("Y")).output("Y").fails(ErrorCode.BAD_INPUT);
        assertTrue(e.getMessage().contains("input_size 2"), e.getMessage());
    }

    @Test
    void weightsThatAreGraphInputsAreUnsupported() {
        LstmxException e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 2).input("W", FLOAT, 1, 4, 2)
                .initializer("R", Tensor.zeros(1, 4, 1))
                .node("LSTM", List.of("X", "W", "R"), List.of("Y")).output("Y").fails(ErrorCode.UNSUPPORTED);
        assertTrue(e.getMessage().contains("'W' must be a constant"), e.getMessage());
    }

    @Test
    void weightsGivenAsConstantInputsAreAccepted() {
        OnnxBuilder g = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 2).input("W", FLOAT, 1, 4, 2)
                .initializer("R", Tensor.zeros(1, 4, 1))
                .node("LSTM", List.of("X", "W", "R"), List.of("Y")).output("Y");
        Model m = g.convert(Map.of("W", Tensor.zeros(1, 4, 2)));
        assertEquals(List.of("X"), m.inputNames());
        assertEquals(1, layers(m, Layer.Lstm.class).size());
    }

    /** torch.onnx's zero h0/c0 for a run-time batch: Shape, Gather, Unsqueeze, Concat, then ConstantOfShape or Expand. */
    @Test
    void zeroStatesOfRunTimeBatchAreDropped() {
        for (boolean expand : new boolean[] {false, true}) {
            OnnxBuilder g = new OnnxBuilder(13).input("X", FLOAT, "T", "batch", 2)
                    .initializer("W", Tensor.zeros(1, 12, 2)).initializer("R", Tensor.zeros(1, 12, 3))
                    .initializer("one", l(s(), 1)).initializer("axes0", l(s(1), 0))
                    .initializer("layers", l(s(1), 1)).initializer("hidden", l(s(1), 3))
                    .node("Shape", List.of("X"), List.of("shape"))
                    .node("Gather", List.of("shape", "one"), List.of("batch"), attr("axis", 0L))
                    .node("Unsqueeze", List.of("batch", "axes0"), List.of("batch1"))
                    .node("Concat", List.of("layers", "batch1", "hidden"), List.of("stateShape"), attr("axis", 0L));
            if (expand) {
                g.initializer("zero", Tensor.scalar(0f)).node("Expand", List.of("zero", "stateShape"), List.of("h0"));
            } else {
                g.node("ConstantOfShape", List.of("stateShape"), List.of("h0"));
            }
            Model m = g.node("LSTM", List.of("X", "W", "R", "", "", "h0", "h0"), List.of("Y"), attr("hidden_size", 3L))
                    .output("Y").convert();
            assertEquals(1, m.layers().size(), "only the LSTM remains: " + m.layers());
            Layer.Lstm lstm = only(m, Layer.Lstm.class);
            assertNull(lstm.initialH());
            assertNull(lstm.initialC());
        }
    }

    @Test
    void nonZeroConstantStateIsKept() {
        Model m = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 1)
                .initializer("W", Tensor.zeros(1, 4, 1)).initializer("R", Tensor.zeros(1, 4, 1))
                .initializer("h0", f(s(1, 1, 1), 0.5f)).initializer("c0", Tensor.zeros(1, 1, 1))
                .node("LSTM", List.of("X", "W", "R", "", "", "h0", "c0"), List.of("Y")).output("Y").convert();
        Layer.Lstm lstm = only(m, Layer.Lstm.class);
        assertNull(lstm.initialC(), "zero c0 is dropped");
        assertNotNull(lstm.initialH());
        Layer.Constant c = only(m, Layer.Constant.class);
        assertEquals(c.output(), lstm.initialH());
        assertArrayEquals(new float[] {0.5f}, c.value().toFloatArray());
    }

    @Test
    void nonZeroStateOfRunTimeBatchIsRefused() {
        LstmxException e = new OnnxBuilder(14).input("X", FLOAT, 1, "batch", 1)
                .initializer("W", Tensor.zeros(1, 4, 1)).initializer("R", Tensor.zeros(1, 4, 1))
                .initializer("one", l(s(), 1)).initializer("axes0", l(s(1), 0)).initializer("d", l(s(1), 1))
                .node("Shape", List.of("X"), List.of("shape"))
                .node("Gather", List.of("shape", "one"), List.of("batch"))
                .node("Unsqueeze", List.of("batch", "axes0"), List.of("batch1"))
                .node("Concat", List.of("d", "batch1", "d"), List.of("stateShape"), attr("axis", 0L))
                .node("ConstantOfShape", List.of("stateShape"), List.of("h0"), attr("value", f(s(1), 0.25f)))
                .node("LSTM", List.of("X", "W", "R", "", "", "h0"), List.of("Y")).output("Y").fails(ErrorCode.UNSUPPORTED);
        assertTrue(e.getMessage().contains("initial_h") && e.getMessage().contains("0.25"), e.getMessage());
    }

    @Test
    void sequenceLengthsEqualToTheFullLengthAreDropped() {
        Model full = new OnnxBuilder(14).input("X", FLOAT, 3, 2, 1)
                .initializer("W", Tensor.zeros(1, 4, 1)).initializer("R", Tensor.zeros(1, 4, 1))
                .initializer("lens", Tensor.ofLongs(io.lstmx.ir.DType.INT32, s(2), new long[] {3, 3}))
                .node("LSTM", List.of("X", "W", "R", "", "lens"), List.of("Y")).output("Y").convert();
        assertNull(only(full, Layer.Lstm.class).sequenceLengths());
        Model partial = new OnnxBuilder(14).input("X", FLOAT, 3, 2, 1)
                .initializer("W", Tensor.zeros(1, 4, 1)).initializer("R", Tensor.zeros(1, 4, 1))
                .initializer("lens", Tensor.ofLongs(io.lstmx.ir.DType.INT32, s(2), new long[] {3, 1}))
                .node("LSTM", List.of("X", "W", "R", "", "lens"), List.of("Y")).output("Y").convert();
        Layer.Lstm lstm = only(partial, Layer.Lstm.class);
        assertNotNull(lstm.sequenceLengths());
        assertArrayEquals(new long[] {3, 1}, only(partial, Layer.Constant.class).value().toLongArray());
    }

    @Test
    void unknownActivationIsUnsupported() {
        LstmxException e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 1)
                .initializer("W", Tensor.zeros(1, 4, 1)).initializer("R", Tensor.zeros(1, 4, 1))
                .node("LSTM", List.of("X", "W", "R"), List.of("Y"), strings("activations", "Sigmoid", "Gelu", "Tanh"))
                .output("Y").fails(ErrorCode.UNSUPPORTED);
        assertTrue(e.getMessage().contains("Gelu"), e.getMessage());
    }

    @Test
    void badDirectionIsBadInput() {
        assertThrows(LstmxException.class, () -> new OnnxBuilder(14).input("X", FLOAT, 1, 1, 1)
                .initializer("W", Tensor.zeros(1, 4, 1)).initializer("R", Tensor.zeros(1, 4, 1))
                .node("LSTM", List.of("X", "W", "R"), List.of("Y"), attr("direction", "sideways")).output("Y").convert());
    }
    /**
     * An initializer is dropped once its last reader is converted (issue 9: the model then holds
     * its weights once): two LSTMs share W, R and B, the second still gets them, and W, also a
     * graph output, stays to be written as a constant.
     */
    @Test
    void sharedWeightsReachEveryReaderAndAGraphOutputKeepsItsInitializer() {
        Model m = tracedLstm(14)
                .node("again", "LSTM", List.of("X", "W", "R", "B"), List.of("", "Y2_h"), attr("hidden_size", 2L))
                .output("Y2_h").output("W").convert();
        List<Layer.Lstm> lstms = layers(m, Layer.Lstm.class);
        assertEquals(2, lstms.size());
        LstmWeights first = lstms.get(0).weights().get(0);
        LstmWeights second = lstms.get(1).weights().get(0);
        assertArrayEquals(new float[] {1, 2, 5, 6, 7, 8, 3, 4}, second.w().toFloatArray());
        assertTrue(first.w().bitEquals(second.w()) && first.r().bitEquals(second.r()) && first.wb().bitEquals(second.wb())
                && first.rb().bitEquals(second.rb()));
        assertArrayEquals(range(8, 1), constantOutput(m, "W").toFloatArray(), "W as the file holds it, ONNX gate order");
    }

    /** A one-direction W is permuted straight from the initializer; a bidirectional one is split first: both give each direction its blocks. */
    @Test
    void eachDirectionGetsItsOwnGateBlocks() {
        Model m = new OnnxBuilder(14).input("X", FLOAT, 2, 1, 1)
                .initializer("W", f(s(2, 8, 1), range(16, 1))).initializer("R", Tensor.zeros(2, 8, 2))
                .node("LSTM", List.of("X", "W", "R"), List.of("Y"), attr("direction", "bidirectional"), attr("hidden_size", 2L))
                .output("Y").convert();
        Layer.Lstm lstm = only(m, Layer.Lstm.class);
        assertArrayEquals(new float[] {1, 2, 5, 6, 7, 8, 3, 4}, lstm.weights().get(0).w().toFloatArray());
        assertArrayEquals(new float[] {9, 10, 13, 14, 15, 16, 11, 12}, lstm.weights().get(1).w().toFloatArray());
    }
}
