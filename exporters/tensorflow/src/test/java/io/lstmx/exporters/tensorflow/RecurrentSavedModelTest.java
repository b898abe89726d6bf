package io.lstmx.exporters.tensorflow;

import io.lstmx.ir.samples.Npy;
import io.lstmx.ir.samples.Golden;

import io.lstmx.ir.samples.Samples;
import io.lstmx.formats.ReadOptions;
import io.lstmx.importers.onnx.OnnxReader;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.GraphOperation;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.NodeDef;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.lstmx.ir.samples.Samples.acts;
import static io.lstmx.ir.samples.Samples.f32;
import static io.lstmx.ir.samples.Samples.random;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Recurrent IR models and the ONNX files PyTorch 1.13 exported (fixtures/onnx/pytorch) written as
 * SavedModels run in TensorFlow as in the native runtime (atol 1e-5 + rtol 1e-4); and an exported
 * LSTM is one BlockLSTM op or one While loop per direction whatever T is.
 */
class RecurrentSavedModelTest {
    @TempDir
    Path dir;

    static final ActivationFn HS = ActivationFn.of(ActivationFn.Kind.HARD_SIGMOID, 0.2f, 0.5f);

    static LstmSpec spec(Direction d, Layout l) {
        return LstmSpec.standard(3, 4, d, l);
    }

    static List<Samples.Sample> irSamples() {
        List<Samples.Sample> l = new ArrayList<>();
        for (Layout lay : Layout.values()) {
            for (Direction d : Direction.values()) {
                for (boolean states : new boolean[] {false, true}) {
                    l.add(Samples.lstm("LSTM " + d + " " + lay + (states ? " with initial states" : ""), spec(d, lay), states, false));
                }
            }
        }
        l.add(Samples.lstm("LSTM with peepholes (BlockLSTM use_peephole)", spec(Direction.FORWARD, Layout.TIME_MAJOR), true, true));
        l.add(Samples.lstm("bidirectional LSTM with peepholes and a cell clip", spec(Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR).withCellClip(0.3f), true, true));
        l.add(Samples.lstm("LSTM with a forget bias", spec(Direction.REVERSE, Layout.TIME_MAJOR).withForgetBias(1f), true, false));
        l.add(Samples.lstm("LSTM with ONNX's clip (While loop)", new LstmSpec(3, 4, 0, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 0.4f, false,
                acts(2, ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH)), true, true));
        l.add(Samples.lstm("LSTM with a projection (While loop)", new LstmSpec(3, 4, 2, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, null, false,
                acts(2, ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH)), true, false));
        l.add(Samples.lstm("LSTM with coupled input-forget gates (While loop)", new LstmSpec(3, 4, 0, Direction.FORWARD, Layout.TIME_MAJOR, null, true,
                LstmSpec.DEFAULT_ACTIVATIONS), true, true));
        l.add(Samples.lstm("LSTM with hard_sigmoid/relu/softsign (While loop)", new LstmSpec(3, 4, 0, Direction.REVERSE, Layout.BATCH_MAJOR, null, false,
                List.of(HS, ActivationFn.RELU, ActivationFn.of(ActivationFn.Kind.SOFTSIGN))).withCellClip(0.7f), true, true));
        for (Direction d : Direction.values()) {
            for (boolean lbr : new boolean[] {true, false}) {
                l.add(Samples.gru("GRU " + d + (lbr ? " linear_before_reset" : ""), new RecurrentSpec(3, 4, d, d == Direction.REVERSE ? Layout.BATCH_MAJOR : Layout.TIME_MAJOR,
                        null, lbr, acts(d.count(), ActivationFn.SIGMOID, ActivationFn.TANH)), lbr));
            }
            l.add(Samples.rnn("RNN tanh " + d, new RecurrentSpec(3, 4, d, Layout.BATCH_MAJOR, null, false, acts(d.count(), ActivationFn.TANH)), true));
        }
        l.add(Samples.gru("GRU with clip and hard_sigmoid", new RecurrentSpec(3, 4, Direction.FORWARD, Layout.TIME_MAJOR, 0.5f, true,
                List.of(HS, ActivationFn.TANH)), true));
        l.add(Samples.rnn("RNN relu with clip", new RecurrentSpec(3, 4, Direction.FORWARD, Layout.TIME_MAJOR, 0.5f, false, List.of(ActivationFn.RELU)), false));
        l.add(withLengths("LSTM bidirectional with sequence lengths 5, 2, 0", true));
        l.add(withLengths("GRU bidirectional with sequence lengths 5, 2, 0", false));
        return l;
    }

    /** A bidirectional batch-major layer with per-row lengths (one of them 0) and initial states. */
    static Samples.Sample withLengths(String description, boolean lstm) {
        int b = 3;
        int t = 5;
        Layer layer;
        List<ValueInfo> in = new ArrayList<>(List.of(f32("x", b, t, 3), new ValueInfo("lens", DType.INT32, Shape.of(b)), f32("h0", b, 2, 4)));
        Map<String, Tensor> v = new LinkedHashMap<>();
        v.put("x", random(b, t, 3));
        v.put("lens", Tensor.ofLongs(DType.INT32, new int[] {b}, new long[] {5, 2, 0}));
        v.put("h0", random(b, 2, 4));
        List<String> outs;
        if (lstm) {
            in.add(f32("c0", b, 2, 4));
            v.put("c0", random(b, 2, 4));
            layer = new Layer.Lstm("lstm", new RecurrentPorts("x", "lens", "h0", "c0", "y", "yh", "yc"), spec(Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR),
                    List.of(Samples.lstmWeights(3, 4, 0, true), Samples.lstmWeights(3, 4, 0, false)), GateOrder.ONNX);
            outs = List.of("y", "yh", "yc");
        } else {
            layer = new Layer.Gru("gru", RecurrentPorts.withoutCell("x", "lens", "h0", "y", "yh"), new RecurrentSpec(3, 4, Direction.BIDIRECTIONAL,
                    Layout.BATCH_MAJOR, null, false, acts(2, ActivationFn.SIGMOID, ActivationFn.TANH)),
                    List.of(Samples.recurrentWeights(3, 3, 4), Samples.recurrentWeights(3, 3, 4)), GateOrder.Gru.ONNX);
            outs = List.of("y", "yh");
        }
        return new Samples.Sample(description, Samples.model("lengths", in, outs, layer), v);
    }

    @TestFactory
    Stream<DynamicTest> recurrentIrModelsWrittenAsSavedModelsRunInTensorFlowAsInTheNativeRuntime() {
        return irSamples().stream().map(s -> DynamicTest.dynamicTest(s.description(), () -> Tf.check(dir, s.model(), s.inputs())));
    }

    /** ONNX files exported by PyTorch 1.13, read by the ONNX importer: ONNX → SavedModel. */
    @TestFactory
    Stream<DynamicTest> onnxFilesExportedByPytorchConvertedToSavedModelsRunInTensorFlowAsInTheNativeRuntime() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        try (Stream<Path> cases = Files.list(Golden.root().resolve("fixtures/onnx/pytorch"))) {
            for (Path c : cases.sorted().toList()) {
                Path onnx = c.resolve("model.onnx");
                if (!Files.exists(onnx)) {
                    continue;
                }
                tests.add(DynamicTest.dynamicTest(c.getFileName().toString(), () -> {
                    Model m = new OnnxReader().read(onnx, ReadOptions.DEFAULT);
                    Tf.check(dir, m, Npy.inputs(c, m));
                }));
            }
        }
        return tests.stream();
    }

    /** Ops of each type in the SavedModel's graph and in the functions of its library (While bodies). */
    static Map<String, Integer> opTypes(Path sm) {
        Map<String, Integer> n = new java.util.TreeMap<>();
        try (SavedModelBundle b = SavedModelBundle.load(sm.toString(), "serve")) {
            for (Iterator<GraphOperation> it = b.graph().operations(); it.hasNext(); ) {
                n.merge(it.next().type(), 1, Integer::sum);
            }
            for (FunctionDef f : b.metaGraphDef().getGraphDef().getLibrary().getFunctionList()) {
                for (NodeDef d : f.getNodeDefList()) {
                    n.merge(d.getOp(), 1, Integer::sum);
                }
            }
        }
        return n;
    }

    static Samples.Sample lstmOfLength(int t, LstmSpec spec) {
        Layer.Lstm l = new Layer.Lstm("lstm", RecurrentPorts.of("x").withOutputs("y", "yh", "yc"), spec,
                java.util.Collections.nCopies(spec.direction().count(), Samples.lstmWeights(3, 4, spec.projSize(), false)), GateOrder.PYTORCH);
        return new Samples.Sample("T=" + t, Samples.model("lstm", List.of(f32("x", t, 2, 3)), List.of("y", "yh", "yc"), l), Map.of("x", random(t, 2, 3)));
    }

    /** A plain LSTM is one BlockLSTM op per direction, no loop; the graph is the same size for T = 2 and T = 60. */
    @Test
    void anLstmIsOneBlockLstmOpPerDirectionWhateverT() throws Exception {
        for (Direction d : Direction.values()) {
            LstmSpec spec = spec(d, Layout.TIME_MAJOR);
            Samples.Sample a = lstmOfLength(2, spec);
            Samples.Sample b = lstmOfLength(60, spec);
            Map<String, Integer> na = opTypes(Tf.check(dir, a.model(), a.inputs()));
            Map<String, Integer> nb = opTypes(Tf.check(dir, b.model(), b.inputs()));
            assertEquals(d.count(), na.get("BlockLSTM"), na.toString());
            assertEquals(null, na.get("StatelessWhile"), na.toString());
            assertEquals(na, nb, "the graph does not depend on T");
        }
    }

    /** An LSTM BlockLSTM cannot compute is one While loop per direction; the graph is the same size for T = 2 and T = 60. */
    @Test
    void anLstmBlockLstmCannotComputeIsOneWhileLoopPerDirectionWhateverT() throws Exception {
        LstmSpec spec = new LstmSpec(3, 4, 2, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 0.5f, false,
                acts(2, ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH));
        Samples.Sample a = lstmOfLength(2, spec);
        Samples.Sample b = lstmOfLength(60, spec);
        Map<String, Integer> na = opTypes(Tf.check(dir, a.model(), a.inputs()));
        Map<String, Integer> nb = opTypes(Tf.check(dir, b.model(), b.inputs()));
        assertEquals(2, na.get("StatelessWhile"), na.toString());
        assertEquals(null, na.get("BlockLSTM"), na.toString());
        assertEquals(na, nb, "the graph does not depend on T");
    }

    /**
     * While loops hold no weights in their bodies: every weight is a top-level constant (streamed
     * into the file, never built in memory whole) passed into the loop as a variable the body
     * returns unchanged. A body's float Const ops are scalars (1, a forget bias, a clip).
     */
    @TestFactory
    Stream<DynamicTest> whileLoopBodiesHoldNoWeightsTheLoopTakesThemAsVariables() {
        return irSamples().stream().map(s -> DynamicTest.dynamicTest(s.description(), () -> {
            Path sm = Tf.check(dir, s.model(), s.inputs());
            int loops = 0;
            try (SavedModelBundle b = SavedModelBundle.load(sm.toString(), "serve")) {
                for (FunctionDef f : b.metaGraphDef().getGraphDef().getLibrary().getFunctionList()) {
                    for (NodeDef d : f.getNodeDefList()) {
                        if (d.getOp().equals("Const") && d.getAttrOrThrow("value").getTensor().getDtype() == org.tensorflow.proto.DataType.DT_FLOAT) {
                            long n = d.getAttrOrThrow("value").getTensor().getTensorShape().getDimList().stream()
                                    .mapToLong(x -> x.getSize()).reduce(1, (x, y) -> x * y);
                            assertEquals(1, n, "function " + f.getSignature().getName() + " holds a float constant of " + n + " values: " + d.getName());
                        }
                    }
                }
                for (Iterator<GraphOperation> it = b.graph().operations(); it.hasNext(); ) {
                    GraphOperation op = it.next();
                    if (op.type().equals("StatelessWhile")) {
                        loops++;
                    }
                }
            }
            boolean loopExpected = s.description().contains("While") || s.description().startsWith("GRU") || s.description().startsWith("RNN")
                    || s.description().contains("sequence lengths");
            assertEquals(loopExpected, loops > 0, s.description() + ": " + loops + " While loops");
        }));
    }
}
