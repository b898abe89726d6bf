package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;

import java.util.List;

/** Flatten to 2-D: [prod(dims before axis), prod(dims from axis)], axis default 1. */
final class FlattenOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 1; // input
    }

    @Override
    public void convert(OnnxNode n) {
        long axisAttr = n.attrInt("axis", 1);
        Value x = n.required(0, "input");
        List<SDim> s = Value.shapeOf(x);
        int axis = s == null ? n.rawAxis(axisAttr, "axis") : flattenAxis(n, axisAttr, s.size());
        List<SDim> out = s == null ? null
                : List.of(Shapes.product(s.subList(0, axis), n), Shapes.product(s.subList(axis, s.size()), n));
        n.defineReshaped(x, out, src -> new Layer.Flatten(n.layerName(), src, n.outputName(0), axis));
    }

    /** Flatten's axis may also be the rank itself (everything in the first dimension). */
    private static int flattenAxis(OnnxNode n, long axisAttr, int rank) {
        long a = axisAttr < 0 ? axisAttr + rank : axisAttr;
        if (a < 0 || a > rank) {
            throw n.bad("axis " + axisAttr + " is out of range for rank " + rank);
        }
        return (int) a;
    }
}
