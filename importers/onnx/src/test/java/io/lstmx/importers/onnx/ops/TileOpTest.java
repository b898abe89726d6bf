package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class TileOpTest {
    @Test
    void constantsFold() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(1, 2), 1, 2)).initializer("r", l(s(2), 2, 2))
                .node("Tile", List.of("c", "r"), List.of("y")).output("y").convert();
        Layer.Constant c = only(m, Layer.Constant.class);
        assertArrayEquals(new int[] {2, 4}, c.value().shape());
        assertArrayEquals(new float[] {1, 2, 1, 2, 1, 2, 1, 2}, c.value().toFloatArray());
    }

    @Test
    void repeatsOfOneAreTheIdentityAndOthersUnsupported() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2, 3).initializer("r", l(s(2), 1, 1))
                .node("Tile", List.of("x", "r"), List.of("t"))
                .node("Relu", List.of("t"), List.of("y")).output("y").convert();
        assertEquals("x", only(m, Layer.Activation.class).input());
        new OnnxBuilder(13).input("x", FLOAT, 2, 3).initializer("r", l(s(2), 2, 1))
                .node("Tile", List.of("x", "r"), List.of("y")).output("y").fails(ErrorCode.UNSUPPORTED);
    }

    @Test
    void integerConstantsTileAlongEveryAxis() {
        // y[i, j, k] = c[i mod 1, j mod 2, k mod 2] with repeats [2, 1, 2]
        Model m = new OnnxBuilder(13).initializer("c", l(s(1, 2, 2), 1, 2, 3, 4)).initializer("r", l(s(3), 2, 1, 2))
                .node("Tile", List.of("c", "r"), List.of("y")).output("y").convert();
        Tensor y = constantOutput(m, "y");
        assertArrayEquals(new int[] {2, 2, 4}, y.shape());
        assertArrayEquals(new long[] {1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4}, y.toLongArray());
    }

    @Test
    void aZeroRepeatGivesAnEmptyTensorAndHugeResultsAreRefused() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(2, 2), 1, 2, 3, 4)).initializer("r", l(s(2), 0, 3))
                .node("Tile", List.of("c", "r"), List.of("y")).output("y").convert();
        assertArrayEquals(new int[] {0, 6}, constantOutput(m, "y").shape());
        new OnnxBuilder(13).initializer("c", f(s(1, 2), 1, 2)).initializer("r", l(s(2), 1 << 14, 1 << 13))
                .node("Tile", List.of("c", "r"), List.of("y")).output("y").fails(ErrorCode.UNSUPPORTED);
    }
}
