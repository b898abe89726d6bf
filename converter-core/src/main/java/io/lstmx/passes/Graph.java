package io.lstmx.passes;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Who writes and who reads each value of a model, for pattern matching. */
final class Graph {
    final Model model;
    private final Map<String, Layer> producers = new HashMap<>();
    private final Map<String, List<Layer>> consumers = new HashMap<>();
    private final Map<Layer, Integer> positions = new IdentityHashMap<>();
    private final Set<String> outputs;

    Graph(Model model) {
        this.model = model;
        this.outputs = new HashSet<>(model.outputNames());
        List<Layer> layers = model.layers();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            positions.put(l, i);
            for (String in : l.inputs()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(l);
            }
            for (String out : l.outputs()) {
                producers.put(out, l);
            }
        }
    }

    /** The layer writing {@code value}, or null for a model input (or no value at all). */
    Layer producer(String value) {
        return value == null ? null : producers.get(value);
    }

    /** Position of {@code layer} in the model's layer list. */
    int position(Layer layer) {
        return positions.get(layer);
    }

    /**
     * True when {@code value} is read by {@code reader} alone (once) and is no model output: a
     * rewrite that removes or replaces it changes nothing anyone else sees.
     */
    boolean onlyReadBy(String value, Layer reader) {
        List<Layer> c = consumers.getOrDefault(value, List.of());
        return !outputs.contains(value) && c.size() == 1 && c.get(0) == reader
                && reader.inputs().stream().filter(value::equals).count() == 1;
    }

    /** True when some layer or the model's outputs read {@code value}. */
    boolean isRead(String value) {
        return outputs.contains(value) || consumers.containsKey(value);
    }

    /** The layers reading {@code value}. */
    List<Layer> readers(String value) {
        return consumers.getOrDefault(value, List.of());
    }
}
