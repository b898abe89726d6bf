package io.lstmx.exporters.keras;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import io.lstmx.exporters.keras.KerasModel.KLayer;
import io.lstmx.exporters.keras.KerasModel.KT;
import io.lstmx.exporters.keras.KerasModel.Weight;
import io.lstmx.util.OverlappedOutputStream;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Serializes a {@link KerasModel} the way Keras 3 (3.8) saves models:
 * <ul>
 *   <li>.keras: a zip (entries stored, as Keras writes them) of metadata.json
 *       ({@code keras_version}, {@code date_saved}), config.json (layers as
 *       {@code {"module", "class_name", "config", "registered_name", "build_config"}}, dtype
 *       policies as objects; a Functional's inbound nodes as {@code {"args", "kwargs"}} of
 *       {@code __keras_tensor__} objects) and model.weights.h5 (each layer's variables at
 *       {@code layers/<snake_class>[_k]/[cell|forward_layer/cell|backward_layer/cell]/vars/<i>},
 *       the path Keras derives from the class and the layer's position among layers of its class;
 *       every vars group carries the object's name as attribute {@code name});</li>
 *   <li>.h5 (Keras 3's legacy writer): root attributes {@code backend}, {@code keras_version},
 *       {@code model_config} (the same config in Keras' legacy spelling: layers as
 *       {@code {"class_name", "config"}}); {@code /model_weights} with attributes
 *       {@code backend}, {@code keras_version}, {@code layer_names}, one group per layer with
 *       attribute {@code weight_names} (paths below the group, e.g.
 *       {@code sequential/lstm/lstm_cell/kernel}, where the datasets are), and
 *       {@code top_level_model_weights}. All strings are variable-length UTF-8, as h5py writes them.</li>
 * </ul>
 * A Sequential is written when the graph is a chain of single-output calls, else a Functional.
 */
final class KerasFiles {
    static final String KERAS_VERSION = "3.8.0";
    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    private KerasFiles() {
    }

    /** Keras' naming.to_snake_case. */
    static String snake(String cls) {
        String n = cls.replaceAll("\\W+", "");
        n = n.replaceAll("(.)([A-Z][a-z]+)", "$1_$2");
        n = n.replaceAll("([a-z])([A-Z])", "$1_$2");
        return n.toLowerCase(Locale.ROOT);
    }

    static JsonObject policy() {
        JsonObject c = new JsonObject();
        c.addProperty("name", "float32");
        JsonObject p = new JsonObject();
        p.addProperty("module", "keras");
        p.addProperty("class_name", "DTypePolicy");
        p.add("config", c);
        p.add("registered_name", JsonNull.INSTANCE);
        return p;
    }

    /** A layer object nested in a config (Bidirectional's layer and backward_layer), Keras 3 spelling. */
    static JsonObject wrap(String cls, JsonObject config) {
        JsonObject o = new JsonObject();
        o.addProperty("module", "keras.layers");
        o.addProperty("class_name", cls);
        o.add("config", config);
        o.add("registered_name", JsonNull.INSTANCE);
        return o;
    }

    /** Whether the model is a chain Sequential can hold. */
    static boolean sequential(KerasModel m) {
        if (m.inputs.size() != 1 || m.outputs.size() != 1) {
            return false;
        }
        KLayer prev = m.inputs.get(0);
        for (KLayer l : m.layers) {
            if (l == m.inputs.get(0)) {
                continue;
            }
            if (l.inputs.size() != 1 || l.inputs.get(0).ref().layer != prev || l.inputs.get(0).ref().index != 0 || !l.initialState.isEmpty()) {
                return false;
            }
            if (l.recurrent != null && outputCount(l) > 1) {
                return false;
            }
            prev = l;
        }
        KT o = m.outputs.get(0);
        return o.ref().layer == prev && o.ref().index == 0 && prev != m.inputs.get(0);
    }

    private static int outputCount(KLayer l) {
        JsonObject c = l.recurrent.bidirectional ? l.config.getAsJsonObject("layer").getAsJsonObject("config") : l.config;
        return c.get("return_state").getAsBoolean() ? 2 : 1;
    }

    /** The layers in model.layers order: a Sequential leaves its InputLayer out. */
    static List<KLayer> modelLayers(KerasModel m, boolean seq) {
        List<KLayer> ls = new ArrayList<>(m.layers);
        if (seq) {
            ls.remove(m.inputs.get(0));
        }
        return ls;
    }

    /** The model config; {@code keras3} for config.json, else the legacy spelling of .h5 files. */
    static JsonObject config(KerasModel m, boolean keras3) {
        boolean seq = sequential(m);
        JsonObject cfg = new JsonObject();
        cfg.addProperty("name", m.name);
        cfg.addProperty("trainable", true);
        JsonArray layers = new JsonArray();
        for (KLayer l : m.layers) {
            JsonObject o = new JsonObject();
            if (keras3) {
                o.addProperty("module", "keras.layers");
            }
            o.addProperty("class_name", l.className);
            o.add("config", l.config);
            if (keras3) {
                o.add("registered_name", JsonNull.INSTANCE);
                if (!l.className.equals("InputLayer")) {
                    JsonObject b = new JsonObject();
                    b.add("input_shape", l.listInput ? shapes(l.inputs) : shape(l.inputs.get(0).shape()));
                    o.add("build_config", b);
                }
            }
            if (!seq) {
                o.addProperty("name", l.name);
                JsonArray nodes = new JsonArray();
                if (!l.inputs.isEmpty()) {
                    JsonObject node = new JsonObject();
                    JsonArray args = new JsonArray();
                    if (l.listInput) {
                        JsonArray list = new JsonArray();
                        for (KT t : l.inputs) {
                            list.add(tensor(t));
                        }
                        args.add(list);
                    } else {
                        args.add(tensor(l.inputs.get(0)));
                    }
                    node.add("args", args);
                    JsonObject kwargs = new JsonObject();
                    if (!l.initialState.isEmpty()) {
                        JsonArray st = new JsonArray();
                        for (KT t : l.initialState) {
                            st.add(tensor(t));
                        }
                        kwargs.add("initial_state", st);
                    }
                    node.add("kwargs", kwargs);
                    nodes.add(node);
                }
                o.add("inbound_nodes", nodes);
            }
            layers.add(o);
        }
        if (seq) {
            cfg.add("dtype", policy());
        }
        cfg.add("layers", layers);
        if (seq) {
            cfg.add("build_input_shape", shape(m.outputs.isEmpty() ? new long[0] : inputShape(m)));
        } else {
            cfg.add("input_layers", refs(m.inputs.stream().map(l -> new KT(new KerasModel.Ref(l, null, 0), new long[0], "")).toList()));
            cfg.add("output_layers", refs(m.outputs));
        }
        JsonObject root = new JsonObject();
        if (keras3) {
            root.addProperty("module", seq ? "keras" : "keras.src.models.functional");
        }
        root.addProperty("class_name", seq ? "Sequential" : "Functional");
        root.add("config", cfg);
        if (keras3) {
            root.add("registered_name", seq ? JsonNull.INSTANCE : new com.google.gson.JsonPrimitive("Functional"));
            JsonObject b = new JsonObject();
            b.add("input_shape", seq ? shape(inputShape(m)) : JsonNull.INSTANCE);
            root.add("build_config", b);
        }
        return root;
    }

    private static long[] inputShape(KerasModel m) {
        JsonArray a = m.inputs.get(0).config.getAsJsonArray("batch_shape");
        long[] s = new long[a.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = a.get(i).isJsonNull() ? -1 : a.get(i).getAsLong();
        }
        return s;
    }

    private static JsonElement refs(List<KT> ts) {
        JsonArray all = new JsonArray();
        for (KT t : ts) {
            JsonArray r = new JsonArray();
            r.add(t.ref().layer.name);
            r.add(0);
            r.add(t.ref().index);
            all.add(r);
        }
        return ts.size() == 1 ? all.get(0) : all;
    }

    private static JsonObject tensor(KT t) {
        JsonObject c = new JsonObject();
        c.add("shape", shape(t.shape()));
        c.addProperty("dtype", t.dtype().isEmpty() ? "float32" : t.dtype());
        JsonArray h = new JsonArray();
        h.add(t.ref().layer.name);
        h.add(0);
        h.add(t.ref().index);
        c.add("keras_history", h);
        JsonObject o = new JsonObject();
        o.addProperty("class_name", "__keras_tensor__");
        o.add("config", c);
        return o;
    }

    private static JsonArray shapes(List<KT> ts) {
        JsonArray a = new JsonArray();
        for (KT t : ts) {
            a.add(shape(t.shape()));
        }
        return a;
    }

    private static JsonArray shape(long[] s) {
        JsonArray a = new JsonArray();
        for (long d : s) {
            if (d < 0) {
                a.add(JsonNull.INSTANCE);
            } else {
                a.add(d);
            }
        }
        return a;
    }

    /** model.weights.h5 of a .keras archive. */
    static H5Writer.Group weightsByObjectPath(KerasModel m) {
        boolean seq = sequential(m);
        H5Writer.Group root = new H5Writer.Group();
        H5Writer.Group layers = root.group("layers");
        Map<String, Integer> used = new HashMap<>();
        for (KLayer l : modelLayers(m, seq)) {
            String base = snake(l.className);
            int k = used.merge(base, 1, Integer::sum) - 1;
            H5Writer.Group g = layers.group(k == 0 ? base : base + "_" + k);
            g.group("vars").attr("name", l.name);
            for (String[] named : l.namedObjects) {
                g.path(named[0]).group("vars").attr("name", named[1]);
            }
            Map<String, Integer> index = new LinkedHashMap<>();
            for (Weight w : l.weights) {
                H5Writer.Group vars = g.path(w.objectPath()).group("vars");
                int i = index.merge(w.objectPath(), 1, Integer::sum) - 1;
                vars.dataset(Integer.toString(i), w.shape(), w.values());
            }
        }
        root.group("vars").attr("name", m.name);
        return root;
    }

    /** The legacy .h5 file. */
    static H5Writer.Group legacyH5(KerasModel m) {
        boolean seq = sequential(m);
        H5Writer.Group root = new H5Writer.Group();
        root.attr("backend", "tensorflow");
        root.attr("keras_version", KERAS_VERSION);
        root.attr("model_config", GSON.toJson(config(m, false)));
        H5Writer.Group mw = root.group("model_weights");
        mw.attr("backend", "tensorflow");
        mw.attr("keras_version", KERAS_VERSION);
        List<String> names = new ArrayList<>();
        for (KLayer l : modelLayers(m, seq)) {
            names.add(l.name);
            H5Writer.Group g = mw.group(l.name);
            List<String> wn = new ArrayList<>();
            for (Weight w : l.weights) {
                wn.add(w.legacyPath());
                String p = w.legacyPath();
                int cut = p.lastIndexOf('/');
                g.path(p.substring(0, cut)).dataset(p.substring(cut + 1), w.shape(), w.values());
            }
            g.attr("weight_names", wn);
        }
        mw.attr("layer_names", names);
        mw.group("top_level_model_weights").attr("weight_names", List.of());
        return root;
    }

    /** The .keras archive: metadata.json, config.json, then model.weights.h5 produced once, as it is written (see {@link StoredZip}). */
    static void writeKeras(KerasModel m, java.nio.channels.FileChannel ch) throws IOException {
        JsonObject meta = new JsonObject();
        meta.addProperty("keras_version", KERAS_VERSION);
        meta.addProperty("date_saved", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd@HH:mm:ss")));
        H5Writer.Image weights = H5Writer.write(weightsByObjectPath(m));
        StoredZip z = new StoredZip(ch);
        z.entry("metadata.json", GSON.toJson(meta).getBytes(StandardCharsets.UTF_8));
        z.entry("config.json", GSON.toJson(config(m, true)).getBytes(StandardCharsets.UTF_8));
        // the zip's CRC-32 and the channel's writes on a second thread, while this one makes the bytes (kernels transposed)
        z.entry("model.weights.h5", weights.size(), out -> OverlappedOutputStream.writeThrough(out, weights::writeTo));
        z.finish();
    }

    static void writeH5(KerasModel m, OutputStream os) throws IOException {
        // the file's writes on a second thread, while this one makes the bytes (kernels transposed)
        H5Writer.Image image = H5Writer.write(legacyH5(m));
        OverlappedOutputStream.writeThrough(os, image::writeTo);
    }
}
