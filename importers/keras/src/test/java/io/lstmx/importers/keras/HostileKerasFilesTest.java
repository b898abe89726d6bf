package io.lstmx.importers.keras;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damaged and hostile Keras files found by the seeded mutation test (tests/KerasCorruptFilesTest),
 * each kept here as a focused regression: refused with one BAD_INPUT line naming the file, without
 * allocating what the damage declares.
 */
class HostileKerasFilesTest {
    @TempDir
    Path tmp;

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    /** Reads {@code bytes} as an .h5 or .keras file (by {@code name}) and expects a clean refusal that allocated little. */
    private LstmxException refusedCheaply(byte[] bytes, String name) throws IOException {
        Path f = tmp.resolve(name);
        Files.write(f, bytes);
        long before = allocated();
        LstmxException e = assertThrows(LstmxException.class, () -> KerasReaderTest.read(f));
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

    @Test
    void aConfigPaddedToSixtyMebibytesInASmallArchiveIsRefusedBeforeItIsInflated() throws IOException {
        Map<String, byte[]> parts = KerasReaderTest.entries(KerasReaderTest.FIX.resolve("lstm_dense.keras"));
        byte[] cfg = parts.get("config.json");
        byte[] padded = new byte[60 << 20];
        Arrays.fill(padded, (byte) ' ');
        System.arraycopy(cfg, 0, padded, 0, cfg.length);
        parts.put("config.json", padded);
        Path z = KerasReaderTest.zip(tmp.resolve("padded.keras"), parts);
        assertTrue(Files.size(z) < 1 << 20, "deflated to " + Files.size(z));
        LstmxException e = refusedCheaply(Files.readAllBytes(z), "padded.keras");
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("bomb"), e.getMessage());
    }

    @Test
    void anEntryClaimingMoreStoredBytesThanTheFileHoldsIsRefused() throws IOException {
        Map<String, byte[]> parts = KerasReaderTest.entries(KerasReaderTest.FIX.resolve("lstm_dense.keras"));
        byte[] cfg = parts.get("config.json");
        byte[] padded = new byte[8 << 20];
        Arrays.fill(padded, (byte) ' ');
        System.arraycopy(cfg, 0, padded, 0, cfg.length);
        parts.put("config.json", padded);
        byte[] b = Files.readAllBytes(KerasReaderTest.zip(tmp.resolve("lie.keras"), parts));
        // The central directory entry of config.json: signature PK\1\2, compressed size at +20, name at +46.
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        boolean patched = false;
        for (int i = 0; i + 46 < b.length; i++) {
            if (bb.getInt(i) == 0x02014b50 && new String(b, i + 46, bb.getShort(i + 28), StandardCharsets.UTF_8).equals("config.json")) {
                bb.putInt(i + 20, 1 << 30); // as if 1 GiB were stored, so that no ratio looks like a bomb
                patched = true;
            }
        }
        assertTrue(patched);
        LstmxException e = refusedCheaply(b, "lie.keras");
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("bomb"), e.getMessage());
    }
}
