package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.Layer.Binary.Op;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Operator converters keyed by (domain, op_type, since-version). For a model importing opset N of a
 * domain, the converter with the greatest since-version &le; N is used, as onnx2torch and tf2onnx do;
 * an operator whose first registered version is newer than the model's opset is unknown to it.
 */
final class OpRegistry {
    private record Key(String domain, String opType) {
    }

    private final Map<Key, TreeMap<Integer, OpConverter>> converters = new HashMap<>();

    static final OpRegistry STANDARD = standard();

    private static OpRegistry standard() {
        OpRegistry r = new OpRegistry();
        // LSTM-1 differs only by the output_sequence attribute, which LstmOp ignores; layout arrives in 14.
        r.register("LSTM", new LstmOp(), 1, 7, 14, 22);
        // GRU-1 lacks linear_before_reset (default 0 in later versions) and has output_sequence, ignored as for LSTM.
        r.register("GRU", new GruOp(), 1, 3, 7, 14, 22);
        r.register("RNN", new RnnOp(), 1, 7, 14, 22);
        r.register("Gemm", new GemmOp(), 1, 6, 7, 9, 11, 13);
        r.register("MatMul", new MatMulOp(), 1, 9, 13);
        r.register("Add", new BinaryOp(Op.ADD), 1, 6, 7, 13, 14);
        r.register("Sub", new BinaryOp(Op.SUB), 1, 6, 7, 13, 14);
        r.register("Mul", new BinaryOp(Op.MUL), 1, 6, 7, 13, 14);
        r.register("Div", new BinaryOp(Op.DIV), 1, 6, 7, 13, 14);
        r.register("Relu", new ActivationOp(Kind.RELU, 0f, 0f), 1, 6, 13, 14);
        r.register("Tanh", new ActivationOp(Kind.TANH, 0f, 0f), 1, 6, 13);
        r.register("Sigmoid", new ActivationOp(Kind.SIGMOID, 0f, 0f), 1, 6, 13);
        r.register("LeakyRelu", new ActivationOp(Kind.LEAKY_RELU, 0.01f, 0f), 1, 6, 16);
        r.register("Elu", new ActivationOp(Kind.ELU, 1f, 0f), 1, 6, 22);
        r.register("HardSigmoid", new ActivationOp(Kind.HARD_SIGMOID, 0.2f, 0.5f), 1, 6, 22);
        r.register("ThresholdedRelu", new ActivationOp(Kind.THRESHOLDED_RELU, 1f, 0f), 10, 22);
        r.register("Softsign", new ActivationOp(Kind.SOFTSIGN, 0f, 0f), 1, 22);
        r.register("Softplus", new ActivationOp(Kind.SOFTPLUS, 0f, 0f), 1, 22);
        // Before opset 13 Softmax flattens the input at axis to 2-D; from 13 it works along one axis.
        r.register("LayerNormalization", new LayerNormalizationOp(), 17);
        r.register("Softmax", new SoftmaxOp(false, true), 1, 11);
        r.register("Softmax", new SoftmaxOp(false, false), 13);
        r.register("LogSoftmax", new SoftmaxOp(true, true), 1, 11);
        r.register("LogSoftmax", new SoftmaxOp(true, false), 13);
        r.register("Dropout", new DropoutOp(), 1, 6, 7, 10, 12, 13, 22);
        r.register("Identity", new IdentityOp(), 1, 13, 14, 16, 19, 21);
        r.register("Gather", new GatherOp(), 1, 11, 13);
        r.register("Concat", new ConcatOp(), 1, 4, 11, 13);
        r.register("Transpose", new TransposeOp(), 1, 13, 21);
        r.register("Reshape", new ReshapeOp(), 1, 5, 13, 14, 19, 21);
        r.register("Flatten", new FlattenOp(), 1, 9, 11, 13, 21);
        r.register("Squeeze", new SqueezeOp(), 1, 11, 13, 21);
        r.register("Unsqueeze", new UnsqueezeOp(), 1, 11, 13, 21);
        r.register("Slice", new SliceOp(), 1, 10, 11, 13);
        r.register("Cast", new CastOp(), 1, 6, 9, 13, 19, 21);
        r.register("Shape", new ShapeOp(), 1, 13, 15, 19, 21);
        r.register("ConstantOfShape", new ConstantOfShapeOp(), 9, 20, 21);
        r.register("Expand", new ExpandOp(), 8, 13);
        r.register("Tile", new TileOp(), 6, 13);
        r.register("Constant", new ConstantOp(), 1, 9, 11, 12, 13, 19, 21);
        return r;
    }

    private void register(String opType, OpConverter c, int... sinceVersions) {
        TreeMap<Integer, OpConverter> m = converters.computeIfAbsent(new Key("", opType), k -> new TreeMap<>());
        for (int v : sinceVersions) {
            m.put(v, c);
        }
    }

    /** The converter for {@code opType} of {@code domain} at {@code opset}, or null. */
    OpConverter find(String domain, String opType, long opset) {
        TreeMap<Integer, OpConverter> m = converters.get(new Key(normalizeDomain(domain), opType));
        if (m == null) {
            return null;
        }
        Map.Entry<Integer, OpConverter> e = m.floorEntry((int) Math.min(Integer.MAX_VALUE, opset));
        return e == null ? null : e.getValue();
    }

    static String normalizeDomain(String domain) {
        return domain.equals("ai.onnx") ? "" : domain;
    }
}
