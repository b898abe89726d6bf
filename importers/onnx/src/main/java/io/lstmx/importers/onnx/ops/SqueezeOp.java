package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;

import java.util.ArrayList;
import java.util.List;

/** Squeeze: removes the given size-1 axes (all size-1 axes when none are given, which needs known dims). */
final class SqueezeOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 2; // data, axes
    }

    @Override
    public void convert(OnnxNode n) {
        Value x = n.required(0, "data");
        List<Long> axesGiven = AxesInput.read(n, 1);
        List<SDim> s = Value.shapeOf(x);
        List<Integer> axes = null;
        if (s != null) {
            if (axesGiven == null) {
                axes = new ArrayList<>();
                for (int k = 0; k < s.size(); k++) {
                    if (!s.get(k).isKnown()) {
                        throw n.unsupported("Squeeze without axes of shape " + s + ": dimension " + k + " is known only at run time");
                    }
                    if (s.get(k).value() == 1) {
                        axes.add(k);
                    }
                }
            } else {
                axes = AxesInput.normalize(n, axesGiven, s.size());
                for (int a : axes) {
                    if (s.get(a).isKnown() && s.get(a).value() != 1) {
                        throw n.bad("cannot squeeze axis " + a + " of shape " + s + ": its size is not 1");
                    }
                }
            }
        } else if (axesGiven == null) {
            throw n.unsupported("Squeeze without axes of a value of unknown rank");
        }
        List<SDim> out = null;
        if (s != null) {
            boolean[] squeezed = new boolean[s.size()]; // not axes.contains per axis: quadratic in the rank
            axes.forEach(a -> squeezed[a] = true);
            out = new ArrayList<>();
            for (int k = 0; k < s.size(); k++) {
                if (!squeezed[k]) {
                    out.add(s.get(k));
                }
            }
        }
        if (x instanceof Value.ShapeVec v) {
            if (v.entries().size() != 1 || !out.isEmpty()) {
                throw n.bad("cannot squeeze a shape vector of length " + v.entries().size());
            }
            n.define(0, new Value.ShapeVec(v.entries(), true));
            return;
        }
        List<Integer> irAxes = AxesInput.forLayer(n, axes, axesGiven);
        n.defineReshaped(x, out, src -> new Layer.Squeeze(n.layerName(), src, n.outputName(0), irAxes));
    }
}
