package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;

import java.util.List;

/**
 * Softmax and LogSoftmax. From opset 13 they work along one axis (default -1). Before, the input is
 * flattened to 2-D at {@code axis} (default 1) and normalised over the second part: that equals the
 * IR's per-axis softmax exactly when axis is the last axis or all dimensions after it are 1.
 */
final class SoftmaxOp implements OpConverter {
    private final boolean log;
    private final boolean flattening;

    SoftmaxOp(boolean log, boolean flattening) {
        this.log = log;
        this.flattening = flattening;
    }

    @Override
    public int maxInputs() {
        return 1; // input
    }

    @Override
    public void convert(OnnxNode n) {
        long axis = n.attrInt("axis", flattening ? 1 : -1);
        Value.Run x = n.runValue(0);
        List<SDim> s = x.shape();
        int irAxis;
        if (s != null) {
            irAxis = n.axis(axis, s.size(), "axis");
            if (flattening) {
                for (int k = irAxis + 1; k < s.size(); k++) {
                    if (!s.get(k).is(1)) {
                        throw n.unsupported("opset " + n.opset() + " " + n.opType() + " flattens its input " + s + " at axis " + axis
                                + ", which differs from a per-axis softmax unless the axis is the last one or the dimensions after it are 1");
                    }
                }
            }
        } else if (flattening) {
            throw n.unsupported("opset " + n.opset() + " " + n.opType() + " needs the input's rank (its flattening semantics depend on it)");
        } else {
            irAxis = n.rawAxis(axis, "axis");
        }
        n.emit(new Layer.Softmax(n.layerName(), x.name(), n.outputName(0), irAxis, log));
        n.defineRun(0, x.dtype(), s);
    }
}
