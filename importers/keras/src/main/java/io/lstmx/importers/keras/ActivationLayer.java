package io.lstmx.importers.keras;

import io.lstmx.ir.Layer;

import java.util.List;

/** Keras Activation: the named function element-wise (softmax and log_softmax on the last axis). */
final class ActivationLayer implements LayerConverter {
    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        KValue x = DenseLayer.one(g, l, inputs);
        String out = g.value(l.name());
        if (g.activationName(l, "activation", "linear").equals("linear")) {
            g.add(new Layer.Identity(g.layerName(l.name()), x.name(), out));
            return List.of(x.withName(out));
        }
        return List.of(g.applyActivation(l, x, out));
    }
}
