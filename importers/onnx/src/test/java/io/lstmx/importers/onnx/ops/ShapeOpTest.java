package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class ShapeOpTest {
    @Test
    void knownShapesFoldWithStartAndEnd() {
        Model m = new OnnxBuilder(15).input("x", FLOAT, 2, 3, 4)
                .node("Shape", List.of("x"), List.of("all"))
                .node("Shape", List.of("x"), List.of("mid"), attr("start", 1L), attr("end", -1L))
                .output("all").output("mid").convert();
        assertArrayEquals(new long[] {2, 3, 4}, constantOutput(m, "all").toLongArray());
        assertArrayEquals(new long[] {3}, constantOutput(m, "mid").toLongArray());
    }

    @Test
    void unknownRankIsUnsupported() {
        new OnnxBuilder(13).inputNoShape("x", FLOAT)
                .node("Shape", List.of("x"), List.of("s")).output("s").fails(ErrorCode.UNSUPPORTED);
    }

    @Test
    void symbolicShapeCannotBeAGraphOutput() {
        new OnnxBuilder(13).input("x", FLOAT, "b", 3)
                .node("Shape", List.of("x"), List.of("s")).output("s").fails(ErrorCode.UNSUPPORTED);
    }
}
