package io.lstmx.exporters.onnx;

import com.google.protobuf.ByteString;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.FunctionProto;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.SparseTensorProto;
import io.lstmx.onnx.proto.Onnx.StringStringEntryProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ONNX writer streams each initializer's raw_data from the model's tensors instead of building
 * the whole ModelProto (issue 9): the file must hold exactly the bytes protobuf's own serialization
 * of that ModelProto gives, and external data exactly the tensors' bytes.
 */
class StreamedModelTest {
    private static final int I = 5;
    private static final int H = 4;

    @TempDir
    Path dir;

    private static Tensor random(SplittableRandom r, int... shape) {
        float[] v = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() - 0.5);
        }
        return Tensor.ofFloats(shape, v);
    }

    private static ValueInfo f32(String name, Object... dims) {
        return new ValueInfo(name, DType.FLOAT32, Shape.of(dims));
    }

    private static List<ActivationFn> repeat(List<ActivationFn> perDirection, int dirs) {
        List<ActivationFn> l = new ArrayList<>();
        for (int d = 0; d < dirs; d++) {
            l.addAll(perDirection);
        }
        return l;
    }

    /** A bidirectional LSTM with peepholes and a forget bias, then a batch-first GRU, an RNN, Dense layers, an embedding and a Squeeze. */
    private static Map<String, Model> models() {
        SplittableRandom r = new SplittableRandom(7);
        Map<String, Model> m = new LinkedHashMap<>();
        List<LstmWeights> lw = new ArrayList<>();
        for (int d = 0; d < 2; d++) {
            lw.add(new LstmWeights(random(r, 4 * H, I), random(r, 4 * H, H), random(r, 4 * H), random(r, 4 * H), random(r, 3 * H), null));
        }
        LstmSpec spec = new LstmSpec(I, H, 0, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, null, false,
                repeat(List.of(ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH), 2), null, 1f);
        m.put("lstm", new Model("lstm", new ModelInfo("onnx", "test", ""), List.of(f32("X", "T", "B", I)),
                List.of(f32("Y", "T", 2, "B", H), f32("Y_h", 2, "B", H)),
                List.of(new Layer.Lstm("l", new RecurrentPorts("X", null, null, null, "Y", "Y_h", null), spec, lw, GateOrder.ONNX))));
        List<RecurrentWeights> gw = new ArrayList<>();
        for (int d = 0; d < 2; d++) {
            gw.add(new RecurrentWeights(random(r, 3 * H, I), random(r, 3 * H, H), random(r, 3 * H), random(r, 3 * H)));
        }
        m.put("gru", new Model("gru", ModelInfo.NONE, List.of(f32("X", "B", "T", I)), List.of(f32("Y_h", "B", 2, H)),
                List.of(new Layer.Gru("g", RecurrentPorts.withoutCell("X", null, null, null, "Y_h"), new RecurrentSpec(I, H, Direction.BIDIRECTIONAL,
                        Layout.BATCH_MAJOR, null, true, repeat(List.of(ActivationFn.SIGMOID, ActivationFn.TANH), 2)), gw, GateOrder.Gru.PYTORCH))));
        m.put("rnn", new Model("rnn", ModelInfo.NONE, List.of(f32("X", "T", "B", I)), List.of(f32("Y", "T", 1, "B", H)),
                List.of(new Layer.Rnn("r", RecurrentPorts.withoutCell("X", null, null, "Y", null), new RecurrentSpec(I, H, Direction.FORWARD,
                        Layout.TIME_MAJOR, null, false, List.of(ActivationFn.TANH)),
                        List.of(new RecurrentWeights(random(r, H, I), random(r, H, H), Tensor.zeros(H), Tensor.zeros(H)))))));
        m.put("dense", new Model("dense", ModelInfo.NONE, List.of(f32("x", "n", 1, I)), List.of(f32("z", "n", 3)),
                List.of(new Layer.Dense("fc", "x", "y", random(r, H, I), random(r, H)),
                        new Layer.Dense("half", "y", "h", random(r, 3, H).withDType(DType.FLOAT16), null),
                        new Layer.Squeeze("sq", "h", "z", List.of(1)))));
        m.put("embedding", new Model("embedding", ModelInfo.NONE, List.of(new ValueInfo("ids", DType.INT64, Shape.of("n"))),
                List.of(f32("e", "n", H)), List.of(new Layer.Embedding("emb", "ids", "e", random(r, 11, H)))));
        return m;
    }

    private byte[] saved(Model m, int opset, long externalLimit) throws IOException {
        Path p = dir.resolve("m.onnx");
        OnnxExporter.save(m, p, opset, false, externalLimit);
        return Files.readAllBytes(p);
    }

    @Test
    void theFileIsWhatProtobufWritesForTheWholeModel() throws IOException {
        int compared = 0;
        for (Map.Entry<String, Model> e : models().entrySet()) {
            for (int opset : new int[] {7, 9, 11, 13, 14, 17, 22}) {
                ModelProto whole;
                try {
                    whole = OnnxExporter.toProto(e.getValue(), opset, false);
                } catch (LstmxException refused) {
                    assertEquals(ErrorCode.UNSUPPORTED, refused.code(), refused.getMessage());
                    continue; // a feature this opset lacks
                }
                assertArrayEquals(whole.toByteArray(), saved(e.getValue(), opset, ExternalData.DEFAULT_LIMIT), e.getKey() + " at opset " + opset);
                compared++;
            }
        }
        assertTrue(compared >= 30, compared + " models compared");
    }

    @Test
    void externalDataHoldsEachLargeInitializerAtAnAlignedOffset() throws IOException {
        SplittableRandom r = new SplittableRandom(3);
        int h = 16;
        int in = 8;
        List<LstmWeights> lw = new ArrayList<>();
        for (int d = 0; d < 2; d++) {
            lw.add(new LstmWeights(random(r, 4 * h, in), random(r, 4 * h, h), random(r, 4 * h), random(r, 4 * h), random(r, 3 * h), null));
        }
        Model m = new Model("big", ModelInfo.NONE, List.of(f32("X", "T", "B", in)), List.of(f32("Y_h", 2, "B", h)),
                List.of(new Layer.Lstm("l", new RecurrentPorts("X", null, null, null, null, "Y_h", null),
                        LstmSpec.standard(in, h, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR), lw, GateOrder.CANONICAL)));
        ModelProto whole = OnnxExporter.toProto(m, 17, false);
        byte[] file = saved(m, 17, 1024);
        byte[] data = Files.readAllBytes(dir.resolve("m.onnx.data"));
        ModelProto written = ModelProto.parseFrom(file);
        assertArrayEquals(written.toByteArray(), file, "protobuf's own serialization");
        GraphProto.Builder expected = whole.getGraph().toBuilder();
        int moved = 0;
        for (int i = 0; i < whole.getGraph().getInitializerCount(); i++) {
            TensorProto t = whole.getGraph().getInitializer(i);
            TensorProto w = written.getGraph().getInitializer(i);
            if (t.getRawData().size() < ExternalData.MIN_EXTERNAL_BYTES) {
                assertEquals(t, w, "a small tensor stays inside");
                continue;
            }
            moved++;
            Map<String, String> ext = new LinkedHashMap<>();
            for (StringStringEntryProto e : w.getExternalDataList()) {
                ext.put(e.getKey(), e.getValue());
            }
            assertEquals(List.of("location", "offset", "length"), List.copyOf(ext.keySet()));
            assertEquals("m.onnx.data", ext.get("location"));
            int offset = Integer.parseInt(ext.get("offset"));
            int length = Integer.parseInt(ext.get("length"));
            assertEquals(0, offset % 4096, "aligned for mapping");
            assertEquals(t.getRawData(), ByteString.copyFrom(data, offset, length), t.getName());
            expected.setInitializer(i, t.toBuilder().clearRawData().setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addAllExternalData(w.getExternalDataList()));
        }
        assertEquals(3, moved, "W, R and B of a bidirectional LSTM of 16 units; P (384 bytes) stays");
        assertEquals(whole.toBuilder().setGraph(expected).build(), written, "nothing else differs");
    }

    /**
     * The framing around the streamed fields is generic: fields numbered below and above the graph,
     * the initializers and raw_data (doc strings, metadata, value_info, sparse initializers,
     * functions) land where protobuf puts them; initializers already external are written whole.
     */
    @Test
    void everyFieldAroundTheStreamedOnesIsWhereProtobufPutsIt() throws IOException {
        StringStringEntryProto meta = StringStringEntryProto.newBuilder().setKey("k").setValue("v").build();
        TensorProto a = OnnxTensors.fromTensor("a", Tensor.ofFloats(new int[] {3}, new float[] {1, 2, 3})).toBuilder()
                .setDocString("about a").addMetadataProps(meta).build();
        TensorProto b = OnnxTensors.fromTensor("b", Tensor.ofLongs(new int[] {2}, new long[] {4, -5}));
        TensorProto ext = TensorProto.newBuilder().setName("c").addDims(2).setDataType(1).setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("c.bin")).build();
        TensorProto empty = OnnxTensors.fromTensor("d", Tensor.zeros(0));
        GraphProto g = GraphProto.newBuilder().setName("g").addNode(NodeProto.newBuilder().setOpType("Add").addInput("a").addInput("c").addOutput("y"))
                .addInitializer(a).addInitializer(b).addInitializer(ext).addInitializer(empty).setDocString("graph doc")
                .addInput(ValueInfoProto.newBuilder().setName("x")).addOutput(ValueInfoProto.newBuilder().setName("y"))
                .addValueInfo(ValueInfoProto.newBuilder().setName("v"))
                .addSparseInitializer(SparseTensorProto.newBuilder().setValues(b)).addMetadataProps(meta).build();
        ModelProto whole = ModelProto.newBuilder().setIrVersion(9).setProducerName("p").setProducerVersion("1").setDomain("d").setModelVersion(3)
                .setDocString("model doc").setGraph(g).addOpsetImport(io.lstmx.onnx.proto.Onnx.OperatorSetIdProto.newBuilder().setVersion(17))
                .addMetadataProps(meta).addFunctions(FunctionProto.newBuilder().setName("f").setDomain("x")).build();
        List<StreamedModel.Initializer> inits = new ArrayList<>();
        for (TensorProto t : g.getInitializerList()) {
            inits.add(t.hasRawData() ? new StreamedModel.Initializer(t.toBuilder().clearRawData().build(), StreamedModel.RawData.of(t.getRawData()))
                    : new StreamedModel.Initializer(t, null));
        }
        ModelProto skeleton = whole.toBuilder().setGraph(g.toBuilder().clearInitializer()).build();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StreamedModel.write(skeleton, inits, out);
        assertArrayEquals(whole.toByteArray(), out.toByteArray());
        for (StreamedModel.Initializer i : inits) {
            assertEquals(i.toProto().getSerializedSize(), i.serializedSize());
        }
    }

    @Test
    void gateBlockRunsAreTheOnnxOrderOfTheCanonicalWeights() {
        assertArrayEquals(new int[] {0, 3, 1, 2}, OnnxExporter.blocksFromCanonical(t -> GateOrder.ONNX.fromCanonical(t, 0), 4), "i, o, f, c");
        assertArrayEquals(new int[] {1, 0, 2}, OnnxExporter.blocksFromCanonical(t -> GateOrder.Gru.ONNX.fromCanonical(t, 0), 3), "z, r, h");
        Tensor w = Tensor.ofFloats(new int[] {8, 1}, new float[] {0, 1, 2, 3, 4, 5, 6, 7});
        List<StreamedModel.Run> runs = new ArrayList<>();
        for (int k : OnnxExporter.blocksFromCanonical(t -> GateOrder.ONNX.fromCanonical(t, 0), 4)) {
            runs.add(new StreamedModel.Run(w, 2 * k, 2));
        }
        Tensor streamed = OnnxTensors.toTensor(TensorProto.newBuilder().addDims(8).addDims(1).setDataType(1)
                .setRawData(StreamedModel.floats(runs).toByteString()).build(), null, "t");
        assertTrue(GateOrder.ONNX.fromCanonical(w, 0).bitEquals(streamed));
    }
}
