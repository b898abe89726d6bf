package io.lstmx.runtime;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Entry point of the pure-Java runtime that executes the IR: every {@link Layer} kind in float32
 * (integer values for indices, lengths and shape-like data), any batch size and sequence length.
 * The recurrent kernels are described in {@code RecurrentKernel} (what LSTM, GRU and RNN share),
 * {@code LstmKernel}, {@code GruKernel} and {@code RnnKernel}; the other layers follow ONNX semantics.
 */
public final class NativeRuntime {
    private NativeRuntime() {
    }

    /** Prepares a model for execution (weights laid out once, buffers sized per call). */
    public static CompiledModel compile(Model model) {
        Objects.requireNonNull(model, "model");
        return new CompiledGraph(model);
    }

    /**
     * Prepares a model for the plain path: one thread, no step team, the C2-vectorised kernels on
     * the row layout and the LSTM cell in double, whatever the JVM offers. This is the path every
     * fast one (Vector API panels, float activations, step teams, projections inside the steps) is
     * tested against; it is also a way to tell a numerical question about a model from one about
     * the fast kernels. Layers other than LSTM, GRU and RNN run as in {@link #compile}, whose matrix
     * products give the same bits either way.
     */
    public static CompiledModel compileScalar(Model model) {
        Objects.requireNonNull(model, "model");
        RecurrentKernel.COMPILING_PLAIN.set(true);
        try {
            return new CompiledGraph(model);
        } finally {
            RecurrentKernel.COMPILING_PLAIN.remove();
        }
    }

    /**
     * Evaluates one layer on given input values (used by importers for constant folding).
     * Returns the layer's outputs by name.
     */
    public static Map<String, Tensor> evaluate(Layer layer, Map<String, Tensor> inputs) {
        Objects.requireNonNull(layer, "layer");
        List<String> names = layer.inputs();
        Val[] args = new Val[names.size()];
        for (int i = 0; i < args.length; i++) {
            Tensor t = inputs == null ? null : inputs.get(names.get(i));
            if (t == null) {
                throw Step.bad(layer, "input '" + names.get(i) + "' is not given; given " + (inputs == null ? "[]" : SafeText.list(inputs.keySet())));
            }
            args[i] = Val.of(t);
        }
        Val[] out;
        try {
            out = Ops.compile(layer).run(args);
        } catch (LstmxException e) {
            throw CompiledGraph.inLayer(layer, e);
        } catch (ArithmeticException | NegativeArraySizeException e) {
            throw Step.bad(layer, "sizes too large: " + e.getMessage());
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        for (int i = 0; i < out.length; i++) {
            result.put(layer.outputs().get(i), out[i].toTensor());
        }
        return result;
    }

    /**
     * Evaluates, in order, each of {@code layers} whose inputs are all in {@code env} at its turn
     * (see {@link #evaluate}), adding its outputs to {@code env}; layers with a missing input are
     * skipped. For importers that check a recognised pattern numerically on a test step.
     */
    public static void evaluateReady(Iterable<Layer> layers, Map<String, Tensor> env) {
        for (Layer l : layers) {
            if (env.keySet().containsAll(l.inputs())) {
                env.putAll(evaluate(l, env));
            }
        }
    }
}
