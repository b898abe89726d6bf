package io.lstmx.exporters.tensorflow;

import io.lstmx.ir.samples.Samples;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.lstmx.ir.samples.Samples.f32;
import static io.lstmx.ir.samples.Samples.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every concrete IR layer kind (walked from the sealed {@link Layer} at test time) has a sample
 * (the PyTorch writers' samples, the flags of which are theirs and not used here), and the
 * SavedModel writer writes each one — the SavedModel then runs in TensorFlow as in the native
 * runtime — or refuses it with UNSUPPORTED naming the layer and the feature, writing nothing.
 */
class EveryLayerKindTest {
    @TempDir
    Path dir;

    record Case(Samples.Sample sample, boolean stateDict, boolean torchScript) {
    }

    static Model unary(String name, ValueInfo in, Layer... layers) {
        return Samples.model(name, List.of(in), List.of("y"), layers);
    }

    static Map<Class<?>, List<Case>> cases() {
        Map<Class<?>, List<Case>> m = new LinkedHashMap<>();
        Tensor x23 = random(2, 3);
        Tensor x234 = random(2, 3, 4);
        m.put(Layer.Constant.class, List.of(new Case(new Samples.Sample("a constant added to an input",
                Samples.model("c", List.of(f32("x", 2, 3)), List.of("y"), new Layer.Constant("k", "c", random(2, 3)),
                        new Layer.Binary("add", Layer.Binary.Op.ADD, "x", "c", "y")), Map.of("x", x23)), true, true)));
        m.put(Layer.Lstm.class, List.of(
                new Case(Samples.lstm("a bidirectional batch-major LSTM", LstmSpec.standard(3, 4, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR), true, false), true, true),
                new Case(Samples.lstm("an LSTM with peepholes", LstmSpec.standard(3, 4, Direction.FORWARD, Layout.TIME_MAJOR), true, true), false, true),
                new Case(Samples.lstm("an LSTM with TensorFlow's cell clip", LstmSpec.standard(3, 4, Direction.FORWARD, Layout.TIME_MAJOR).withCellClip(0.5f), false, false), false, true),
                new Case(Samples.lstm("an LSTM with a forget bias", LstmSpec.standard(3, 4, Direction.FORWARD, Layout.TIME_MAJOR).withForgetBias(1f), false, false), true, true)));
        m.put(Layer.Gru.class, List.of(
                new Case(Samples.gru("a reverse GRU", new RecurrentSpec(3, 4, Direction.REVERSE, Layout.TIME_MAJOR, null, true,
                        List.of(ActivationFn.SIGMOID, ActivationFn.TANH)), true), true, true),
                new Case(Samples.gru("a GRU with linear_before_reset=0", new RecurrentSpec(3, 4, Direction.FORWARD, Layout.TIME_MAJOR, null, false,
                        List.of(ActivationFn.SIGMOID, ActivationFn.TANH)), true), false, false)));
        m.put(Layer.Rnn.class, List.of(
                new Case(Samples.rnn("a relu RNN", new RecurrentSpec(3, 4, Direction.FORWARD, Layout.BATCH_MAJOR, null, false,
                        List.of(ActivationFn.RELU)), true), true, true),
                new Case(Samples.rnn("an RNN with a sigmoid", new RecurrentSpec(3, 4, Direction.FORWARD, Layout.BATCH_MAJOR, null, false,
                        List.of(ActivationFn.SIGMOID)), true), false, false)));
        m.put(Layer.Dense.class, List.of(both("a dense layer without bias", unary("d", f32("x", 2, 3), new Layer.Dense("fc", "x", "y", random(4, 3), null)), x23)));
        Model emb = Samples.model("e", List.of(new ValueInfo("ids", DType.INT64, Shape.of(2, 3))), List.of("y"),
                new Layer.Embedding("emb", "ids", "y", random(5, 4)));
        m.put(Layer.Embedding.class, List.of(both("an embedding with a negative id", emb, Tensor.ofLongs(DType.INT64, new int[] {2, 3}, new long[] {0, 4, -1, 2, 3, 1}), "ids")));
        List<Case> acts = new ArrayList<>();
        for (ActivationFn.Kind k : ActivationFn.Kind.values()) {
            ActivationFn fn = ActivationFn.of(k, 0.3f, 0.6f);
            acts.add(both("a " + fn, unary("a", f32("x", 2, 3), new Layer.Activation("act", "x", "y", fn)), random(2, 3)));
        }
        m.put(Layer.Activation.class, acts);
        m.put(Layer.Softmax.class, List.of(both("a log-softmax over a middle axis", unary("s", f32("x", 2, 3, 4), new Layer.Softmax("sm", "x", "y", 1, true)), x234)));
        m.put(Layer.Dropout.class, List.of(both("a dropout", unary("d", f32("x", 2, 3), new Layer.Dropout("drop", "x", "y", 0.3f)), x23)));
        m.put(Layer.Identity.class, List.of(both("an identity", unary("i", f32("x", 2, 3), new Layer.Identity("id", "x", "y")), x23)));
        m.put(Layer.Binary.class, List.of(new Case(new Samples.Sample("a broadcast division",
                Samples.model("b", List.of(f32("a", 2, 3), f32("b", 3)), List.of("y"), new Layer.Binary("div", Layer.Binary.Op.DIV, "a", "b", "y")),
                ordered("a", random(2, 3), "b", random(3))), true, true)));
        m.put(Layer.MatMul.class, List.of(new Case(new Samples.Sample("a matrix product of two inputs",
                Samples.model("mm", List.of(f32("a", 2, 3), f32("b", 3, 4)), List.of("y"), new Layer.MatMul("mm", "a", "b", "y")),
                ordered("a", random(2, 3), "b", random(3, 4))), true, true)));
        m.put(Layer.Concat.class, List.of(new Case(new Samples.Sample("a concatenation along axis -1",
                Samples.model("cat", List.of(f32("a", 2, 3), f32("b", 2, 2)), List.of("y"), new Layer.Concat("cat", List.of("a", "b"), "y", -1)),
                ordered("a", random(2, 3), "b", random(2, 2))), true, true)));
        m.put(Layer.Transpose.class, List.of(both("a transpose", unary("t", f32("x", 2, 3, 4), new Layer.Transpose("t", "x", "y", List.of(2, 0, 1))), x234)));
        m.put(Layer.Reshape.class, List.of(both("a reshape keeping axis 0", unary("r", f32("x", 2, 3, 4), new Layer.Reshape("r", "x", "y", List.of(0L, -1L))), x234)));
        m.put(Layer.Flatten.class, List.of(both("a flatten at axis 2", unary("f", f32("x", 2, 3, 4), new Layer.Flatten("fl", "x", "y", 2)), x234)));
        m.put(Layer.Squeeze.class, List.of(both("a squeeze of axis -2", unary("s", f32("x", 2, 1, 3), new Layer.Squeeze("sq", "x", "y", List.of(-2))), random(2, 1, 3))));
        m.put(Layer.Unsqueeze.class, List.of(both("an unsqueeze at axes 0 and -1", unary("u", f32("x", 2, 3), new Layer.Unsqueeze("u", "x", "y", List.of(0, -1))), x23)));
        m.put(Layer.Select.class, List.of(both("a selection of the last step", unary("s", f32("x", 2, 3, 4), new Layer.Select("last", "x", "y", 1, -1)), x234)));
        m.put(Layer.Take.class, List.of(both("a gather of positions [[2, -1], [0, 1]]", unary("g", f32("x", 2, 3, 4),
                new Layer.Take("g", "x", "y", 2, Tensor.ofLongs(new int[] {2, 2}, new long[] {2, -1, 0, 1}))), x234)));
        m.put(Layer.Slice.class, List.of(
                both("a strided slice", unary("s", f32("x", 2, 3, 5), new Layer.Slice("sl", "x", "y", 2, 1, 100, 2)), random(2, 3, 5)),
                new Case(new Samples.Sample("a slice with a negative step", unary("s", f32("x", 2, 3, 5), new Layer.Slice("sl", "x", "y", 2, -1, -100, -2)),
                        Map.of("x", random(2, 3, 5))), false, false)));
        m.put(Layer.Cast.class, List.of(both("a cast of token ids to float", Samples.model("c", List.of(new ValueInfo("ids", DType.INT64, Shape.of(2, 3))),
                List.of("y"), new Layer.Cast("cast", "ids", "y", DType.FLOAT32)), Tensor.ofLongs(DType.INT64, new int[] {2, 3}, new long[] {1, 2, 3, 4, 5, 6}), "ids")));
        m.put(Layer.LayerNorm.class, List.of(
                both("a layer norm over the last axis", unary("ln", f32("x", 2, 3, 4), new Layer.LayerNorm("ln", "x", "y", 1e-3f, random(4),
                        random(4))), x234),
                both("a layer norm with gamma only", unary("ln", f32("x", 2, 3, 4), new Layer.LayerNorm("ln", "x", "y", 0.01f, random(4),
                        null)), x234)));
        m.put(Layer.StepMask.class, List.of(
                new Case(Samples.masked("a token mask read by a forward batch-major LSTM", "lstm", Direction.FORWARD, Layout.BATCH_MAJOR,
                        true, false), false, true),
                new Case(Samples.masked("a token mask read by a bidirectional time-major LSTM, masked outputs zero", "lstm",
                        Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, true, true), false, true),
                new Case(Samples.masked("a feature mask read by a bidirectional GRU, masked outputs zero", "gru", Direction.BIDIRECTIONAL,
                        Layout.BATCH_MAJOR, false, true), false, false),
                new Case(Samples.masked("a feature mask read by a reverse RNN", "rnn", Direction.REVERSE, Layout.BATCH_MAJOR, false, false),
                        false, false)));
        return m;
    }

    private static Case both(String description, Model m, Tensor x) {
        return both(description, m, x, "x");
    }

    private static Case both(String description, Model m, Tensor x, String name) {
        return new Case(new Samples.Sample(description, m, Map.of(name, x)), true, true);
    }

    private static Map<String, Tensor> ordered(String a, Tensor ta, String b, Tensor tb) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(a, ta);
        m.put(b, tb);
        return m;
    }

    static List<Class<?>> concreteKinds(Class<?> sealed) {
        List<Class<?>> l = new ArrayList<>();
        for (Class<?> c : sealed.getPermittedSubclasses()) {
            if (c.isSealed() && c.isInterface()) {
                l.addAll(concreteKinds(c));
            } else {
                l.add(c);
            }
        }
        return l;
    }

    /** Models the SavedModel writer refuses, by layer kind. */
    static Map<Class<?>, Model> refusals() {
        Map<Class<?>, Model> m = new LinkedHashMap<>();
        m.put(Layer.MatMul.class, Samples.model("mm", List.of(new ValueInfo("a", DType.FLOAT32, Shape.UNKNOWN), f32("b", 3, 4)), List.of("y"),
                new Layer.MatMul("mm", "a", "b", "y")));
        m.put(Layer.Unsqueeze.class, unary("u", new ValueInfo("x", DType.FLOAT32, Shape.UNKNOWN), new Layer.Unsqueeze("u", "x", "y", List.of(-1))));
        return m;
    }

    @TestFactory
    Stream<DynamicTest> everyLayerKindIsWrittenAsASavedModelOrRefusedNamingTheLayer() {
        Map<Class<?>, List<Case>> cases = cases();
        Map<Class<?>, Model> refused = refusals();
        List<DynamicTest> tests = new ArrayList<>();
        for (Class<?> kind : concreteKinds(Layer.class)) {
            List<Case> l = cases.get(kind);
            tests.add(DynamicTest.dynamicTest(kind.getSimpleName() + " has a sample", () -> assertTrue(l != null && !l.isEmpty())));
            if (l == null) {
                continue;
            }
            for (Case c : l) {
                tests.add(DynamicTest.dynamicTest(kind.getSimpleName() + ": " + c.sample().description()
                        + " is written as a SavedModel and runs in TensorFlow as natively", () -> Tf.check(dir, c.sample().model(), c.sample().inputs())));
            }
            Model r = refused.get(kind);
            if (r != null) {
                tests.add(DynamicTest.dynamicTest(kind.getSimpleName() + ": " + r.name() + " of unknown rank is refused", () -> refused(r)));
            }
        }
        return tests.stream();
    }

    private void refused(Model m) throws Exception {
        Path folder = Files.createTempDirectory(dir, "refused");
        Path target = folder.resolve("saved_model");
        LstmxException e = org.junit.jupiter.api.Assertions.assertThrows(LstmxException.class,
                () -> new SavedModelWriter().write(m, target, WriteOptions.DEFAULT));
        assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("layer '" + m.layers().get(0).name() + "'"), e.getMessage());
        assertTrue(e.getMessage().contains("unknown rank"), e.getMessage());
        assertTrue(e.getMessage().contains("SavedModel"), e.getMessage());
        try (Stream<Path> left = Files.list(folder)) {
            assertEquals(List.of(), left.toList(), "nothing left behind");
        }
    }
    /** Every sample, for the PyTorch 1.13 check files. */
    static List<Samples.Sample> samples() {
        List<Samples.Sample> l = new ArrayList<>();
        cases().values().forEach(cs -> cs.forEach(c -> l.add(c.sample())));
        return l;
    }
}
