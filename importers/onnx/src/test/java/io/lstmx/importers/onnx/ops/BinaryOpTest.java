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

class BinaryOpTest {
    @Test
    void constantsFoldWithBroadcasting() {
        Model m = new OnnxBuilder(14).initializer("a", f(s(2, 2), 1, 2, 3, 4)).initializer("b", f(s(2), 10, 20))
                .node("Add", List.of("a", "b"), List.of("add"))
                .node("Sub", List.of("add", "b"), List.of("sub"))
                .node("Mul", List.of("sub", "b"), List.of("mul"))
                .node("Div", List.of("mul", "b"), List.of("div"))
                .output("add").output("mul").output("div").convert();
        assertArrayEquals(new float[] {11, 22, 13, 24}, constantOutput(m, "add").toFloatArray());
        assertArrayEquals(new float[] {10, 40, 30, 80}, constantOutput(m, "mul").toFloatArray());
        assertArrayEquals(new float[] {1, 2, 3, 4}, constantOutput(m, "div").toFloatArray());
    }

    @Test
    void integerDivisionTruncates() {
        Model m = new OnnxBuilder(14).initializer("a", l(s(2), 7, -7)).initializer("b", l(s(), 2))
                .node("Div", List.of("a", "b"), List.of("y")).output("y").convert();
        assertArrayEquals(new long[] {3, -3}, constantOutput(m, "y").toLongArray());
    }

    @Test
    void runTimeOperandsBecomeBinaryLayers() {
        Model m = new OnnxBuilder(14).input("x", FLOAT, "n", 2).initializer("c", f(s(2), 2, 4))
                .node("Div", List.of("x", "c"), List.of("y")).output("y").convert();
        Layer.Binary b = only(m, Layer.Binary.class);
        assertEquals(Layer.Binary.Op.DIV, b.op());
        assertEquals(io.lstmx.ir.Shape.of("n", 2), m.outputs().get(0).shape());
        assertValues(run(m, Map.of("x", f(s(1, 2), 1, 1))).get("y"), s(1, 2), 0.5f, 0.25f);
    }

    @Test
    void shapeArithmeticKeepsSymbolsThroughIdentities() {
        // x.view(x.size(0) * 1, -1): the product with 1 is still the batch dimension, so it becomes a copy (0).
        Model m = new OnnxBuilder(13).input("x", FLOAT, "batch", 3, 4)
                .initializer("zero", l(s(), 0)).initializer("one", l(s(), 1)).initializer("axes", l(s(1), 0))
                .initializer("minus", l(s(1), -1))
                .node("Shape", List.of("x"), List.of("s"))
                .node("Gather", List.of("s", "zero"), List.of("b"))
                .node("Mul", List.of("b", "one"), List.of("b1"))
                .node("Unsqueeze", List.of("b1", "axes"), List.of("bv"))
                .node("Concat", List.of("bv", "minus"), List.of("target"), attr("axis", 0L))
                .node("Reshape", List.of("x", "target"), List.of("y")).output("y").convert();
        assertEquals(List.of(0L, -1L), only(m, Layer.Reshape.class).shape());
        assertEquals(io.lstmx.ir.Shape.of("batch", 12), m.outputs().get(0).shape());
    }

    @Test
    void legacyBroadcastWithAMisalignedAxisIsUnsupported() {
        new OnnxBuilder(6).input("x", FLOAT, 2, 3, 4).initializer("c", f(s(3), 1, 2, 3))
                .node("Add", List.of("x", "c"), List.of("y"), attr("broadcast", 1L), attr("axis", 1L))
                .output("y").fails(ErrorCode.UNSUPPORTED);
    }

    @Test
    void integerOverflowWrapsAround() {
        // onnxruntime 1.29: Add(int64 max, 1) = int64 min (two's complement), as the runtime's Binary layer computes it
        Model m = new OnnxBuilder(14).initializer("a", l(s(1), Long.MAX_VALUE)).initializer("b", l(s(1), 1))
                .node("Add", List.of("a", "b"), List.of("y")).output("y").convert();
        assertArrayEquals(new long[] {Long.MIN_VALUE}, constantOutput(m, "y").toLongArray());
    }

    @Test
    void incompatibleConstantShapesAreBadInputNamingTheNode() {
        String msg = new OnnxBuilder(14).initializer("a", f(s(2, 3), 1, 2, 3, 4, 5, 6)).initializer("b", f(s(2), 1, 2))
                .node("Mul", List.of("a", "b"), List.of("y")).output("y").fails(ErrorCode.BAD_INPUT).getMessage();
        assertEquals(true, msg.contains("(Mul): shapes [2, 3] and [2] do not broadcast"), msg);
    }

    @Test
    void integerDivisionByZeroIsBadInputNamingTheNode() {
        String msg = new OnnxBuilder(14).initializer("a", l(s(2), 4, 5)).initializer("b", l(s(2), 1, 0))
                .node("Div", List.of("a", "b"), List.of("y")).output("y").fails(ErrorCode.BAD_INPUT).getMessage();
        assertEquals(true, msg.contains("(Div): ") && msg.contains("division by zero"), msg);
    }
}
