package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class FlattenOpTest {
    @Test
    void flattensAtTheAxis() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, "b", 3, 4)
                .node("Flatten", List.of("x"), List.of("y")).output("y").convert();
        assertEquals(1, only(m, Layer.Flatten.class).axis());
        assertEquals(io.lstmx.ir.Shape.of("b", 12), m.outputs().get(0).shape());
        float[] v = new float[24];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        assertValues(run(m, Map.of("x", f(s(2, 3, 4), v))).get("y"), s(2, 12), v);
    }

    @Test
    void negativeAxisAndConstants() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(2, 3, 1), 1, 2, 3, 4, 5, 6))
                .node("Flatten", List.of("c"), List.of("y"), attr("axis", -1L)).output("y").convert();
        assertArrayEquals(new int[] {6, 1}, only(m, Layer.Constant.class).value().shape());
    }
}
