package io.lstmx.importers.keras;

import com.google.gson.JsonArray;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Keras' layers that only move values: Flatten, Reshape, Permute, RepeatVector, Cropping1D (one converter class each). */
final class ShapeLayers {
    private ShapeLayers() {
    }

    private static long product(long[] s, int from) {
        long n = 1;
        for (int i = from; i < s.length; i++) {
            if (s[i] < 0) {
                return -1;
            }
            n *= s[i];
        }
        return n;
    }

    /** Flatten: [batch, ...] to [batch, prod(...)] (channels_last; channels_first on rank &gt; 2 is refused). */
    static final class Flatten implements LayerConverter {
        @Override
        public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
            KValue x = DenseLayer.one(g, l, inputs);
            if ("channels_first".equals(Json.str(l.config(), "data_format", "channels_last", g.where(l))) && x.rank() > 2) {
                throw g.unsupported(l, "data_format channels_first is not supported");
            }
            String out = g.value(l.name());
            g.add(new Layer.Flatten(g.layerName(l.name()), x.name(), out, 1));
            return List.of(new KValue(out, new long[] {x.shape()[0], product(x.shape(), 1)}, x.dtype(), null));
        }
    }

    /**
     * Cropping1D(cropping = (a, b), or one integer for both): axis 1 of [batch, steps, features]
     * without its first a and last b positions, as the IR's Slice [a : steps - b] (or [a : -b] while
     * steps is unknown). Keras's Cropping1D takes no mask: a masked input is refused, as Keras refuses it.
     */
    static final class Cropping1D implements LayerConverter {
        @Override
        public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
            KValue x = DenseLayer.one(g, l, inputs);
            if (x.rank() != 3) {
                throw g.unsupported(l, "crops a tensor of shape " + x.shapeText() + "; Cropping1D takes [batch, steps, features]");
            }
            if (x.mask() != null) {
                throw g.unsupported(l, "crops a masked tensor; Keras's Cropping1D does not take a mask");
            }
            com.google.gson.JsonElement c = l.config().get("cropping");
            long a;
            long b;
            if (c != null && c.isJsonArray()) {
                JsonArray arr = c.getAsJsonArray();
                if (arr.size() != 2) {
                    throw g.bad(l, "cropping " + arr + " is not two integers");
                }
                a = Json.integer(arr.get(0), 0, 1L << 31, g.where(l) + ": cropping[0]");
                b = Json.integer(arr.get(1), 0, 1L << 31, g.where(l) + ": cropping[1]");
            } else if (c != null) {
                a = Json.integer(c, 0, 1L << 31, g.where(l) + ": cropping");
                b = a;
            } else {
                a = 1; // Keras's default (1, 1)
                b = 1;
            }
            long steps = x.shape()[1];
            if (steps >= 0 && a + b >= steps) {
                throw g.bad(l, "cropping (" + a + ", " + b + ") leaves nothing of " + steps + " steps (input " + x.shapeText() + ")");
            }
            long end = steps >= 0 ? steps - b : b == 0 ? Long.MAX_VALUE : -b;
            String out = g.value(l.name());
            g.add(new Layer.Slice(g.layerName(l.name()), x.name(), out, 1, a, end, 1));
            return List.of(new KValue(out, new long[] {x.shape()[0], steps >= 0 ? steps - a - b : -1, x.shape()[2]}, x.dtype(), null));
        }
    }

    /** Reshape: target_shape (without the batch axis, -1 once at most) as the IR's Reshape [0, target...]. */
    static final class Reshape implements LayerConverter {
        @Override
        public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
            KValue x = DenseLayer.one(g, l, inputs);
            JsonArray t = Json.arr(l.config(), "target_shape", g.where(l));
            if (t.size() > 8) {
                throw g.bad(l, "target_shape has " + t.size() + " axes");
            }
            List<Long> shape = new ArrayList<>();
            shape.add(0L);
            long[] s = new long[t.size() + 1];
            s[0] = x.shape()[0];
            int unknown = -1;
            long known = 1;
            for (int i = 0; i < t.size(); i++) {
                long d = Json.integer(t.get(i), -1, 1L << 31, g.where(l) + ": target_shape entry " + i);
                if (d == 0 || (d == -1 && unknown >= 0)) {
                    throw g.bad(l, "target_shape " + t + " is not a shape");
                }
                if (d == -1) {
                    unknown = i + 1;
                } else {
                    known *= d;
                }
                shape.add(d);
                s[i + 1] = d;
            }
            long total = product(x.shape(), 1);
            if (unknown >= 0 && total >= 0) {
                s[unknown] = total / known;
            }
            if (total >= 0 && unknown < 0 && total != known) {
                throw g.bad(l, "target_shape " + t + " holds " + known + " values per row, the input " + total + " (shape " + x.shapeText() + ")");
            }
            String out = g.value(l.name());
            g.add(new Layer.Reshape(g.layerName(l.name()), x.name(), out, shape));
            return List.of(new KValue(out, s, x.dtype(), null));
        }
    }

    /** Permute: dims (1-based, the batch axis fixed) as the IR's Transpose [0, dims...]. */
    static final class Permute implements LayerConverter {
        @Override
        public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
            KValue x = DenseLayer.one(g, l, inputs);
            JsonArray d = Json.arr(l.config(), "dims", g.where(l));
            if (d.size() != x.rank() - 1) {
                throw g.bad(l, "dims " + d + " do not permute the " + (x.rank() - 1) + " non-batch axes of " + x.shapeText());
            }
            List<Integer> perm = new ArrayList<>();
            perm.add(0);
            long[] s = new long[x.rank()];
            s[0] = x.shape()[0];
            boolean[] seen = new boolean[x.rank()];
            for (int i = 0; i < d.size(); i++) {
                int a = (int) Json.integer(d.get(i), 1, x.rank() - 1, g.where(l) + ": dims entry " + i);
                if (seen[a]) {
                    throw g.bad(l, "dims " + d + " name axis " + a + " twice");
                }
                seen[a] = true;
                perm.add(a);
                s[i + 1] = x.shape()[a];
            }
            String out = g.value(l.name());
            g.add(new Layer.Transpose(g.layerName(l.name()), x.name(), out, perm));
            return List.of(new KValue(out, s, x.dtype(), null));
        }
    }

    /**
     * RepeatVector(n): [batch, F] to [batch, n, F], as Unsqueeze to [batch, 1, F] plus a constant
     * zero [n, 1] (broadcasting repeats the row n times; x + 0 is x).
     */
    static final class RepeatVector implements LayerConverter {
        @Override
        public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
            KValue x = DenseLayer.one(g, l, inputs);
            int n = Json.integer(l.config(), "n", 1, 1 << 20, g.where(l));
            if (x.rank() != 2) {
                throw g.bad(l, "input has shape " + x.shapeText() + "; RepeatVector takes [batch, features]");
            }
            String u = g.value(l.name() + "/row");
            g.add(new Layer.Unsqueeze(g.layerName(l.name() + ".unsqueeze"), x.name(), u, List.of(1)));
            String zeros = g.constant(l.name() + "/zeros", Tensor.zeros(n, 1));
            String out = g.value(l.name());
            g.add(new Layer.Binary(g.layerName(l.name()), Layer.Binary.Op.ADD, u, zeros, out));
            return List.of(new KValue(out, new long[] {x.shape()[0], n, x.last()}, x.dtype(), null));
        }
    }
}
