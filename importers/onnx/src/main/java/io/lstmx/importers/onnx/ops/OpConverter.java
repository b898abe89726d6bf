package io.lstmx.importers.onnx.ops;

/**
 * Converts one ONNX node: reads its inputs' abstract values, folds what is constant, emits IR
 * layers for the rest and defines every output. Refusals go through {@link OnnxNode#unsupported}
 * so that all of a graph's problems are reported together.
 */
interface OpConverter {
    void convert(OnnxNode node);

    /** How many inputs the operator takes at most (over all its versions); a node naming more is malformed. */
    default int maxInputs() {
        return Integer.MAX_VALUE;
    }

    /** How many outputs the operator has; a node declaring more is malformed. */
    default int maxOutputs() {
        return 1;
    }

    /** Whether output 0 may be left out (only operators whose outputs are all optional, such as LSTM). */
    default boolean firstOutputOptional() {
        return false;
    }
}
