package io.lstmx.ir;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Expected values worked out by hand from the ONNX Slice specification: negative start/end add the
 * axis size; then a positive step clamps start and end to [0, dim] and keeps ceil((end - start) / step)
 * elements; a negative step clamps start to [0, dim - 1], end to [-1, dim - 1] and keeps
 * ceil((start - end) / -step) elements.
 */
class SliceRangeTest {
    private static final long MAX = Long.MAX_VALUE;
    private static final long MIN = Long.MIN_VALUE;

    @Test
    void ordinarySlices() {
        assertEquals(new SliceRange(1, 2, 2), SliceRange.of(5, 1, 5, 2));       // 1, 3
        assertEquals(new SliceRange(4, -2, 3), SliceRange.of(5, -1, MIN, -2)); // 4, 2, 0
        assertEquals(new SliceRange(3, MAX, 0), SliceRange.of(5, 3, 3, MAX));    // empty
        assertEquals(new SliceRange(0, 1, 5), SliceRange.of(5, MIN, MAX, 1));  // start MIN + 5 < 0 -> 0
        assertEquals(new SliceRange(4, -1, 5), SliceRange.of(5, MAX, MIN, -1)); // start -> 4, end MIN + 5 -> -1
    }

    @Test
    void extremeStepsKeepOneElementWithoutOverflow() {
        // ceil(5 / MAX) = 1: the old (end - start + step - 1) / step overflowed here
        assertEquals(new SliceRange(0, MAX, 1), SliceRange.of(5, 0, MAX, MAX));
        // start 4, end MIN + 5 -> -1: ceil(5 / 2^63) = 1; the old -step overflowed for MIN
        assertEquals(new SliceRange(4, MIN, 1), SliceRange.of(5, 4, MIN, MIN));
        assertEquals(new SliceRange(2, MIN, 1), SliceRange.of(5, -3, -4, MIN)); // start 2, end 1
        assertEquals(new SliceRange(0, MAX, 1), SliceRange.of(MAX, 0, MAX, MAX));
        // dim MAX: start -1 -> MAX - 1, end MIN + MAX = -1 -> -1: distance MAX, ceil(MAX / 2^63) = 1
        assertEquals(new SliceRange(MAX - 1, MIN, 1), SliceRange.of(MAX, -1, MIN, MIN));
    }

    @Test
    void hugeAxes() {
        // ceil((2^63 - 1) / 2) = 2^62
        assertEquals(new SliceRange(0, 2, 1L << 62), SliceRange.of(MAX, 0, MAX, 2));
        // start MAX -> MAX - 1, end -> -1: MAX elements with step -1; with step -3 ceil(MAX / 3) = 3074457345618258603
        assertEquals(new SliceRange(MAX - 1, -1, MAX), SliceRange.of(MAX, MAX, MIN, -1));
        assertEquals(new SliceRange(MAX - 1, -3, 3074457345618258603L), SliceRange.of(MAX, MAX, MIN, -3));
    }

    @Test
    void emptyAxesAndZeroStep() {
        assertEquals(0, SliceRange.of(0, 0, MAX, -1).count());
        assertEquals(0, SliceRange.of(0, MIN, MAX, MAX).count());
        assertEquals(0, SliceRange.of(0, MAX, MIN, MIN).count());
        LstmxException e = assertThrows(LstmxException.class, () -> SliceRange.of(5, 0, 5, 0));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
    }
}
