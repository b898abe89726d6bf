package io.lstmx.benchmarks;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The side-by-side tool's timing of one row: every engine is warmed up, then sampled in rounds
 * that alternate between the engines, and an engine that fails is reported without stopping the
 * others.
 */
class SideBySideTimingTest {
    /** A stand-in engine: busy for about {@code micros} per call, noting its name in {@code trace}. */
    private static SideBySide.Runner engine(String name, long micros, List<String> trace, int failAfter) {
        int[] calls = {0};
        return () -> {
            if (failAfter > 0 && ++calls[0] > failAfter) {
                throw new IllegalStateException(name + " broke");
            }
            long end = System.nanoTime() + micros * 1000;
            while (System.nanoTime() < end) {
                Thread.onSpinWait();
            }
            trace.add(name);
            return new float[] {1f};
        };
    }

    @Test
    void enginesAreSampledInAlternatingRoundsAndAFailureIsReportedWithoutStoppingTheOthers() {
        List<String> trace = Collections.synchronizedList(new ArrayList<>());
        SideBySide.Timed a = new SideBySide.Timed("a", engine("a", 200, trace, 0), 0, 30);
        SideBySide.Timed b = new SideBySide.Timed("b", engine("b", 400, trace, 0), 0, 30);
        SideBySide.Timed c = new SideBySide.Timed("c", engine("c", 200, trace, 20), 0, 30);
        SideBySide.timeRow(List.of(a, b, c), 30, 1);

        for (SideBySide.Timed t : List.of(a, b)) {
            assertNull(t.failure, t.name);
            assertEquals(30, t.n, t.name + ": samples");
            SideBySide.Timing tm = t.timing();
            assertTrue(tm.p10() <= tm.median() && tm.median() <= tm.p90(), t.name + ": " + tm);
            assertTrue(t.warmSeconds >= 1.5, t.name + " warmed up for " + t.warmSeconds + " s");
            assertTrue(t.callsPerSample >= 1, t.name + ": calls per sample " + t.callsPerSample);
        }
        assertNotNull(c.failure);
        assertTrue(c.failure.contains("IllegalStateException: c broke"), c.failure);

        // After the warm-ups (a, then b, then c's 20 calls), the rounds alternate: a's and b's calls come in ROUNDS runs each.
        List<String> rounds = new ArrayList<>(trace.subList(trace.lastIndexOf("c") + 1, trace.size()));
        int switches = 0;
        for (int i = 1; i < rounds.size(); i++) {
            if (!rounds.get(i).equals(rounds.get(i - 1))) {
                switches++;
            }
        }
        assertEquals("a", rounds.get(0));
        assertEquals(2 * SideBySide.ROUNDS - 1, switches, "a, b, a, b, ... one run of each per round");
    }
}
