package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReshapeOpTest {
    @Test
    void constantTargetPassesThrough() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2, 3).initializer("t", l(s(3), 3, 1, -1))
                .node("Reshape", List.of("x", "t"), List.of("y")).output("y").convert();
        assertEquals(List.of(3L, 1L, -1L), only(m, Layer.Reshape.class).shape());
        assertEquals(io.lstmx.ir.Shape.of(3, 1, 2), m.outputs().get(0).shape());
        assertValues(run(m, Map.of("x", f(s(2, 3), 1, 2, 3, 4, 5, 6))).get("y"), s(3, 1, 2), 1, 2, 3, 4, 5, 6);
    }

    @Test
    void shapeAttributeBeforeOpset5() {
        Model m = new OnnxBuilder(4).input("x", FLOAT, 2, 3)
                .node("Reshape", List.of("x"), List.of("y"), ints("shape", 6)).output("y").convert();
        assertEquals(List.of(6L), only(m, Layer.Reshape.class).shape());
    }

    /** Reshape(x, Concat(Shape(x)[1], Shape(x)[0], -1)): neither symbolic dim is at its own position. */
    @Test
    void twoMovedRunTimeDimensionsAreUnsupported() {
        String msg = new OnnxBuilder(13).input("x", FLOAT, "a", "b", 2)
                .initializer("i0", l(s(1), 0)).initializer("i1", l(s(1), 1)).initializer("m1", l(s(1), -1))
                .node("Shape", List.of("x"), List.of("s"))
                .node("Gather", List.of("s", "i1"), List.of("d1"))
                .node("Gather", List.of("s", "i0"), List.of("d0"))
                .node("Concat", List.of("d1", "d0", "m1"), List.of("t"), attr("axis", 0L))
                .node("Reshape", List.of("x", "t"), List.of("y")).output("y").fails(ErrorCode.UNSUPPORTED).getMessage();
        assertTrue(msg.contains("can infer only one"), msg);
    }

    @Test
    void symbolicDimensionAtItsOwnPositionIsACopy() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, "a", 3, 2)
                .initializer("i0", l(s(1), 0)).initializer("six", l(s(1), 6))
                .node("Shape", List.of("x"), List.of("s"))
                .node("Gather", List.of("s", "i0"), List.of("d0"))
                .node("Concat", List.of("d0", "six"), List.of("t"), attr("axis", 0L))
                .node("Reshape", List.of("x", "t"), List.of("y")).output("y").convert();
        assertEquals(List.of(0L, 6L), only(m, Layer.Reshape.class).shape());
    }

    @Test
    void constantsFold() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(2, 2), 1, 2, 3, 4)).initializer("t", l(s(1), -1))
                .node("Reshape", List.of("c", "t"), List.of("y")).output("y").convert();
        assertArrayEquals(new int[] {4}, only(m, Layer.Constant.class).value().shape());
    }
}
