package io.lstmx.ir;

import java.util.Objects;

/** A named graph input or output with its element type and declared shape. */
public record ValueInfo(String name, DType dtype, Shape shape) {
    public ValueInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
    }
}
