package io.lstmx.tests;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.exporters.onnx.OnnxExporter;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The ONNX exporter on its own (no importer, no native runtime): each {@link LstmNodeCase} is
 * rebuilt as an IR LSTM layer by this test (ONNX gate blocks i, o, f, c and peepholes i, o, f
 * mapped to the IR's i, f, g, o and i, f, o by explicit index arithmetic), exported, and run in
 * onnxruntime; it must give the numbers onnxruntime gives for the hand-written ONNX node.
 */
class OnnxExportLstmTest {
    @TempDir
    Path dir;

    /** ONNX block index holding each IR gate i, f, g, o (ONNX order is i, o, f, c). */
    private static final int[] ONNX_BLOCK_OF_IR_GATE = {0, 2, 3, 1};
    /** ONNX peephole block holding each IR peephole i, f, o (ONNX order is i, o, f). */
    private static final int[] ONNX_PEEPHOLE_OF_IR = {0, 2, 1};

    @TestFactory
    Stream<DynamicTest> exportedLstmMatchesTheHandWrittenNode() {
        return LstmNodeCase.all().stream().map(c -> DynamicTest.dynamicTest(c.name, () -> {
            Map<String, Tensor> expected = c.expected(dir);
            // The Cast from int64 lengths is exercised on the opset-22 cases; the others keep int32.
            DType lensType = c.opset == 22 ? DType.INT64 : DType.INT32;
            Model ir = toIr(c, lensType);
            Path out = dir.resolve(c.name + "_exported.onnx");
            OnnxExporter.save(ir, out, c.opset, false);
            ModelProto p;
            try (InputStream in = Files.newInputStream(out)) {
                p = ModelProto.parseFrom(in);
            }
            assertEquals(1, p.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("LSTM")).count(), c.name + ": LSTM nodes");
            assertEquals(c.opset, p.getOpsetImport(0).getVersion());
            for (NodeProto n : p.getGraph().getNodeList()) {
                if (n.getOpType().equals("LSTM")) {
                    assertEquals(0, n.getAttributeList().stream().filter(a -> a.getName().equals("layout")).count(),
                            c.name + ": no layout attribute by default (onnxruntime refuses layout=1)");
                }
            }
            Map<String, Tensor> feed = new LinkedHashMap<>(c.inputs());
            Map<String, Tensor> actual = OnnxRuntimeReference.run(out, feed);
            assertEquals(c.outputNames(), new ArrayList<>(actual.keySet()), c.name + ": exported outputs");
            for (String o : c.outputNames()) {
                assertNotNull(expected.get(o));
                TestFiles.assertClose(actual.get(o), expected.get(o), c.name + " output " + o + " (exported IR vs hand-written ONNX node)");
            }
        }));
    }

    /** The case as an IR model, built without the importer. */
    static Model toIr(LstmNodeCase c, DType lensType) {
        int d = c.dirs();
        int h = c.hidden;
        List<LstmWeights> ws = new ArrayList<>();
        float[] w = c.w().toFloatArray();
        float[] r = c.r().toFloatArray();
        float[] b = c.b() == null ? null : c.b().toFloatArray();
        float[] p = c.p() == null ? null : c.p().toFloatArray();
        for (int k = 0; k < d; k++) {
            float[] cw = new float[4 * h * c.in];
            float[] cr = new float[4 * h * h];
            float[] wb = new float[4 * h];
            float[] rb = new float[4 * h];
            for (int gate = 0; gate < 4; gate++) {
                int blk = ONNX_BLOCK_OF_IR_GATE[gate];
                System.arraycopy(w, (k * 4 + blk) * h * c.in, cw, gate * h * c.in, h * c.in);
                System.arraycopy(r, (k * 4 + blk) * h * h, cr, gate * h * h, h * h);
                if (b != null) {
                    System.arraycopy(b, k * 8 * h + blk * h, wb, gate * h, h);
                    System.arraycopy(b, k * 8 * h + 4 * h + blk * h, rb, gate * h, h);
                }
            }
            float[] cp = null;
            if (p != null) {
                cp = new float[3 * h];
                for (int gate = 0; gate < 3; gate++) {
                    System.arraycopy(p, k * 3 * h + ONNX_PEEPHOLE_OF_IR[gate] * h, cp, gate * h, h);
                }
            }
            ws.add(new LstmWeights(Tensor.ofFloats(new int[] {4 * h, c.in}, cw), Tensor.ofFloats(new int[] {4 * h, h}, cr),
                    Tensor.ofFloats(new int[] {4 * h}, wb), Tensor.ofFloats(new int[] {4 * h}, rb),
                    cp == null ? null : Tensor.ofFloats(new int[] {3 * h}, cp), null));
        }
        Direction dir = switch (c.direction) {
            case "reverse" -> Direction.REVERSE;
            case "bidirectional" -> Direction.BIDIRECTIONAL;
            default -> Direction.FORWARD;
        };
        Layout layout = c.layout == 1 ? Layout.BATCH_MAJOR : Layout.TIME_MAJOR;
        LstmSpec spec = new LstmSpec(c.in, h, 0, dir, layout, c.clip, c.inputForget, activations(c));

        Object bb = c.dynamicDims ? "batch" : c.batch;
        Object tt = c.dynamicDims ? "time" : c.t;
        List<ValueInfo> ins = new ArrayList<>();
        List<Layer> layers = new ArrayList<>();
        ins.add(new ValueInfo("X", DType.FLOAT32, layout == Layout.TIME_MAJOR ? Shape.of(tt, bb, c.in) : Shape.of(bb, tt, c.in)));
        Shape states = layout == Layout.TIME_MAJOR ? Shape.of(d, bb, h) : Shape.of(bb, d, h);
        Map<String, Tensor> inputs = c.inputs();
        String lens = null;
        String h0 = null;
        String c0 = null;
        for (String n : List.of("sequence_lens", "initial_h", "initial_c")) {
            boolean asInput = inputs.containsKey(n);
            boolean asConst = !asInput && c.constantStates && (n.equals("sequence_lens") ? c.seqLens != null
                    : n.equals("initial_h") ? c.initialH : c.initialC);
            if (!asInput && !asConst) {
                continue;
            }
            if (asInput) {
                ins.add(new ValueInfo(n, n.equals("sequence_lens") ? lensType : DType.FLOAT32, n.equals("sequence_lens") ? Shape.of(bb) : states));
            } else {
                layers.add(new Layer.Constant(n + "_const", n, constantOf(c, n)));
            }
            switch (n) {
                case "sequence_lens" -> lens = n;
                case "initial_h" -> h0 = n;
                default -> c0 = n;
            }
        }
        layers.add(new Layer.Lstm("lstm", new RecurrentPorts("X", lens, h0, c0, c.y ? "Y" : null, c.yh ? "Y_h" : null, c.yc ? "Y_c" : null), spec, ws, GateOrder.ONNX));
        List<ValueInfo> outs = new ArrayList<>();
        if (c.y) {
            outs.add(new ValueInfo("Y", DType.FLOAT32, layout == Layout.TIME_MAJOR ? Shape.of(tt, d, bb, h) : Shape.of(bb, tt, d, h)));
        }
        if (c.yh) {
            outs.add(new ValueInfo("Y_h", DType.FLOAT32, states));
        }
        if (c.yc) {
            outs.add(new ValueInfo("Y_c", DType.FLOAT32, states));
        }
        return new Model(c.name, ModelInfo.NONE, ins, outs, layers);
    }

    /** The constant a {@code constantStates} case stores as an initializer (read back from its own ONNX model). */
    private static Tensor constantOf(LstmNodeCase c, String name) {
        return c.model(c.layout).getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst()
                .map(t -> io.lstmx.onnx.OnnxTensors.toTensor(t, null, c.name)).orElseThrow();
    }

    /** ONNX activation names with packed alpha/beta lists, unpacked per function as onnxruntime reads them. */
    private static List<ActivationFn> activations(LstmNodeCase c) {
        List<String> names = c.activations;
        if (names == null) {
            names = new ArrayList<>();
            for (int k = 0; k < c.dirs(); k++) {
                names.addAll(List.of("Sigmoid", "Tanh", "Tanh"));
            }
        }
        Iterator<Float> alpha = (c.alphas == null ? List.<Float>of() : c.alphas).iterator();
        Iterator<Float> beta = (c.betas == null ? List.<Float>of() : c.betas).iterator();
        List<ActivationFn> out = new ArrayList<>();
        for (String n : names) {
            switch (n) {
                case "Sigmoid" -> out.add(ActivationFn.SIGMOID);
                case "Tanh" -> out.add(ActivationFn.TANH);
                case "Relu" -> out.add(ActivationFn.RELU);
                case "Softsign" -> out.add(ActivationFn.of(ActivationFn.Kind.SOFTSIGN));
                case "Softplus" -> out.add(ActivationFn.of(ActivationFn.Kind.SOFTPLUS));
                case "LeakyRelu" -> out.add(ActivationFn.of(ActivationFn.Kind.LEAKY_RELU, alpha.next(), 0f));
                case "ThresholdedRelu" -> out.add(ActivationFn.of(ActivationFn.Kind.THRESHOLDED_RELU, alpha.next(), 0f));
                case "Elu" -> out.add(ActivationFn.of(ActivationFn.Kind.ELU, alpha.next(), 0f));
                case "HardSigmoid" -> out.add(ActivationFn.of(ActivationFn.Kind.HARD_SIGMOID, alpha.next(), beta.next()));
                case "Affine" -> out.add(ActivationFn.of(ActivationFn.Kind.AFFINE, alpha.next(), beta.next()));
                case "ScaledTanh" -> out.add(ActivationFn.of(ActivationFn.Kind.SCALED_TANH, alpha.next(), beta.next()));
                default -> throw new AssertionError("activation " + n);
            }
        }
        if (c.dirs() == 2 && names.size() == 3) {
            out.addAll(new ArrayList<>(out));
        }
        return out;
    }
}
