package io.lstmx.importers.keras;

import io.lstmx.ir.DType;

import java.util.Arrays;

/**
 * A Keras tensor as an IR value.
 *
 * @param name     the IR value
 * @param shape    Keras' shape, batch axis first, -1 where unknown
 * @param dtype    element type
 * @param mask     the Keras mask this tensor carries (made by Embedding mask_zero=True or Masking, kept by
 *                 the layers that support masking): the IR value of a float [batch, time] mask, or null
 */
record KValue(String name, long[] shape, DType dtype, String mask) {
    KValue {
        shape = shape.clone();
    }

    int rank() {
        return shape.length;
    }

    /** Size of the last axis, or -1 when unknown. */
    long last() {
        return shape.length == 0 ? -1 : shape[shape.length - 1];
    }

    KValue withName(String n) {
        return new KValue(n, shape, dtype, mask);
    }

    KValue withShape(long... s) {
        return new KValue(name, s, dtype, mask);
    }

    KValue withoutMask() {
        return new KValue(name, shape, dtype, null);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    String shapeText() {
        return Arrays.toString(shape).replace("-1", "None");
    }
}
