package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The importer's abstract value of one ONNX value name. Constant folding works on these: shape
 * arithmetic (Shape, Gather, Concat, ...) stays symbolic, zero-filled initial states stay "filled"
 * until an LSTM drops them, and only {@link Run} values exist in the IR graph.
 */
sealed interface Value {
    /** A tensor known at import time. */
    record Const(Tensor tensor) implements Value {
    }

    /**
     * An int64 shape vector (or one scalar entry of it, {@code scalar}) whose entries are sizes or
     * symbolic dimensions of run-time values. Never fully known: those become {@link Const}.
     */
    record ShapeVec(List<SDim> entries, boolean scalar) implements Value {
        public ShapeVec {
            entries = List.copyOf(entries);
        }
    }

    /** A tensor of the given (possibly symbolic) shape whose elements all equal {@code element} (rank 0). */
    record Filled(Tensor element, List<SDim> shape) implements Value {
        public Filled {
            shape = List.copyOf(shape);
        }
    }

    /** A value computed at run time by IR value {@code name}; {@code shape} is null when the rank is unknown. */
    record Run(String name, DType dtype, List<SDim> shape) implements Value {
        public Run {
            shape = shape == null ? null : List.copyOf(shape);
        }
    }

    /** Output of a node that could not be converted (already reported). */
    record Poisoned() implements Value {
    }

    /** Shape of the value, or null when its rank is unknown. */
    static List<SDim> shapeOf(Value v) {
        if (v instanceof Const c) {
            return known(c.tensor().shape());
        }
        if (v instanceof ShapeVec s) {
            return s.scalar() ? List.of() : List.of(SDim.known(s.entries().size()));
        }
        if (v instanceof Filled f) {
            return f.shape();
        }
        if (v instanceof Run r) {
            return r.shape();
        }
        return null;
    }

    static DType dtypeOf(Value v) {
        if (v instanceof Const c) {
            return c.tensor().dtype();
        }
        if (v instanceof Filled f) {
            return f.element().dtype();
        }
        if (v instanceof Run r) {
            return r.dtype();
        }
        return DType.INT64;
    }

    static List<SDim> known(int[] shape) {
        List<SDim> l = new ArrayList<>(shape.length);
        for (int d : shape) {
            l.add(SDim.known(d));
        }
        return l;
    }
}
