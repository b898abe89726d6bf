package io.lstmx.importers.onnx.ops;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

class OpRegistryTest {
    private final OpRegistry r = OpRegistry.STANDARD;

    @Test
    void greatestSinceVersionNotAboveTheOpsetWins() {
        OpConverter legacy = r.find("", "Softmax", 11);
        OpConverter modern = r.find("", "Softmax", 13);
        assertNotSame(legacy, modern);
        assertSame(legacy, r.find("", "Softmax", 1));
        assertSame(modern, r.find("", "Softmax", 22));
        assertInstanceOf(LstmOp.class, r.find("ai.onnx", "LSTM", 17));
    }

    @Test
    void missingOrTooNewOperatorsAreUnknown() {
        assertNull(r.find("", "Expand", 7));
        assertNull(r.find("", "NoSuchOp", 17));
        assertNull(r.find("com.microsoft", "LSTM", 17));
    }
}
