package io.lstmx.ir;

import io.lstmx.errors.LstmxException;

import java.util.List;

/**
 * Hyper-parameters shared by GRU and simple RNN layers.
 *
 * @param inputSize         I
 * @param hiddenSize        H
 * @param direction         forward, reverse or bidirectional
 * @param layout            time-major or batch-major sequence tensors (as for LSTM)
 * @param clip              clip threshold for gate pre-activations (ONNX semantics), or {@code null}
 * @param linearBeforeReset GRU only: apply the reset gate after the recurrent product (PyTorch,
 *                          Keras reset_after=True, ONNX linear_before_reset=1); false for RNN
 * @param activations       per direction: GRU f, g (2 each); RNN f (1 each)
 */
public record RecurrentSpec(int inputSize, int hiddenSize, Direction direction, Layout layout, Float clip,
                            boolean linearBeforeReset, List<ActivationFn> activations) {
    public RecurrentSpec {
        activations = List.copyOf(activations);
        if (inputSize <= 0 || hiddenSize <= 0) {
            throw LstmxException.badInput("recurrent layer sizes must be positive: input " + inputSize + ", hidden " + hiddenSize);
        }
        if (activations.isEmpty() || activations.size() % direction.count() != 0) {
            throw LstmxException.badInput("direction " + direction + " needs the same number of activations per direction, got "
                    + activations.size());
        }
        if (clip != null && !(clip > 0)) {
            throw LstmxException.badInput("clip must be positive, got " + clip);
        }
    }

    /** Activations per direction. */
    public int activationsPerDirection() {
        return activations.size() / direction.count();
    }
}
