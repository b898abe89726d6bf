package io.lstmx.importers.kit;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FoldBudgetTest {
    @Test
    void theLimitGrowsByEightPerFileByteAndPerElementTheFileHolds() {
        FoldBudget b = new FoldBudget("m.onnx", 100);
        assertEquals(FoldBudget.SMALL_MODEL_BUDGET + 800, b.limit());
        b.fromFile(Tensor.zeros(10));
        assertEquals(FoldBudget.SMALL_MODEL_BUDGET + 800 + 80, b.limit());
    }

    @Test
    void tensorsFromTheFileCostNothing() {
        FoldBudget b = new FoldBudget("m.onnx", 0);
        Tensor w = Tensor.zeros(10);
        b.fromFile(w);
        long room = b.room();
        b.hold(w, "w");
        assertEquals(room, b.room());
    }

    @Test
    void eachTensorIsCountedOnceHoweverOftenItIsUsed() {
        FoldBudget b = new FoldBudget("m.onnx", 0);
        Tensor t = Tensor.zeros(10);
        b.hold(t, "a");
        b.hold(t, "b");
        b.holdLayer(new Layer.Constant("c", "y", t));
        assertEquals(FoldBudget.SMALL_MODEL_BUDGET - 10, b.room());
    }

    @Test
    void layerWeightsAreCounted() {
        FoldBudget b = new FoldBudget("m.onnx", 0);
        b.holdLayer(new Layer.Dense("d", "x", "y", Tensor.zeros(3, 4), Tensor.zeros(3)));
        assertEquals(FoldBudget.SMALL_MODEL_BUDGET - 15, b.room());
    }

    @Test
    void theRoomNeverExceedsTheLargestFoldableTensor() {
        FoldBudget b = new FoldBudget("m.onnx", Fold.LIMIT);
        assertEquals(Fold.LIMIT, b.room());
    }

    @Test
    void holdingMoreThanTheLimitIsUnsupportedAndNamesTheFileAndWhat() {
        FoldBudget b = new FoldBudget("m.onnx", 0);
        b.hold(Tensor.zeros((int) FoldBudget.SMALL_MODEL_BUDGET), "first");
        assertEquals(0, b.room());
        LstmxException e = assertThrows(LstmxException.class, () -> b.hold(Tensor.zeros(1), "value 'x'"));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertTrue(e.getMessage().startsWith("m.onnx: value 'x': "), e.getMessage());
    }
}
