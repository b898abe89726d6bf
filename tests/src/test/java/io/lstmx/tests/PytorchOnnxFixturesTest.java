package io.lstmx.tests;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Golden parity against PyTorch: every folder under fixtures/onnx/pytorch holds a model exported by
 * torch.onnx, test inputs and the outputs PyTorch itself computed (see generate.py there). lstmx
 * must reproduce PyTorch's numbers from the ONNX file alone; onnxruntime is run on the same files
 * to prove each fixture is self-consistent, so a failure of the first kind points at lstmx.
 * The folders under fixtures/onnx/variants are the same kind of case with the weights re-stored
 * by the onnx library (external data file, float16 or float64 initializers behind a Cast) and are
 * checked the same way. The folders under fixtures/onnx/packed hold PyTorch's variable-length idiom
 * (pack_padded_sequence with enforce_sorted=False around nn.LSTM, lengths as a second input), whose
 * export sorts the batch by length with TopK/Gather and unsorts the results with a
 * ScatterElements-built inverse permutation around LSTM nodes fed sequence_lens.
 */
class PytorchOnnxFixturesTest {

    /** Cases the rest of the project relies on by name (the README walk-through uses the last). */
    private static final List<String> REQUIRED_CASES = List.of("uni_1layer", "bidirectional", "stacked_bidirectional",
            "initial_state", "embedding_lm", "dynamic_axes_resized", "sample_classifier");

    /** Cases under fixtures/onnx/variants, each with the storage property it exists for. */
    private static final List<String> REQUIRED_VARIANTS = List.of("external_data", "float16_weights", "float64_weights");

    /** Cases under fixtures/onnx/packed. */
    private static final List<String> REQUIRED_PACKED = List.of("uni_batch_first", "bidirectional_2layer", "embedding_classifier");

    private static Path fixtureRoot() {
        return TestFiles.fixtures().resolve("onnx").resolve("pytorch");
    }

    private static Path variantRoot() {
        return TestFiles.fixtures().resolve("onnx").resolve("variants");
    }

    private static Path packedRoot() {
        return TestFiles.fixtures().resolve("onnx").resolve("packed");
    }

    /** The case folders of all fixture trees, PyTorch's first. */
    private static List<Path> cases() {
        List<Path> all = new ArrayList<>(cases(fixtureRoot()));
        all.addAll(cases(variantRoot()));
        all.addAll(cases(packedRoot()));
        return all;
    }

    /** Test name: the folder, prefixed by its tree for the variants and packed cases. */
    private static String display(Path dir) {
        String name = dir.getFileName().toString();
        if (dir.getParent().equals(variantRoot())) {
            return "variants/" + name;
        }
        return dir.getParent().equals(packedRoot()) ? "packed/" + name : name;
    }

    /** Every case folder under {@code root}, sorted; fails (rather than yielding no tests) when there are none. */
    private static List<Path> cases(Path root) {
        return FixtureCase.list(root);
    }

    @Test
    void requiredCasesArePresent() {
        Set<String> names = new HashSet<>();
        for (Path p : cases(fixtureRoot())) {
            names.add(p.getFileName().toString());
        }
        for (String required : REQUIRED_CASES) {
            assertTrue(names.contains(required), "fixture case '" + required + "' missing under " + fixtureRoot());
        }
    }

    /**
     * The variants must really store their weights as claimed, or the parity tests below would
     * silently fall back to covering plain float32 initializers.
     */
    @Test
    void variantsStoreTheirWeightsAsDescribed() throws IOException {
        Set<String> names = new HashSet<>();
        for (Path p : cases(variantRoot())) {
            names.add(p.getFileName().toString());
        }
        assertTrue(names.containsAll(REQUIRED_VARIANTS), "variant cases " + REQUIRED_VARIANTS + " expected under " + variantRoot() + ", found " + names);

        Onnx.GraphProto external = graph(variantRoot().resolve("external_data").resolve("model.onnx"));
        assertTrue(external.getInitializerCount() > 0, "external_data: no initializers");
        for (Onnx.TensorProto t : external.getInitializerList()) {
            assertEquals(Onnx.TensorProto.DataLocation.EXTERNAL, t.getDataLocation(), "external_data: initializer '" + t.getName() + "' location");
            assertTrue(!t.hasRawData(), "external_data: initializer '" + t.getName() + "' also has raw_data");
            assertTrue(t.getExternalDataList().stream().anyMatch(e -> e.getKey().equals("location") && e.getValue().equals("weights.bin")),
                    "external_data: initializer '" + t.getName() + "' is not in weights.bin: " + t.getExternalDataList());
        }
        assertTrue(Files.isRegularFile(variantRoot().resolve("external_data").resolve("weights.bin")), "external_data: weights.bin missing");

        assertCastWeights("float16_weights", Onnx.TensorProto.DataType.FLOAT16_VALUE);
        assertCastWeights("float64_weights", Onnx.TensorProto.DataType.DOUBLE_VALUE);
    }

    /**
     * A Cast of a stored weight is folded at import: the LSTM layers carry the weights as
     * constants (one IR LSTM per LSTM node) and no Cast layer is left for run time.
     */
    @Test
    void castWeightsFoldToConstants() throws IOException {
        for (String name : List.of("float16_weights", "float64_weights")) {
            Path file = variantRoot().resolve(name).resolve("model.onnx");
            Model model = OnnxImporter.load(file, java.util.Map.of());
            List<Layer> casts = model.layers().stream().filter(l -> l instanceof Layer.Cast).toList();
            assertTrue(casts.isEmpty(), name + ": Cast layers left after import: " + casts);
            long lstmNodes = graph(file).getNodeList().stream().filter(n -> n.getOpType().equals("LSTM")).count();
            assertEquals(lstmNodes, model.layers().stream().filter(l -> l instanceof Layer.Lstm).count(), name + ": IR LSTM layers");
        }
    }

    /**
     * The packed cases must really be PyTorch's packed export (or the parity tests would cover a
     * plain LSTM): every LSTM node has sequence_lens, and TopK/ScatterElements sort and unsort the
     * batch. After import each LSTM keeps its run-time sequence lengths, and no layer is left that
     * moves batch rows (the sort and the unsort cancel, see PackedSequenceRewrite).
     */
    @Test
    void packedCasesAreThePackedExport() throws IOException {
        Set<String> names = new HashSet<>();
        for (Path p : cases(packedRoot())) {
            names.add(p.getFileName().toString());
        }
        assertTrue(names.containsAll(REQUIRED_PACKED), "packed cases " + REQUIRED_PACKED + " expected under " + packedRoot() + ", found " + names);
        for (String name : REQUIRED_PACKED) {
            Path file = packedRoot().resolve(name).resolve("model.onnx");
            Onnx.GraphProto g = graph(file);
            List<String> ops = g.getNodeList().stream().map(Onnx.NodeProto::getOpType).toList();
            assertTrue(ops.contains("TopK") && ops.contains("ScatterElements"), name + ": no sort/unsort in " + ops);
            assertEquals("lengths", g.getInput(1).getName(), name + ": second graph input");
            assertEquals(Onnx.TensorProto.DataType.INT64_VALUE, g.getInput(1).getType().getTensorType().getElemType(), name + ": lengths type");
            List<Onnx.NodeProto> lstmNodes = g.getNodeList().stream().filter(n -> n.getOpType().equals("LSTM")).toList();
            assertTrue(!lstmNodes.isEmpty(), name + ": no LSTM node");
            for (Onnx.NodeProto n : lstmNodes) {
                assertTrue(n.getInputCount() > 4 && !n.getInput(4).isEmpty(), name + ": LSTM node '" + n.getName() + "' has no sequence_lens");
            }

            Model model = OnnxImporter.load(file, java.util.Map.of());
            List<Layer.Lstm> lstms = model.layers().stream().filter(l -> l instanceof Layer.Lstm).map(l -> (Layer.Lstm) l).toList();
            assertTrue(!lstms.isEmpty(), name + ": no IR LSTM");
            for (Layer.Lstm l : lstms) {
                assertNotNull(l.sequenceLengths(), name + ": IR LSTM '" + l.name() + "' lost its sequence lengths");
            }
            List<Layer> moves = model.layers().stream().filter(l -> l instanceof Layer.Take).toList();
            assertTrue(moves.isEmpty(), name + ": batch-moving layers left after import: " + moves);
        }
    }

    /** Every initializer has element type {@code type} and feeds a Cast to FLOAT (and nothing else). */
    private static void assertCastWeights(String name, int type) throws IOException {
        Onnx.GraphProto g = graph(variantRoot().resolve(name).resolve("model.onnx"));
        assertTrue(g.getInitializerCount() > 0, name + ": no initializers");
        for (Onnx.TensorProto t : g.getInitializerList()) {
            assertEquals(type, t.getDataType(), name + ": element type of initializer '" + t.getName() + "'");
            List<Onnx.NodeProto> users = g.getNodeList().stream().filter(n -> n.getInputList().contains(t.getName())).toList();
            assertEquals(1, users.size(), name + ": consumers of '" + t.getName() + "'");
            assertEquals("Cast", users.get(0).getOpType(), name + ": consumer of '" + t.getName() + "'");
            assertEquals(List.of((long) Onnx.TensorProto.DataType.FLOAT_VALUE),
                    users.get(0).getAttributeList().stream().filter(a -> a.getName().equals("to")).map(Onnx.AttributeProto::getI).toList(),
                    name + ": Cast of '" + t.getName() + "' target");
        }
        assertTrue(g.getNodeList().stream().anyMatch(n -> n.getOpType().equals("LSTM")), name + ": no LSTM node");
    }

    private static Onnx.GraphProto graph(Path model) throws IOException {
        return FixtureCase.graph(model);
    }

    @TestFactory
    Stream<DynamicTest> lstmxMatchesPytorch() {
        return cases().stream().map(dir -> DynamicTest.dynamicTest(display(dir), () -> {
            FixtureCase f = FixtureCase.read(dir);
            Model model = OnnxImporter.load(f.model(), java.util.Map.of());
            assertEquals(f.inputNames(), model.inputNames(), f.name() + ": imported model inputs");
            assertEquals(f.outputNames(), model.outputNames(), f.name() + ": imported model outputs");
            CompiledModel compiled = NativeRuntime.compile(model);
            Map<String, Tensor> actual = compiled.run(f.inputs());
            f.assertOutputs(actual, "lstmx");
        }));
    }

    /** Sanity of the fixtures themselves: an independent ONNX engine agrees with PyTorch. */
    @TestFactory
    Stream<DynamicTest> onnxruntimeMatchesPytorch() {
        return cases().stream().map(dir -> DynamicTest.dynamicTest(display(dir), () -> {
            FixtureCase f = FixtureCase.read(dir);
            Map<String, Tensor> actual = OnnxRuntimeReference.run(f.model(), f.inputs());
            f.assertOutputs(actual, "onnxruntime");
        }));
    }
}
