package io.lstmx.importers.keras;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.List;

/**
 * Keras Dense: y = activation(x kernel + bias) on the last axis, whatever the rank (so it applies
 * to every time step of a sequence as Keras does). kernel [in, units] is transposed to the IR's
 * [units, in]; the activation follows as its own IR layer (softmax and log_softmax on the last axis).
 */
final class DenseLayer implements LayerConverter {
    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        return List.of(dense(g, l, l, one(g, l, inputs)));
    }

    static KValue one(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        if (inputs.size() != 1) {
            throw g.bad(l, "called with " + inputs.size() + " tensors; it takes one");
        }
        return inputs.get(0);
    }

    /**
     * Emits a Dense layer whose config is {@code cfg} and whose weights are {@code owner}'s (the
     * Dense itself, or the TimeDistributed around it).
     */
    static KValue dense(KerasGraph g, KerasConfig.LayerSpec owner, KerasConfig.LayerSpec cfg, KValue x) {
        int units = g.size(cfg, "units");
        boolean useBias = Json.bool(cfg.config(), "use_bias", true, g.where(cfg));
        if (x.rank() < 2) {
            throw g.bad(owner, "input has shape " + x.shapeText() + "; Dense takes [batch, ..., features]");
        }
        List<WeightSource.Var> vars = g.weights(owner, useBias ? List.of("kernel", "bias") : List.of("kernel"));
        int in = vars.get(0).shape().length == 2 ? vars.get(0).shape()[0] : -1;
        if (x.last() >= 0 && x.last() != in) {
            throw g.bad(owner, "variable kernel (" + vars.get(0).label() + ") has shape " + java.util.Arrays.toString(vars.get(0).shape())
                    + " but the input has " + x.last() + " features (shape " + x.shapeText() + ")");
        }
        Tensor k = g.tensor(owner, "kernel", vars.get(0), Math.max(in, 1), units);
        Tensor b = useBias ? g.tensor(owner, "bias", vars.get(1), units) : null;
        String act = g.activationName(cfg, "activation", "linear");
        String out = g.value(owner.name() + (act.equals("linear") ? "" : "/linear"));
        g.add(new Layer.Dense(g.layerName(owner.name()), x.name(), out, KerasGraph.transpose(k), b));
        long[] s = x.shape();
        s[s.length - 1] = units;
        KValue y = new KValue(out, s, x.dtype(), x.mask());
        return act.equals("linear") ? y : g.applyActivation(cfg, y, g.value(owner.name()));
    }
}
