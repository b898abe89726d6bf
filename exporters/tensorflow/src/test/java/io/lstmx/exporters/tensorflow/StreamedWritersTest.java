package io.lstmx.exporters.tensorflow;

import io.lstmx.ir.samples.Golden;

import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.importers.onnx.OnnxReader;
import io.lstmx.ir.Model;
import io.lstmx.ir.samples.Samples;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDefLibrary;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The writers never let TensorFlow hold the top-level graph's constants ({@link TfWeights#streamed()})
 * and write them into the file themselves ({@link TfGraphDefStream}); what they write must be what
 * TensorFlow serialises for the same graph with the constants in it: TensorFlow Java's SavedModel
 * exporter, and {@code Graph.toGraphDef()} pruned as the GraphDef writer prunes. For every ONNX
 * fixture (fixtures/onnx) and every IR sample of the other tests of this module, saved_model.pb and
 * model.pb parse to protos equal to TensorFlow's (the nodes of a function body put in name order on
 * both sides: TensorFlow Java lists them in an order that changes from run to run).
 */
class StreamedWritersTest {
    @TempDir
    Path dir;

    @TestFactory
    Stream<DynamicTest> savedModelsAndGraphDefsAreWhatTensorFlowWritesForTheGraphWithItsConstants() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        List<Path> onnx;
        try (Stream<Path> s = Files.walk(Golden.root().resolve("fixtures/onnx"))) {
            onnx = s.filter(p -> p.getFileName().toString().equals("model.onnx")).sorted().toList();
        }
        assertFalse(onnx.isEmpty(), "ONNX fixtures under " + Golden.root().resolve("fixtures/onnx"));
        for (Path p : onnx) {
            String name = Golden.root().resolve("fixtures/onnx").relativize(p.getParent()).toString();
            tests.add(DynamicTest.dynamicTest("ONNX " + name, () -> same(new OnnxReader().read(p, ReadOptions.DEFAULT))));
        }
        List<Samples.Sample> samples = new ArrayList<>(EveryLayerKindTest.samples());
        samples.addAll(RecurrentSavedModelTest.irSamples());
        for (Samples.Sample s : samples) {
            tests.add(DynamicTest.dynamicTest("IR sample: " + s.description(), () -> same(s.model())));
        }
        return tests.stream();
    }

    private void same(Model m) throws Exception {
        Path streamed = Files.createTempDirectory(dir, "streamed");
        Path sm = streamed.resolve("saved_model");
        Path pb = streamed.resolve("model.pb");
        new SavedModelWriter().write(m, sm, WriteOptions.DEFAULT);
        new GraphDefWriter().write(m, pb, WriteOptions.DEFAULT);

        Path byTf = Files.createTempDirectory(dir, "tensorflow").resolve("saved_model");
        GraphDef frozen;
        try (Graph g = new Graph()) {
            Signature sig = new TfGraphBuilder(Ops.create(g), m, TfWeights.inGraph()).build();
            try (Session s = new Session(g)) {
                Files.createDirectories(byTf);
                SavedModelBundle.exporter(byTf.toString()).withTags(SavedModelBundle.DEFAULT_TAG)
                        .withFunction(SessionFunction.create(sig, s)).export();
            }
            // after the export, as the GraphDef writer's graph has no save nodes: prune them away as it prunes
            frozen = GraphDefWriter.pruned(g.toGraphDef(), m.outputNames().size(),
                    sig.getInputs().values().stream().map(d -> d.name.replaceFirst(":0$", "")).toList());
        }
        SavedModel want = SavedModel.parseFrom(Files.readAllBytes(byTf.resolve("saved_model.pb")));
        SavedModel got = SavedModel.parseFrom(Files.readAllBytes(sm.resolve("saved_model.pb")));
        // and TensorFlow held none of the model's values: of the constants TensorFlow writes as
        // tensor_content, only the graph's own int32/int64 ones (permutations, slice bounds) were not stand-ins
        try (Graph g = new Graph()) {
            TfWeights w = TfWeights.streamed();
            new TfGraphBuilder(Ops.create(g), m, w).build();
            GraphDef shell = g.toGraphDef();
            assertEquals(0, tensorContents(shell, DataType.DT_FLOAT), "float constants of the top-level graph that TensorFlow holds");
            assertEquals(tensorContents(want.getMetaGraphs(0).getGraphDef(), null), tensorContents(shell, null) + w.standIns().size(),
                    "constants held by TensorFlow + stand-ins = TensorFlow's constants");
        }
        assertEquals(normalised(want), normalised(got), "saved_model.pb");
        assertEquals(List.of(), list(byTf.resolve("variables")), "TensorFlow's exporter leaves the variables folder empty");
        assertEquals(List.of(), list(sm.resolve("variables")), "variables folder");
        assertEquals(List.of("saved_model.pb", "variables"), list(sm), "the SavedModel folder");
        assertEquals(normalised(frozen), normalised(GraphDef.parseFrom(Files.readAllBytes(pb))), "model.pb");
    }

    /** Const nodes of the top-level graph (not function bodies) whose value is tensor_content, of {@code type} (null: any). */
    private static long tensorContents(GraphDef g, DataType type) {
        return g.getNodeList().stream().filter(n -> n.getOp().equals("Const")).map(n -> n.getAttrOrThrow("value").getTensor())
                .filter(t -> !t.getTensorContent().isEmpty() && (type == null || t.getDtype() == type)).count();
    }

    private static List<String> list(Path folder) throws Exception {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static SavedModel normalised(SavedModel m) {
        SavedModel.Builder b = m.toBuilder();
        for (int i = 0; i < b.getMetaGraphsCount(); i++) {
            b.getMetaGraphsBuilder(i).setGraphDef(normalised(m.getMetaGraphs(i).getGraphDef()));
        }
        return b.build();
    }

    private static GraphDef normalised(GraphDef g) {
        GraphDef.Builder b = g.toBuilder();
        FunctionDefLibrary.Builder lib = b.getLibraryBuilder();
        for (int i = 0; i < lib.getFunctionCount(); i++) {
            List<NodeDef> nodes = new ArrayList<>(lib.getFunction(i).getNodeDefList());
            nodes.sort(Comparator.comparing(NodeDef::getName));
            lib.getFunctionBuilder(i).clearNodeDef().addAllNodeDef(nodes);
        }
        return b.build();
    }
}
