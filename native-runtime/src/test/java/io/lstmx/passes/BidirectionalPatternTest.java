package io.lstmx.passes;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.passes.RecurrentCase.Kind;
import io.lstmx.passes.RecurrentCase.Ports;
import io.lstmx.passes.RecurrentCase.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static io.lstmx.passes.RecurrentCase.B;
import static io.lstmx.passes.RecurrentCase.I;
import static io.lstmx.passes.RecurrentCase.T;
import static io.lstmx.passes.RecurrentCase.inputs;
import static io.lstmx.passes.RecurrentCase.layer;
import static io.lstmx.passes.RecurrentCase.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What {@link BidirectionalPattern} reports, and the proof that it means what it says: the
 * reported output, run by the native runtime, holds the forward layer's features and then the
 * reverse layer's, in the reported orientation, bit for bit.
 */
class BidirectionalPatternTest {
    /**
     * A model: fwd and rev read x; "bi" is the bidirectional layer made of their two directions,
     * followed by a Transpose with {@code perm} (none when null) and a Reshape to {@code target}
     * writing "y". The model outputs are y, then fwd's and rev's Y. x's shape is fixed when {@code fixedInput}.
     */
    private record Built(Model model, Layer bi, Map<String, Tensor> inputs) {
    }

    private static Built build(Spec spec, List<Integer> perm, List<Long> target, boolean fixedInput, List<String> extraOutputs) {
        Random rnd = new Random(11);
        boolean tm = spec.layout() == Layout.TIME_MAJOR;
        Layer fwd = layer("fwd", spec.withDirection(Direction.FORWARD), Ports.of("x", "y_fwd"), rnd);
        Layer rev = layer("rev", spec.withDirection(Direction.REVERSE), Ports.of("x", "y_rev"), rnd);
        Layer bi = Recurrent.bidirectional("bi", fwd, rev, new Recurrent.Ports("x", null, null, null, "y_bi", null, null, null, false));
        List<Layer> layers = new ArrayList<>(List.of(fwd, rev, bi));
        String last = "y_bi";
        if (perm != null) {
            layers.add(new Layer.Transpose("transpose", "y_bi", "y_t", perm));
            last = "y_t";
        }
        layers.add(new Layer.Reshape("reshape", last, "y", target));
        Object[] shape = tm ? new Object[] {fixedInput ? T : "time", fixedInput ? B : "batch", I}
                : new Object[] {fixedInput ? B : "batch", fixedInput ? T : "time", I};
        List<String> outs = new ArrayList<>(List.of("y", "y_fwd", "y_rev"));
        outs.addAll(extraOutputs);
        Model m = new Model("m", ModelInfo.NONE, List.of(new ValueInfo("x", DType.FLOAT32, Shape.of(shape))),
                outs.stream().map(n -> new ValueInfo(n, DType.FLOAT32, Shape.UNKNOWN)).toList(), layers);
        return new Built(m, bi, inputs("x", tm ? random(rnd, T, B, I) : random(rnd, B, T, I)));
    }

    private static Built build(Spec spec, List<Integer> perm, List<Long> target) {
        return build(spec, perm, target, false, List.of());
    }

    private static final List<Long> MERGE_LAST_TWO = List.of(0L, 0L, -1L);

    static Stream<Arguments> everyRecognisedForm() {
        List<Arguments> l = new ArrayList<>();
        for (Kind k : Kind.values()) {
            l.add(Arguments.of(k, Layout.TIME_MAJOR, List.of(0, 2, 1, 3), Layout.TIME_MAJOR));
            l.add(Arguments.of(k, Layout.TIME_MAJOR, List.of(2, 0, 1, 3), Layout.BATCH_MAJOR));
            l.add(Arguments.of(k, Layout.BATCH_MAJOR, null, Layout.BATCH_MAJOR));
            l.add(Arguments.of(k, Layout.BATCH_MAJOR, List.of(1, 0, 2, 3), Layout.TIME_MAJOR));
        }
        return l.stream();
    }

    @ParameterizedTest(name = "{0} {1} perm {2} gives {3}")
    @MethodSource("everyRecognisedForm")
    void theReportedOutputHoldsTheForwardFeaturesThenTheReverseOnesInTheReportedOrientation(
            Kind kind, Layout layout, List<Integer> perm, Layout expected) {
        Built b = build(Spec.of(kind, Direction.BIDIRECTIONAL, layout), perm, MERGE_LAST_TWO);
        List<BidirectionalPattern.Match> found = BidirectionalPattern.find(b.model());
        assertEquals(1, found.size());
        BidirectionalPattern.Match m = found.get(0);
        assertSame(b.bi(), m.recurrent());
        assertEquals("y", m.output());
        assertEquals(expected, m.outputLayout());
        assertEquals(perm == null ? List.of("reshape") : List.of("transpose", "reshape"), m.concatenation().stream().map(Layer::name).toList());
        assertConcatenatesDirections(b, m.outputLayout(), RecurrentCase.H);
    }

    @Test
    void aProjectedLstmsFeaturesAreItsProjectionSize() {
        Built b = build(Spec.of(Kind.LSTM, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR).withProjection(RecurrentCase.P),
                List.of(0, 2, 1, 3), List.of(0L, 0L, 2L * RecurrentCase.P));
        assertEquals(1, BidirectionalPattern.find(b.model()).size());
        assertConcatenatesDirections(b, Layout.TIME_MAJOR, RecurrentCase.P);
    }

    /** y[a0, a1, d*S + k] is Y of direction d (fwd 0, rev 1) at that time step, batch row and feature. */
    private static void assertConcatenatesDirections(Built b, Layout outputLayout, int s) {
        Map<String, Tensor> out = RecurrentCase.run(b.model(), b.inputs());
        boolean tmIn = Recurrent.layout(b.bi()) == Layout.TIME_MAJOR;
        boolean tmOut = outputLayout == Layout.TIME_MAJOR;
        float[] y = out.get("y").toFloatArray();
        assertArrayEquals(tmOut ? new int[] {T, B, 2 * s} : new int[] {B, T, 2 * s}, out.get("y").shape());
        float[][] dirs = {out.get("y_fwd").toFloatArray(), out.get("y_rev").toFloatArray()};
        for (int t = 0; t < T; t++) {
            for (int r = 0; r < B; r++) {
                for (int d = 0; d < 2; d++) {
                    for (int k = 0; k < s; k++) {
                        float expected = dirs[d][((tmIn ? t * B + r : r * T + t)) * s + k];
                        float actual = y[(tmOut ? t * B + r : r * T + t) * 2 * s + d * s + k];
                        if (Float.floatToIntBits(expected) != Float.floatToIntBits(actual)) {
                            fail("step " + t + ", row " + r + ", direction " + d + ", feature " + k + ": " + actual + ", expected " + expected);
                        }
                    }
                }
            }
        }
    }

    @Test
    void reshapeTargetsMayNameTheKnownSizesOrLeaveOneEntryToMinusOne() {
        Spec spec = Spec.of(Kind.GRU, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        long f = 2L * RecurrentCase.H;
        for (List<Long> target : List.of(List.of((long) T, (long) B, f), List.of((long) T, 0L, -1L), List.of(-1L, (long) B, f), List.of(0L, -1L, f))) {
            Built b = build(spec, List.of(0, 2, 1, 3), target, true, List.of());
            assertEquals(1, BidirectionalPattern.find(b.model()).size(), "target " + target);
            assertConcatenatesDirections(b, Layout.TIME_MAJOR, RecurrentCase.H);
        }
    }

    // ---------------------------------------------------------------- not a concatenated output

    private static void assertNone(Model m) {
        assertEquals(List.of(), BidirectionalPattern.find(m));
    }

    @Test
    void aTransposeThatLeavesTheDirectionAxisAwayFromTheFeaturesIsNoConcatenation() {
        Spec spec = Spec.of(Kind.LSTM, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        assertNone(build(spec, List.of(0, 1, 2, 3), MERGE_LAST_TWO).model());
        assertNone(build(spec, List.of(0, 2, 3, 1), MERGE_LAST_TWO).model());
        assertNone(build(spec, null, MERGE_LAST_TWO).model()); // [T, 2, B, H] -> [T, 2, B*H]
        assertNone(build(Spec.of(Kind.LSTM, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR), List.of(2, 1, 0, 3), MERGE_LAST_TWO).model());
    }

    @Test
    void aReshapeThatDoesNotMergeExactlyTheLastTwoAxesIsNoConcatenation() {
        Spec spec = Spec.of(Kind.RNN, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        long f = 2L * RecurrentCase.H;
        assertNone(build(spec, List.of(0, 2, 1, 3), List.of(0L, -1L)).model()); // [T, B*2H]
        assertNone(build(spec, List.of(0, 2, 1, 3), List.of(0L, 0L, 2L, -1L)).model()); // keeps four axes
        // T = 5, B = 3: [B, T, 2H] has as many elements as [T, B, 2H], but is another arrangement.
        assertNone(build(spec, List.of(0, 2, 1, 3), List.of((long) B, (long) T, f), true, List.of()).model());
        assertNone(build(spec, List.of(0, 2, 1, 3), List.of(0L, -1L, (long) RecurrentCase.H), true, List.of()).model()); // [T, 2B, H]
    }

    @Test
    void aValueOfTheChainThatSomethingElseReadsKeepsTheDirectionsApart() {
        Spec spec = Spec.of(Kind.LSTM, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        assertNone(build(spec, List.of(0, 2, 1, 3), MERGE_LAST_TWO, false, List.of("y_bi")).model());
        assertNone(build(spec, List.of(0, 2, 1, 3), MERGE_LAST_TWO, false, List.of("y_t")).model());
        Model m = build(spec, List.of(0, 2, 1, 3), MERGE_LAST_TWO).model();
        List<Layer> layers = new ArrayList<>(m.layers());
        layers.add(new Layer.Activation("reader", "y_t", "y_t_relu", ActivationFn.RELU));
        List<ValueInfo> outs = new ArrayList<>(m.outputs());
        outs.add(new ValueInfo("y_t_relu", DType.FLOAT32, Shape.UNKNOWN));
        assertNone(new Model("m", ModelInfo.NONE, m.inputs(), outs, layers));
    }

    @Test
    void aOneDirectionLayerIsNeverReported() {
        // Y [T, 1, B, H] through the same Transpose and Reshape is [T, B, H]: one direction, nothing concatenated.
        Layer fwd = layer("fwd", Spec.of(Kind.LSTM, Direction.FORWARD, Layout.TIME_MAJOR), Ports.of("x", "y_fwd"), new Random(2));
        Model m = new Model("m", ModelInfo.NONE, List.of(new ValueInfo("x", DType.FLOAT32, Shape.of("time", "batch", I))),
                List.of(new ValueInfo("y", DType.FLOAT32, Shape.UNKNOWN)),
                List.of(fwd, new Layer.Transpose("transpose", "y_fwd", "y_t", List.of(0, 2, 1, 3)),
                        new Layer.Reshape("reshape", "y_t", "y", MERGE_LAST_TWO)));
        assertNone(m);
    }
}
