package io.lstmx.importers.keras;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Keras LayerNormalization over the last axis, as one IR LayerNorm:
 * y = (x - mean) / sqrt(var + epsilon) * gamma + beta, mean and var over the last axis of each
 * row at run time. Weights in Keras's order: gamma (when scale), beta (when center). Another axis,
 * several axes and Keras 3's rms_scaling are refused by name. The input's mask passes through.
 */
final class LayerNormalizationLayer implements LayerConverter {
    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        KValue x = DenseLayer.one(g, l, inputs);
        String w = g.where(l);
        if (x.rank() < 2) {
            throw g.bad(l, "input has shape " + x.shapeText() + "; LayerNormalization takes [batch, ..., features]");
        }
        BatchNormalizationLayer.requireLastAxis(g, l, x);
        if (Json.bool(l.config(), "rms_scaling", false, w)) {
            throw g.unsupported(l, "rms_scaling=True (root-mean-square scaling without centring); lstmx reads the standard form");
        }
        double eps = Json.num(l.config(), "epsilon", 1e-3, w);
        if (!(eps >= 0) || Double.isInfinite(eps) || (float) eps != (float) eps) {
            throw g.bad(l, "epsilon " + eps + " is not a finite non-negative number");
        }
        boolean center = Json.bool(l.config(), "center", true, w);
        boolean scale = Json.bool(l.config(), "scale", true, w);
        List<String> names = new ArrayList<>();
        if (scale) {
            names.add("gamma");
        }
        if (center) {
            names.add("beta");
        }
        Tensor gamma = null;
        Tensor beta = null;
        if (!names.isEmpty()) {
            List<WeightSource.Var> vars = g.weights(l, names);
            int f = vars.get(0).shape().length == 1 ? vars.get(0).shape()[0] : -1;
            if (f < 0 || (x.last() >= 0 && x.last() != f)) {
                throw g.bad(l, "variable " + names.get(0) + " (" + vars.get(0).label() + ") has shape "
                        + java.util.Arrays.toString(vars.get(0).shape()) + " but the input has shape " + x.shapeText());
            }
            gamma = scale ? g.tensor(l, "gamma", vars.get(0), f) : null;
            beta = center ? g.tensor(l, "beta", vars.get(scale ? 1 : 0), f) : null;
        }
        String out = g.value(l.name());
        g.add(new Layer.LayerNorm(g.layerName(l.name()), x.name(), out, (float) eps, gamma, beta));
        return List.of(x.withName(out));
    }
}
