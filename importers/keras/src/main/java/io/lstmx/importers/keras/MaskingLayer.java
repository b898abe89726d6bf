package io.lstmx.importers.keras;

import io.lstmx.ir.Layer;

import java.util.List;

/**
 * Keras Masking(mask_value): a step whose features all equal mask_value is masked.
 * <pre>
 *   m[b, t]    = 1 if x[b, t, k] != mask_value for some k else 0      (IR StepMask over the last axis)
 *   y[b, t, :] = x[b, t, :] * m[b, t]                                   (Unsqueeze, then Binary MUL)
 * </pre>
 * The output carries m as its mask, for the recurrent layers after it.
 */
final class MaskingLayer implements LayerConverter {
    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        KValue x = DenseLayer.one(g, l, inputs);
        if (x.rank() != 3) {
            throw g.unsupported(l, "masks a tensor of shape " + x.shapeText() + "; lstmx reads Masking of [batch, time, features]");
        }
        double v = Json.num(l.config(), "mask_value", 0.0, g.where(l));
        float value = (float) v;
        if (!Float.isFinite(value)) {
            throw g.bad(l, "mask_value " + v + " is not a finite float32");
        }
        String base = l.name();
        String mask = g.value(base + "/mask");
        g.add(new Layer.StepMask(g.layerName(base + ".mask"), x.name(), mask, value, true));
        String column = g.value(base + "/mask_column");
        g.add(new Layer.Unsqueeze(g.layerName(base + ".mask_column"), mask, column, List.of(2)));
        String out = g.value(base);
        g.add(new Layer.Binary(g.layerName(base), Layer.Binary.Op.MUL, x.name(), column, out));
        g.masksMade.put(mask, base);
        return List.of(new KValue(out, x.shape(), x.dtype(), mask));
    }
}
