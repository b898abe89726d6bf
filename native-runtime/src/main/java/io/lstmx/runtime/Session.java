package io.lstmx.runtime;

import io.lstmx.ir.Tensor;

import java.util.Arrays;
import java.util.Map;

/**
 * Streaming over successive chunks: holds, per LSTM layer, the states its last chunk ended with.
 * Every chunk must give all model inputs (initial-state inputs are read only by the first chunk
 * after opening or {@link #reset()}). A failed chunk leaves the carried states unchanged.
 * Not thread-safe (one stream, one caller).
 */
final class Session implements StreamingSession {
    private final CompiledGraph graph;
    private final LstmStep.Carry[] carries;

    Session(CompiledGraph graph) {
        this.graph = graph;
        this.carries = new LstmStep.Carry[graph.stepCount()];
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
