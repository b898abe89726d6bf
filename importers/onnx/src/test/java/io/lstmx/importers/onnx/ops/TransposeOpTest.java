package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class TransposeOpTest {
    @Test
    void batchMajorToTimeMajor() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, "batch", 5, 3)
                .node("Transpose", List.of("x"), List.of("y"), ints("perm", 1, 0, 2)).output("y").convert();
        assertEquals(List.of(1, 0, 2), only(m, Layer.Transpose.class).perm());
        assertEquals(io.lstmx.ir.Shape.of(5, "batch", 3), m.outputs().get(0).shape());
    }

    @Test
    void defaultPermReversesAndConstantsFold() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(2, 3), 1, 2, 3, 4, 5, 6))
                .node("Transpose", List.of("c"), List.of("y")).output("y").convert();
        Layer.Constant c = only(m, Layer.Constant.class);
        assertArrayEquals(new int[] {3, 2}, c.value().shape());
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, c.value().toFloatArray());
    }

    @Test
    void runs() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2, 3).node("Transpose", List.of("x"), List.of("y")).output("y").convert();
        assertValues(run(m, Map.of("x", f(s(2, 3), 1, 2, 3, 4, 5, 6))).get("y"), s(3, 2), 1, 4, 2, 5, 3, 6);
    }
}
