package io.lstmx.exporters.keras;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The one-pass zip writer of .keras files: what it writes reads back with the JDK's zip readers
 * (the central directory and, entry by entry, the local headers), with the CRC-32 of each entry's
 * bytes, also with ZIP64 records (forced by a lowered threshold: real ones need 4 GiB).
 */
class StoredZipTest {
    @TempDir
    Path dir;

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private Path write(long zip64From, List<String> names, List<byte[]> data) throws IOException {
        Path p = dir.resolve("z" + zip64From + ".zip");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            StoredZip z = new StoredZip(ch, zip64From);
            for (int i = 0; i < names.size(); i++) {
                byte[] d = data.get(i);
                if (i % 2 == 0) {
                    z.entry(names.get(i), d);
                } else {
                    // produced in odd pieces, as the weights entry is
                    z.entry(names.get(i), d.length, out -> {
                        for (int at = 0; at < d.length; at += 7777) {
                            out.write(d, at, Math.min(7777, d.length - at));
                        }
                    });
                }
            }
            z.finish();
        }
        return p;
    }

    @Test
    void entriesReadBackWithTheirCrcsWithAndWithoutZip64() throws IOException {
        List<String> names = List.of("metadata.json", "config.json", "model.weights.h5", "ünïcode/name.bin", "empty");
        List<byte[]> data = List.of("{\"a\": 1}".getBytes(StandardCharsets.UTF_8), bytes(1000, 1), bytes(300_000, 2), bytes(65536, 3), new byte[0]);
        for (long zip64From : new long[] {0xFFFFFFFFL, 0, 100_000}) {
            Path p = write(zip64From, names, data);
            try (ZipFile zf = new ZipFile(p.toFile())) {
                List<String> seen = new ArrayList<>();
                for (ZipEntry e : Collections.list(zf.entries())) {
                    seen.add(e.getName());
                    int i = names.indexOf(e.getName());
                    assertEquals(ZipEntry.STORED, e.getMethod(), e.getName());
                    CRC32 crc = new CRC32();
                    crc.update(data.get(i));
                    assertEquals(crc.getValue(), e.getCrc(), e.getName() + ": CRC in the central directory");
                    assertArrayEquals(data.get(i), zf.getInputStream(e).readAllBytes(), e.getName() + " (zip64 from " + zip64From + ")");
                }
                assertEquals(names, seen, "entries in order");
            }
            // the local headers: ZipInputStream reads them front to back and checks each entry's CRC
            try (ZipInputStream in = new ZipInputStream(Files.newInputStream(p))) {
                int i = 0;
                for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                    assertEquals(names.get(i), e.getName());
                    assertArrayEquals(data.get(i), in.readAllBytes(), e.getName() + ", local header (zip64 from " + zip64From + ")");
                    i++;
                }
                assertEquals(names.size(), i);
            }
        }
    }

    @Test
    void anEntryWhoseDataIsNotItsAnnouncedSizeIsAnError() throws IOException {
        Path p = dir.resolve("bad.zip");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            StoredZip z = new StoredZip(ch);
            assertThrows(IllegalStateException.class, () -> z.entry("x", 10, out -> out.write(new byte[9])));
        }
    }
}
