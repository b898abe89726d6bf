package io.lstmx.tests;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.Npy;
import io.lstmx.api.ReferenceEngine;
import io.lstmx.api.Tolerance;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.ReadOptions;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.references.libtorch.LibtorchEngine;
import io.lstmx.references.onnxruntime.OnnxRuntimeEngine;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Golden parity against PyTorch for TorchScript archives: every folder under
 * fixtures/pytorch/torchscript holds a module traced or scripted by PyTorch 1.13
 * (generate_torchscript.py), its inputs and PyTorch's own outputs. lstmx reads each archive's code
 * and must reproduce PyTorch's numbers; the IR it reads must then run the same in onnxruntime
 * (written as ONNX) and in libtorch 2.7 (written back as TorchScript).
 */
class TorchScriptFixturesTest {
    /** Cases the reader is proved on; each must be present, traced and scripted. */
    private static final List<String> REQUIRED = List.of("lstm_uni_y", "lstm_uni_tuple", "lstm_bidirectional_2layer_batch_first",
            "lstm_3layer", "lstm_proj", "lstm_no_bias", "lstm_no_bias_initial_state", "lstm_2layer_initial_state",
            "lstm_bidirectional_initial_state_batch_first", "lstm_single_step_state", "embedding_classifier", "two_recurrent_dense",
            "gru_bidirectional_batch_first", "gru_initial_state", "rnn_tanh", "rnn_relu_bidirectional", "lstm_cell_loop",
            "ops_around_lstm", "lstm_layer_norm", "lstm_layer_norm_plain");

    @TempDir
    Path tmp;

    private static Path root() {
        return TestFiles.fixtures().resolve("pytorch/torchscript");
    }

    /** A fixture folder: its archive, inputs in forward's order and PyTorch's outputs in return order. */
    record Case(String name, Path model, List<String> inputNames, List<Tensor> inputs, List<Tensor> expected, JsonObject json) {
        static Case read(Path dir) throws IOException {
            JsonObject c = PytorchStateDictFixturesTest.caseJson(dir);
            List<String> names = new ArrayList<>();
            List<Tensor> inputs = new ArrayList<>();
            for (JsonElement e : c.getAsJsonArray("inputs")) {
                names.add(e.getAsJsonObject().get("name").getAsString());
                inputs.add(Npy.read(dir.resolve(e.getAsJsonObject().get("file").getAsString())));
            }
            List<Tensor> expected = new ArrayList<>();
            for (JsonElement e : c.getAsJsonArray("outputs")) {
                expected.add(Npy.read(dir.resolve(e.getAsJsonObject().get("file").getAsString())));
            }
            Path model = c.has("source") ? TestFiles.shared().resolve(c.get("source").getAsString()) : dir.resolve("model.pt");
            return new Case(dir.getFileName().toString(), model, names, inputs, expected, c);
        }

        Map<String, Tensor> named(List<String> modelInputs) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            for (int i = 0; i < inputs.size(); i++) {
                m.put(modelInputs.get(i), inputs.get(i));
            }
            return m;
        }

        /** Outputs in model order against PyTorch's, position by position. */
        void assertOutputs(List<String> order, Map<String, Tensor> actual, String engine) {
            assertEquals(expected.size(), order.size(), name + ": " + engine + " output count, outputs " + order);
            for (int k = 0; k < expected.size(); k++) {
                Tensor a = actual.get(order.get(k));
                if (a == null) {
                    fail(name + ": " + engine + " gave no output '" + order.get(k) + "'; it gave " + actual.keySet());
                }
                Tolerance.Report r = Tolerance.DEFAULT.compare(a, expected.get(k));
                if (!r.ok()) {
                    fail(name + ": " + engine + " output " + k + " ('" + order.get(k) + "') differs from PyTorch's: " + r.detail());
                }
            }
        }
    }

    private static List<Case> cases() throws IOException {
        List<Case> out = new ArrayList<>();
        for (Path dir : FixtureCase.list(root())) {
            out.add(Case.read(dir));
        }
        out.add(Case.read(TestFiles.fixtures().resolve("pytorch/real/nh_lstm_torchscript")));
        return out;
    }

    @Test
    void everyRequiredCaseIsPresentTracedAndScripted() {
        Set<String> names = new HashSet<>();
        FixtureCase.list(root()).forEach(p -> names.add(p.getFileName().toString()));
        for (String r : REQUIRED) {
            for (String mode : List.of("_traced", "_scripted")) {
                assertTrue(names.contains(r + mode), "fixture case '" + r + mode + "' missing under " + root()
                        + "; run generate_torchscript.py there");
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> everyArchiveRunsAsPytorchRanIt() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases()) {
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                assertEquals(Format.TORCHSCRIPT, Lstmx.detect(c.model()), "detected by content");
                LoadedModel m = Lstmx.load(c.model());
                assertEquals(c.inputNames(), m.model().inputNames(), "inputs are forward's parameters, in order");
                c.assertOutputs(m.model().outputNames(), m.run(c.named(m.model().inputNames())), "lstmx");
            }));
        }
        return tests.stream();
    }

    /** A module written out as nn.LSTM and friends is read as recurrent layers, one per stacked layer, never unrolled. */
    @TestFactory
    Stream<DynamicTest> recurrentModulesBecomeRecurrentLayers() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Case c : cases()) {
            if (c.name().startsWith("lstm_cell_loop_traced")) {
                continue; // trace unrolled that loop into T cells of arithmetic: read as it is
            }
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                Model m = Lstmx.read(c.model(), null);
                long recurrent = m.layers().stream().filter(l -> l instanceof Layer.Recurrent).count();
                assertTrue(recurrent >= 1, c.name() + ": no recurrent layer in " + m.layers().stream().map(Layer::kind).toList());
                assertTrue(recurrent <= 6, c.name() + ": " + recurrent + " recurrent layers (unrolled?)");
            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> everyArchiveConvertedToOnnxRunsInOnnxruntimeAsPytorchRanIt() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        ReferenceEngine ort = new OnnxRuntimeEngine();
        for (Case c : cases()) {
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                Model m = Lstmx.read(c.model(), null);
                Path onnx = tmp.resolve(c.name() + ".onnx");
                if (c.name().startsWith("lstm_proj")) {
                    // ONNX's LSTM has no projection (proj_size): refused by name, nothing written.
                    LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.save(m, onnx, Format.ONNX));
                    assertEquals(ErrorCode.UNSUPPORTED, e.code());
                    assertTrue(e.getMessage().contains("projection") && e.getMessage().contains("proj_size"), e.getMessage());
                    assertFalse(Files.exists(onnx));
                    return;
                }
                Lstmx.save(m, onnx, Format.ONNX);
                try (ReferenceEngine.Session s = ort.open(onnx, Format.ONNX)) {
                    c.assertOutputs(s.outputNames(), s.run(c.named(s.inputNames())), "onnxruntime");
                }
            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> everyArchiveWrittenBackAsTorchScriptRunsInLibtorchAsPytorchRanIt() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        ReferenceEngine libtorch = new LibtorchEngine();
        for (Case c : cases()) {
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                Model m = Lstmx.read(c.model(), null);
                Path pt = tmp.resolve(c.name() + ".pt");
                Lstmx.save(m, pt, Format.TORCHSCRIPT);
                try (ReferenceEngine.Session s = libtorch.open(pt, Format.TORCHSCRIPT)) {
                    Map<String, Tensor> out = s.run(c.named(s.inputNames()));
                    c.assertOutputs(new ArrayList<>(out.keySet()), out, "libtorch (lstmx's archive)");
                }
                LoadedModel again = Lstmx.load(pt);
                c.assertOutputs(again.model().outputNames(), again.run(c.named(again.model().inputNames())), "lstmx (its own archive)");
            }));
        }
        return tests.stream();
    }

    /** Traced and scripted archives of one module (same seed, same weights) are read as the same network. */
    @TestFactory
    Stream<DynamicTest> tracedAndScriptedTwinsHoldTheSameWeights() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String r : REQUIRED) {
            if (r.equals("lstm_cell_loop")) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest(r, () -> {
                Model traced = Lstmx.read(root().resolve(r + "_traced/model.pt"), null);
                Model scripted = Lstmx.read(root().resolve(r + "_scripted/model.pt"), null);
                List<Tensor> a = weights(traced);
                List<Tensor> b = weights(scripted);
                assertEquals(a.size(), b.size(), r + ": weight tensors");
                for (int i = 0; i < a.size(); i++) {
                    assertTrue(a.get(i).bitEquals(b.get(i)), r + ": weight " + i);
                }
            }));
        }
        return tests.stream();
    }

    private static List<Tensor> weights(Model m) {
        List<Tensor> out = new ArrayList<>();
        for (Layer l : m.layers()) {
            if (!(l instanceof Layer.Constant)) {
                out.addAll(l.tensors());
            }
        }
        return out;
    }

    /**
     * The real nh-libtorch model ships as a scripted archive and as a state_dict of the same
     * training: both must hold the same LSTM and head, and give the same prediction from zero states.
     */
    @Test
    void theRealTorchScriptModelAndItsStateDictTwinAgree() throws IOException {
        Path ts = TestFiles.shared().resolve("real-models/pytorch/jmframe__nh-libtorch/lstm_torchscript/lstm.ptc");
        Path sdDir = TestFiles.fixtures().resolve("pytorch/real/nh_lstm_state_dict");
        JsonObject sdCase = PytorchStateDictFixturesTest.caseJson(sdDir);
        Path sd = TestFiles.shared().resolve(sdCase.get("source").getAsString());
        ReadOptions hints = PytorchStateDictFixturesTest.options(sdCase.getAsJsonObject("hints"));
        Model script = Lstmx.read(ts, null);
        Model dict = Lstmx.read(sd, null, hints);
        Layer.Lstm a = (Layer.Lstm) script.layers().stream().filter(l -> l instanceof Layer.Lstm).findFirst().orElseThrow();
        Layer.Lstm b = (Layer.Lstm) dict.layers().stream().filter(l -> l instanceof Layer.Lstm).findFirst().orElseThrow();
        List<Tensor> ta = a.tensors();
        List<Tensor> tb = b.tensors();
        assertEquals(ta.size(), tb.size());
        for (int i = 0; i < ta.size(); i++) {
            assertTrue(ta.get(i).bitEquals(tb.get(i)), "LSTM tensor " + i);
        }
        // One step from zero states: the archive's prediction equals the state_dict network's output.
        Tensor x = Npy.read(TestFiles.fixtures().resolve("pytorch/real/nh_lstm_torchscript/input_0.npy"));
        Tensor zeros = Tensor.zeros(1, 1, 64);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("input_layer", x);
        in.put("h_t", zeros);
        in.put("c_t", zeros);
        Tensor p1 = Lstmx.load(ts).run(in).get(script.outputNames().get(0));
        Tensor p2 = Lstmx.load(sd, null, hints).run(Map.of(dict.inputNames().get(0), x.reshape(1, 1, 11))).get(dict.outputNames().get(0));
        Tolerance.Report r = Tolerance.DEFAULT.compare(p1.reshape(p2.shape()), p2);
        assertTrue(r.ok(), r.detail());
    }
}
