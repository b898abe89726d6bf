package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.Arrays;

/**
 * Dropout is the identity at inference. The ratio (attribute before opset 12, input after) is kept
 * for export; a training_mode that is true, or a used mask output, has no inference meaning.
 */
final class DropoutOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 3; // data, ratio, training_mode
    }

    @Override
    public int maxOutputs() {
        return 2; // output, mask
    }

    @Override
    public void convert(OnnxNode n) {
        float ratio;
        if (n.opset() < 12) {
            ratio = n.attrFloat("ratio", 0.5f);
        } else {
            Tensor r = scalar(n, 1, "ratio");
            ratio = r == null ? 0.5f : r.getFloat(0);
            Tensor training = scalar(n, 2, "training_mode");
            if (training != null && training.getLong(0) != 0) {
                throw n.unsupported("training_mode is true; lstmx converts inference graphs only");
            }
        }
        if (n.outputUsed(1)) {
            throw n.unsupported("the mask output '" + n.outputName(1) + "' is used; lstmx converts inference graphs only");
        }
        if (n.hasOutput(1)) {
            n.define(1, new Value.Poisoned());
        }
        Value x = n.required(0, "data");
        if (!(x instanceof Value.Run)) {
            n.define(0, x);
            return;
        }
        Value.Run r = (Value.Run) x;
        n.emit(new Layer.Dropout(n.layerName(), r.name(), n.outputName(0), ratio));
        n.defineRun(0, r.dtype(), r.shape());
    }

    private static Tensor scalar(OnnxNode n, int i, String what) {
        Tensor t = n.constIn(i, what);
        if (t != null && t.size() != 1) {
            throw n.bad(what + " has shape " + Arrays.toString(t.shape()) + ", expected a scalar");
        }
        return t;
    }
}
