package io.lstmx.ir;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A node of the IR graph. Layers read and write named values; a model lists them in topological
 * order. Optional ports are {@code null} when absent. Axes are as in ONNX (negative counts from the
 * end). Each record's Javadoc states what it computes.
 *
 * <p>Code that handles every kind of layer dispatches through {@link #accept} and a
 * {@link Visitor}, never through a chain of {@code instanceof}: a new kind then fails to compile
 * until every such consumer handles it.
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

    /** Calls the visitor's method for this layer's kind. */
    <R> R accept(Visitor<R> v);

    /** Every tensor the layer holds (weights, constants, tables, indices), absent optional ones left out. */
    default List<Tensor> tensors() {
        return accept(HeldTensors.INSTANCE);
    }

    /**
     * One method per concrete kind of layer: implementing it is the compile-time proof that a
     * consumer handles every kind (there is deliberately no default implementation).
     *
     * @param <R> what the consumer makes of a layer
     */
    interface Visitor<R> {
        R visit(Constant l);

        R visit(Lstm l);

        R visit(Gru l);

        R visit(Rnn l);

        R visit(Dense l);

        R visit(Embedding l);

        R visit(Activation l);

        R visit(Softmax l);

        R visit(Dropout l);

        R visit(Identity l);

        R visit(Binary l);

        R visit(MatMul l);

        R visit(Concat l);

        R visit(Transpose l);

        R visit(Reshape l);

        R visit(Flatten l);

        R visit(Squeeze l);

        R visit(Unsqueeze l);

        R visit(Select l);

        R visit(Take l);

        R visit(Slice l);

        R visit(Cast l);

        R visit(StepMask l);

        R visit(LayerNorm l);
    }

    /**
     * What LSTM, GRU and simple RNN layers share: ports (X, sequence lengths, initial states in;
     * Y and the last states out, see {@link RecurrentPorts}), sizes, directions, layout, clip and
     * activations, with ONNX semantics for each (see {@link Lstm}). Consumers that treat the three
     * alike use these; what differs (gates, weights, cell state) stays on the records.
     */
    sealed interface Recurrent extends Layer permits Lstm, Gru, Rnn {
        RecurrentPorts ports();

        /** The same layer reading and writing other values. */
        Recurrent withPorts(RecurrentPorts ports);

        /** I, the size of each step's input. */
        int inputSize();

        /** H, the hidden size. */
        int hiddenSize();

        /** Width of h as emitted in Y and Y_h: P for a projected LSTM, else H. */
        int outputSize();

        /** Width of the cell state carried beside h: H for LSTM, 0 for GRU and RNN. */
        int cellWidth();

        /** Gate blocks per direction: 4 (LSTM), 3 (GRU), 1 (RNN). */
        int gates();

        Direction direction();

        Layout layout();

        /** ONNX clip of gate pre-activations, or null. */
        Float clip();

        /** The activation functions, all directions in order. */
        List<ActivationFn> activations();

        /** One weight set per direction (forward first). */
        List<?> weights();

        default String input() {
            return ports().input();
        }

        default String sequenceLengths() {
            return ports().sequenceLengths();
        }

        default String initialH() {
            return ports().initialH();
        }

        default String initialC() {
            return ports().initialC();
        }

        default String outputSequence() {
            return ports().outputSequence();
        }

        default String outputH() {
            return ports().outputH();
        }

        default String outputC() {
            return ports().outputC();
        }

        @Override
        default List<String> inputs() {
            return ports().inputs();
        }

        @Override
        default List<String> outputs() {
            return ports().outputs();
        }
    }

    /** A constant value. */
    record Constant(String name, String output, Tensor value) implements Layer {
        public List<String> inputs() { return List.of(); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /**
     * Long short-term memory layer. For each direction and time step t, with x_t the input,
     * h and c the previous states (h of size P when projected), and gates in order i, f, g, o:
     * <pre>
     *   i  = f_act(W_i x_t + R_i h + Wb_i + Rb_i + p_i * c)
     *   f  = f_act(W_f x_t + R_f h + Wb_f + Rb_f + forgetBias + p_f * c)   (f = 1 - i when inputForget)
     *   g  = g_act(W_g x_t + R_g h + Wb_g + Rb_g)
     *   c' = f * c + i * g                  (then c' = min(max(c', -cellClip), cellClip) with a cell clip)
     *   o  = f_act(W_o x_t + R_o h + Wb_o + Rb_o + p_o * c')
     *   h' = o * h_act(c')                  (then h' = Proj h' when projected)
     * </pre>
     * With a clip, every gate pre-activation (each whole sum above, peephole term and forget bias
     * included) is clipped to [-clip, clip] before its activation (ONNX semantics). A cell clip
     * (TensorFlow's {@code cell_clip}) clips the new cell state instead, which the output gate's
     * peephole, h' and the next step all read clipped. forgetBias is TF1's {@code forget_bias}
     * (0 when absent; see {@link LstmSpec}).
     * Sequence lengths stop each batch row at its own length: its outputs past the end are zero
     * and its last states are those at its last valid step (the reverse direction starts at it).
     * A row of length 0 runs no step: its Y is all zero and so are its Y_h and Y_c (as onnxruntime
     * gives them), while the state carried on (what a streaming session continues from) stays its
     * initial state.
     * Outputs follow ONNX: Y [T, D, B, P|H] time-major or [B, T, D, P|H] batch-major, and
     * last h and c as [D, B, *] time-major or [B, D, *] batch-major; initial states likewise.
     *
     * @param ports           X, sequence lengths, initial h and c in; Y, Y_h, Y_c out
     * @param sourceGateOrder gate order of the format the layer came from (for listings only)
     */
    record Lstm(String name, RecurrentPorts ports, LstmSpec spec, List<LstmWeights> weights, GateOrder sourceGateOrder)
            implements Recurrent {
        public Lstm {
            Objects.requireNonNull(ports, "ports");
            Objects.requireNonNull(spec, "spec");
            weights = List.copyOf(weights);
            if (weights.size() != spec.direction().count()) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "': direction " + spec.direction()
                        + " needs " + spec.direction().count() + " weight sets, got " + weights.size());
            }
            for (int d = 0; d < weights.size(); d++) {
                weights.get(d).validate(name, d, spec.inputSize(), spec.hiddenSize(), spec.projSize());
            }
            if (ports.outputs().isEmpty()) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "' has no output in use");
            }
        }

        @Override public Lstm withPorts(RecurrentPorts p) { return new Lstm(name, p, spec, weights, sourceGateOrder); }
        @Override public int inputSize() { return spec.inputSize(); }
        @Override public int hiddenSize() { return spec.hiddenSize(); }
        @Override public int outputSize() { return spec.outputSize(); }
        @Override public int cellWidth() { return spec.hiddenSize(); }
        @Override public int gates() { return 4; }
        @Override public Direction direction() { return spec.direction(); }
        @Override public Layout layout() { return spec.layout(); }
        @Override public Float clip() { return spec.clip(); }
        @Override public List<ActivationFn> activations() { return spec.activations(); }
        @Override public String kind() { return "LSTM"; }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }

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
     * Clip, sequence lengths, layouts, initial state and outputs as for {@link Lstm} (no cell state:
     * the ports' initial c and Y_c must be absent).
     */
    record Gru(String name, RecurrentPorts ports, RecurrentSpec spec, List<RecurrentWeights> weights, GateOrder.Gru sourceGateOrder)
            implements Recurrent {
        public Gru {
            weights = List.copyOf(weights);
            checkRecurrent(name, "GRU", ports, spec, weights, 3, 2);
        }

        @Override public Gru withPorts(RecurrentPorts p) { return new Gru(name, p, spec, weights, sourceGateOrder); }
        @Override public int inputSize() { return spec.inputSize(); }
        @Override public int hiddenSize() { return spec.hiddenSize(); }
        @Override public int outputSize() { return spec.hiddenSize(); }
        @Override public int cellWidth() { return 0; }
        @Override public int gates() { return 3; }
        @Override public Direction direction() { return spec.direction(); }
        @Override public Layout layout() { return spec.layout(); }
        @Override public Float clip() { return spec.clip(); }
        @Override public List<ActivationFn> activations() { return spec.activations(); }
        @Override public String kind() { return "GRU"; }
        @Override public long parameterCount() { return weights.stream().mapToLong(RecurrentWeights::parameterCount).sum(); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /**
     * Simple recurrent layer (ONNX RNN semantics): h' = f(W x_t + R h + Wb + Rb), f tanh by default.
     * Clip, sequence lengths, layouts, initial state and outputs as for {@link Lstm} (no cell state).
     */
    record Rnn(String name, RecurrentPorts ports, RecurrentSpec spec, List<RecurrentWeights> weights) implements Recurrent {
        public Rnn {
            weights = List.copyOf(weights);
            checkRecurrent(name, "RNN", ports, spec, weights, 1, 1);
            if (spec.linearBeforeReset()) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "': linear_before_reset applies to GRU only");
            }
        }

        @Override public Rnn withPorts(RecurrentPorts p) { return new Rnn(name, p, spec, weights); }
        @Override public int inputSize() { return spec.inputSize(); }
        @Override public int hiddenSize() { return spec.hiddenSize(); }
        @Override public int outputSize() { return spec.hiddenSize(); }
        @Override public int cellWidth() { return 0; }
        @Override public int gates() { return 1; }
        @Override public Direction direction() { return spec.direction(); }
        @Override public Layout layout() { return spec.layout(); }
        @Override public Float clip() { return spec.clip(); }
        @Override public List<ActivationFn> activations() { return spec.activations(); }
        @Override public String kind() { return "RNN"; }
        @Override public long parameterCount() { return weights.stream().mapToLong(RecurrentWeights::parameterCount).sum(); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    private static void checkRecurrent(String name, String kind, RecurrentPorts ports, RecurrentSpec spec,
                                       List<RecurrentWeights> weights, int gates, int acts) {
        Objects.requireNonNull(ports, "ports");
        Objects.requireNonNull(spec, "spec");
        if (ports.hasCellState()) {
            throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "' (" + kind + ") has no cell state, but its ports name "
                    + (ports.initialC() != null ? "an initial c '" + ports.initialC() + "'" : "an output Y_c '" + ports.outputC() + "'")
                    + " (LSTM only)");
        }
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
        if (ports.outputs().isEmpty()) {
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
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
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
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
        @Override public long parameterCount() { return table.size(); }
    }

    /** Element-wise activation y = fn(x). */
    record Activation(String name, String input, String output, ActivationFn fn) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
        @Override public String kind() { return fn.kind().toString(); }
    }

    /** Softmax (or log-softmax when {@code log}) along one axis: y = e^x / sum(e^x). */
    record Softmax(String name, String input, String output, int axis, boolean log) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
        @Override public String kind() { return log ? "LogSoftmax" : "Softmax"; }
    }

    /** Dropout: the identity at inference; the rate is kept for export. */
    record Dropout(String name, String input, String output, float rate) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Identity: y = x. */
    record Identity(String name, String input, String output) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Element-wise binary operation with NumPy broadcasting. */
    record Binary(String name, Op op, String a, String b, String output) implements Layer {
        public enum Op { ADD, SUB, MUL, DIV }

        public List<String> inputs() { return List.of(a, b); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
        @Override public String kind() { return op.toString(); }
    }

    /** Matrix product of two run-time values with NumPy matmul broadcasting. */
    record MatMul(String name, String a, String b, String output) implements Layer {
        public List<String> inputs() { return List.of(a, b); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Concatenation along an axis. */
    record Concat(String name, List<String> inputs, String output, int axis) implements Layer {
        public Concat {
            inputs = List.copyOf(inputs);
        }

        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Axis permutation: y.shape[k] = x.shape[perm[k]]. */
    record Transpose(String name, String input, String output, List<Integer> perm) implements Layer {
        public Transpose {
            perm = List.copyOf(perm);
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Reshape with ONNX semantics: 0 copies the input dimension at that position, -1 is inferred. */
    record Reshape(String name, String input, String output, List<Long> shape) implements Layer {
        public Reshape {
            shape = List.copyOf(shape);
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Flattens to 2-D: [prod(dims before axis), prod(dims from axis)]. */
    record Flatten(String name, String input, String output, int axis) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Removes the given axes, which must have size 1. */
    record Squeeze(String name, String input, String output, List<Integer> axes) implements Layer {
        public Squeeze {
            axes = List.copyOf(axes);
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Inserts size-1 axes at the given positions of the output. */
    record Unsqueeze(String name, String input, String output, List<Integer> axes) implements Layer {
        public Unsqueeze {
            axes = List.copyOf(axes);
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /**
     * Selects one position along an axis and removes that axis (negative index counts from the end):
     * last-step selection is {@code Select(axis = time, index = -1)}.
     */
    record Select(String name, String input, String output, int axis, long index) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Gathers positions along an axis with a constant index tensor (ONNX Gather with constant indices). */
    record Take(String name, String input, String output, int axis, Tensor indices) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Slice along one axis with ONNX semantics (clamped start/end, step &ne; 0). */
    record Slice(String name, String input, String output, int axis, long start, long end, long step) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /** Element type conversion. */
    record Cast(String name, String input, String output, DType to) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /**
     * A per-step mask (Keras's {@code Embedding(mask_zero=True)} and {@code Masking}) as FLOAT32
     * 1 / 0, for a recurrent layer's mask port (see {@link RecurrentPorts#mask()}):
     * <pre>
     *   y[...]    = 1 if x[...] != value else 0                        (anyOverLastAxis false)
     *   y[..., ]  = 1 if x[..., k] != value for some k else 0          (anyOverLastAxis true: the last axis is removed)
     * </pre>
     * Token ids masked with value 0 are Embedding's mask; a [B, T, F] sequence masked over its
     * features is Masking's.
     */
    record StepMask(String name, String input, String output, float value, boolean anyOverLastAxis) implements Layer {
        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }

    /**
     * Layer normalisation over the last axis (Keras's LayerNormalization, ONNX's
     * LayerNormalization with axis -1, torch's layer_norm), with its statistics computed per row
     * at run time:
     * <pre>
     *   mean = (1/F) sum_k x[..., k]
     *   var  = (1/F) sum_k (x[..., k] - mean)^2
     *   y[..., k] = (x[..., k] - mean) / sqrt(var + epsilon) * gamma[k] + beta[k]
     * </pre>
     * gamma [F] (null: 1) and beta [F] (null: 0).
     */
    record LayerNorm(String name, String input, String output, float epsilon, Tensor gamma, Tensor beta) implements Layer {
        public LayerNorm {
            if (!(epsilon >= 0) || Float.isInfinite(epsilon)) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "': epsilon " + epsilon + " is not a finite non-negative number");
            }
            if (gamma != null && beta != null && (gamma.rank() != 1 || beta.rank() != 1 || gamma.dim(0) != beta.dim(0))) {
                throw io.lstmx.errors.LstmxException.badInput("layer '" + name + "': gamma " + java.util.Arrays.toString(gamma.shape())
                        + " and beta " + java.util.Arrays.toString(beta.shape()) + " are not two vectors of one size");
            }
        }

        /** F, the normalised axis's size, or -1 when neither gamma nor beta says it. */
        public int features() {
            return gamma != null ? gamma.dim(0) : beta != null ? beta.dim(0) : -1;
        }

        /**
         * The scale of a layer norm without one: ones [features] (x * 1 is exact). Readers give it
         * to a LayerNorm whose size they know but whose file has no weight, because the IR knows a
         * LayerNorm's size only from gamma or beta; writers whose format needs a scale write it.
         */
        public static Tensor unitScale(int features) {
            float[] ones = new float[features];
            java.util.Arrays.fill(ones, 1f);
            return Tensor.ofFloats(new int[] {features}, ones);
        }

        public List<String> inputs() { return List.of(input); }
        public List<String> outputs() { return List.of(output); }
        @Override public long parameterCount() { return (gamma == null ? 0 : gamma.size()) + (beta == null ? 0 : beta.size()); }
        @Override public <R> R accept(Visitor<R> v) { return v.visit(this); }
    }
}
