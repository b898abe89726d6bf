package io.lstmx.importers.onnx.ops;

import com.google.protobuf.ByteString;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
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

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Builds small ONNX graphs by hand for the converter tests. */
final class OnnxBuilder {
    static final int FLOAT = DataType.FLOAT_VALUE;
    static final int INT64 = DataType.INT64_VALUE;
    static final int INT32 = DataType.INT32_VALUE;

    private final GraphProto.Builder graph = GraphProto.newBuilder().setName("g");
    private final int opset;
    private int nodes;

    OnnxBuilder(int opset) {
        this.opset = opset;
    }

    /** A graph input; dims are Integer (dim_value), String (dim_param) or null (neither). */
    OnnxBuilder input(String name, int elemType, Object... dims) {
        graph.addInput(valueInfo(name, elemType, dims));
        return this;
    }

    /** A graph input without any shape information. */
    OnnxBuilder inputNoShape(String name, int elemType) {
        graph.addInput(ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType))));
        return this;
    }

    OnnxBuilder initializer(String name, Tensor t) {
        graph.addInitializer(OnnxTensors.fromTensor(name, t));
        return this;
    }

    OnnxBuilder node(String op, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
        return node("n" + nodes, op, inputs, outputs, attrs);
    }

    OnnxBuilder node(String name, String op, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
        nodes++;
        graph.addNode(NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(inputs).addAllOutput(outputs)
                .addAllAttribute(Arrays.asList(attrs)));
        return this;
    }

    /** A graph output without type information. */
    OnnxBuilder output(String name) {
        graph.addOutput(ValueInfoProto.newBuilder().setName(name));
        return this;
    }

    OnnxBuilder output(String name, int elemType, Object... dims) {
        graph.addOutput(valueInfo(name, elemType, dims));
        return this;
    }

    ModelProto build() {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("hand").setProducerVersion("1")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(graph).build();
    }

    Model convert() {
        return convert(Map.of());
    }

    Model convert(Map<String, Tensor> constants) {
        return GraphConverter.convert(build(), "test.onnx", null, constants);
    }

    LstmxException fails(ErrorCode code) {
        LstmxException e = assertThrows(LstmxException.class, this::convert);
        assertEquals(code, e.code(), e.getMessage());
        return e;
    }

    private static ValueInfoProto valueInfo(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder b = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Integer i) {
                b.setDimValue(i);
            } else if (d instanceof String s) {
                b.setDimParam(s);
            }
            shape.addDim(b);
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
                .build();
    }

    // ---- attributes

    static AttributeProto attr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    static AttributeProto attr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    static AttributeProto attr(String name, String v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(v)).build();
    }

    static AttributeProto attr(String name, Tensor t) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.TENSOR)
                .setT(OnnxTensors.fromTensor("", t)).build();
    }

    static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) {
            b.addInts(x);
        }
        return b.build();
    }

    static AttributeProto floats(String name, float... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOATS);
        for (float x : v) {
            b.addFloats(x);
        }
        return b.build();
    }

    static AttributeProto strings(String name, String... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRINGS);
        for (String x : v) {
            b.addStrings(ByteString.copyFromUtf8(x));
        }
        return b.build();
    }

    // ---- tensors and checks

    static Tensor f(int[] shape, float... v) {
        return Tensor.ofFloats(shape, v);
    }

    static Tensor l(int[] shape, long... v) {
        return Tensor.ofLongs(shape, v);
    }

    static int[] s(int... dims) {
        return dims;
    }

    /** Layers of the given kind, in order. */
    static <T extends Layer> List<T> layers(Model m, Class<T> kind) {
        List<T> l = new ArrayList<>();
        for (Layer x : m.layers()) {
            if (kind.isInstance(x)) {
                l.add(kind.cast(x));
            }
        }
        return l;
    }

    static <T extends Layer> T only(Model m, Class<T> kind) {
        List<T> l = layers(m, kind);
        assertEquals(1, l.size(), "one " + kind.getSimpleName() + " layer in " + m.layers());
        return l.get(0);
    }

    /** The value of a constant output (a model whose output is a Constant layer). */
    static Tensor constantOutput(Model m, String name) {
        for (Layer x : m.layers()) {
            if (x instanceof Layer.Constant c && c.output().equals(name)) {
                return c.value();
            }
        }
        throw new AssertionError("no Constant layer writes " + name + " in " + m.layers());
    }

    /** The logistic function in double precision, for expected values worked out by hand from the ONNX equations. */
    static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    static Map<String, Tensor> run(Model m, Map<String, Tensor> inputs) {
        return NativeRuntime.compile(m).run(inputs);
    }

    static void assertValues(Tensor actual, int[] shape, float... expected) {
        assertArrayEquals(shape, actual.shape(), "shape");
        float[] a = actual.toFloatArray();
        assertEquals(expected.length, a.length, "size");
        for (int i = 0; i < a.length; i++) {
            assertEquals(expected[i], a[i], 1e-5 + 1e-4 * Math.abs(expected[i]), "element " + i + " of " + Arrays.toString(a));
        }
    }
}
