package io.lstmx.importers.onnx.ops;

import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.List;

/**
 * Gemm: Y = alpha * A' B' + beta * C with A' = transA ? A^T : A and B' likewise. A constant B makes
 * a Dense layer whose weight is alpha * B'^T and whose bias is beta * C when C broadcasts along rows;
 * anything else becomes MatMul / Mul / Add layers.
 */
final class GemmOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 3; // A, B, C
    }

    @Override
    public void convert(OnnxNode n) {
        float alpha = n.attrFloat("alpha", 1f);
        float beta = n.attrFloat("beta", 1f);
        boolean transA = n.attrInt("transA", 0) != 0;
        boolean transB = n.attrInt("transB", 0) != 0;
        Value a = n.required(0, "A");
        Value b = n.required(1, "B");
        for (int i = 0; i < 2; i++) {
            List<SDim> s = Value.shapeOf(n.in(i));
            if (s != null && s.size() != 2) {
                throw n.bad((i == 0 ? "A" : "B") + " has shape " + s + ", expected a matrix");
            }
        }
        boolean useC = n.hasInput(2) && beta != 0f;
        Tensor c = useC ? n.graph().asConst(n.in(2), n.inputName(2)) : null;
        if (c != null) {
            c = Fold.scale(c.withDType(DType.FLOAT32), beta);
        }
        if (a instanceof Value.Const ca && b instanceof Value.Const cb && (c != null || !useC)) {
            Tensor x = transA ? Fold.transpose(ca.tensor(), new int[] {1, 0}, n) : ca.tensor();
            Tensor y = transB ? Fold.transpose(cb.tensor(), new int[] {1, 0}, n) : cb.tensor();
            if (x.dim(1) != y.dim(0)) {
                throw n.bad("inner dimensions differ: " + x.dim(1) + " vs " + y.dim(0));
            }
            Tensor r = Fold.scale(Fold.matmul2d(x, y, n), alpha);
            n.defineConst(0, c == null ? r : Fold.binary(Layer.Binary.Op.ADD, r, c, n));
            return;
        }
        Value.Run x = n.runValue(0);
        String xName = x.name();
        SDim m = x.shape() == null ? n.freshDim() : x.shape().get(transA ? 1 : 0);
        SDim k = x.shape() == null ? null : x.shape().get(transA ? 0 : 1);
        if (transA) {
            xName = n.tempValue("transposeA");
            n.emit(new Layer.Transpose(n.extraLayerName("transposeA"), x.name(), xName, List.of(1, 0)));
        }
        String out = n.outputName(0);
        String cur;
        SDim units;
        boolean addC;
        if (b instanceof Value.Const cb) {
            Tensor w = transB ? cb.tensor() : Fold.transpose(cb.tensor(), new int[] {1, 0}, n);
            if (k != null && k.isKnown() && k.value() != w.dim(1)) {
                throw n.bad("inner dimensions differ: A has " + k.value() + " columns, B has " + w.dim(1) + " rows");
            }
            units = SDim.known(w.dim(0));
            Tensor bias = c != null && isRow(c, w.dim(0)) ? rowOf(c, w.dim(0)) : null;
            addC = useC && bias == null;
            cur = addC ? n.tempValue("dense") : out;
            n.emit(new Layer.Dense(n.layerName(), xName, cur, Fold.scale(w, alpha), bias));
        } else {
            Value.Run rb = n.runValue(1);
            String bName = rb.name();
            units = rb.shape() == null ? n.freshDim() : rb.shape().get(transB ? 0 : 1);
            if (transB) {
                bName = n.tempValue("transposeB");
                n.emit(new Layer.Transpose(n.extraLayerName("transposeB"), rb.name(), bName, List.of(1, 0)));
            }
            addC = useC;
            cur = alpha != 1f || addC ? n.tempValue("matmul") : out;
            n.emit(new Layer.MatMul(n.layerName(), xName, bName, cur));
            if (alpha != 1f) {
                String s = n.constantLayer(Tensor.scalar(alpha), "alpha");
                String scaled = addC ? n.tempValue("scaled") : out;
                n.emit(new Layer.Binary(n.extraLayerName("alpha"), Layer.Binary.Op.MUL, cur, s, scaled));
                cur = scaled;
            }
        }
        if (addC) {
            String cName;
            if (c != null) {
                cName = n.constantLayer(c, "C");
            } else {
                cName = n.runIn(2);
                if (beta != 1f) {
                    String s = n.constantLayer(Tensor.scalar(beta), "beta");
                    String scaled = n.tempValue("betaC");
                    n.emit(new Layer.Binary(n.extraLayerName("beta"), Layer.Binary.Op.MUL, cName, s, scaled));
                    cName = scaled;
                }
            }
            n.emit(new Layer.Binary(n.extraLayerName("addC"), Layer.Binary.Op.ADD, cur, cName, out));
        }
        n.defineRun(0, x.dtype(), List.of(m, units));
    }

    /** True when C broadcasts along rows only: one element, [N] or [1, N]. */
    private static boolean isRow(Tensor c, int n) {
        if (c.size() == 1 && c.rank() <= 2) {
            return true;
        }
        return (c.rank() == 1 || (c.rank() == 2 && c.dim(0) == 1)) && c.dim(-1) == n;
    }

    private static Tensor rowOf(Tensor c, int n) {
        return c.size() == 1 ? Fold.fill(Fold.element(c, 0), new int[] {n}, "Gemm C", Fold.LIMIT) : c.reshape(n);
    }
}
