package io.lstmx.util;

import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FailuresTest {
    @Test
    void noFailureReturns() {
        assertDoesNotThrow(() -> Failures.rethrow(null, "unused"));
    }

    @Test
    void uncheckedFailuresAreRethrownAsTheyWere() {
        IllegalArgumentException iae = new IllegalArgumentException("bad size");
        assertSame(iae, assertThrows(IllegalArgumentException.class, () -> Failures.rethrow(iae, "m")));
        OutOfMemoryError oom = new OutOfMemoryError("heap");
        assertSame(oom, assertThrows(OutOfMemoryError.class, () -> Failures.rethrow(oom, "m")));
    }

    @Test
    void checkedFailuresAreWrappedWithTheMessageAndTheCause() {
        IOException io = new IOException("disk");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Failures.rethrow(io, "the environment could not be created"));
        assertEquals("the environment could not be created", e.getMessage());
        assertSame(io, e.getCause());
        IllegalStateException plain = assertThrows(IllegalStateException.class, () -> Failures.rethrow(io, null));
        assertSame(io, plain.getCause());
    }
}
