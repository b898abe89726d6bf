package io.lstmx.runtime;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;

import java.util.Map;

/** Entry point of the pure-Java runtime that executes the IR. */
public final class NativeRuntime {
    private NativeRuntime() {
    }

    /** Prepares a model for execution (weights laid out once, buffers sized per call). */
    public static CompiledModel compile(Model model) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Evaluates one layer on given input values (used by importers for constant folding).
     * Returns the layer's outputs by name.
     */
    public static Map<String, Tensor> evaluate(Layer layer, Map<String, Tensor> inputs) {
        throw new UnsupportedOperationException("TODO");
    }
}
