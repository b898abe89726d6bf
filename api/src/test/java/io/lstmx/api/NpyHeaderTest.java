package io.lstmx.api;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Headers as NumPy writes them (numpy.lib.format), and as it would accept them, and hostile ones. */
class NpyHeaderTest {
    private static NpyHeader parse(String s) {
        return NpyHeader.parse(s, "x.npy");
    }

    private static LstmxException refused(String s) {
        LstmxException e = assertThrows(LstmxException.class, () -> parse(s));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertTrue(e.getMessage().startsWith("x.npy: bad .npy header: "), e.getMessage());
        return e;
    }

    @Test
    void readsTheHeaderNumpyWrites() {
        NpyHeader h = parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 2), }" + " ".repeat(40) + "\n");
        assertEquals("<f4", h.descr());
        assertFalse(h.fortranOrder());
        assertArrayEquals(new long[] {3, 1, 2}, h.shape());
    }

    @Test
    void readsScalarsAndOneDimensionalShapes() {
        assertArrayEquals(new long[] {}, parse("{'descr': '<i8', 'fortran_order': False, 'shape': ()}").shape());
        assertArrayEquals(new long[] {5}, parse("{'descr': '<i8', 'fortran_order': False, 'shape': (5,)}").shape());
    }

    @Test
    void acceptsDoubleQuotesAnyKeyOrderTrailingCommasAndPythonTwoLongs() {
        NpyHeader h = parse("{\"shape\": (2L, 3L,), \"fortran_order\": True, \"descr\": \"|u1\",}");
        assertEquals("|u1", h.descr());
        assertTrue(h.fortranOrder());
        assertArrayEquals(new long[] {2, 3}, h.shape());
    }

    @Test
    void aStructuredDtypeIsRefusedEvenWhenAFieldNameImitatesAPlainHeader() {
        // NumPy-valid: one record field whose *name* contains a decoy plain header.
        String decoy = "{'descr': [(\"'descr': '<f4', 'fortran_order': False, 'shape': (3, 1, 2)\", '<f8')], "
                + "'fortran_order': False, 'shape': (4,), }";
        LstmxException e = refused(decoy);
        assertTrue(e.getMessage().contains("structured dtype"), e.getMessage());
    }

    @Test
    void missingExtraAndMistypedKeysAreNamed() {
        assertTrue(refused("{'descr': '<f4', 'shape': (1,)}").getMessage().contains("no 'fortran_order'"));
        assertTrue(refused("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}").getMessage().contains("unexpected key 'x'"));
        assertTrue(refused("{'descr': 4, 'fortran_order': False, 'shape': (1,)}").getMessage().contains("'descr' must be"));
        assertTrue(refused("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}").getMessage().contains("True or False"));
        assertTrue(refused("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}").getMessage().contains("tuple"));
        assertTrue(refused("{'descr': '<f4', 'fortran_order': False, 'shape': (3)}").getMessage().contains("tuple"), "(3) is 3, not a tuple");
        assertTrue(refused("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}").getMessage().contains(">= 0"));
        assertTrue(refused("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}").getMessage().contains("out of range"));
    }

    @Test
    void brokenLiteralsAreRefusedWithAPosition() {
        for (String s : new String[] {"", "{", "{'descr' '<f4'}", "{'descr': '<f4", "[1, 2]", "{'descr': os.system}",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} trailing", "{'a': 1.5}"}) {
            refused(s);
        }
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void aMegabyteOfRepeatedKeysIsRefusedQuickly() {
        String hostile = "{'descr': '<f4', 'fortran_order': False, " + "'shape': (".repeat(100_000);
        refused(hostile); // too long (NumPy allows 10,000 bytes by default)
        String nested = "{'descr': " + "(".repeat(NpyHeader.MAX_DEPTH + 5);
        assertTrue(refused(nested).getMessage().contains("nested deeper"));
    }
}
