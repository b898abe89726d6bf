package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class CastOpTest {
    @Test
    void constantsFoldWithTruncationAndBool() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(3), 1.7f, -1.7f, 0f))
                .node("Cast", List.of("c"), List.of("i"), attr("to", (long) INT64))
                .node("Cast", List.of("c"), List.of("b"), attr("to", 9L))
                .output("i").output("b").convert();
        assertArrayEquals(new long[] {1, -1, 0}, constantOutput(m, "i").toLongArray());
        assertArrayEquals(new long[] {1, 1, 0}, constantOutput(m, "b").toLongArray());
    }

    @Test
    void runTimeCastIsALayerAndSameTypeIsDropped() {
        Model m = new OnnxBuilder(13).input("x", INT64, 3)
                .node("Cast", List.of("x"), List.of("a"), attr("to", (long) INT32))
                .node("Cast", List.of("a"), List.of("b"), attr("to", (long) INT32))
                .output("b").convert();
        Layer.Cast c = only(m, Layer.Cast.class);
        assertEquals(DType.INT32, c.to());
        assertEquals(DType.INT32, m.outputs().get(0).dtype());
    }

    @Test
    void opset1NamesTheTypeAsAString() {
        Model m = new OnnxBuilder(1).input("x", INT64, 3)
                .node("Cast", List.of("x"), List.of("y"), attr("to", "float")).output("y").convert();
        assertEquals(DType.FLOAT32, only(m, Layer.Cast.class).to());
    }

    @Test
    void int64ToInt32KeepsTheLow32Bits() {
        // onnxruntime 1.29: Cast(int64 [2^40 + 5, 3000000000], to=INT32) = [5, 3000000000 - 2^32]
        Model m = new OnnxBuilder(13).initializer("c", l(s(2), (1L << 40) + 5, 3_000_000_000L))
                .node("Cast", List.of("c"), List.of("y"), attr("to", (long) INT32)).output("y").convert();
        Tensor y = constantOutput(m, "y");
        assertEquals(DType.INT32, y.dtype());
        assertArrayEquals(new long[] {5, 3_000_000_000L - (1L << 32)}, y.toLongArray());
    }
}
