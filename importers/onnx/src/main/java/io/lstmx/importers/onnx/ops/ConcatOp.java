package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Concat along an axis: constants fold, shape vectors stay symbolic, the rest is an IR Concat. */
final class ConcatOp implements OpConverter {
    @Override
    public void convert(OnnxNode n) {
        if (!n.hasAttr("axis") && n.opset() >= 4) {
            throw n.bad("attribute axis is required");
        }
        long axisAttr = n.attrInt("axis", 1);
        List<Integer> present = new ArrayList<>();
        for (int i = 0; i < n.inputCount(); i++) {
            if (n.hasInput(i)) {
                present.add(i);
            }
        }
        if (present.isEmpty()) {
            throw n.bad("no inputs");
        }
        List<Value> vals = new ArrayList<>();
        present.forEach(i -> vals.add(n.in(i)));
        if (vals.stream().allMatch(v -> v instanceof Value.Const)) {
            List<Tensor> ts = new ArrayList<>();
            vals.forEach(v -> ts.add(((Value.Const) v).tensor()));
            int axis = n.axis(axisAttr, ts.get(0).rank(), "axis");
            n.defineConst(0, Fold.concat(ts, axis, n));
            return;
        }
        if (vals.stream().anyMatch(v -> v instanceof Value.ShapeVec)) {
            List<SDim> out = new ArrayList<>();
            for (Value v : vals) {
                List<SDim> e = Shapes.entries(v);
                if (e == null || Value.shapeOf(v).size() != 1) {
                    throw n.unsupported("concatenation of a shape vector with " + Value.describe(v));
                }
                out.addAll(e);
            }
            n.axis(axisAttr, 1, "axis");
            n.define(0, new Value.ShapeVec(out, false));
            return;
        }
        List<String> names = new ArrayList<>();
        List<List<SDim>> shapes = new ArrayList<>();
        Value.Run first = null;
        for (int i : present) {
            Value.Run r = n.runValue(i);
            first = first == null ? r : first;
            names.add(r.name());
            shapes.add(r.shape());
        }
        Integer rank = null;
        for (List<SDim> s : shapes) {
            if (s != null) {
                if (rank != null && rank != s.size()) {
                    throw n.bad("inputs have ranks " + rank + " and " + s.size());
                }
                rank = s.size();
            }
        }
        int axis = rank == null ? n.rawAxis(axisAttr, "axis") : n.axis(axisAttr, rank, "axis");
        List<SDim> outShape = null;
        if (rank != null && shapes.stream().allMatch(s -> s != null)) {
            outShape = new ArrayList<>(shapes.get(0));
            long total = 0;
            boolean known = true;
            for (List<SDim> s : shapes) {
                known &= s.get(axis).isKnown();
                total += s.get(axis).isKnown() ? s.get(axis).value() : 0;
                for (int k = 0; k < rank; k++) {
                    if (k != axis && !outShape.get(k).isKnown() && s.get(k).isKnown()) {
                        outShape.set(k, s.get(k));
                    }
                }
            }
            outShape.set(axis, known ? SDim.known(total) : n.freshDim());
        }
        n.emit(new Layer.Concat(n.layerName(), names, n.outputName(0), axis));
        n.defineRun(0, first.dtype(), outShape);
    }
}
