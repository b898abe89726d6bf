package io.lstmx.ir;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shapes of every layer kind, computed by hand from the ONNX operator definitions, and the
 * consistency errors (each names the model, the layer and what was expected vs found).
 * "?" in a comment is an anonymous dimension, {@code Shape.of("")} here.
 */
class ShapeInferenceTest {
    private static final DType F = DType.FLOAT32;
    private static final DType I64 = DType.INT64;
    private static final String ANY = "";

    // ---------------------------------------------------------------- LSTM

    @Test
    void lstmTimeMajorForward() {
        // X [T, B, I] -> Y [T, D, B, H], Y_h and Y_c [D, B, H]
        Map<String, ValueInfo> v = infer(List.of(in("x", F, "time", "batch", 5)),
                lstm("l", "x", null, null, null, LstmSpec.standard(5, 7, Direction.FORWARD, Layout.TIME_MAJOR), "y", "yh", "yc"));
        assertEquals(Shape.of("time", 1, "batch", 7), v.get("y").shape());
        assertEquals(Shape.of(1, "batch", 7), v.get("yh").shape());
        assertEquals(Shape.of(1, "batch", 7), v.get("yc").shape());
        assertEquals(F, v.get("y").dtype());
    }

    @Test
    void lstmBatchMajorBidirectionalProjected() {
        // X [B, T, I] -> Y [B, T, D, P], Y_h [B, D, P], Y_c [B, D, H] (the cell is not projected)
        LstmSpec spec = new LstmSpec(5, 7, 3, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, null, false,
                LstmSpec.standard(5, 7, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR).activations());
        Map<String, ValueInfo> v = infer(List.of(in("x", F, 2, 10, 5)), lstm("l", "x", null, null, null, spec, "y", "yh", "yc"));
        assertEquals(Shape.of(2, 10, 2, 3), v.get("y").shape());
        assertEquals(Shape.of(2, 2, 3), v.get("yh").shape());
        assertEquals(Shape.of(2, 2, 7), v.get("yc").shape());
    }

    @Test
    void lstmOfUnknownRankStillHasRankFourOutput() {
        Map<String, ValueInfo> v = infer(List.of(new ValueInfo("x", F, Shape.UNKNOWN)),
                lstm("l", "x", null, null, null, LstmSpec.standard(5, 7, Direction.REVERSE, Layout.TIME_MAJOR), "y", null, null));
        assertEquals(Shape.of(ANY, 1, ANY, 7), v.get("y").shape());
    }

    @Test
    void lstmBatchComesFromStatesAndLengthsWhenTheInputDoesNotFixIt() {
        List<ValueInfo> inputs = List.of(in("x", F, "time", ANY, 5), in("n", DType.INT32, 4), in("h0", F, 1, ANY, 7), in("c0", F, 1, 4, 7));
        Map<String, ValueInfo> v = infer(inputs,
                lstm("l", "x", "n", "h0", "c0", LstmSpec.standard(5, 7, Direction.FORWARD, Layout.TIME_MAJOR), "y", "yh", null));
        assertEquals(Shape.of("time", 1, 4, 7), v.get("y").shape());
        assertEquals(Shape.of(1, 4, 7), v.get("yh").shape());
    }

    // ---------------------------------------------------------------- GRU, RNN

    @Test
    void gruTimeMajorForward() {
        // X [T, B, I] -> Y [T, D, B, H], Y_h [D, B, H] (ONNX GRU, layout 0)
        Map<String, ValueInfo> v = infer(List.of(in("x", F, "time", "batch", 5)),
                gru("g", "x", null, null, spec(5, 7, Direction.FORWARD, Layout.TIME_MAJOR, 2), "y", "yh"));
        assertEquals(Shape.of("time", 1, "batch", 7), v.get("y").shape());
        assertEquals(Shape.of(1, "batch", 7), v.get("yh").shape());
        assertEquals(F, v.get("y").dtype());
        assertEquals(F, v.get("yh").dtype());
    }

    @Test
    void gruBatchMajorBidirectional() {
        // X [B, T, I] -> Y [B, T, D, H], Y_h [B, D, H] (ONNX layout 1)
        Map<String, ValueInfo> v = infer(List.of(in("x", F, 2, 10, 5)),
                gru("g", "x", null, null, spec(5, 7, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 2), "y", "yh"));
        assertEquals(Shape.of(2, 10, 2, 7), v.get("y").shape());
        assertEquals(Shape.of(2, 2, 7), v.get("yh").shape());
    }

    @Test
    void rnnShapesByLayoutAndDirection() {
        Map<String, ValueInfo> tm = infer(List.of(in("x", F, 9, "batch", 3)),
                rnn("r", "x", null, null, spec(3, 4, Direction.REVERSE, Layout.TIME_MAJOR, 1), "y", "yh"));
        assertEquals(Shape.of(9, 1, "batch", 4), tm.get("y").shape());
        assertEquals(Shape.of(1, "batch", 4), tm.get("yh").shape());
        Map<String, ValueInfo> bm = infer(List.of(in("x", F, "batch", "time", 3)),
                rnn("r", "x", null, null, spec(3, 4, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 1), "y", "yh"));
        assertEquals(Shape.of("batch", "time", 2, 4), bm.get("y").shape());
        assertEquals(Shape.of("batch", 2, 4), bm.get("yh").shape());
    }

    @Test
    void recurrentOutputsListOnlyThePortsInUse() {
        Map<String, ValueInfo> onlyH = infer(List.of(in("x", F, "time", "batch", 5)),
                gru("g", "x", null, null, spec(5, 7, Direction.FORWARD, Layout.TIME_MAJOR, 2), null, "yh"));
        assertEquals(List.of("x", "yh"), new ArrayList<>(onlyH.keySet()));
        assertEquals(Shape.of(1, "batch", 7), onlyH.get("yh").shape());
        Map<String, ValueInfo> onlyY = infer(List.of(new ValueInfo("x", F, Shape.UNKNOWN)),
                rnn("r", "x", null, null, spec(5, 7, Direction.FORWARD, Layout.BATCH_MAJOR, 1), "y", null));
        assertEquals(List.of("x", "y"), new ArrayList<>(onlyY.keySet()));
        assertEquals(Shape.of(ANY, ANY, 1, 7), onlyY.get("y").shape());
    }

    @Test
    void recurrentBatchComesFromStatesAndLengthsWhenTheInputDoesNotFixIt() {
        Map<String, ValueInfo> g = infer(List.of(in("x", F, "time", ANY, 5), in("n", I64, 4), in("h0", F, 2, ANY, 7)),
                gru("g", "x", "n", "h0", spec(5, 7, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 2), "y", "yh"));
        assertEquals(Shape.of("time", 2, 4, 7), g.get("y").shape());
        assertEquals(Shape.of(2, 4, 7), g.get("yh").shape());
        Map<String, ValueInfo> r = infer(List.of(in("x", F, ANY, "time", 5), in("h0", F, 3, 1, 7)),
                rnn("r", "x", null, "h0", spec(5, 7, Direction.FORWARD, Layout.BATCH_MAJOR, 1), "y", "yh"));
        assertEquals(Shape.of(3, "time", 1, 7), r.get("y").shape());
        assertEquals(Shape.of(3, 1, 7), r.get("yh").shape());
    }

    @Test
    void recurrentInputMustBeFloatRankThreeOfTheInputSize() {
        RecurrentSpec g = spec(5, 7, Direction.FORWARD, Layout.TIME_MAJOR, 2);
        assertEquals("model 'm': layer '/gru/GRU' (GRU) input '/x' has last dimension 6, expected input size 5",
                error(List.of(in("/x", F, "time", "batch", 6)), gru("/gru/GRU", "/x", null, null, g, "y", null)).getMessage());
        assertEquals("model 'm': layer '/rnn/RNN' (RNN) input '/x' has last dimension 6, expected input size 5",
                error(List.of(in("/x", F, "time", "batch", 6)), rnn("/rnn/RNN", "/x", null, null, spec(5, 7, Direction.FORWARD,
                        Layout.TIME_MAJOR, 1), "y", null)).getMessage());
        assertMessage(error(List.of(in("x", F, "batch", 5)), gru("g", "x", null, null, spec(5, 7, Direction.FORWARD, Layout.BATCH_MAJOR, 2), "y", null)),
                "layer 'g' (GRU)", "[batch, 5]", "expected rank 3 [batch, time, 5]");
        assertMessage(error(List.of(in("x", F, 4, 2, 3, 5)), rnn("r", "x", null, null, spec(5, 7, Direction.FORWARD, Layout.TIME_MAJOR, 1), "y", null)),
                "layer 'r' (RNN)", "[4, 2, 3, 5]", "expected rank 3 [time, batch, 5]");
        assertMessage(error(List.of(in("x", I64, 2, 3, 5)), gru("g", "x", null, null, g, "y", null)),
                "layer 'g' (GRU)", "input 'x' is int64", "expected a float tensor");
        assertMessage(error(List.of(in("x", DType.INT32, 2, 3, 5)), rnn("r", "x", null, null, spec(5, 7, Direction.FORWARD, Layout.TIME_MAJOR, 1), "y", null)),
                "layer 'r' (RNN)", "input 'x' is int32", "expected a float tensor");
    }

    @Test
    void recurrentInitialStateShapes() {
        RecurrentSpec g = spec(5, 7, Direction.FORWARD, Layout.TIME_MAJOR, 2);
        assertMessage(error(List.of(in("x", F, "time", 3, 5), in("h0", F, 2, 3, 7)), gru("g", "x", null, "h0", g, "y", null)),
                "layer 'g' (GRU)", "initial h 'h0' has shape [2, 3, 7], expected [1, 3, 7] [directions, batch, hidden size]");
        assertMessage(error(List.of(in("x", F, "time", 3, 5), in("h0", F, 1, 4, 7)), gru("g", "x", null, "h0", g, "y", null)),
                "initial h 'h0' has shape [1, 4, 7], expected [1, 3, 7]");
        assertMessage(error(List.of(in("x", F, "time", "batch", 5), in("h0", F, 1, "batch", 6)), gru("g", "x", null, "h0", g, "y", null)),
                "initial h 'h0' has shape [1, batch, 6], expected [1, batch, 7]");
        assertMessage(error(List.of(in("x", F, "time", "batch", 5), in("h0", F, 1, 7)), gru("g", "x", null, "h0", g, "y", null)),
                "initial h 'h0' has shape [1, 7], expected [1, batch, 7]");
        assertMessage(error(List.of(in("x", F, "time", "batch", 5), in("h0", I64, 1, "batch", 7)), gru("g", "x", null, "h0", g, "y", null)),
                "initial h 'h0' is int64", "expected a float tensor");
        RecurrentSpec bm = spec(5, 7, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 1);
        assertMessage(error(List.of(in("x", F, 3, "time", 5), in("h0", F, 3, 1, 7)), rnn("r", "x", null, "h0", bm, "y", null)),
                "layer 'r' (RNN)", "initial h 'h0' has shape [3, 1, 7], expected [3, 2, 7] [batch, directions, hidden size]");
    }

    @Test
    void recurrentSequenceLengths() {
        RecurrentSpec g = spec(5, 7, Direction.FORWARD, Layout.TIME_MAJOR, 2);
        assertMessage(error(List.of(in("x", F, "time", 3, 5), in("n", DType.INT32, 3, 1)), gru("g", "x", "n", null, g, "y", null)),
                "layer 'g' (GRU)", "sequence lengths 'n' have shape [3, 1], expected rank 1 [3]");
        assertMessage(error(List.of(in("x", F, 3, "time", 5), in("n", DType.INT32, 4)),
                        rnn("r", "x", "n", null, spec(5, 7, Direction.REVERSE, Layout.BATCH_MAJOR, 1), "y", null)),
                "layer 'r' (RNN)", "sequence lengths 'n' have shape [4], expected [3]");
        assertMessage(error(List.of(in("x", F, "time", 3, 5), in("n", F, 3)), gru("g", "x", "n", null, g, "y", null)),
                "sequence lengths 'n' are float32, expected integers");
    }

    // ---------------------------------------------------------------- other layers

    @Test
    void denseReplacesTheLastDimension() {
        Map<String, ValueInfo> v = infer(List.of(in("x", F, "batch", "time", 32)),
                new Layer.Dense("d", "x", "y", Tensor.zeros(4, 32), Tensor.zeros(4)));
        assertEquals(Shape.of("batch", "time", 4), v.get("y").shape());
    }

    @Test
    void embeddingAppendsTheEmbeddingDimension() {
        Map<String, ValueInfo> v = infer(List.of(in("tok", I64, "batch", "time")),
                new Layer.Embedding("e", "tok", "y", Tensor.zeros(40, 12)));
        assertEquals(Shape.of("batch", "time", 12), v.get("y").shape());
        assertEquals(F, v.get("y").dtype());
    }

    @Test
    void reshape() {
        // copy + infer: batch*4*8 / batch = 32
        assertEquals(Shape.of("batch", 32), one(in("x", F, "batch", 4, 8), new Layer.Reshape("r", "x", "y", List.of(0L, -1L))));
        // the symbol cancels: batch*32 / 32 = batch
        assertEquals(Shape.of("batch", 32), one(in("x", F, "batch", 4, 8), new Layer.Reshape("r", "x", "y", List.of(-1L, 32L))));
        // 6*batch / 2 is known only at run time
        assertEquals(Shape.of(2, ANY), one(in("x", F, 6, "batch"), new Layer.Reshape("r", "x", "y", List.of(2L, -1L))));
        assertEquals(Shape.of("batch", 4, 2, 4), one(in("x", F, "batch", 4, 8), new Layer.Reshape("r", "x", "y", List.of(0L, 0L, 2L, 4L))));
        assertEquals(Shape.of(3, 4), one(in("x", F, 12), new Layer.Reshape("r", "x", "y", List.of(3L, -1L))));
        assertEquals(Shape.of(ANY, ANY), one(new ValueInfo("x", F, Shape.UNKNOWN), new Layer.Reshape("r", "x", "y", List.of(0L, -1L))));
        assertEquals(Shape.of(2, 6), one(new ValueInfo("x", F, Shape.UNKNOWN), new Layer.Reshape("r", "x", "y", List.of(2L, 6L))));
    }

    @Test
    void concat() {
        assertEquals(Shape.of("batch", 8), two(in("a", F, "batch", 3), in("b", F, "batch", 5), new Layer.Concat("c", List.of("a", "b"), "y", -1)));
        assertEquals(Shape.of(3, "batch", 7), two(in("a", F, 2, "batch", 7), in("b", F, 1, "batch", 7), new Layer.Concat("c", List.of("a", "b"), "y", 0)));
        // a fixed size wins over a symbol (they must agree at run time); a symbolic axis makes an unknown sum
        assertEquals(Shape.of(4, 6), two(in("a", F, ANY, 3), in("b", F, 4, 3), new Layer.Concat("c", List.of("a", "b"), "y", 1)));
        assertEquals(Shape.of(ANY, 3), two(in("a", F, "batch", 3), in("b", F, ANY, 3), new Layer.Concat("c", List.of("a", "b"), "y", 0)));
        Map<String, ValueInfo> v = infer(I64, List.of(in("a", DType.INT32, 2), in("b", I64, 3)), new Layer.Concat("c", List.of("a", "b"), "y", 0));
        assertEquals(I64, v.get("y").dtype());
    }

    @Test
    void transposeSqueezeUnsqueeze() {
        assertEquals(Shape.of("batch", "time", 8), one(in("x", F, "time", "batch", 8), new Layer.Transpose("t", "x", "y", List.of(1, 0, 2))));
        assertEquals(Shape.of(8, "batch", "time"), one(in("x", F, "time", "batch", 8), new Layer.Transpose("t", "x", "y", List.of())));
        assertEquals(Shape.of("time", "batch", 7), one(in("x", F, "time", 1, "batch", 7), new Layer.Squeeze("s", "x", "y", List.of(1))));
        assertEquals(Shape.of(3), one(in("x", F, 1, 3, 1), new Layer.Squeeze("s", "x", "y", List.of())));
        // whether "batch" is 1 decides the rank
        assertEquals(Shape.UNKNOWN, one(in("x", F, 1, "batch"), new Layer.Squeeze("s", "x", "y", List.of())));
        assertEquals(Shape.of(1, "batch", 7, 1), one(in("x", F, "batch", 7), new Layer.Unsqueeze("u", "x", "y", List.of(0, -1))));
    }

    @Test
    void selectTakeSlice() {
        assertEquals(Shape.of("batch", 7), one(in("x", F, "time", "batch", 7), new Layer.Select("s", "x", "y", 0, -1)));
        Tensor idx = Tensor.ofLongs(new int[] {1, 2}, new long[] {0, 2});
        assertEquals(Shape.of("batch", 1, 2, 7), one(in("x", F, "batch", 5, 7), new Layer.Take("t", "x", "y", 1, idx)));
        // positions 2, 5, 8 of 0..9 (end -1 is 9)
        assertEquals(Shape.of("batch", 3, 7), one(in("x", F, "batch", 10, 7), new Layer.Slice("s", "x", "y", 1, 2, -1, 3)));
        // the whole axis backwards: 10 elements
        assertEquals(Shape.of(10), one(in("x", F, 10), new Layer.Slice("s", "x", "y", 0, -1, Long.MIN_VALUE, -1)));
        // start beyond the end: empty
        assertEquals(Shape.of(0), one(in("x", F, 10), new Layer.Slice("s", "x", "y", 0, 12, 20, 1)));
        assertEquals(Shape.of("batch"), one(in("x", F, "batch"), new Layer.Slice("s", "x", "y", 0, 0, Long.MAX_VALUE, 1)));
        assertEquals(Shape.of(ANY), one(in("x", F, "batch"), new Layer.Slice("s", "x", "y", 0, 1, Long.MAX_VALUE, 1)));
    }

    @Test
    void flatten() {
        assertEquals(Shape.of("batch", 32), one(in("x", F, "batch", 4, 8), new Layer.Flatten("f", "x", "y", 1)));
        assertEquals(Shape.of(1, ANY), one(in("x", F, "batch", 4, 8), new Layer.Flatten("f", "x", "y", 0)));
        assertEquals(Shape.of(ANY, 8), one(in("x", F, "batch", "time", 8), new Layer.Flatten("f", "x", "y", -1)));
        assertEquals(Shape.of(24, 1), one(in("x", F, 2, 3, 4), new Layer.Flatten("f", "x", "y", 3)));
    }

    @Test
    void binaryBroadcasting() {
        Layer add = new Layer.Binary("b", Layer.Binary.Op.ADD, "a", "b", "y");
        assertEquals(Shape.of("batch", 5, 7), two(in("a", F, "batch", 1, 7), in("b", F, 5, 7), add));
        assertEquals(Shape.of("batch"), two(in("a", F, "batch"), in("b", F, "batch"), add));
        assertEquals(Shape.of(ANY), two(in("a", F, "batch"), in("b", F, "time"), add));
        assertEquals(Shape.of(3), two(in("a", F, "batch"), in("b", F, 3), add));
        Map<String, ValueInfo> v = infer(I64, List.of(in("a", DType.INT32, 2), in("b", I64)), add);
        assertEquals(I64, v.get("y").dtype());
        assertEquals(Shape.of(2), v.get("y").shape());
    }

    @Test
    void matmul() {
        Layer m = new Layer.MatMul("m", "a", "b", "y");
        assertEquals(Shape.of("batch", 3, 5), two(in("a", F, "batch", 3, 4), in("b", F, 4, 5), m));
        assertEquals(Shape.of(5), two(in("a", F, 4), in("b", F, 4, 5), m));
        assertEquals(Shape.of(2, 3), two(in("a", F, 2, 3, 4), in("b", F, 4), m));
        assertEquals(Shape.of(), two(in("a", F, 4), in("b", F, 4), m));
        assertEquals(Shape.of(6, 2, 3, 5), two(in("a", F, 1, 2, 3, 4), in("b", F, 6, 1, 4, 5), m));
    }

    @Test
    void elementWiseLayersKeepTheShapeAndCastChangesTheType() {
        ValueInfo x = in("x", F, "batch", 4);
        assertEquals(x.shape(), one(x, new Layer.Activation("a", "x", "y", ActivationFn.TANH)));
        assertEquals(x.shape(), one(x, new Layer.Softmax("s", "x", "y", -1, true)));
        assertEquals(x.shape(), one(x, new Layer.Dropout("d", "x", "y", 0.5f)));
        assertEquals(x.shape(), one(x, new Layer.Identity("i", "x", "y")));
        Map<String, ValueInfo> v = infer(DType.INT32, List.of(x), new Layer.Cast("c", "x", "y", DType.INT32));
        assertEquals(new ValueInfo("y", DType.INT32, x.shape()), v.get("y"));
        Map<String, ValueInfo> k = infer(I64, List.of(), new Layer.Constant("k", "y", Tensor.ofLongs(new int[] {2, 3}, new long[6])));
        assertEquals(new ValueInfo("y", I64, Shape.of(2, 3)), k.get("y"));
    }

    @Test
    void everyValueIsListedInDefinitionOrder() {
        Map<String, ValueInfo> v = infer(List.of(in("x", F, "time", "batch", 5)),
                lstm("l", "x", null, null, null, LstmSpec.standard(5, 7, Direction.FORWARD, Layout.TIME_MAJOR), "y", "yh", null),
                new Layer.Select("last", "yh", "h", 0, 0),
                new Layer.Dense("d", "h", "logits", Tensor.zeros(3, 7), null));
        assertEquals(List.of("x", "y", "yh", "h", "logits"), new ArrayList<>(v.keySet()));
        assertEquals(Shape.of("batch", 3), v.get("logits").shape());
    }

    // ---------------------------------------------------------------- errors

    @Test
    void lstmInputSizeMismatchNamesLayerAndSizes() {
        LstmxException e = error(List.of(in("/x", F, "time", "batch", 7)),
                lstm("/lstm/LSTM", "/x", null, null, null, LstmSpec.standard(5, 7, Direction.FORWARD, Layout.TIME_MAJOR), "y", null, null));
        assertEquals("model 'm': layer '/lstm/LSTM' (LSTM) input '/x' has last dimension 7, expected input size 5", e.getMessage());
    }

    @Test
    void lstmInputMustBeRankThreeAndFloat() {
        LstmSpec spec = LstmSpec.standard(5, 7, Direction.FORWARD, Layout.BATCH_MAJOR);
        assertMessage(error(List.of(in("x", F, "batch", 5)), lstm("l", "x", null, null, null, spec, "y", null, null)),
                "layer 'l' (LSTM)", "[batch, 5]", "expected rank 3 [batch, time, 5]");
        assertMessage(error(List.of(in("x", I64, 2, 3, 5)), lstm("l", "x", null, null, null, spec, "y", null, null)),
                "layer 'l' (LSTM)", "input 'x' is int64", "expected a float tensor");
    }

    @Test
    void lstmInitialStateShapes() {
        LstmSpec spec = LstmSpec.standard(5, 7, Direction.FORWARD, Layout.TIME_MAJOR);
        assertMessage(error(List.of(in("x", F, "time", 3, 5), in("h0", F, 2, 3, 7)), lstm("l", "x", null, "h0", null, spec, "y", null, null)),
                "layer 'l' (LSTM)", "initial h 'h0' has shape [2, 3, 7], expected [1, 3, 7]");
        assertMessage(error(List.of(in("x", F, "time", 3, 5), in("h0", F, 1, 4, 7)), lstm("l", "x", null, "h0", null, spec, "y", null, null)),
                "initial h 'h0' has shape [1, 4, 7], expected [1, 3, 7]");
        assertMessage(error(List.of(in("x", F, "time", "batch", 5), in("c0", F, 1, "batch", 6)), lstm("l", "x", null, null, "c0", spec, "y", null, null)),
                "initial c 'c0' has shape [1, batch, 6], expected [1, batch, 7]");
        LstmSpec bm = LstmSpec.standard(5, 7, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR);
        assertMessage(error(List.of(in("x", F, 3, "time", 5), in("h0", F, 3, 1, 7)), lstm("l", "x", null, "h0", null, bm, "y", null, null)),
                "initial h 'h0' has shape [3, 1, 7], expected [3, 2, 7]");
    }

    @Test
    void lstmSequenceLengths() {
        LstmSpec spec = LstmSpec.standard(5, 7, Direction.FORWARD, Layout.TIME_MAJOR);
        assertMessage(error(List.of(in("x", F, "time", 3, 5), in("n", DType.INT32, 3, 1)), lstm("l", "x", "n", null, null, spec, "y", null, null)),
                "layer 'l' (LSTM)", "sequence lengths 'n' have shape [3, 1], expected rank 1 [3]");
        assertMessage(error(List.of(in("x", F, "time", 3, 5), in("n", DType.INT32, 4)), lstm("l", "x", "n", null, null, spec, "y", null, null)),
                "sequence lengths 'n' have shape [4], expected [3]");
        assertMessage(error(List.of(in("x", F, "time", 3, 5), in("n", F, 3)), lstm("l", "x", "n", null, null, spec, "y", null, null)),
                "sequence lengths 'n' are float32, expected integers");
    }

    @Test
    void denseInputMustFitTheWeight() {
        assertMessage(error(List.of(in("h", F, "batch", 30)), new Layer.Dense("/head/Gemm", "h", "y", Tensor.zeros(4, 32), null)),
                "model 'm': layer '/head/Gemm' (Dense) input 'h' [batch, 30] has last dimension 30, expected 32 (weight [4, 32])");
    }

    @Test
    void embeddingInputMustBeInteger() {
        assertMessage(error(List.of(in("tok", F, 2, 3)), new Layer.Embedding("emb", "tok", "y", Tensor.zeros(40, 12))),
                "layer 'emb' (Embedding) input 'tok' is float32 [2, 3], expected integer indices");
    }

    @Test
    void concatNonAxisDimensionsAndRanksMustAgree() {
        assertMessage(error(List.of(in("a", F, 2, "batch", 7), in("b", F, 1, "batch", 8)), new Layer.Concat("cat", List.of("a", "b"), "y", 0)),
                "layer 'cat' (Concat) input 'b' has shape [1, batch, 8], expected dimension 2 = 7");
        assertMessage(error(List.of(in("a", F, 2, 7), in("b", F, 1, 2, 7)), new Layer.Concat("cat", List.of("a", "b"), "y", 0)),
                "layer 'cat' (Concat) input 'b' has shape [1, 2, 7], expected rank 2");
    }

    @Test
    void squeezeOfAFixedDimensionOtherThanOne() {
        assertMessage(error(List.of(in("x", F, "time", 2, 7)), new Layer.Squeeze("sq", "x", "y", List.of(1))),
                "layer 'sq' (Squeeze) axis 1 of input 'x' [time, 2, 7] has size 2, expected 1");
    }

    @Test
    void binaryOfIncompatibleFixedDimensions() {
        assertMessage(error(List.of(in("a", F, "batch", 3), in("b", F, 4)), new Layer.Binary("add", Layer.Binary.Op.ADD, "a", "b", "y")),
                "layer 'add' (ADD) operands 'a' [batch, 3] and 'b' [4] do not broadcast: dimension 3 vs 4");
        assertMessage(error(List.of(in("a", F, 3), in("b", I64, 3)), new Layer.Binary("mul", Layer.Binary.Op.MUL, "a", "b", "y")),
                "layer 'mul' (MUL)", "must both be float or both integer");
    }

    @Test
    void otherLayerErrors() {
        assertMessage(error(List.of(in("a", F, 2, 3), in("b", F, 4, 5)), new Layer.MatMul("mm", "a", "b", "y")),
                "layer 'mm' (MatMul) inner dimensions differ", "(3 vs 4)");
        assertMessage(error(List.of(in("x", F, 2, 3)), new Layer.Reshape("r", "x", "y", List.of(4L, -1L))),
                "layer 'r' (Reshape) cannot infer the -1 of target [4, -1]");
        assertMessage(error(List.of(in("x", F, "batch", 2, 3)), new Layer.Reshape("r", "x", "y", List.of(0L, 5L))),
                "layer 'r' (Reshape) cannot reshape input 'x' [batch, 2, 3] (6 elements) to [0, 5] (5 elements)");
        assertMessage(error(List.of(in("x", F, 2, 3)), new Layer.Transpose("t", "x", "y", List.of(0, 0))),
                "layer 't' (Transpose) perm [0, 0] is not a permutation");
        assertMessage(error(List.of(in("x", F, 2, 3)), new Layer.Select("s", "x", "y", 0, 2)),
                "layer 's' (Select) index 2 is out of range for axis 0", "(expected -2 .. 1)");
        assertMessage(error(List.of(in("x", F, 2, 3)), new Layer.Softmax("sm", "x", "y", 2, false)),
                "layer 'sm' (Softmax) axis 2 is out of range", "rank 2");
        assertMessage(error(List.of(in("x", F, 2, 3)), new Layer.Slice("s", "x", "y", 0, 0, 1, 0)),
                "layer 's' (Slice) step is 0");
    }

    @Test
    void declaredOutputMustMatchWhatItsLayerProduces() {
        Layer dense = new Layer.Dense("/head/Gemm", "h", "probs", Tensor.zeros(4, 32), null);
        Model m = new Model("m", ModelInfo.NONE, List.of(in("h", F, "batch", 32)),
                List.of(in("probs", F, "batch", 5)), List.of(dense));
        LstmxException e = assertThrows(LstmxException.class, () -> ShapeInference.infer(m));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertEquals("model 'm': output 'probs' is declared [batch, 5], but layer '/head/Gemm' (Dense) produces [batch, 4]", e.getMessage());
        // symbols and unknown ranks are never errors
        Model ok = new Model("m", ModelInfo.NONE, List.of(in("h", F, "batch", 32)), List.of(in("probs", F, 7, "n")), List.of(dense));
        assertEquals(Shape.of("batch", 4), ShapeInference.infer(ok).get("probs").shape());
    }

    @Test
    void errorsNameTheLayerAlsoByItsSourceName() {
        Layer dense = new Layer.Dense("head_2", "h", "y", Tensor.zeros(4, 32), null);
        ModelInfo info = new ModelInfo("onnx", "", "").withSourceNames(new ModelInfo.SourceNames(Map.of("head_2", "head"), Map.of()));
        Model m = new Model("m", info, List.of(in("h", F, "batch", 30)), List.of(new ValueInfo("y", F, Shape.UNKNOWN)), List.of(dense));
        LstmxException e = assertThrows(LstmxException.class, () -> ShapeInference.infer(m));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().startsWith("model 'm': layer 'head_2' (Dense, 'head' in the onnx source) input 'h'"), e.getMessage());
    }

    // ---------------------------------------------------------------- half precision

    @Test
    void halfPrecisionConstantsAndTablesGiveFloat32Values() {
        Tensor half = Tensor.zeros(2, 3).withDType(DType.FLOAT16);
        Map<String, ValueInfo> v = infer(List.of(), new Layer.Constant("c", "y", half));
        assertEquals(new ValueInfo("y", F, Shape.of(2, 3)), v.get("y"));
        Tensor table = Tensor.zeros(10, 4).withDType(DType.BFLOAT16);
        Map<String, ValueInfo> e = infer(List.of(in("ids", I64, "n")), new Layer.Embedding("e", "ids", "y", table));
        assertEquals(new ValueInfo("y", F, Shape.of("n", 4)), e.get("y"));
        // weights stored in half precision: the layer computes (and produces) float32
        Map<String, ValueInfo> d = infer(List.of(in("x", F, "n", 3)),
                new Layer.Dense("d", "x", "y", Tensor.zeros(2, 3).withDType(DType.FLOAT16), Tensor.zeros(2).withDType(DType.BFLOAT16)));
        assertEquals(new ValueInfo("y", F, Shape.of("n", 2)), d.get("y"));
    }

    @Test
    void halfPrecisionModelInputsOutputsAndCastsAreUnsupported() {
        LstmxException in = assertThrows(LstmxException.class,
                () -> infer(List.of(in("x", DType.FLOAT16, 2)), new Layer.Identity("i", "x", "y")));
        assertEquals(ErrorCode.UNSUPPORTED, in.code());
        assertMessage(in, "input 'x' is declared float16");
        LstmxException out = assertThrows(LstmxException.class,
                () -> infer(DType.BFLOAT16, List.of(in("x", F, 2)), new Layer.Identity("i", "x", "y")));
        assertEquals(ErrorCode.UNSUPPORTED, out.code());
        assertMessage(out, "output 'y' is declared bfloat16");
        LstmxException cast = assertThrows(LstmxException.class,
                () -> infer(List.of(in("x", F, 2)), new Layer.Cast("c", "x", "y", DType.FLOAT16)));
        assertEquals(ErrorCode.UNSUPPORTED, cast.code());
        assertMessage(cast, "layer 'c' (Cast) casts to float16");
    }

    // ---------------------------------------------------------------- helpers

    private static ValueInfo in(String name, DType dtype, Object... dims) {
        return new ValueInfo(name, dtype, Shape.of(dims));
    }

    /** Infers over a model whose outputs are the last layer's, declared with unknown shapes. */
    private static Map<String, ValueInfo> infer(List<ValueInfo> inputs, Layer... layers) {
        return infer(F, inputs, layers);
    }

    private static Map<String, ValueInfo> infer(DType outType, List<ValueInfo> inputs, Layer... layers) {
        Layer last = layers[layers.length - 1];
        List<ValueInfo> outs = new ArrayList<>();
        for (String o : last.outputs()) {
            outs.add(new ValueInfo(o, outType, Shape.UNKNOWN));
        }
        return ShapeInference.infer(new Model("m", ModelInfo.NONE, inputs, outs, Arrays.asList(layers)));
    }

    private static Shape one(ValueInfo x, Layer l) {
        return infer(List.of(x), l).get("y").shape();
    }

    private static Shape two(ValueInfo a, ValueInfo b, Layer l) {
        return infer(List.of(a, b), l).get("y").shape();
    }

    private static LstmxException error(List<ValueInfo> inputs, Layer... layers) {
        LstmxException e = assertThrows(LstmxException.class, () -> infer(inputs, layers));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertTrue(e.getMessage().startsWith("model 'm': layer '"), e.getMessage());
        return e;
    }

    private static void assertMessage(LstmxException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), () -> "expected '" + p + "' in: " + e.getMessage());
        }
    }

    /** Default activations (sigmoid, tanh for GRU; tanh for RNN) for {@code acts} functions per direction. */
    private static RecurrentSpec spec(int in, int hidden, Direction dir, Layout layout, int acts) {
        List<ActivationFn> a = new ArrayList<>();
        for (int d = 0; d < dir.count(); d++) {
            a.addAll(acts == 2 ? List.of(ActivationFn.SIGMOID, ActivationFn.TANH) : List.of(ActivationFn.TANH));
        }
        return new RecurrentSpec(in, hidden, dir, layout, null, false, a);
    }

    private static List<RecurrentWeights> recurrentWeights(RecurrentSpec s, int gates) {
        int gh = gates * s.hiddenSize();
        List<RecurrentWeights> w = new ArrayList<>();
        for (int d = 0; d < s.direction().count(); d++) {
            w.add(new RecurrentWeights(Tensor.zeros(gh, s.inputSize()), Tensor.zeros(gh, s.hiddenSize()), Tensor.zeros(gh), Tensor.zeros(gh)));
        }
        return w;
    }

    private static Layer.Gru gru(String name, String x, String lens, String h0, RecurrentSpec s, String y, String yh) {
        return new Layer.Gru(name, RecurrentPorts.withoutCell(x, lens, h0, y, yh), s, recurrentWeights(s, 3), GateOrder.Gru.ONNX);
    }

    private static Layer.Rnn rnn(String name, String x, String lens, String h0, RecurrentSpec s, String y, String yh) {
        return new Layer.Rnn(name, RecurrentPorts.withoutCell(x, lens, h0, y, yh), s, recurrentWeights(s, 1));
    }

    private static Layer.Lstm lstm(String name, String x, String lens, String h0, String c0, LstmSpec s, String y, String yh, String yc) {
        int h = s.hiddenSize();
        int hr = s.outputSize();
        List<LstmWeights> w = new ArrayList<>();
        for (int d = 0; d < s.direction().count(); d++) {
            w.add(new LstmWeights(Tensor.zeros(4 * h, s.inputSize()), Tensor.zeros(4 * h, hr), Tensor.zeros(4 * h), Tensor.zeros(4 * h),
                    null, s.projSize() > 0 ? Tensor.zeros(s.projSize(), h) : null));
        }
        return new Layer.Lstm(name, new RecurrentPorts(x, lens, h0, c0, y, yh, yc), s, w, GateOrder.ONNX);
    }
}
