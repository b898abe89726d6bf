package io.lstmx.tests;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.ReferenceEngine;
import io.lstmx.api.Tolerance;
import io.lstmx.formats.Format;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.references.libtorch.LibtorchEngine;
import io.lstmx.references.onnxruntime.OnnxRuntimeEngine;
import io.lstmx.references.tensorflow.TensorFlowEngine;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Conversions to and from TensorFlow SavedModels, each checked against the framework that made the
 * source: (a) PyTorch-exported ONNX fixtures written as SavedModels, run by TensorFlow 2.18 (TF
 * Java) and read back by lstmx, against PyTorch's outputs, the read-back recurrent layers being
 * recurrent layers again (BlockLSTM ops and While loops recognised, not unrolled); (b) TorchScript
 * fixtures written as SavedModels, run by TensorFlow and read back by lstmx (GRU, RNN and projected
 * LSTM layers are While loops there), against PyTorch's outputs; (c) real Keras
 * SavedModels written as ONNX (onnxruntime) and TorchScript (libtorch), against TensorFlow's run
 * of the original; (d) real Keras .h5/.keras files written as SavedModels, run by TensorFlow,
 * against lstmx's own run of the Keras file.
 */
class SavedModelConversionsTest {
    @TempDir
    Path tmp;

    private static final TensorFlowEngine TF = new TensorFlowEngine();

    private static Map<String, Tensor> run(ReferenceEngine engine, Path model, Format format, Map<String, Tensor> in) {
        try (ReferenceEngine.Session s = engine.open(model, format)) {
            Map<String, Tensor> out = s.run(in);
            Map<String, Tensor> ordered = new LinkedHashMap<>();
            for (String n : s.outputNames()) {
                ordered.put(n, out.get(n));
            }
            return ordered;
        } catch (Exception e) {
            throw e instanceof RuntimeException r ? r : new RuntimeException(e);
        }
    }

    /** Outputs position by position (the SavedModel's are output_0, output_1, ...). */
    private static void assertSame(List<Tensor> expected, List<Tensor> actual, String what) {
        assertEquals(expected.size(), actual.size(), what + ": output count");
        for (int k = 0; k < expected.size(); k++) {
            Tolerance.Report r = Tolerance.DEFAULT.compare(actual.get(k), expected.get(k));
            if (!r.ok()) {
                fail(what + ": output " + k + " differs: " + r.detail());
            }
        }
    }

    private static List<Tensor> values(Map<String, Tensor> m, List<String> order) {
        List<Tensor> out = new ArrayList<>();
        for (String n : order) {
            assertTrue(m.containsKey(n), "no output '" + n + "' in " + m.keySet());
            out.add(m.get(n));
        }
        return out;
    }

    /** Recurrent directions (the reader gives a bidirectional layer back as two one-direction layers). */
    private static long recurrent(Model m) {
        return m.layers().stream().filter(l -> l instanceof Layer.Recurrent).mapToLong(l -> ((Layer.Recurrent) l).direction().count()).sum();
    }

    @TestFactory
    Stream<DynamicTest> onnxFixturesAsSavedModelsRunInTensorFlowAndReadBack() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : FixtureCase.list(TestFiles.fixtures().resolve("onnx/pytorch"))) {
            FixtureCase c = FixtureCase.read(dir);
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                Model m = Lstmx.read(c.model(), Format.ONNX);
                Path sm = tmp.resolve(c.name());
                Lstmx.save(m, sm, Format.SAVEDMODEL);
                List<Tensor> expected = values(c.expected(), c.outputNames());
                assertSame(expected, new ArrayList<>(run(TF, sm, Format.SAVEDMODEL, c.inputs()).values()), c.name() + " in TensorFlow");
                LoadedModel back = Lstmx.load(sm, Format.SAVEDMODEL);
                assertEquals(recurrent(m), recurrent(back.model()), c.name() + ": recurrent directions read back as recurrent layers");
                assertSame(expected, values(back.run(c.inputs()), back.model().outputNames()), c.name() + " read back by lstmx");
            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> torchScriptFixturesAsSavedModelsRunInTensorFlowAndReadBack() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : FixtureCase.list(TestFiles.fixtures().resolve("pytorch/torchscript"))) {
            TorchScriptFixturesTest.Case c = TorchScriptFixturesTest.Case.read(dir);
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                Model m = Lstmx.read(c.model(), Format.TORCHSCRIPT);
                Path sm = tmp.resolve(c.name());
                Lstmx.save(m, sm, Format.SAVEDMODEL);
                Map<String, Tensor> out = run(TF, sm, Format.SAVEDMODEL, c.named(m.inputNames()));
                assertSame(c.expected(), new ArrayList<>(out.values()), c.name() + " in TensorFlow");
                if (c.name().startsWith("ops_around_lstm")) {
                    return; // its reshapes to two run-time sizes taken from other values are not read back yet
                }
                // read back: BlockLSTM ops and the While loops of GRU, RNN and projected LSTM layers as recurrent layers again,
                // and the writer's spelt-out layer norms (Mean, Sub, Mul, Mean, Add, Rsqrt, Mul) as layer norms
                LoadedModel back = Lstmx.load(sm, Format.SAVEDMODEL);
                assertEquals(recurrent(m), recurrent(back.model()), c.name() + ": recurrent directions read back as recurrent layers");
                assertEquals(layerNorms(m), layerNorms(back.model()), c.name() + ": layer norms read back as layer norms");
                assertSame(c.expected(), values(back.run(c.named(m.inputNames())), back.model().outputNames()),
                        c.name() + " read back by lstmx");
                if (layerNorms(m) > 0) {
                    // the gamma and beta that follow a spelt-out layer norm are its own again, so ONNX's
                    // LayerNormalization (opset 17) can be written from the read-back model
                    assertEquals(gammas(m), gammas(back.model()), c.name() + ": read-back layer norms' gammas");
                    Path onnx = tmp.resolve(c.name() + "-back.onnx");
                    Lstmx.save(back.model(), onnx, Format.ONNX);
                    assertSame(c.expected(), new ArrayList<>(run(new OnnxRuntimeEngine(), onnx, Format.ONNX, c.named(m.inputNames())).values()),
                            c.name() + " read back, written as ONNX, in onnxruntime");
                }
            }));
        }
        return tests.stream();
    }

    /** Each layer norm's gamma (a unit scale where it has none), in order. */
    private static List<List<Float>> gammas(Model m) {
        List<List<Float>> out = new ArrayList<>();
        for (io.lstmx.ir.Layer l : m.layers()) {
            if (l instanceof io.lstmx.ir.Layer.LayerNorm n) {
                List<Float> g = new ArrayList<>();
                for (int i = 0; i < n.features(); i++) {
                    g.add(n.gamma() == null ? 1f : n.gamma().getFloat(i));
                }
                out.add(g);
            }
        }
        return out;
    }

    /** How many layer norms a model has. */
    private static long layerNorms(Model m) {
        return m.layers().stream().filter(l -> l instanceof io.lstmx.ir.Layer.LayerNorm).count();
    }

    /** Seeded inputs for a model: open dimensions become batch 2 (first axis) and 5 (others). */
    static Map<String, Tensor> inputs(Model m, long seed) {
        Random rnd = new Random(seed);
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (ValueInfo v : m.inputs()) {
            int[] shape = new int[v.shape().rank()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = v.shape().dim(i) instanceof Dim.Fixed f ? (int) f.size() : i == 0 ? 2 : 5;
            }
            float[] f = new float[Tensor.elementCount(shape)];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) rnd.nextGaussian();
            }
            in.put(v.name(), Tensor.ofFloats(shape, f));
        }
        return in;
    }

    private static List<Path> realModels(String kind, String... names) throws IOException {
        Path root = TestFiles.shared().resolve("real-models/" + kind);
        assertTrue(Files.isDirectory(root), "missing " + root);
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root, 4)) {
            s.filter(p -> {
                String f = p.getFileName().toString();
                for (String n : names) {
                    if (n.equals("saved_model.pb") ? Files.isRegularFile(p.resolve("saved_model.pb")) : f.endsWith(n) && Files.isRegularFile(p)) {
                        return true;
                    }
                }
                return false;
            }).sorted().forEach(out::add);
        }
        assertTrue(!out.isEmpty(), "no models under " + root);
        return out;
    }

    @TestFactory
    Stream<DynamicTest> realKerasSavedModelsAsOnnxAndTorchScript() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        Path shared = TestFiles.shared();
        for (Path p : realModels("tensorflow", "saved_model.pb")) {
            tests.add(DynamicTest.dynamicTest(shared.relativize(p).toString(), () -> {
                LoadedModel m = Lstmx.load(p, Format.SAVEDMODEL);
                Map<String, Tensor> in = inputs(m.model(), 7);
                List<Tensor> expected = new ArrayList<>(run(TF, p, Format.SAVEDMODEL, in).values());
                Path onnx = tmp.resolve(p.getFileName() + ".onnx");
                Lstmx.save(m.model(), onnx, Format.ONNX);
                assertSame(expected, new ArrayList<>(run(new OnnxRuntimeEngine(), onnx, Format.ONNX, in).values()), p + " as ONNX in onnxruntime");
                Path pt = tmp.resolve(p.getFileName() + ".pt");
                Lstmx.save(m.model(), pt, Format.TORCHSCRIPT);
                assertSame(expected, new ArrayList<>(run(new LibtorchEngine(), pt, Format.TORCHSCRIPT, in).values()), p + " as TorchScript in libtorch");
            }));
        }
        return tests.stream();
    }

    /**
     * Keras files whose recurrent layers read per-step masks (Embedding mask_zero, Masking,
     * Bidirectional, go_backwards, zero_output_for_mask) or start from initial_state tensors, as
     * SavedModels (masked layers are StatelessWhile loops): TensorFlow gives lstmx's outputs of the
     * Keras file (which the Keras reader's tests hold to a float64 implementation of Keras), on inputs
     * with masked steps: rows pre-padded, post-padded, with holes, masked throughout.
     */
    @TestFactory
    Stream<DynamicTest> maskedAndInitialStateKerasFilesAsSavedModelsRunInTensorFlow() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String f : List.of("mask_zero_lstm", "mask_zero_bidi", "masking_gru_backwards", "mask_zero_output", "initial_state_lstm",
                "initial_state_seq2seq", "initial_state_bidi_masked", "initial_state_gru")) {
            for (String ext : List.of(".h5", ".keras")) {
                Path p = TestFiles.fixtures().resolve("keras/" + f + ext);
                tests.add(DynamicTest.dynamicTest(f + ext, () -> {
                    LoadedModel m = Lstmx.load(p);
                    Map<String, Tensor> in = maskedInputs(m.model());
                    List<Tensor> expected = values(m.run(in), m.model().outputNames());
                    Path sm = tmp.resolve(f + ext + ".savedmodel");
                    Lstmx.save(m.model(), sm, Format.SAVEDMODEL);
                    assertSame(expected, new ArrayList<>(run(TF, sm, Format.SAVEDMODEL, in).values()), p + " as a SavedModel in TensorFlow");
                }));
            }
        }
        return tests.stream();
    }

    /**
     * The LSTM cell forms TensorFlow made (fixtures/tensorflow: LSTMBlockCell unrolled and in a loop,
     * TF1 cells in loops and unrolled, a TensorList loop), read as one LSTM layer each, written as ONNX (run in
     * onnxruntime) and as TorchScript (run in libtorch), against TensorFlow's stored outputs. ONNX has
     * no cell clip: forms with TensorFlow's cell_clip are refused (UNSUPPORTED, naming it) rather
     * than written without it.
     */
    @TestFactory
    Stream<DynamicTest> tensorFlowCellFormsAsOnnxAndTorchScript() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : List.of("lstm_block_cell_unrolled", "lstm_block_cell_while", "tf1_cell_while", "tf1_cell_peephole_clip_while",
                "tf1_cell_peephole_clip_unrolled", "tf1_cell_unrolled", "tensorlist_while")) {
            tests.add(DynamicTest.dynamicTest(name, () -> {
                Path dir = TestFiles.fixtures().resolve("tensorflow").resolve(name);
                LoadedModel m = Lstmx.load(dir.resolve("model.pb"));
                assertEquals(1, m.model().layers().stream().filter(l -> l instanceof Layer.Recurrent).count(), name + ": one recurrent layer");
                Layer.Lstm lstm = (Layer.Lstm) m.model().layers().stream().filter(l -> l instanceof Layer.Lstm).findFirst().orElseThrow();
                Map<String, Tensor> in = Map.of(m.model().inputs().get(0).name(), io.lstmx.api.Npy.read(dir.resolve("input.npy")));
                List<Tensor> expected = List.of(io.lstmx.api.Npy.read(dir.resolve("expected.npy")));
                Path onnx = tmp.resolve(name + ".onnx");
                if (lstm.spec().cellClip() != null) {
                    io.lstmx.errors.LstmxException e = org.junit.jupiter.api.Assertions.assertThrows(io.lstmx.errors.LstmxException.class,
                            () -> Lstmx.save(m.model(), onnx, Format.ONNX));
                    assertEquals(io.lstmx.errors.ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
                    assertTrue(e.getMessage().contains("cell clip"), e.getMessage());
                } else {
                    Lstmx.save(m.model(), onnx, Format.ONNX);
                    assertSame(expected, new ArrayList<>(run(new OnnxRuntimeEngine(), onnx, Format.ONNX, in).values()), name + " as ONNX in onnxruntime");
                }
                Path pt = tmp.resolve(name + ".pt");
                Lstmx.save(m.model(), pt, Format.TORCHSCRIPT);
                assertSame(expected, new ArrayList<>(run(new LibtorchEngine(), pt, Format.TORCHSCRIPT, in).values()), name + " as TorchScript in libtorch");
            }));
        }
        return tests.stream();
    }

    /** Batch 5, 5 steps; the first input's rows 1-4 masked (pre, post, holes, throughout) with 0, the mask value of the fixtures. */
    static Map<String, Tensor> maskedInputs(Model m) {
        Random rnd = new Random(3);
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (ValueInfo v : m.inputs()) {
            boolean first = v == m.inputs().get(0);
            int[] shape = new int[v.shape().rank()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = v.shape().dim(i) instanceof Dim.Fixed f ? (int) f.size() : i == 0 ? 5 : 5;
            }
            boolean ids = first && shape.length == 2;
            float[] d = new float[Tensor.elementCount(shape)];
            for (int i = 0; i < d.length; i++) {
                d[i] = ids ? 1 + rnd.nextInt(8) : (float) rnd.nextGaussian();
            }
            if (first) {
                io.lstmx.ir.samples.Samples.maskSteps(d, shape[0], shape[1], shape.length == 3 ? shape[2] : 1, 0f);
            }
            in.put(v.name(), Tensor.ofFloats(shape, d));
        }
        return in;
    }

    @TestFactory
    Stream<DynamicTest> realKerasFilesAsSavedModelsRunInTensorFlow() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        Path shared = TestFiles.shared();
        for (Path p : realModels("keras", ".h5", ".keras")) {
            tests.add(DynamicTest.dynamicTest(shared.relativize(p).toString(), () -> {
                LoadedModel m = Lstmx.load(p);
                Map<String, Tensor> in = inputs(m.model(), 11);
                List<Tensor> expected = values(m.run(in), m.model().outputNames());
                Path sm = tmp.resolve(p.getFileName() + ".savedmodel");
                Lstmx.save(m.model(), sm, Format.SAVEDMODEL);
                assertSame(expected, new ArrayList<>(run(TF, sm, Format.SAVEDMODEL, in).values()), p + " as a SavedModel in TensorFlow");
            }));
        }
        return tests.stream();
    }
}
