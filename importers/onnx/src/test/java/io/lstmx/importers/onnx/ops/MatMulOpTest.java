package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class MatMulOpTest {
    @Test
    void matMulThenConstantAddIsOneDense() {
        Model m = new OnnxBuilder(17).input("x", FLOAT, "b", "t", 2)
                .initializer("W", f(s(2, 3), 1, 2, 3, 4, 5, 6)).initializer("bias", f(s(3), 0.5f, -1, 2))
                .node("MatMul", List.of("x", "W"), List.of("xw"))
                .node("Add", List.of("bias", "xw"), List.of("y")).output("y").convert();
        Layer.Dense d = only(m, Layer.Dense.class);
        assertEquals(1, m.layers().size(), m.layers().toString());
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, d.weight().toFloatArray());
        assertArrayEquals(new float[] {0.5f, -1, 2}, d.bias().toFloatArray());
        assertEquals("y", d.output());
        assertEquals(io.lstmx.ir.Shape.of("b", "t", 3), m.outputs().get(0).shape());
        Tensor out = run(m, Map.of("x", f(s(1, 1, 2), 1, 1))).get("y");
        assertValues(out, s(1, 1, 3), 5.5f, 6, 11);
    }

    @Test
    void noFusionWhenTheProductIsReadTwice() {
        Model m = new OnnxBuilder(17).input("x", FLOAT, 1, 2)
                .initializer("W", f(s(2, 2), 1, 0, 0, 1)).initializer("bias", f(s(2), 1, 1))
                .node("MatMul", List.of("x", "W"), List.of("xw"))
                .node("Add", List.of("xw", "bias"), List.of("y"))
                .node("Mul", List.of("xw", "y"), List.of("z")).output("z").convert();
        assertNull(only(m, Layer.Dense.class).bias());
        assertEquals(2, layers(m, Layer.Binary.class).size());
        assertValues(run(m, Map.of("x", f(s(1, 2), 2, 3))).get("z"), s(1, 2), 6, 12);
    }

    @Test
    void twoRunTimeOperandsAreAMatMul() {
        Model m = new OnnxBuilder(13).input("a", FLOAT, 2, 3, 4).input("b", FLOAT, 4, 5)
                .node("MatMul", List.of("a", "b"), List.of("y")).output("y").convert();
        assertEquals(1, layers(m, Layer.MatMul.class).size());
        assertEquals(io.lstmx.ir.Shape.of(2, 3, 5), m.outputs().get(0).shape());
    }

    @Test
    void vectorWeightIsAOneUnitDenseThenSqueeze() {
        Model m = new OnnxBuilder(13).input("a", FLOAT, 2, 3).initializer("v", f(s(3), 1, 2, 3))
                .node("MatMul", List.of("a", "v"), List.of("y")).output("y").convert();
        assertValues(run(m, Map.of("a", f(s(2, 3), 1, 1, 1, 0, 1, 0))).get("y"), s(2), 6, 2);
    }

    @Test
    void constantsFold() {
        Model m = new OnnxBuilder(13).initializer("a", f(s(1, 2), 1, 2)).initializer("b", f(s(2, 1), 3, 4))
                .node("MatMul", List.of("a", "b"), List.of("y")).output("y").convert();
        assertArrayEquals(new float[] {11}, constantOutput(m, "y").toFloatArray());
    }
}
