package io.lstmx.importers.keras;

import java.util.List;

/** Keras layers lstmx knows and refuses, each with the precise reason (UNSUPPORTED). */
final class Refused implements LayerConverter {
    private final String reason;

    Refused(String reason) {
        this.reason = reason;
    }

    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        throw g.unsupported(l, reason);
    }
}
