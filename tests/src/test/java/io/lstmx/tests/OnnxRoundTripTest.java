package io.lstmx.tests;

import io.lstmx.api.Npy;
import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.exporters.onnx.OnnxExporter;
import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.onnx.proto.Onnx.TensorShapeProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * ONNX -> IR -> ONNX. For the hand-written node models, the PyTorch fixtures and the real ONNX
 * models in ../shared: the exported file has exactly one LSTM / GRU / RNN node per IR layer of that
 * kind, their weights W, R, B (and P) are bit-identical to the source's, and onnxruntime gives the
 * same outputs on the exported file as on the source (as does the native runtime).
 */
class OnnxRoundTripTest {
    @TempDir
    Path dir;

    @TestFactory
    Stream<DynamicTest> nodeModels() {
        return LstmNodeCase.all().stream().map(c -> DynamicTest.dynamicTest(c.name, () -> {
            Path src = c.write(dir);
            Map<String, Tensor> expected = c.expected(dir);
            roundTrip(c.name, src, c.opset, c.inputs(), expected);
        }));
    }

    /** The GRU and RNN node models of {@link GruRnnNodeParityTest#all()}. */
    @TestFactory
    Stream<DynamicTest> gruRnnNodeModels() {
        return GruRnnNodeParityTest.all().stream().map(c -> DynamicTest.dynamicTest(c.name, () -> {
            Path src = c.write(dir);
            Map<String, Tensor> expected = c.expected(dir);
            roundTrip(c.name, src, c.opset, c.inputs(), expected);
        }));
    }

    /** The PyTorch GRU and RNN fixtures under fixtures/onnx/pytorch-gru-rnn. */
    @TestFactory
    Stream<DynamicTest> pytorchGruRnnFixtures() throws IOException {
        return fixtureCases("pytorch-gru-rnn");
    }

    /** Every case folder under fixtures/onnx/pytorch (whatever exists: a new case is covered without edits). */
    @TestFactory
    Stream<DynamicTest> pytorchFixtures() throws IOException {
        return fixtureCases("pytorch");
    }

    /**
     * The same for fixtures/onnx/variants (weights in an external file, or float16/float64 behind a
     * Cast): the export holds them as float32 initializers, with exactly the source's values.
     */
    @TestFactory
    Stream<DynamicTest> variantFixtures() throws IOException {
        return fixtureCases("variants");
    }

    /**
     * The same for fixtures/onnx/packed (PyTorch's pack_padded_sequence export, lengths as an int64
     * input): the export carries the run-time sequence lengths without the sort/unsort.
     */
    @TestFactory
    Stream<DynamicTest> packedFixtures() throws IOException {
        return fixtureCases("packed");
    }

    private Stream<DynamicTest> fixtureCases(String tree) throws IOException {
        Path root = TestFiles.fixtures().resolve("onnx").resolve(tree);
        List<Path> cases;
        try (Stream<Path> s = Files.list(root)) {
            cases = s.filter(p -> Files.isRegularFile(p.resolve("model.onnx"))).sorted().toList();
        }
        assertTrue(!cases.isEmpty(), "no fixture cases with model.onnx under " + root);
        return cases.stream().map(d -> DynamicTest.dynamicTest(d.getFileName().toString(), () -> {
            Path src = d.resolve("model.onnx");
            List<String> inputNames = runtimeInputs(read(src).getGraph());
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            for (int k = 0; k < inputNames.size(); k++) {
                inputs.put(inputNames.get(k), Npy.read(d.resolve("input_" + k + ".npy")));
            }
            Map<String, Tensor> expected = OnnxRuntimeReference.run(src, inputs);
            Map<String, Tensor> exported = roundTrip(d.getFileName().toString(), src, opsetOf(src), inputs, expected);
            // The PyTorch module's own outputs, stored beside the model, must hold for the exported file too.
            // A case made by a generator (case.json) has them for every output: a missing one is an error, not a skip.
            boolean generated = Files.isRegularFile(d.resolve("case.json"));
            int k = 0;
            int checked = 0;
            for (String out : expected.keySet()) {
                Path npy = d.resolve("output_" + k++ + ".npy");
                if (generated) {
                    assertTrue(Files.isRegularFile(npy), d.getFileName() + ": case.json is there but " + npy.getFileName() + " is missing");
                }
                if (Files.isRegularFile(npy)) {
                    TestFiles.assertClose(exported.get(out), Npy.read(npy), d.getFileName() + ": exported output '" + out + "' vs PyTorch");
                    checked++;
                }
            }
            assertTrue(!generated || checked > 0, d.getFileName() + ": no PyTorch output was compared");
        }));
    }

    /** The ONNX files torch.onnx exported from trained models (../shared/real-models/onnx), on seeded inputs. */
    @TestFactory
    Stream<DynamicTest> realModels() {
        List<Path> files = TestFiles.find(TestFiles.shared().resolve("real-models").resolve("onnx"), ".onnx");
        return files.stream().map(src -> DynamicTest.dynamicTest(src.getParent().getFileName().toString(), () -> {
            GraphProto g = read(src).getGraph();
            Random rnd = new Random(11);
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            for (String name : runtimeInputs(g)) {
                ValueInfoProto v = g.getInputList().stream().filter(i -> i.getName().equals(name)).findFirst().orElseThrow();
                List<TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
                int[] shape = dims.stream().mapToInt(dd -> dd.hasDimValue() ? (int) dd.getDimValue() : 2).toArray();
                float[] x = new float[Tensor.elementCount(shape)];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                inputs.put(name, Tensor.ofFloats(shape, x));
            }
            Map<String, Tensor> expected = OnnxRuntimeReference.run(src, inputs);
            roundTrip(src.getFileName().toString(), src, opsetOf(src), inputs, expected);
        }));
    }

    /** The default opset (17) from an opset-14 source: re-targeting must not change a single weight bit or output. */
    @Test
    void retargetingTheOpsetKeepsWeightsAndOutputs() throws IOException {
        for (LstmNodeCase c : LstmNodeCase.all()) {
            if (!c.name.startsWith("bidirectional_states_peepholes") && !c.name.startsWith("layout1_reverse")) {
                continue;
            }
            Path src = c.write(dir);
            Map<String, Tensor> expected = c.expected(dir);
            for (int opset : new int[] {0, 7, 22}) {
                roundTrip(c.name + " -> opset " + opset, src, opset, c.inputs(), expected);
            }
        }
    }

    /**
     * Imports {@code src}, exports it at {@code opset}, and checks the exported file; returns
     * onnxruntime's outputs on the exported file.
     */
    private Map<String, Tensor> roundTrip(String what, Path src, int opset, Map<String, Tensor> inputs, Map<String, Tensor> expected)
            throws IOException {
        Model ir = OnnxImporter.load(src, java.util.Map.of());
        Path out = dir.resolve(src.getFileName().toString().replace(".onnx", "") + "_" + Math.abs(what.hashCode()) + "_rt.onnx");
        OnnxExporter.save(ir, out, opset, false);

        ModelProto source = read(src);
        ModelProto exported = read(out);
        for (String op : List.of("LSTM", "GRU", "RNN")) {
            Class<? extends Layer> kind = switch (op) {
                case "LSTM" -> Layer.Lstm.class;
                case "GRU" -> Layer.Gru.class;
                default -> Layer.Rnn.class;
            };
            List<NodeProto> srcNodes = nodes(source, op);
            List<NodeProto> outNodes = nodes(exported, op);
            long irLayers = ir.layers().stream().filter(kind::isInstance).count();
            assertEquals(srcNodes.size(), irLayers, what + ": IR " + op + " layers vs source " + op + " nodes");
            assertEquals(irLayers, outNodes.size(), what + ": exported " + op + " nodes vs IR " + op + " layers");
            for (int i = 0; i < srcNodes.size(); i++) {
                compareWeights(what + " " + op + " #" + i, op, source, src.getParent(), srcNodes.get(i), exported, out.getParent(),
                        outNodes.get(i));
            }
        }
        for (NodeProto n : exported.getGraph().getNodeList()) {
            assertTrue(!Set.of("Loop", "Scan").contains(n.getOpType()), what + ": exported graph has a " + n.getOpType());
        }

        Map<String, Tensor> ort = OnnxRuntimeReference.run(out, inputs);
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(ort.keySet()), what + ": exported graph outputs");
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            TestFiles.assertClose(ort.get(e.getKey()), e.getValue(), what + ": onnxruntime on the exported file, output '" + e.getKey() + "'");
        }
        Map<String, Tensor> nativeOut = NativeRuntime.compile(ir).run(inputs);
        Map<String, Tensor> nativeReimported = NativeRuntime.compile(OnnxImporter.load(out, java.util.Map.of())).run(inputs);
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            assertNotNull(nativeOut.get(e.getKey()), what + ": native runtime lacks output " + e.getKey());
            TestFiles.assertClose(nativeOut.get(e.getKey()), e.getValue(), what + ": native runtime, output '" + e.getKey() + "'");
            TestFiles.assertClose(nativeReimported.get(e.getKey()), e.getValue(),
                    what + ": native runtime on the re-imported export, output '" + e.getKey() + "'");
        }
        return ort;
    }

    private static void compareWeights(String what, String op, ModelProto src, Path srcDir, NodeProto s, ModelProto out, Path outDir,
                                       NodeProto o) {
        int dirs = direction(s).equals("bidirectional") ? 2 : 1;
        assertEquals(direction(s), direction(o), what + ": direction");
        long h = intAttr(s, "hidden_size");
        assertEquals(h, intAttr(o, "hidden_size"), what + ": hidden_size");
        boolean lstm = op.equals("LSTM");
        int gates = lstm ? 4 : op.equals("GRU") ? 3 : 1;
        if (op.equals("GRU")) {
            assertEquals(intAttrOr(s, "linear_before_reset", 0), intAttrOr(o, "linear_before_reset", 0), what + ": linear_before_reset");
        }
        String[] names = lstm ? new String[] {"W", "R", "B", "P"} : new String[] {"W", "R", "B"};
        int[] slots = {1, 2, 3, 7};
        int[][] absentShape = {null, null, {dirs, (int) (2 * gates * h)}, {dirs, (int) (3 * h)}};
        for (int k = 0; k < names.length; k++) {
            Tensor a = weight(src, srcDir, s, slots[k], absentShape[k], what + " source " + names[k]);
            Tensor b = weight(out, outDir, o, slots[k], absentShape[k], what + " exported " + names[k]);
            if (!a.bitEquals(b)) {
                fail(what + ": exported " + names[k] + " " + b + " is not bit-identical to the source's " + a);
            }
        }
    }

    /**
     * The constant at input slot {@code slot} of the node (initializer, possibly in an external file
     * under {@code dir}, or Constant node, possibly behind a Cast to FLOAT); zeros when absent.
     */
    private static Tensor weight(ModelProto m, Path dir, NodeProto n, int slot, int[] absentShape, String what) {
        String name = slot < n.getInputCount() ? n.getInput(slot) : "";
        if (name.isEmpty()) {
            assertNotNull(absentShape, what + " is missing");
            return Tensor.zeros(absentShape);
        }
        return constant(m, dir, name, what);
    }

    private static Tensor constant(ModelProto m, Path dir, String name, String what) {
        for (TensorProto t : m.getGraph().getInitializerList()) {
            if (t.getName().equals(name)) {
                // float16/double initializers are read as their float32 values, which is what the
                // graph computes with after its Cast to FLOAT.
                return OnnxTensors.toTensor(t, dir, what).withDType(io.lstmx.ir.DType.FLOAT32);
            }
        }
        for (NodeProto c : m.getGraph().getNodeList()) {
            if (c.getOpType().equals("Cast") && c.getOutputList().contains(name)) {
                long to = c.getAttributeList().stream().filter(a -> a.getName().equals("to")).mapToLong(AttributeProto::getI).findFirst().orElse(-1);
                assertEquals(TensorProto.DataType.FLOAT_VALUE, (int) to, what + ": '" + name + "' is a Cast to a type other than FLOAT");
                return constant(m, dir, c.getInput(0), what);
            }
        }
        for (NodeProto c : m.getGraph().getNodeList()) {
            if (c.getOpType().equals("Constant") && c.getOutputList().contains(name)) {
                for (AttributeProto a : c.getAttributeList()) {
                    if (a.getName().equals("value")) {
                        return OnnxTensors.toTensor(a.getT(), null, what);
                    }
                }
            }
        }
        throw new AssertionError(what + ": '" + name + "' is neither an initializer nor a Constant");
    }

    private static String direction(NodeProto n) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("direction")) {
                return a.getS().toStringUtf8();
            }
        }
        return "forward";
    }

    private static long intAttrOr(NodeProto n, String name, long dflt) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return dflt;
    }

    private static long intAttr(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        throw new AssertionError(n.getOpType() + " node '" + n.getName() + "' has no " + name);
    }

    private static List<NodeProto> nodes(ModelProto m, String op) {
        return m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).toList();
    }

    private static ModelProto read(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            return ModelProto.parseFrom(in);
        }
    }

    private static int opsetOf(Path p) throws IOException {
        return read(p).getOpsetImportList().stream().filter(o -> o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx"))
                .mapToInt(o -> (int) o.getVersion()).findFirst().orElseThrow();
    }

    /** Graph inputs that are not initializers, in order. */
    private static List<String> runtimeInputs(GraphProto g) {
        Set<String> inits = new HashSet<>();
        g.getInitializerList().forEach(t -> inits.add(t.getName()));
        List<String> l = new ArrayList<>();
        for (ValueInfoProto v : g.getInputList()) {
            if (!inits.contains(v.getName())) {
                l.add(v.getName());
            }
        }
        return l;
    }
}
