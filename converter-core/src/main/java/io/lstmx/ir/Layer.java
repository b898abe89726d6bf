package io.lstmx.ir;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A node of the IR graph. Layers read and write named values; a model lists them in topological
 * order. Optional ports are {@code null} when absent. Axes are as in ONNX (negative counts from the
 * end). Each record's Javadoc states what it computes.
 */
public sealed interface Layer {
    /** Unique layer name (used in messages). */
    String name();

    /** Names of the values read, absent optional ports left out. */
    List<String> inputs();

    /** Names of the values written, absent optional ports left out. */
    List<String> outputs();

    /** Short operator name for listings, e.g. "LSTM". */
    default String kind() {
        return getClass().getSimpleName();
    }

    /** Parameter count (weights held by the layer itself). */
    default long parameterCount() {
        return 0;
    }

    private static List<String> present(String... names) {
        List<String> l = new ArrayList<>();
        for (String n : names) {
            if (n != null && !n.isEmpty()) {
                l.add(n);
            }
        }
        return List.copyOf(l);
    }

    /** A constant value. */
    record Constant(String name, String output, Tensor value) implements Layer {
        public List<String> inputs() { return List.of(); }
        public List<String> outputs() { return List.of(output); }
    }

    /**
     * Long short-term memory layer. For each direction and time step t, with x_t the input,
     * h and c the previous states (h of size P when projected), and gates in order i, f, g, o:
     * <pre>
     *   i = f_act(W_i x_t + R_i h + Wb_i + Rb_i + p_i * c)
     *   f = f_act(W_f x_t + R_f h + Wb_f + Rb_f + p_f * c)      (f = 1 - i when inputForget)
     *   g = g_act(W_g x_t + R_g h + Wb_g + Rb_g)
     *   c' = f * c + i * g
     *   o = f_act(W_o x_t + R_o h + Wb_o + Rb_o + p_o * c')
     *   h' = o * h_act(c')            (then h' = Proj h' when projected)
     * </pre>
     * With a clip, every gate pre-activation is clipped to [-clip, clip] (ONNX semantics).
     * Sequence lengths stop each batch row at its own length: its outputs past the end are zero
     * and its last states are those at its last valid step (the reverse direction starts at it).
     * A row of length 0 runs no step: its Y is all zero and so are its Y_h and Y_c (as onnxruntime
     * gives them), while the state carried on (what a streaming session continues from) stays its
     * initial state.
     * Outputs follow ONNX: Y [T, D, B, P|H] time-major or [B, T, D, P|H] batch-major, and
     * last h and c as [D, B, *] time-major or [B, D, *] batch-major; initial states likewise.
     *
     * @param sourceGateOrder gate order of the format the layer came from (for listings only)
     */
    record Lstm(String name, String input, String sequenceLengths, String initialH, String initialC,
                String outputSequence, String outputH, String outputC,
                LstmSpec spec, List<LstmWeights> weights, GateOrder sourceGateOrder) implements Layer {
        public Lstm {
            Objects.requireNonNull(input, "input");
            Objects.requireNonNull(spec, "spec");
            weights = List.copyOf(weights);
            if (weights.size() != spec.direction().count()) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "': direction " + spec.direction()
                        + " needs " + spec.direction().count() + " weight sets, got " + weights.size());
            }
            for (int d = 0; d < weights.size(); d++) {
                weights.get(d).validate(name, d, spec.inputSize(), spec.hiddenSize(), spec.projSize());
            }
            if (outputSequence == null && outputH == null && outputC == null) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "' has no output in use");
            }
        }

        public List<String> inputs() { return present(input, sequenceLengths, initialH, initialC); }
        public List<String> outputs() { return present(outputSequence, outputH, outputC); }
        @Override public String kind() { return "LSTM"; }

        @Override
        public long parameterCount() {
            long n = 0;
            for (LstmWeights w : weights) {
                n += w.w().size() + w.r().size() + w.wb().size() + w.rb().size()
                        + (w.peephole() == null ? 0 : w.peephole().size())
                        + (w.projection() == null ? 0 : w.projection().size());
            }
            return n;
        }
    }

    /**
     * Gated recurrent unit layer (ONNX GRU semantics), gates in canonical order r, z, n. For each
     * direction and time step, with h the previous state, f and g the direction's two activations
     * (sigmoid and tanh by default):
     * <pre>
     *   r  = f(W_r x_t + R_r h + Wb_r + Rb_r)
     *   z  = f(W_z x_t + R_z h + Wb_z + Rb_z)
     *   n  = g(W_n x_t + Wb_n + r * (R_n h + Rb_n))       when linearBeforeReset
     *   n  = g(W_n x_t + Wb_n + R_n (r * h) + Rb_n)       otherwise
     *   h' = (1 - z) * n + z * h
     * </pre>
     * Clip, sequence lengths, layouts, initial state and outputs as for {@link Lstm} (no cell state).
     */
    record Gru(String name, String input, String sequenceLengths, String initialH, String outputSequence, String outputH,
               RecurrentSpec spec, List<RecurrentWeights> weights, GateOrder.Gru sourceGateOrder) implements Layer {
        public Gru {
            Objects.requireNonNull(input, "input");
            weights = List.copyOf(weights);
            checkRecurrent(name, spec, weights, 3, 2, outputSequence, outputH);
        }

        public List<String> inputs() { return present(input, sequenceLengths, initialH); }
        public List<String> outputs() { return present(outputSequence, outputH); }
        @Override public String kind() { return "GRU"; }
        @Override public long parameterCount() { return weights.stream().mapToLong(RecurrentWeights::parameterCount).sum(); }
    }

    /**
     * Simple recurrent layer (ONNX RNN semantics): h' = f(W x_t + R h + Wb + Rb), f tanh by default.
     * Clip, sequence lengths, layouts, initial state and outputs as for {@link Lstm}.
     */
    record Rnn(String name, String input, String sequenceLengths, String initialH, String outputSequence, String outputH,
               RecurrentSpec spec, List<RecurrentWeights> weights) implements Layer {
        public Rnn {
            Objects.requireNonNull(input, "input");
            weights = List.copyOf(weights);
            checkRecurrent(name, spec, weights, 1, 1, outputSequence, outputH);
            if (spec.linearBeforeReset()) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "': linear_before_reset applies to GRU only");
            }
        }

        public List<String> inputs() { return present(input, sequenceLengths, initialH); }
        public List<String> outputs() { return present(outputSequence, outputH); }
        @Override public String kind() { return "RNN"; }
        @Override public long parameterCount() { return weights.stream().mapToLong(RecurrentWeights::parameterCount).sum(); }
    }

    private static void checkRecurrent(String name, RecurrentSpec spec, List<RecurrentWeights> weights, int gates, int acts,
                                       String outputSequence, String outputH) {
        Objects.requireNonNull(spec, "spec");
        if (weights.size() != spec.direction().count()) {
            throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "': direction " + spec.direction()
                    + " needs " + spec.direction().count() + " weight sets, got " + weights.size());
        }
        if (spec.activationsPerDirection() != acts) {
            throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "' needs " + acts + " activation(s) per direction, got "
                    + spec.activationsPerDirection());
        }
        for (int d = 0; d < weights.size(); d++) {
            weights.get(d).validate(name, d, gates, spec.inputSize(), spec.hiddenSize());
        }
        if (outputSequence == null && outputH == null) {
            throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "' has no output in use");
        }
    }

    /** Fully connected layer on the last axis: y = x W^T + b, W [out, in], b [out] or absent. */
    record Dense(String name, String input, String output, Tensor weight, Tensor bias) implements Layer {
        public Dense {
            if (weight.rank() != 2) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "': Dense weight must be [out, in], got " + Arrays.toString(weight.shape()));
            }
            if (bias != null && (bias.rank() != 1 || bias.dim(0) != weight.dim(0))) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "': Dense bias must be [" + weight.dim(0) + "], got " + Arrays.toString(bias.shape()));
            }
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public long parameterCount() { return weight.size() + (bias == null ? 0 : bias.size()); }
    }

    /** Embedding lookup: y[..., :] = table[x[...], :], table [V, D], x integer indices in [0, V) (negative counts from V). */
    record Embedding(String name, String input, String output, Tensor table) implements Layer {
        public Embedding {
            if (table.rank() != 2) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "': Embedding table must be [vocab, dim], got " + Arrays.toString(table.shape()));
            }
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public long parameterCount() { return table.size(); }
    }

    /** Element-wise activation y = fn(x). */
    record Activation(String name, String input, String output, ActivationFn fn) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public String kind() { return fn.kind().toString(); }
    }

    /** Softmax (or log-softmax when {@code log}) along one axis: y = e^x / sum(e^x). */
    record Softmax(String name, String input, String output, int axis, boolean log) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public String kind() { return log ? "LogSoftmax" : "Softmax"; }
    }

    /** Dropout: the identity at inference; the rate is kept for export. */
    record Dropout(String name, String input, String output, float rate) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }

    /** Identity: y = x. */
    record Identity(String name, String input, String output) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }

    /** Element-wise binary operation with NumPy broadcasting. */
    record Binary(String name, Op op, String a, String b, String output) implements Layer {
        public enum Op { ADD, SUB, MUL, DIV }

        public List<String> inputs() { return List.of(a, b); }
        public List<String> outputs() { return List.of(output); }
        @Override public String kind() { return op.toString(); }
    }

    /** Matrix product of two run-time values with NumPy matmul broadcasting. */
    record MatMul(String name, String a, String b, String output) implements Layer {
        public List<String> inputs() { return List.of(a, b); }
        public List<String> outputs() { return List.of(output); }
    }

    /** Concatenation along an axis. */
    record Concat(String name, List<String> inputs, String output, int axis) implements Layer {
        public Concat {
            inputs = List.copyOf(inputs);
        }

        public List<String> outputs() { return List.of(output); }
    }

    /** Axis permutation: y.shape[k] = x.shape[perm[k]]. */
    record Transpose(String name, String input, String output, List<Integer> perm) implements Layer {
        public Transpose {
            perm = List.copyOf(perm);
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }

    /** Reshape with ONNX semantics: 0 copies the input dimension at that position, -1 is inferred. */
    record Reshape(String name, String input, String output, List<Long> shape) implements Layer {
        public Reshape {
            shape = List.copyOf(shape);
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }

    /** Flattens to 2-D: [prod(dims before axis), prod(dims from axis)]. */
    record Flatten(String name, String input, String output, int axis) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }

    /** Removes the given axes, which must have size 1. */
    record Squeeze(String name, String input, String output, List<Integer> axes) implements Layer {
        public Squeeze {
            axes = List.copyOf(axes);
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }

    /** Inserts size-1 axes at the given positions of the output. */
    record Unsqueeze(String name, String input, String output, List<Integer> axes) implements Layer {
        public Unsqueeze {
            axes = List.copyOf(axes);
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }

    /**
     * Selects one position along an axis and removes that axis (negative index counts from the end):
     * last-step selection is {@code Select(axis = time, index = -1)}.
     */
    record Select(String name, String input, String output, int axis, long index) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }

    /** Gathers positions along an axis with a constant index tensor (ONNX Gather with constant indices). */
    record Take(String name, String input, String output, int axis, Tensor indices) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }

    /** Slice along one axis with ONNX semantics (clamped start/end, step &ne; 0). */
    record Slice(String name, String input, String output, int axis, long start, long end, long step) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }

    /** Element type conversion. */
    record Cast(String name, String input, String output, DType to) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
    }
}
