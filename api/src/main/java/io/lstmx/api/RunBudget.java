package io.lstmx.api;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Model;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.ValueInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What a run may cost, checked before anything is allocated: a model whose declared or given input
 * shapes imply a value of more than {@link #maxElements()} elements (a fixed sequence length of
 * 2&middot;10^8, a batch of 5&middot;10^8, a dimension of 2^40) is refused with UNSUPPORTED naming
 * the value, its shape and the option that raises the budget, and one whose values cannot fit the
 * Java heap is refused with the {@code -Xmx} hint. Sizes are multiplied with overflow checks: a
 * product past 2^63 is refused, never wrapped.
 */
public final class RunBudget {
    /** System property that sets the budget for library users (the command has --max-elements). */
    public static final String PROPERTY = "lstmx.maxElements";
    /** Default budget: 2^28 elements, 1 GiB of float32, in any one value. */
    public static final long DEFAULT_MAX_ELEMENTS = 1L << 28;

    private RunBudget() {
    }

    /**
     * The budget in force: the system property {@value #PROPERTY} when set to a positive number,
     * else {@link #DEFAULT_MAX_ELEMENTS}.
     *
     * @return elements allowed in one value
     */
    public static long maxElements() {
        Long v = Long.getLong(PROPERTY);
        return v != null && v > 0 ? v : DEFAULT_MAX_ELEMENTS;
    }

    /**
     * The number of elements of {@code shape}, or UNSUPPORTED when it exceeds {@code maxElements}
     * (BAD_INPUT for a negative size).
     *
     * @param shape       the sizes
     * @param what        what has the shape, for the message, e.g. "input 'x'"
     * @param maxElements the budget
     * @param raise       how the user raises the budget, e.g. "--max-elements"
     * @return the element count
     */
    public static long elements(long[] shape, String what, long maxElements, String raise) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw LstmxException.badInput(what + " has a negative size in shape " + Arrays.toString(shape));
            }
            if (d > Integer.MAX_VALUE) {
                throw LstmxException.unsupported(what + " would have shape " + Arrays.toString(shape) + ": a size of " + d
                        + " exceeds the 2^31-1 one axis can hold");
            }
            if (d != 0 && n > Long.MAX_VALUE / d) {
                n = Long.MAX_VALUE; // saturate: certainly over any budget
            } else {
                n *= d;
            }
        }
        if (n > maxElements) {
            throw LstmxException.unsupported(what + " would have shape " + Arrays.toString(shape) + ", "
                    + (n == Long.MAX_VALUE ? "more than 2^63" : Long.toString(n)) + " elements, over the budget of " + maxElements
                    + " elements per value; raise it with " + raise + " if that is really meant");
        }
        return n;
    }

    /**
     * Checks, before any input is made or the model runs, that running {@code model} on inputs of
     * the given shapes creates no value over {@code maxElements} and that all of its values
     * together fit the Java heap.
     *
     * @param model       the model
     * @param inputShapes the shape of every model input
     * @param maxElements the budget per value
     * @param raise       how the user raises the budget, e.g. "--max-elements"
     */
    public static void check(Model model, Map<String, long[]> inputShapes, long maxElements, String raise) {
        List<ValueInfo> inputs = new ArrayList<>();
        for (ValueInfo v : model.inputs()) {
            long[] s = inputShapes.get(v.name());
            if (s == null) {
                inputs.add(v);
                continue;
            }
            elements(s, "input '" + v.name() + "'", maxElements, raise);
            Object[] dims = new Object[s.length];
            for (int i = 0; i < s.length; i++) {
                dims[i] = s[i];
            }
            inputs.add(new ValueInfo(v.name(), v.dtype(), Shape.of(dims)));
        }
        Map<String, ValueInfo> all;
        try {
            all = ShapeInference.infer(new Model(model.name(), model.info(), inputs, model.outputs(), model.layers()));
        } catch (LstmxException e) {
            return; // inputs the model does not accept: the runtime's own check names what is wrong
        }
        double bytes = 0;
        for (ValueInfo v : all.values()) {
            if (!v.shape().rankKnown()) {
                continue;
            }
            long[] s = new long[v.shape().rank()];
            boolean known = true;
            for (int i = 0; i < s.length; i++) {
                Dim d = v.shape().dim(i);
                if (d instanceof Dim.Fixed f) {
                    s[i] = f.size();
                } else {
                    known = false;
                }
            }
            if (known) {
                bytes += 4.0 * elements(s, "value '" + v.name() + "'", maxElements, raise);
            }
        }
        io.lstmx.util.Heap.require((long) Math.min(bytes, Long.MAX_VALUE), "running model '" + model.name() + "' on these shapes");
    }
}
