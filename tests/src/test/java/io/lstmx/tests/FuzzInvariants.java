package io.lstmx.tests;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What every fuzzed input must satisfy, shared by the fuzz tests and the plain tests replaying their
 * findings. A violation is thrown (an {@link AssertionError}); anything a reader throws that is not
 * an {@link LstmxException} is left to propagate. Jazzer records both as findings, saves the input
 * and stops; in regression mode JUnit reports them as failures.
 * <p>
 * Time is bounded outside: {@code @Timeout} on each fuzz test (JUnit in regression mode, libFuzzer's
 * -timeout when fuzzing). Memory is bounded twice: the fuzz JVMs run with a small heap (-Xmx512m in
 * tests/pom.xml), so a blow-up is an OutOfMemoryError, and each input's allocation is counted here,
 * so that even a large allocation the heap survived is caught.
 */
final class FuzzInvariants {
    /** Far above what any seed needs (a few MiB), far below what a missed size check allocates. */
    static final long ALLOCATION_BUDGET = 256L << 20;

    private FuzzInvariants() {
    }

    /**
     * A refusal must be BAD_INPUT or UNSUPPORTED (an INTERNAL error is a bug by definition) with a
     * one-line message, since the CLI prints the message as is; {@code mustName}, when not null,
     * must appear in it so that the user learns which file is at fault.
     */
    static void cleanRefusal(LstmxException e, String stage, String mustName) {
        String m = String.valueOf(e.getMessage());
        if (e.code() != ErrorCode.BAD_INPUT && e.code() != ErrorCode.UNSUPPORTED) {
            throw new AssertionError(stage + " refused with " + e.code() + ", not BAD_INPUT or UNSUPPORTED: " + m, e);
        }
        if (m.contains("\n") || m.contains("\r")) {
            throw new AssertionError(stage + " refused with a message of several lines: " + m, e);
        }
        if (mustName != null && !m.contains(mustName)) {
            throw new AssertionError(stage + " refused without naming " + mustName + ": " + m, e);
        }
    }

    /**
     * Whether this JVM fuzzes (JAZZER_FUZZ set, as Jazzer reads it) rather than replays. Seeds built
     * in Java ({@code @MethodSource}) are offered only then: JUnit consumes such a source before
     * Jazzer's own, so in regression mode the first seed's invocation would also carry Jazzer's
     * agent installation (seconds, more on a busy machine) under the 10 s per-input timeout.
     */
    static boolean fuzzing() {
        String v = System.getProperty("JAZZER_FUZZ", System.getenv("JAZZER_FUZZ"));
        return v != null && (v.equals("1") || v.equalsIgnoreCase("true") || v.equalsIgnoreCase("yes"));
    }

    /** Bytes allocated so far by the calling thread, or -1 where the JVM cannot tell. */
    static long allocatedBytes() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean b) {
            return b.getCurrentThreadAllocatedBytes();
        }
        return -1;
    }

    /** Fails when the calling thread allocated more than the budget since {@code before}. */
    static void withinAllocationBudget(long before, String stage) {
        long used = allocatedBytes() - before;
        if (before >= 0 && used > ALLOCATION_BUDGET) {
            throw new AssertionError(stage + " allocated " + (used >> 20) + " MiB, more than the budget of "
                    + (ALLOCATION_BUDGET >> 20) + " MiB");
        }
    }

    /**
     * Outcomes over one JVM's inputs, printed when the fuzz test ends and checked to hold both
     * accepted and refused inputs: a harness broken into refusing everything (a file written
     * wrong, say) or into accepting everything would otherwise pass every run while testing
     * nothing past the first check. Jazzer's own statistics count executions, not outcomes.
     */
    static final class Tally {
        private final String name;
        final AtomicLong inputs = new AtomicLong();
        final AtomicLong refused = new AtomicLong();
        final AtomicLong accepted = new AtomicLong();
        /** Accepted inputs that went further (for a model: compiled and ran); the meaning is the caller's. */
        final AtomicLong further = new AtomicLong();
        private final String furtherMeans;

        Tally(String name, String furtherMeans) {
            this.name = name;
            this.furtherMeans = furtherMeans;
        }

        void report() {
            System.out.printf("%s: %d inputs, %d refused with an LstmxException, %d accepted, %d %s%n",
                    name, inputs.get(), refused.get(), accepted.get(), further.get(), furtherMeans);
            if (accepted.get() == 0 || refused.get() == 0) {
                throw new AssertionError(name + ": of " + inputs.get() + " inputs " + accepted.get() + " were accepted and "
                        + refused.get() + " refused; a working harness sees both (the seeds alone hold both)");
            }
        }
    }
}
