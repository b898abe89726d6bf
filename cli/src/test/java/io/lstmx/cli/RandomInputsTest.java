package io.lstmx.cli;

import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hand-built IR models: which sizes and values verify's random inputs get. */
class RandomInputsTest {
    private static final int I = 4;
    private static final int H = 3;

    private static LstmWeights zeros(int inputSize) {
        return new LstmWeights(Tensor.zeros(4 * H, inputSize), Tensor.zeros(4 * H, H), Tensor.zeros(4 * H), Tensor.zeros(4 * H), null, null);
    }

    private static Layer.Lstm lstm(String x, String seqLens, String h0, Layout layout, int inputSize) {
        return new Layer.Lstm("lstm", new RecurrentPorts(x, seqLens, h0, null, "y", null, null),
                LstmSpec.standard(inputSize, H, Direction.FORWARD, layout), List.of(zeros(inputSize)), GateOrder.ONNX);
    }

    private static ValueInfo in(String name, DType t, Object... dims) {
        return new ValueInfo(name, t, Shape.of(dims));
    }

    private static Model model(List<ValueInfo> inputs, Layer... layers) {
        return new Model("m", ModelInfo.NONE, inputs, List.of(new ValueInfo("y", DType.FLOAT32, Shape.UNKNOWN)), List.of(layers));
    }

    private static Set<List<Integer>> shapesOf(List<RandomInputs.Case> cases, String input) {
        Set<List<Integer>> s = new HashSet<>();
        for (RandomInputs.Case c : cases) {
            s.add(Arrays.stream(c.inputs().get(input).shape()).boxed().toList());
        }
        return s;
    }

    @Test
    void timeMajorAxesAreFoundFromTheLstmNotFromNames() {
        // Names say nothing; the layout does: axis 0 is time, axis 1 batch, axis 2 the LSTM's input size.
        Model m = model(List.of(in("x", DType.FLOAT32, Dim.of("d0"), Dim.of("d1"), Dim.of(""))),
                lstm("x", null, null, Layout.TIME_MAJOR, I));
        List<RandomInputs.Case> cases = RandomInputs.cases(m, 1);
        assertEquals(4, cases.size());
        assertEquals(Set.of(List.of(1, 1, I), List.of(7, 1, I), List.of(1, 3, I), List.of(7, 3, I)), shapesOf(cases, "x"));
        for (RandomInputs.Case c : cases) {
            int[] s = c.inputs().get("x").shape();
            assertEquals("batch=" + s[1] + " time=" + s[0], c.label());
        }
    }

    @Test
    void batchMajorThroughTransposeAndActivation() {
        // x [B, T, I] -> Transpose(1, 0, 2) -> tanh -> time-major LSTM.
        Model m = model(List.of(in("x", DType.FLOAT32, Dim.of("?a"), Dim.of("?b"), I)),
                new Layer.Transpose("t", "x", "xt", List.of(1, 0, 2)),
                new Layer.Activation("act", "xt", "xa", io.lstmx.ir.ActivationFn.TANH),
                lstm("xa", null, null, Layout.TIME_MAJOR, I));
        assertEquals(Set.of(List.of(1, 1, I), List.of(1, 7, I), List.of(3, 1, I), List.of(3, 7, I)),
                shapesOf(RandomInputs.cases(m, 0), "x"));
    }

    @Test
    void sequenceLengthsAreValidAndKeepTheirIntegerWidth() {
        Model m = model(List.of(in("x", DType.FLOAT32, "T", "N", I), in("lens", DType.INT32, Dim.of("N"))),
                lstm("x", "lens", null, Layout.TIME_MAJOR, I));
        List<RandomInputs.Case> cases = RandomInputs.cases(m, 5);
        assertEquals(4, cases.size());
        boolean belowT = false;
        for (RandomInputs.Case c : cases) {
            Tensor x = c.inputs().get("x");
            Tensor lens = c.inputs().get("lens");
            assertEquals(DType.INT32, lens.dtype());
            assertArrayEquals(new int[] {x.dim(1)}, lens.shape(), "one length per batch row");
            for (long v : lens.toLongArray()) {
                assertTrue(v >= 1 && v <= x.dim(0), "length " + v + " within [1, " + x.dim(0) + "]");
                belowT |= v < x.dim(0);
            }
        }
        assertTrue(belowT, "some rows are shorter than T, so masking is exercised");
    }

    @Test
    void sequenceLengthsRespectAFixedTimeAxis() {
        Model m = model(List.of(in("lens", DType.INT64, Dim.of("batch")), in("x", DType.FLOAT32, 5, Dim.of("batch"), I)),
                lstm("x", "lens", null, Layout.TIME_MAJOR, I));
        List<RandomInputs.Case> cases = RandomInputs.cases(m, 2);
        assertEquals(2, cases.size(), "only the batch varies");
        for (RandomInputs.Case c : cases) {
            assertEquals(5, c.inputs().get("x").dim(0));
            for (long v : c.inputs().get("lens").toLongArray()) {
                assertTrue(v >= 1 && v <= 5, "length " + v);
            }
        }
    }

    @Test
    void embeddingIndicesStayWithinTheVocabulary() {
        int vocab = 6;
        Model m = model(List.of(in("tokens", DType.INT64, Dim.of("b"), Dim.of("t"))),
                new Layer.Embedding("emb", "tokens", "e", Tensor.zeros(vocab, I)),
                new Layer.Transpose("tr", "e", "et", List.of(1, 0, 2)),
                lstm("et", null, null, Layout.TIME_MAJOR, I));
        List<RandomInputs.Case> cases = RandomInputs.cases(m, 3);
        assertEquals(Set.of(List.of(1, 1), List.of(1, 7), List.of(3, 1), List.of(3, 7)), shapesOf(cases, "tokens"));
        Set<Long> seen = new HashSet<>();
        for (RandomInputs.Case c : cases) {
            assertEquals(DType.INT64, c.inputs().get("tokens").dtype());
            for (long v : c.inputs().get("tokens").toLongArray()) {
                assertTrue(v >= 0 && v < vocab, "index " + v);
                seen.add(v);
            }
        }
        assertTrue(seen.size() > 1, "indices vary");
    }

    /** Keras feeds token ids as floats (cast before its Embedding): they are whole numbers in [0, vocab), 0 (a mask_zero's mask) among them. */
    @Test
    void floatTokenIdsAreWholeNumbersWithinTheVocabulary() {
        int vocab = 6;
        Model m = model(List.of(in("tokens", DType.FLOAT32, Dim.of("b"), Dim.of("t"))),
                new Layer.Cast("ids", "tokens", "ids", DType.INT64),
                new Layer.Embedding("emb", "ids", "e", Tensor.zeros(vocab, I)),
                new Layer.Transpose("tr", "e", "et", List.of(1, 0, 2)),
                lstm("et", null, null, Layout.TIME_MAJOR, I));
        Set<Float> seen = new HashSet<>();
        for (RandomInputs.Case c : RandomInputs.cases(m, 3)) {
            assertEquals(DType.FLOAT32, c.inputs().get("tokens").dtype());
            for (float v : c.inputs().get("tokens").toFloatArray()) {
                assertTrue(v >= 0 && v < vocab && v == Math.rint(v), "index " + v);
                seen.add(v);
            }
        }
        assertTrue(seen.size() > 1 && seen.contains(0f), "indices vary and include 0: " + seen);
    }

    @Test
    void initialStatesShareTheBatchSize() {
        Model m = model(List.of(in("x", DType.FLOAT32, Dim.of("t"), Dim.of("b"), I), in("h0", DType.FLOAT32, 1, Dim.of(""), H)),
                lstm("x", null, "h0", Layout.TIME_MAJOR, I));
        for (RandomInputs.Case c : RandomInputs.cases(m, 0)) {
            assertEquals(c.inputs().get("x").dim(1), c.inputs().get("h0").dim(1), c.label());
        }
    }

    @Test
    void fixedShapesGiveOneCaseAndSeedsAreReproducible() {
        Model m = model(List.of(in("x", DType.FLOAT32, 2, 1, I)), lstm("x", null, null, Layout.TIME_MAJOR, I));
        List<RandomInputs.Case> a = RandomInputs.cases(m, 42);
        assertEquals(1, a.size());
        assertEquals("fixed shapes", a.get(0).label());
        assertArrayEquals(new int[] {2, 1, I}, a.get(0).inputs().get("x").shape());
        assertTrue(a.get(0).inputs().get("x").bitEquals(RandomInputs.cases(m, 42).get(0).inputs().get("x")), "same seed, same values");
        assertFalse(a.get(0).inputs().get("x").bitEquals(RandomInputs.cases(m, 43).get(0).inputs().get("x")), "another seed, other values");
        List<Float> values = new ArrayList<>();
        for (float f : a.get(0).inputs().get("x").toFloatArray()) {
            assertTrue(f >= -1 && f < 1, "value " + f);
            values.add(f);
        }
        assertTrue(new HashSet<>(values).size() > 1);
    }

    private static RecurrentSpec spec(int inputSize, Layout layout, List<io.lstmx.ir.ActivationFn> acts, boolean gru) {
        return new RecurrentSpec(inputSize, H, Direction.FORWARD, layout, null, gru, acts);
    }

    @Test
    void batchMajorGruGivesBatchTimeAndStateAxes() {
        int gates = 3;
        Layer.Gru gru = new Layer.Gru("gru", RecurrentPorts.withoutCell("x", null, "h0", "y", null),
                spec(I, Layout.BATCH_MAJOR, List.of(io.lstmx.ir.ActivationFn.SIGMOID, io.lstmx.ir.ActivationFn.TANH), true),
                List.of(new RecurrentWeights(Tensor.zeros(gates * H, I), Tensor.zeros(gates * H, H), Tensor.zeros(gates * H),
                        Tensor.zeros(gates * H))), GateOrder.Gru.PYTORCH);
        Model m = model(List.of(in("x", DType.FLOAT32, Dim.of("d0"), Dim.of("d1"), Dim.of("")),
                in("h0", DType.FLOAT32, Dim.of(""), Dim.of(""), Dim.of(""))), gru);
        List<RandomInputs.Case> cases = RandomInputs.cases(m, 1);
        assertEquals(Set.of(List.of(1, 1, I), List.of(1, 7, I), List.of(3, 1, I), List.of(3, 7, I)), shapesOf(cases, "x"));
        for (RandomInputs.Case c : cases) {
            assertArrayEquals(new int[] {c.inputs().get("x").dim(0), 1, H}, c.inputs().get("h0").shape(), c.label());
        }
    }

    @Test
    void rnnSequenceLengthsStayWithinTheTimeAxis() {
        Layer.Rnn rnn = new Layer.Rnn("rnn", RecurrentPorts.withoutCell("x", "lens", null, "y", null), spec(I, Layout.TIME_MAJOR, List.of(io.lstmx.ir.ActivationFn.TANH), false),
                List.of(new RecurrentWeights(Tensor.zeros(H, I), Tensor.zeros(H, H), Tensor.zeros(H), Tensor.zeros(H))));
        Model m = model(List.of(in("x", DType.FLOAT32, "T", "N", Dim.of("")), in("lens", DType.INT32, Dim.of("N"))), rnn);
        List<RandomInputs.Case> cases = RandomInputs.cases(m, 5);
        assertEquals(4, cases.size());
        for (RandomInputs.Case c : cases) {
            Tensor x = c.inputs().get("x");
            assertEquals(I, x.dim(2));
            assertArrayEquals(new int[] {x.dim(1)}, c.inputs().get("lens").shape(), "one length per batch row");
            for (long v : c.inputs().get("lens").toLongArray()) {
                assertTrue(v >= 1 && v <= x.dim(0), "length " + v + " within [1, " + x.dim(0) + "]");
            }
        }
    }
}
