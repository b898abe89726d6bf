package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;

import java.util.ArrayList;
import java.util.List;

/** Unsqueeze: inserts size-1 axes at the given positions of the output. */
final class UnsqueezeOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 2; // data, axes
    }

    @Override
    public void convert(OnnxNode n) {
        Value x = n.required(0, "data");
        List<Long> axesGiven = AxesInput.read(n, 1);
        if (axesGiven == null) {
            throw n.bad("axes are required");
        }
        List<SDim> s = Value.shapeOf(x);
        List<Integer> axes = null;
        List<SDim> out = null;
        if (s != null) {
            int rank = s.size() + axesGiven.size();
            axes = AxesInput.normalize(n, axesGiven, rank);
            boolean[] inserted = new boolean[rank]; // not axes.contains per axis: quadratic in the rank
            axes.forEach(a -> inserted[a] = true);
            out = new ArrayList<>();
            int src = 0;
            for (int k = 0; k < rank; k++) {
                out.add(inserted[k] ? SDim.known(1) : s.get(src++));
            }
        }
        if (x instanceof Value.ShapeVec v) {
            if (!v.scalar() || !axes.equals(List.of(0))) {
                throw n.unsupported("unsqueezing a shape vector to rank " + out.size());
            }
            n.define(0, new Value.ShapeVec(v.entries(), false));
            return;
        }
        List<Integer> irAxes = AxesInput.forLayer(n, axes, axesGiven);
        n.defineReshaped(x, out, src -> new Layer.Unsqueeze(n.layerName(), src, n.outputName(0), irAxes));
    }
}
