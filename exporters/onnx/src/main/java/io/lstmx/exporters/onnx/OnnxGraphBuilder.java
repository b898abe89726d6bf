package io.lstmx.exporters.onnx;

import com.google.protobuf.ByteString;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.OperatorSetIdProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.onnx.proto.Onnx.TensorShapeProto;
import io.lstmx.onnx.proto.Onnx.TypeProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;
import io.lstmx.util.UniqueNames;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Assembles one ONNX graph: hands out unique value and node names, collects initializers and nodes
 * (in the order they are applied, which must be topological), declares graph inputs and outputs,
 * and finally wraps everything in a ModelProto stamped with the opset and its matching ir_version.
 */
final class OnnxGraphBuilder {
    static final String PRODUCER_NAME = "lstmx";
    static final String PRODUCER_VERSION = "0.1.0";

    private final String graphName;
    private final int opset;
    /**
     * Every value name in use or promised to the IR (so generated names never capture one). Derived
     * names are numbered from 1 ({@code Identity}, {@code Identity_1} ...); UniqueNames remembers the
     * next number per base, where probing from 1 each time made n nodes of one kind cost n^2.
     */
    private final UniqueNames valueNames = UniqueNames.numberedFrom(1);
    /** Values that already have a producer (node output, initializer or graph input). */
    private final Set<String> defined = new HashSet<>();
    private final UniqueNames nodeNames = UniqueNames.numberedFrom(1);
    private final List<NodeProto> nodes = new ArrayList<>();
    /** Initializers with their raw_data still in the model's tensors: written by streaming, or materialised by {@link #build}. */
    private final List<StreamedModel.Initializer> initializers = new ArrayList<>();
    private final List<ValueInfoProto> inputs = new ArrayList<>();
    private final List<ValueInfoProto> outputs = new ArrayList<>();
    private String docString = "";

    OnnxGraphBuilder(String graphName, int opset) {
        this.graphName = graphName == null || graphName.isEmpty() ? "lstmx" : graphName;
        this.opset = opset;
    }

    int opset() {
        return opset;
    }

    /** The ONNX ir_version that goes with a default-domain opset (the oldest that allows it, for the widest reach). */
    static long irVersionFor(int opset) {
        if (opset <= 8) {
            return 3;
        }
        if (opset == 9) {
            return 4;
        }
        if (opset == 10) {
            return 5;
        }
        if (opset == 11) {
            return 6;
        }
        if (opset <= 14) {
            return 7;
        }
        if (opset <= 18) {
            return 8;
        }
        if (opset <= 20) {
            return 9;
        }
        return 10;
    }

    /** Claims a name the IR already uses, so that {@link #fresh} never hands it out. */
    void reserve(String name) {
        valueNames.reserve(name);
    }

    /** A value name not used anywhere in the graph, derived from {@code hint}. */
    String fresh(String hint) {
        return valueNames.fresh(hint == null || hint.isEmpty() ? "v" : hint);
    }

    private String freshNodeName(String hint) {
        return nodeNames.fresh(hint == null || hint.isEmpty() ? "node" : hint);
    }

    private void define(String name) {
        if (!defined.add(name)) {
            throw LstmxException.internal("ONNX export: value '" + name + "' would be produced twice");
        }
        valueNames.reserve(name);
    }

    /** Adds an initializer under a fresh name derived from {@code nameHint}; returns the name. */
    String initializer(String nameHint, Tensor t) {
        String name = fresh(nameHint);
        initializerNamed(name, t);
        return name;
    }

    /** Adds an initializer under exactly {@code name} (an IR value name). */
    void initializerNamed(String name, Tensor t) {
        define(name);
        Tensor c = computeType(t);
        if (c.dtype() == DType.FLOAT32) {
            // the bytes are written from the tensor's floats when the file is: no copy held meanwhile
            initializers.add(new StreamedModel.Initializer(OnnxTensors.header(name, c), StreamedModel.floats(List.of(StreamedModel.Run.whole(c)))));
        } else {
            TensorProto p = OnnxTensors.fromTensor(name, c); // integer tensors: shapes, axes, indices
            initializers.add(new StreamedModel.Initializer(p.toBuilder().clearRawData().build(), StreamedModel.RawData.of(p.getRawData())));
        }
    }

    /**
     * Adds a float32 initializer of {@code shape} under a fresh name derived from {@code nameHint}
     * whose values are {@code runs} one after the other (gate blocks of canonical weights in ONNX
     * order, read where they are); returns the name.
     */
    String initializer(String nameHint, int[] shape, List<StreamedModel.Run> runs) {
        String name = fresh(nameHint);
        TensorProto header = OnnxTensors.header(name, DType.FLOAT32, shape);
        StreamedModel.RawData data = StreamedModel.floats(runs);
        if (data.size() != 4L * Tensor.elementCount(shape)) {
            throw LstmxException.internal("ONNX export: initializer '" + name + "' of shape " + java.util.Arrays.toString(shape)
                    + " given " + data.size() / 4 + " values");
        }
        define(name);
        initializers.add(new StreamedModel.Initializer(header, data));
        return name;
    }

    /** The initializers, in order, their raw_data not materialised. */
    List<StreamedModel.Initializer> initializers() {
        return List.copyOf(initializers);
    }

    /**
     * A half-precision tensor widened to float32 (exactly). The IR computes every floating value in
     * float32, so the graph's operators read float32: an ONNX operator takes all its float inputs
     * in one type, and a float16 weight beside a float32 input would make the model invalid.
     */
    static Tensor computeType(Tensor t) {
        return t.dtype().isHalf() ? t.withDType(DType.FLOAT32) : t;
    }

    /** A 1-D int64 initializer, as Reshape, Slice, Squeeze and Unsqueeze take their shapes and axes. */
    String int64s(String nameHint, long... values) {
        return initializer(nameHint, Tensor.ofLongs(new int[] {values.length}, values));
    }

    /** A float32 scalar initializer. */
    String scalar(String nameHint, float value) {
        return initializer(nameHint, Tensor.scalar(value));
    }

    void input(ValueInfo v) {
        define(v.name());
        inputs.add(valueInfo(v));
    }

    void output(ValueInfo v) {
        outputs.add(valueInfo(v));
    }

    void docString(String s) {
        docString = s == null ? "" : s;
    }

    /** Starts a node of operator {@code op} reading {@code inputs} (null or "" for an absent optional input). */
    Node apply(String op, String... inputs) {
        return new Node(op, inputs);
    }

    static ValueInfoProto valueInfo(ValueInfo v) {
        TypeProto.Tensor.Builder tt = TypeProto.Tensor.newBuilder().setElemType(OnnxTensors.onnxType(v.dtype()));
        Shape s = v.shape();
        if (s.rankKnown()) {
            TensorShapeProto.Builder sb = TensorShapeProto.newBuilder();
            for (Dim d : s.dims()) {
                TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
                if (d instanceof Dim.Fixed f) {
                    db.setDimValue(f.size());
                } else if (d instanceof Dim.Symbolic sym && !sym.name().isEmpty()) {
                    db.setDimParam(sym.name());
                }
                // an anonymous symbolic dim stays an empty Dimension: unknown size
                sb.addDim(db);
            }
            tt.setShape(sb);
        }
        return ValueInfoProto.newBuilder().setName(v.name()).setType(TypeProto.newBuilder().setTensorType(tt)).build();
    }

    /** Wraps the graph in a model, every initializer's raw_data materialised. */
    ModelProto build() {
        return build(true);
    }

    /**
     * The model without its initializers, which {@link StreamedModel#write} adds while writing it
     * ({@link #initializers()}, or those ExternalData made of them).
     */
    ModelProto skeleton() {
        return build(false);
    }

    private ModelProto build(boolean withInitializers) {
        GraphProto.Builder g = GraphProto.newBuilder().setName(graphName).addAllNode(nodes);
        if (withInitializers) {
            for (StreamedModel.Initializer i : initializers) {
                g.addInitializer(i.toProto());
            }
        }
        g.addAllInput(inputs).addAllOutput(outputs);
        long ir = irVersionFor(opset);
        if (ir <= 3) {
            // IR version 3 requires every initializer to be declared as a graph input too.
            for (StreamedModel.Initializer i : initializers) {
                TensorProto t = i.header();
                g.addInput(valueInfo(new ValueInfo(t.getName(), irType(t.getDataType()), fixedShape(t))));
            }
        }
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(ir).setProducerName(PRODUCER_NAME)
                .setProducerVersion(PRODUCER_VERSION)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(g);
        if (!docString.isEmpty()) {
            m.setDocString(docString);
        }
        return m.build();
    }

    private static DType irType(int onnxType) {
        return OnnxTensors.irType(onnxType, "initializer");
    }

    private static Shape fixedShape(TensorProto t) {
        List<Dim> dims = new ArrayList<>();
        for (long d : t.getDimsList()) {
            dims.add(Dim.of(d));
        }
        return new Shape(dims);
    }

    /** One node under construction: attributes are added fluently, naming the outputs adds it to the graph. */
    final class Node {
        private final NodeProto.Builder b;
        private String nameHint;

        private Node(String op, String... ins) {
            b = NodeProto.newBuilder().setOpType(op);
            nameHint = op;
            int last = ins.length - 1;
            while (last >= 0 && (ins[last] == null || ins[last].isEmpty())) {
                last--; // trailing absent optional inputs are simply left out
            }
            for (int i = 0; i <= last; i++) {
                String in = ins[i] == null ? "" : ins[i];
                if (!in.isEmpty() && !defined.contains(in)) {
                    throw LstmxException.internal("ONNX export: " + op + " reads '" + in + "' before it is produced");
                }
                b.addInput(in);
            }
        }

        /** Node name hint (made unique); defaults to the operator name. */
        Node named(String hint) {
            nameHint = hint;
            return this;
        }

        Node attr(String name, long v) {
            b.addAttribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v));
            return this;
        }

        Node attr(String name, float v) {
            b.addAttribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v));
            return this;
        }

        Node attr(String name, String v) {
            b.addAttribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING)
                    .setS(ByteString.copyFromUtf8(v)));
            return this;
        }

        Node attr(String name, Tensor v) {
            b.addAttribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.TENSOR)
                    .setT(OnnxTensors.fromTensor("", computeType(v))));
            return this;
        }

        Node ints(String name, List<? extends Number> v) {
            AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
            for (Number n : v) {
                a.addInts(n.longValue());
            }
            b.addAttribute(a);
            return this;
        }

        Node ints(String name, long... v) {
            AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
            for (long n : v) {
                a.addInts(n);
            }
            b.addAttribute(a);
            return this;
        }

        Node floats(String name, List<Float> v) {
            b.addAttribute(AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOATS).addAllFloats(v));
            return this;
        }

        Node strings(String name, List<String> v) {
            AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRINGS);
            for (String s : v) {
                a.addStrings(ByteString.copyFromUtf8(s));
            }
            b.addAttribute(a);
            return this;
        }

        /** Adds the node with one output named exactly {@code name}; returns it. */
        String output(String name) {
            return outputs(name).get(0);
        }

        /** Adds the node with one output under a fresh name derived from {@code hint}. */
        String freshOutput(String hint) {
            return output(fresh(hint));
        }

        /** Adds the node with the given outputs (null or "" for an absent optional output); returns them. */
        List<String> outputs(String... names) {
            int last = names.length - 1;
            while (last >= 0 && (names[last] == null || names[last].isEmpty())) {
                last--;
            }
            List<String> out = new ArrayList<>();
            for (int i = 0; i <= last; i++) {
                String n = names[i] == null ? "" : names[i];
                if (!n.isEmpty()) {
                    define(n);
                }
                b.addOutput(n);
                out.add(n);
            }
            if (out.isEmpty()) {
                throw LstmxException.internal("ONNX export: " + b.getOpType() + " node without outputs");
            }
            b.setName(freshNodeName(nameHint));
            nodes.add(b.build());
            return out;
        }
    }
}
