package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Layer;

import java.util.List;

/** Flatten to 2-D: [prod(dims before axis), prod(dims from axis)], axis default 1. */
final class FlattenOp implements OpConverter {
    @Override
    public void convert(OnnxNode n) {
        long axisAttr = n.attrInt("axis", 1);
        Value x = n.required(0, "input");
        List<SDim> s = Value.shapeOf(x);
        List<SDim> out = null;
        int axis = (int) axisAttr;
        if (s != null) {
            long a = axisAttr < 0 ? axisAttr + s.size() : axisAttr;
            if (a < 0 || a > s.size()) {
                throw n.bad("axis " + axisAttr + " is out of range for rank " + s.size());
            }
            axis = (int) a;
            out = List.of(Shapes.product(s.subList(0, axis), n), Shapes.product(s.subList(axis, s.size()), n));
        }
        if (x instanceof Value.Const c) {
            n.defineConst(0, c.tensor().reshape(Shapes.toInts(out)));
            return;
        }
        if (x instanceof Value.Filled f) {
            n.define(0, new Value.Filled(f.element(), out));
            return;
        }
        Value.Run r = n.runValue(0);
        n.emit(new Layer.Flatten(n.layerName(), r.name(), n.outputName(0), axis));
        n.defineRun(0, r.dtype(), out);
    }
}
