package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Add, Sub, Mul and Div with NumPy broadcasting. Constants fold; shape arithmetic stays symbolic;
 * an Add of a constant bias right after a bias-less Dense (from MatMul) is fused into that Dense.
 */
final class BinaryOp implements OpConverter {
    private final Layer.Binary.Op op;

    BinaryOp(Layer.Binary.Op op) {
        this.op = op;
    }

    @Override
    public int maxInputs() {
        return 2; // A, B
    }

    @Override
    public void convert(OnnxNode n) {
        Value a = n.required(0, "A");
        Value b = n.required(1, "B");
        checkLegacyBroadcast(n, a, b);
        if (a instanceof Value.Const ca && b instanceof Value.Const cb) {
            n.defineConst(0, Fold.binary(op, ca.tensor(), cb.tensor(), n));
            return;
        }
        if (a instanceof Value.ShapeVec || b instanceof Value.ShapeVec) {
            List<SDim> ea = Shapes.entries(a);
            List<SDim> eb = Shapes.entries(b);
            if (ea != null && eb != null) {
                n.define(0, shapeArithmetic(n, a, b, ea, eb));
                return;
            }
        }
        Tensor fa = filledElement(a);
        Tensor fb = filledElement(b);
        if (fa != null && fb != null && (a instanceof Value.Filled || b instanceof Value.Filled)) {
            List<SDim> shape = Shapes.broadcast(Value.shapeOf(a), Value.shapeOf(b), n);
            n.define(0, new Value.Filled(Fold.binary(op, fa, fb, n), shape));
            return;
        }
        if (op == Layer.Binary.Op.ADD && (fuseBias(n, 0, 1) || fuseBias(n, 1, 0))) {
            return;
        }
        Value.Run ra = n.runValue(0);
        Value.Run rb = n.runValue(1);
        n.emit(new Layer.Binary(n.layerName(), op, ra.name(), rb.name(), n.outputName(0)));
        n.defineRun(0, ra.dtype(), Shapes.broadcast(ra.shape(), rb.shape(), n));
    }

    /** Before opset 7, broadcasting needed broadcast=1 and an optional axis; only NumPy-aligned axes are exact. */
    private static void checkLegacyBroadcast(OnnxNode n, Value a, Value b) {
        if (n.opset() >= 7 || !n.hasAttr("axis")) {
            return;
        }
        List<SDim> sa = Value.shapeOf(a);
        List<SDim> sb = Value.shapeOf(b);
        long axis = n.attrInt("axis", 0);
        if (sa == null || sb == null || (axis < 0 ? axis + sa.size() : axis) != sa.size() - sb.size()) {
            throw n.unsupported("legacy broadcast with axis " + axis + " of " + sb + " into " + sa
                    + " is not NumPy-aligned");
        }
    }

    /** The element of a filled value or of a one-element constant, else null. */
    private static Tensor filledElement(Value v) {
        if (v instanceof Value.Filled f) {
            return f.element();
        }
        if (v instanceof Value.Const c && c.tensor().size() == 1) {
            return Fold.element(c.tensor(), 0);
        }
        return null;
    }

    private Value shapeArithmetic(OnnxNode n, Value a, Value b, List<SDim> ea, List<SDim> eb) {
        boolean scalar = Value.shapeOf(a).isEmpty() && Value.shapeOf(b).isEmpty();
        int len = Math.max(ea.size(), eb.size());
        if ((ea.size() != len && ea.size() != 1) || (eb.size() != len && eb.size() != 1)) {
            throw n.bad("shape vectors of lengths " + ea.size() + " and " + eb.size() + " do not broadcast");
        }
        List<SDim> out = new ArrayList<>();
        for (int i = 0; i < len; i++) {
            SDim x = ea.get(ea.size() == 1 ? 0 : i);
            SDim y = eb.get(eb.size() == 1 ? 0 : i);
            out.add(combine(n, x, y));
        }
        return new Value.ShapeVec(out, scalar);
    }

    private SDim combine(OnnxNode n, SDim x, SDim y) {
        if (x.isKnown() && y.isKnown()) {
            Tensor r = Fold.binary(op, Tensor.ofLongs(new int[0], new long[] {x.value()}),
                    Tensor.ofLongs(new int[0], new long[] {y.value()}), n);
            return SDim.known(r.getLong(0));
        }
        // Identities keep the symbol, so that e.g. size*1 still matches the dimension it came from.
        switch (op) {
            case ADD:
                if (x.is(0)) {
                    return y;
                }
                return y.is(0) ? x : n.freshDim();
            case SUB:
            case DIV:
                return y.is(op == Layer.Binary.Op.SUB ? 0 : 1) ? x : n.freshDim();
            default:
                if (x.is(1)) {
                    return y;
                }
                return y.is(1) ? x : n.freshDim();
        }
    }

    /**
     * y = Dense(x) + c with c a constant [N] (or [1, ..., N]) and Dense's output read only here:
     * the constant becomes (part of) the Dense bias, as the MatMul + Add pattern of exporters means.
     */
    private boolean fuseBias(OnnxNode n, int denseSide, int constSide) {
        Value d = n.in(denseSide);
        Value c = n.in(constSide);
        if (!(d instanceof Value.Run run) || !(c instanceof Value.Const cc)) {
            return false;
        }
        String onnxName = n.inputName(denseSide);
        if (n.graph().useCount(onnxName) != 1 || n.graph().isGraphOutput(onnxName)) {
            return false;
        }
        if (!(n.graph().producerOf(run.name()) instanceof Layer.Dense dense) || !dense.output().equals(run.name())) {
            return false;
        }
        Tensor t = cc.tensor();
        int units = dense.weight().dim(0);
        if (!t.dtype().isFloating() || t.size() != units || t.dim(-1) != units || run.shape() == null
                || t.rank() > run.shape().size()) {
            return false;
        }
        Tensor bias = t.reshape(units);
        if (dense.bias() != null) {
            bias = Fold.binary(Layer.Binary.Op.ADD, dense.bias(), bias, n);
        }
        n.graph().replaceProducer(run.name(),
                new Layer.Dense(dense.name(), dense.input(), n.outputName(0), dense.weight(), bias));
        n.defineRun(0, run.dtype(), run.shape());
        return true;
    }
}
