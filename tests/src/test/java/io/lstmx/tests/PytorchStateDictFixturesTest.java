package io.lstmx.tests;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.Npy;
import io.lstmx.api.Tolerance;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.ReadOptions;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

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
 * Golden parity against PyTorch for torch.save files: every folder under fixtures/pytorch holds a
 * network saved by PyTorch 1.13 as state_dicts and whole pickled modules, in the zip and the legacy
 * layout, with a test input and PyTorch's own outputs (see generate.py there). lstmx reads each file
 * with the read hints its case.json names and must reproduce PyTorch's numbers. The folders under
 * fixtures/pytorch/real hold PyTorch's outputs for files of ../shared/real-models/pytorch, read the
 * same way from where they are.
 */
class PytorchStateDictFixturesTest {
    /** Cases the importer's rules are proved on; each must be present. */
    private static final List<String> REQUIRED = List.of("lstm_uni", "lstm_bidirectional_2layer", "lstm_3layer_batch_first",
            "lstm_proj", "lstm_no_bias", "gru_bidirectional_batch_first", "rnn_tanh", "rnn_relu_bidirectional",
            "embedding_classifier", "two_recurrent_dense", "batchnorm_head", "batchnorm_eps_module", "time_major_every_step",
            "shared_storage_views", "checkpoint_dict", "layernorm_around_lstm", "layernorm_state_dict", "layernorm_no_affine_module");

    private static Path root() {
        return TestFiles.fixtures().resolve("pytorch");
    }

    private static List<Path> cases() {
        return FixtureCase.list(root()).stream().filter(p -> !Set.of("real", "torchscript").contains(p.getFileName().toString())).toList();
    }

    static JsonObject caseJson(Path dir) throws IOException {
        return JsonParser.parseString(Files.readString(dir.resolve("case.json"))).getAsJsonObject();
    }

    static ReadOptions options(JsonObject hints) {
        ReadOptions o = ReadOptions.DEFAULT;
        for (Map.Entry<String, JsonElement> e : hints.entrySet()) {
            o = o.withHint(e.getKey(), e.getValue().getAsString());
        }
        return o;
    }

    /** The expected outputs by name, in case.json's order. */
    static Map<String, Tensor> expected(Path dir, JsonObject c) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (JsonElement o : c.getAsJsonArray("outputs")) {
            JsonObject out = o.getAsJsonObject();
            m.put(out.get("name").getAsString(), Npy.read(dir.resolve(out.get("file").getAsString())));
        }
        return m;
    }

    /** Runs {@code m} on the case's input and compares every output with PyTorch's. */
    static void assertMatchesPytorch(LoadedModel m, Path dir, JsonObject c, String what) {
        Tensor x = Npy.read(dir.resolve("input_0.npy"));
        Map<String, Tensor> expected = expected(dir, c);
        assertEquals(List.copyOf(expected.keySet()), m.model().outputNames(), what + ": outputs");
        Map<String, Tensor> actual = m.run(Map.of(m.model().inputNames().get(0), x));
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            Tolerance.Report r = Tolerance.DEFAULT.compare(actual.get(e.getKey()), e.getValue());
            if (!r.ok()) {
                fail(what + ": output '" + e.getKey() + "' differs from PyTorch's: " + r.detail());
            }
        }
    }

    /**
     * A LayerNorm without tensors (elementwise_affine=False, visible only in a pickled module) is
     * read with a unit scale, as torch.layer_norm in TorchScript is: its size is then known, and
     * ONNX (whose LayerNormalization needs a scale) writes it.
     */
    @Test
    void aLayerNormWithoutTensorsIsReadWithAUnitScaleThatWritersCanSize(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Path file = root().resolve("layernorm_no_affine_module/module.pt");
        Model m = Lstmx.read(file, null, ReadOptions.DEFAULT.withHint("last-step", "true"));
        Layer.LayerNorm ln = (Layer.LayerNorm) m.layers().stream().filter(l -> l instanceof Layer.LayerNorm).findFirst().orElseThrow();
        assertEquals(12, ln.features());
        for (float g : ln.gamma().toFloatArray()) {
            assertEquals(1f, g);
        }
        assertEquals(null, ln.beta());
        Path out = tmp.resolve("model.onnx");
        Lstmx.save(m, out, Format.ONNX);
        assertTrue(Files.size(out) > 0);
    }

    @Test
    void everyRequiredCaseIsPresent() {
        Set<String> names = new HashSet<>();
        cases().forEach(p -> names.add(p.getFileName().toString()));
        for (String r : REQUIRED) {
            assertTrue(names.contains(r), "fixture case '" + r + "' missing under " + root() + "; run generate.py there");
        }
    }

    @TestFactory
    Stream<DynamicTest> everyFileOfEveryCaseRunsAsPytorchRanIt() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : cases()) {
            JsonObject c = caseJson(dir);
            for (JsonElement f : c.getAsJsonArray("files")) {
                JsonObject file = f.getAsJsonObject();
                Path p = dir.resolve(file.get("file").getAsString());
                String name = dir.getFileName() + "/" + p.getFileName() + " (" + file.get("layout").getAsString() + " "
                        + file.get("content").getAsString() + ", hints " + file.getAsJsonObject("hints").keySet() + ")";
                tests.add(DynamicTest.dynamicTest(name, () -> {
                    assertEquals(Format.PYTORCH_STATE_DICT, Lstmx.detect(p), "detected by content");
                    LoadedModel m = Lstmx.load(p, null, options(file.getAsJsonObject("hints")));
                    assertMatchesPytorch(m, dir, c, name);
                }));
            }
        }
        return tests.stream();
    }

    /**
     * Where a case holds one network in several files (zip and legacy, state_dict and module), each
     * file must give the same IR weights bit for bit, not merely outputs within tolerance.
     */
    @TestFactory
    Stream<DynamicTest> theFilesOfOneCaseHoldTheSameWeights() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : cases()) {
            JsonObject c = caseJson(dir);
            if (c.getAsJsonArray("files").size() < 2) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
                List<Tensor> first = null;
                String firstName = null;
                for (JsonElement f : c.getAsJsonArray("files")) {
                    JsonObject file = f.getAsJsonObject();
                    Model m = Lstmx.read(dir.resolve(file.get("file").getAsString()), null, options(file.getAsJsonObject("hints")));
                    List<Tensor> tensors = new ArrayList<>();
                    m.layers().forEach(l -> tensors.addAll(l.tensors()));
                    if (first == null) {
                        first = tensors;
                        firstName = file.get("file").getAsString();
                        continue;
                    }
                    assertEquals(first.size(), tensors.size(), file.get("file") + " vs " + firstName);
                    for (int i = 0; i < tensors.size(); i++) {
                        assertTrue(first.get(i).bitEquals(tensors.get(i)), file.get("file") + " vs " + firstName + ": tensor " + i);
                    }
                }
            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> realFilesRunAsPytorchRunsTheNetworkTheyDescribe() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : FixtureCase.list(root().resolve("real"))) {
            JsonObject c = caseJson(dir);
            if (!c.has("hints")) {
                continue; // a TorchScript archive's case (TorchScriptFixturesTest)
            }
            Path source = TestFiles.shared().resolve(c.get("source").getAsString());
            tests.add(DynamicTest.dynamicTest("real/" + dir.getFileName() + " hints " + c.getAsJsonObject("hints").keySet(), () -> {
                assertTrue(Files.isRegularFile(source), "missing " + source);
                LoadedModel m = Lstmx.load(source, null, options(c.getAsJsonObject("hints")));
                assertMatchesPytorch(m, dir, c, source.toString());
            }));
        }
        return tests.stream();
    }

    private static Path real(String relative) {
        return TestFiles.shared().resolve("real-models/pytorch").resolve(relative);
    }

    /**
     * The zip and legacy files of the energy model are two training runs of one network: lstmx must
     * infer the same network from both (layer by layer, kind, sizes and layout), with other weights.
     */
    @Test
    void theZipAndLegacyTwinsOfTheEnergyModelAreReadAsOneNetwork() {
        ReadOptions o = ReadOptions.DEFAULT.withHint("batch-first", "true").withHint("last-step", "true");
        Model zip = Lstmx.read(real("iamirmasoud__energy_consumption_prediction/models_lstm_model_zip/lstm_model.pt"), null, o);
        Model legacy = Lstmx.read(real("iamirmasoud__energy_consumption_prediction/root_lstm_model_legacy/lstm_model.pt"), null, o);
        assertEquals(signature(zip), signature(legacy));
        String inferred = "inferred: lstm: LSTM(5, 256, num_layers=2) -> [last step] -> fc: Linear(256, 1)";
        assertTrue(zip.info().detail().contains(inferred) && legacy.info().detail().contains(inferred), zip.info().detail());
        assertTrue(zip.info().detail().contains("zip") && legacy.info().detail().contains("legacy"), legacy.info().detail());
        // The ReLU the original applies is named, as a module the file cannot place.
        assertTrue(zip.info().detail().contains("not applied") && zip.info().detail().contains("relu"), zip.info().detail());
        assertFalse(zip.layers().get(0).tensors().get(0).bitEquals(legacy.layers().get(0).tensors().get(0)), "two training runs");
    }

    private static List<String> signature(Model m) {
        List<String> s = new ArrayList<>();
        for (Layer l : m.layers()) {
            List<String> shapes = new ArrayList<>();
            l.tensors().forEach(t -> shapes.add(java.util.Arrays.toString(t.shape())));
            s.add(l.name() + " " + l.kind() + " " + shapes);
        }
        return s;
    }

    /**
     * The Lofi model's state_dict lists fc (128 -> 324) before batchnorm (128); in key order the
     * BatchNorm would follow fc's 324 features, and without --last-step it would normalise a
     * sequence: refused either way, naming the BatchNorm's keys.
     */
    @Test
    void theLofiModelWhoseBatchNormComesAfterItsHeadInKeyOrderIsRefusedNamingItsKeys() {
        Path p = real("Rivridis__Lofi-Generator/lstm_model_pt_head/lstm_model.pt");
        for (ReadOptions o : List.of(ReadOptions.DEFAULT, ReadOptions.DEFAULT.withHint("batch-first", "true").withHint("last-step", "true"))) {
            LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.read(p, null, o));
            assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("batchnorm.running_mean") && e.getMessage().contains("batchnorm.num_batches_tracked"),
                    e.getMessage());
        }
        LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.read(p, null,
                ReadOptions.DEFAULT.withHint("batch-first", "true").withHint("last-step", "true")));
        assertTrue(e.getMessage().contains("324"), "says why it cannot follow fc: " + e.getMessage());
    }

    /**
     * The whole pickled LSTMFCN: its class (models.LSTMFCN) cannot be imported and is not needed;
     * the pickle is read as attribute bags, and the network is refused for its Conv1d branch, named
     * by its keys, not for any global.
     */
    @Test
    void theWholePickledLstmFcnIsReadAsAttributeBagsAndRefusedForItsConvolutions() {
        Path p = real("BernhardRuhm__Bachelor-Thesis/lstm_fcn_full_module_pickle/lstm_fcn");
        LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.read(p, null,
                ReadOptions.DEFAULT.withHint("last-step", "true")));
        assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("conv1.weight") && e.getMessage().contains("torch.nn.modules.conv.Conv1d"), e.getMessage());
        assertFalse(e.getMessage().contains("allow-list"), e.getMessage());
    }

    @Test
    void aBatchFirstStateDictReadWithoutTheHintIsTimeMajorAndSaysWhichOptionChangesIt() throws IOException {
        Path p = root().resolve("lstm_3layer_batch_first/state_dict.pt");
        Model m = Lstmx.read(p, null, ReadOptions.DEFAULT);
        assertEquals("[time, batch, 4]", m.inputs().get(0).shape().toString());
        assertTrue(m.info().detail().contains("--batch-first"), m.info().detail());
        Model hinted = Lstmx.read(p, null, ReadOptions.DEFAULT.withHint("batch-first", "true"));
        assertEquals("[batch, time, 4]", hinted.inputs().get(0).shape().toString());
        // The pickled module says batch_first itself; a hint contradicting it is an error.
        Path module = root().resolve("lstm_3layer_batch_first/module.pt");
        assertEquals("[batch, time, 4]", Lstmx.read(module, null, ReadOptions.DEFAULT).inputs().get(0).shape().toString());
        LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.read(module, null,
                ReadOptions.DEFAULT.withHint("batch-first", "false")));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("batch_first=True"), e.getMessage());
    }

    @Test
    void withoutLastStepTheHeadAppliesToEveryStepAndTheDetailSaysSo() {
        Path p = root().resolve("embedding_classifier/state_dict.pt");
        Model every = Lstmx.read(p, null, ReadOptions.DEFAULT.withHint("batch-first", "true"));
        assertEquals("[batch, time, 4]", every.outputs().get(0).shape().toString());
        assertTrue(every.info().detail().contains("--last-step"), every.info().detail());
        Model last = Lstmx.read(p, null, ReadOptions.DEFAULT.withHint("batch-first", "true").withHint("last-step", "true"));
        assertEquals("[batch, 4]", last.outputs().get(0).shape().toString());
        assertTrue(last.layers().get(0) instanceof Layer.Embedding, "the weight alone before the LSTM is an Embedding");
    }
}
