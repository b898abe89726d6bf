package io.lstmx.ir;

/** One dimension of a declared shape: a fixed size or a named symbolic size such as "batch". */
public sealed interface Dim {
    record Fixed(long size) implements Dim {
        public Fixed {
            if (size < 0) {
                throw new IllegalArgumentException("negative dimension " + size);
            }
        }

        @Override
        public String toString() {
            return Long.toString(size);
        }
    }

    /** A dimension known only at run time; {@code name} may be empty for an anonymous one. */
    record Symbolic(String name) implements Dim {
        @Override
        public String toString() {
            return name.isEmpty() ? "?" : name;
        }
    }

    static Dim of(long size) {
        return new Fixed(size);
    }

    static Dim of(String name) {
        return new Symbolic(name);
    }

    default boolean isFixed() {
        return this instanceof Fixed;
    }
}
