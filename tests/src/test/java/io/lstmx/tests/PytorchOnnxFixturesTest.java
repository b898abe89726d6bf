package io.lstmx.tests;

import io.lstmx.api.Npy;
import io.lstmx.api.OnnxRuntimeReference;
import io.lstmx.api.Tolerance;
import io.lstmx.importers.Importers;
import io.lstmx.ir.Format;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Golden parity against PyTorch: every folder under fixtures/onnx/pytorch holds a model exported by
 * torch.onnx, test inputs and the outputs PyTorch itself computed (see generate.py there). lstmx
 * must reproduce PyTorch's numbers from the ONNX file alone; onnxruntime is run on the same files
 * to prove each fixture is self-consistent, so a failure of the first kind points at lstmx.
 */
class PytorchOnnxFixturesTest {

    /** Cases the rest of the project relies on by name (the README walk-through uses the last). */
    private static final List<String> REQUIRED_CASES = List.of("uni_1layer", "bidirectional", "stacked_bidirectional",
            "initial_state", "embedding_lm", "dynamic_axes_resized", "sample_classifier");

    private static Path fixtureRoot() {
        return TestFiles.fixtures().resolve("onnx").resolve("pytorch");
    }

    /** Every case folder, sorted; fails (rather than yielding no tests) when there are none. */
    private static List<Path> cases() {
        Path root = fixtureRoot();
        assertTrue(Files.isDirectory(root), "PyTorch fixture folder missing: " + root);
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            // Names starting with '_' or '.' are tool caches (e.g. __pycache__), not cases.
            dirs = s.filter(Files::isDirectory)
                    .filter(p -> !p.getFileName().toString().startsWith("_") && !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        } catch (IOException e) {
            throw new AssertionError("cannot list " + root, e);
        }
        assertTrue(!dirs.isEmpty(), "no fixture cases under " + root + "; run fixtures/onnx/pytorch/generate.py");
        return dirs;
    }

    @Test
    void requiredCasesArePresent() {
        Set<String> names = new HashSet<>();
        for (Path p : cases()) {
            names.add(p.getFileName().toString());
        }
        for (String required : REQUIRED_CASES) {
            assertTrue(names.contains(required), "fixture case '" + required + "' missing under " + fixtureRoot());
        }
    }

    @TestFactory
    Stream<DynamicTest> lstmxMatchesPytorch() {
        return cases().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            Fixture f = Fixture.read(dir);
            Model model = Importers.load(f.model(), Format.ONNX);
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
        return cases().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            Fixture f = Fixture.read(dir);
            Map<String, Tensor> actual = OnnxRuntimeReference.run(f.model(), f.inputs());
            f.assertOutputs(actual, "onnxruntime");
        }));
    }

    /**
     * One case folder. Input and output names come from the ONNX graph (inputs that are not
     * initializers, outputs in order), so input_K.npy / output_K.npy pair with the K-th name.
     */
    private record Fixture(String name, Path model, List<String> inputNames, List<String> outputNames,
                           Map<String, Tensor> inputs, Map<String, Tensor> expected) {

        static Fixture read(Path dir) throws IOException {
            String name = dir.getFileName().toString();
            Path model = dir.resolve("model.onnx");
            assertTrue(Files.isRegularFile(model), name + ": model.onnx missing in " + dir);
            Onnx.GraphProto graph;
            try (InputStream in = Files.newInputStream(model)) {
                graph = Onnx.ModelProto.parseFrom(in).getGraph();
            }
            Set<String> initializers = new HashSet<>();
            for (Onnx.TensorProto t : graph.getInitializerList()) {
                initializers.add(t.getName());
            }
            List<String> inputNames = new ArrayList<>();
            for (Onnx.ValueInfoProto v : graph.getInputList()) {
                if (!initializers.contains(v.getName())) {
                    inputNames.add(v.getName());
                }
            }
            List<String> outputNames = graph.getOutputList().stream().map(Onnx.ValueInfoProto::getName).toList();
            assertTrue(!inputNames.isEmpty() && !outputNames.isEmpty(), name + ": graph declares no inputs or no outputs");
            Map<String, Tensor> inputs = numbered(dir, "input_", inputNames);
            Map<String, Tensor> expected = numbered(dir, "output_", outputNames);
            return new Fixture(name, model, inputNames, outputNames, inputs, expected);
        }

        /** Reads prefix0.npy.. for the given names and checks no extra numbered file exists. */
        private static Map<String, Tensor> numbered(Path dir, String prefix, List<String> names) {
            Map<String, Tensor> m = new LinkedHashMap<>();
            for (int k = 0; k < names.size(); k++) {
                Path p = dir.resolve(prefix + k + ".npy");
                assertTrue(Files.isRegularFile(p), dir.getFileName() + ": " + p.getFileName() + " missing for '" + names.get(k) + "'");
                m.put(names.get(k), Npy.read(p));
            }
            Path extra = dir.resolve(prefix + names.size() + ".npy");
            assertTrue(!Files.exists(extra), dir.getFileName() + ": " + extra.getFileName()
                    + " exists but the graph has only " + names.size() + " " + prefix + "values " + names);
            return m;
        }

        void assertOutputs(Map<String, Tensor> actual, String engine) {
            assertNotNull(actual, name + ": " + engine + " returned no outputs");
            for (int k = 0; k < outputNames.size(); k++) {
                String out = outputNames.get(k);
                Tensor a = actual.get(out);
                if (a == null) {
                    fail(name + ": " + engine + " did not return output '" + out + "'; it returned " + actual.keySet());
                }
                Tensor e = expected.get(out);
                Tolerance.Report r = Tolerance.DEFAULT.compare(a, e);
                if (!r.ok()) {
                    String where = r.shapeMatches() ? " at " + Arrays.toString(coordinates(r.worstIndex(), e.shape())) : "";
                    fail(name + ": " + engine + " output '" + out + "' differs from PyTorch (output_" + k + ".npy)"
                            + where + ": " + r.detail());
                }
            }
        }

        /** Row-major flat index to per-axis coordinates, so a failure names the time step and batch row. */
        private static int[] coordinates(int flat, int[] shape) {
            int[] c = new int[shape.length];
            for (int i = shape.length - 1; i >= 0 && flat >= 0; i--) {
                c[i] = shape[i] == 0 ? 0 : flat % shape[i];
                flat = shape[i] == 0 ? 0 : flat / shape[i];
            }
            return c;
        }
    }
}
