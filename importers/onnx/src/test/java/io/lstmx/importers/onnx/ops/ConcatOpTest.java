package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class ConcatOpTest {
    @Test
    void constantsFold() {
        Model m = new OnnxBuilder(13).initializer("a", f(s(2, 1), 1, 2)).initializer("b", f(s(2, 2), 3, 4, 5, 6))
                .node("Concat", List.of("a", "b"), List.of("y"), attr("axis", 1L)).output("y").convert();
        Layer.Constant c = only(m, Layer.Constant.class);
        assertArrayEquals(new int[] {2, 3}, c.value().shape());
        assertArrayEquals(new float[] {1, 3, 4, 2, 5, 6}, c.value().toFloatArray());
    }

    @Test
    void runTimeValuesBecomeAConcatLayer() {
        Model m = new OnnxBuilder(13).input("a", FLOAT, "b", 2).initializer("c", f(s(1, 1), 9))
                .input("d", FLOAT, "b", 1)
                .node("Concat", List.of("a", "d"), List.of("y"), attr("axis", -1L)).output("y").convert();
        Layer.Concat c = only(m, Layer.Concat.class);
        assertEquals(1, c.axis());
        assertEquals(io.lstmx.ir.Shape.of("b", 3), m.outputs().get(0).shape());
        assertValues(run(m, Map.of("a", f(s(1, 2), 1, 2), "d", f(s(1, 1), 3))).get("y"), s(1, 3), 1, 2, 3);
    }
}
