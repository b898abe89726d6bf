package io.lstmx.passes;

import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchMajorInterfaceTest {
    private static final int I = 3;
    private static final int H = 2;

    private static Layer.Lstm lstm(String name, String in, Layout layout, String y, String yh) {
        return lstm(name, in, layout, y, yh, I);
    }

    private static Layer.Lstm lstm(String name, String in, Layout layout, String y, String yh, int inputSize) {
        Tensor w = Tensor.ofFloats(new int[] {4 * H, inputSize}, new float[4 * H * inputSize]);
        Tensor r = Tensor.ofFloats(new int[] {4 * H, H}, new float[4 * H * H]);
        Tensor b = Tensor.ofFloats(new int[] {4 * H}, new float[4 * H]);
        return new Layer.Lstm(name, new RecurrentPorts(in, null, null, null, y, yh, null), LstmSpec.standard(inputSize, H, Direction.FORWARD, layout),
                List.of(new LstmWeights(w, r, b, b, null, null)), GateOrder.CANONICAL);
    }

    private static Model model(Shape x, List<String> outs, Layer... layers) {
        List<ValueInfo> o = new ArrayList<>();
        outs.forEach(n -> o.add(new ValueInfo(n, DType.FLOAT32, Shape.UNKNOWN)));
        return new Model("m", ModelInfo.NONE, List.of(new ValueInfo("x", DType.FLOAT32, x)), o, List.of(layers));
    }

    @Test
    void timeMajorInputSequenceAndStatesGetTheBatchFirst() {
        // PyTorch's nn.LSTM exported time-major: y [T, B, H] = Squeeze(Y), h_n [1, B, H] = Y_h
        Model m = model(Shape.of("time", "batch", I), List.of("y", "Y_h"), lstm("l", "x", Layout.TIME_MAJOR, "Y", "Y_h"),
                new Layer.Squeeze("sq", "Y", "y", List.of(1)));
        BatchMajorInterface.Result r = BatchMajorInterface.relayout(m);
        assertEquals(3, r.relayouts().size());
        BatchMajorInterface.Relayout in = r.relayouts().get(0);
        assertTrue(in.input());
        assertEquals(List.of(1, 0, 2), in.perm());
        assertEquals("input 'x' [time, batch, 3] written batch-major as [batch, time, 3] (axes 1, 0, 2 of the original)", in.describe());
        assertEquals(Shape.of("batch", "time", I), r.model().inputs().get(0).shape());
        assertEquals("x" + BatchMajorInterface.SUFFIX, r.model().inputs().get(0).name());
        assertEquals(List.of(1, 0, 2), r.relayouts().get(1).perm());
        assertEquals("output 'Y_h' [1, batch, 2] written batch-major as [batch, 1, 2] (axes 1, 0, 2 of the original)",
                r.relayouts().get(2).describe());
        ShapeInference.infer(r.model()); // consistent
        assertEquals(List.of("y" + BatchMajorInterface.SUFFIX, "Y_h" + BatchMajorInterface.SUFFIX), r.model().outputNames());
    }

    @Test
    void batchMajorModelsAndUnplacedValuesAreLeftAlone() {
        Model bm = model(Shape.of("batch", "time", I), List.of("Y"), lstm("l", "x", Layout.BATCH_MAJOR, "Y", null));
        assertSame(bm, new BatchMajorInterface().apply(bm));
        // time and batch merged by a Reshape: the output's batch cannot be placed, only the input is relayouted
        Model merged = model(Shape.of("time", "batch", I), List.of("r"), lstm("l", "x", Layout.TIME_MAJOR, "Y", null),
                new Layer.Reshape("merge", "Y", "r", List.of(-1L, (long) H)));
        BatchMajorInterface.Result r = BatchMajorInterface.relayout(merged);
        assertEquals(1, r.relayouts().size());
        assertTrue(r.relayouts().get(0).input());
    }

    @Test
    void theBatchIsFollowedThroughTransposesConcatsAndReshapes() {
        // [B, F, T] -> Transpose -> [T, B, F] (time-major LSTM): the input already holds the batch first
        Model m = model(Shape.of("batch", I, "time"), List.of("h_n", "y"), new Layer.Transpose("t", "x", "xt", List.of(2, 0, 1)),
                lstm("l0", "xt", Layout.TIME_MAJOR, "Y0", "H0"), new Layer.Squeeze("sq", "Y0", "y0", List.of(1)),
                lstm("l1", "y0", Layout.TIME_MAJOR, "Y1", "H1", H), new Layer.Concat("cat", List.of("H0", "H1"), "h_n", 0),
                new Layer.Transpose("tr", "Y1", "Y1t", List.of(0, 2, 1, 3)), new Layer.Reshape("rs", "Y1t", "y", List.of(0L, 0L, -1L)));
        BatchMajorInterface.Result r = BatchMajorInterface.relayout(m);
        assertEquals(2, r.relayouts().size(), r.relayouts().toString());
        assertEquals("h_n", r.relayouts().get(0).name());
        assertEquals("y", r.relayouts().get(1).name());
        assertEquals(List.of(1, 0, 2), r.relayouts().get(1).perm());
    }
}
