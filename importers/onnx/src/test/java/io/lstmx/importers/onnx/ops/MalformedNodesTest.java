package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.OperatorSetIdProto;
import io.lstmx.onnx.proto.Onnx.TypeProto;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.FLOAT;
import static io.lstmx.importers.onnx.ops.OnnxBuilder.INT64;
import static io.lstmx.importers.onnx.ops.OnnxBuilder.attr;
import static io.lstmx.importers.onnx.ops.OnnxBuilder.f;
import static io.lstmx.importers.onnx.ops.OnnxBuilder.floats;
import static io.lstmx.importers.onnx.ops.OnnxBuilder.l;
import static io.lstmx.importers.onnx.ops.OnnxBuilder.s;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Structurally malformed nodes and graphs, each once found by the mutation test (CorruptFilesTest in
 * the tests module): every one is a one-line BAD_INPUT (or UNSUPPORTED) naming the file and the node,
 * where before it crashed, was reported as an internal error or was silently misread.
 */
class MalformedNodesTest {
    private static void refused(OnnxBuilder b, ErrorCode code, String... fragments) {
        LstmxException e = b.fails(code);
        assertTrue(e.getMessage().startsWith("test.onnx: "), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + f + "' in: " + e.getMessage());
        }
    }

    private static OnnxBuilder relu() {
        return new OnnxBuilder(13).input("x", FLOAT, 2);
    }

    @Test
    void moreOutputsThanTheOperatorHas() {
        // Was an INTERNAL "converter did not define output 'y2'".
        refused(relu().node("r", "Relu", List.of("x"), List.of("y", "y2")).output("y"), ErrorCode.BAD_INPUT,
                "node 'r' (Relu) declares 2 outputs [y, y2], but Relu has one output");
        refused(relu().node("d", "Dropout", List.of("x"), List.of("y", "m", "z")).output("y"), ErrorCode.BAD_INPUT,
                "node 'd' (Dropout) declares 3 outputs [y, m, z], but Dropout has at most 2 outputs");
    }

    @Test
    void missingOutput() {
        // Was a NullPointerException in the IR layer's record.
        refused(relu().node("r", "Relu", List.of("x"), List.of()).output("x"), ErrorCode.BAD_INPUT, "node 'r' (Relu) has no output");
        refused(relu().node("r", "Relu", List.of("x"), List.of("")).output("x"), ErrorCode.BAD_INPUT, "node 'r' (Relu) has no output");
    }

    @Test
    void moreInputsThanTheOperatorTakes() {
        refused(relu().node("r", "Relu", List.of("x", "x", "x"), List.of("y")).output("y"), ErrorCode.BAD_INPUT,
                "node 'r' (Relu) has 3 inputs [x, x, x], but Relu takes at most 1");
        refused(relu().node("c", "Constant", List.of("x"), List.of("y"), attr("value_float", 1f)).output("y"), ErrorCode.BAD_INPUT,
                "node 'c' (Constant) has 1 inputs [x], but Constant takes none");
    }

    @Test
    void attributeGivenTwice() {
        refused(relu().node("s", "Softmax", List.of("x"), List.of("y"), attr("axis", 0L), attr("axis", -1L)).output("y"),
                ErrorCode.BAD_INPUT, "node 's' (Softmax) has attribute 'axis' twice");
    }

    @Test
    void attributeOfTheWrongType() {
        // A FLOATS 'axis' used to read as 0, silently changing the axis.
        refused(relu().node("s", "Softmax", List.of("x"), List.of("y"), floats("axis", 1.5f)).output("y"),
                ErrorCode.BAD_INPUT, "node 's' (Softmax): attribute 'axis' is FLOATS, expected INT");
        AttributeProto undefined = AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.UNDEFINED).build();
        refused(relu().node("s", "Softmax", List.of("x"), List.of("y"), undefined).output("y"),
                ErrorCode.BAD_INPUT, "attribute 'axis' is UNDEFINED, expected INT");
        // IR version 1 files may leave the type out: the field that is set tells it.
        AttributeProto untyped = AttributeProto.newBuilder().setName("axis").setI(0).build();
        relu().node("s", "Softmax", List.of("x"), List.of("y"), untyped).output("y").convert();
        AttributeProto tensorless = AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR).build();
        refused(relu().node("c", "Constant", List.of(), List.of("y"), tensorless).output("y"), ErrorCode.BAD_INPUT,
                "node 'c' (Constant): attribute 'value' holds no tensor");
    }

    @Test
    void constantWithTwoValues() {
        refused(relu().node("c", "Constant", List.of(), List.of("y"), attr("value_float", 1f), attr("value_int", 2L)).output("y"),
                ErrorCode.BAD_INPUT, "node 'c' (Constant): has 2 value attributes [value_float, value_int]");
    }

    @Test
    void nodeOverwritingAnInitializerOrInput() {
        refused(relu().initializer("c", f(s(2), 1, 2)).node("r", "Relu", List.of("x"), List.of("c")).output("c"),
                ErrorCode.BAD_INPUT, "node 'r' (Relu) writes 'c', which is already a graph input or initializer");
        refused(relu().node("r", "Relu", List.of("x"), List.of("x")).output("x"),
                ErrorCode.BAD_INPUT, "writes 'x', which is already a graph input or initializer");
    }

    @Test
    void graphOutputDeclaredTwice() {
        refused(relu().node("r", "Relu", List.of("x"), List.of("y")).output("y").output("y"), ErrorCode.BAD_INPUT,
                "output 'y' is declared twice");
    }

    @Test
    void graphOutputThatIsNotATensor() {
        OnnxBuilder b = relu().node("r", "Relu", List.of("x"), List.of("y"));
        ModelProto m = b.build();
        ModelProto seq = m.toBuilder().setGraph(m.getGraph().toBuilder().addOutput(
                io.lstmx.onnx.proto.Onnx.ValueInfoProto.newBuilder().setName("y").setType(TypeProto.newBuilder()
                        .setSequenceType(TypeProto.Sequence.newBuilder())))).build();
        LstmxException e = assertThrows(LstmxException.class, () -> GraphConverter.convert(seq, "test.onnx", null, Map.of()));
        assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("graph output 'y'") && e.getMessage().contains("is not a tensor (type SEQUENCE_TYPE)"),
                e.getMessage());
    }

    @Test
    void opsetVersionBelowOne() {
        ModelProto m = relu().node("r", "Relu", List.of("x"), List.of("y")).output("y").build().toBuilder()
                .setOpsetImport(0, OperatorSetIdProto.newBuilder().setDomain("").setVersion(0)).build();
        LstmxException e = assertThrows(LstmxException.class, () -> GraphConverter.convert(m, "test.onnx", null, Map.of()));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("test.onnx: opset_import gives the default domain version 0"), e.getMessage());
    }

    @Test
    void castToATypeNumberBeyondInt() {
        // 2^32 + 1 used to wrap around to 1 (FLOAT).
        refused(relu().node("c", "Cast", List.of("x"), List.of("y"), attr("to", (1L << 32) + 1)).output("y"), ErrorCode.BAD_INPUT,
                "node 'c' (Cast): to 4294967297 is not an ONNX element type");
    }

    @Test
    void dropoutRatioThatIsNotAScalar() {
        // An empty ratio tensor used to throw ArrayIndexOutOfBoundsException.
        refused(relu().initializer("ratio", f(s(0))).node("d", "Dropout", List.of("x", "ratio"), List.of("y")).output("y"),
                ErrorCode.BAD_INPUT, "node 'd' (Dropout): ratio has shape [0], expected a scalar");
    }

    private static OnnxBuilder lstm(Tensor w, Tensor seqLens) {
        OnnxBuilder b = new OnnxBuilder(14).input("x", FLOAT, 3, 2, 1)
                .initializer("w", w).initializer("r", f(s(1, 4, 1), 1, 1, 1, 1));
        if (seqLens != null) {
            b.initializer("lens", seqLens);
        }
        return b.node("l", "LSTM", seqLens == null ? List.of("x", "w", "r") : List.of("x", "w", "r", "", "lens"), List.of("y"),
                attr("hidden_size", 1L)).output("y");
    }

    @Test
    void lstmWeightsOfAnIntegerType() {
        refused(lstm(l(s(1, 4, 1), 1, 1, 1, 1), null), ErrorCode.BAD_INPUT, "node 'l' (LSTM): W is INT64, expected a floating-point tensor");
    }

    @Test
    void lstmSequenceLengthsNotMatchingTheBatch() {
        Tensor w = f(s(1, 4, 1), 1, 1, 1, 1);
        // An empty sequence_lens used to be taken as "every sequence runs the whole length".
        refused(lstm(w, l(s(0))), ErrorCode.BAD_INPUT, "sequence_lens has shape [0] of INT64, expected [2]");
        refused(lstm(w, l(s(2), 1, 4)), ErrorCode.BAD_INPUT, "sequence_lens [1, 4] has length 4, outside [0, 3]");
        refused(lstm(w, l(s(2), -1, 3)), ErrorCode.BAD_INPUT, "has length -1");
        lstm(w, l(s(2), 3, 3)).convert();
    }

    @Test
    void castCycleBeforeATopKDoesNotOverflowTheStack() {
        // The packed-sequence matcher followed Cast chains recursively: a Cast reading its own output
        // (x -> Cast -> x) made a StackOverflowError.
        OnnxBuilder b = new OnnxBuilder(13).input("lengths", INT64, "n")
                .node("c", "Cast", List.of("k"), List.of("k"), attr("to", (long) INT64))
                .node("t", "TopK", List.of("lengths", "k"), List.of("sorted", "perm"))
                .output("sorted");
        LstmxException e = b.fails(ErrorCode.BAD_INPUT);
        assertTrue(e.getMessage().contains("node 'c' (Cast) reads 'k'"), e.getMessage());
    }

    // ---- small files that would make huge tensors or take very long

    @Test
    void foldingChainsStayWithinABudgetProportionalToTheFile() {
        // Tile to 4Mi elements, then Adds each holding another copy: a few hundred bytes once filled
        // the heap (with Tile to 64Mi elements and 12 Adds, an OutOfMemoryError at -Xmx2g).
        OnnxBuilder b = relu().initializer("c", f(s(2), 1, 2)).initializer("rep", l(s(1), 1L << 21))
                .node("tile", "Tile", List.of("c", "rep"), List.of("t0"));
        for (int i = 1; i <= 8; i++) {
            b.node("add" + i, "Add", List.of("t" + (i - 1), "t0"), List.of("t" + i));
        }
        b.node("r", "Relu", List.of("x"), List.of("y")).output("y");
        // The first Add finds the budget spent and is refused before allocating.
        refused(b, ErrorCode.UNSUPPORTED, "cannot convert 1 node (node 'add1' (Add): folding would create a tensor of shape [4194304]");
        // One Tile beyond what a small file may fold is refused before anything is allocated.
        refused(relu().initializer("c", f(s(2), 1, 2)).initializer("rep", l(s(1), 1L << 25))
                .node("tile", "Tile", List.of("c", "rep"), List.of("t")).node("r", "Relu", List.of("x"), List.of("y")).output("y"),
                ErrorCode.UNSUPPORTED, "node 'tile' (Tile): folding would create a tensor of shape [67108864]");
    }

    @Test
    void manyNodesCopyingOneWeightStayWithinTheBudget() {
        // Every MatMul keeps its own transposed copy of the 16Ki-element weight: 400 nodes, 6.5Mi elements.
        float[] w = new float[128 * 128];
        OnnxBuilder b = new OnnxBuilder(13).input("x", FLOAT, 1, 128).initializer("w", f(s(128, 128), w));
        for (int i = 0; i < 400; i++) {
            b.node("mm" + i, "MatMul", List.of("x", "w"), List.of("y" + i)).output("y" + i);
        }
        refused(b, ErrorCode.UNSUPPORTED, "the converted model would hold more than");
    }

    @Test
    void tileRepeatsWhoseProductOverflows() {
        // [1, 2] tiled by [2^26, 2^38]: 2^26 * 2^39 overflowed in Math.multiplyExact (ArithmeticException).
        refused(relu().initializer("c", f(s(1, 2), 1, 2)).initializer("rep", l(s(2), 1L << 26, 1L << 38))
                .node("tile", "Tile", List.of("c", "rep"), List.of("t")).output("t"), ErrorCode.UNSUPPORTED, "node 'tile' (Tile): folding");
    }

    @Test
    void expandToADimensionBeyondInt() {
        // The target dim 2^32 + 2 was narrowed to 2: a [2, 2] constant came out instead of a refusal.
        refused(relu().initializer("c", f(s(1, 2), 1, 2)).initializer("shape", l(s(2), (1L << 32) + 2, 2))
                .node("e", "Expand", List.of("c", "shape"), List.of("t")).output("t"), ErrorCode.UNSUPPORTED,
                "node 'e' (Expand): shape [4294967298, 2] has dimension 4294967298");
    }

    @Test
    void axisBeyondIntWhenTheRankIsUnknown() {
        // 2^32 - 1 was narrowed to -1, the last axis.
        refused(new OnnxBuilder(13).inputNoShape("x", FLOAT).node("s", "Softmax", List.of("x"), List.of("y"), attr("axis", (1L << 32) - 1))
                .output("y"), ErrorCode.BAD_INPUT, "node 's' (Softmax): axis 4294967295 is out of range for any rank");
    }

    @Test
    void foldedMatMulOfLargeConstantsIsRefusedInsteadOfTakingSeconds() {
        refused(relu().initializer("a", f(s(2048, 1024), new float[2048 * 1024])).initializer("b", f(s(1024, 1024), new float[1024 * 1024]))
                .node("mm", "MatMul", List.of("a", "b"), List.of("t")).node("r", "Relu", List.of("x"), List.of("y")).output("y"),
                ErrorCode.UNSUPPORTED, "node 'mm' (MatMul): folding the product of constants [2048, 1024] x [1024, 1024]");
    }
}
