package io.lstmx.importers.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.NodeDef;

import java.util.ArrayList;
import java.util.List;

/**
 * One node being converted, as an op converter sees it: its attributes, its input values (kit
 * {@link Value}s, or {@link TfInterpreter.Resource} handles), and the interpreter it adds layers to.
 */
final class TfNode implements io.lstmx.importers.kit.NodeContext {
    final TfInterpreter in;
    final NodeDef def;
    final String scope;
    final List<Object> inputs;
    final int depth;

    TfNode(TfInterpreter in, NodeDef def, String scope, List<Object> inputs, int depth) {
        this.in = in;
        this.def = def;
        this.scope = scope;
        this.inputs = inputs;
        this.depth = depth;
    }

    /** The node's name with the path of the function calls it was inlined through. */
    String name() {
        return scope + def.getName();
    }

    String op() {
        return def.getOp();
    }

    @Override
    public String where() {
        return in.file + ": node '" + SafeText.name(name()) + "' (" + SafeText.name(op()) + ")";
    }

    @Override
    public String layerName() {
        return name();
    }

    @Override
    public LstmxException bad(String message) {
        return LstmxException.badInput(where() + ": " + message);
    }

    @Override
    public LstmxException unsupported(String message) {
        return LstmxException.unsupported(where() + ": " + message);
    }

    @Override
    public long foldRoom() {
        return in.budget.room();
    }

    @Override
    public SDim freshDim() {
        return SDim.anonymous(in.serial++);
    }

    // ---- inputs

    int arity() {
        return inputs.size();
    }

    void needInputs(int n) {
        if (inputs.size() < n) {
            throw bad("needs " + n + " inputs, has " + inputs.size());
        }
    }

    Object input(int i) {
        needInputs(i + 1);
        return inputs.get(i);
    }

    Value value(int i) {
        Object o = input(i);
        if (o instanceof Value v) {
            return Value.simplify(v);
        }
        throw unsupported("input " + i + " is " + TfInterpreter.describe(o) + ", not a tensor");
    }

    /** Input {@code i} as a constant known at import time, or UNSUPPORTED naming {@code what}. */
    Tensor constant(int i, String what) {
        Value v = value(i);
        Tensor t = io.lstmx.importers.kit.Fold.constant(v, name() + ":" + i, in.budget);
        if (t == null) {
            throw unsupported(what + " must be known when the model is read, but it is " + Value.describe(v));
        }
        return t;
    }

    long[] constLongs(int i, String what) {
        Tensor t = constant(i, what);
        if (t.dtype().isFloating()) {
            throw bad(what + " must be integers, got " + t.dtype());
        }
        return t.toLongArray();
    }

    /** Input {@code i} as an IR value name (constants become Constant layers). */
    String run(int i) {
        return in.materialize(value(i), this);
    }

    // ---- attributes

    AttrValue attr(String key) {
        return def.getAttrMap().get(key);
    }

    long attrInt(String key, long dflt) {
        AttrValue a = attr(key);
        return a == null ? dflt : a.getI();
    }

    float attrFloat(String key, float dflt) {
        AttrValue a = attr(key);
        return a == null ? dflt : a.getF();
    }

    boolean attrBool(String key, boolean dflt) {
        AttrValue a = attr(key);
        return a == null ? dflt : a.getB();
    }

    String attrString(String key, String dflt) {
        AttrValue a = attr(key);
        return a == null ? dflt : a.getS().toStringUtf8();
    }

    DataType attrType(String key, DataType dflt) {
        AttrValue a = attr(key);
        return a == null ? dflt : a.getType();
    }

    List<Long> attrInts(String key) {
        AttrValue a = attr(key);
        return a == null ? List.of() : a.getList().getIList();
    }

    // ---- outputs

    /** A fresh IR value name for output {@code k}. */
    String out(int k) {
        return in.names.fresh(k == 0 ? name() : name() + ":" + k);
    }

    void add(Layer l) {
        in.add(l);
    }

    /** A run-time value named {@code name}. */
    static Value.Run runValue(String name, DType dtype, List<SDim> shape) {
        return new Value.Run(name, dtype, shape);
    }

    static List<SDim> shapeOf(Value v) {
        return Value.shapeOf(v);
    }

    static List<SDim> copy(List<SDim> s) {
        return s == null ? null : new ArrayList<>(s);
    }
}
