package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class ExpandOpTest {
    @Test
    void nonUniformConstantToAKnownShapeFolds() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(2, 1), 1, 2)).initializer("sh", l(s(2), 2, 3))
                .node("Expand", List.of("c", "sh"), List.of("y")).output("y").convert();
        assertArrayEquals(new float[] {1, 1, 1, 2, 2, 2}, constantOutput(m, "y").toFloatArray());
    }

    @Test
    void runTimeValueAlreadyOfTheTargetShapeIsUnchanged() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, "b", 3).initializer("sh", l(s(2), 1, 3))
                .node("Expand", List.of("x", "sh"), List.of("e"))
                .node("Relu", List.of("e"), List.of("y")).output("y").convert();
        assertEquals("x", only(m, Layer.Activation.class).input());
    }

    @Test
    void broadcastingARunTimeValueIsUnsupported() {
        String msg = new OnnxBuilder(13).input("x", FLOAT, 1, 3).initializer("sh", l(s(2), 4, 3))
                .node("Expand", List.of("x", "sh"), List.of("y")).output("y").fails(ErrorCode.UNSUPPORTED).getMessage();
        assertEquals(true, msg.contains("no broadcasting layer"), msg);
    }

    @Test
    void constantsGainLeadingAxesAndRepeatSizeOneAxes() {
        // y[i, j, k] = c[j, 0] for target [2, 2, 3] (NumPy broadcasting of [2, 1])
        Model m = new OnnxBuilder(13).initializer("c", l(s(2, 1), 7, 8)).initializer("sh", l(s(3), 2, 1, 3))
                .node("Expand", List.of("c", "sh"), List.of("y")).output("y").convert();
        io.lstmx.ir.Tensor y = constantOutput(m, "y");
        assertArrayEquals(new int[] {2, 2, 3}, y.shape());
        assertArrayEquals(new long[] {7, 7, 7, 8, 8, 8, 7, 7, 7, 8, 8, 8}, y.toLongArray());
    }
}
