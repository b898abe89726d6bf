package io.lstmx.tests;

import io.lstmx.api.Tolerance;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatRegistry;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.ActivationFn;
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
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every concrete kind of {@link Layer} (found by walking the sealed hierarchy, so a new kind is
 * picked up by itself) through every consumer: shape inference, the native runtime and every
 * writer on the class path. Each kind needs a sample model in {@link #SAMPLES}; a kind without one
 * fails here. A writer either writes a sample or refuses it with UNSUPPORTED (exit status 3); an
 * ONNX file it writes must run in onnxruntime and agree with the native runtime within
 * atol 1e-5 + rtol 1e-4.
 */
class EveryLayerKindTest {
    @TempDir
    Path dir;

    /**
     * A small model using one kind of layer, its inputs, and whether the ONNX writer can express it
     * (otherwise it must refuse it as UNSUPPORTED).
     */
    private record Sample(String description, Model model, Map<String, Tensor> inputs, boolean onnxWrites) {
    }

    private static final Map<Class<?>, Supplier<List<Sample>>> SAMPLES = new LinkedHashMap<>();

    static {
        SAMPLES.put(Layer.Constant.class, EveryLayerKindTest::constants);
        SAMPLES.put(Layer.Lstm.class, EveryLayerKindTest::lstms);
        SAMPLES.put(Layer.Gru.class, EveryLayerKindTest::grus);
        SAMPLES.put(Layer.Rnn.class, EveryLayerKindTest::rnns);
        SAMPLES.put(Layer.Dense.class, () -> List.of(unary("a dense layer with half-precision weights", shape(2, 3),
                new Layer.Dense("fc", "x", "y", random(4, 3).withDType(DType.FLOAT16), random(4)))));
        SAMPLES.put(Layer.Embedding.class, () -> {
            Model m = model(List.of(new ValueInfo("x", DType.INT64, Shape.of(2, 3))), "y",
                    new Layer.Embedding("emb", "x", "y", random(5, 4)));
            return List.of(new Sample("an embedding lookup", m, Map.of("x", Tensor.ofLongs(new int[] {2, 3}, new long[] {4, 0, 2, 2, 1, 3})), true));
        });
        SAMPLES.put(Layer.Activation.class, () -> List.of(unary("a leaky ReLU", shape(2, 3),
                new Layer.Activation("act", "x", "y", ActivationFn.of(ActivationFn.Kind.LEAKY_RELU, 0.1f, 0f)))));
        SAMPLES.put(Layer.Softmax.class, () -> List.of(unary("a softmax over a middle axis", shape(2, 3, 4),
                new Layer.Softmax("sm", "x", "y", 1, false))));
        SAMPLES.put(Layer.Dropout.class, () -> List.of(unary("a dropout", shape(2, 3), new Layer.Dropout("drop", "x", "y", 0.3f))));
        SAMPLES.put(Layer.Identity.class, () -> List.of(unary("an identity", shape(2, 3), new Layer.Identity("id", "x", "y"))));
        SAMPLES.put(Layer.Binary.class, () -> List.of(binary("a broadcast product", shape(2, 3), shape(3),
                new Layer.Binary("mul", Layer.Binary.Op.MUL, "x", "z", "y"))));
        SAMPLES.put(Layer.MatMul.class, () -> List.of(binary("a matrix product of two run-time values", shape(2, 3), shape(3, 4),
                new Layer.MatMul("mm", "x", "z", "y"))));
        SAMPLES.put(Layer.Concat.class, () -> List.of(binary("a concatenation along axis 1", shape(2, 3), shape(2, 2),
                new Layer.Concat("cat", List.of("x", "z"), "y", 1))));
        SAMPLES.put(Layer.Transpose.class, () -> List.of(unary("a transpose", shape(2, 3, 4),
                new Layer.Transpose("tr", "x", "y", List.of(1, 0, 2)))));
        SAMPLES.put(Layer.Reshape.class, () -> List.of(unary("a reshape keeping axis 0", shape(2, 3, 4),
                new Layer.Reshape("rs", "x", "y", List.of(0L, -1L)))));
        SAMPLES.put(Layer.Flatten.class, () -> List.of(unary("a flatten at axis 1", shape(2, 3, 4), new Layer.Flatten("fl", "x", "y", 1))));
        SAMPLES.put(Layer.Squeeze.class, () -> List.of(unary("a squeeze of axis 1", shape(2, 1, 3),
                new Layer.Squeeze("sq", "x", "y", List.of(1)))));
        SAMPLES.put(Layer.Unsqueeze.class, () -> List.of(unary("an unsqueeze at axis 0", shape(2, 3),
                new Layer.Unsqueeze("usq", "x", "y", List.of(0)))));
        SAMPLES.put(Layer.Select.class, () -> List.of(unary("a selection of the last step", shape(2, 3, 4),
                new Layer.Select("last", "x", "y", 1, -1))));
        SAMPLES.put(Layer.Take.class, () -> List.of(unary("a gather of two positions", shape(2, 3, 4),
                new Layer.Take("take", "x", "y", 1, Tensor.ofLongs(new int[] {2}, new long[] {2, 0})))));
        SAMPLES.put(Layer.Slice.class, () -> List.of(unary("a strided slice", shape(2, 3, 5),
                new Layer.Slice("sl", "x", "y", 2, 1, 5, 2))));
        SAMPLES.put(Layer.LayerNorm.class, () -> List.of(
                unary("a layer norm over the last axis", shape(2, 3, 4), new Layer.LayerNorm("ln", "x", "y", 1e-3f, random(4), random(4))),
                unary("a layer norm with beta only", shape(2, 5), new Layer.LayerNorm("ln", "x", "y", 1e-5f, null, random(5)))));
        SAMPLES.put(Layer.StepMask.class, () -> {
            io.lstmx.ir.samples.Samples.Sample masked = io.lstmx.ir.samples.Samples.masked("masked", "lstm", Direction.BIDIRECTIONAL,
                    Layout.BATCH_MAJOR, true, true);
            return List.of(unary("a mask of steps whose features are all 0, as a model output", shape(2, 3, 4),
                            new Layer.StepMask("mask", "x", "y", 0f, true)),
                    new Sample("a token mask read by a bidirectional LSTM (ONNX has sequence lengths only)", masked.model(), masked.inputs(), false));
        });
        SAMPLES.put(Layer.Cast.class, () -> {
            Model m = new Model("cast", ModelInfo.NONE, List.of(f32("x", 2, 3)), List.of(new ValueInfo("y", DType.INT64, Shape.UNKNOWN)),
                    List.of(new Layer.Cast("cast", "x", "y", DType.INT64)));
            // values away from integers, so truncation toward zero is unambiguous
            Tensor x = Tensor.ofFloats(new int[] {2, 3}, new float[] {-2.7f, -0.4f, 0.3f, 1.6f, 5.5f, -9.25f});
            return List.of(new Sample("a cast to int64", m, Map.of("x", x), true));
        });
    }

    @TestFactory
    Stream<DynamicNode> everyKindOfLayerPassesShapeInferenceRunsNativelyAndIsWrittenOrRefusedByEveryWriter() {
        List<Class<?>> kinds = concreteKinds(Layer.class);
        assertTrue(kinds.size() >= 22, "found only " + kinds + " under Layer");
        List<DynamicNode> nodes = new ArrayList<>();
        for (Class<?> kind : kinds) {
            String name = kind.getSimpleName();
            Supplier<List<Sample>> samples = SAMPLES.get(kind);
            if (samples == null) {
                nodes.add(DynamicTest.dynamicTest(name + " has a sample model", () ->
                        fail("layer kind " + kind.getName() + " has no sample: add one to EveryLayerKindTest.SAMPLES")));
                continue;
            }
            List<DynamicNode> perKind = new ArrayList<>();
            for (Sample s : samples.get()) {
                assertTrue(s.model.layers().stream().anyMatch(kind::isInstance), name + " sample '" + s.description + "' has no " + name);
                perKind.add(DynamicContainer.dynamicContainer(s.description, tests(s)));
            }
            nodes.add(DynamicContainer.dynamicContainer(name + " layers", perKind));
        }
        return nodes.stream();
    }

    /** The concrete classes under a sealed type, recursing into sealed sub-interfaces (such as Layer.Recurrent). */
    private static List<Class<?>> concreteKinds(Class<?> sealed) {
        Set<Class<?>> out = new LinkedHashSet<>();
        for (Class<?> c : sealed.getPermittedSubclasses()) {
            if (c.isSealed()) {
                out.addAll(concreteKinds(c));
            } else {
                out.add(c);
            }
        }
        return List.copyOf(out);
    }

    private Stream<DynamicTest> tests(Sample s) {
        List<DynamicTest> t = new ArrayList<>();
        t.add(DynamicTest.dynamicTest("it passes shape inference, with the shapes the runtime then produces", () -> {
            Map<String, ValueInfo> inferred = ShapeInference.infer(s.model);
            Map<String, Tensor> out = NativeRuntime.compile(s.model).run(s.inputs);
            for (String o : s.model.outputNames()) {
                ValueInfo v = inferred.get(o);
                Tensor actual = out.get(o);
                assertNotNull(actual, "runtime output " + o);
                assertEquals(v.dtype(), actual.dtype(), "dtype of " + o);
                assertTrue(v.shape().accepts(actual.shape()), o + ": inferred " + v.shape() + ", produced " + Arrays.toString(actual.shape()));
                assertTrue(v.shape().dims().stream().allMatch(d -> d instanceof io.lstmx.ir.Dim.Fixed),
                        o + ": the sample's fixed input shapes should fix every output dim, inferred " + v.shape());
            }
        }));
        t.add(DynamicTest.dynamicTest("it runs in the native runtime, leaves its inputs as they were and gives the same outputs again", () -> {
            // The runtime reads float inputs and constants without copying them and hands its
            // output arrays over to the output tensors: no layer may write a value it did not create.
            Map<String, Tensor> before = new LinkedHashMap<>();
            s.inputs.forEach((k, v) -> before.put(k, copy(v)));
            io.lstmx.runtime.CompiledModel compiled = NativeRuntime.compile(s.model);
            Map<String, Tensor> out = compiled.run(s.inputs);
            assertEquals(s.model.outputNames(), new ArrayList<>(out.keySet()));
            Map<String, Tensor> firstOut = new LinkedHashMap<>();
            out.forEach((k, v) -> firstOut.put(k, copy(v)));
            Map<String, Tensor> again = compiled.run(s.inputs);
            for (Map.Entry<String, Tensor> e : before.entrySet()) {
                assertTrue(e.getValue().bitEquals(s.inputs.get(e.getKey())), "input " + e.getKey() + " was changed by the run");
            }
            for (Map.Entry<String, Tensor> e : firstOut.entrySet()) {
                assertTrue(e.getValue().bitEquals(out.get(e.getKey())), "output " + e.getKey() + " of the first run changed during the second");
                assertTrue(e.getValue().bitEquals(again.get(e.getKey())), "output " + e.getKey() + " differs between two runs");
            }
        }));
        for (FormatWriter w : FormatRegistry.standard().writers()) {
            Format f = w.format();
            boolean expectWritten = w.available() && (f != Format.ONNX || s.onnxWrites);
            String what = expectWritten ? "the " + f.id() + " writer writes it" + (f == Format.ONNX ? " and onnxruntime agrees with the native runtime" : "")
                    : "the " + f.id() + " writer refuses it as unsupported (exit status 3)";
            t.add(DynamicTest.dynamicTest(what, () -> write(s, w, expectWritten)));
        }
        return t.stream();
    }

    /** A tensor with the same dtype, shape and values in arrays of its own. */
    private static Tensor copy(Tensor v) {
        return switch (v.dtype()) {
            case FLOAT32 -> Tensor.ofFloats(v.shape(), v.toFloatArray());
            case FLOAT16, BFLOAT16 -> Tensor.ofHalfBits(v.dtype(), v.shape(), v.toHalfBits());
            default -> Tensor.ofLongs(v.dtype(), v.shape(), v.toLongArray());
        };
    }

    private void write(Sample s, FormatWriter w, boolean expectWritten) throws Exception {
        Path folder = Files.createTempDirectory(dir, w.format().id());
        Path target = folder.resolve(w.defaultFileName());
        if (!expectWritten) {
            LstmxException e = org.junit.jupiter.api.Assertions.assertThrows(LstmxException.class,
                    () -> w.write(s.model, target, WriteOptions.DEFAULT));
            assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
            assertEquals(3, e.code().exitStatus());
            return;
        }
        if (w.format() != Format.ONNX) {
            // Other writers express less than the IR (e.g. nn.LSTM has no peepholes): written, or refused
            // as unsupported with exit status 3; their own modules test which and run what they write.
            try {
                w.write(s.model, target, WriteOptions.DEFAULT);
            } catch (LstmxException e) {
                assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
                return;
            }
        } else {
            w.write(s.model, target, WriteOptions.DEFAULT);
        }
        assertTrue(Files.exists(target), "nothing written at " + target);
        if (w.format() == Format.ONNX) {
            Map<String, Tensor> expected = NativeRuntime.compile(s.model).run(s.inputs);
            Map<String, Tensor> ort = OnnxRuntimeReference.run(target, s.inputs);
            for (String o : s.model.outputNames()) {
                Tensor a = ort.get(o);
                assertNotNull(a, "onnxruntime output " + o + " in " + ort.keySet());
                assertEquals(expected.get(o).dtype().isFloating(), a.dtype().isFloating(), o + " element type");
                TestFiles.assertClose(a, expected.get(o), Tolerance.DEFAULT, s.description + " output " + o + " (onnxruntime vs native runtime)");
            }
        }
    }

    // ------------------------------------------------------------------ samples

    private static List<Sample> constants() {
        Tensor v = random(2, 3);
        return List.of(
                new Sample("a float32 constant", model(List.of(), "y", new Layer.Constant("c", "y", v)), Map.of(), true),
                new Sample("a float16 constant (widened when compiled and written)",
                        model(List.of(), "y", new Layer.Constant("c", "y", v.withDType(DType.FLOAT16))), Map.of(), true),
                new Sample("a bfloat16 constant added to an input", model(List.of(f32("x", 2, 3)), "y",
                        new Layer.Constant("c", "k", v.withDType(DType.BFLOAT16)), new Layer.Binary("add", Layer.Binary.Op.ADD, "x", "k", "y")),
                        Map.of("x", random(2, 3)), true));
    }

    private static List<Sample> lstms() {
        int in = 3;
        int h = 4;
        List<Sample> l = new ArrayList<>();
        LstmSpec bi = LstmSpec.standard(in, h, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR).withForgetBias(1f);
        l.add(lstmSample("a bidirectional LSTM with lengths, initial states and a forget bias", bi, true, true, null));
        LstmSpec bm = LstmSpec.standard(in, h, Direction.FORWARD, Layout.BATCH_MAJOR);
        l.add(lstmSample("a batch-major LSTM with bfloat16 weights", bm, false, false, DType.BFLOAT16));
        LstmSpec clipped = LstmSpec.standard(in, h, Direction.FORWARD, Layout.TIME_MAJOR).withCellClip(0.5f);
        Sample c = lstmSample("an LSTM with TensorFlow's cell clip (ONNX cannot express it)", clipped, false, true, null);
        l.add(new Sample(c.description, c.model, c.inputs, false));
        return l;
    }

    private static Sample lstmSample(String description, LstmSpec spec, boolean lengths, boolean states, DType storage) {
        int d = spec.direction().count();
        int h = spec.hiddenSize();
        int in = spec.inputSize();
        List<LstmWeights> w = new ArrayList<>();
        for (int k = 0; k < d; k++) {
            LstmWeights lw = new LstmWeights(random(4 * h, in), random(4 * h, h), random(4 * h), random(4 * h), random(3 * h), null);
            w.add(storage == null ? lw : new LstmWeights(lw.w().withDType(storage), lw.r().withDType(storage), lw.wb().withDType(storage),
                    lw.rb().withDType(storage), lw.peephole().withDType(storage), null));
        }
        Layer.Lstm layer = new Layer.Lstm("lstm", new RecurrentPorts("x", lengths ? "lens" : null, states ? "h0" : null,
                states ? "c0" : null, "y", "yh", "yc"), spec, w, GateOrder.ONNX);
        return recurrentSample(description, layer, lengths, states, true);
    }

    private static List<Sample> grus() {
        int in = 3;
        int h = 4;
        RecurrentSpec spec = new RecurrentSpec(in, h, Direction.REVERSE, Layout.BATCH_MAJOR, null, true,
                List.of(ActivationFn.SIGMOID, ActivationFn.TANH));
        Layer.Gru gru = new Layer.Gru("gru", RecurrentPorts.withoutCell("x", "lens", "h0", "y", "yh"), spec,
                List.of(recurrentWeights(3, h, in, DType.FLOAT16)), GateOrder.Gru.ONNX);
        return List.of(recurrentSample("a reverse batch-major GRU (linear before reset) with float16 weights", gru, true, true, false));
    }

    private static List<Sample> rnns() {
        int in = 3;
        int h = 4;
        RecurrentSpec spec = new RecurrentSpec(in, h, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 2.5f, false,
                List.of(ActivationFn.TANH, ActivationFn.RELU));
        Layer.Rnn rnn = new Layer.Rnn("rnn", RecurrentPorts.withoutCell("x", null, "h0", "y", "yh"), spec,
                List.of(recurrentWeights(1, h, in, null), recurrentWeights(1, h, in, null)));
        return List.of(recurrentSample("a bidirectional RNN with a clip and an initial state", rnn, false, true, false));
    }

    private static RecurrentWeights recurrentWeights(int gates, int h, int in, DType storage) {
        RecurrentWeights w = new RecurrentWeights(random(gates * h, in), random(gates * h, h), random(gates * h), random(gates * h));
        return storage == null ? w : new RecurrentWeights(w.w().withDType(storage), w.r().withDType(storage), w.wb().withDType(storage),
                w.rb().withDType(storage));
    }

    /** A model around one recurrent layer: inputs x (T = 5, B = 3) and the ports it names, outputs all it writes. */
    private static Sample recurrentSample(String description, Layer.Recurrent layer, boolean lengths, boolean states, boolean cell) {
        int t = 5;
        int b = 3;
        int d = layer.direction().count();
        boolean bm = layer.layout() == Layout.BATCH_MAJOR;
        List<ValueInfo> ins = new ArrayList<>();
        Map<String, Tensor> feed = new LinkedHashMap<>();
        int[] xs = bm ? new int[] {b, t, layer.inputSize()} : new int[] {t, b, layer.inputSize()};
        ins.add(f32("x", Arrays.stream(xs).boxed().toArray()));
        feed.put("x", random(xs));
        if (lengths) {
            ins.add(new ValueInfo("lens", DType.INT32, Shape.of(b)));
            feed.put("lens", Tensor.ofLongs(DType.INT32, new int[] {b}, new long[] {5, 2, 3}));
        }
        int[] st = bm ? new int[] {b, d, layer.hiddenSize()} : new int[] {d, b, layer.hiddenSize()};
        if (states) {
            ins.add(f32("h0", Arrays.stream(st).boxed().toArray()));
            feed.put("h0", random(st));
        }
        if (states && cell) {
            ins.add(f32("c0", Arrays.stream(st).boxed().toArray()));
            feed.put("c0", random(st));
        }
        List<ValueInfo> outs = new ArrayList<>();
        for (String o : layer.outputs()) {
            outs.add(new ValueInfo(o, DType.FLOAT32, Shape.UNKNOWN));
        }
        return new Sample(description, new Model(layer.name(), ModelInfo.NONE, ins, outs, List.of(layer)), feed, true);
    }

    // ------------------------------------------------------------------ helpers

    private static final Random RND = new Random(2024);

    private static Tensor random(int... shape) {
        float[] v = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (RND.nextGaussian() * 0.6);
        }
        return Tensor.ofFloats(shape, v);
    }

    private static ValueInfo f32(String name, Object... dims) {
        return new ValueInfo(name, DType.FLOAT32, Shape.of(dims));
    }

    private static int[] shape(int... shape) {
        return shape;
    }

    private static Model model(List<ValueInfo> inputs, String output, Layer... layers) {
        return new Model("sample", ModelInfo.NONE, inputs, List.of(new ValueInfo(output, DType.FLOAT32, Shape.UNKNOWN)), List.of(layers));
    }

    /** One float input x of the given shape, output y. */
    private static Sample unary(String description, int[] shape, Layer layer) {
        Model m = model(List.of(f32("x", Arrays.stream(shape).boxed().toArray())), "y", layer);
        return new Sample(description, m, Map.of("x", random(shape)), true);
    }

    /** Float inputs x and z of the given shapes, output y. */
    private static Sample binary(String description, int[] x, int[] z, Layer layer) {
        Model m = model(List.of(f32("x", Arrays.stream(x).boxed().toArray()), f32("z", Arrays.stream(z).boxed().toArray())), "y", layer);
        Map<String, Tensor> feed = new LinkedHashMap<>();
        feed.put("x", random(x));
        feed.put("z", random(z));
        return new Sample(description, m, feed, true);
    }
}
