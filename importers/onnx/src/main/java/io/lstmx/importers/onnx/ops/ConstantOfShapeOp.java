package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Tensor;

import java.util.List;

/**
 * ConstantOfShape: a tensor of the given shape filled with {@code value} (default float 0). Kept as
 * a filled value, so that zero initial states of run-time batch size can be dropped by the LSTM.
 */
final class ConstantOfShapeOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 1; // input
    }

    @Override
    public void convert(OnnxNode n) {
        Value shapeV = n.required(0, "input");
        List<SDim> shape = Shapes.entries(shapeV);
        if (shape == null || Value.shapeOf(shapeV).size() != 1) {
            throw n.unsupported("the shape '" + n.inputName(0) + "' is " + Value.describe(shapeV));
        }
        for (SDim d : shape) {
            if (d.isKnown() && d.value() < 0) {
                throw n.bad("shape " + shape + " has a negative dimension");
            }
        }
        Tensor value = n.attrTensor("value");
        if (value == null) {
            value = Tensor.scalar(0f);
        } else if (value.size() != 1) {
            throw n.bad("value must hold one element, it has shape " + java.util.Arrays.toString(value.shape()));
        }
        n.define(0, new Value.Filled(Fold.element(value, 0), shape));
    }
}
