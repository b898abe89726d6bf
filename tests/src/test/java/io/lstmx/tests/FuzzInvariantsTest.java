package io.lstmx.tests;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fuzz tests find only what {@link FuzzInvariants} calls a finding: a check that let everything
 * through would turn every fuzz run green. These pin down each check on inputs made to break it.
 */
class FuzzInvariantsTest {
    /** Keeps the allocations below reachable, so that no compiler can drop them. */
    private static volatile Object sink;

    @Test
    void aOneLineBadInputOrUnsupportedRefusalNamingTheFileIsClean() {
        assertDoesNotThrow(() -> FuzzInvariants.cleanRefusal(LstmxException.badInput("/m.onnx: truncated"), "read", "/m.onnx"));
        assertDoesNotThrow(() -> FuzzInvariants.cleanRefusal(LstmxException.unsupported("/m.onnx: op Foo"), "read", "/m.onnx"));
    }

    @Test
    void anInternalErrorIsAFinding() {
        assertThrows(AssertionError.class, () -> FuzzInvariants.cleanRefusal(LstmxException.internal("/m.onnx: bug"), "read", "/m.onnx"));
    }

    @Test
    void aMessageOfSeveralLinesIsAFinding() {
        // LstmxException folds its message onto one line; a subclass (or a change to that) could not.
        LstmxException twoLines = new LstmxException(ErrorCode.BAD_INPUT, "/m.onnx: a") {
            @Override
            public String getMessage() {
                return "/m.onnx: a\nb";
            }
        };
        assertThrows(AssertionError.class, () -> FuzzInvariants.cleanRefusal(twoLines, "read", "/m.onnx"));
    }

    @Test
    void aMessageThatDoesNotNameTheFileIsAFinding() {
        assertThrows(AssertionError.class, () -> FuzzInvariants.cleanRefusal(LstmxException.badInput("truncated"), "read", "/m.onnx"));
    }

    @Test
    void allocatingMoreThanTheBudgetIsAFinding() {
        long before = FuzzInvariants.allocatedBytes();
        assertTrue(before >= 0, "this JVM does not count allocations per thread, so the budget is never checked");
        for (long done = 0; done <= FuzzInvariants.ALLOCATION_BUDGET; done += 1 << 20) {
            sink = new byte[1 << 20];
        }
        assertThrows(AssertionError.class, () -> FuzzInvariants.withinAllocationBudget(before, "read"));
        assertDoesNotThrow(() -> FuzzInvariants.withinAllocationBudget(FuzzInvariants.allocatedBytes(), "read"));
    }

    @Test
    void aTallyWithoutAcceptedOrWithoutRefusedInputsFails() {
        FuzzInvariants.Tally onlyRefused = new FuzzInvariants.Tally("t", "ran");
        onlyRefused.inputs.set(3);
        onlyRefused.refused.set(3);
        assertThrows(AssertionError.class, onlyRefused::report);
        FuzzInvariants.Tally onlyAccepted = new FuzzInvariants.Tally("t", "ran");
        onlyAccepted.inputs.set(3);
        onlyAccepted.accepted.set(3);
        assertThrows(AssertionError.class, onlyAccepted::report);
        onlyAccepted.refused.set(1);
        assertDoesNotThrow(onlyAccepted::report);
    }

    @Test
    void theNpyFuzzTestSkipsOnlyFilesEndingInsideTheHeaderLength() {
        byte[] v1 = NpyReaderFuzzTest.npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]);
        byte[] v2 = NpyReaderFuzzTest.npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]);
        assertFalse(NpyReaderFuzzTest.endsInsideTheHeaderLength(v1));
        assertFalse(NpyReaderFuzzTest.endsInsideTheHeaderLength(v2));
        assertFalse(NpyReaderFuzzTest.endsInsideTheHeaderLength(java.util.Arrays.copyOf(v1, 10)));
        assertFalse(NpyReaderFuzzTest.endsInsideTheHeaderLength(java.util.Arrays.copyOf(v2, 12)));
        assertFalse(NpyReaderFuzzTest.endsInsideTheHeaderLength(java.util.Arrays.copyOf(v1, 7)));
        assertTrue(NpyReaderFuzzTest.endsInsideTheHeaderLength(java.util.Arrays.copyOf(v1, 9)));
        assertTrue(NpyReaderFuzzTest.endsInsideTheHeaderLength(java.util.Arrays.copyOf(v2, 11)));
    }
}
