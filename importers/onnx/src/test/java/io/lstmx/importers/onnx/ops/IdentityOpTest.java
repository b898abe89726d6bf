package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class IdentityOpTest {
    @Test
    void passesThroughAndBecomesALayerOnlyAsAGraphOutput() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 3)
                .node("Identity", List.of("x"), List.of("a"))
                .node("Relu", List.of("a"), List.of("b"))
                .node("Identity", List.of("b"), List.of("y")).output("y").convert();
        assertEquals(2, m.layers().size(), m.layers().toString());
        assertEquals("x", only(m, Layer.Activation.class).input());
        Layer.Identity id = only(m, Layer.Identity.class);
        assertEquals("b", id.input());
        assertEquals("y", id.output());
    }

    @Test
    void constantsPassThrough() {
        Model m = new OnnxBuilder(13).initializer("c", f(s(2), 1, 2))
                .node("Identity", List.of("c"), List.of("y")).output("y").convert();
        assertArrayEquals(new float[] {1, 2}, constantOutput(m, "y").toFloatArray());
    }
}
