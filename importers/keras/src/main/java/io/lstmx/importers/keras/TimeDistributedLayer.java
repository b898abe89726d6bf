package io.lstmx.importers.keras;

import com.google.gson.JsonObject;

import java.util.List;

/**
 * Keras TimeDistributed(Dense | Dropout | Activation): the wrapped layer on every time step, which
 * for these is the layer itself on the last axis (the IR's Dense takes any rank). Other wrapped
 * layers are refused naming them.
 */
final class TimeDistributedLayer implements LayerConverter {
    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        KValue x = DenseLayer.one(g, l, inputs);
        JsonObject o = Json.obj(l.config(), "layer", g.where(l));
        String cls = Json.str(o, "class_name", g.where(l));
        String registered = Json.str(o, "registered_name", null, g.where(l));
        String module = Json.str(o, "module", null, g.where(l));
        if ((registered != null && !registered.equals(cls)) || (module != null && !module.startsWith("keras"))) {
            throw g.unsupported(l, "wraps a custom layer '" + (registered != null ? registered : module + "." + cls) + "'");
        }
        JsonObject cfg = Json.obj(o, "config", g.where(l) + ": layer");
        KerasConfig.LayerSpec inner = new KerasConfig.LayerSpec(cls, l.name(), cfg, null, List.of());
        if (x.rank() < 3) {
            throw g.bad(l, "input has shape " + x.shapeText() + "; TimeDistributed takes [batch, time, ...]");
        }
        return switch (cls) {
            case "Dense" -> List.of(DenseLayer.dense(g, l, inner, x));
            case "Dropout", "Activation" -> Converters.get(cls).convert(g, inner, inputs);
            default -> throw g.unsupported(l, "wraps a '" + cls + "'; lstmx converts TimeDistributed Dense, Dropout and Activation");
        };
    }
}
