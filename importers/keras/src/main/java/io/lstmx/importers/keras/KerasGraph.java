package io.lstmx.importers.keras;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.util.UniqueNames;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Builds the IR model of a Keras config: each layer call, in dependency order (config order where
 * free), handed to its class's {@link LayerConverter}; also what converters share: names, weights
 * (shape-checked before they are read), activations, messages naming the file and the layer.
 */
final class KerasGraph {
    final String file;
    /** hard_sigmoid as Keras 3 defines it (relu6(x + 3) / 6) rather than Keras 2's clip(0.2x + 0.5, 0, 1). */
    final boolean keras3;
    final WeightSource weights;
    final KerasConfig config;
    final List<String> notes = new ArrayList<>();
    private final List<Layer> layers = new ArrayList<>();
    private final UniqueNames layerNames = new UniqueNames();
    private final UniqueNames valueNames = new UniqueNames();
    /** Masks made (IR value -> the Keras layer that made it), and those a recurrent layer read (the others are noted). */
    final Map<String, String> masksMade = new java.util.LinkedHashMap<>();
    final Set<String> masksRead = new LinkedHashSet<>();

    KerasGraph(String file, KerasConfig config, WeightSource weights, boolean keras3) {
        this.file = file;
        this.config = config;
        this.weights = weights;
        this.keras3 = keras3;
    }

    // ---- what converters use

    LstmxException bad(KerasConfig.LayerSpec l, String what) {
        return LstmxException.badInput(file + ": layer '" + l.name() + "' (" + l.className() + "): " + what);
    }

    LstmxException unsupported(KerasConfig.LayerSpec l, String what) {
        return LstmxException.unsupported(file + ": layer '" + l.name() + "' (" + l.className() + "): " + what);
    }

    String where(KerasConfig.LayerSpec l) {
        return file + ": layer '" + l.name() + "' (" + l.className() + ") config";
    }

    /** A fresh value name derived from {@code base}. */
    String value(String base) {
        return valueNames.fresh(base);
    }

    /** A fresh layer name derived from {@code base}. */
    String layerName(String base) {
        return layerNames.fresh(base);
    }

    void add(Layer l) {
        layers.add(l);
    }

    /** Emits a constant and returns its value. */
    String constant(String base, Tensor t) {
        String v = value(base);
        add(new Layer.Constant(layerName(base), v, t));
        return v;
    }

    /** The layer's weights; exactly {@code names.length} of them (their Keras names, for messages), else BAD_INPUT. */
    List<WeightSource.Var> weights(KerasConfig.LayerSpec l, List<String> names) {
        List<WeightSource.Var> vs = weights.weights(l);
        if (vs.size() != names.size()) {
            throw bad(l, "the config implies " + names.size() + " weight(s) " + names + " but the file holds " + vs.size()
                    + (vs.isEmpty() ? " (missing variables)" : " " + vs));
        }
        return vs;
    }

    /** Reads a weight after checking its shape against what the config implies. */
    Tensor tensor(KerasConfig.LayerSpec l, String what, WeightSource.Var v, int... expected) {
        if (!Arrays.equals(v.shape(), expected)) {
            throw bad(l, "variable " + what + " (" + v.label() + ") has shape " + Arrays.toString(v.shape()) + " but the config implies "
                    + Arrays.toString(expected));
        }
        return weights.read(v);
    }

    /** A 2-D tensor transposed. */
    static Tensor transpose(Tensor t) {
        int r = t.dim(0);
        int c = t.dim(1);
        float[] a = t.toFloatArray();
        float[] b = new float[a.length];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                b[j * r + i] = a[i * c + j];
            }
        }
        return Tensor.ofFloats(new int[] {c, r}, b);
    }

    /** A positive size from the config, bounded so that what it implies can be allocated. */
    int size(KerasConfig.LayerSpec l, String key) {
        return Json.integer(l.config(), key, 1, 1 << 24, where(l));
    }

    /**
     * A Keras activation (a name, or Keras 3's serialized function object) as an IR function;
     * null for "softmax" and "log_softmax", which are not element-wise (callers that allow them
     * check {@link #activationName}).
     */
    ActivationFn activation(KerasConfig.LayerSpec l, String key, String dflt) {
        String n = activationName(l, key, dflt);
        return switch (n) {
            case "linear" -> ActivationFn.IDENTITY;
            case "tanh" -> ActivationFn.TANH;
            case "sigmoid" -> ActivationFn.SIGMOID;
            case "relu" -> ActivationFn.RELU;
            case "softsign" -> ActivationFn.of(ActivationFn.Kind.SOFTSIGN);
            case "softplus" -> ActivationFn.of(ActivationFn.Kind.SOFTPLUS);
            case "elu" -> ActivationFn.of(ActivationFn.Kind.ELU, 1f, 0f);
            case "leaky_relu" -> ActivationFn.of(ActivationFn.Kind.LEAKY_RELU, 0.2f, 0f);
            // Keras 2: clip(0.2 x + 0.5, 0, 1); Keras 3: relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1).
            case "hard_sigmoid" -> keras3 ? ActivationFn.of(ActivationFn.Kind.HARD_SIGMOID, 1f / 6f, 0.5f)
                    : ActivationFn.of(ActivationFn.Kind.HARD_SIGMOID, 0.2f, 0.5f);
            case "softmax", "log_softmax" -> null;
            default -> throw unsupported(l, key + " '" + n + "' is not supported (lstmx takes linear, tanh, sigmoid, hard_sigmoid, relu,"
                    + " softsign, softplus, elu, leaky_relu, and softmax after a Dense or as an Activation layer)");
        };
    }

    String activationName(KerasConfig.LayerSpec l, String key, String dflt) {
        JsonElement e = l.config().get(key);
        if (Json.isNull(e)) {
            return dflt;
        }
        if (e.isJsonObject()) {
            // Keras 3 may write {"module": "keras.activations", "class_name": "function", "config": "tanh", ...}
            JsonObject o = e.getAsJsonObject();
            JsonElement c = o.get("config");
            if (c != null && c.isJsonPrimitive() && c.getAsJsonPrimitive().isString()) {
                String module = Json.str(o, "module", "keras.activations", where(l));
                if (!module.startsWith("keras")) {
                    throw unsupported(l, key + " is a custom function '" + module + "." + c.getAsString() + "'");
                }
                return c.getAsString();
            }
            throw unsupported(l, key + " " + Json.describe(e) + " is not a built-in activation");
        }
        return Json.str(l.config(), key, where(l));
    }

    /** Applies the layer's activation (config key "activation") to {@code in}; no layer for linear. */
    KValue applyActivation(KerasConfig.LayerSpec l, KValue in, String target) {
        String n = activationName(l, "activation", "linear");
        if (n.equals("linear")) {
            return in;
        }
        String out = target != null ? target : value(l.name() + "/" + n);
        if (n.equals("softmax") || n.equals("log_softmax")) {
            add(new Layer.Softmax(layerName(l.name() + "." + n), in.name(), out, -1, n.equals("log_softmax")));
        } else {
            add(new Layer.Activation(layerName(l.name() + "." + n), in.name(), out, activation(l, "activation", "linear")));
        }
        return in.withName(out);
    }

    // ---- the build

    private record CallId(int layer, int call) {
    }

    Model build(ModelInfo info) {
        List<KerasConfig.LayerSpec> ls = config.layers;
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < ls.size(); i++) {
            index.put(ls.get(i).name(), i);
        }
        // Kahn's algorithm over calls; the input layers are calls without inputs.
        Map<CallId, List<CallId>> dependents = new HashMap<>();
        Map<CallId, Integer> pending = new HashMap<>();
        PriorityQueue<CallId> ready = new PriorityQueue<>((a, b) -> a.layer() != b.layer() ? Integer.compare(a.layer(), b.layer())
                : Integer.compare(a.call(), b.call()));
        List<ValueInfo> inputs = new ArrayList<>();
        Map<CallId, List<KValue>> produced = new HashMap<>();
        int total = 0;
        for (int i = 0; i < ls.size(); i++) {
            KerasConfig.LayerSpec l = ls.get(i);
            if (l.className().equals("InputLayer")) {
                if (!l.calls().isEmpty() && !l.calls().get(0).inputs().isEmpty()) {
                    throw bad(l, "an InputLayer that reads other tensors");
                }
                KValue v = input(l);
                inputs.add(valueInfo(v));
                produced.put(new CallId(i, 0), List.of(v));
                continue;
            }
            for (int c = 0; c < l.calls().size(); c++) {
                CallId id = new CallId(i, c);
                total++;
                int deps = 0;
                for (KerasConfig.Ref r : l.calls().get(c).inputs()) {
                    Integer j = index.get(r.layer());
                    if (j == null) {
                        throw bad(l, "reads " + r + " but the model has no layer '" + r.layer() + "'");
                    }
                    KerasConfig.LayerSpec src = ls.get(j);
                    int calls = src.className().equals("InputLayer") ? 1 : src.calls().size();
                    if (r.node() >= calls) {
                        throw bad(l, "reads " + r + " but layer '" + r.layer() + "' is called " + calls + " time(s)");
                    }
                    if (!src.className().equals("InputLayer")) {
                        dependents.computeIfAbsent(new CallId(j, r.node()), k -> new ArrayList<>()).add(id);
                        deps++;
                    }
                }
                pending.put(id, deps);
                if (deps == 0) {
                    ready.add(id);
                }
            }
        }
        if (inputs.isEmpty()) {
            throw LstmxException.badInput(config.where() + ": the model has no InputLayer");
        }
        int done = 0;
        while (!ready.isEmpty()) {
            CallId id = ready.poll();
            KerasConfig.LayerSpec l = ls.get(id.layer());
            KerasConfig.Call call = l.calls().get(id.call());
            List<KValue> ins = new ArrayList<>();
            for (KerasConfig.Ref r : call.inputs()) {
                ins.add(output(produced, new CallId(index.get(r.layer()), r.node()), r, l));
            }
            produced.put(id, convert(l, call, ins));
            done++;
            for (CallId d : dependents.getOrDefault(id, List.of())) {
                int left = pending.merge(d, -1, Integer::sum);
                if (left == 0) {
                    ready.add(d);
                }
            }
        }
        if (done != total) {
            throw LstmxException.badInput(config.where() + ": the layers' inbound nodes form a cycle (" + (total - done) + " call(s) never ready)");
        }
        List<ValueInfo> outputs = new ArrayList<>();
        Set<String> used = new LinkedHashSet<>();
        for (KerasConfig.Ref r : config.outputs) {
            KValue v = output(produced, new CallId(index.get(r.layer()), r.node()), r, null);
            if (!used.add(v.name()) || inputs.stream().anyMatch(i -> i.name().equals(v.name()))) {
                String copy = value(r.layer() + "/output_" + r.index());
                add(new Layer.Identity(layerName(r.layer() + ".output_" + r.index()), v.name(), copy));
                used.add(copy);
                outputs.add(valueInfo(v.withName(copy)));
            } else {
                outputs.add(valueInfo(v));
            }
        }
        for (var m : masksMade.entrySet()) {
            if (!masksRead.contains(m.getKey())) {
                notes.add("layer '" + m.getValue() + "' makes a mask (Embedding mask_zero=True or Masking), but no recurrent layer reads it:"
                        + " it changes no output");
            }
        }
        String detail = String.join("; ", notes);
        return new Model(config.modelName, new ModelInfo(info.sourceFormat(), info.producer(),
                info.detail().isEmpty() ? detail : detail.isEmpty() ? info.detail() : info.detail() + "; " + detail), inputs, outputs, layers);
    }

    /** The logical and of 1 / 0 masks (their product), for a layer joining masked tensors; one mask is itself. */
    String andMasks(String base, List<String> masks) {
        String cur = masks.get(0);
        for (int k = 1; k < masks.size(); k++) {
            String next = value(base + "/mask");
            add(new Layer.Binary(layerName(base + ".and_masks"), Layer.Binary.Op.MUL, cur, masks.get(k), next));
            cur = next;
        }
        return cur;
    }

    private KValue output(Map<CallId, List<KValue>> produced, CallId id, KerasConfig.Ref r, KerasConfig.LayerSpec reader) {
        List<KValue> outs = produced.get(id);
        if (outs == null || r.index() >= outs.size()) {
            String who = reader == null ? "the model's outputs" : "layer '" + reader.name() + "'";
            throw LstmxException.badInput(file + ": " + who + " read(s) " + r + ", but that call has " + (outs == null ? 0 : outs.size())
                    + " output(s)");
        }
        return outs.get(r.index());
    }

    private List<KValue> convert(KerasConfig.LayerSpec l, KerasConfig.Call call, List<KValue> ins) {
        if (l.custom() != null) {
            throw unsupported(l, "a custom layer ('" + l.custom() + "'); lstmx converts Keras' built-in layers only");
        }
        if (!call.tensorKwargs().isEmpty()) {
            throw unsupported(l, "is called with tensors as keyword argument(s) " + call.tensorKwargs()
                    + " (constants or an explicit mask); not supported");
        }
        LayerConverter c = Converters.get(l.className());
        if (c == null) {
            if (KerasConfig.MODEL_CLASSES.contains(l.className())) {
                throw unsupported(l, "a model nested in the model; lstmx reads flat Sequential and Functional models");
            }
            throw unsupported(l, "Keras layer class '" + l.className() + "' is not supported (lstmx converts " + Converters.names() + ")");
        }
        if (ins.isEmpty()) {
            throw bad(l, "is called without inputs");
        }
        return c.convert(this, l, ins);
    }

    /** The model input an InputLayer declares: batch_input_shape (Keras 2), batch_shape (Keras 3). */
    private KValue input(KerasConfig.LayerSpec l) {
        JsonObject c = l.config();
        JsonElement s = c.get("batch_input_shape");
        if (Json.isNull(s)) {
            s = c.get("batch_shape");
        }
        if (Json.isNull(s) || !s.isJsonArray()) {
            throw bad(l, "no batch_input_shape or batch_shape; the input's shape is unknown");
        }
        var a = s.getAsJsonArray();
        if (a.size() < 1 || a.size() > 8) {
            throw bad(l, "input shape " + Json.describe(s) + " has rank " + a.size() + " (1 to 8 taken)");
        }
        long[] shape = new long[a.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = Json.isNull(a.get(i)) ? -1 : Json.integer(a.get(i), 0, 1L << 31, where(l) + ": input shape entry " + i);
        }
        DType dt = dtype(l, c.get("dtype"));
        String name = value(l.name());
        return new KValue(name, shape, dt, null);
    }

    private DType dtype(KerasConfig.LayerSpec l, JsonElement e) {
        String n = "float32";
        if (!Json.isNull(e)) {
            if (e.isJsonObject()) {
                // Keras 3 dtype policy {"class_name": "DTypePolicy", "config": {"name": "float32"}}
                JsonObject o = e.getAsJsonObject();
                n = Json.isNull(o.get("config")) ? "float32" : Json.str(Json.obj(o, "config", where(l)), "name", "float32", where(l));
            } else {
                n = Json.str(l.config(), "dtype", where(l));
            }
        }
        return switch (n) {
            case "float32", "float16", "float64", "bfloat16", "mixed_float16", "mixed_bfloat16" -> DType.FLOAT32;
            case "int32", "int16", "int8", "uint8", "uint16" -> DType.INT32;
            case "int64", "uint32" -> DType.INT64;
            default -> throw unsupported(l, "input dtype '" + n + "' is not supported");
        };
    }

    /** The IR's declaration of a value: unknown sizes become "batch" (axis 0), "time" (axis 1 of rank 3) or unnamed. */
    ValueInfo valueInfo(KValue v) {
        long[] s = v.shape();
        List<Dim> dims = new ArrayList<>();
        for (int i = 0; i < s.length; i++) {
            dims.add(s[i] >= 0 ? Dim.of(s[i]) : Dim.of(i == 0 ? "batch" : i == 1 && s.length == 3 ? "time" : ""));
        }
        return new ValueInfo(v.name(), v.dtype(), new Shape(dims));
    }
}
