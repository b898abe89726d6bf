package io.lstmx.importers.keras;

import java.util.List;

/**
 * Converts one call of a Keras layer to IR layers. Implementations are registered by Keras class
 * name in {@link Converters}.
 */
interface LayerConverter {
    /**
     * Emits the IR layers of one call.
     *
     * @param g      the graph being built (names, weights, messages)
     * @param layer  the layer's config
     * @param inputs the tensors of the call, in order
     * @return the call's outputs, indexed as Keras indexes them (tensor_index)
     */
    List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec layer, List<KValue> inputs);
}
