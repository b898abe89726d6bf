package io.lstmx.tests;

import io.lstmx.api.Npy;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Findings of {@link NpyReaderFuzzTest} in Npy.java, replayed as plain tests (fixed by reading
 * the header length with a check of what was read). The inputs are in
 * src/test/resources/io/lstmx/tests/findings.
 */
class NpyFindingsTest {
    @TempDir
    Path dir;

    /**
     * Found by Jazzer (the v3 file, after 33,917 executions; the others are its siblings): the file
     * ends inside the header length field, and Npy.read indexes the short read (2 bytes expected in
     * version 1.0: ArrayIndexOutOfBoundsException) or wraps it in a ByteBuffer (4 bytes in 2.0 and
     * 3.0: BufferUnderflowException). Expected: a one-line BAD_INPUT naming the file.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"npy-v1-no-header-length.npy", "npy-v1-header-length-cut-short.npy",
            "npy-v2-header-length-cut-short.npy", "npy-v3-header-length-cut-short.npy"})
    void aFileEndingInsideItsHeaderLengthIsRefusedAsBadInput(String finding) throws IOException {
        byte[] bytes = finding(finding);
        assertTrue(NpyReaderFuzzTest.endsInsideTheHeaderLength(bytes), "the finding is what its name says: " + finding);
        Path file = dir.resolve(finding);
        Files.write(file, bytes);
        LstmxException e = assertThrows(LstmxException.class, () -> Npy.read(file));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()) && !e.getMessage().contains("\n"), e.getMessage());
        // And every other invariant of the fuzz test.
        NpyReaderFuzzTest.read(bytes, dir);
    }

    static byte[] finding(String name) throws IOException {
        try (InputStream in = NpyFindingsTest.class.getResourceAsStream("findings/" + name)) {
            assertFalse(in == null, "no resource findings/" + name);
            return in.readAllBytes();
        }
    }
}
