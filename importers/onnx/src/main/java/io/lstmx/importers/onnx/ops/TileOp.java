package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Tile: repeats the input along each axis; folded for constants, the identity when every repeat is 1. */
final class TileOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 2; // input, repeats
    }

    @Override
    public void convert(OnnxNode n) {
        Value x = n.required(0, "input");
        Tensor rep = n.constIn(1, "repeats");
        if (rep == null) {
            throw n.bad("repeats are required");
        }
        long[] repeats = rep.toLongArray();
        List<SDim> in = Value.shapeOf(x);
        if (in != null && in.size() != repeats.length) {
            throw n.bad("repeats has " + repeats.length + " entries for an input of rank " + in.size());
        }
        boolean identity = true;
        for (long r : repeats) {
            if (r < 0) {
                throw n.bad("negative repeat " + r);
            }
            identity &= r == 1;
        }
        if (identity) {
            n.define(0, x);
            return;
        }
        if (x instanceof Value.Const c && !Fold.uniform(c.tensor())) {
            n.defineConst(0, Fold.tile(c.tensor(), repeats, n));
            return;
        }
        if (x instanceof Value.Const || x instanceof Value.Filled) {
            Tensor element = x instanceof Value.Const c ? Fold.element(c.tensor(), 0) : ((Value.Filled) x).element();
            List<SDim> out = new ArrayList<>();
            for (int k = 0; k < repeats.length; k++) {
                SDim d = in.get(k);
                out.add(repeats[k] == 1 ? d : d.isKnown() ? SDim.known(Fold.saturatedProduct(d.value(), repeats[k])) : n.freshDim());
            }
            n.define(0, new Value.Filled(element, out));
            return;
        }
        throw n.unsupported("Tile of " + Value.describe(x) + " with repeats " + java.util.Arrays.toString(repeats)
                + "; the IR has no tiling layer");
    }
}
