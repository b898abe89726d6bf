package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

/**
 * Element-wise activations (Relu, Tanh, Sigmoid, LeakyRelu, Elu, HardSigmoid, ...): y = fn(x) with
 * the operator's alpha/beta attributes, defaulting to the ONNX operator defaults.
 */
final class ActivationOp implements OpConverter {
    private final ActivationFn.Kind kind;
    private final float defaultAlpha;
    private final float defaultBeta;

    ActivationOp(ActivationFn.Kind kind, float defaultAlpha, float defaultBeta) {
        this.kind = kind;
        this.defaultAlpha = defaultAlpha;
        this.defaultBeta = defaultBeta;
    }

    @Override
    public int maxInputs() {
        return 1; // X
    }

    @Override
    public void convert(OnnxNode n) {
        ActivationFn fn = ActivationFn.of(kind, n.attrFloat("alpha", defaultAlpha), n.attrFloat("beta", defaultBeta));
        Value x = n.required(0, "X");
        if (x instanceof Value.Const c) {
            n.defineConst(0, Fold.map(c.tensor(), v -> fn.apply((float) v)));
            return;
        }
        if (x instanceof Value.Filled f) {
            n.define(0, new Value.Filled(Tensor.scalar(fn.apply(f.element().getFloat(0))), f.shape()));
            return;
        }
        Value.Run r = n.runValue(0);
        n.emit(new Layer.Activation(n.layerName(), r.name(), n.outputName(0), fn));
        n.defineRun(0, r.dtype(), r.shape());
    }
}
