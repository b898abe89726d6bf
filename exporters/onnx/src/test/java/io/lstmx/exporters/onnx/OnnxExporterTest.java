package io.lstmx.exporters.onnx;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
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
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.onnx.proto.Onnx.TensorShapeProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Structure of exported ONNX graphs (numerics are checked against onnxruntime in the tests module). */
class OnnxExporterTest {
    private static final int I = 3;
    private static final int H = 2;

    // ------------------------------------------------------------------ model helpers

    /** Weights whose every element says where it came from: 1000*(dir+1) + 100*what + 10*gate + position. */
    private static LstmWeights tagged(int dir, int in, int hidden, boolean peephole) {
        return new LstmWeights(tag(dir, 1, 4, hidden, in), tag(dir, 2, 4, hidden, hidden), tag(dir, 3, 4, hidden, 1).reshape(4 * hidden),
                tag(dir, 4, 4, hidden, 1).reshape(4 * hidden), peephole ? tag(dir, 5, 3, hidden, 1).reshape(3 * hidden) : null, null);
    }

    /** [gates * hidden, cols] with element (gate k, row j, col c) = 1000*(dir+1) + 100*what + 10*k + (j*cols + c). */
    private static Tensor tag(int dir, int what, int gates, int hidden, int cols) {
        float[] v = new float[gates * hidden * cols];
        for (int k = 0; k < gates; k++) {
            for (int e = 0; e < hidden * cols; e++) {
                v[k * hidden * cols + e] = 1000 * (dir + 1) + 100 * what + 10 * k + e;
            }
        }
        return Tensor.ofFloats(new int[] {gates * hidden, cols}, v);
    }

    private static Model lstmModel(LstmSpec spec, List<LstmWeights> w, boolean seq, DType seqType, boolean states) {
        boolean bm = spec.layout() == Layout.BATCH_MAJOR;
        int d = spec.direction().count();
        List<ValueInfo> ins = new ArrayList<>();
        ins.add(new ValueInfo("X", DType.FLOAT32, bm ? Shape.of("batch", "time", spec.inputSize()) : Shape.of("time", "batch", spec.inputSize())));
        if (seq) {
            ins.add(new ValueInfo("lens", seqType, Shape.of("batch")));
        }
        if (states) {
            Shape st = bm ? Shape.of("batch", d, spec.hiddenSize()) : Shape.of(d, "batch", spec.hiddenSize());
            ins.add(new ValueInfo("h0", DType.FLOAT32, st));
            ins.add(new ValueInfo("c0", DType.FLOAT32, st));
        }
        Layer.Lstm l = new Layer.Lstm("lstm", new RecurrentPorts("X", seq ? "lens" : null, states ? "h0" : null, states ? "c0" : null,
                "Y", "Y_h", "Y_c"), spec, w, GateOrder.ONNX);
        List<ValueInfo> outs = List.of(new ValueInfo("Y", DType.FLOAT32, Shape.UNKNOWN), new ValueInfo("Y_h", DType.FLOAT32, Shape.UNKNOWN),
                new ValueInfo("Y_c", DType.FLOAT32, Shape.UNKNOWN));
        return new Model("m", new ModelInfo("onnx", "test", ""), ins, outs, List.of(l));
    }

    private static Model simpleLstm(Direction dir, Layout layout, boolean peephole) {
        List<LstmWeights> w = new ArrayList<>();
        for (int d = 0; d < dir.count(); d++) {
            w.add(tagged(d, I, H, peephole));
        }
        return lstmModel(LstmSpec.standard(I, H, dir, layout), w, false, DType.INT32, false);
    }

    private static ModelProto export(Model m, int opset) {
        return OnnxExporter.toProto(m, opset, false);
    }

    private static List<NodeProto> nodes(ModelProto p, String op) {
        return p.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).toList();
    }

    private static NodeProto onlyLstm(ModelProto p) {
        List<NodeProto> l = nodes(p, "LSTM");
        assertEquals(1, l.size(), "exactly one LSTM node");
        for (NodeProto n : p.getGraph().getNodeList()) {
            assertFalse(Set.of("Loop", "Scan", "If").contains(n.getOpType()), "LSTM must not be unrolled: " + n.getOpType());
        }
        return l.get(0);
    }

    private static TensorProto init(ModelProto p, String name) {
        return p.getGraph().getInitializerList().stream().filter(t -> t.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no initializer " + name));
    }

    private static float[] floats(ModelProto p, String name) {
        return OnnxTensors.toTensor(init(p, name), null, "test").toFloatArray();
    }

    private static AttributeProto attr(NodeProto n, String name) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst().orElse(null);
    }

    private static Set<String> attrNames(NodeProto n) {
        Set<String> s = new HashSet<>();
        n.getAttributeList().forEach(a -> s.add(a.getName()));
        return s;
    }

    // ------------------------------------------------------------------ LSTM

    @Test
    void lstmIsExactlyOneNodeWithOnnxInputOrder() {
        ModelProto p = export(simpleLstm(Direction.FORWARD, Layout.TIME_MAJOR, true), 17);
        NodeProto n = onlyLstm(p);
        assertEquals(1, p.getGraph().getNodeCount(), "a time-major LSTM needs no helper nodes");
        assertEquals("X", n.getInput(0));
        assertEquals(8, n.getInputCount(), "X, W, R, B, sequence_lens, initial_h, initial_c, P");
        assertEquals("", n.getInput(4));
        assertEquals("", n.getInput(5));
        assertEquals("", n.getInput(6));
        assertEquals(List.of("Y", "Y_h", "Y_c"), n.getOutputList());
        assertEquals(H, attr(n, "hidden_size").getI());
        assertEquals(Set.of("hidden_size"), attrNames(n), "defaults (direction, activations, layout) are left out");
    }

    @Test
    void gateBlocksArePermutedToOnnxOrder() {
        ModelProto p = export(simpleLstm(Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, true), 17);
        NodeProto n = onlyLstm(p);
        TensorProto w = init(p, n.getInput(1));
        TensorProto r = init(p, n.getInput(2));
        TensorProto b = init(p, n.getInput(3));
        TensorProto pp = init(p, n.getInput(7));
        assertEquals(List.of(2L, 4L * H, (long) I), w.getDimsList());
        assertEquals(List.of(2L, 4L * H, (long) H), r.getDimsList());
        assertEquals(List.of(2L, 8L * H), b.getDimsList());
        assertEquals(List.of(2L, 3L * H), pp.getDimsList());
        // ONNX blocks are i, o, f, c; the IR's canonical gate index of each ONNX block:
        int[] onnxToCanonical = {0, 3, 1, 2};
        for (int d = 0; d < 2; d++) {
            checkBlocks(floats(p, n.getInput(1)), d, 1, onnxToCanonical, H * I, 0);
            checkBlocks(floats(p, n.getInput(2)), d, 2, onnxToCanonical, H * H, 0);
            // B = [Wb (i,o,f,c), Rb (i,o,f,c)] per direction
            float[] bv = floats(p, n.getInput(3));
            checkBlocks(Arrays.copyOfRange(bv, d * 8 * H, d * 8 * H + 4 * H), 0, 3, onnxToCanonical, H, d);
            checkBlocks(Arrays.copyOfRange(bv, d * 8 * H + 4 * H, d * 8 * H + 8 * H), 0, 4, onnxToCanonical, H, d);
            // P is i, o, f in ONNX, i, f, o in the IR.
            checkBlocks(floats(p, n.getInput(7)), d, 5, new int[] {0, 2, 1}, H, 0);
        }
        assertEquals("bidirectional", attr(n, "direction").getS().toStringUtf8());
    }

    /** Block k of direction d must hold canonical gate blockToCanonical[k], elements in their original order. */
    private static void checkBlocks(float[] v, int d, int what, int[] blockToCanonical, int blockSize, int dirTag) {
        int gates = blockToCanonical.length;
        for (int k = 0; k < gates; k++) {
            for (int e = 0; e < blockSize; e++) {
                float expected = 1000 * (d + dirTag + 1) + 100 * what + 10 * blockToCanonical[k] + e;
                assertEquals(expected, v[(d * gates + k) * blockSize + e], "direction " + d + " tensor " + what + " block " + k + " element " + e);
            }
        }
    }

    @Test
    void zeroBiasAndAbsentPeepholesAreLeftOut() {
        LstmWeights w = new LstmWeights(tag(0, 1, 4, H, I), tag(0, 2, 4, H, H), Tensor.zeros(4 * H), Tensor.zeros(4 * H), null, null);
        ModelProto p = export(lstmModel(LstmSpec.standard(I, H, Direction.FORWARD, Layout.TIME_MAJOR), List.of(w), false, DType.INT32, false), 17);
        NodeProto n = onlyLstm(p);
        assertEquals(3, n.getInputCount(), "trailing absent inputs are omitted: " + n.getInputList());
        // -0.0 is not +0 bit for bit: such a bias is written so that round trips stay bit-exact.
        float[] nz = new float[4 * H];
        nz[5] = -0.0f;
        LstmWeights w2 = new LstmWeights(tag(0, 1, 4, H, I), tag(0, 2, 4, H, H), Tensor.ofFloats(new int[] {4 * H}, nz), Tensor.zeros(4 * H), null, null);
        ModelProto p2 = export(lstmModel(LstmSpec.standard(I, H, Direction.FORWARD, Layout.TIME_MAJOR), List.of(w2), false, DType.INT32, false), 17);
        assertEquals(4, onlyLstm(p2).getInputCount());
    }

    @Test
    void projectionIsRefusedWithAPreciseMessage() {
        int p = 1;
        LstmWeights w = new LstmWeights(tag(0, 1, 4, H, I), tag(0, 2, 4, H, p), Tensor.zeros(4 * H), Tensor.zeros(4 * H), null,
                Tensor.zeros(p, H));
        LstmSpec spec = new LstmSpec(I, H, p, Direction.FORWARD, Layout.TIME_MAJOR, null, false, LstmSpec.DEFAULT_ACTIVATIONS);
        Layer.Lstm l = new Layer.Lstm("enc", new RecurrentPorts("X", null, null, null, "Y", null, null), spec, List.of(w), GateOrder.PYTORCH);
        Model m = new Model("m", ModelInfo.NONE, List.of(new ValueInfo("X", DType.FLOAT32, Shape.of("t", "b", I))),
                List.of(new ValueInfo("Y", DType.FLOAT32, Shape.UNKNOWN)), List.of(l));
        LstmxException e = assertThrows(LstmxException.class, () -> export(m, 17));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertEquals("ONNX LSTM has no projection; layer 'enc' has proj_size 1", e.getMessage());
    }

    @Test
    void cellClipIsRefusedNamingTheLayerAndTheFeature() {
        LstmSpec spec = LstmSpec.standard(I, H, Direction.FORWARD, Layout.TIME_MAJOR).withCellClip(3f);
        Model m = lstmModel(spec, List.of(tagged(0, I, H, false)), false, DType.INT32, false);
        LstmxException e = assertThrows(LstmxException.class, () -> export(m, 17));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertEquals(3, e.code().exitStatus());
        assertTrue(e.getMessage().contains("ONNX LSTM has no cell clip") && e.getMessage().contains("layer 'lstm'"), e.getMessage());
    }

    @Test
    void forgetBiasIsFoldedIntoTheForgetBlockOfWb() {
        float fb = 0.75f;
        LstmSpec spec = LstmSpec.standard(I, H, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR).withForgetBias(fb);
        ModelProto p = export(lstmModel(spec, List.of(tagged(0, I, H, false), tagged(1, I, H, false)), false, DType.INT32, false), 17);
        NodeProto n = onlyLstm(p);
        assertEquals(Set.of("hidden_size", "direction"), attrNames(n), "no attribute carries the bias");
        float[] b = floats(p, n.getInput(3));
        // ONNX B per direction: Wb then Rb, each in ONNX gate order i, o, f, c (canonical gates 0, 3, 1, 2)
        int[] canonicalOfOnnxBlock = {0, 3, 1, 2};
        for (int d = 0; d < 2; d++) {
            for (int half = 0; half < 2; half++) {
                for (int block = 0; block < 4; block++) {
                    for (int j = 0; j < H; j++) {
                        // the tag of Wb (what = 3) or Rb (what = 4), canonical gate k, position j
                        float tagValue = 1000 * (d + 1) + 100 * (3 + half) + 10 * canonicalOfOnnxBlock[block] + j;
                        float expected = half == 0 && block == 2 ? tagValue + fb : tagValue;
                        assertEquals(expected, b[d * 8 * H + half * 4 * H + block * H + j], 0f,
                                "direction " + d + (half == 0 ? " Wb" : " Rb") + " block " + block + " unit " + j);
                    }
                }
            }
        }
    }

    @Test
    void halfPrecisionWeightsAndConstantsAreWrittenAsFloat32() {
        // ONNX operators take all their float inputs in one type: the float32 activations decide it
        Tensor w16 = Tensor.ofFloats(new int[] {2, 3}, new float[] {0.1f, -2f, 3.5f, 1e-6f, 65504f, -0.0f}).withDType(DType.FLOAT16);
        Tensor b16 = Tensor.ofFloats(new int[] {2}, new float[] {1f / 3, -7f}).withDType(DType.BFLOAT16);
        Layer dense = new Layer.Dense("d", "x", "h", w16, b16);
        Layer konst = new Layer.Constant("k", "y2", b16);
        Model m = new Model("m", ModelInfo.NONE, List.of(new ValueInfo("x", DType.FLOAT32, Shape.of("n", 3))),
                List.of(new ValueInfo("h", DType.FLOAT32, Shape.UNKNOWN), new ValueInfo("y2", DType.FLOAT32, Shape.UNKNOWN)),
                List.of(dense, konst));
        ModelProto p = export(m, 17);
        NodeProto gemm = nodes(p, "Gemm").get(0);
        TensorProto w = init(p, gemm.getInput(1));
        TensorProto b = init(p, gemm.getInput(2));
        assertEquals(TensorProto.DataType.FLOAT_VALUE, w.getDataType());
        assertEquals(TensorProto.DataType.FLOAT_VALUE, b.getDataType());
        assertArrayEquals(w16.toFloatArray(), floats(p, gemm.getInput(1)));
        assertArrayEquals(b16.toFloatArray(), floats(p, gemm.getInput(2)));
        TensorProto k = nodes(p, "Constant").get(0).getAttribute(0).getT();
        assertEquals(TensorProto.DataType.FLOAT_VALUE, k.getDataType());
        assertArrayEquals(b16.toFloatArray(), OnnxTensors.toTensor(k, null, "test").toFloatArray());
    }

    @Test
    void halfPrecisionTensorProtosKeepTheirBitsAndReadBackWidened() {
        short[] bits = {0x0001, (short) 0x8400, 0x7bff, 0x7c00, (short) 0xfe00, 0x3555};
        for (DType t : List.of(DType.FLOAT16, DType.BFLOAT16)) {
            Tensor h = Tensor.ofHalfBits(t, new int[] {3, 2}, bits);
            TensorProto p = OnnxTensors.fromTensor("h", h);
            assertEquals(t == DType.FLOAT16 ? TensorProto.DataType.FLOAT16_VALUE : TensorProto.DataType.BFLOAT16_VALUE, p.getDataType());
            assertEquals(List.of(3L, 2L), p.getDimsList());
            byte[] raw = p.getRawData().toByteArray();
            assertEquals(12, raw.length);
            for (int i = 0; i < bits.length; i++) {
                int le = (raw[2 * i] & 0xff) | (raw[2 * i + 1] & 0xff) << 8; // ONNX raw_data is little-endian
                assertEquals(bits[i] & 0xffff, le, t + " element " + i);
            }
            // the importer widens half precision to float32 (exactly)
            float[] back = OnnxTensors.toTensor(p, null, "test").toFloatArray();
            float[] widened = h.toFloatArray();
            for (int i = 0; i < bits.length; i++) {
                assertEquals(Float.floatToIntBits(widened[i]), Float.floatToIntBits(back[i]), t + " element " + i);
            }
        }
    }

    @Test
    void attributesClipInputForgetAndPackedActivationParameters() {
        List<ActivationFn> acts = List.of(ActivationFn.of(ActivationFn.Kind.HARD_SIGMOID, 0.25f, 0.4f), ActivationFn.of(ActivationFn.Kind.SOFTSIGN),
                ActivationFn.of(ActivationFn.Kind.SCALED_TANH, 1.5f, 0.7f),
                ActivationFn.of(ActivationFn.Kind.LEAKY_RELU, 0.1f, 0f), ActivationFn.IDENTITY, ActivationFn.of(ActivationFn.Kind.ELU, 0.9f, 0f));
        LstmSpec spec = new LstmSpec(I, H, 0, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 2.5f, true, acts);
        ModelProto p = export(lstmModel(spec, List.of(tagged(0, I, H, false), tagged(1, I, H, false)), false, DType.INT32, false), 14);
        NodeProto n = onlyLstm(p);
        assertEquals(2.5f, attr(n, "clip").getF());
        assertEquals(1, attr(n, "input_forget").getI());
        assertEquals(List.of("HardSigmoid", "Softsign", "ScaledTanh", "LeakyRelu", "Affine", "Elu"),
                attr(n, "activations").getStringsList().stream().map(s -> s.toStringUtf8()).toList());
        // one alpha per function that takes one, in function order; likewise beta
        assertEquals(List.of(0.25f, 1.5f, 0.1f, 1f, 0.9f), attr(n, "activation_alpha").getFloatsList());
        assertEquals(List.of(0.4f, 0.7f, 0f), attr(n, "activation_beta").getFloatsList());
        assertNull(attr(n, "layout"));
    }

    @Test
    void batchMajorLstmIsTransposedAroundATimeMajorNodeByDefault() {
        Model m = lstmModel(LstmSpec.standard(I, H, Direction.REVERSE, Layout.BATCH_MAJOR), List.of(tagged(0, I, H, false)), true, DType.INT32, true);
        ModelProto p = export(m, 17);
        NodeProto n = onlyLstm(p);
        assertNull(attr(n, "layout"));
        assertEquals("reverse", attr(n, "direction").getS().toStringUtf8());
        List<NodeProto> transposes = nodes(p, "Transpose");
        assertEquals(6, transposes.size(), "X, initial_h, initial_c in; Y, Y_h, Y_c out");
        assertEquals(List.of(1L, 0L, 2L), producer(p, n.getInput(0)).getAttribute(0).getIntsList());
        assertEquals("X", producer(p, n.getInput(0)).getInput(0));
        assertEquals("lens", n.getInput(4), "int32 sequence lengths are wired directly");
        assertEquals("h0", producer(p, n.getInput(5)).getInput(0));
        assertEquals("c0", producer(p, n.getInput(6)).getInput(0));
        NodeProto yT = producer(p, "Y");
        assertEquals(n.getOutput(0), yT.getInput(0));
        assertEquals(List.of(2L, 0L, 1L, 3L), yT.getAttribute(0).getIntsList(), "[T,D,B,H] -> [B,T,D,H]");
        assertEquals(List.of(1L, 0L, 2L), producer(p, "Y_h").getAttribute(0).getIntsList());
        assertEquals(List.of(1L, 0L, 2L), producer(p, "Y_c").getAttribute(0).getIntsList());
    }

    @Test
    void batchMajorLstmUsesTheLayoutAttributeOnlyWhenAskedAndTheOpsetHasIt() {
        Model m = lstmModel(LstmSpec.standard(I, H, Direction.FORWARD, Layout.BATCH_MAJOR), List.of(tagged(0, I, H, false)), false, DType.INT32, true);
        ModelProto p14 = OnnxExporter.toProto(m, 14, true);
        NodeProto n = onlyLstm(p14);
        assertEquals(1, attr(n, "layout").getI());
        assertEquals(1, p14.getGraph().getNodeCount(), "layout=1 needs no Transposes");
        assertEquals("X", n.getInput(0));
        assertEquals("h0", n.getInput(5));
        ModelProto p13 = OnnxExporter.toProto(m, 13, true);
        assertNull(attr(onlyLstm(p13), "layout"), "opset 13 has no layout attribute: lowered instead");
        assertEquals(6, nodes(p13, "Transpose").size());
    }

    @Test
    void int64SequenceLengthsAreCastToInt32() {
        Model m = lstmModel(LstmSpec.standard(I, H, Direction.FORWARD, Layout.TIME_MAJOR), List.of(tagged(0, I, H, false)), true, DType.INT64, false);
        ModelProto p = export(m, 9);
        NodeProto n = onlyLstm(p);
        NodeProto cast = producer(p, n.getInput(4));
        assertEquals("Cast", cast.getOpType());
        assertEquals("lens", cast.getInput(0));
        assertEquals(TensorProto.DataType.INT32_VALUE, cast.getAttribute(0).getI());
    }

    private static NodeProto producer(ModelProto p, String value) {
        return p.getGraph().getNodeList().stream().filter(n -> n.getOutputList().contains(value)).findFirst()
                .orElseThrow(() -> new AssertionError("nothing produces " + value));
    }

    // ------------------------------------------------------------------ model-level rules

    @Test
    void opsetAndIrVersionRules() {
        Model m = simpleLstm(Direction.FORWARD, Layout.TIME_MAJOR, false);
        int[][] expected = {{7, 3}, {8, 3}, {9, 4}, {10, 5}, {11, 6}, {12, 7}, {13, 7}, {14, 7}, {15, 8}, {17, 8}, {18, 8},
                {19, 9}, {20, 9}, {21, 10}, {22, 10}};
        for (int[] e : expected) {
            ModelProto p = export(m, e[0]);
            assertEquals(e[1], p.getIrVersion(), "ir_version for opset " + e[0]);
            assertEquals(1, p.getOpsetImportCount());
            assertEquals("", p.getOpsetImport(0).getDomain());
            assertEquals(e[0], p.getOpsetImport(0).getVersion());
        }
        ModelProto def = export(m, 0);
        assertEquals(17, def.getOpsetImport(0).getVersion(), "0 means the default opset 17");
        assertEquals(8, def.getIrVersion());
        for (int bad : new int[] {6, 23, 1}) {
            LstmxException e = assertThrows(LstmxException.class, () -> export(m, bad));
            assertEquals(ErrorCode.UNSUPPORTED, e.code());
            assertTrue(e.getMessage().contains("opset " + bad) && e.getMessage().contains("7..22"), e.getMessage());
        }
        assertEquals(ErrorCode.BAD_INPUT, assertThrows(LstmxException.class, () -> export(m, -3)).code());
    }

    @Test
    void irVersion3ListsInitializersAsGraphInputs() {
        Model m = simpleLstm(Direction.FORWARD, Layout.TIME_MAJOR, true);
        GraphProto g7 = export(m, 7).getGraph();
        Set<String> inputs = new HashSet<>();
        g7.getInputList().forEach(v -> inputs.add(v.getName()));
        for (TensorProto t : g7.getInitializerList()) {
            assertTrue(inputs.contains(t.getName()), t.getName() + " must be a graph input at ir_version 3");
        }
        GraphProto g9 = export(m, 9).getGraph();
        assertEquals(List.of("X"), g9.getInputList().stream().map(ValueInfoProto::getName).toList());
    }

    @Test
    void graphInputsAndOutputsKeepNamesTypesAndSymbolicDims() {
        ModelProto p = export(simpleLstm(Direction.FORWARD, Layout.TIME_MAJOR, false), 17);
        assertEquals("lstmx", p.getProducerName());
        ValueInfoProto x = p.getGraph().getInput(0);
        assertEquals("X", x.getName());
        assertEquals(TensorProto.DataType.FLOAT_VALUE, x.getType().getTensorType().getElemType());
        List<TensorShapeProto.Dimension> dims = x.getType().getTensorType().getShape().getDimList();
        assertEquals("time", dims.get(0).getDimParam());
        assertEquals("batch", dims.get(1).getDimParam());
        assertEquals(I, dims.get(2).getDimValue());
        assertEquals(List.of("Y", "Y_h", "Y_c"), p.getGraph().getOutputList().stream().map(ValueInfoProto::getName).toList());
        // Y was declared without a shape: the exporter writes the inferred [T, D, B, H] (ONNX LSTM definition).
        List<TensorShapeProto.Dimension> y = p.getGraph().getOutput(0).getType().getTensorType().getShape().getDimList();
        assertEquals(4, y.size());
        assertEquals("time", y.get(0).getDimParam());
        assertEquals(1, y.get(1).getDimValue());
        assertEquals("batch", y.get(2).getDimParam());
        assertEquals(H, y.get(3).getDimValue());
        Model unknown = chain(new ValueInfo("x", DType.FLOAT32, Shape.UNKNOWN), new ValueInfo("y", DType.FLOAT32, Shape.UNKNOWN),
                new Layer.Identity("id", "x", "y"));
        assertFalse(export(unknown, 17).getGraph().getOutput(0).getType().getTensorType().hasShape(), "unknown rank stays unknown");
    }

    @Test
    void saveWritesAParsableFileAndLeavesNoTemporaryFiles(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("sub").resolve("m.onnx");
        OnnxExporter.save(simpleLstm(Direction.FORWARD, Layout.TIME_MAJOR, false), out, 11, false);
        ModelProto p;
        try (InputStream in = Files.newInputStream(out)) {
            p = ModelProto.parseFrom(in);
        }
        assertEquals(11, p.getOpsetImport(0).getVersion());
        onlyLstm(p);
        try (Stream<Path> s = Files.list(out.getParent())) {
            assertEquals(List.of(out), s.toList());
        }
        // Errors name the file.
        Model proj = simpleLstm(Direction.FORWARD, Layout.TIME_MAJOR, false);
        LstmxException e = assertThrows(LstmxException.class, () -> OnnxExporter.save(proj, out, 99, false));
        assertTrue(e.getMessage().startsWith(out.toString()), e.getMessage());
    }

    // ------------------------------------------------------------------ other layers

    private static Model chain(ValueInfo in, ValueInfo out, Layer... layers) {
        return new Model("m", ModelInfo.NONE, List.of(in), List.of(out), List.of(layers));
    }

    private static ValueInfo f32(String name, Object... dims) {
        return new ValueInfo(name, DType.FLOAT32, Shape.of(dims));
    }

    @Test
    void denseIsGemmOnRank2AndMatMulAddOtherwise() {
        Tensor w = Tensor.ofFloats(new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6});
        Tensor b = Tensor.ofFloats(new int[] {2}, new float[] {7, 8});
        ModelProto p2 = export(chain(f32("x", "n", 3), f32("y", "n", 2), new Layer.Dense("fc", "x", "y", w, b)), 17);
        NodeProto gemm = onlyNode(p2, "Gemm");
        assertEquals(1, attr(gemm, "transB").getI());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, floats(p2, gemm.getInput(1)));
        ModelProto p3 = export(chain(f32("x", "n", "t", 3), f32("y", "n", "t", 2), new Layer.Dense("fc", "x", "y", w, b)), 17);
        NodeProto mm = onlyNode(p3, "MatMul");
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, floats(p3, mm.getInput(1)), "weight stored transposed [in, out]");
        assertEquals(1, nodes(p3, "Add").size());
        // Gemm's C input is optional only from opset 11.
        ModelProto p9 = export(chain(f32("x", "n", 3), f32("y", "n", 2), new Layer.Dense("fc", "x", "y", w, null)), 9);
        assertEquals(0, nodes(p9, "Gemm").size());
        assertEquals(1, nodes(p9, "MatMul").size());
    }

    private static NodeProto onlyNode(ModelProto p, String op) {
        List<NodeProto> l = nodes(p, op);
        assertEquals(1, l.size(), op + " nodes in " + p.getGraph().getNodeList().stream().map(NodeProto::getOpType).toList());
        return l.get(0);
    }

    @Test
    void squeezeAxesAreAnAttributeBefore13AndAnInputFrom13() {
        Model m = chain(f32("x", 1, "n", 1), f32("y", "n"), new Layer.Squeeze("sq", "x", "y", List.of(0, -1)));
        NodeProto s12 = onlyNode(export(m, 12), "Squeeze");
        assertEquals(List.of(0L, -1L), attr(s12, "axes").getIntsList());
        NodeProto s10 = onlyNode(export(m, 10), "Squeeze");
        assertEquals(List.of(0L, 2L), attr(s10, "axes").getIntsList(), "negative axes only from opset 11");
        ModelProto p13 = export(m, 13);
        NodeProto s13 = onlyNode(p13, "Squeeze");
        assertEquals(2, s13.getInputCount());
        assertEquals(0, s13.getAttributeCount());
        assertArrayEquals(new long[] {0, -1}, OnnxTensors.toTensor(init(p13, s13.getInput(1)), null, "t").toLongArray());
        Model u = chain(f32("x", "n"), f32("y", 1, "n"), new Layer.Unsqueeze("un", "x", "y", List.of(-2)));
        assertEquals(List.of(0L), attr(onlyNode(export(u, 9), "Unsqueeze"), "axes").getIntsList(), "-2 of output rank 2");
    }

    @Test
    void featuresTheOpsetLacksAreRefusedNamingLayerFeatureAndOpset() {
        Model stepped = chain(f32("x", "n", 6), f32("y", "n", 3), new Layer.Slice("every_other", "x", "y", 1, 0, 6, 2));
        LstmxException e = assertThrows(LstmxException.class, () -> export(stepped, 9));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertTrue(e.getMessage().contains("'every_other'") && e.getMessage().contains("step 2") && e.getMessage().contains("opset 10"), e.getMessage());
        assertEquals(1, nodes(export(stepped, 10), "Slice").size());

        Model take = chain(f32("x", "n", 6), f32("y", "n", 2), new Layer.Take("pick", "x", "y", 1, Tensor.ofLongs(new int[] {2}, new long[] {0, -1})));
        e = assertThrows(LstmxException.class, () -> export(take, 10));
        assertTrue(e.getMessage().contains("'pick'") && e.getMessage().contains("opset 11"), e.getMessage());

        ValueInfo unknownRank = new ValueInfo("x", DType.FLOAT32, Shape.UNKNOWN);
        Model sm = chain(unknownRank, f32("y"), new Layer.Softmax("probs", "x", "y", 0, false));
        e = assertThrows(LstmxException.class, () -> export(sm, 12));
        assertTrue(e.getMessage().contains("'probs'") && e.getMessage().contains("opset 13"), e.getMessage());
        assertEquals(1, nodes(export(sm, 13), "Softmax").size());
    }

    @Test
    void softmaxBefore13IsExactOnlyOnTheLastAxisSoOtherAxesAreTransposed() {
        Model last = chain(f32("x", "n", "t", 4), f32("y", "n", "t", 4), new Layer.Softmax("sm", "x", "y", -1, false));
        ModelProto p = export(last, 9);
        assertEquals(2, attr(onlyNode(p, "Softmax"), "axis").getI());
        assertEquals(0, nodes(p, "Transpose").size());
        Model mid = chain(f32("x", "n", "t", 4), f32("y", "n", "t", 4), new Layer.Softmax("sm", "x", "y", 1, true));
        ModelProto q = export(mid, 11);
        assertEquals(2, attr(onlyNode(q, "LogSoftmax"), "axis").getI());
        List<NodeProto> t = nodes(q, "Transpose");
        assertEquals(2, t.size());
        assertEquals(List.of(0L, 2L, 1L), t.get(0).getAttribute(0).getIntsList());
        assertEquals(1, attr(onlyNode(export(mid, 13), "LogSoftmax"), "axis").getI());
    }

    @Test
    void selectWithNegativeIndexBefore11IsSliceThenSqueeze() {
        Model m = chain(f32("x", "t", "n", 4), f32("y", "n", 4), new Layer.Select("last", "x", "y", 0, -1));
        ModelProto p9 = export(m, 9);
        NodeProto slice = onlyNode(p9, "Slice");
        assertEquals(List.of(-1L), attr(slice, "starts").getIntsList());
        assertEquals(List.of(Long.MAX_VALUE), attr(slice, "ends").getIntsList());
        assertEquals(List.of(0L), attr(onlyNode(p9, "Squeeze"), "axes").getIntsList());
        ModelProto p10 = export(m, 10);
        assertEquals(5, onlyNode(p10, "Slice").getInputCount() + 1, "data, starts, ends, axes (step 1 left out)");
        ModelProto p11 = export(m, 11);
        NodeProto gather = onlyNode(p11, "Gather");
        TensorProto idx = init(p11, gather.getInput(1));
        assertEquals(0, idx.getDimsCount(), "a scalar index drops the axis");
        assertEquals(-1L, OnnxTensors.toTensor(idx, null, "t").getLong(0));
    }

    @Test
    void constantsBecomeInitializersUnlessTheyAreGraphOutputs() {
        Tensor c = Tensor.ofFloats(new int[] {2}, new float[] {1, 2});
        Model m = new Model("m", ModelInfo.NONE, List.of(f32("x", 2)), List.of(f32("y", 2), f32("k", 2)),
                List.of(new Layer.Constant("k_const", "k", c), new Layer.Constant("c", "bias", c), new Layer.Binary("add", Layer.Binary.Op.ADD, "x", "bias", "y")));
        ModelProto p = export(m, 17);
        assertArrayEquals(new float[] {1, 2}, floats(p, "bias"));
        NodeProto k = onlyNode(p, "Constant");
        assertEquals("k", k.getOutput(0));
        NodeProto add = onlyNode(p, "Add");
        assertEquals(List.of("x", "bias"), add.getInputList());
    }

    @Test
    void generatedNamesNeverCaptureIrNames() {
        // An IR value already called like the exporter's weight initializers must keep its own meaning.
        Tensor w = Tensor.ofFloats(new int[] {2, 2}, new float[] {1, 0, 0, 1});
        Model m = chain(f32("fc_weight", "n", 2), f32("y", "n", 2), new Layer.Dense("fc", "fc_weight", "y", w, null));
        ModelProto p = export(m, 17);
        NodeProto gemm = onlyNode(p, "Gemm");
        assertEquals("fc_weight", gemm.getInput(0));
        assertFalse(gemm.getInput(1).equals("fc_weight"));
        Set<String> nodeNames = new HashSet<>();
        p.getGraph().getNodeList().forEach(n -> assertTrue(nodeNames.add(n.getName()), "duplicate node name " + n.getName()));
    }
}
