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
    void reservingSaysWhetherTheNameWasFree() {
        UniqueNames n = new UniqueNames();
        assertTrue(n.reserve("a"));
        assertFalse(n.reserve("a"));
        assertTrue(n.isTaken("a"));
        assertFalse(n.isTaken("b"));
    }
}
