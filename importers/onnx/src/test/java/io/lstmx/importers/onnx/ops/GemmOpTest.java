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

class GemmOpTest {
    private static final Tensor X = f(s(2, 2), 1, 2, 3, 4);

    @Test
    void constantBWithTransBIsADenseWithScaledWeightAndBias() {
        // B [N=3, K=2] with transB = 1: Y = 2 * X B^T + 0.5 * C
        Model m = new OnnxBuilder(13).input("x", FLOAT, "batch", 2)
                .initializer("B", f(s(3, 2), 1, 0, 0, 1, 1, 1)).initializer("C", f(s(3), 10, 20, 30))
                .node("Gemm", List.of("x", "B", "C"), List.of("y"), attr("transB", 1L), attr("alpha", 2f), attr("beta", 0.5f))
                .output("y").convert();
        Layer.Dense d = only(m, Layer.Dense.class);
        assertArrayEquals(new float[] {2, 0, 0, 2, 2, 2}, d.weight().toFloatArray());
        assertArrayEquals(new float[] {5, 10, 15}, d.bias().toFloatArray());
        assertEquals(1, m.layers().size());
        // rows [1,2] and [3,4]: 2*[1, 2, 3] + [5, 10, 15], 2*[3, 4, 7] + [5, 10, 15]
        assertValues(run(m, Map.of("x", X)).get("y"), s(2, 3), 7, 14, 21, 11, 18, 29);
    }

    @Test
    void constantBWithoutTransBIsTransposed() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2, 2)
                .initializer("B", f(s(2, 3), 1, 2, 3, 4, 5, 6))
                .node("Gemm", List.of("x", "B"), List.of("y")).output("y").convert();
        Layer.Dense d = only(m, Layer.Dense.class);
        assertArrayEquals(new int[] {3, 2}, d.weight().shape());
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, d.weight().toFloatArray());
        assertNull(d.bias());
        assertValues(run(m, Map.of("x", X)).get("y"), s(2, 3), 9, 12, 15, 19, 26, 33);
    }

    @Test
    void fullMatrixCAndTransAAreSeparateLayers() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2, 2)
                .initializer("B", f(s(2, 2), 1, 0, 0, 1)).initializer("C", f(s(2, 2), 1, 2, 3, 4))
                .node("Gemm", List.of("x", "B", "C"), List.of("y"), attr("transA", 1L)).output("y").convert();
        assertEquals(1, layers(m, Layer.Transpose.class).size());
        assertEquals(1, layers(m, Layer.Binary.class).size());
        // X^T = [[1,3],[2,4]] + C
        assertValues(run(m, Map.of("x", X)).get("y"), s(2, 2), 2, 5, 5, 8);
    }

    @Test
    void runTimeBIsAMatMul() {
        Model m = new OnnxBuilder(13).input("a", FLOAT, 2, 2).input("b", FLOAT, 2, 2)
                .node("Gemm", List.of("a", "b"), List.of("y"), attr("alpha", 3f), attr("transB", 1L)).output("y").convert();
        assertEquals(1, layers(m, Layer.MatMul.class).size());
        // 3 * X X^T = 3 * [[5, 11], [11, 25]]
        assertValues(run(m, Map.of("a", X, "b", X)).get("y"), s(2, 2), 15, 33, 33, 75);
    }

    @Test
    void allConstantFolds() {
        Model m = new OnnxBuilder(13)
                .initializer("a", X).initializer("b", f(s(2, 1), 1, -1)).initializer("c", Tensor.scalar(100f))
                .node("Gemm", List.of("a", "b", "c"), List.of("y")).output("y").convert();
        assertArrayEquals(new float[] {99, 99}, constantOutput(m, "y").toFloatArray());
    }
}
