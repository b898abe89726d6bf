package io.lstmx.tests;

import io.lstmx.api.Npy;
import io.lstmx.api.Tolerance;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx;

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

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * One framework-made ONNX fixture folder (fixtures/onnx/&lt;tree&gt;/&lt;case&gt;, written by the
 * generate.py scripts there): model.onnx, input_K.npy, output_K.npy with the framework's own
 * outputs. Input and output names come from the ONNX graph (inputs that are not initializers,
 * outputs in order), so input_K.npy / output_K.npy pair with the K-th name.
 */
record FixtureCase(String name, Path model, List<String> inputNames, List<String> outputNames,
                   Map<String, Tensor> inputs, Map<String, Tensor> expected) {

    /** Every case folder under {@code root}, sorted; fails (rather than yielding no tests) when there are none. */
    static List<Path> list(Path root) {
        assertTrue(Files.isDirectory(root), "fixture folder missing: " + root);
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            // Names starting with '_' or '.' are tool caches (e.g. __pycache__), not cases.
            dirs = s.filter(Files::isDirectory)
                    .filter(p -> !p.getFileName().toString().startsWith("_") && !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        } catch (IOException e) {
            throw new AssertionError("cannot list " + root, e);
        }
        assertTrue(!dirs.isEmpty(), "no fixture cases under " + root + "; run " + root.getFileName() + "/generate.py");
        return dirs;
    }

    /** The graph of a model file. */
    static Onnx.GraphProto graph(Path model) throws IOException {
        try (InputStream in = Files.newInputStream(model)) {
            return Onnx.ModelProto.parseFrom(in).getGraph();
        }
    }

    static FixtureCase read(Path dir) throws IOException {
        String name = dir.getFileName().toString();
        Path model = dir.resolve("model.onnx");
        assertTrue(Files.isRegularFile(model), name + ": model.onnx missing in " + dir);
        Onnx.GraphProto graph = graph(model);
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
        return new FixtureCase(name, model, inputNames, outputNames, inputs, expected);
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

    /** Every graph output of {@code engine} matches the framework's within {@link Tolerance#DEFAULT}. */
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
