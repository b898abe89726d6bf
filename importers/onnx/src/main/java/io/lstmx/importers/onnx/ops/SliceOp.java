package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;
import io.lstmx.ir.SliceRange;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Slice (starts/ends/axes attributes in opset 1; starts, ends, axes, steps inputs from opset 10),
 * with ONNX clamping. Run-time data becomes one IR Slice per sliced axis; slices that keep a whole
 * axis are dropped. An end that is the axis' own run-time size means "to the end".
 */
final class SliceOp implements OpConverter {
    private record AxisSlice(int axis, long start, long end, long step) {
    }

    @Override
    public int maxInputs() {
        return 5; // data, starts, ends, axes, steps
    }

    @Override
    public void convert(OnnxNode n) {
        Value x = n.required(0, "data");
        List<SDim> s = Value.shapeOf(x);
        List<Long> starts;
        List<SDim> ends;
        List<Long> axes;
        List<Long> steps;
        if (n.opset() < 10) {
            starts = n.attrInts("starts");
            List<Long> e = n.attrInts("ends");
            if (starts == null || e == null) {
                throw n.bad("attributes starts and ends are required");
            }
            ends = new ArrayList<>();
            e.forEach(v -> ends.add(SDim.known(v)));
            axes = n.attrInts("axes");
            steps = null;
        } else {
            starts = constList(n, 1, "starts");
            ends = Shapes.entries(n.required(2, "ends"));
            if (ends == null) {
                throw n.unsupported("ends '" + n.inputName(2) + "' must be a constant or computed from shapes");
            }
            axes = n.hasInput(3) ? constList(n, 3, "axes") : null;
            steps = n.hasInput(4) ? constList(n, 4, "steps") : null;
        }
        if (starts.size() != ends.size() || (axes != null && axes.size() != starts.size()) || (steps != null && steps.size() != starts.size())) {
            throw n.bad("starts, ends, axes and steps have different lengths");
        }
        if (s == null && (axes == null || axes.stream().anyMatch(a -> a < 0))) {
            throw n.unsupported("Slice of a value of unknown rank");
        }
        List<AxisSlice> slices = new ArrayList<>();
        List<SDim> out = s == null ? null : new ArrayList<>(s);
        List<Integer> seen = new ArrayList<>();
        for (int k = 0; k < starts.size(); k++) {
            long a = axes == null ? k : axes.get(k);
            int axis = s == null ? n.rawAxis(a, "axis") : n.axis(a, s.size(), "axis");
            if (seen.contains(axis)) {
                throw n.bad("axis " + a + " is sliced twice");
            }
            seen.add(axis);
            long step = steps == null ? 1 : steps.get(k);
            if (step == 0) {
                throw n.bad("step 0 on axis " + a);
            }
            SDim dim = s == null ? null : s.get(axis);
            SDim endE = ends.get(k);
            long end;
            if (endE.isKnown()) {
                end = endE.value();
            } else if (endE.equals(dim) && step > 0) {
                end = Long.MAX_VALUE;
            } else {
                throw n.unsupported("end " + endE + " on axis " + a + " is known only at run time");
            }
            long start = starts.get(k);
            boolean whole = step == 1 && (start == 0 || (dim != null && dim.isKnown() && start <= -dim.value()))
                    && (end == Long.MAX_VALUE || end >= Integer.MAX_VALUE || (dim != null && dim.isKnown() && end >= dim.value()));
            if (whole) {
                continue;
            }
            slices.add(new AxisSlice(axis, start, end, step));
            if (out != null) {
                out.set(axis, dim.isKnown() ? SDim.known(SliceRange.of(dim.value(), start, end, step).count()) : n.freshDim());
            }
        }
        if (x instanceof Value.Const c) {
            Tensor t = c.tensor();
            for (AxisSlice sl : slices) {
                t = Fold.slice(t, sl.axis(), sl.start(), sl.end(), sl.step(), n);
            }
            n.defineConst(0, t);
            return;
        }
        if (x instanceof Value.ShapeVec v && !v.scalar()) {
            List<SDim> e = v.entries();
            for (AxisSlice sl : slices) {
                SliceRange r = SliceRange.of(e.size(), sl.start(), sl.end(), sl.step());
                List<SDim> picked = new ArrayList<>();
                for (long i = 0; i < r.count(); i++) {
                    picked.add(e.get((int) (r.start() + i * r.step())));
                }
                e = picked;
            }
            n.define(0, new Value.ShapeVec(e, false));
            return;
        }
        if (x instanceof Value.Filled f) {
            n.define(0, new Value.Filled(f.element(), out));
            return;
        }
        Value.Run r = n.runValue(0);
        if (slices.isEmpty()) {
            n.define(0, r);
            return;
        }
        String cur = r.name();
        for (int i = 0; i < slices.size(); i++) {
            AxisSlice sl = slices.get(i);
            String next = i == slices.size() - 1 ? n.outputName(0) : n.tempValue("slice" + sl.axis());
            String layer = i == 0 ? n.layerName() : n.extraLayerName("axis" + sl.axis());
            n.emit(new Layer.Slice(layer, cur, next, sl.axis(), sl.start(), sl.end(), sl.step()));
            cur = next;
        }
        n.defineRun(0, r.dtype(), out);
    }

    private static List<Long> constList(OnnxNode n, int i, String what) {
        Tensor t = n.constIn(i, what);
        if (t == null) {
            throw n.bad(what + " is required");
        }
        if (t.dtype().isFloating() || t.rank() != 1) {
            throw n.bad(what + " has shape " + java.util.Arrays.toString(t.shape()) + " of " + t.dtype() + ", expected a 1-D integer tensor");
        }
        List<Long> l = new ArrayList<>();
        for (long v : t.toLongArray()) {
            l.add(v);
        }
        return l;
    }
}
