package io.lstmx.runtime;

import io.lstmx.ir.Tensor;

import java.util.Arrays;
import java.util.Map;

/**
 * Streaming over successive chunks: holds, per recurrent layer, the states its last chunk ended with
 * (h, and c for an LSTM).
 * Every chunk must give all model inputs (initial-state inputs are read only by the first chunk
 * after opening or {@link #reset()}). A failed chunk leaves the carried states unchanged.
 * Not thread-safe (one stream, one caller).
 */
final class Session implements StreamingSession {
    private final CompiledGraph graph;
    private final RecurrentStep.Carry[] carries;

    Session(CompiledGraph graph) {
        this.graph = graph;
        this.carries = new RecurrentStep.Carry[graph.stepCount()];
    }

    @Override
    public Map<String, Tensor> feed(Map<String, Tensor> inputs) {
        return graph.execute(inputs, carries);
    }

    @Override
    public void reset() {
        Arrays.fill(carries, null);
    }
}
