package io.lstmx.exporters.onnx;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Structure of exported GRU and RNN nodes (numerics against onnxruntime live in the tests module). */
class OnnxExporterGruRnnTest {
    private static final int I = 3;
    private static final int H = 2;

    /** [gates * H, cols] with element (gate k, position e) = 1000*(dir+1) + 100*what + 10*k + e. */
    private static Tensor tag(int dir, int what, int gates, int cols) {
        float[] v = new float[gates * H * cols];
        for (int k = 0; k < gates; k++) {
            for (int e = 0; e < H * cols; e++) {
                v[k * H * cols + e] = 1000 * (dir + 1) + 100 * what + 10 * k + e;
            }
        }
        return Tensor.ofFloats(new int[] {gates * H, cols}, v);
    }

    private static List<RecurrentWeights> tagged(int dirs, int gates) {
        List<RecurrentWeights> w = new ArrayList<>();
        for (int d = 0; d < dirs; d++) {
            w.add(new RecurrentWeights(tag(d, 1, gates, I), tag(d, 2, gates, H), tag(d, 3, gates, 1).reshape(gates * H),
                    tag(d, 4, gates, 1).reshape(gates * H)));
        }
        return w;
    }

    private static Model model(Layer layer, Layout layout, boolean lens, int dirs) {
        boolean bm = layout == Layout.BATCH_MAJOR;
        List<ValueInfo> ins = new ArrayList<>();
        ins.add(new ValueInfo("X", DType.FLOAT32, bm ? Shape.of("batch", "time", I) : Shape.of("time", "batch", I)));
        if (lens) {
            ins.add(new ValueInfo("lens", DType.INT64, Shape.of("batch")));
        }
        ins.add(new ValueInfo("h0", DType.FLOAT32, bm ? Shape.of("batch", dirs, H) : Shape.of(dirs, "batch", H)));
        return new Model("m", new ModelInfo("onnx", "test", ""), ins,
                List.of(new ValueInfo("Y", DType.FLOAT32, Shape.UNKNOWN), new ValueInfo("Y_h", DType.FLOAT32, Shape.UNKNOWN)),
                List.of(layer));
    }

    private static RecurrentSpec spec(Direction dir, Layout layout, boolean lbr, List<ActivationFn> perDir) {
        List<ActivationFn> acts = new ArrayList<>();
        for (int d = 0; d < dir.count(); d++) {
            acts.addAll(perDir);
        }
        return new RecurrentSpec(I, H, dir, layout, null, lbr, acts);
    }

    private static NodeProto only(ModelProto p, String op) {
        List<NodeProto> l = p.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).toList();
        assertEquals(1, l.size(), "exactly one " + op + " node in " + p.getGraph().getNodeList());
        return l.get(0);
    }

    private static float[] floats(ModelProto p, String name) {
        TensorProto t = p.getGraph().getInitializerList().stream().filter(x -> x.getName().equals(name)).findFirst().orElseThrow();
        return OnnxTensors.toTensor(t, null, "test").toFloatArray();
    }

    private static AttributeProto attr(NodeProto n, String name) {
        return n.getAttributeList().stream().filter(a -> a.getName().equals(name)).findFirst().orElse(null);
    }

    /** Block k must hold canonical gate blockToCanonical[k] of direction d, elements in order. */
    private static void checkBlocks(float[] v, int offset, int d, int what, int[] blockToCanonical, int blockSize) {
        for (int k = 0; k < blockToCanonical.length; k++) {
            for (int e = 0; e < blockSize; e++) {
                float expected = 1000 * (d + 1) + 100 * what + 10 * blockToCanonical[k] + e;
                assertEquals(expected, v[offset + k * blockSize + e], "direction " + d + " tensor " + what + " block " + k + " element " + e);
            }
        }
    }

    @Test
    void gruIsOneNodeWithGateBlocksInOnnxOrderZrh() {
        Layer.Gru gru = new Layer.Gru("gru", RecurrentPorts.withoutCell("X", null, "h0", "Y", "Y_h"),
                spec(Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, true, List.of(ActivationFn.SIGMOID, ActivationFn.TANH)),
                tagged(2, 3), GateOrder.Gru.PYTORCH);
        ModelProto p = OnnxExporter.toProto(model(gru, Layout.TIME_MAJOR, false, 2), 17, false);
        assertEquals(1, p.getGraph().getNodeCount(), "a time-major GRU needs no helper nodes");
        NodeProto n = only(p, "GRU");
        assertEquals(List.of("X", "gru_W", "gru_R", "gru_B", "", "h0"), n.getInputList());
        assertEquals(List.of("Y", "Y_h"), n.getOutputList());
        assertEquals(H, attr(n, "hidden_size").getI());
        assertEquals(1, attr(n, "linear_before_reset").getI());
        assertEquals("bidirectional", attr(n, "direction").getS().toStringUtf8());
        assertNull(attr(n, "activations"), "default activations are left out");
        int[] onnxToCanonical = {1, 0, 2}; // ONNX z, r, h; canonical r, z, n
        float[] w = floats(p, "gru_W");
        float[] r = floats(p, "gru_R");
        float[] b = floats(p, "gru_B");
        for (int d = 0; d < 2; d++) {
            checkBlocks(w, d * 3 * H * I, d, 1, onnxToCanonical, H * I);
            checkBlocks(r, d * 3 * H * H, d, 2, onnxToCanonical, H * H);
            checkBlocks(b, d * 6 * H, d, 3, onnxToCanonical, H);          // Wb
            checkBlocks(b, d * 6 * H + 3 * H, d, 4, onnxToCanonical, H);  // then Rb
        }
    }

    @Test
    void batchMajorRnnIsTransposedWithInt32LengthsAndExplicitActivations() {
        List<ActivationFn> acts = List.of(ActivationFn.of(Kind.AFFINE, 0.5f, 0.25f));
        Layer.Rnn rnn = new Layer.Rnn("rnn", RecurrentPorts.withoutCell("X", "lens", "h0", "Y", "Y_h"),
                spec(Direction.REVERSE, Layout.BATCH_MAJOR, false, acts), tagged(1, 1));
        ModelProto p = OnnxExporter.toProto(model(rnn, Layout.BATCH_MAJOR, true, 1), 13, false);
        NodeProto n = only(p, "RNN");
        assertNull(attr(n, "layout"));
        assertEquals("reverse", attr(n, "direction").getS().toStringUtf8());
        assertEquals(List.of("Affine"), attr(n, "activations").getStringsList().stream().map(s -> s.toStringUtf8()).toList());
        assertEquals(List.of(0.5f), attr(n, "activation_alpha").getFloatsList());
        assertEquals(List.of(0.25f), attr(n, "activation_beta").getFloatsList());
        assertEquals(4, p.getGraph().getNodeList().stream().filter(x -> x.getOpType().equals("Transpose")).count(),
                "X and h0 in, Y and Y_h out");
        NodeProto cast = only(p, "Cast");
        assertEquals(cast.getOutput(0), n.getInput(4));
        assertEquals(TensorProto.DataType.INT32_VALUE, attr(cast, "to").getI());
        checkBlocks(floats(p, n.getInput(1)), 0, 0, 1, new int[] {0}, H * I);
        // With layout=1 asked for at opset 14, no Transposes are needed.
        ModelProto q = OnnxExporter.toProto(model(rnn, Layout.BATCH_MAJOR, true, 1), 14, true);
        assertEquals(1, attr(only(q, "RNN"), "layout").getI());
        assertEquals(0, q.getGraph().getNodeList().stream().filter(x -> x.getOpType().equals("Transpose")).count());
    }
}
