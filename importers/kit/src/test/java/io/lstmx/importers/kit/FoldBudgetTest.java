package io.lstmx.importers.kit;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
    /**
     * The budget counts tensors by identity without keeping them alive: an initializer dropped by
     * the importer after its last reader must be collectable (issue 9: a model's weights held once).
     */
    @Test
    void countedTensorsAreNotKeptAlive() throws InterruptedException {
        FoldBudget b = new FoldBudget("m.onnx", 0);
        Tensor w = Tensor.zeros(1 << 16);
        b.fromFile(w);
        java.lang.ref.WeakReference<Tensor> probe = new java.lang.ref.WeakReference<>(w);
        w = null;
        for (int i = 0; i < 50 && probe.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertTrue(probe.get() == null, "the budget must not hold the tensor");
        assertEquals(FoldBudget.SMALL_MODEL_BUDGET + 8L * (1 << 16), b.limit(), "its elements still raise the limit");
    }

    @Test
    void theIdentitySetDropsCollectedEntriesAndKnowsLiveOnes() throws InterruptedException {
        FoldBudget.WeakIdentitySet set = new FoldBudget.WeakIdentitySet();
        Tensor kept = Tensor.zeros(2);
        assertTrue(set.add(kept));
        assertFalse(set.add(kept), "the same object once");
        assertTrue(set.add(Tensor.zeros(2)), "an equal tensor is another object");
        for (int i = 0; i < 100; i++) {
            set.add(new Object()); // unreachable at once
        }
        for (int i = 0; i < 50 && set.size() > 50; i++) {
            System.gc();
            Thread.sleep(10);
            set.add(kept); // each add purges what was collected
        }
        assertTrue(set.size() <= 50, "collected entries are dropped: " + set.size());
        assertFalse(set.add(kept), "a live object stays in the set");
    }
}
