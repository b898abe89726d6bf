package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class ActivationOpTest {
    private static ActivationFn fnOf(String op, io.lstmx.onnx.proto.Onnx.AttributeProto... attrs) {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 3).node(op, List.of("x"), List.of("y"), attrs).output("y").convert();
        return only(m, Layer.Activation.class).fn();
    }

    @Test
    void eachOperatorMapsToItsFunctionWithOnnxDefaults() {
        assertEquals(ActivationFn.RELU, fnOf("Relu"));
        assertEquals(ActivationFn.TANH, fnOf("Tanh"));
        assertEquals(ActivationFn.SIGMOID, fnOf("Sigmoid"));
        assertEquals(ActivationFn.of(Kind.LEAKY_RELU, 0.01f, 0f), fnOf("LeakyRelu"));
        assertEquals(ActivationFn.of(Kind.LEAKY_RELU, 0.2f, 0f), fnOf("LeakyRelu", attr("alpha", 0.2f)));
        assertEquals(ActivationFn.of(Kind.ELU, 1f, 0f), fnOf("Elu"));
        assertEquals(ActivationFn.of(Kind.HARD_SIGMOID, 0.2f, 0.5f), fnOf("HardSigmoid"));
        assertEquals(ActivationFn.of(Kind.HARD_SIGMOID, 0.1f, 0.3f), fnOf("HardSigmoid", attr("alpha", 0.1f), attr("beta", 0.3f)));
    }

    @Test
    void runsElementWise() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 3).node("LeakyRelu", List.of("x"), List.of("y"), attr("alpha", 0.5f))
                .output("y").convert();
        assertValues(run(m, Map.of("x", f(s(3), -2, 0, 3))).get("y"), s(3), -1, 0, 3);
    }

    @Test
    void constantsFold() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(3), -1, 0, 2))
                .node("Relu", List.of("c"), List.of("r"))
                .node("HardSigmoid", List.of("c"), List.of("h")).output("r").output("h").convert();
        assertArrayEquals(new float[] {0, 0, 2}, constantOutput(m, "r").toFloatArray());
        assertArrayEquals(new float[] {0.3f, 0.5f, 0.9f}, constantOutput(m, "h").toFloatArray(), 1e-6f);
    }
}
