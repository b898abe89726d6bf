package io.lstmx.runtime;

import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;

import java.util.List;
import java.util.Map;

/** A model ready to run. Thread-safe: each call uses its own buffers. */
public interface CompiledModel {
    Model model();

    /**
     * Runs the model on named inputs (every model input must be given; shapes are checked against
     * the declared ones with an error naming the input). Returns every model output, in model order.
     */
    Map<String, Tensor> run(Map<String, Tensor> inputs);

    /**
     * Checks one value for the declared input {@code name} as {@link #run} does (floats where floats
     * are declared, rank and fixed dims), with the same BAD_INPUT message; for callers that want to
     * report a bad input before all inputs are gathered.
     */
    default void checkInput(String name, Tensor value) {
        CompiledGraph.checkInput(model(), name, value);
    }

    /**
     * This model, returning after its outputs the named intermediate values too (any value a layer
     * writes or an input), in the order given, for checking layer by layer against another engine.
     * The prepared layers are shared; this model's own runs are unchanged and no slower. An unknown
     * name is BAD_INPUT.
     */
    CompiledModel exposing(List<String> values);

    /**
     * Opens a streaming session: each {@link StreamingSession#feed} continues every recurrent layer
     * from the states its previous call ended with (LSTM h and c, GRU and RNN h; as MATLAB's
     * predictAndUpdateState), until reset. Fails (UNSUPPORTED) when a recurrent layer is reverse or
     * bidirectional.
     */
    StreamingSession openSession();
}
