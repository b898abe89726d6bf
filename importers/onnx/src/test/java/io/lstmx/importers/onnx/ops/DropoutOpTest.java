package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

class DropoutOpTest {
    @Test
    void ratioAttributeBeforeOpset12() {
        Model m = new OnnxBuilder(10).input("x", FLOAT, 3).node("Dropout", List.of("x"), List.of("y"), attr("ratio", 0.3f))
                .output("y").convert();
        assertEquals(0.3f, only(m, Layer.Dropout.class).rate());
    }

    @Test
    void ratioInputFromOpset12() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 3).initializer("r", Tensor.scalar(0.2f))
                .node("Dropout", List.of("x", "r"), List.of("y")).output("y").convert();
        assertEquals(0.2f, only(m, Layer.Dropout.class).rate());
    }

    @Test
    void trainingModeOrMaskAreUnsupported() {
        new OnnxBuilder(13).input("x", FLOAT, 3).initializer("r", Tensor.scalar(0.2f)).initializer("t", l(s(), 1))
                .node("Dropout", List.of("x", "r", "t"), List.of("y")).output("y").fails(ErrorCode.UNSUPPORTED);
        new OnnxBuilder(13).input("x", FLOAT, 3)
                .node("Dropout", List.of("x"), List.of("y", "mask")).output("y").output("mask").fails(ErrorCode.UNSUPPORTED);
    }
}
