package io.lstmx.exporters.tensorflow;

import io.lstmx.ir.samples.Golden;

import io.lstmx.api.ReferenceEngine;
import io.lstmx.formats.Format;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.references.tensorflow.TensorFlowEngine;
import io.lstmx.runtime.NativeRuntime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Writes IR models as SavedModels and runs them in TensorFlow (the reference engine) against the native runtime. */
final class Tf {
    private Tf() {
    }

    /** Writes {@code m} into a fresh folder under {@code dir}, returns the SavedModel folder. */
    static Path write(Path dir, Model m) throws Exception {
        Path sm = Files.createTempDirectory(dir, "sm").resolve("saved_model");
        new SavedModelWriter().write(m, sm, WriteOptions.DEFAULT);
        return sm;
    }

    /** Writes {@code m}, runs it in TensorFlow and in the native runtime on {@code inputs}, compares every output. */
    static Path check(Path dir, Model m, Map<String, Tensor> inputs) throws Exception {
        Path sm = write(dir, m);
        Map<String, Tensor> expected = NativeRuntime.compile(m).run(inputs);
        runAndCompare(sm, Format.SAVEDMODEL, m, inputs, expected, "the signature's outputs", "TensorFlow vs native runtime");
        checkGraphDef(dir, m, inputs, expected);
        return sm;
    }

    /**
     * The same model as a frozen GraphDef: TensorFlow runs it (inputs by their Placeholder names,
     * outputs output_0, ...) with the native runtime's outputs, and nothing but those outputs is a
     * terminal node.
     */
    static void checkGraphDef(Path dir, Model m, Map<String, Tensor> inputs, Map<String, Tensor> expected) throws Exception {
        Path pb = Files.createTempDirectory(dir, "gd").resolve("model.pb");
        new GraphDefWriter().write(m, pb, WriteOptions.DEFAULT);
        runAndCompare(pb, Format.TF_GRAPHDEF, m, inputs, expected, "the frozen graph's terminal nodes are its outputs, in order",
                "TensorFlow on the GraphDef vs native runtime");
    }

    /**
     * Opens {@code file} in TensorFlow, checks that its outputs are output_0.. ({@code outputsWhat}),
     * runs it on the model's inputs and compares each output with {@code expected} ({@code versus}).
     */
    private static void runAndCompare(Path file, Format format, Model m, Map<String, Tensor> inputs, Map<String, Tensor> expected,
            String outputsWhat, String versus) throws Exception {
        try (ReferenceEngine.Session s = new TensorFlowEngine().open(file, format)) {
            List<String> names = new ArrayList<>();
            for (int k = 0; k < m.outputs().size(); k++) {
                names.add("output_" + k);
            }
            assertEquals(names, s.outputNames(), outputsWhat);
            Map<String, Tensor> in = new LinkedHashMap<>();
            for (String n : m.inputNames()) {
                in.put(n, inputs.get(n));
            }
            Map<String, Tensor> got = s.run(in);
            for (int k = 0; k < names.size(); k++) {
                String o = m.outputNames().get(k);
                Golden.close(expected.get(o), got.get(names.get(k)), "output " + o + " (" + versus + ")");
            }
        }
    }
}
