package io.lstmx.importers.kit;

import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;

import java.util.List;

/**
 * An importer's abstract value of one value of the source graph. Constant folding works on these:
 * shape arithmetic (Shape, Gather, Concat, ...) stays symbolic, zero-filled initial states stay
 * {@link Filled} until a recurrent layer drops them, and only {@link Run} values exist in the IR
 * graph. Keeping these apart is what lets a converted model hold one LSTM layer where the source
 * computed its zero state or its reshape targets from the input's shape at run time.
 */
public sealed interface Value {
    /** A tensor known at import time. */
    record Const(Tensor tensor) implements Value {
    }

    /**
     * An int64 shape vector (or one scalar entry of it, {@code scalar}) whose entries are sizes or
     * symbolic dimensions of run-time values. Never fully known: {@link #simplify} makes those a
     * {@link Const}.
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

    /**
     * Output of a node that could not be converted (already reported): nodes reading it are
     * skipped, so that one unsupported node is reported once, not once per node after it.
     */
    record Poisoned() implements Value {
    }

    /** Shape of the value, or null when its rank is unknown. */
    static List<SDim> shapeOf(Value v) {
        if (v instanceof Const c) {
            return Shapes.known(c.tensor().shape());
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

    /** Element type of the value (shape vectors are int64). */
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

    /** {@code v}, except that a shape vector whose entries are all known becomes the int64 constant it is. */
    static Value simplify(Value v) {
        if (v instanceof ShapeVec s && Shapes.allKnown(s.entries())) {
            long[] l = s.entries().stream().mapToLong(SDim::value).toArray();
            return new Const(Tensor.ofLongs(s.scalar() ? new int[0] : new int[] {l.length}, l));
        }
        return v;
    }

    /** What the value is, for messages that explain why it cannot be used where it is. */
    static String describe(Value v) {
        if (v instanceof Run r) {
            return "computed at run time (shape " + (r.shape() == null ? "unknown" : r.shape()) + ")";
        }
        if (v instanceof ShapeVec s) {
            return "a shape with run-time entries " + SafeText.list(s.entries()); // may have as many entries as a Concat has inputs
        }
        if (v instanceof Filled f) {
            return "a tensor of run-time shape " + f.shape() + " filled with " + f.element().getFloat(0);
        }
        return v.getClass().getSimpleName();
    }
}
