package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import java.util.List;

/** Shape: the input's dimensions as an int64 vector (start/end attributes from opset 15). */
final class ShapeOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 1; // data
    }

    @Override
    public void convert(OnnxNode n) {
        Value x = n.required(0, "data");
        List<SDim> s = Value.shapeOf(x);
        if (s == null) {
            throw n.unsupported("Shape of '" + n.inputName(0) + "', whose rank is unknown");
        }
        int r = s.size();
        long start = n.attrInt("start", 0);
        long end = n.attrInt("end", r);
        start = Math.max(0, Math.min(r, start < 0 ? start + r : start));
        end = Math.max(0, Math.min(r, end < 0 ? end + r : end));
        n.define(0, new Value.ShapeVec(end > start ? s.subList((int) start, (int) end) : List.of(), false));
    }
}
