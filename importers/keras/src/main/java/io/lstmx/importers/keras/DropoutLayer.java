package io.lstmx.importers.keras;

import io.lstmx.ir.Layer;

import java.util.List;

/**
 * Keras Dropout, SpatialDropout1D, GaussianDropout, GaussianNoise, AlphaDropout and
 * ActivityRegularization: the identity at inference (an IR Dropout keeping Dropout's rate, else an
 * Identity). The input's mask passes through.
 */
final class DropoutLayer implements LayerConverter {
    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        KValue x = DenseLayer.one(g, l, inputs);
        String out = g.value(l.name());
        if (l.className().endsWith("Dropout")) {
            double rate = Json.num(l.config(), "rate", 0, g.where(l));
            if (!(rate >= 0 && rate <= 1)) {
                throw g.bad(l, "rate " + rate + " is not in [0, 1]");
            }
            g.add(new Layer.Dropout(g.layerName(l.name()), x.name(), out, (float) rate));
        } else {
            g.add(new Layer.Identity(g.layerName(l.name()), x.name(), out));
        }
        return List.of(x.withName(out));
    }
}
