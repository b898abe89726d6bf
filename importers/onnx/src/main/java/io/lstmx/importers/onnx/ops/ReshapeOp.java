package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reshape (target as attribute before opset 5, as input after). Targets computed from Shape become
 * IR entries: a dimension that is the input's own dimension at the same position becomes 0 (copy),
 * one other run-time dimension becomes -1 (inferred); more than one cannot be expressed.
 */
final class ReshapeOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 2; // data, shape
    }

    @Override
    public void convert(OnnxNode n) {
        List<SDim> target;
        if (n.opset() < 5) {
            List<Long> attr = n.attrInts("shape");
            if (attr == null) {
                throw n.bad("attribute shape is required");
            }
            target = new ArrayList<>();
            for (long v : attr) {
                target.add(SDim.known(v));
            }
        } else {
            Value t = n.required(1, "shape");
            target = Shapes.entries(t);
            if (target == null || Value.shapeOf(t).size() != 1) {
                throw n.unsupported("the target shape '" + n.inputName(1) + "' is " + Value.describe(t)
                        + "; it must be a constant or computed from shapes");
            }
        }
        boolean allowZero = n.attrInt("allowzero", 0) != 0;
        Value x = n.required(0, "data");
        List<SDim> in = Value.shapeOf(x);

        List<Long> ir = new ArrayList<>();
        List<SDim> out = new ArrayList<>();
        List<Integer> inferred = new ArrayList<>();
        for (int k = 0; k < target.size(); k++) {
            SDim e = target.get(k);
            if (e.isKnown()) {
                long v = e.value();
                if (v == 0 && allowZero) {
                    throw n.unsupported("allowzero=1 with a 0 in the target shape " + target + " makes an empty tensor");
                } else if (v == 0) {
                    if (in != null && k >= in.size()) {
                        throw n.bad("target shape " + SafeText.list(target) + " copies dimension " + k + " of an input of rank " + in.size());
                    }
                    ir.add(0L);
                    out.add(in == null ? n.freshDim() : in.get(k));
                } else if (v == -1) {
                    ir.add(-1L);
                    out.add(null);
                    inferred.add(k);
                } else if (v < -1) {
                    throw n.bad("target shape " + SafeText.list(target) + " has the invalid entry " + v);
                } else {
                    ir.add(v);
                    out.add(e);
                }
            } else if (in != null && k < in.size() && in.get(k).equals(e)) {
                ir.add(0L);
                out.add(e);
            } else {
                ir.add(-1L);
                out.add(e);
                inferred.add(k);
            }
        }
        if (inferred.size() > 1) {
            throw n.unsupported("target shape " + SafeText.list(target) + " of input " + (in == null ? "[unknown rank]" : SafeText.list(in))
                    + " has " + inferred.size() + " dimensions known only at run time that are not copies of the input's dimension"
                    + " at the same position; the IR Reshape can infer only one (-1)");
        }
        if (!inferred.isEmpty() && out.get(inferred.get(0)) == null) {
            out.set(inferred.get(0), inferredDim(n, in, out, inferred.get(0)));
        }
        if (x instanceof Value.Const c) {
            if (!Shapes.allKnown(out)) {
                throw n.unsupported("reshaping a constant to the run-time shape " + SafeText.list(out));
            }
            if (Tensor.elementCount(Shapes.toInts(out, n)) != c.tensor().size()) {
                throw n.bad("cannot reshape a constant of " + c.tensor().size() + " elements to " + SafeText.list(out));
            }
        }
        n.defineReshaped(x, out, src -> new Layer.Reshape(n.layerName(), src, n.outputName(0), ir));
    }

    /**
     * The -1 dimension: the input's element count over the other output dimensions. Symbols that
     * appear on both sides cancel, so [batch, 3, 4] to [batch, -1] gives 12.
     */
    private static SDim inferredDim(OnnxNode n, List<SDim> in, List<SDim> out, int at) {
        if (in == null) {
            return n.freshDim();
        }
        // The input's symbols, counted: each output symbol cancels one (a list's remove per symbol
        // would make a high-rank reshape quadratic).
        Map<SDim, Integer> symbols = new HashMap<>();
        for (SDim d : in) {
            if (!d.isKnown()) {
                symbols.merge(d, 1, Integer::sum);
            }
        }
        long rest = 1;
        for (int k = 0; k < out.size(); k++) {
            SDim d = out.get(k);
            if (k == at) {
                continue;
            }
            if (d.isKnown()) {
                rest *= d.value();
            } else if (symbols.merge(d, -1, Integer::sum) < 0) {
                return n.freshDim();
            }
        }
        if (symbols.values().stream().anyMatch(c -> c > 0)) {
            return n.freshDim();
        }
        long total = 1;
        for (SDim d : in) {
            if (d.isKnown()) {
                total *= d.value();
            }
        }
        if (rest == 0 || total % rest != 0) {
            throw n.bad("cannot reshape " + SafeText.list(in) + " to " + SafeText.list(out) + " (element counts differ)");
        }
        return SDim.known(total / rest);
    }
}
