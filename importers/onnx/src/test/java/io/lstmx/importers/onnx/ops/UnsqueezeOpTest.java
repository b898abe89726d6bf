package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class UnsqueezeOpTest {
    @Test
    void axesAttributeBeforeOpset13() {
        Model m = new OnnxBuilder(11).input("h", FLOAT, "B", 8)
                .node("Unsqueeze", List.of("h"), List.of("z"), ints("axes", 0)).output("z").convert();
        assertEquals(List.of(0), only(m, Layer.Unsqueeze.class).axes());
        assertEquals(io.lstmx.ir.Shape.of(1, "B", 8), m.outputs().get(0).shape());
    }

    @Test
    void negativeAxesInputFromOpset13CountFromTheOutputRank() {
        Model m = new OnnxBuilder(13).input("h", FLOAT, "B", 8).initializer("axes", l(s(2), -1, 0))
                .node("Unsqueeze", List.of("h", "axes"), List.of("z")).output("z").convert();
        assertEquals(List.of(0, 3), only(m, Layer.Unsqueeze.class).axes());
        assertEquals(io.lstmx.ir.Shape.of(1, "B", 8, 1), m.outputs().get(0).shape());
    }

    @Test
    void constantsFold() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(2), 1, 2)).initializer("axes", l(s(1), 1))
                .node("Unsqueeze", List.of("c", "axes"), List.of("z")).output("z").convert();
        assertArrayEquals(new int[] {2, 1}, only(m, Layer.Constant.class).value().shape());
    }
}
