package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.List;

/**
 * LayerNormalization (opset 17) over the last axis as one IR LayerNorm:
 * Y = (X - mean) / sqrt(var + epsilon) * Scale + B, mean and var over the last axis. Scale and B
 * must be constant vectors. Another axis (normalising several trailing axes at once) and the
 * optional Mean / InvStdDev outputs are refused by name.
 */
final class LayerNormalizationOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 3; // X, Scale, B
    }

    @Override
    public int maxOutputs() {
        return 3; // Y, Mean, InvStdDev
    }

    @Override
    public void convert(OnnxNode n) {
        Value.Run x = n.runValue(0);
        List<SDim> s = x.shape();
        long axis = n.attrInt("axis", -1);
        if (s != null) {
            if (n.axis(axis, s.size(), "axis") != s.size() - 1) {
                throw n.unsupported("normalises from axis " + axis + " of an input of rank " + s.size() + "; lstmx takes the last axis alone");
            }
        } else if (axis != -1) {
            throw n.unsupported("normalises from axis " + axis + " of an input of unknown rank; lstmx takes the last axis alone");
        }
        if (n.outputUsed(1) || n.outputUsed(2)) {
            throw n.unsupported("its Mean or InvStdDev output is read; lstmx computes Y only");
        }
        float eps = n.attrFloat("epsilon", 1e-5f);
        Tensor scale = n.constIn(1, "Scale");
        Tensor bias = n.hasInput(2) ? n.constIn(2, "B") : null;
        if (scale == null || scale.rank() != 1 || (bias != null && (bias.rank() != 1 || bias.dim(0) != scale.dim(0)))) {
            throw n.bad("Scale and B must be vectors of one size (the last axis), got " + (scale == null ? "no Scale"
                    : java.util.Arrays.toString(scale.shape())) + (bias == null ? "" : " and " + java.util.Arrays.toString(bias.shape())));
        }
        n.emit(new Layer.LayerNorm(n.layerName(), x.name(), n.outputName(0), eps, scale.withDType(DType.FLOAT32),
                bias == null ? null : bias.withDType(DType.FLOAT32)));
        n.defineRun(0, DType.FLOAT32, s);
    }
}
