package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.importers.kit.NodeContext;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.AttributeProto.AttributeType;
import io.lstmx.onnx.proto.Onnx.NodeProto;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** One ONNX node being converted: typed access to its inputs, attributes and outputs. */
final class OnnxNode implements NodeContext {
    private final GraphConverter graph;
    private final NodeProto proto;
    private final String layerName;
    private int extraLayers;

    OnnxNode(GraphConverter graph, NodeProto proto, String layerName) {
        this.graph = graph;
        this.proto = proto;
        this.layerName = layerName;
    }

    String opType() {
        return proto.getOpType();
    }

    long opset() {
        return graph.opset();
    }

    /** "node 'name' (OpType)" for messages. */
    String label() {
        return "node '" + (proto.getName().isEmpty() ? layerName : proto.getName()) + "' (" + proto.getOpType() + ")";
    }

    GraphConverter graph() {
        return graph;
    }

    /** "file: node 'name' (OpType)": the context that messages about this node start with. */
    @Override
    public String where() {
        return graph.file() + ": " + label();
    }

    // ---- errors

    /** A BAD_INPUT error naming the file and this node. */
    @Override
    public LstmxException bad(String message) {
        return LstmxException.badInput(where() + ": " + message);
    }

    /** An UNSUPPORTED refusal; the graph converter collects these and reports them together. */
    @Override
    public LstmxException unsupported(String message) {
        return new LstmxException(ErrorCode.UNSUPPORTED, label() + ": " + message);
    }

    // ---- inputs

    int inputCount() {
        return proto.getInputCount();
    }

    boolean hasInput(int i) {
        return i < proto.getInputCount() && !proto.getInput(i).isEmpty();
    }

    String inputName(int i) {
        return hasInput(i) ? proto.getInput(i) : "";
    }

    /** The value of input {@code i}, or null when absent. */
    Value in(int i) {
        return hasInput(i) ? graph.value(proto.getInput(i)) : null;
    }

    Value required(int i, String what) {
        Value v = in(i);
        if (v == null) {
            throw bad("required input " + i + " (" + what + ") is missing");
        }
        return v;
    }

    /**
     * Input {@code i} as a constant tensor (filled values of known shape and fully known shape
     * vectors are materialised), or null when absent; UNSUPPORTED when it is only known at run time.
     */
    Tensor constIn(int i, String what) {
        Value v = in(i);
        if (v == null) {
            return null;
        }
        Tensor t = graph.asConst(v, inputName(i));
        if (t == null) {
            throw unsupported(what + " '" + inputName(i) + "' must be a constant (initializer, Constant node or foldable expression)"
                    + ", but it is " + Value.describe(v));
        }
        return t;
    }

    /** Input {@code i} as the name of an IR value (constants become Constant layers). */
    String runIn(int i) {
        return graph.materialize(inputName(i), required(i, "input " + i), this);
    }

    /** Input {@code i} as a run-time value (constants are materialised), with its type and shape. */
    Value.Run runValue(int i) {
        Value v = required(i, "input " + i);
        if (v instanceof Value.Run r) {
            return r;
        }
        String name = graph.materialize(inputName(i), v, this);
        return new Value.Run(name, Value.dtypeOf(v), Value.shapeOf(v));
    }

    // ---- attributes
    //
    // The static forms read any NodeProto and let the caller choose what a value of the wrong type
    // throws: this node's BAD_INPUT here, "no match" in PackedSequenceRewrite, which inspects nodes
    // before they are converted.

    /** Attribute {@code name} of {@code n}, or null when absent. */
    static AttributeProto attribute(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a;
            }
        }
        return null;
    }

    /**
     * Attribute {@code name} of {@code n} checked to be of type {@code expected}, or null when absent.
     * A value of another type would otherwise read as 0 or empty and silently change the node's
     * meaning; it throws what {@code wrongType} makes of a description of the problem.
     */
    static <E extends Exception> AttributeProto attribute(NodeProto n, String name, AttributeType expected,
                                                           Function<String, E> wrongType) throws E {
        AttributeProto a = attribute(n, name);
        if (a != null && !isOfType(a, expected)) {
            throw wrongType.apply("attribute '" + name + "' is " + typeOf(a) + ", expected " + expected);
        }
        return a;
    }

    static <E extends Exception> long attrInt(NodeProto n, String name, long dflt, Function<String, E> wrongType) throws E {
        AttributeProto a = attribute(n, name, AttributeType.INT, wrongType);
        return a == null ? dflt : a.getI();
    }

    static <E extends Exception> String attrString(NodeProto n, String name, String dflt, Function<String, E> wrongType) throws E {
        AttributeProto a = attribute(n, name, AttributeType.STRING, wrongType);
        return a == null ? dflt : a.getS().toStringUtf8();
    }

    /** INTS attribute, or null when absent. */
    static <E extends Exception> List<Long> attrInts(NodeProto n, String name, Function<String, E> wrongType) throws E {
        AttributeProto a = attribute(n, name, AttributeType.INTS, wrongType);
        return a == null ? null : a.getIntsList();
    }

    private AttributeProto attr(String name) {
        return attribute(proto, name);
    }

    boolean hasAttr(String name) {
        return attr(name) != null;
    }

    private AttributeProto attr(String name, AttributeType expected) {
        return attribute(proto, name, expected, this::bad);
    }

    private static boolean isOfType(AttributeProto a, AttributeType t) {
        if (a.hasType() && a.getType() != AttributeType.UNDEFINED) {
            return a.getType() == t;
        }
        if (a.hasType()) {
            return false; // explicitly UNDEFINED
        }
        // IR version 1 files may leave the type out; then the field that is set tells it.
        boolean scalar = a.hasI() || a.hasF() || a.hasS() || a.hasT() || a.hasG();
        return switch (t) {
            case INT -> a.hasI();
            case FLOAT -> a.hasF();
            case STRING -> a.hasS();
            case TENSOR -> a.hasT();
            case INTS -> !scalar && a.getFloatsCount() == 0 && a.getStringsCount() == 0;
            case FLOATS -> !scalar && a.getIntsCount() == 0 && a.getStringsCount() == 0;
            case STRINGS -> !scalar && a.getIntsCount() == 0 && a.getFloatsCount() == 0;
            default -> false;
        };
    }

    private static String typeOf(AttributeProto a) {
        if (a.hasType()) {
            return a.getType().name();
        }
        return a.hasI() ? "an INT" : a.hasF() ? "a FLOAT" : a.hasS() ? "a STRING" : a.hasT() ? "a TENSOR" : a.hasG() ? "a GRAPH"
                : a.getIntsCount() > 0 ? "INTS" : a.getFloatsCount() > 0 ? "FLOATS" : a.getStringsCount() > 0 ? "STRINGS" : "without a value";
    }

    long attrInt(String name, long dflt) {
        return attrInt(proto, name, dflt, this::bad);
    }

    float attrFloat(String name, float dflt) {
        AttributeProto a = attr(name, AttributeType.FLOAT);
        return a == null ? dflt : a.getF();
    }

    String attrString(String name, String dflt) {
        return attrString(proto, name, dflt, this::bad);
    }

    /** INTS attribute, or null when absent. */
    List<Long> attrInts(String name) {
        return attrInts(proto, name, this::bad);
    }

    List<Float> attrFloats(String name) {
        AttributeProto a = attr(name, AttributeType.FLOATS);
        return a == null ? null : a.getFloatsList();
    }

    List<String> attrStrings(String name) {
        AttributeProto a = attr(name, AttributeType.STRINGS);
        if (a == null) {
            return null;
        }
        List<String> l = new ArrayList<>();
        a.getStringsList().forEach(s -> l.add(s.toStringUtf8()));
        return l;
    }

    Tensor attrTensor(String name) {
        AttributeProto a = attr(name, AttributeType.TENSOR);
        if (a == null) {
            return null;
        }
        if (!a.hasT()) {
            throw bad("attribute '" + name + "' holds no tensor");
        }
        return OnnxTensors.toTensor(a.getT(), graph.baseDir(), where());
    }

    AttributeProto rawAttr(String name) {
        return attr(name);
    }

    // ---- outputs

    boolean hasOutput(int i) {
        return i < proto.getOutputCount() && !proto.getOutput(i).isEmpty();
    }

    String outputName(int i) {
        return hasOutput(i) ? proto.getOutput(i) : null;
    }

    /** True when output {@code i} is read by another node or is a graph output. */
    boolean outputUsed(int i) {
        return hasOutput(i) && graph.isUsed(proto.getOutput(i));
    }

    void define(int i, Value v) {
        if (hasOutput(i)) {
            graph.define(proto.getOutput(i), v);
        }
    }

    void defineConst(int i, Tensor t) {
        define(i, new Value.Const(t));
    }

    /** Defines output {@code i} as a run-time value computed by an IR value of the same name. */
    Value.Run defineRun(int i, DType dtype, List<SDim> shape) {
        Value.Run r = new Value.Run(proto.getOutput(i), dtype, shape);
        define(i, r);
        return r;
    }

    // ---- emitting IR

    /** Name for this node's main IR layer. */
    @Override
    public String layerName() {
        return layerName;
    }

    /** Name for an extra IR layer this node needs besides its main one. */
    String extraLayerName(String what) {
        return graph.uniqueLayerName(layerName + "/" + what + (extraLayers++ == 0 ? "" : "_" + extraLayers));
    }

    /** A fresh IR value name derived from this node's first output. */
    String tempValue(String what) {
        return graph.uniqueValueName(proto.getOutput(0) + "/" + what);
    }

    void emit(Layer layer) {
        graph.emit(layer);
    }

    /**
     * Defines output 0 as {@code x} (input 0) with the shape {@code out} and the same elements:
     * a constant is reshaped, a filled value keeps its element, a run-time value goes through the IR
     * layer that {@code layer} makes from its IR name (Reshape, Flatten, Squeeze, Unsqueeze).
     */
    void defineReshaped(Value x, List<SDim> out, Function<String, Layer> layer) {
        if (x instanceof Value.Const c) {
            defineConst(0, c.tensor().reshape(Shapes.toInts(out, this)));
        } else if (x instanceof Value.Filled f) {
            define(0, new Value.Filled(f.element(), out));
        } else {
            Value.Run r = runValue(0);
            emit(layer.apply(r.name()));
            defineRun(0, r.dtype(), out);
        }
    }

    /** An IR Constant layer holding {@code t}; returns its value name. */
    String constantLayer(Tensor t, String what) {
        String name = tempValue(what);
        graph.emit(new Layer.Constant(extraLayerName(what), name, t));
        return name;
    }

    @Override
    public SDim freshDim() {
        return graph.freshDim();
    }

    @Override
    public long foldRoom() {
        return graph.foldRoom();
    }

    /** Normalises a possibly negative axis for a value of rank {@code rank}. */
    int axis(long axis, int rank, String what) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw bad(what + " " + axis + " is out of range for rank " + rank);
        }
        return (int) a;
    }

    /**
     * An axis kept as given because the rank is only known at run time (the runtime normalises it);
     * one beyond int is refused rather than wrapped around to another axis.
     */
    int rawAxis(long axis, String what) {
        if (axis != (int) axis) {
            throw bad(what + " " + axis + " is out of range for any rank");
        }
        return (int) axis;
    }

    /** Rank of a value, UNSUPPORTED when unknown. */
    List<SDim> requireShape(Value v, String what) {
        List<SDim> s = Value.shapeOf(v);
        if (s == null) {
            throw unsupported("the rank of " + what + " is unknown, but this conversion needs it");
        }
        return s;
    }
}
