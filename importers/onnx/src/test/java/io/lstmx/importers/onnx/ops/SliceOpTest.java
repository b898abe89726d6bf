package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class SliceOpTest {
    @Test
    void attributesInOpset1() {
        Model m = new OnnxBuilder(9).input("x", FLOAT, 5, "B", 4)
                .node("Slice", List.of("x"), List.of("y"), ints("starts", -1), ints("ends", Long.MAX_VALUE), ints("axes", 0))
                .output("y").convert();
        Layer.Slice s = only(m, Layer.Slice.class);
        assertEquals(0, s.axis());
        assertEquals(-1, s.start());
        assertEquals(io.lstmx.ir.Shape.of(1, "B", 4), m.outputs().get(0).shape());
    }

    @Test
    void inputsWithStepsFromOpset10AndWholeAxesDropped() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2, 6)
                .initializer("st", l(s(2), 0, 5)).initializer("en", l(s(2), Long.MAX_VALUE, -7))
                .initializer("ax", l(s(2), 0, 1)).initializer("sp", l(s(2), 1, -2))
                .node("Slice", List.of("x", "st", "en", "ax", "sp"), List.of("y")).output("y").convert();
        Layer.Slice s = only(m, Layer.Slice.class);
        assertEquals(1, s.axis());
        assertEquals(-2, s.step());
        assertEquals(io.lstmx.ir.Shape.of(2, 3), m.outputs().get(0).shape());
        assertValues(run(m, Map.of("x", f(s(2, 6), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))).get("y"), s(2, 3), 5, 3, 1, 11, 9, 7);
    }

    @Test
    void constantsAndShapesFold() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, "b", 3, 4).initializer("c", f(s(4), 1, 2, 3, 4))
                .initializer("st", l(s(1), 1)).initializer("en", l(s(1), 3))
                .node("Slice", List.of("c", "st", "en"), List.of("y"))
                .node("Shape", List.of("x"), List.of("sh"))
                .node("Slice", List.of("sh", "st", "en"), List.of("tail"))
                .node("Cast", List.of("tail"), List.of("tailf"), attr("to", (long) FLOAT))
                .output("y").output("tailf").convert();
        assertArrayEquals(new float[] {2, 3}, constantOutput(m, "y").toFloatArray());
        assertArrayEquals(new float[] {3, 4}, constantOutput(m, "tailf").toFloatArray());
    }

    @Test
    void backwardStartBeforeTheAxisIsClampedToTheFirstIndex() {
        // ONNX clamps a backward start to [0, dim - 1]: x[-100:INT64_MIN:-1] of 5 elements is [x[0]]
        // (onnxruntime 1.29 gives that; NumPy would give an empty array). Constants, run-time values
        // and their inferred shapes must agree.
        Model m = new OnnxBuilder(13).input("x", FLOAT, 5).initializer("c", f(s(5), 10, 11, 12, 13, 14))
                .initializer("st", l(s(1), -100)).initializer("en", l(s(1), Long.MIN_VALUE))
                .initializer("ax", l(s(1), 0)).initializer("sp", l(s(1), -1))
                .node("Slice", List.of("c", "st", "en", "ax", "sp"), List.of("y"))
                .node("Slice", List.of("x", "st", "en", "ax", "sp"), List.of("z"))
                .output("y").output("z").convert();
        assertArrayEquals(new float[] {10}, constantOutput(m, "y").toFloatArray());
        assertEquals(io.lstmx.ir.Shape.of(1), m.outputs().get(1).shape());
        assertValues(run(m, Map.of("x", f(s(5), 5, 6, 7, 8, 9))).get("z"), s(1), 5);
    }
}
