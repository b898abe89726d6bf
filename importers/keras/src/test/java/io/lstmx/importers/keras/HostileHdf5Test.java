package io.lstmx.importers.keras;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damaged HDF5 structures found by the seeded mutation test (tests/KerasCorruptFilesTest), each
 * kept here as a focused regression: refused with one BAD_INPUT line naming the file, without
 * allocating what the damage declares.
 */
class HostileHdf5Test {
    @TempDir
    Path tmp;

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    /** Reads {@code bytes} as an .h5 file and expects a clean refusal that allocated little. */
    private LstmxException refusedCheaply(byte[] bytes, String name) throws IOException {
        Path f = tmp.resolve(name);
        Files.write(f, bytes);
        long before = allocated();
        LstmxException e = assertThrows(LstmxException.class, () -> new KerasH5Reader().read(f, io.lstmx.formats.ReadOptions.DEFAULT));
        long used = allocated() - before;
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(used < 64L << 20, "allocated " + (used >> 20) + " MiB");
        return e;
    }

    @Test
    void anObjectHeaderClaimingTwoGibibytesIsRefusedWithoutAllocatingThem() throws IOException {
        byte[] b = Files.readAllBytes(KerasReaderTest.FIX.resolve("lstm_dense.h5"));
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        // Superblock version 0: the root group's object header address is at byte 64; a version 1
        // object header holds its size (of the messages that follow) at byte 8.
        int root = (int) bb.getLong(64);
        for (int size : new int[] {Integer.MAX_VALUE, 1 << 29}) {
            bb.putInt(root + 8, size);
            refusedCheaply(b, "root-header-" + size + ".h5");
        }
    }
}
