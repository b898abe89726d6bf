package io.lstmx.exporters.keras;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * A zip archive of STORED (uncompressed) entries, as a {@code .keras} file is, written to a
 * seekable channel in one pass: each entry's CRC-32 is computed while its data is written and then
 * patched into its local header, where {@link java.util.zip.ZipOutputStream} needs it before the
 * data. Why: the weights entry (model.weights.h5) is produced on the fly from the model's tensors,
 * kernels transposed on the way; with ZipOutputStream it was produced twice, once for its CRC
 * (a quarter of the time of writing a 100 M-parameter model, issue 9).
 * <p>
 * The layout is the usual one (local header, data, ..., central directory, end record; no data
 * descriptors), names in UTF-8 (flag 0x0800), ZIP64 extra fields and end records where a size or
 * an offset does not fit 32 bits. Python's zipfile (Keras) and {@link java.util.zip.ZipFile} read it.
 */
final class StoredZip {
    /** Sizes and offsets from which ZIP64 fields are written (below 0xFFFFFFFF; lowered by tests). */
    private final long zip64From;
    private final FileChannel ch;
    private final List<Entry> entries = new ArrayList<>();
    private final int dosTime;
    private final int dosDate;

    private record Entry(byte[] name, long offset, long size, long crc, boolean zip64) {
    }

    /** Produces exactly the entry's bytes. */
    @FunctionalInterface
    interface Data {
        void writeTo(OutputStream out) throws IOException;
    }

    StoredZip(FileChannel ch) {
        this(ch, 0xFFFFFFFFL);
    }

    StoredZip(FileChannel ch, long zip64From) {
        this.ch = ch;
        this.zip64From = zip64From;
        LocalDateTime now = LocalDateTime.now();
        dosTime = now.getHour() << 11 | now.getMinute() << 5 | now.getSecond() >> 1;
        dosDate = Math.max(0, now.getYear() - 1980) << 9 | now.getMonthValue() << 5 | now.getDayOfMonth();
    }

    void entry(String name, byte[] data) throws IOException {
        entry(name, data.length, out -> out.write(data));
    }

    /** An entry of {@code size} bytes, which {@code data} writes (anything else is an error). */
    void entry(String name, long size, Data data) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        long offset = ch.position();
        boolean zip64 = size >= zip64From;
        ByteBuffer h = le(30 + n.length + (zip64 ? 20 : 0));
        h.putInt(0x04034b50).putShort((short) (zip64 ? 45 : 10)).putShort((short) 0x0800).putShort((short) 0)
                .putShort((short) dosTime).putShort((short) dosDate)
                .putInt(0) // CRC-32, patched below
                .putInt(zip64 ? -1 : (int) size).putInt(zip64 ? -1 : (int) size)
                .putShort((short) n.length).putShort((short) (zip64 ? 20 : 0)).put(n);
        if (zip64) {
            h.putShort((short) 1).putShort((short) 16).putLong(size).putLong(size);
        }
        writeFully(h.flip());
        CRC32 crc = new CRC32();
        long[] count = {0};
        ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        OutputStream out = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                crc.update(b, off, len);
                count[0] += len;
                while (len > 0) {
                    int k = Math.min(len, buf.remaining());
                    buf.put(b, off, k);
                    off += k;
                    len -= k;
                    if (!buf.hasRemaining()) {
                        flush();
                    }
                }
            }

            @Override
            public void flush() throws IOException {
                writeFully(buf.flip());
                buf.clear();
            }
        };
        data.writeTo(out);
        out.flush();
        if (count[0] != size) {
            throw new IllegalStateException("zip entry " + name + ": " + count[0] + " bytes written, " + size + " announced");
        }
        long value = crc.getValue();
        ByteBuffer c = le(4).putInt((int) value).flip();
        while (c.hasRemaining()) {
            ch.write(c, offset + 14 + (4 - c.remaining()));
        }
        entries.add(new Entry(n, offset, size, value, zip64));
    }

    /** The central directory and the end records; the channel stays open. */
    void finish() throws IOException {
        long cdStart = ch.position();
        for (Entry e : entries) {
            boolean bigOffset = e.offset >= zip64From;
            int extra = (e.zip64 ? 16 : 0) + (bigOffset ? 8 : 0);
            boolean any = extra > 0;
            ByteBuffer h = le(46 + e.name.length + (any ? 4 + extra : 0));
            short version = (short) (any ? 45 : 10);
            h.putInt(0x02014b50).putShort(version).putShort(version).putShort((short) 0x0800).putShort((short) 0)
                    .putShort((short) dosTime).putShort((short) dosDate).putInt((int) e.crc)
                    .putInt(e.zip64 ? -1 : (int) e.size).putInt(e.zip64 ? -1 : (int) e.size)
                    .putShort((short) e.name.length).putShort((short) (any ? 4 + extra : 0)).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putInt(0)
                    .putInt(bigOffset ? -1 : (int) e.offset).put(e.name);
            if (any) {
                h.putShort((short) 1).putShort((short) extra);
                if (e.zip64) {
                    h.putLong(e.size).putLong(e.size);
                }
                if (bigOffset) {
                    h.putLong(e.offset);
                }
            }
            writeFully(h.flip());
        }
        long cdEnd = ch.position();
        long cdSize = cdEnd - cdStart;
        boolean zip64End = cdStart >= zip64From || cdSize >= zip64From || entries.size() >= 0xFFFF;
        if (zip64End) {
            ByteBuffer z = le(56 + 20);
            z.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                    .putLong(entries.size()).putLong(entries.size()).putLong(cdSize).putLong(cdStart);
            z.putInt(0x07064b50).putInt(0).putLong(cdEnd).putInt(1);
            writeFully(z.flip());
        }
        ByteBuffer end = le(22);
        int count = zip64End ? 0xFFFF : entries.size();
        end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) count).putShort((short) count)
                .putInt(zip64End ? -1 : (int) cdSize).putInt(zip64End ? -1 : (int) cdStart).putShort((short) 0);
        writeFully(end.flip());
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
