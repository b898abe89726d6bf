package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Tensor;

import java.util.List;

/**
 * Expand: broadcasts the input to a shape. A uniform constant becomes a filled value (so torch's
 * zero initial states of run-time batch size disappear); a run-time input must already have the
 * broadcast shape, since the IR has no broadcasting layer.
 */
final class ExpandOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 2; // input, shape
    }

    @Override
    public void convert(OnnxNode n) {
        Value x = n.required(0, "input");
        Value shapeV = n.required(1, "shape");
        List<SDim> target = Shapes.entries(shapeV);
        if (target == null || Value.shapeOf(shapeV).size() != 1) {
            throw n.unsupported("the shape '" + n.inputName(1) + "' is " + Value.describe(shapeV));
        }
        List<SDim> in = Value.shapeOf(x);
        if (in == null) {
            throw n.unsupported("Expand of a value of unknown rank");
        }
        List<SDim> out = Shapes.broadcast(in, target, n);
        if (x instanceof Value.Filled f) {
            n.define(0, new Value.Filled(f.element(), out));
            return;
        }
        if (x instanceof Value.Const c) {
            Tensor t = c.tensor();
            if (Fold.uniform(t)) {
                n.define(0, new Value.Filled(Fold.element(t, 0), out));
            } else if (Shapes.allKnown(out)) {
                n.defineConst(0, Fold.broadcastTo(t, Shapes.toInts(out, n), n));
            } else {
                throw n.unsupported("Expand of a non-uniform constant to the run-time shape " + out);
            }
            return;
        }
        if (x instanceof Value.Run r && out.equals(in)) {
            n.define(0, r);
            return;
        }
        throw n.unsupported("Expand of " + Value.describe(x) + " to " + target + " gives " + out
                + "; the IR has no broadcasting layer");
    }
}
