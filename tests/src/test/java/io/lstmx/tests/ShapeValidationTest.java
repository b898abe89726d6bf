package io.lstmx.tests;

import com.google.protobuf.ByteString;
import io.lstmx.api.Npy;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Model;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.onnx.proto.Onnx;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Static shape validation on real files. Every fixture's inferred shapes must describe the tensors
 * that actually flow (model outputs as PyTorch computed them in output_K.npy, every intermediate
 * value as the runtime computes it), with each named symbol standing for one size throughout; and a
 * file whose layers do not fit together is refused at import with BAD_INPUT naming the file and
 * the layer.
 */
class ShapeValidationTest {
    @TempDir
    Path tmp;

    @TestFactory
    Stream<DynamicTest> inferredShapesDescribeTheActualTensors() {
        Path onnx = TestFiles.fixtures().resolve("onnx");
        return TestFiles.find(onnx, "model.onnx").stream()
                .filter(m -> Files.exists(m.resolveSibling("input_0.npy")))
                .map(m -> DynamicTest.dynamicTest(onnx.relativize(m.getParent()).toString(), () -> checkFixture(m)));
    }

    private static void checkFixture(Path file) {
        Path dir = file.getParent();
        Model model = OnnxImporter.load(file, java.util.Map.of());
        Map<String, ValueInfo> inferred = ShapeInference.infer(model);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (int k = 0; k < model.inputs().size(); k++) {
            inputs.put(model.inputs().get(k).name(), Npy.read(dir.resolve("input_" + k + ".npy")));
        }
        Map<String, Long> symbols = new HashMap<>();
        // Model outputs against PyTorch's own results.
        for (int k = 0; k < model.outputs().size(); k++) {
            String name = model.outputs().get(k).name();
            int[] expected = Npy.read(dir.resolve("output_" + k + ".npy")).shape();
            check(inferred.get(name), expected, symbols, file);
        }
        // Every value the runtime computes, made visible by declaring all of them outputs.
        List<ValueInfo> all = new ArrayList<>();
        model.layers().forEach(l -> l.outputs().forEach(o -> all.add(new ValueInfo(o, inferred.get(o).dtype(), Shape.UNKNOWN))));
        Model probe = new Model(model.name(), model.info(), model.inputs(), all, model.layers());
        Map<String, Tensor> actual = new HashMap<>(NativeRuntime.compile(probe).run(inputs));
        actual.putAll(inputs);
        assertEquals(inferred.keySet(), actual.keySet(), file + ": every value has an inferred shape");
        for (Map.Entry<String, Tensor> e : actual.entrySet()) {
            check(inferred.get(e.getKey()), e.getValue().shape(), symbols, file);
            assertEquals(inferred.get(e.getKey()).dtype().isFloating(), e.getValue().dtype().isFloating(),
                    file + ": element type of '" + e.getKey() + "'");
        }
    }

    /** Fixed dims must equal, a named symbol must be the same size wherever it appears. */
    private static void check(ValueInfo v, int[] actual, Map<String, Long> symbols, Path file) {
        String what = file + ": value '" + v.name() + "' inferred " + v.shape() + ", actual " + Arrays.toString(actual);
        assertTrue(v.shape().rankKnown(), what + ": the rank must be inferred");
        assertEquals(v.shape().rank(), actual.length, what);
        for (int i = 0; i < actual.length; i++) {
            Dim d = v.shape().dim(i);
            if (d instanceof Dim.Fixed f) {
                assertEquals(f.size(), actual[i], what);
            } else if (!((Dim.Symbolic) d).name().isEmpty()) {
                long size = actual[i];
                long bound = symbols.computeIfAbsent(((Dim.Symbolic) d).name(), n -> size);
                assertEquals(bound, actual[i], what + " (symbol " + d + ")");
            }
        }
    }

    // ---------------------------------------------------------------- inconsistent files

    private static Path sampleClassifier() {
        return TestFiles.fixtures().resolve("onnx/pytorch/sample_classifier/model.onnx");
    }

    private static Onnx.ModelProto read(Path p) throws IOException {
        return Onnx.ModelProto.parseFrom(Files.readAllBytes(p));
    }

    @Test
    void gemmWeightNotMatchingTheLstmHiddenSizeIsRefused() throws IOException {
        // The head reads h_n[-1] of LSTM(32 hidden); give it a [4, 31] weight instead of [4, 32].
        Onnx.ModelProto m = read(sampleClassifier());
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        boolean found = false;
        for (int i = 0; i < g.getInitializerCount(); i++) {
            if (g.getInitializer(i).getName().equals("head.weight")) {
                assertEquals(List.of(4L, 32L), g.getInitializer(i).getDimsList(), "fixture as generated");
                g.setInitializer(i, g.getInitializer(i).toBuilder().clearDims().addDims(4).addDims(31)
                        .setRawData(ByteString.copyFrom(new byte[4 * 31 * 4])));
                found = true;
            }
        }
        assertTrue(found, "head.weight initializer");
        Path bad = Files.write(tmp.resolve("gemm_in_dim.onnx"), m.toBuilder().setGraph(g).build().toByteArray());
        LstmxException e = assertThrows(LstmxException.class, () -> io.lstmx.api.Lstmx.read(bad, null));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertTrue(e.getMessage().startsWith(bad.toString() + ": "), "names the file first: " + e.getMessage());
        assertTrue(e.getMessage().contains("/head/Gemm"), "names the layer: " + e.getMessage());
        assertTrue(e.getMessage().contains("32") && e.getMessage().contains("31"), "expected vs found: " + e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    @Test
    void declaredOutputShapeNotMatchingTheGraphIsRefused() throws IOException {
        // probs = softmax(Linear(32, 4)) is [batch, 4]; declare [batch, 5]. Only the whole-graph check sees this.
        Onnx.ModelProto m = read(sampleClassifier());
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        Onnx.ValueInfoProto.Builder out = g.getOutputBuilder(0);
        assertEquals("probs", out.getName());
        out.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder().getDimBuilder(1).setDimValue(5);
        Path bad = Files.write(tmp.resolve("declared_output.onnx"), m.toBuilder().setGraph(g).build().toByteArray());
        LstmxException e = assertThrows(LstmxException.class, () -> io.lstmx.api.Lstmx.read(bad, null));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertEquals(bad + ": model 'torch_jit': output 'probs' is declared [batch, 5], but layer '/Softmax' (Softmax) produces [batch, 4]",
                e.getMessage());
    }
}
