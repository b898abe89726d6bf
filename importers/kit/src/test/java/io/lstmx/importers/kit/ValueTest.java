package io.lstmx.importers.kit;

import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

class ValueTest {
    private static final SDim B = SDim.symbolic("batch");

    @Test
    void aFullyKnownShapeVectorSimplifiesToItsInt64Constant() {
        Value v = Value.simplify(new Value.ShapeVec(List.of(SDim.known(2), SDim.known(5)), false));
        Tensor t = assertInstanceOf(Value.Const.class, v).tensor();
        assertEquals(DType.INT64, t.dtype());
        assertArrayEquals(new int[] {2}, t.shape());
        assertArrayEquals(new long[] {2, 5}, t.toLongArray());
    }

    @Test
    void aKnownScalarShapeEntrySimplifiesToARankZeroConstant() {
        Value v = Value.simplify(new Value.ShapeVec(List.of(SDim.known(7)), true));
        Tensor t = assertInstanceOf(Value.Const.class, v).tensor();
        assertArrayEquals(new int[0], t.shape());
        assertEquals(7, t.getLong(0));
    }

    @Test
    void aShapeVectorWithASymbolStaysSymbolic() {
        Value v = new Value.ShapeVec(List.of(B, SDim.known(5)), false);
        assertSame(v, Value.simplify(v));
    }

    @Test
    void shapesAndTypesOfEachKindOfValue() {
        assertEquals(List.of(SDim.known(2), SDim.known(3)), Value.shapeOf(new Value.Const(Tensor.zeros(2, 3))));
        assertEquals(List.of(SDim.known(2)), Value.shapeOf(new Value.ShapeVec(List.of(B, SDim.known(4)), false)));
        assertEquals(List.of(), Value.shapeOf(new Value.ShapeVec(List.of(B), true)));
        assertEquals(List.of(B), Value.shapeOf(new Value.Filled(Tensor.scalar(0), List.of(B))));
        assertNull(Value.shapeOf(new Value.Run("x", DType.FLOAT32, null)));
        assertNull(Value.shapeOf(new Value.Poisoned()));
        assertEquals(DType.INT64, Value.dtypeOf(new Value.ShapeVec(List.of(B), false)));
        assertEquals(DType.FLOAT32, Value.dtypeOf(new Value.Filled(Tensor.scalar(1), List.of(B))));
        assertEquals(DType.INT32, Value.dtypeOf(new Value.Run("n", DType.INT32, List.of(B))));
    }

    @Test
    void descriptionsSayWhatIsOnlyKnownAtRunTime() {
        assertEquals("computed at run time (shape [batch, 3])", Value.describe(new Value.Run("x", DType.FLOAT32, List.of(B, SDim.known(3)))));
        assertEquals("a shape with run-time entries [batch]", Value.describe(new Value.ShapeVec(List.of(B), false)));
        assertEquals("a tensor of run-time shape [batch] filled with 0.5", Value.describe(new Value.Filled(Tensor.scalar(0.5f), List.of(B))));
    }
}
