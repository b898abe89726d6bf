package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RnnOpTest {
    /** Two units over three steps with an initial state and Relu, checked against h' = f(W x + R h + Wb + Rb) by hand. */
    @Test
    void runsTheOnnxEquations() {
        float[] w = {0.5f, -1.0f};              // [2, 1]
        float[] r = {0.3f, -0.2f, 0.1f, 0.4f};  // [2, 2]
        float[] b = {0.1f, 0.2f, -0.05f, 0.3f};
        float[] h0 = {0.25f, -0.5f};
        float[] x = {1.5f, -0.5f, 2f};
        Model m = new OnnxBuilder(14).input("X", FLOAT, 3, 1, 1)
                .initializer("W", f(s(1, 2, 1), w)).initializer("R", f(s(1, 2, 2), r)).initializer("B", f(s(1, 4), b))
                .initializer("h0", f(s(1, 1, 2), h0))
                .node("RNN", List.of("X", "W", "R", "B", "", "h0"), List.of("Y", "Y_h"), attr("hidden_size", 2L),
                        strings("activations", "Relu"))
                .output("Y").output("Y_h").convert();
        Layer.Rnn rnn = only(m, Layer.Rnn.class);
        RecurrentWeights rw = rnn.weights().get(0);
        assertArrayEquals(new float[] {0.1f, 0.2f}, rw.wb().toFloatArray());
        assertArrayEquals(new float[] {-0.05f, 0.3f}, rw.rb().toFloatArray());
        assertEquals(List.of(ActivationFn.RELU), rnn.spec().activations());
        assertNotNull(rnn.initialH());
        double[] h = {h0[0], h0[1]};
        float[] ys = new float[6];
        for (int t = 0; t < 3; t++) {
            double[] nh = new double[2];
            for (int j = 0; j < 2; j++) {
                nh[j] = Math.max(0, w[j] * x[t] + r[2 * j] * h[0] + r[2 * j + 1] * h[1] + b[j] + b[2 + j]);
                ys[2 * t + j] = (float) nh[j];
            }
            h = nh;
        }
        Map<String, Tensor> out = run(m, Map.of("X", f(s(3, 1, 1), x)));
        assertValues(out.get("Y"), s(3, 1, 1, 2), ys);
        assertValues(out.get("Y_h"), s(1, 1, 2), (float) h[0], (float) h[1]);
    }

    @Test
    void defaultsAndInferredHiddenSize() {
        Model m = new OnnxBuilder(7).input("X", FLOAT, 4, 2, 3)
                .initializer("W", Tensor.zeros(2, 5, 3)).initializer("R", Tensor.zeros(2, 5, 5))
                .node("RNN", List.of("X", "W", "R"), List.of("", "Y_h"), attr("direction", "bidirectional")).output("Y_h").convert();
        Layer.Rnn rnn = only(m, Layer.Rnn.class);
        assertEquals(5, rnn.spec().hiddenSize());
        assertEquals(Direction.BIDIRECTIONAL, rnn.spec().direction());
        assertEquals(List.of(ActivationFn.TANH, ActivationFn.TANH), rnn.spec().activations());
        assertArrayEquals(new float[5], rnn.weights().get(1).wb().toFloatArray(), "absent B is zeros");
        assertNull(rnn.outputSequence());
        assertEquals(io.lstmx.ir.Shape.of(2, 2, 5), m.outputs().get(0).shape());
    }

    @Test
    void sequenceLengthsEqualToTheFullLengthAreDropped() {
        Model full = new OnnxBuilder(14).input("X", FLOAT, 3, 2, 1)
                .initializer("W", Tensor.zeros(1, 1, 1)).initializer("R", Tensor.zeros(1, 1, 1))
                .initializer("lens", Tensor.ofLongs(io.lstmx.ir.DType.INT32, s(2), new long[] {3, 3}))
                .node("RNN", List.of("X", "W", "R", "", "lens"), List.of("Y")).output("Y").convert();
        assertNull(only(full, Layer.Rnn.class).sequenceLengths());
        Model partial = new OnnxBuilder(14).input("X", FLOAT, 3, 2, 1)
                .initializer("W", Tensor.zeros(1, 1, 1)).initializer("R", Tensor.zeros(1, 1, 1))
                .initializer("lens", Tensor.ofLongs(io.lstmx.ir.DType.INT32, s(2), new long[] {3, 1}))
                .node("RNN", List.of("X", "W", "R", "", "lens"), List.of("Y")).output("Y").convert();
        assertNotNull(only(partial, Layer.Rnn.class).sequenceLengths());
    }

    @Test
    void wrongShapesAndAttributesAreRefused() {
        LstmxException e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 2)
                .initializer("W", Tensor.zeros(1, 3, 2)).initializer("R", Tensor.zeros(1, 3, 3)).initializer("B", Tensor.zeros(1, 3))
                .node("my_rnn", "RNN", List.of("X", "W", "R", "B"), List.of("Y")).output("Y").fails(ErrorCode.BAD_INPUT);
        assertTrue(e.getMessage().contains("my_rnn") && e.getMessage().contains("B has shape [1, 3]")
                && e.getMessage().contains("expected [1, 6]"), e.getMessage());
        e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 1)
                .initializer("W", Tensor.zeros(1, 1, 1)).initializer("R", Tensor.zeros(1, 1, 1))
                .node("RNN", List.of("X", "W", "R"), List.of("Y"), attr("clip", -1f)).output("Y").fails(ErrorCode.BAD_INPUT);
        assertTrue(e.getMessage().contains("clip"), e.getMessage());
        e = new OnnxBuilder(14).input("X", FLOAT, 1, 1, 1)
                .initializer("W", Tensor.zeros(1, 1, 1)).initializer("R", Tensor.zeros(1, 1, 1))
                .node("RNN", List.of("X", "W", "R"), List.of("Y"), strings("activations", "Swish")).output("Y")
                .fails(ErrorCode.UNSUPPORTED);
        assertTrue(e.getMessage().contains("Swish"), e.getMessage());
    }
}
