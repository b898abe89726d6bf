package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SoftmaxOpTest {
    @Test
    void opset13DefaultsToTheLastAxis() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2, 3, 4).node("Softmax", List.of("x"), List.of("y")).output("y").convert();
        assertEquals(2, only(m, Layer.Softmax.class).axis());
    }

    @Test
    void legacyFlatteningAtTheLastAxisIsExact() {
        Model m = new OnnxBuilder(11).input("x", FLOAT, "b", 2).node("LogSoftmax", List.of("x"), List.of("y")).output("y").convert();
        Layer.Softmax s = only(m, Layer.Softmax.class);
        assertEquals(1, s.axis());
        assertTrue(s.log());
        double lse = Math.log(Math.exp(1) + Math.exp(3));
        assertValues(run(m, Map.of("x", f(s(1, 2), 1, 3))).get("y"), s(1, 2), (float) (1 - lse), (float) (3 - lse));
    }

    @Test
    void legacyFlatteningWithTrailingOnesIsExact() {
        Model m = new OnnxBuilder(11).input("x", FLOAT, 2, 3, 1).node("Softmax", List.of("x"), List.of("y")).output("y").convert();
        assertEquals(1, only(m, Layer.Softmax.class).axis());
    }

    @Test
    void legacyFlatteningOverSeveralAxesIsUnsupported() {
        String msg = new OnnxBuilder(11).input("x", FLOAT, 2, 3, 4).node("Softmax", List.of("x"), List.of("y")).output("y")
                .fails(ErrorCode.UNSUPPORTED).getMessage();
        assertTrue(msg.contains("flattens"), msg);
    }
}
