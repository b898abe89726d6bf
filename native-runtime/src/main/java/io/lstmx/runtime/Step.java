package io.lstmx.runtime;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Layer;

/** One layer prepared for execution: reads values aligned with {@link Layer#inputs()}, returns values aligned with {@link Layer#outputs()}. */
interface Step {
    Val[] run(Val[] args);

    /** BAD_INPUT error naming the layer and its kind. */
    static LstmxException bad(Layer layer, String message) {
        return LstmxException.badInput("layer '" + layer.name() + "' (" + layer.kind() + "): " + message);
    }
}
