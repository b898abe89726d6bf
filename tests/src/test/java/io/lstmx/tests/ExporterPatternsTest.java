package io.lstmx.tests;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.OperatorSetIdProto;
import io.lstmx.onnx.proto.Onnx.TensorProto.DataType;
import io.lstmx.onnx.proto.Onnx.TensorShapeProto;
import io.lstmx.onnx.proto.Onnx.TypeProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The graphs other exporters put around an ONNX LSTM, built by hand with random weights: the
 * import must compute what onnxruntime computes on the original graph. tf2onnx (Keras LSTM)
 * transposes batch-major input, builds zero states from Shape/Cast/Slice/Squeeze/Concat/
 * ConstantOfShape/Unsqueeze and squeezes the outputs; MATLAB's exportONNXNetwork keeps zero
 * states as initializers and takes the last step with Slice and Reshape.
 */
class ExporterPatternsTest {
    private static final int I = 3;
    private static final int H = 5;
    private final Random random = new Random(7);
    private final GraphProto.Builder g = GraphProto.newBuilder().setName("pattern");

    @TempDir
    Path dir;

    @Test
    void tf2onnxKerasLstm() throws IOException {
        input("x", "unk__7", 4, I);
        lstmWeights();
        initializer("zero", Tensor.ofLongs(new int[] {1}, new long[] {0}));
        initializer("one", Tensor.ofLongs(new int[] {1}, new long[] {1}));
        initializer("units", Tensor.ofLongs(DType.INT32, new int[] {1}, new long[] {H}));
        initializer("axis0", Tensor.ofLongs(new int[] {1}, new long[] {0}));
        initializer("axis1", Tensor.ofLongs(new int[] {1}, new long[] {1}));
        initializer("dense_w", randomTensor(H, 2));
        initializer("dense_b", randomTensor(2));
        node("Transpose", List.of("x"), List.of("xt"), ints("perm", 1, 0, 2));
        node("Shape", List.of("x"), List.of("shape"));
        node("Cast", List.of("shape"), List.of("shape32"), attr("to", DataType.INT32_VALUE));
        node("Slice", List.of("shape32", "zero", "one", "axis0"), List.of("batch1"));
        node("Squeeze", List.of("batch1", "axis0"), List.of("batch"));
        node("Unsqueeze", List.of("batch", "axis0"), List.of("batchv"));
        node("Concat", List.of("batchv", "units"), List.of("state_shape32"), attr("axis", 0));
        node("Cast", List.of("state_shape32"), List.of("state_shape"), attr("to", DataType.INT64_VALUE));
        node("ConstantOfShape", List.of("state_shape"), List.of("zeros"));
        node("Unsqueeze", List.of("zeros", "axis0"), List.of("h0"));
        node("LSTM", List.of("xt", "W", "R", "B", "", "h0", "h0"), List.of("Y", "Y_h"), attr("hidden_size", H));
        node("Squeeze", List.of("Y", "axis1"), List.of("ys"));
        node("Transpose", List.of("ys"), List.of("sequence"), ints("perm", 1, 0, 2));
        node("Squeeze", List.of("Y_h", "axis0"), List.of("last"));
        node("MatMul", List.of("last", "dense_w"), List.of("d"));
        node("Add", List.of("d", "dense_b"), List.of("logits"));
        node("Softmax", List.of("logits"), List.of("probs"), attr("axis", -1));
        g.addOutput(ValueInfoProto.newBuilder().setName("sequence")).addOutput(ValueInfoProto.newBuilder().setName("probs"));
        Model m = compare(13, Map.of("x", randomTensor(2, 4, I)));
        Layer.Lstm lstm = (Layer.Lstm) m.layers().stream().filter(l -> l instanceof Layer.Lstm).findFirst().orElseThrow();
        assertNull(lstm.initialH(), "the zero state of run-time batch is dropped");
        assertEquals(1, m.layers().stream().filter(l -> l instanceof Layer.Dense).count(), "MatMul + Add is one Dense");
    }

    @Test
    void matlabSequenceToLabel() throws IOException {
        input("sequenceinput", "SequenceLength", 1, I); // MATLAB: time-major [T, B, C]
        lstmWeights();
        initializer("h0", Tensor.zeros(1, 1, H));
        initializer("c0", Tensor.zeros(1, 1, H));
        initializer("fc_w", randomTensor(2, H));
        initializer("fc_b", randomTensor(2));
        initializer("flat", Tensor.ofLongs(new int[] {2}, new long[] {1, H}));
        node("LSTM", List.of("sequenceinput", "W", "R", "B", "", "h0", "c0"), List.of("Y"), attr("hidden_size", H));
        node("Transpose", List.of("Y"), List.of("yt"), ints("perm", 0, 2, 1, 3));
        node("Slice", List.of("yt"), List.of("last"), ints("starts", -1), ints("ends", Integer.MAX_VALUE), ints("axes", 0));
        node("Reshape", List.of("last", "flat"), List.of("flattened"));
        node("Gemm", List.of("flattened", "fc_w", "fc_b"), List.of("fc"), attr("transB", 1));
        node("Softmax", List.of("fc"), List.of("softmax"), attr("axis", 1));
        g.addOutput(ValueInfoProto.newBuilder().setName("softmax"));
        compare(9, Map.of("sequenceinput", randomTensor(6, 1, I)));
    }

    private Model compare(int opset, Map<String, Tensor> inputs) throws IOException {
        ModelProto model = ModelProto.newBuilder().setIrVersion(7).setProducerName("hand-built")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(opset)).setGraph(g).build();
        Path file = dir.resolve("pattern.onnx");
        Files.write(file, model.toByteArray());
        Model m = OnnxImporter.load(file, java.util.Map.of());
        Map<String, Tensor> expected = OnnxRuntimeReference.run(file, inputs);
        Map<String, Tensor> actual = NativeRuntime.compile(m).run(inputs);
        assertEquals(expected.keySet(), actual.keySet());
        for (String k : expected.keySet()) {
            TestFiles.assertClose(actual.get(k), expected.get(k), "output " + k);
        }
        return m;
    }

    private void lstmWeights() {
        initializer("W", randomTensor(1, 4 * H, I));
        initializer("R", randomTensor(1, 4 * H, H));
        initializer("B", randomTensor(1, 8 * H));
    }

    private Tensor randomTensor(int... shape) {
        float[] v = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian() * 0.5f;
        }
        return Tensor.ofFloats(shape, v);
    }

    /** A float graph input; dims are Integer (dim_value) or String (dim_param). */
    private void input(String name, Object... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            s.addDim(d instanceof Integer i ? TensorShapeProto.Dimension.newBuilder().setDimValue(i)
                    : TensorShapeProto.Dimension.newBuilder().setDimParam((String) d));
        }
        g.addInput(ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(DataType.FLOAT_VALUE).setShape(s))));
    }

    private void initializer(String name, Tensor t) {
        g.addInitializer(OnnxTensors.fromTensor(name, t));
    }

    private void node(String op, List<String> in, List<String> out, AttributeProto... attrs) {
        g.addNode(NodeProto.newBuilder().setName(op + "_" + g.getNodeCount()).setOpType(op).addAllInput(in).addAllOutput(out)
                .addAllAttribute(Arrays.asList(attrs)));
    }

    private static AttributeProto attr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        Arrays.stream(v).forEach(b::addInts);
        return b.build();
    }
}
