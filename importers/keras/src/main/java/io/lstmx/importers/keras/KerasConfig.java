package io.lstmx.importers.keras;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.lstmx.errors.LstmxException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Keras model config (the {@code model_config} attribute of an .h5 file, or config.json in a
 * .keras archive) as a graph of layer calls, whatever its spelling:
 * <ul>
 *   <li>Sequential and Functional models (class {@code Functional}, {@code Model}); a Sequential
 *       becomes a chain from its InputLayer, or from the first layer's {@code batch_input_shape}
 *       (Keras 2) or the model's {@code build_input_shape} (Keras 3);</li>
 *   <li>Keras 2 layers ({@code {"class_name", "config"}}, inbound nodes as lists
 *       {@code [[layer, node, tensor, kwargs], ...]}) and Keras 3 layers
 *       ({@code {"module", "class_name", "config", "registered_name"}}, inbound nodes as
 *       {@code {"args": [...], "kwargs": {...}}} whose tensors are {@code __keras_tensor__}
 *       objects with a {@code keras_history});</li>
 *   <li>a layer of another module than Keras' own, or with a registered name of its own, is
 *       marked custom (refused later, naming it).</li>
 * </ul>
 */
final class KerasConfig {
    /** One output of one call of a layer: {@code [layer, node_index, tensor_index]}. */
    record Ref(String layer, int node, int index) {
        @Override
        public String toString() {
            return layer + "[" + node + "][" + index + "]";
        }
    }

    /**
     * One call of a layer: the tensors it reads (a recurrent layer's initial_state after its
     * sequence, as Keras 2 lists them and Keras 3 passes them by keyword), and the other keyword
     * arguments that pass tensors (mask, constants ...).
     */
    record Call(List<Ref> inputs, List<String> tensorKwargs) {
    }

    /**
     * A layer as the config describes it.
     *
     * @param className Keras class, e.g. "LSTM"
     * @param name      the layer's name
     * @param config    its "config" object
     * @param custom    defined outside Keras (a registered name or module of its own), or null when built in
     * @param calls     its calls in order (node index = position)
     */
    record LayerSpec(String className, String name, JsonObject config, String custom, List<Call> calls) {
    }

    /** Layers that are whole models themselves (nesting is not supported). */
    static final Set<String> MODEL_CLASSES = Set.of("Sequential", "Functional", "Model");

    final String modelClass;
    final String modelName;
    final List<LayerSpec> layers;
    final List<Ref> inputs;
    final List<Ref> outputs;
    /** Whether the config is written by Keras 3 (modules and registered names, dtype policies as objects). */
    final boolean keras3Spelling;
    private final String where;

    private KerasConfig(String modelClass, String modelName, List<LayerSpec> layers, List<Ref> inputs, List<Ref> outputs,
                        boolean keras3Spelling, String where) {
        this.modelClass = modelClass;
        this.modelName = modelName;
        this.layers = layers;
        this.inputs = inputs;
        this.outputs = outputs;
        this.keras3Spelling = keras3Spelling;
        this.where = where;
    }

    String where() {
        return where;
    }

    LayerSpec layer(String name) {
        for (LayerSpec l : layers) {
            if (l.name().equals(name)) {
                return l;
            }
        }
        throw LstmxException.badInput(where + ": no layer named '" + name + "'");
    }

    /** Parses a model config; {@code where} names the file and the attribute or entry. */
    static KerasConfig parse(JsonObject root, String where) {
        String cls = Json.str(root, "class_name", where);
        boolean k3 = root.has("module") || root.has("registered_name");
        JsonObject cfg = Json.obj(root, "config", where);
        String name = Json.str(cfg, "name", "model", where);
        if (cls.equals("Sequential")) {
            return sequential(cfg, name, k3, where);
        }
        if (cls.equals("Functional") || cls.equals("Model")) {
            return functional(cls, cfg, name, k3, where);
        }
        throw LstmxException.unsupported(where + ": the model is a '" + cls + "'; lstmx reads Sequential and Functional models"
                + " (a subclassed model keeps its code in Python)");
    }

    private static LayerSpec spec(JsonElement e, String where, boolean withName) {
        if (e == null || !e.isJsonObject()) {
            throw LstmxException.badInput(where + ": a layer entry is " + Json.describe(e) + ", not an object");
        }
        JsonObject o = e.getAsJsonObject();
        String cls = Json.str(o, "class_name", where);
        JsonObject cfg = Json.obj(o, "config", where + ": layer of class " + cls);
        String name = withName && o.has("name") ? Json.str(o, "name", where) : Json.str(cfg, "name", where + ": layer of class " + cls);
        String custom = null;
        String module = Json.str(o, "module", null, where + ": layer '" + name + "'");
        String registered = Json.str(o, "registered_name", null, where + ": layer '" + name + "'");
        if (registered != null && !registered.equals(cls)) {
            custom = registered;
        } else if (module != null && !(module.equals("keras") || module.startsWith("keras."))) {
            custom = module + "." + cls;
        }
        return new LayerSpec(cls, name, cfg, custom, new ArrayList<>());
    }

    private static KerasConfig sequential(JsonObject cfg, String name, boolean k3, String where) {
        JsonArray arr = Json.arr(cfg, "layers", where + ": Sequential config");
        List<LayerSpec> layers = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (JsonElement e : arr) {
            LayerSpec l = spec(e, where, false);
            if (!names.add(l.name())) {
                throw LstmxException.badInput(where + ": two layers are named '" + l.name() + "'");
            }
            layers.add(l);
        }
        if (layers.isEmpty()) {
            throw LstmxException.badInput(where + ": a Sequential model without layers");
        }
        if (!layers.get(0).className().equals("InputLayer")) {
            // The input comes from the first layer's batch_input_shape (Keras 2) or the model's build_input_shape (Keras 3).
            JsonElement shape = layers.get(0).config().get("batch_input_shape");
            if (Json.isNull(shape)) {
                shape = cfg.get("build_input_shape");
            }
            if (Json.isNull(shape)) {
                throw LstmxException.badInput(where + ": Sequential model without an InputLayer, batch_input_shape or build_input_shape;"
                        + " its input shape is unknown");
            }
            JsonObject ic = new JsonObject();
            String in = "input";
            while (names.contains(in)) {
                in = in + "_";
            }
            ic.addProperty("name", in);
            ic.add("batch_input_shape", shape);
            JsonElement dtype = layers.get(0).config().get("dtype");
            if (dtype != null) {
                ic.add("dtype", dtype);
            }
            layers.add(0, new LayerSpec("InputLayer", in, ic, null, new ArrayList<>()));
        }
        for (int i = 1; i < layers.size(); i++) {
            layers.get(i).calls().add(new Call(List.of(new Ref(layers.get(i - 1).name(), 0, 0)), List.of()));
        }
        LayerSpec last = layers.get(layers.size() - 1);
        return new KerasConfig("Sequential", name, layers, List.of(new Ref(layers.get(0).name(), 0, 0)),
                List.of(new Ref(last.name(), 0, 0)), k3, where);
    }

    private static KerasConfig functional(String cls, JsonObject cfg, String name, boolean k3, String where) {
        JsonArray arr = Json.arr(cfg, "layers", where + ": " + cls + " config");
        List<LayerSpec> layers = new ArrayList<>();
        Map<String, LayerSpec> byName = new HashMap<>();
        List<JsonElement> nodes = new ArrayList<>();
        for (JsonElement e : arr) {
            LayerSpec l = spec(e, where, true);
            if (byName.put(l.name(), l) != null) {
                throw LstmxException.badInput(where + ": two layers are named '" + l.name() + "'");
            }
            layers.add(l);
            nodes.add(e.getAsJsonObject().get("inbound_nodes"));
        }
        for (int i = 0; i < layers.size(); i++) {
            LayerSpec l = layers.get(i);
            String w = where + ": layer '" + l.name() + "' inbound_nodes";
            JsonElement n = nodes.get(i);
            if (Json.isNull(n)) {
                continue;
            }
            if (!n.isJsonArray()) {
                throw LstmxException.badInput(w + " is " + Json.describe(n) + ", not a list");
            }
            for (JsonElement node : n.getAsJsonArray()) {
                l.calls().add(call(node, w));
            }
        }
        List<Ref> ins = refs(cfg.get("input_layers"), where + ": input_layers");
        List<Ref> outs = refs(cfg.get("output_layers"), where + ": output_layers");
        for (Ref r : concat(ins, outs)) {
            if (!byName.containsKey(r.layer())) {
                throw LstmxException.badInput(where + ": the model's inputs or outputs name layer '" + r.layer() + "', which is not in its layers");
            }
        }
        if (outs.isEmpty()) {
            throw LstmxException.badInput(where + ": a " + cls + " model without output_layers");
        }
        return new KerasConfig(cls, name, layers, ins, outs, k3, where);
    }

    private static List<Ref> concat(List<Ref> a, List<Ref> b) {
        List<Ref> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }

    /** Keras 2: {@code [[name, node, index], ...]}; Keras 3 also a single {@code [name, node, index]}. */
    private static List<Ref> refs(JsonElement e, String where) {
        if (Json.isNull(e) || !e.isJsonArray()) {
            throw LstmxException.badInput(where + " is " + Json.describe(e) + ", not a list");
        }
        JsonArray a = e.getAsJsonArray();
        List<Ref> out = new ArrayList<>();
        if (!a.isEmpty() && a.get(0).isJsonPrimitive()) {
            out.add(ref(a, where));
            return out;
        }
        for (JsonElement x : a) {
            if (!x.isJsonArray()) {
                throw LstmxException.badInput(where + ": entry " + Json.describe(x) + " is not [layer, node, tensor]");
            }
            out.add(ref(x.getAsJsonArray(), where));
        }
        return out;
    }

    private static Ref ref(JsonArray a, String where) {
        if (a.size() < 3 || !a.get(0).isJsonPrimitive() || !a.get(0).getAsJsonPrimitive().isString()) {
            throw LstmxException.badInput(where + ": " + Json.describe(a) + " is not [layer, node, tensor]");
        }
        return new Ref(a.get(0).getAsString(), (int) Json.integer(a.get(1), 0, 1 << 20, where + ": node index"),
                (int) Json.integer(a.get(2), 0, 1 << 20, where + ": tensor index"));
    }

    private static Call call(JsonElement node, String where) {
        List<Ref> ins = new ArrayList<>();
        List<String> kw = new ArrayList<>();
        if (node.isJsonObject()) {
            // Keras 3: {"args": [...], "kwargs": {...}}
            JsonObject o = node.getAsJsonObject();
            JsonElement args = o.get("args");
            if (!Json.isNull(args)) {
                collect(args, ins, where, 0);
            }
            JsonElement kwargs = o.get("kwargs");
            if (!Json.isNull(kwargs) && kwargs.isJsonObject()) {
                for (var en : kwargs.getAsJsonObject().entrySet()) {
                    List<Ref> t = new ArrayList<>();
                    collect(en.getValue(), t, where, 0);
                    if (en.getKey().equals("initial_state")) {
                        // a recurrent layer's initial states follow its sequence, as Keras 2 lists them
                        ins.addAll(t);
                    } else if (!t.isEmpty()) {
                        kw.add(en.getKey());
                    }
                }
            }
        } else if (node.isJsonArray()) {
            // Keras 2: [[name, node, index, kwargs], ...]
            for (JsonElement x : node.getAsJsonArray()) {
                if (!x.isJsonArray()) {
                    throw LstmxException.badInput(where + ": " + Json.describe(x) + " is not [layer, node, tensor, kwargs]");
                }
                JsonArray a = x.getAsJsonArray();
                ins.add(ref(a, where));
                if (a.size() > 3 && a.get(3).isJsonObject()) {
                    for (var en : a.get(3).getAsJsonObject().entrySet()) {
                        if (!en.getKey().equals("training") && !Json.isNull(en.getValue())) {
                            kw.add(en.getKey());
                        }
                    }
                }
            }
        } else {
            throw LstmxException.badInput(where + ": node " + Json.describe(node) + " is neither a list nor an object");
        }
        return new Call(ins, kw);
    }

    /** Keras 3 keras tensors anywhere in {@code e} (lists of them for merge layers), in order. */
    private static void collect(JsonElement e, List<Ref> out, String where, int depth) {
        if (depth > Json.MAX_DEPTH) {
            throw LstmxException.badInput(where + ": nested too deeply");
        }
        if (e.isJsonArray()) {
            for (JsonElement x : e.getAsJsonArray()) {
                collect(x, out, where, depth + 1);
            }
        } else if (e.isJsonObject()) {
            JsonObject o = e.getAsJsonObject();
            if (o.has("class_name") && "__keras_tensor__".equals(Json.str(o, "class_name", null, where))) {
                JsonObject c = Json.obj(o, "config", where);
                out.add(ref(Json.arr(c, "keras_history", where), where + ": keras_history"));
            } else {
                for (var en : o.entrySet()) {
                    collect(en.getValue(), out, where, depth + 1);
                }
            }
        }
    }
}
