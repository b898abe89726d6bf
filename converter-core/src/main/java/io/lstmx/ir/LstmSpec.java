package io.lstmx.ir;

import io.lstmx.errors.LstmxException;

import java.util.List;

/**
 * Hyper-parameters of an LSTM layer.
 *
 * @param inputSize      I
 * @param hiddenSize     H
 * @param projSize       P, the size h is projected to after each step (0 for none)
 * @param direction      forward, reverse or bidirectional
 * @param layout         time-major or batch-major sequence tensors
 * @param clip           clip threshold applied to every gate pre-activation as in ONNX's {@code clip}, or {@code null}
 * @param inputForget    couple the input and forget gates (f = 1 - i)
 * @param activations    f, g, h per direction (3 or 6 entries): gate, cell and hidden functions
 * @param cellClip       TensorFlow's {@code cell_clip}: each new cell state c' is clipped to
 *                       [-cellClip, cellClip] (before the output gate's peephole and h read it, and
 *                       as the state carried on), or {@code null}; unlike {@code clip} it never
 *                       touches a gate pre-activation
 * @param forgetBias     a constant added to the forget gate's pre-activation (TF1 LSTMCell's and
 *                       BlockLSTM's {@code forget_bias}), kept apart from Wb/Rb so that a same-format
 *                       round trip gives the bias back unchanged; 0 for none
 */
public record LstmSpec(int inputSize, int hiddenSize, int projSize, Direction direction, Layout layout, Float clip,
                       boolean inputForget, List<ActivationFn> activations, Float cellClip, float forgetBias) {
    public static final List<ActivationFn> DEFAULT_ACTIVATIONS =
            List.of(ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH);

    public LstmSpec {
        activations = List.copyOf(activations);
        if (inputSize <= 0 || hiddenSize <= 0 || projSize < 0) {
            throw LstmxException.badInput("LSTM sizes must be positive: input " + inputSize + ", hidden " + hiddenSize + ", projection " + projSize);
        }
        if (activations.size() != 3 * direction.count()) {
            throw LstmxException.badInput("LSTM with direction " + direction + " needs " + 3 * direction.count()
                    + " activations (f, g, h per direction), got " + activations.size());
        }
        if (clip != null && !(clip > 0)) {
            throw LstmxException.badInput("LSTM clip must be positive, got " + clip);
        }
        if (cellClip != null && !(cellClip > 0)) {
            throw LstmxException.badInput("LSTM cell clip must be positive, got " + cellClip);
        }
        if (!Float.isFinite(forgetBias)) {
            throw LstmxException.badInput("LSTM forget bias must be finite, got " + forgetBias);
        }
        if (inputForget && forgetBias != 0) {
            // f = 1 - i replaces the forget gate's own sum: the bias would be silently ignored
            throw LstmxException.badInput("LSTM forget bias " + forgetBias + " has no effect when the input and forget gates are coupled");
        }
    }

    /** Without cell clip or forget bias (ONNX's and PyTorch's LSTMs have neither). */
    public LstmSpec(int inputSize, int hiddenSize, int projSize, Direction direction, Layout layout, Float clip,
                    boolean inputForget, List<ActivationFn> activations) {
        this(inputSize, hiddenSize, projSize, direction, layout, clip, inputForget, activations, null, 0f);
    }

    /** The usual configuration: sigmoid/tanh/tanh, no clip, no projection. */
    public static LstmSpec standard(int inputSize, int hiddenSize, Direction direction, Layout layout) {
        List<ActivationFn> acts = direction.count() == 2
                ? List.of(ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH, ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH)
                : DEFAULT_ACTIVATIONS;
        return new LstmSpec(inputSize, hiddenSize, 0, direction, layout, null, false, acts);
    }

    /** Size of the emitted h: P if projected, else H. */
    public int outputSize() {
        return projSize > 0 ? projSize : hiddenSize;
    }

    public boolean hasDefaultActivations() {
        for (int d = 0; d < direction.count(); d++) {
            if (!activations.subList(3 * d, 3 * d + 3).equals(DEFAULT_ACTIVATIONS)) {
                return false;
            }
        }
        return true;
    }

    public LstmSpec withLayout(Layout l) {
        return new LstmSpec(inputSize, hiddenSize, projSize, direction, l, clip, inputForget, activations, cellClip, forgetBias);
    }

    /** The same spec with TensorFlow's cell clip ({@code null} for none). */
    public LstmSpec withCellClip(Float c) {
        return new LstmSpec(inputSize, hiddenSize, projSize, direction, layout, clip, inputForget, activations, c, forgetBias);
    }

    /** The same spec with a forget-gate bias (0 for none). */
    public LstmSpec withForgetBias(float b) {
        return new LstmSpec(inputSize, hiddenSize, projSize, direction, layout, clip, inputForget, activations, cellClip, b);
    }
}
