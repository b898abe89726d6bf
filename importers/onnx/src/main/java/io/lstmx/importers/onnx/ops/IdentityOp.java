package io.lstmx.importers.onnx.ops;

/** Identity: the output is the input's value (no IR layer unless it becomes a graph output). */
final class IdentityOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 1; // input
    }

    @Override
    public void convert(OnnxNode n) {
        n.define(0, n.required(0, "input"));
    }
}
