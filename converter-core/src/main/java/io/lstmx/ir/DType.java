package io.lstmx.ir;

/**
 * Element types of IR values and tensors. Floating tensors are held as float32, or as IEEE 754
 * binary16 ({@link #FLOAT16}) or bfloat16 ({@link #BFLOAT16}) when weights are stored in half
 * precision; integer tensors are held as int64 whatever their declared width, which is kept so that
 * exporters can write the declared type back (ONNX wants int32 sequence lengths).
 *
 * <p>Half precision is a storage type only: every computation is float32. A layer holding half
 * weights computes with them widened (exactly: every half value is a float32 value), so values
 * computed at run time are {@link #FLOAT32}; model inputs and outputs are never half (shape
 * inference refuses them with UNSUPPORTED).
 */
public enum DType {
    FLOAT32, INT32, INT64,
    /** IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa bits (max 65504, subnormals down to 2^-24). */
    FLOAT16,
    /** bfloat16: the upper 16 bits of a float32 (1 sign, 8 exponent, 7 mantissa bits). */
    BFLOAT16;

    public boolean isFloating() {
        return this == FLOAT32 || this == FLOAT16 || this == BFLOAT16;
    }

    /** Whether this is a 16-bit storage type ({@link #FLOAT16} or {@link #BFLOAT16}). */
    public boolean isHalf() {
        return this == FLOAT16 || this == BFLOAT16;
    }

    /** The type values of this storage type are computed in: FLOAT32 for every floating type, else itself. */
    public DType computeType() {
        return isFloating() ? FLOAT32 : this;
    }
}
