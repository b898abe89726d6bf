package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class SqueezeOpTest {
    @Test
    void axesAttributeBeforeOpset13() {
        Model m = new OnnxBuilder(11).input("y", FLOAT, "T", 1, "B", 8)
                .node("Squeeze", List.of("y"), List.of("z"), ints("axes", -3)).output("z").convert();
        assertEquals(List.of(1), only(m, Layer.Squeeze.class).axes());
        assertEquals(io.lstmx.ir.Shape.of("T", "B", 8), m.outputs().get(0).shape());
    }

    @Test
    void axesInputFromOpset13() {
        Model m = new OnnxBuilder(13).input("y", FLOAT, "T", 1, "B", 8).initializer("axes", l(s(1), 1))
                .node("Squeeze", List.of("y", "axes"), List.of("z")).output("z").convert();
        assertEquals(List.of(1), only(m, Layer.Squeeze.class).axes());
    }

    @Test
    void withoutAxesNeedsKnownDimensions() {
        Model m = new OnnxBuilder(13).input("y", FLOAT, 1, 3, 1)
                .node("Squeeze", List.of("y"), List.of("z")).output("z").convert();
        assertEquals(List.of(0, 2), only(m, Layer.Squeeze.class).axes());
        new OnnxBuilder(13).input("y", FLOAT, "b", 3)
                .node("Squeeze", List.of("y"), List.of("z")).output("z").fails(ErrorCode.UNSUPPORTED);
    }

    @Test
    void squeezingASizeOtherThanOneIsBadInput() {
        new OnnxBuilder(13).input("y", FLOAT, 2, 3).initializer("axes", l(s(1), 0))
                .node("Squeeze", List.of("y", "axes"), List.of("z")).output("z").fails(ErrorCode.BAD_INPUT);
    }

    @Test
    void constantsFold() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(1, 2), 1, 2))
                .node("Squeeze", List.of("c"), List.of("z")).output("z").convert();
        assertArrayEquals(new int[] {2}, only(m, Layer.Constant.class).value().shape());
    }
}
