package io.lstmx.importers.kit;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each folding helper on small tensors whose results are worked out by hand in the comments. */
class FoldTest {
    private static Tensor f(int[] shape, float... v) {
        return Tensor.ofFloats(shape, v);
    }

    private static Tensor l(int[] shape, long... v) {
        return Tensor.ofLongs(shape, v);
    }

    private static int[] s(int... d) {
        return d;
    }

    private static void assertFloats(Tensor t, int[] shape, float... expected) {
        assertArrayEquals(shape, t.shape(), "shape");
        assertArrayEquals(expected, t.toFloatArray());
    }

    @Test
    void transposeMovesAxes() {
        // [[1,2,3],[4,5,6]] transposed
        assertFloats(Fold.transpose(f(s(2, 3), 1, 2, 3, 4, 5, 6), new int[] {1, 0}, new TestNode()), s(3, 2), 1, 4, 2, 5, 3, 6);
    }

    @Test
    void sliceClampsAndStepsBackwards() {
        // [0..5][4:-100:-2] -> indices 4, 2, 0
        Tensor t = Fold.slice(l(s(6), 0, 1, 2, 3, 4, 5), 0, 4, -100, -2, new TestNode());
        assertArrayEquals(new long[] {4, 2, 0}, t.toLongArray());
    }

    @Test
    void concatenatingIntegersKeepsTheFirstPartsIntegerType() {
        Tensor a = Tensor.ofLongs(DType.INT32, s(2), new long[] {1, 2});
        Tensor t = Fold.concat(List.of(a, l(s(1), 3)), 0, new TestNode());
        assertEquals(DType.INT32, t.dtype());
        assertArrayEquals(new long[] {1, 2, 3}, t.toLongArray());
    }

    @Test
    void concatenatingFloatsWithIntegersComputesInFloat() {
        Tensor t = Fold.concat(List.of(l(s(1), 7), f(s(1), 0.5f)), 0, new TestNode());
        assertFloats(t, s(2), 7, 0.5f);
    }

    @Test
    void gatherPutsTheIndexShapeWhereTheAxisWas() {
        // data [2,3], indices [[2],[0]] along axis 1 -> [2, 2, 1]: row 0 -> 3, 1; row 1 -> 6, 4
        Tensor t = Fold.gather(f(s(2, 3), 1, 2, 3, 4, 5, 6), l(s(2, 1), 2, 0), 1, new TestNode());
        assertFloats(t, s(2, 2, 1), 3, 1, 6, 4);
    }

    @Test
    void broadcastToRepeatsSizeOneAxes() {
        // [[1],[2]] to [2, 3]
        assertFloats(Fold.broadcastTo(f(s(2, 1), 1, 2), s(2, 3), new TestNode()), s(2, 3), 1, 1, 1, 2, 2, 2);
        // a vector [3] to [2, 3] gains a leading axis
        assertFloats(Fold.broadcastTo(f(s(3), 1, 2, 3), s(2, 3), new TestNode()), s(2, 3), 1, 2, 3, 1, 2, 3);
    }

    @Test
    void tileRepeatsWholeAxes() {
        // [1, 2] tiled 3 times: 1 2 1 2 1 2
        assertArrayEquals(new long[] {1, 2, 1, 2, 1, 2}, Fold.tile(l(s(2), 1, 2), new long[] {3}, new TestNode()).toLongArray());
        assertEquals(0, Fold.tile(l(s(2), 1, 2), new long[] {0}, new TestNode()).size());
    }

    @Test
    void integerDivisionTruncatesTowardsZeroAndBroadcasts() {
        // [-7, 7] / 2 -> [-3, 3] (ONNX Div on integers truncates)
        Tensor t = Fold.binary(Layer.Binary.Op.DIV, l(s(2), -7, 7), l(s(), 2), new TestNode());
        assertEquals(DType.INT64, t.dtype());
        assertArrayEquals(new long[] {-3, 3}, t.toLongArray());
    }

    @Test
    void mixedBinaryOperandsComputeInFloat() {
        assertFloats(Fold.binary(Layer.Binary.Op.MUL, l(s(2), 3, 4), f(s(), 0.5f), new TestNode()), s(2), 1.5f, 2f);
    }

    @Test
    void matrixProductOfTwoByTwo() {
        // [[1,2],[3,4]] x [[5,6],[7,8]] = [[19,22],[43,50]]
        assertFloats(Fold.matmul2d(f(s(2, 2), 1, 2, 3, 4), f(s(2, 2), 5, 6, 7, 8), new TestNode()), s(2, 2), 19, 22, 43, 50);
    }

    @Test
    void castToAnIntegerTruncates() {
        Tensor t = Fold.cast(f(s(3), 2.9f, -2.9f, 0.4f), DType.INT64, new TestNode());
        assertEquals(DType.INT64, t.dtype());
        assertArrayEquals(new long[] {2, -2, 0}, t.toLongArray());
    }

    @Test
    void elementwiseHelpers() {
        assertFloats(Fold.map(f(s(2), 1, -4), Math::abs), s(2), 1, 4);
        Tensor t = f(s(2), 1, 2);
        assertSame(t, Fold.scale(t, 1f));
        assertFloats(Fold.scale(t, -2f), s(2), -2, -4);
        assertTrue(Fold.uniform(f(s(3), 5, 5, 5)));
        assertFalse(Fold.uniform(f(s(2), 5, 6)));
        assertFalse(Fold.uniform(f(s(0))), "no element is not uniform");
        assertTrue(Fold.allZero(f(s(2), 0, -0f)));
        assertFalse(Fold.allZero(f(s(2), 0, 1e-30f)));
        assertFloats(Fold.element(f(s(2), 3, 4), 1), s(), 4);
        assertArrayEquals(new long[] {9, 9, 9}, Fold.fill(l(s(), 9), s(3), "x", 10).toLongArray());
    }

    @Test
    void resultsLargerThanTheRoomAreRefusedBeforeAllocating() {
        // 1000 x 1000 x 1000 elements would be 4 GB: refused by size, not by running out of memory.
        LstmxException e = assertThrows(LstmxException.class,
                () -> Fold.broadcastTo(f(s(1), 1), s(1000, 1000, 1000), new TestNode(1000)));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertTrue(e.getMessage().contains("test.model: node 'n' (Op)") && e.getMessage().contains("more than 1000 elements"), e.getMessage());
        assertEquals(ErrorCode.UNSUPPORTED, assertThrows(LstmxException.class,
                () -> Fold.tile(f(s(2), 1, 2), new long[] {Long.MAX_VALUE}, new TestNode())).code());
        assertEquals(ErrorCode.BAD_INPUT, assertThrows(LstmxException.class, () -> Fold.checkedCount("x", 10, 2, -1)).code());
        assertEquals(12, Fold.checkedCount(new TestNode(12), 3, 4));
    }

    @Test
    void aFoldedProductTooLongToComputeIsRefused() {
        // 2^11 x 2^10 times 2^10 x 2^10 is 2^31 multiply-adds, more than MATMUL_WORK_LIMIT (2^30).
        Tensor a = Tensor.zeros(1 << 11, 1 << 10);
        Tensor b = Tensor.zeros(1 << 10, 1 << 10);
        assertEquals(ErrorCode.UNSUPPORTED, assertThrows(LstmxException.class, () -> Fold.matmul2d(a, b, new TestNode())).code());
    }

    @Test
    void runtimeErrorsNameTheNode() {
        LstmxException e = assertThrows(LstmxException.class,
                () -> Fold.transpose(f(s(2), 1, 2), new int[] {0, 1}, new TestNode()));
        assertTrue(e.getMessage().contains("test.model: node 'n' (Op)"), e.getMessage());
    }

    @Test
    void aFilledValueOfKnownShapeBecomesAConstantCountedAgainstTheBudget() {
        FoldBudget budget = new FoldBudget("test.model", 0);
        Tensor t = Fold.constant(new Value.Filled(Tensor.scalar(2), List.of(SDim.known(2), SDim.known(2))), "v", budget);
        assertFloats(t, s(2, 2), 2, 2, 2, 2);
        assertEquals(FoldBudget.SMALL_MODEL_BUDGET - 4, budget.room());
        assertNull(Fold.constant(new Value.Filled(Tensor.scalar(2), List.of(SDim.symbolic("b"))), "w", budget));
        assertNull(Fold.constant(new Value.Run("x", DType.FLOAT32, List.of()), "x", budget));
        Tensor c = Tensor.zeros(3);
        assertSame(c, Fold.constant(new Value.Const(c), "c", budget));
    }
}
