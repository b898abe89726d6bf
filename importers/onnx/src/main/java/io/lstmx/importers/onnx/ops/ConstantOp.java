package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Tensor;

import java.util.List;

/** Constant: value (tensor), value_float(s) or value_int(s); sparse and string values are not supported. */
final class ConstantOp implements OpConverter {
    private static final List<String> VALUE_ATTRIBUTES = List.of("value", "value_float", "value_floats", "value_int", "value_ints",
            "sparse_value", "value_string", "value_strings");

    @Override
    public int maxInputs() {
        return 0;
    }

    @Override
    public void convert(OnnxNode n) {
        List<String> given = VALUE_ATTRIBUTES.stream().filter(n::hasAttr).toList();
        if (given.size() > 1) {
            throw n.bad("has " + given.size() + " value attributes " + given + "; a Constant has exactly one");
        }
        if (n.hasAttr("value")) {
            n.defineConst(0, n.attrTensor("value"));
        } else if (n.hasAttr("value_float")) {
            n.defineConst(0, Tensor.scalar(n.attrFloat("value_float", 0f)));
        } else if (n.hasAttr("value_floats")) {
            List<Float> l = n.attrFloats("value_floats");
            float[] f = new float[l.size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = l.get(i);
            }
            n.defineConst(0, Tensor.ofFloats(new int[] {f.length}, f));
        } else if (n.hasAttr("value_int")) {
            n.defineConst(0, Tensor.ofLongs(new int[0], new long[] {n.attrInt("value_int", 0)}));
        } else if (n.hasAttr("value_ints")) {
            long[] l = n.attrInts("value_ints").stream().mapToLong(Long::longValue).toArray();
            n.defineConst(0, Tensor.ofLongs(new int[] {l.length}, l));
        } else if (n.hasAttr("sparse_value")) {
            throw n.unsupported("sparse_value constants are not supported");
        } else if (n.hasAttr("value_string") || n.hasAttr("value_strings")) {
            throw n.unsupported("string constants are not supported");
        } else {
            throw n.bad("no value attribute");
        }
    }
}
