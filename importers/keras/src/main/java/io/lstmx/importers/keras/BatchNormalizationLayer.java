package io.lstmx.importers.keras;

import com.google.gson.JsonElement;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Keras BatchNormalization at inference, on the last axis: y = gamma * (x - mean) / sqrt(var + eps)
 * + beta, computed as y = x * s + t with s = gamma / sqrt(var + eps) and t = beta - mean * s
 * (folded in double once), two element-wise IR layers with constants. Weights in Keras' order:
 * gamma (when scale), beta (when center), moving_mean, moving_variance. Another axis is refused.
 */
final class BatchNormalizationLayer implements LayerConverter {
    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        KValue x = DenseLayer.one(g, l, inputs);
        String w = g.where(l);
        requireLastAxis(g, l, x);
        double eps = Json.num(l.config(), "epsilon", 1e-3, w);
        if (!(eps >= 0) || Double.isInfinite(eps)) {
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
        names.add("moving_mean");
        names.add("moving_variance");
        List<WeightSource.Var> vars = g.weights(l, names);
        int f = vars.get(vars.size() - 1).shape().length == 1 ? vars.get(vars.size() - 1).shape()[0] : -1;
        if (f < 0 || (x.last() >= 0 && x.last() != f)) {
            throw g.bad(l, "variable moving_variance (" + vars.get(vars.size() - 1).label() + ") has shape "
                    + java.util.Arrays.toString(vars.get(vars.size() - 1).shape()) + " but the input has shape " + x.shapeText());
        }
        float[][] t = new float[names.size()][];
        for (int i = 0; i < names.size(); i++) {
            t[i] = g.tensor(l, names.get(i), vars.get(i), f).toFloatArray();
        }
        float[] gamma = scale ? t[0] : null;
        float[] beta = center ? t[scale ? 1 : 0] : null;
        float[] mean = t[names.size() - 2];
        float[] var = t[names.size() - 1];
        float[] s = new float[f];
        float[] sh = new float[f];
        for (int i = 0; i < f; i++) {
            double k = (gamma == null ? 1.0 : gamma[i]) / Math.sqrt(var[i] + eps);
            s[i] = (float) k;
            sh[i] = (float) ((beta == null ? 0.0 : beta[i]) - mean[i] * k);
        }
        String base = l.name();
        String sName = g.constant(base + "/scale", Tensor.ofFloats(new int[] {f}, s));
        String tName = g.constant(base + "/shift", Tensor.ofFloats(new int[] {f}, sh));
        String scaled = g.value(base + "/scaled");
        String out = g.value(base);
        g.add(new Layer.Binary(g.layerName(base + ".mul"), Layer.Binary.Op.MUL, x.name(), sName, scaled));
        g.add(new Layer.Binary(g.layerName(base + ".add"), Layer.Binary.Op.ADD, scaled, tName, out));
        return List.of(x.withName(out));
    }

    /**
     * Checks that a normalisation layer's "axis" (a number, a one-element list, or absent for -1)
     * names the last axis of x, the only one lstmx normalises over.
     */
    static void requireLastAxis(KerasGraph g, KerasConfig.LayerSpec l, KValue x) {
        JsonElement ax = l.config().get("axis");
        long axis = -1;
        if (!Json.isNull(ax)) {
            if (ax.isJsonArray()) {
                if (ax.getAsJsonArray().size() != 1) {
                    throw g.unsupported(l, "normalises over axes " + ax + "; lstmx takes the last axis");
                }
                ax = ax.getAsJsonArray().get(0);
            }
            axis = Json.integer(ax, -8, 8, g.where(l) + ": \"axis\"");
        }
        if (axis != -1 && axis != x.rank() - 1) {
            throw g.unsupported(l, "normalises axis " + axis + " of an input of shape " + x.shapeText() + "; lstmx takes the last axis");
        }
    }
}
