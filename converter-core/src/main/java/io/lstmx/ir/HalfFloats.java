package io.lstmx.ir;

/**
 * Conversions between float32 and the two 16-bit storage types ({@link DType#FLOAT16},
 * {@link DType#BFLOAT16}), on raw bit patterns. Widening is exact (every 16-bit value is a float32
 * value, subnormals included). Narrowing rounds to nearest, ties to even (IEEE 754's default):
 * a value at or beyond the largest finite value plus half an ulp becomes infinity, a value below
 * half the smallest subnormal becomes a zero of the same sign, infinities stay infinite and NaN
 * stays NaN (made quiet, sign and leading payload bits kept).
 */
public final class HalfFloats {
    private HalfFloats() {
    }

    /** binary16 bits to float32, exactly. */
    public static float float16ToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            // subnormal (or zero): mant units of 2^-24, exact in float32
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        // rebias the exponent from 15 to 127
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** float32 to binary16 bits, rounding to nearest even. */
    public static short floatToFloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) {
            if (abs == 0x7f800000) {
                return (short) (sign | 0x7c00);
            }
            return (short) (sign | 0x7e00 | ((abs >>> 13) & 0x3ff)); // quiet NaN, leading payload kept
        }
        if (abs >= 0x477ff000) {
            // 65520 = 65504 + half an ulp and beyond: infinity (ties to even would round up too)
            return (short) (sign | 0x7c00);
        }
        int exp = abs >>> 23;
        if (exp >= 113) {
            // a normal half (value >= 2^-14): rebias, keep 10 mantissa bits, round on the 13 dropped;
            // a carry out of the mantissa correctly bumps the exponent
            int h = ((exp - 112) << 10) | ((abs >>> 13) & 0x3ff);
            int rest = abs & 0x1fff;
            if (rest > 0x1000 || (rest == 0x1000 && (h & 1) != 0)) {
                h++;
            }
            return (short) (sign | h);
        }
        if (exp < 102) {
            // below 2^-25 (half the smallest subnormal): a signed zero
            return (short) sign;
        }
        // a subnormal half: the value in units of 2^-24, rounded (2^-14 after a carry is the smallest normal)
        int m = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - exp;
        int q = m >>> shift;
        int rest = m & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rest > half || (rest == half && (q & 1) != 0)) {
            q++;
        }
        return (short) (sign | q);
    }

    /** bfloat16 bits to float32, exactly (they are float32's upper 16 bits). */
    public static float bfloat16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    /** float32 to bfloat16 bits, rounding to nearest even. */
    public static short floatToBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            // NaN: truncating could clear every payload bit left (giving infinity), so set the quiet bit
            return (short) ((bits >>> 16) | 0x40);
        }
        // add just under half of the dropped range, plus one when the kept part is odd: ties go to even;
        // a carry runs into the exponent (and from the largest values to infinity) as it should
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    /** Widens 16-bit values of {@code type} ({@link DType#FLOAT16} or {@link DType#BFLOAT16}) to float32. */
    public static float toFloat(DType type, short bits) {
        return type == DType.FLOAT16 ? float16ToFloat(bits) : bfloat16ToFloat(bits);
    }

    /** Narrows to 16-bit values of {@code type} ({@link DType#FLOAT16} or {@link DType#BFLOAT16}). */
    public static short fromFloat(DType type, float f) {
        return type == DType.FLOAT16 ? floatToFloat16(f) : floatToBfloat16(f);
    }
}
