package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * MatMul with NumPy semantics. A constant 2-D right operand makes a Dense layer (W = B^T, bias
 * fused later from a following Add); otherwise an IR MatMul of two run-time values.
 */
final class MatMulOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 2; // A, B
    }

    @Override
    public void convert(OnnxNode n) {
        Value a = n.required(0, "A");
        Value b = n.required(1, "B");
        if (a instanceof Value.Const ca && b instanceof Value.Const cb && ca.tensor().rank() == 2 && cb.tensor().rank() == 2) {
            checkInner(n, ca.tensor().dim(1), cb.tensor().dim(0));
            n.defineConst(0, Fold.matmul2d(ca.tensor(), cb.tensor(), n));
            return;
        }
        if (b instanceof Value.Const cb && cb.tensor().dtype().isFloating() && (cb.tensor().rank() == 2 || cb.tensor().rank() == 1)) {
            Tensor w = cb.tensor();
            Value.Run x = n.runValue(0);
            List<SDim> xs = x.shape();
            int k = w.dim(0);
            if (xs != null) {
                if (xs.isEmpty()) {
                    throw n.bad("A is a scalar; MatMul needs at least 1-D operands");
                }
                SDim last = xs.get(xs.size() - 1);
                if (last.isKnown()) {
                    checkInner(n, last.value(), k);
                }
            }
            if (w.rank() == 2) {
                n.emit(new Layer.Dense(n.layerName(), x.name(), n.outputName(0), Fold.transpose(w, new int[] {1, 0}, n), null));
                n.defineRun(0, x.dtype(), replaceLast(xs, SDim.known(w.dim(1))));
            } else {
                // x [..., K] . b [K] = [...]: a one-unit Dense, then drop that unit axis.
                String t = n.tempValue("dense");
                n.emit(new Layer.Dense(n.layerName(), x.name(), t, w.reshape(1, k), null));
                n.emit(new Layer.Squeeze(n.extraLayerName("squeeze"), t, n.outputName(0), List.of(-1)));
                n.defineRun(0, x.dtype(), xs == null ? null : xs.subList(0, xs.size() - 1));
            }
            return;
        }
        Value.Run ra = n.runValue(0);
        Value.Run rb = n.runValue(1);
        n.emit(new Layer.MatMul(n.layerName(), ra.name(), rb.name(), n.outputName(0)));
        n.defineRun(0, ra.dtype(), matmulShape(n, ra.shape(), rb.shape()));
    }

    private static void checkInner(OnnxNode n, long k1, long k2) {
        if (k1 != k2) {
            throw n.bad("inner dimensions differ: A has " + k1 + " columns, B has " + k2 + " rows");
        }
    }

    static List<SDim> replaceLast(List<SDim> s, SDim d) {
        if (s == null) {
            return null;
        }
        List<SDim> out = new ArrayList<>(s);
        out.set(out.size() - 1, d);
        return out;
    }

    static List<SDim> matmulShape(OnnxNode n, List<SDim> a, List<SDim> b) {
        if (a == null || b == null || a.isEmpty() || b.isEmpty()) {
            return null;
        }
        List<SDim> a2 = a.size() == 1 ? List.of(SDim.known(1), a.get(0)) : a;
        List<SDim> b2 = b.size() == 1 ? List.of(b.get(0), SDim.known(1)) : b;
        List<SDim> batch = Shapes.broadcast(a2.subList(0, a2.size() - 2), b2.subList(0, b2.size() - 2), n);
        List<SDim> out = new ArrayList<>(batch);
        if (a.size() > 1) {
            out.add(a2.get(a2.size() - 2));
        }
        if (b.size() > 1) {
            out.add(b2.get(b2.size() - 1));
        }
        return out;
    }
}
