package io.lstmx.passes;

import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Folds the scale and shift that follow a LayerNorm without them into it:
 * {@code Add(Mul(LayerNorm(x), gamma), beta)} becomes {@code LayerNorm(x, gamma, beta)}, and so do
 * {@code Mul(LayerNorm(x), gamma)} and {@code Add(LayerNorm(x), beta)}, where gamma and beta are
 * Constants of shape [F] (F the size of the normalised axis, which must be known: a shorter
 * constant would broadcast) and each folded value is read by the next op alone (and is no model
 * output). Why: a framework that spells a layer norm out
 * (lstmx's own TensorFlow writer: Mean, Sub, Mul, Mean, AddV2, Rsqrt, Mul, then a Mul by gamma and
 * an AddV2 of beta) is read back as a LayerNorm without parameters followed by two element-wise
 * ops; folded, it is one LayerNorm whose size the writers know, written as ONNX's
 * LayerNormalization or torch.layer_norm again. The same equations, {@code d / sqrt(var + eps) *
 * gamma + beta}. A LayerNorm with a unit scale (all ones, what a reader gives when it knows only the
 * size) takes gamma too: ones times gamma is gamma exactly. A LayerNorm left with neither, whose
 * axis's size is known, gets a unit scale of that size (x * 1 is exact), as the PyTorch readers
 * give a LayerNorm without weight, so that writers know its size. The last op's output name is
 * kept; unused Constants are left for {@link DeadLayerRemoval}.
 */
public final class LayerNormAffineFusion implements Pass {
    @Override
    public String name() {
        return "layer-norm-affine-fusion";
    }

    @Override
    public Model apply(Model model) {
        List<Layer> layers = model.layers();
        Map<String, Integer> readers = new HashMap<>();
        Map<String, Tensor> constants = new HashMap<>();
        Map<String, Integer> reader = new HashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            for (String in : l.inputs()) {
                readers.merge(in, 1, Integer::sum);
                reader.put(in, i);
            }
            if (l instanceof Layer.Constant c) {
                constants.put(c.output(), c.value());
            }
        }
        Set<String> outputs = Set.copyOf(model.outputNames());
        Map<String, ValueInfo> values = null;
        Layer[] result = layers.toArray(new Layer[0]);
        boolean changed = false;
        for (int i = 0; i < result.length; i++) {
            if (!(result[i] instanceof Layer.LayerNorm ln) || ln.beta() != null || !(ln.gamma() == null || allOnes(ln.gamma()))) {
                continue;
            }
            if (values == null) {
                values = ShapeInference.infer(model);
            }
            int f = lastDim(values.get(ln.input()));
            if (f < 0) {
                continue;
            }
            Tensor gamma = ln.gamma();
            Tensor beta = null;
            String out = ln.output();
            int at = i;
            boolean folded = false;
            for (Layer.Binary.Op op : new Layer.Binary.Op[] {Layer.Binary.Op.MUL, Layer.Binary.Op.ADD}) {
                Integer next = readers.getOrDefault(out, 0) == 1 && !outputs.contains(out) ? reader.get(out) : null;
                if (next == null || !(result[next] instanceof Layer.Binary b) || b.op() != op) {
                    continue;
                }
                String other = b.a().equals(out) ? b.b() : b.a();
                Tensor c = other.equals(out) ? null : constants.get(other);
                if (c == null || !c.dtype().isFloating() || c.rank() != 1 || c.dim(0) != f) {
                    continue;
                }
                if (op == Layer.Binary.Op.MUL) {
                    gamma = c;
                } else {
                    beta = c;
                }
                result[at] = null;
                at = next;
                out = b.output();
                folded = true;
            }
            if (folded) {
                // The LayerNorm moves to the last folded op's place (its input is defined before the
                // LayerNorm, that op's readers after it).
                result[at] = new Layer.LayerNorm(ln.name(), ln.input(), out, ln.epsilon(), gamma, beta);
                changed = true;
            } else if (gamma == null && f <= MAX_UNIT_SCALE) {
                result[i] = new Layer.LayerNorm(ln.name(), ln.input(), out, ln.epsilon(), Layer.LayerNorm.unitScale(f), null);
                changed = true;
            }
        }
        if (!changed) {
            return model;
        }
        List<Layer> kept = new ArrayList<>(result.length);
        for (Layer l : result) {
            if (l != null) {
                kept.add(l);
            }
        }
        return new Model(model.name(), model.info(), model.inputs(), model.outputs(), kept);
    }

    /** Largest axis given a unit scale: the size comes from the file, and the scale is allocated. */
    static final int MAX_UNIT_SCALE = 1 << 20;

    /** The size of v's last axis, or -1 when it is not known. */
    private static int lastDim(ValueInfo v) {
        Shape s = v == null ? Shape.UNKNOWN : v.shape();
        if (!s.rankKnown() || s.rank() == 0 || !(s.dim(s.rank() - 1) instanceof Dim.Fixed d) || d.size() > Integer.MAX_VALUE) {
            return -1;
        }
        return (int) d.size();
    }

    private static boolean allOnes(Tensor t) {
        if (t.rank() != 1) {
            return false;
        }
        for (int i = 0; i < t.size(); i++) {
            if (t.getFloat(i) != 1f) {
                return false;
            }
        }
        return true;
    }
}
