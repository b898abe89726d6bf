package io.lstmx.importers.pytorch;

import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The values the TorchScript interpreter ({@link ScriptInterpreter}) computes with. Python's own
 * values are Java's: Long (int), Double (float), Boolean, String, null (None), {@link Py.Tuple}
 * tuples and {@link Py.PyList} lists; these are the rest.
 */
final class ScriptValues {
    private ScriptValues() {
    }

    /**
     * An int the code computes from a tensor's size, unknown until the model runs (the batch or the
     * sequence length). Two symbols the code finds equal are unified; a symbol the code compares with
     * a number is bound to it (the code checks its inputs: a model run on valid inputs passes).
     */
    static final class Sym {
        private Sym parent;
        private Long value;
        private String label;

        Sym(String label) {
            this.label = label;
        }

        Sym root() {
            Sym s = this;
            int guard = 0;
            while (s.parent != null) {
                s = s.parent;
                if (++guard > 1_000_000) {
                    throw new IllegalStateException("symbol chain too long");
                }
            }
            // Path compression keeps later lookups short.
            Sym t = this;
            while (t.parent != null && t.parent != s) {
                Sym n = t.parent;
                t.parent = s;
                t = n;
            }
            return s;
        }

        /** The value once bound, else null. */
        Long value() {
            return root().value;
        }

        String label() {
            return root().label;
        }

        /** Names the dimension ("batch", "time") unless it already has a role name. */
        void name(String role) {
            Sym r = root();
            if (r.label == null || r.label.contains("_d")) {
                r.label = role;
            }
        }

        void bind(long v) {
            root().value = v;
        }

        /** Makes this and {@code o} one symbol (the first's name wins unless it is a placeholder). */
        void unify(Sym o) {
            Sym a = root();
            Sym b = o.root();
            if (a == b) {
                return;
            }
            if (a.value == null && b.value != null) {
                a.value = b.value;
            }
            if (a.label == null || (a.label.contains("_d") && b.label != null && !b.label.contains("_d"))) {
                a.label = b.label;
            }
            b.parent = a;
        }

        boolean same(Sym o) {
            return root() == o.root();
        }

        @Override
        public String toString() {
            Long v = value();
            return v != null ? v.toString() : label();
        }
    }

    /** Resolves a bound symbol to its Long; anything else is returned as is. */
    static Object resolve(Object o) {
        if (o instanceof Sym s && s.value() != null) {
            return s.value();
        }
        return o;
    }

    /**
     * A tensor: a run-time IR value ({@code value}), or a constant known now ({@code constant}:
     * parameters, buffers, CONSTANTS), or zeros of a shape that may be symbolic ({@code zeros}, the
     * initial states code makes; an IR layer reading them reads "absent" instead).
     */
    static final class STensor {
        final String value;
        final Tensor constant;
        final boolean zeros;
        final List<Object> shape;
        final DType dtype;
        /** The model input this is, unchanged; null for anything computed. */
        final String input;

        private STensor(String value, Tensor constant, boolean zeros, List<Object> shape, DType dtype, String input) {
            this.value = value;
            this.constant = constant;
            this.zeros = zeros;
            this.shape = List.copyOf(shape);
            this.dtype = dtype;
            this.input = input;
        }

        static STensor runtime(String value, List<Object> shape, DType dtype) {
            return new STensor(value, null, false, shape, dtype, null);
        }

        static STensor input(String value, List<Object> shape, DType dtype) {
            return new STensor(value, null, false, shape, dtype, value);
        }

        static STensor constant(Tensor t) {
            List<Object> s = new ArrayList<>();
            for (int d : t.shape()) {
                s.add((long) d);
            }
            return new STensor(null, t, false, s, t.dtype(), null);
        }

        static STensor zeros(List<Object> shape, DType dtype) {
            return new STensor(null, null, true, shape, dtype, null);
        }

        boolean isRuntime() {
            return value != null;
        }

        int rank() {
            return shape.size();
        }

        /** Dimension {@code axis} (negative counts from the end): a Long or a {@link Sym}. */
        Object dim(int axis) {
            int a = axis < 0 ? axis + shape.size() : axis;
            if (a < 0 || a >= shape.size()) {
                throw io.lstmx.errors.LstmxException.badInput("axis " + axis + " of a " + shape.size() + "-D tensor");
            }
            return resolve(shape.get(a));
        }

        @Override
        public String toString() {
            return (value != null ? "tensor '" + value + "'" : zeros ? "zeros" : "constant tensor") + " " + shape;
        }
    }

    /** The stand-in for a value an unknown operator would have made: later operators on it are skipped, not reported. */
    enum Poison { VALUE }

    /** A module object of data.pkl with the class that defines its code. */
    record ModuleRef(Py.Obj obj, ScriptCode.ClassInfo cls, String path) {
    }

    /** A bound method {@code (module).name}. */
    record Method(ModuleRef self, String name) {
    }

    /** A Python dtype or device the code passes around ({@code ops.prim.dtype}, {@code torch.device}). */
    record Opaque(String what) {
    }
}
