package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;
import io.lstmx.util.SafeText;

import java.util.ArrayList;
import java.util.List;

/** Transpose: y.shape[k] = x.shape[perm[k]]; perm defaults to reversing the axes. */
final class TransposeOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 1; // data
    }

    @Override
    public void convert(OnnxNode n) {
        Value x = n.required(0, "data");
        List<SDim> s = Value.shapeOf(x);
        List<Long> permAttr = n.attrInts("perm");
        int[] perm;
        if (permAttr != null) {
            perm = new int[permAttr.size()];
            for (int k = 0; k < perm.length; k++) {
                perm[k] = n.axis(permAttr.get(k), perm.length, "perm entry");
            }
            if (java.util.Arrays.stream(perm).distinct().count() != perm.length) {
                throw n.bad("perm " + SafeText.list(permAttr) + " is not a permutation");
            }
            if (s != null && s.size() != perm.length) {
                throw n.bad("perm " + permAttr + " does not fit the input shape " + s);
            }
        } else {
            if (s == null) {
                throw n.unsupported("Transpose without perm of a value of unknown rank");
            }
            perm = new int[s.size()];
            for (int k = 0; k < perm.length; k++) {
                perm[k] = perm.length - 1 - k;
            }
        }
        List<SDim> out = null;
        if (s != null) {
            out = new ArrayList<>();
            for (int p : perm) {
                out.add(s.get(p));
            }
        }
        if (x instanceof Value.Const c) {
            n.defineConst(0, Fold.transpose(c.tensor(), perm, n));
            return;
        }
        if (x instanceof Value.Filled f) {
            n.define(0, new Value.Filled(f.element(), out));
            return;
        }
        Value.Run r = n.runValue(0);
        List<Integer> p = new ArrayList<>();
        for (int v : perm) {
            p.add(v);
        }
        n.emit(new Layer.Transpose(n.layerName(), r.name(), n.outputName(0), p));
        n.defineRun(0, r.dtype(), out);
    }
}
