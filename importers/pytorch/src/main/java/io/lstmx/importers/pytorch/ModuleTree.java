package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tensors of a torch.save file grouped by module, in the order {@code state_dict()} lists
 * them: a state_dict's keys split at their last dot ({@code lstm.weight_ih_l0} is {@code
 * weight_ih_l0} of module {@code lstm}), or a pickled module's tree walked as {@code state_dict()}
 * walks it (each module's {@code _parameters}, then its persistent {@code _buffers}, then its
 * {@code _modules} in registration order), keeping each module's class name and plain attributes.
 */
final class ModuleTree {
    private ModuleTree() {
    }

    /** Deepest module nesting followed. */
    static final int MAX_MODULE_DEPTH = 64;
    /** Entries of a training checkpoint that may hold the model (one level is followed). */
    static final List<String> CHECKPOINT_KEYS = List.of("state_dict", "model_state_dict", "model", "net", "module");

    /**
     * One module's tensors, or one key prefix's.
     *
     * @param prefix     the module's path ("" for the top)
     * @param cls        its class (pickled modules), or null (state_dicts)
     * @param attributes its attributes that are not {@code _private} (pickled modules), else empty
     * @param tensors    its tensors by their own name, in order
     */
    record Group(String prefix, Py.Global cls, Map<String, Object> attributes, Map<String, TensorRef> tensors) {
        Group {
            attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
            tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        }

        /** The full key of one of its tensors. */
        String key(String name) {
            return prefix.isEmpty() ? name : prefix + "." + name;
        }

        /** Its tensors' full keys, comma-separated, for messages. */
        String keys() {
            List<String> l = new ArrayList<>();
            tensors.keySet().forEach(n -> l.add(key(n)));
            return String.join(", ", l);
        }

        /** "'lstm'" or "the top module", with the class when known. */
        String label() {
            String p = prefix.isEmpty() ? (cls == null ? "the keys without a prefix" : "the top module") : "'" + prefix + "'";
            return cls == null ? p : p + " (" + cls.qualified() + ")";
        }
    }

    /**
     * What the file holds, grouped.
     *
     * @param module     whether it is a pickled module (else a state_dict)
     * @param what       one phrase, e.g. "state_dict of 10 tensors" or "pickled module models.LSTMFCN"
     * @param groups     the groups in order
     * @param tensorless state_dicts: modules named in {@code _metadata} that have no tensors (their
     *                   kind and place in forward are not in the file)
     */
    record Tree(boolean module, String what, List<Group> groups, List<String> tensorless) {
    }

    static Tree of(Object root, Path path) {
        return of(root, path, true);
    }

    private static Tree of(Object root, Path path, boolean followCheckpoint) {
        if (root instanceof Py.Obj obj && isModule(obj)) {
            List<Group> groups = new ArrayList<>();
            walk(obj, "", 0, Collections.newSetFromMap(new IdentityHashMap<>()), groups, path);
            return new Tree(true, "pickled module " + obj.cls.qualified(), groups, List.of());
        }
        if (root instanceof Py.Dict d) {
            List<String> notTensors = new ArrayList<>();
            int tensors = 0;
            for (var e : d.map.entrySet()) {
                if (e.getValue() instanceof TensorRef) {
                    tensors++;
                } else {
                    notTensors.add(AllowList.describe(e.getKey()));
                }
            }
            if (tensors > 0 && notTensors.isEmpty()) {
                return stateDict(d, path);
            }
            if (followCheckpoint && tensors == 0) {
                for (String k : CHECKPOINT_KEYS) {
                    Object inner = d.map.get(k);
                    if (inner instanceof Py.Dict || inner instanceof Py.Obj) {
                        Tree t = of(inner, path, false);
                        return new Tree(t.module(), t.what() + " (the checkpoint's '" + k + "' entry)", t.groups(), t.tensorless());
                    }
                }
            }
            if (tensors == 0) {
                throw LstmxException.unsupported(path + ": the file holds a " + Py.typeName(d) + " of " + d.map.size()
                        + " entries and no tensors (keys: " + limit(notTensors) + "), neither a state_dict nor an nn.Module");
            }
            throw LstmxException.unsupported(path + ": state_dict entries that are not tensors: " + limit(notTensors));
        }
        throw LstmxException.unsupported(path + ": the file holds a " + Py.typeName(root) + ", neither a state_dict nor an nn.Module");
    }

    private static boolean isModule(Py.Obj o) {
        return o.attributes.get("_modules") instanceof Py.Dict || o.attributes.get("_parameters") instanceof Py.Dict;
    }

    private static Tree stateDict(Py.Dict d, Path path) {
        Map<String, Map<String, TensorRef>> byPrefix = new LinkedHashMap<>();
        for (var e : d.map.entrySet()) {
            if (!(e.getKey() instanceof String key) || key.isEmpty()) {
                throw LstmxException.badInput(path + ": a state_dict key that is " + AllowList.describe(e.getKey()) + ", not a name");
            }
            int dot = key.lastIndexOf('.');
            String prefix = dot < 0 ? "" : key.substring(0, dot);
            String name = key.substring(dot + 1);
            byPrefix.computeIfAbsent(prefix, p -> new LinkedHashMap<>()).put(name, (TensorRef) e.getValue());
        }
        List<Group> groups = new ArrayList<>();
        byPrefix.forEach((p, t) -> groups.add(new Group(p, null, Map.of(), t)));
        // _metadata (an attribute of the OrderedDict) names every module, also those without tensors.
        List<String> tensorless = new ArrayList<>();
        if (d.attributes.get("_metadata") instanceof Py.Dict meta) {
            for (Object k : meta.map.keySet()) {
                if (k instanceof String m && !m.isEmpty() && !byPrefix.containsKey(m)
                        && byPrefix.keySet().stream().noneMatch(p -> p.startsWith(m + "."))) {
                    tensorless.add(m);
                }
            }
        }
        return new Tree(false, "state_dict of " + d.map.size() + " tensors", groups, tensorless);
    }

    private static void walk(Py.Obj m, String path, int depth, Set<Py.Obj> seen, List<Group> out, Path file) {
        String where = path.isEmpty() ? "the top module" : "module '" + path + "'";
        if (depth > MAX_MODULE_DEPTH) {
            throw LstmxException.badInput(file + ": modules nested more than " + MAX_MODULE_DEPTH + " deep at " + where);
        }
        if (!seen.add(m)) {
            throw LstmxException.unsupported(file + ": " + where + " is a module met before (shared or cyclic modules are not read)");
        }
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        collect(m, "_parameters", path, tensors, Set.of(), file);
        Set<Object> nonPersistent = m.attributes.get("_non_persistent_buffers_set") instanceof Py.PySet s ? s.items : Set.of();
        collect(m, "_buffers", path, tensors, nonPersistent, file);
        Map<Object, Object> children = m.attributes.get("_modules") instanceof Py.Dict c ? c.map : Map.of();
        Map<String, Object> attributes = new LinkedHashMap<>();
        m.attributes.forEach((k, v) -> {
            if (!k.startsWith("_")) {
                attributes.put(k, v);
            }
        });
        if (!tensors.isEmpty() || children.isEmpty()) {
            out.add(new Group(path, m.cls, attributes, tensors));
        }
        for (var e : children.entrySet()) {
            if (!(e.getKey() instanceof String name) || !AllowList.isIdentifier(name) && !name.matches("[0-9]{1,9}")) {
                throw LstmxException.badInput(file + ": " + where + " has a submodule named " + AllowList.describe(e.getKey()));
            }
            if (e.getValue() == null) {
                continue;
            }
            if (!(e.getValue() instanceof Py.Obj child)) {
                throw LstmxException.badInput(file + ": " + where + " submodule '" + name + "' is a " + Py.typeName(e.getValue())
                        + ", not a module");
            }
            walk(child, path.isEmpty() ? name : path + "." + name, depth + 1, seen, out, file);
        }
    }

    private static void collect(Py.Obj m, String attribute, String path, Map<String, TensorRef> into, Set<Object> skip, Path file) {
        Object v = m.attributes.get(attribute);
        if (v == null) {
            return;
        }
        if (!(v instanceof Py.Dict d)) {
            throw LstmxException.badInput(file + ": " + attribute + " of module '" + path + "' is a " + Py.typeName(v) + ", not a dict");
        }
        for (var e : d.map.entrySet()) {
            if (!(e.getKey() instanceof String name) || !AllowList.isIdentifier(name)) {
                throw LstmxException.badInput(file + ": " + attribute + " of module '" + path + "' has an entry named "
                        + AllowList.describe(e.getKey()));
            }
            if (e.getValue() == null || skip.contains(name)) {
                continue;
            }
            if (!(e.getValue() instanceof TensorRef t)) {
                throw LstmxException.badInput(file + ": " + attribute + "['" + name + "'] of module '" + path + "' is a "
                        + Py.typeName(e.getValue()) + ", not a tensor");
            }
            if (into.put(name, t) != null) {
                throw LstmxException.badInput(file + ": module '" + path + "' has a parameter and a buffer both named '" + name + "'");
            }
        }
    }

    private static String limit(List<String> l) {
        return l.size() <= 8 ? String.join(", ", l) : String.join(", ", l.subList(0, 8)) + " and " + (l.size() - 8) + " more";
    }
}
