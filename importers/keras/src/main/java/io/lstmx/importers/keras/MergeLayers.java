package io.lstmx.importers.keras;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.List;

/** Keras' merge layers: Concatenate (one IR Concat), Add, Subtract, Multiply, Average (element-wise IR Binary chains). */
final class MergeLayers {
    private MergeLayers() {
    }

    /**
     * The mask of a merge, as Keras's merge layers compute it: the logical and of the inputs'
     * masks (inputs without one count as unmasked), which on 1 / 0 masks is their product. Keras's
     * Concatenate joins masks on the concatenation axis; along any axis but the features that is no
     * per-step mask the IR keeps, and is refused.
     */
    private static String mask(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> ins, boolean featureAxis) {
        List<String> masks = new java.util.ArrayList<>();
        for (KValue v : ins) {
            if (v.mask() != null && !masks.contains(v.mask())) {
                masks.add(v.mask());
            }
        }
        if (masks.isEmpty()) {
            return null;
        }
        if (!featureAxis) {
            throw g.unsupported(l, "joins masked tensors along an axis other than the last (Keras joins their masks on it)");
        }
        return g.andMasks(l.name(), masks);
    }

    /** Concatenate along {@code axis} (default -1). */
    static final class Concatenate implements LayerConverter {
        @Override
        public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
            if (inputs.size() < 2) {
                throw g.bad(l, "concatenates " + inputs.size() + " tensor(s)");
            }
            KValue x = inputs.get(0);
            int axis = Json.integer(l.config(), "axis", -1, -x.rank(), x.rank() - 1, g.where(l));
            int a = axis < 0 ? axis + x.rank() : axis;
            if (a == 0) {
                throw g.unsupported(l, "concatenates along the batch axis");
            }
            long[] s = x.shape();
            for (KValue v : inputs.subList(1, inputs.size())) {
                if (v.rank() != x.rank()) {
                    throw g.bad(l, "concatenates tensors of shapes " + x.shapeText() + " and " + v.shapeText());
                }
                s[a] = s[a] < 0 || v.shape()[a] < 0 ? -1 : s[a] + v.shape()[a];
            }
            String out = g.value(l.name());
            g.add(new Layer.Concat(g.layerName(l.name()), inputs.stream().map(KValue::name).toList(), out, a));
            return List.of(new KValue(out, s, x.dtype(), mask(g, l, inputs, a == x.rank() - 1)));
        }
    }

    /** Add, Subtract (two inputs), Multiply, Average ((a + b + ...) * 1/n). */
    static final class Arithmetic implements LayerConverter {
        @Override
        public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
            if (inputs.size() < 2 || (l.className().equals("Subtract") && inputs.size() != 2)) {
                throw g.bad(l, "called with " + inputs.size() + " tensor(s)");
            }
            Layer.Binary.Op op = switch (l.className()) {
                case "Subtract" -> Layer.Binary.Op.SUB;
                case "Multiply" -> Layer.Binary.Op.MUL;
                default -> Layer.Binary.Op.ADD;
            };
            boolean ave = l.className().equals("Average");
            String cur = inputs.get(0).name();
            for (int i = 1; i < inputs.size(); i++) {
                String out = g.value(i == inputs.size() - 1 && !ave ? l.name() : l.name() + "/partial");
                g.add(new Layer.Binary(g.layerName(l.name() + (i == 1 ? "" : "." + i)), op, cur, inputs.get(i).name(), out));
                cur = out;
            }
            if (ave) {
                String k = g.constant(l.name() + "/scale", Tensor.scalar(1f / inputs.size()));
                String out = g.value(l.name());
                g.add(new Layer.Binary(g.layerName(l.name() + ".scale"), Layer.Binary.Op.MUL, cur, k, out));
                cur = out;
            }
            long[] s = inputs.get(0).shape();
            for (KValue v : inputs) {
                if (v.rank() != s.length) {
                    throw g.bad(l, "combines tensors of shapes " + inputs.get(0).shapeText() + " and " + v.shapeText());
                }
                for (int i = 0; i < s.length; i++) {
                    s[i] = Math.max(s[i], v.shape()[i]);
                }
            }
            return List.of(new KValue(cur, s, inputs.get(0).dtype(), mask(g, l, inputs, true)));
        }
    }
}
