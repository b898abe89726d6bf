package io.lstmx.importers.onnx.ops;

/**
 * Converts one ONNX node: reads its inputs' abstract values, folds what is constant, emits IR
 * layers for the rest and defines every output. Refusals go through {@link OnnxNode#unsupported}
 * so that all of a graph's problems are reported together.
 */
interface OpConverter {
    void convert(OnnxNode node);
}
