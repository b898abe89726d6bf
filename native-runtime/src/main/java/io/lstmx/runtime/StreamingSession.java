package io.lstmx.runtime;

import io.lstmx.ir.Tensor;

import java.util.Map;

/** Stateful execution over successive chunks of one stream (or one batch of streams). */
public interface StreamingSession {
    /** Runs one chunk, starting each recurrent layer (LSTM, GRU, RNN) from the states left by the previous chunk. */
    Map<String, Tensor> feed(Map<String, Tensor> inputs);

    /** Forgets all carried states: the next chunk starts from the model's own initial states. */
    void reset();
}
