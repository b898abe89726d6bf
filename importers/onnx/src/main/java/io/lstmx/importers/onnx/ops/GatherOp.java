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
 * Gather along an axis. Constant data with run-time indices is an Embedding lookup; run-time data
 * with a constant scalar index is a Select (e.g. the last time step), with a constant index tensor
 * a Take. Shape vectors and constants fold.
 */
final class GatherOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 2; // data, indices
    }

    @Override
    public void convert(OnnxNode n) {
        long axisAttr = n.attrInt("axis", 0);
        Value data = n.required(0, "data");
        Value idxV = n.required(1, "indices");
        Tensor idx = n.graph().asConst(idxV, n.inputName(1));
        if (idx != null && idx.dtype().isFloating()) {
            throw n.bad("indices are " + idx.dtype() + ", expected integers");
        }
        List<SDim> ds = Value.shapeOf(data);
        if (data instanceof Value.Const c && idx != null) {
            n.defineConst(0, Fold.gather(c.tensor(), idx, n.axis(axisAttr, c.tensor().rank(), "axis"), n));
            return;
        }
        if (data instanceof Value.ShapeVec s && idx != null && !s.scalar()) {
            n.axis(axisAttr, 1, "axis");
            List<SDim> out = new ArrayList<>();
            for (int i = 0; i < idx.size(); i++) {
                long k = idx.getLong(i);
                long j = k < 0 ? k + s.entries().size() : k;
                if (j < 0 || j >= s.entries().size()) {
                    throw n.bad("index " + k + " is out of range for a shape of rank " + s.entries().size());
                }
                out.add(s.entries().get((int) j));
            }
            if (idx.rank() > 1) {
                throw n.unsupported("gathering a shape with indices of rank " + idx.rank());
            }
            n.define(0, new Value.ShapeVec(out, idx.rank() == 0));
            return;
        }
        if (data instanceof Value.Const c && idx == null) {
            Tensor table = c.tensor();
            if (table.rank() != 2 || n.axis(axisAttr, 2, "axis") != 0 || !table.dtype().isFloating()) {
                throw n.unsupported("Gather from a constant of shape " + java.util.Arrays.toString(table.shape()) + " along axis "
                        + axisAttr + " with run-time indices; only a float [vocab, dim] table along axis 0 (an embedding) is supported");
            }
            Value.Run r = n.runValue(1);
            if (r.dtype().isFloating()) {
                throw n.bad("indices are " + r.dtype() + ", expected integers");
            }
            n.emit(new Layer.Embedding(n.layerName(), r.name(), n.outputName(0), table));
            List<SDim> shape = null;
            if (r.shape() != null) {
                shape = new ArrayList<>(r.shape());
                shape.add(SDim.known(table.dim(1)));
            }
            n.defineRun(0, table.dtype(), shape);
            return;
        }
        if (idx == null) {
            throw n.unsupported("Gather with run-time data and run-time indices");
        }
        if (ds != null) {
            int axis = n.axis(axisAttr, ds.size(), "axis");
            SDim dim = ds.get(axis);
            for (int i = 0; i < idx.size(); i++) {
                long k = idx.getLong(i);
                if (dim.isKnown() && (k < -dim.value() || k >= dim.value())) {
                    throw n.bad("index " + k + " is out of range for axis " + axis + " of size " + dim.value());
                }
            }
        }
        List<SDim> outShape = null;
        if (ds != null) {
            int axis = n.axis(axisAttr, ds.size(), "axis");
            outShape = new ArrayList<>(ds.subList(0, axis));
            outShape.addAll(Shapes.known(idx.shape()));
            outShape.addAll(ds.subList(axis + 1, ds.size()));
        }
        if (data instanceof Value.Filled f) {
            n.define(0, new Value.Filled(f.element(), outShape));
            return;
        }
        Value.Run r = n.runValue(0);
        int axis = ds != null ? n.axis(axisAttr, ds.size(), "axis") : n.rawAxis(axisAttr, "axis");
        if (idx.rank() == 0) {
            n.emit(new Layer.Select(n.layerName(), r.name(), n.outputName(0), axis, idx.getLong(0)));
        } else {
            n.emit(new Layer.Take(n.layerName(), r.name(), n.outputName(0), axis, idx));
        }
        n.defineRun(0, r.dtype(), outShape);
    }
}
