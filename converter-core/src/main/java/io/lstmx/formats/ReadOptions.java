package io.lstmx.formats;

import io.lstmx.ir.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Options for reading a model.
 *
 * @param constantInputs graph inputs to treat as constants with these values (ONNX models whose
 *                       weights are graph inputs, such as the ONNX conformance cases)
 * @param hints          what a file cannot tell about itself, by name (e.g. "batch-first" = "true"
 *                       for a PyTorch state_dict); a reader ignores hints it does not know
 */
public record ReadOptions(Map<String, Tensor> constantInputs, Map<String, String> hints) {
    /** No constant inputs, no hints. */
    public static final ReadOptions DEFAULT = new ReadOptions(Map.of(), Map.of());

    /**
     * Checks and copies the maps.
     *
     * @param constantInputs values of graph inputs to fold as constants
     * @param hints          format-specific hints by name
     */
    public ReadOptions {
        constantInputs = Map.copyOf(Objects.requireNonNull(constantInputs, "constantInputs"));
        hints = Map.copyOf(Objects.requireNonNull(hints, "hints"));
    }

    /**
     * These options with one more hint.
     *
     * @param name  the hint's name, e.g. "batch-first"
     * @param value its value, e.g. "true"
     * @return new options; this object is unchanged
     */
    public ReadOptions withHint(String name, String value) {
        Map<String, String> h = new LinkedHashMap<>(hints);
        h.put(name, value);
        return new ReadOptions(constantInputs, h);
    }

    /**
     * These options with other constant inputs.
     *
     * @param values the constant inputs by graph input name (replacing the present ones)
     * @return new options; this object is unchanged
     */
    public ReadOptions withConstantInputs(Map<String, Tensor> values) {
        return new ReadOptions(values, hints);
    }
}
