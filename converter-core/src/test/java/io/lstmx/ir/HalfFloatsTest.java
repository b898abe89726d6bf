package io.lstmx.ir;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Float16 and bfloat16 conversions against an independent reference: the value of a 16-bit
 * pattern computed arithmetically from its fields (sign, exponent, mantissa; never by shifting it
 * into a float32 pattern), and rounding as "the nearest representable value, ties to the one
 * with an even mantissa, infinity from the largest finite value plus half an ulp on", found by
 * searching the sorted list of all finite values.
 */
class HalfFloatsTest {
    /** A 16-bit format: exponent and mantissa widths. */
    private enum Fmt {
        FLOAT16(5, 10, DType.FLOAT16), BFLOAT16(8, 7, DType.BFLOAT16);

        final int expBits;
        final int mantBits;
        final DType dtype;
        final int bias;
        /** Every non-negative finite value, ascending (index = bit pattern). */
        final double[] values;

        Fmt(int expBits, int mantBits, DType dtype) {
            this.expBits = expBits;
            this.mantBits = mantBits;
            this.dtype = dtype;
            this.bias = (1 << (expBits - 1)) - 1;
            int finite = ((1 << expBits) - 1) << mantBits; // patterns below the all-ones exponent
            values = new double[finite];
            for (int b = 0; b < finite; b++) {
                values[b] = value(b);
            }
        }

        /** The value of a pattern from its fields: (-1)^s 2^(e - bias) (1 + m / 2^M), subnormal 2^(1 - bias) m / 2^M. */
        double value(int bits) {
            int s = bits >>> (expBits + mantBits) & 1;
            int e = bits >>> mantBits & ((1 << expBits) - 1);
            int m = bits & ((1 << mantBits) - 1);
            double v;
            if (e == (1 << expBits) - 1) {
                v = m == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
            } else if (e == 0) {
                v = Math.scalb((double) m, 1 - bias - mantBits);
            } else {
                v = Math.scalb((double) ((1 << mantBits) + m), e - bias - mantBits);
            }
            return s == 1 ? -v : v;
        }

        int infinity() {
            return ((1 << expBits) - 1) << mantBits;
        }

        int signBit() {
            return 1 << (expBits + mantBits);
        }

        /** Largest finite value plus half its ulp: from here on, values round to infinity. */
        double overflow() {
            double max = values[values.length - 1];
            return max + (max - values[values.length - 2]) / 2;
        }

        /** The reference rounding of a finite float: nearest pattern, ties to even. */
        int round(float f) {
            double a = Math.abs((double) f);
            int sign = (Float.floatToRawIntBits(f) < 0) ? signBit() : 0;
            if (a >= overflow()) {
                return sign | infinity();
            }
            int i = Arrays.binarySearch(values, a);
            if (i >= 0) {
                return sign | i;
            }
            int hi = -i - 1;
            int lo = hi - 1;
            if (hi == values.length) {
                return sign | lo; // above the largest finite value, below the overflow point
            }
            double dl = a - values[lo];
            double dh = values[hi] - a;
            int pick = dl < dh ? lo : dh < dl ? hi : ((lo & 1) == 0 ? lo : hi);
            return sign | pick;
        }

        float widen(short bits) {
            return HalfFloats.toFloat(dtype, bits);
        }

        short narrow(float f) {
            return HalfFloats.fromFloat(dtype, f);
        }
    }

    @Test
    void widensEveryFloat16AndBfloat16PatternExactly() {
        for (Fmt fmt : Fmt.values()) {
            for (int b = 0; b < 1 << 16; b++) {
                double expected = fmt.value(b);
                float got = fmt.widen((short) b);
                if (Double.isNaN(expected)) {
                    assertTrue(Float.isNaN(got), fmt + " pattern " + Integer.toHexString(b) + " must widen to NaN");
                } else {
                    assertEquals(expected, (double) got, 0.0, fmt + " pattern " + Integer.toHexString(b));
                    // the sign of zero too
                    assertEquals(b >>> 15, Float.floatToRawIntBits(got) >>> 31, fmt + " sign of " + Integer.toHexString(b));
                }
            }
        }
    }

    @Test
    void narrowingRoundsEveryMidpointToEvenAndItsNeighboursToTheNearer() {
        // Every pair of adjacent finite values, positive and negative: the midpoint (exact in float32)
        // ties to the even pattern; one float ulp to either side goes to the nearer value.
        for (Fmt fmt : Fmt.values()) {
            for (int b = 0; b + 1 < fmt.values.length; b++) {
                float mid = (float) ((fmt.values[b] + fmt.values[b + 1]) / 2);
                assertEquals(fmt.values[b] + (fmt.values[b + 1] - fmt.values[b]) / 2, mid, 0.0, "midpoint exact in float32");
                int even = (b & 1) == 0 ? b : b + 1;
                for (int sign : new int[] {0, fmt.signBit()}) {
                    float m = sign == 0 ? mid : -mid;
                    check(fmt, m, sign | even);
                    check(fmt, Math.nextDown(mid) * (sign == 0 ? 1 : -1), sign | b);
                    check(fmt, Math.nextUp(mid) * (sign == 0 ? 1 : -1), sign | (b + 1));
                    check(fmt, (float) fmt.values[b] * (sign == 0 ? 1 : -1), sign | b);
                }
            }
        }
    }

    @Test
    void narrowingEdgeValues() {
        for (Fmt fmt : Fmt.values()) {
            double max = fmt.values[fmt.values.length - 1];
            double smallest = fmt.values[1];
            float[] edges = {
                0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE,
                (float) max, -(float) max, Math.nextDown((float) fmt.overflow()), (float) fmt.overflow(), -(float) fmt.overflow(),
                (float) smallest, (float) (smallest / 2), Math.nextUp((float) (smallest / 2)), (float) (smallest * 1.5),
                (float) (smallest * 2.5), 1f, -1f, 1f / 3, 65504f, 65519.996f, 65520f, 1e-8f, 3.0e38f,
            };
            for (float f : edges) {
                check(fmt, f, fmt.round(f));
            }
            assertEquals(fmt.infinity(), fmt.narrow(Float.POSITIVE_INFINITY) & 0xffff, fmt + " +inf");
            assertEquals(fmt.signBit() | fmt.infinity(), fmt.narrow(Float.NEGATIVE_INFINITY) & 0xffff, fmt + " -inf");
            for (float nan : new float[] {Float.NaN, -Float.NaN, Float.intBitsToFloat(0x7f800001), Float.intBitsToFloat(0xff800001),
                    Float.intBitsToFloat(0x7fc00000), Float.intBitsToFloat(0x7f80_2000)}) {
                short h = fmt.narrow(nan);
                assertTrue(Float.isNaN(fmt.widen(h)), fmt + " NaN " + Integer.toHexString(Float.floatToRawIntBits(nan)) + " stays NaN");
                assertEquals(Float.floatToRawIntBits(nan) >>> 31, (h & 0xffff) >>> 15, fmt + " NaN keeps its sign");
            }
        }
        // the values the specification names
        assertEquals(0x7bff, HalfFloats.floatToFloat16(65504f) & 0xffff, "float16 max");
        assertEquals(0x7c00, HalfFloats.floatToFloat16(65520f) & 0xffff, "float16 65520 overflows");
        assertEquals(0x0001, HalfFloats.floatToFloat16(0x1p-24f) & 0xffff, "float16 smallest subnormal");
        assertEquals(0x0000, HalfFloats.floatToFloat16(0x1p-25f) & 0xffff, "float16 half the smallest subnormal ties to 0");
        assertEquals(0x0400, HalfFloats.floatToFloat16(0x1p-14f) & 0xffff, "float16 smallest normal");
        assertEquals(0x7f7f, HalfFloats.floatToBfloat16(Float.intBitsToFloat(0x7f7f7fff)) & 0xffff, "bfloat16 max");
        assertEquals(0x7f80, HalfFloats.floatToBfloat16(Float.MAX_VALUE) & 0xffff, "bfloat16 overflow");
        assertEquals(0x0000, HalfFloats.floatToBfloat16(Float.intBitsToFloat(0x00008000)) & 0xffff, "bfloat16 tie between 0 and 1 goes to 0 (even)");
        assertEquals(0x0002, HalfFloats.floatToBfloat16(Float.intBitsToFloat(0x00018000)) & 0xffff, "bfloat16 tie between 1 and 2 goes to 2 (even)");
    }

    @Test
    void narrowingMatchesTheReferenceOnRandomFloats() {
        Random rnd = new Random(20240613);
        for (Fmt fmt : Fmt.values()) {
            for (int k = 0; k < 1_000_000; k++) {
                // random bit patterns cover every exponent; scaled Gaussians the values weights have
                float f = k % 2 == 0 ? Float.intBitsToFloat(rnd.nextInt()) : (float) (rnd.nextGaussian() * Math.scalb(1.0, rnd.nextInt(40) - 30));
                if (Float.isNaN(f)) {
                    continue;
                }
                check(fmt, f, fmt.round(f));
            }
        }
    }

    @Test
    void tensorsHoldHalfPrecisionAndConvertBothWays() {
        float[] v = {1f / 3, -2.5f, 65504f, 1e-7f, Float.POSITIVE_INFINITY, -0f};
        Tensor t = Tensor.ofFloats(new int[] {2, 3}, v);
        for (Fmt fmt : Fmt.values()) {
            Tensor h = t.withDType(fmt.dtype);
            assertEquals(fmt.dtype, h.dtype());
            assertArrayEquals(new int[] {2, 3}, h.shape());
            assertEquals(6, h.size());
            short[] bits = h.toHalfBits();
            float[] widened = h.toFloatArray();
            float[] copied = new float[7];
            h.copyFloatsTo(copied, 1);
            for (int i = 0; i < v.length; i++) {
                assertEquals(fmt.round(v[i]), bits[i] & 0xffff, fmt + " element " + i);
                assertEquals(fmt.value(bits[i] & 0xffff), (double) widened[i], 0.0, fmt + " element " + i);
                assertEquals(widened[i], h.getFloat(i), 0f);
                assertEquals(widened[i], copied[i + 1], 0f);
            }
            Tensor back = h.withDType(DType.FLOAT32);
            assertEquals(DType.FLOAT32, back.dtype());
            assertArrayEquals(widened, back.toFloatArray());
            // widening then narrowing gives the same bits back
            assertTrue(back.withDType(fmt.dtype).bitEquals(h), fmt + " round trip");
            assertTrue(Tensor.ofHalfBits(fmt.dtype, new int[] {2, 3}, bits).bitEquals(h));
            assertEquals(h, h.reshape(3, 2).reshape(2, 3));
        }
        assertTrue(!t.withDType(DType.FLOAT16).bitEquals(t.withDType(DType.BFLOAT16)), "the dtype is part of the value");
    }

    private static void check(Fmt fmt, float f, int expected) {
        int got = fmt.narrow(f) & 0xffff;
        if (got != expected) {
            fail(fmt + ": " + f + " (0x" + Integer.toHexString(Float.floatToRawIntBits(f)) + ") narrowed to 0x" + Integer.toHexString(got)
                    + ", expected 0x" + Integer.toHexString(expected));
        }
    }
}
