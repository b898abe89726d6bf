package io.lstmx.passes;

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
import static io.lstmx.passes.RecurrentCase.assertSameOutputs;
import static io.lstmx.passes.RecurrentCase.inputs;
import static io.lstmx.passes.RecurrentCase.layer;
import static io.lstmx.passes.RecurrentCase.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * The rewrite of a forward and a reverse layer joined by a Concat into one bidirectional layer,
 * each proved by running the model before and after on random inputs (bit-identical outputs),
 * and the near misses it must leave alone.
 */
class BidirectionalMergeTest {
    private static final BidirectionalMerge MERGE = new BidirectionalMerge();

    /** What the two-direction model holds besides the two layers. */
    record Options(boolean lens, boolean initial, boolean states, int concatAxis, boolean negativeSqueezeAxis) {
        static final Options PLAIN = new Options(false, false, false, 2, false);
    }

    /**
     * tf2onnx's form: fwd and rev read x (with the options' lengths and initial states), each Y
     * squeezed on its direction axis, joined by Concat "join" into y; their final states are model
     * outputs when asked. The inputs to run it with come along.
     */
    private record Case(Model model, Map<String, Tensor> inputs) {
    }

    private static Case twoDirections(Spec spec, Spec revSpec, Options o, long seed) {
        Random rnd = new Random(seed);
        boolean tm = spec.layout() == Layout.TIME_MAJOR;
        boolean lstm = spec.kind() == Kind.LSTM;
        List<ValueInfo> in = new ArrayList<>();
        Map<String, Tensor> values = inputs("x", tm ? random(rnd, T, B, I) : random(rnd, B, T, I));
        in.add(new ValueInfo("x", DType.FLOAT32, tm ? Shape.of("time", "batch", I) : Shape.of("batch", "time", I)));
        if (o.lens()) {
            in.add(new ValueInfo("lens", DType.INT64, Shape.of("batch")));
            values.put("lens", RecurrentCase.lengths(rnd));
        }
        Ports fwd = Ports.of("x", "y_fwd").lens(o.lens() ? "lens" : null);
        Ports rev = Ports.of("x", "y_rev").lens(o.lens() ? "lens" : null);
        if (o.initial()) {
            for (String d : List.of("fwd", "rev")) {
                Spec s = d.equals("fwd") ? spec : revSpec;
                in.add(new ValueInfo("h0_" + d, DType.FLOAT32, Shape.UNKNOWN));
                values.put("h0_" + d, tm ? random(rnd, 1, B, s.stateSize()) : random(rnd, B, 1, s.stateSize()));
                if (lstm) {
                    in.add(new ValueInfo("c0_" + d, DType.FLOAT32, Shape.UNKNOWN));
                    values.put("c0_" + d, tm ? random(rnd, 1, B, s.hidden()) : random(rnd, B, 1, s.hidden()));
                }
            }
            fwd = fwd.initial("h0_fwd", lstm ? "c0_fwd" : null);
            rev = rev.initial("h0_rev", lstm ? "c0_rev" : null);
        }
        List<String> outs = new ArrayList<>(List.of("y"));
        if (o.states()) {
            fwd = fwd.states("h_fwd", lstm ? "c_fwd" : null);
            rev = rev.states("h_rev", lstm ? "c_rev" : null);
            outs.addAll(lstm ? List.of("h_fwd", "c_fwd", "h_rev", "c_rev") : List.of("h_fwd", "h_rev"));
        }
        int axis = tm ? 1 : 2;
        int squeeze = o.negativeSqueezeAxis() ? axis - 4 : axis;
        List<Layer> layers = List.of(
                layer("fwd", spec.withDirection(Direction.FORWARD), fwd, rnd),
                new Layer.Squeeze("squeeze_fwd", "y_fwd", "s_fwd", List.of(squeeze)),
                layer("rev", revSpec.withDirection(Direction.REVERSE), rev, rnd),
                new Layer.Squeeze("squeeze_rev", "y_rev", "s_rev", List.of(squeeze)),
                new Layer.Concat("join", List.of("s_fwd", "s_rev"), "y", o.concatAxis()));
        return new Case(new Model("m", ModelInfo.NONE, in, declared(outs), layers), values);
    }

    private static List<ValueInfo> declared(List<String> names) {
        return names.stream().map(n -> new ValueInfo(n, DType.FLOAT32, Shape.UNKNOWN)).toList();
    }

    private static Case twoDirections(Spec spec, Options o) {
        return twoDirections(spec, spec, o, 42);
    }

    private static Model with(Model m, List<Layer> layers, List<String> outputs) {
        return new Model(m.name(), m.info(), m.inputs(), declared(outputs), layers);
    }

    private static List<String> kinds(Model m) {
        return m.layers().stream().map(Layer::kind).toList();
    }

    /** Merges, checks the result with the pipeline, compares the outputs and returns the merged model. */
    private static Model mergeAndCompare(Case c) {
        Model after = Passes.of(MERGE).run(c.model());
        assertSameOutputs(c.model(), after, c.inputs());
        return after;
    }

    static Stream<Arguments> everyKindLayoutAndPort() {
        List<Arguments> l = new ArrayList<>();
        for (Kind k : Kind.values()) {
            for (Layout layout : Layout.values()) {
                for (int flags = 0; flags < 8; flags++) {
                    l.add(Arguments.of(k, layout, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0));
                }
            }
        }
        return l.stream();
    }

    @ParameterizedTest(name = "{0} {1} lengths={2} initial={3} states={4}")
    @MethodSource("everyKindLayoutAndPort")
    void aForwardAndAReverseLayerJoinedOnTheFeatureAxisBecomeOneBidirectionalLayerWithTheSameOutputs(
            Kind kind, Layout layout, boolean lens, boolean initial, boolean states) {
        Case c = twoDirections(Spec.of(kind, Direction.FORWARD, layout), new Options(lens, initial, states, 2, false));
        Model after = mergeAndCompare(c);
        long recurrent = after.layers().stream().filter(Recurrent::is).count();
        assertEquals(1, recurrent, "one recurrent layer: " + kinds(after));
        Layer merged = after.layers().stream().filter(Recurrent::is).findFirst().orElseThrow();
        assertEquals(Direction.BIDIRECTIONAL, Recurrent.direction(merged));
        List<BidirectionalPattern.Match> found = BidirectionalPattern.find(after);
        assertEquals(1, found.size(), "the merged layer is found with its concatenated output");
        assertSame(merged, found.get(0).recurrent());
        assertEquals("y", found.get(0).output());
        assertEquals(layout, found.get(0).outputLayout(), "the Concat's orientation is kept");
    }

    @Test
    void timeMajorPairsBecomeALayerATransposeAndAReshape() {
        Model after = MERGE.apply(twoDirections(Spec.of(Kind.LSTM, Direction.FORWARD, Layout.TIME_MAJOR), Options.PLAIN).model());
        assertEquals(List.of("LSTM", "Transpose", "Reshape"), kinds(after));
        assertEquals(List.of(0, 2, 1, 3), ((Layer.Transpose) after.layers().get(1)).perm());
        assertEquals(List.of(0L, 0L, 2L * RecurrentCase.H), ((Layer.Reshape) after.layers().get(2)).shape());
    }

    @Test
    void batchMajorPairsNeedNoTranspose() {
        Model after = MERGE.apply(twoDirections(Spec.of(Kind.GRU, Direction.FORWARD, Layout.BATCH_MAJOR), Options.PLAIN).model());
        assertEquals(List.of("GRU", "Reshape"), kinds(after));
    }

    @Test
    void aConcatOnTheLastAxisCountedFromTheEndAndASqueezeOfANegativeAxisAlsoMerge() {
        Case c = twoDirections(Spec.of(Kind.RNN, Direction.FORWARD, Layout.TIME_MAJOR), new Options(true, false, true, -1, true));
        assertEquals(List.of("RNN", "Slice", "Slice", "Transpose", "Reshape"), kinds(mergeAndCompare(c)));
    }

    @Test
    void projectedLstmsMergeWithTheProjectionSizeAsFeatureSize() {
        Spec spec = Spec.of(Kind.LSTM, Direction.FORWARD, Layout.TIME_MAJOR).withProjection(RecurrentCase.P);
        Model after = mergeAndCompare(twoDirections(spec, new Options(true, true, true, 2, false)));
        Layer.Reshape r = (Layer.Reshape) after.layers().stream().filter(l -> l instanceof Layer.Reshape).findFirst().orElseThrow();
        assertEquals(List.of(0L, 0L, 2L * RecurrentCase.P), r.shape());
    }

    @Test
    void eachDirectionKeepsItsOwnActivations() {
        Spec fwd = Spec.of(Kind.LSTM, Direction.FORWARD, Layout.BATCH_MAJOR);
        mergeAndCompare(twoDirections(fwd, fwd.withOtherActivations(), new Options(true, true, false, 2, false), 7));
        Spec gru = Spec.of(Kind.GRU, Direction.FORWARD, Layout.TIME_MAJOR);
        mergeAndCompare(twoDirections(gru, gru.withOtherActivations(), Options.PLAIN, 8));
    }

    @Test
    void layersAroundThePairKeepTheirPlacesAndTheirInputs() {
        Case c = twoDirections(Spec.of(Kind.LSTM, Direction.FORWARD, Layout.TIME_MAJOR), new Options(false, false, true, 2, false));
        List<Layer> layers = new ArrayList<>(c.model().layers());
        // Between the two: a layer reading the input; after: one reading the joined output and one the reverse state.
        layers.add(2, new Layer.Activation("between", "x", "x_relu", io.lstmx.ir.ActivationFn.RELU));
        layers.add(new Layer.Activation("after", "y", "y_tanh", io.lstmx.ir.ActivationFn.TANH));
        layers.add(new Layer.Activation("state", "h_rev", "h_rev_tanh", io.lstmx.ir.ActivationFn.TANH));
        Model before = with(c.model(), layers, List.of("y_tanh", "x_relu", "h_rev_tanh", "c_fwd"));
        Model after = Passes.of(MERGE).run(before);
        assertSameOutputs(before, after, c.inputs());
        List<String> names = after.layers().stream().map(Layer::name).toList();
        assertEquals(List.of("between", "fwd/bidirectional", "fwd/bidirectional/Y_h/reverse", "fwd/bidirectional/Y_c/forward",
                "join/transpose", "join/reshape", "after", "state"), names);
    }

    @Test
    void mergingTwoPairsGivesTwoBidirectionalLayers() {
        Case c = twoDirections(Spec.of(Kind.GRU, Direction.FORWARD, Layout.TIME_MAJOR), Options.PLAIN);
        Random rnd = new Random(3);
        Spec second = new Spec(Kind.GRU, Direction.FORWARD, Layout.TIME_MAJOR, 0, RecurrentCase.H, false);
        List<Layer> layers = new ArrayList<>(c.model().layers());
        // A second pair reading the first's output needs input size 2H; RecurrentCase layers read I = 4 features.
        layers.add(new Layer.Slice("narrow", "y", "y4", 2, 0, I, 1));
        layers.add(layer("fwd2", second, Ports.of("y4", "y2_fwd"), rnd));
        layers.add(new Layer.Squeeze("sq2f", "y2_fwd", "s2f", List.of(1)));
        layers.add(layer("rev2", second.withDirection(Direction.REVERSE), Ports.of("y4", "y2_rev"), rnd));
        layers.add(new Layer.Squeeze("sq2r", "y2_rev", "s2r", List.of(1)));
        layers.add(new Layer.Concat("join2", List.of("s2f", "s2r"), "y2", 2));
        Model before = with(c.model(), layers, List.of("y2"));
        Model after = Passes.of(MERGE).run(before);
        assertSameOutputs(before, after, c.inputs());
        assertEquals(2, BidirectionalPattern.find(after).size());
    }

    // ---------------------------------------------------------------- left alone

    private static void assertUnchanged(Model m) {
        assertSame(m, MERGE.apply(m), "no rewrite");
    }

    private static Model plain(Kind kind) {
        return twoDirections(Spec.of(kind, Direction.FORWARD, Layout.TIME_MAJOR), new Options(true, true, true, 2, false)).model();
    }

    /** {@code m} with the layer named {@code name} replaced by {@code replacement}. */
    private static Model replaced(Model m, String name, Layer replacement) {
        List<Layer> l = m.layers().stream().map(x -> x.name().equals(name) ? replacement : x).toList();
        return new Model(m.name(), m.info(), m.inputs(), m.outputs(), l);
    }

    @Test
    void aConcatOnAnotherAxisIsNoBidirectionalOutput() {
        for (int axis : new int[] {0, 1, -2}) {
            assertUnchanged(replaced(plain(Kind.LSTM), "join", new Layer.Concat("join", List.of("s_fwd", "s_rev"), "y", axis)));
        }
    }

    @Test
    void reverseBeforeForwardInTheConcatIsNotTheIrOrder() {
        assertUnchanged(replaced(plain(Kind.GRU), "join", new Layer.Concat("join", List.of("s_rev", "s_fwd"), "y", 2)));
    }

    @Test
    void layersReadingDifferentInputsAreNotOneBidirectionalLayer() {
        Model m = plain(Kind.LSTM);
        List<Layer> layers = new ArrayList<>(m.layers());
        layers.add(0, new Layer.Identity("copy", "x", "x2"));
        Layer rev = layer("rev", Spec.of(Kind.LSTM, Direction.REVERSE, Layout.TIME_MAJOR),
                Ports.of("x2", "y_rev").lens("lens").initial("h0_rev", "c0_rev").states("h_rev", "c_rev"), new Random(1));
        layers.set(layers.indexOf(layers.stream().filter(l -> l.name().equals("rev")).findFirst().orElseThrow()), rev);
        assertUnchanged(new Model(m.name(), m.info(), m.inputs(), m.outputs(), layers));
    }

    @Test
    void differentSequenceLengthsOrOneInitialStateAloneAreNotMerged() {
        Model m = plain(Kind.RNN);
        Layer noLens = layer("rev", Spec.of(Kind.RNN, Direction.REVERSE, Layout.TIME_MAJOR),
                Ports.of("x", "y_rev").initial("h0_rev", null).states("h_rev", null), new Random(1));
        assertUnchanged(replaced(m, "rev", noLens));
        Layer noInitial = layer("rev", Spec.of(Kind.RNN, Direction.REVERSE, Layout.TIME_MAJOR),
                Ports.of("x", "y_rev").lens("lens").states("h_rev", null), new Random(1));
        assertUnchanged(replaced(m, "rev", noInitial));
    }

    @Test
    void aSqueezedOutputOrAYThatAnythingElseReadsIsKept() {
        Model m = plain(Kind.LSTM);
        assertUnchanged(with(m, m.layers(), List.of("y", "s_fwd")));
        assertUnchanged(with(m, m.layers(), List.of("y", "y_rev")));
        List<Layer> layers = new ArrayList<>(m.layers());
        layers.add(new Layer.Activation("extra", "s_rev", "extra_out", io.lstmx.ir.ActivationFn.RELU));
        assertUnchanged(with(m, layers, List.of("y", "extra_out")));
    }

    @Test
    void twoForwardLayersOrLayersOfDifferentKindsOrSizesAreNotMerged() {
        Model m = plain(Kind.GRU);
        Ports rev = Ports.of("x", "y_rev").lens("lens").initial("h0_rev", null).states("h_rev", null);
        assertUnchanged(replaced(m, "rev", layer("rev", Spec.of(Kind.GRU, Direction.FORWARD, Layout.TIME_MAJOR), rev, new Random(1))));
        assertUnchanged(replaced(m, "rev", layer("rev", Spec.of(Kind.RNN, Direction.REVERSE, Layout.TIME_MAJOR), rev, new Random(1))));
        Case wider = twoDirections(Spec.of(Kind.GRU, Direction.FORWARD, Layout.TIME_MAJOR),
                Spec.of(Kind.GRU, Direction.REVERSE, Layout.TIME_MAJOR).withHidden(5), Options.PLAIN, 1);
        assertUnchanged(wider.model());
    }

    @Test
    void aLayerBetweenThePairReadingTheFirstOnesFinalStateKeepsThePairApart() {
        Model m = plain(Kind.LSTM);
        List<Layer> layers = new ArrayList<>(m.layers());
        layers.add(2, new Layer.Activation("reads_state", "h_fwd", "h_fwd_relu", io.lstmx.ir.ActivationFn.RELU));
        assertUnchanged(with(m, layers, List.of("y", "h_fwd_relu")));
    }

    @Test
    void aBidirectionalLayerAlreadyInTheRightFormIsLeftAsItIs() {
        Model once = MERGE.apply(plain(Kind.LSTM));
        assertSame(once, MERGE.apply(once));
    }
}
