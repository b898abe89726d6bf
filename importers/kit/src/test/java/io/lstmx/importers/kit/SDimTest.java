package io.lstmx.importers.kit;

import io.lstmx.ir.Dim;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SDimTest {
    @Test
    void aKnownSizeIsOnlyItself() {
        SDim d = SDim.known(4);
        assertTrue(d.isKnown());
        assertTrue(d.is(4));
        assertFalse(d.is(5));
        assertEquals(Dim.of(4), d.toIr());
        assertEquals("4", d.toString());
    }

    @Test
    void aNamedSymbolIsNoSizeAndKeepsItsNameInTheIr() {
        SDim d = SDim.symbolic("batch");
        assertFalse(d.isKnown());
        assertFalse(d.is(-1), "a symbol's value field is no size");
        assertEquals(Dim.of("batch"), d.toIr());
        assertEquals(SDim.symbolic("batch"), d, "the same symbol is the same dimension");
    }

    @Test
    void anonymousSymbolsDifferByNumberAndBecomeUnnamedIrDimensions() {
        assertNotEquals(SDim.anonymous(1), SDim.anonymous(2));
        assertEquals(SDim.anonymous(3), SDim.anonymous(3));
        assertEquals(Dim.of(""), SDim.anonymous(1).toIr());
        assertEquals("?", SDim.anonymous(7).toString());
    }
}
