package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Python values an unpickled torch.save file is made of, as inert Java data: nothing here
 * refers to code. Atoms are Java's own: {@code null} (None), Boolean, Long or BigInteger (int),
 * Double (float), String (str); the rest are the classes below, plus {@link StorageRef} and
 * {@link TensorRef} made by the allow-listed torch rebuilders.
 *
 * <p>Containers know their nesting depth (1 + their deepest element, as of the last element put
 * in), so that a pickle nesting lists ten thousand deep is refused while it is read instead of
 * overflowing the stack of whatever walks it later. None of them prints or compares its elements
 * recursively except hashable tuples, whose depth is bounded when they become a key.
 */
final class Py {
    private Py() {
    }

    /** Deepest nesting accepted; real state_dicts and modules nest a few dozen levels at most. */
    static final int MAX_DEPTH = 200;

    /** A global the pickle names ({@code module.name}); only a name: nothing is imported or resolved. */
    record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }

        @Override
        public String toString() {
            return qualified();
        }
    }

    /** A torch.device, kept as its words (tensors are read on the CPU whatever their device). */
    record Device(String type, Long index) {
    }

    /** bytes (or a Python 2 str read as bytes). */
    record Bytes(byte[] value) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes b && Arrays.equals(value, b.value);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return "bytes[" + value.length + "]";
        }
    }

    /** An immutable tuple. Equality is by elements (tuples can be dict keys), bounded by {@link #hashable}. */
    static final class Tuple {
        final List<Object> items;
        final int depth;

        Tuple(List<Object> items) {
            this.items = Collections.unmodifiableList(new ArrayList<>(items));
            int d = 0;
            for (Object o : items) {
                d = Math.max(d, depth(o));
            }
            this.depth = checkDepth(d + 1);
        }

        int size() {
            return items.size();
        }

        Object get(int i) {
            return items.get(i);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Tuple t && items.equals(t.items);
        }

        @Override
        public int hashCode() {
            return items.hashCode();
        }

        @Override
        public String toString() {
            return "tuple of " + items.size();
        }
    }

    /** A list. */
    static final class PyList {
        final List<Object> items = new ArrayList<>();
        int depth = 1;

        void add(Object o) {
            items.add(o);
            depth = Math.max(depth, checkDepth(depth(o) + 1));
        }

        @Override
        public String toString() {
            return "list of " + items.size();
        }
    }

    /**
     * A dict or collections.OrderedDict, in insertion order, with the attributes BUILD gave it
     * (a state_dict's {@code _metadata}).
     */
    static final class Dict {
        final Map<Object, Object> map = new LinkedHashMap<>();
        final Map<String, Object> attributes = new LinkedHashMap<>();
        final boolean ordered;
        int depth = 1;

        Dict(boolean ordered) {
            this.ordered = ordered;
        }

        void put(Object key, Object value) {
            requireHashable(key);
            map.put(key, value);
            depth = Math.max(depth, checkDepth(Math.max(depth(key), depth(value)) + 1));
        }

        void setAttribute(String name, Object value) {
            attributes.put(name, value);
            depth = Math.max(depth, checkDepth(depth(value) + 1));
        }

        @Override
        public String toString() {
            return (ordered ? "OrderedDict" : "dict") + " of " + map.size();
        }
    }

    /** A set or frozenset. */
    static final class PySet {
        final Set<Object> items = new LinkedHashSet<>();
        int depth = 1;

        void add(Object o) {
            requireHashable(o);
            items.add(o);
            depth = Math.max(depth, checkDepth(depth(o) + 1));
        }

        @Override
        public String toString() {
            return "set of " + items.size();
        }
    }

    /**
     * An instance of a class that was never imported: its class's name and the attributes the
     * pickle set (BUILD), nothing else. A pickled nn.Module is a tree of these.
     */
    static final class Obj {
        final Global cls;
        final Map<String, Object> attributes = new LinkedHashMap<>();
        int depth = 1;

        Obj(Global cls) {
            this.cls = cls;
        }

        void set(String name, Object value) {
            attributes.put(name, value);
            depth = Math.max(depth, checkDepth(depth(value) + 1));
        }

        @Override
        public String toString() {
            return cls.qualified() + " object";
        }
    }

    /** Nesting depth of a value as far as it is known: 0 for atoms. */
    static int depth(Object o) {
        if (o instanceof Tuple t) {
            return t.depth;
        }
        if (o instanceof PyList l) {
            return l.depth;
        }
        if (o instanceof Dict d) {
            return d.depth;
        }
        if (o instanceof PySet s) {
            return s.depth;
        }
        if (o instanceof Obj b) {
            return b.depth;
        }
        return 0;
    }

    private static int checkDepth(int d) {
        if (d > MAX_DEPTH) {
            throw LstmxException.badInput("values nested more than " + MAX_DEPTH + " deep (a recursion bomb?)");
        }
        return d;
    }

    /**
     * Python's rule, narrowed: only atoms, globals, bytes and tuples of those may be dict keys or
     * set elements. Tuples were depth-checked when made, so hashing one cannot recurse without end.
     */
    static void requireHashable(Object o) {
        if (o == null || o instanceof String || o instanceof Long || o instanceof java.math.BigInteger || o instanceof Double
                || o instanceof Boolean || o instanceof Bytes || o instanceof Global) {
            return;
        }
        if (o instanceof Tuple t) {
            for (Object e : t.items) {
                requireHashable(e);
            }
            return;
        }
        throw LstmxException.badInput("a " + typeName(o) + " used as a dict key or set element (unhashable)");
    }

    /** A short name of a value's type for messages; never prints the value's content. */
    static String typeName(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof String) {
            return "str";
        }
        if (o instanceof Long || o instanceof java.math.BigInteger) {
            return "int";
        }
        if (o instanceof Double) {
            return "float";
        }
        if (o instanceof Boolean) {
            return "bool";
        }
        if (o instanceof Bytes) {
            return "bytes";
        }
        if (o instanceof Tuple) {
            return "tuple";
        }
        if (o instanceof PyList) {
            return "list";
        }
        if (o instanceof Dict d) {
            return d.ordered ? "OrderedDict" : "dict";
        }
        if (o instanceof PySet) {
            return "set";
        }
        if (o instanceof Obj b) {
            return b.cls.qualified();
        }
        if (o instanceof Global g) {
            return "global " + g.qualified();
        }
        if (o instanceof TensorRef) {
            return "tensor";
        }
        if (o instanceof StorageRef) {
            return "storage";
        }
        if (o instanceof Device) {
            return "torch.device";
        }
        return o.getClass().getSimpleName();
    }
}
