package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.TensorProto.DataType;

/**
 * Cast to another element type. The IR holds float32 and int64-backed integers, so float16/double
 * targets become float32. Cast to bool (x != 0) is folded for constants only.
 */
final class CastOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 1; // input
    }

    @Override
    public void convert(OnnxNode n) {
        AttributeProto to = n.rawAttr("to");
        if (to == null) {
            throw n.bad("attribute to is required");
        }
        int onnxType;
        if (to.hasS() && !to.hasI()) {
            // Cast-1 names the type as a string, e.g. "FLOAT".
            DataType dt;
            try {
                dt = DataType.valueOf(to.getS().toStringUtf8().toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw n.bad("to '" + to.getS().toStringUtf8() + "' is not an ONNX element type");
            }
            onnxType = dt.getNumber();
        } else {
            if (to.getI() != (int) to.getI()) {
                throw n.bad("to " + to.getI() + " is not an ONNX element type");
            }
            onnxType = (int) to.getI();
        }
        DType target;
        try {
            target = OnnxTensors.irType(onnxType, "target type");
        } catch (io.lstmx.errors.LstmxException e) {
            throw n.unsupported("cast to " + OnnxTensors.typeName(onnxType) + " is not supported");
        }
        boolean toBool = onnxType == DataType.BOOL_VALUE;
        Value x = n.required(0, "input");
        if (x instanceof Value.Const c) {
            n.defineConst(0, cast(c.tensor(), target, toBool, n));
            return;
        }
        if (x instanceof Value.ShapeVec v) {
            if (target.isFloating() || toBool) {
                throw n.unsupported("cast of the run-time shape " + v.entries() + " to " + OnnxTensors.typeName(onnxType));
            }
            n.define(0, v);
            return;
        }
        if (x instanceof Value.Filled f) {
            n.define(0, new Value.Filled(cast(f.element(), target, toBool, n), f.shape()));
            return;
        }
        Value.Run r = n.runValue(0);
        if (toBool) {
            throw n.unsupported("cast of a run-time value to BOOL (" + n.where() + ")");
        }
        if (r.dtype() == target) {
            n.define(0, r);
            return;
        }
        n.emit(new Layer.Cast(n.layerName(), r.name(), n.outputName(0), target));
        n.defineRun(0, target, r.shape());
    }

    /**
     * Cast of a constant: as the IR's Cast layer, or to ONNX's bool, which the IR has no type for,
     * as x != 0 in int64.
     */
    private static Tensor cast(Tensor t, DType to, boolean toBool, OnnxNode n) {
        if (!toBool) {
            return Fold.cast(t, to, n);
        }
        long[] l = new long[t.size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = t.getFloat(i) != 0 ? 1 : 0;
        }
        return Tensor.ofLongs(DType.INT64, t.shape(), l);
    }
}
