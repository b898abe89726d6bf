package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class ConstantOfShapeOpTest {
    @Test
    void knownShapeMaterialisesWhenUsed() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2, 3).initializer("sh", l(s(2), 2, 3))
                .node("ConstantOfShape", List.of("sh"), List.of("c"), attr("value", f(s(1), 1.5f)))
                .node("Add", List.of("x", "c"), List.of("y")).output("y").convert();
        Layer.Constant c = only(m, Layer.Constant.class);
        assertArrayEquals(new int[] {2, 3}, c.value().shape());
        assertArrayEquals(new float[] {1.5f, 1.5f, 1.5f, 1.5f, 1.5f, 1.5f}, c.value().toFloatArray());
        assertValues(run(m, Map.of("x", f(s(2, 3), 0, 1, 2, 3, 4, 5))).get("y"), s(2, 3), 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f);
    }

    @Test
    void defaultIsFloatZeroAndIntegerValuesKeepTheirType() {
        Model m = new OnnxBuilder(13).initializer("sh", l(s(1), 2))
                .node("ConstantOfShape", List.of("sh"), List.of("z"))
                .node("ConstantOfShape", List.of("sh"), List.of("i"), attr("value", l(s(1), 7)))
                .output("z").output("i").convert();
        assertArrayEquals(new float[] {0, 0}, constantOutput(m, "z").toFloatArray());
        assertEquals(DType.INT64, constantOutput(m, "i").dtype());
        assertArrayEquals(new long[] {7, 7}, constantOutput(m, "i").toLongArray());
    }
}
