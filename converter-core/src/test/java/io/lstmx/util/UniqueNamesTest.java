package io.lstmx.util;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UniqueNamesTest {
    @Test
    void aFreeBaseIsUsedAsItIs() {
        assertEquals("lstm/constant", new UniqueNames().fresh("lstm/constant"));
    }

    @Test
    void takenNamesGetTheFirstFreeNumberFromTwo() {
        UniqueNames n = new UniqueNames(List.of("y", "y_2"));
        assertEquals("y_3", n.fresh("y"));
        assertEquals("y_4", n.fresh("y"));
        assertEquals("z", n.fresh("z"));
        assertEquals("z_2", n.fresh("z"));
    }

    @Test
    void aNamespaceNumberedFromOneGivesBaseUnderscoreOneNext() {
        UniqueNames n = UniqueNames.numberedFrom(1);
        n.reserve("Identity_2");
        assertEquals("Identity", n.fresh("Identity"));
        assertEquals("Identity_1", n.fresh("Identity"));
        assertEquals("Identity_3", n.fresh("Identity"));
    }

    @Test
    void reservingSaysWhetherTheNameWasFree() {
        UniqueNames n = new UniqueNames();
        assertTrue(n.reserve("a"));
        assertFalse(n.reserve("a"));
        assertTrue(n.isTaken("a"));
        assertFalse(n.isTaken("b"));
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 10, unit = java.util.concurrent.TimeUnit.SECONDS)
    void aHundredThousandNamesFromOneBaseCostLinearTime() {
        UniqueNames u = new UniqueNames();
        u.reserve("y_5");
        String last = null;
        for (int i = 0; i < 100_000; i++) {
            last = u.fresh("y");
        }
        // y, y_2, y_3, y_4, y_6 (y_5 was taken) ... : 100,000 names end at y_100001.
        assertEquals("y_100001", last);
    }
}
