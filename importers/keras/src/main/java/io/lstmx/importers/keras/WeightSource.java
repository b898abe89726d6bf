package io.lstmx.importers.keras;

import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.Node;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a layer's weights are, in the order of Keras' {@code layer.weights} (for a Bidirectional
 * layer: the forward layer's, then the backward one's). Two layouts:
 * <ul>
 *   <li>{@link Legacy}: the .h5 of Keras 2 and Keras 3's legacy writer, {@code /model_weights/<layer>}
 *       (or the root for a file written by save_weights) with attribute {@code weight_names}, each
 *       a dataset path under that group ({@code lstm/lstm_cell/kernel:0} in Keras 2,
 *       {@code sequential/lstm/lstm_cell/kernel} in Keras 3);</li>
 *   <li>{@link ByObjectPath}: model.weights.h5 of a .keras archive, where each layer's variables
 *       are {@code layers/<path>/vars/0, 1, ...} and nested objects add path parts
 *       ({@code layers/lstm/cell/vars/0}, {@code layers/bidirectional/forward_layer/cell/vars/0},
 *       {@code layers/time_distributed/layer/vars/0}). The layer's group is the one whose
 *       {@code vars} carry the layer's name as attribute {@code name}; without it, the path Keras
 *       derives: its class in snake case, numbered {@code _1, _2 ...} for the second and later
 *       layers of that class.</li>
 * </ul>
 */
abstract class WeightSource {
    /** A weight whose shape is known and whose values are read on demand. */
    record Var(String label, int[] shape, Dataset dataset) {
        @Override
        public String toString() {
            return label + " " + Arrays.toString(shape);
        }
    }

    final H5 h5;

    WeightSource(H5 h5) {
        this.h5 = h5;
    }

    /** The weights of {@code layer} in Keras' order (empty for a layer without weights). */
    abstract List<Var> weights(KerasConfig.LayerSpec layer);

    Tensor read(Var v) {
        return h5.read(v.dataset());
    }

    Var var(String label, Node n) {
        if (!(n instanceof Dataset d)) {
            throw LstmxException.badInput(h5.file + ": " + label + " is not a dataset");
        }
        return new Var(label, h5.dims(d), d);
    }

    /** Keras 2 and Keras 3 legacy .h5. */
    static final class Legacy extends WeightSource {
        private final Group root;

        Legacy(H5 h5) {
            super(h5);
            Group g = h5.group("model_weights");
            this.root = g != null ? g : h5.hdf;
        }

        @Override
        List<Var> weights(KerasConfig.LayerSpec layer) {
            Group g = h5.call("group " + root.getPath() + layer.name(), () -> root.getChildren().get(layer.name())) instanceof Group x ? x : null;
            if (g == null) {
                return List.of();
            }
            String[] names = h5.stringsAttribute(g, "weight_names");
            if (names == null) {
                throw LstmxException.badInput(h5.file + ": group " + g.getPath() + " has no attribute weight_names");
            }
            List<Var> out = new ArrayList<>();
            for (String n : names) {
                Node node = h5.node(g.getPath() + "/" + n);
                if (node == null) {
                    throw LstmxException.badInput(h5.file + ": weight_names of " + g.getPath() + " lists '" + n + "', which is not in the file");
                }
                out.add(var(g.getPath() + "/" + n, node));
            }
            return out;
        }
    }

    /** model.weights.h5 of a .keras archive (Keras 3). */
    static final class ByObjectPath extends WeightSource {
        private final Map<String, String> pathByName = new HashMap<>();
        private final Map<String, String> derived = new HashMap<>();

        ByObjectPath(H5 h5, KerasConfig config) {
            super(h5);
            Group layers = h5.group("layers");
            if (layers != null) {
                Map<String, Node> children = h5.call("group /layers", layers::getChildren);
                for (var e : children.entrySet()) {
                    if (e.getValue() instanceof Group g && h5.call("group " + g.getPath(), g::getChildren).get("vars") instanceof Group v) {
                        String name = h5.stringAttribute(v, "name");
                        if (name != null) {
                            pathByName.putIfAbsent(name, "layers/" + e.getKey());
                        }
                    }
                }
            }
            Map<String, Integer> count = new HashMap<>();
            for (KerasConfig.LayerSpec l : config.layers) {
                if (l.className().equals("InputLayer")) {
                    continue;
                }
                String base = snake(l.className());
                int k = count.merge(base, 1, Integer::sum) - 1;
                derived.put(l.name(), "layers/" + (k == 0 ? base : base + "_" + k));
            }
        }

        /** Keras' naming.to_snake_case. */
        static String snake(String cls) {
            String n = cls.replaceAll("\\W+", "");
            n = n.replaceAll("(.)([A-Z][a-z]+)", "$1_$2");
            n = n.replaceAll("([a-z])([A-Z])", "$1_$2");
            return n.toLowerCase(Locale.ROOT);
        }

        @Override
        List<Var> weights(KerasConfig.LayerSpec layer) {
            String path = pathByName.getOrDefault(layer.name(), derived.get(layer.name()));
            Group g = path == null ? null : h5.group(path);
            List<Var> out = new ArrayList<>();
            if (g != null) {
                collect(g, path, out, 0);
            }
            return out;
        }

        /** vars/0, 1, ... of this object, then its children: cell, forward_layer, backward_layer, layer, then the rest by name. */
        private void collect(Group g, String path, List<Var> out, int depth) {
            if (depth > 8) {
                throw LstmxException.badInput(h5.file + ": " + path + " nests objects more than 8 deep");
            }
            Map<String, Node> children = h5.call("group " + path, g::getChildren);
            if (children.get("vars") instanceof Group vars) {
                Map<String, Node> vs = h5.call("group " + path + "/vars", vars::getChildren);
                for (int i = 0; i < vs.size(); i++) {
                    Node n = vs.get(Integer.toString(i));
                    if (n == null) {
                        throw LstmxException.badInput(h5.file + ": " + path + "/vars holds " + vs.keySet() + ", not 0.." + (vs.size() - 1));
                    }
                    out.add(var(path + "/vars/" + i, n));
                }
            }
            List<String> order = List.of("cell", "forward_layer", "backward_layer", "layer");
            List<String> keys = new ArrayList<>(children.keySet());
            keys.remove("vars");
            keys.sort(Comparator.comparingInt((String k) -> order.contains(k) ? order.indexOf(k) : order.size()).thenComparing(k -> k));
            for (String k : keys) {
                if (children.get(k) instanceof Group c) {
                    collect(c, path + "/" + k, out, depth + 1);
                }
            }
        }
    }
}
