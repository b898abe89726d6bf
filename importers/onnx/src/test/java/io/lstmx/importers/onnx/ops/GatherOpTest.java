package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class GatherOpTest {
    @Test
    void constantTableWithRunTimeIndicesIsAnEmbedding() {
        Model m = new OnnxBuilder(13).input("ids", INT64, "b", "t").initializer("table", f(s(3, 2), 0, 1, 10, 11, 20, 21))
                .node("Gather", List.of("table", "ids"), List.of("y")).output("y").convert();
        only(m, Layer.Embedding.class);
        assertEquals(io.lstmx.ir.Shape.of("b", "t", 2), m.outputs().get(0).shape());
        assertValues(run(m, Map.of("ids", l(s(1, 2), 2, 0))).get("y"), s(1, 2, 2), 20, 21, 0, 1);
    }

    @Test
    void scalarIndexIsASelect() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 4, 1, 2).initializer("last", l(s(), -1))
                .node("Gather", List.of("x", "last"), List.of("y"), attr("axis", 0L)).output("y").convert();
        Layer.Select sel = only(m, Layer.Select.class);
        assertEquals(0, sel.axis());
        assertEquals(-1, sel.index());
        assertEquals(io.lstmx.ir.Shape.of(1, 2), m.outputs().get(0).shape());
        assertValues(run(m, Map.of("x", f(s(4, 1, 2), 1, 2, 3, 4, 5, 6, 7, 8))).get("y"), s(1, 2), 7, 8);
    }

    @Test
    void indexVectorIsATake() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2, 3).initializer("idx", l(s(2), 2, 0))
                .node("Gather", List.of("x", "idx"), List.of("y"), attr("axis", -1L)).output("y").convert();
        Layer.Take t = only(m, Layer.Take.class);
        assertEquals(1, t.axis());
        assertValues(run(m, Map.of("x", f(s(2, 3), 1, 2, 3, 4, 5, 6))).get("y"), s(2, 2), 3, 1, 6, 4);
    }

    @Test
    void constantsFold() {
        Model m = new OnnxBuilder(13).initializer("d", f(s(2, 2), 1, 2, 3, 4)).initializer("i", l(s(1), 1))
                .node("Gather", List.of("d", "i"), List.of("y"), attr("axis", 1L)).output("y").convert();
        Layer.Constant c = only(m, Layer.Constant.class);
        assertArrayEquals(new int[] {2, 1}, c.value().shape());
        assertArrayEquals(new float[] {2, 4}, c.value().toFloatArray());
    }

    @Test
    void outOfRangeIndexIsBadInput() {
        new OnnxBuilder(13).input("x", FLOAT, 4, 2).initializer("i", l(s(), 4))
                .node("Gather", List.of("x", "i"), List.of("y")).output("y").fails(ErrorCode.BAD_INPUT);
    }

    @Test
    void runTimeDataAndIndicesAreUnsupported() {
        new OnnxBuilder(13).input("x", FLOAT, 4, 2).input("i", INT64, 1)
                .node("Gather", List.of("x", "i"), List.of("y")).output("y").fails(ErrorCode.UNSUPPORTED);
    }
}
