package io.lstmx.tests;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;
import org.opentest4j.AssertionFailedError;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The checks the seeded mutation tests of the TensorFlow and Keras readers share with
 * {@link CorruptFilesTest}: a mutant is read through the reader of its seed's format, and must
 * either load, then compile and run in the native runtime on small inputs (or be refused cleanly
 * there), or be refused with a one-line BAD_INPUT or UNSUPPORTED {@link LstmxException} naming the
 * file; nothing else may escape, no mutant may take more than {@link #TIME_LIMIT} nor allocate more
 * than a budget that grows with the seed's size, and nothing may be written beside it.
 */
final class MutantHarness {
    /** A hang never ends, so a generous limit still catches it without failing a slow load on a busy machine. */
    static final Duration TIME_LIMIT = Duration.ofSeconds(60);
    /**
     * Allocation allowed per read or run: a fixed part for the reader's own structures and inputs,
     * plus a multiple of the seed's bytes (a file is read whole, parsed, and its weights copied
     * into the IR). A missed size check allocates orders of magnitude more.
     */
    static final long FIXED_BUDGET = 96L << 20;
    static final int BUDGET_PER_SEED_BYTE = 24;

    private MutantHarness() {
    }

    /** Outcomes and failures of one seed's mutants, failures grouped by cause. */
    static final class Stats {
        final String seed;
        final long budget;
        int mutants;
        int loaded;
        int ran;
        long maxAllocated;
        final Map<String, List<String>> failures = new LinkedHashMap<>();

        Stats(String seed, long seedBytes) {
            this.seed = seed;
            this.budget = FIXED_BUDGET + BUDGET_PER_SEED_BYTE * seedBytes;
        }

        void fail(String signature, String example) {
            failures.computeIfAbsent(signature, k -> new ArrayList<>()).add(example);
        }

        /** Fails the test with every kind of failure seen, three examples each. */
        void assertClean() {
            if (!failures.isEmpty()) {
                StringBuilder sb = new StringBuilder(seed + ": " + failures.size() + " kinds of failure:");
                failures.forEach((sig, ex) -> sb.append("\n- ").append(ex.size()).append("x ").append(sig)
                        .append("\n    e.g. ").append(String.join("\n    e.g. ", ex.subList(0, Math.min(3, ex.size())))));
                org.junit.jupiter.api.Assertions.fail(sb.toString());
            }
        }
    }

    /**
     * Reads one mutant ({@code read}) under the time limit and, if it loads, compiles and runs it;
     * records anything but a clean outcome. {@code file} is what a refusal must name. Returns
     * whether it loaded.
     */
    static boolean attempt(Supplier<Model> read, String file, long runSeed, String what, Stats stats) {
        boolean[] loaded = {false};
        stats.mutants++;
        try {
            assertTimeoutPreemptively(TIME_LIMIT, () -> {
                loaded[0] = readAndRun(read, file, runSeed, what, stats);
            }, () -> "hangs: " + what);
        } catch (AssertionFailedError e) {
            stats.fail("timeout", e.getMessage());
        }
        return loaded[0];
    }

    private static boolean readAndRun(Supplier<Model> read, String file, long runSeed, String what, Stats stats) {
        long before = FuzzInvariants.allocatedBytes();
        Model model;
        try {
            model = read.get();
        } catch (LstmxException e) {
            checkRefusal(e, file, "read", what, stats);
            return false;
        } catch (Throwable t) {
            stats.fail("read threw " + signature(t), what + ": " + describe(t));
            return false;
        } finally {
            checkAllocation(before, "read", what, stats);
        }
        stats.loaded++;
        before = FuzzInvariants.allocatedBytes();
        try {
            CompiledModel c = NativeRuntime.compile(model);
            Map<String, Tensor> inputs = CorruptFilesTest.inputsFor(model, new Random(runSeed));
            if (inputs != null) {
                c.run(inputs);
                stats.ran++;
            }
        } catch (LstmxException e) {
            checkRefusal(e, null, "run", what, stats);
        } catch (Throwable t) {
            stats.fail("run threw " + signature(t), what + ": " + describe(t));
        } finally {
            checkAllocation(before, "run", what, stats);
        }
        return true;
    }

    /** -Dlstmx.fuzz.log=FILE appends every refusal (stage, mutant, message) to FILE, to read them for clarity. */
    private static final String LOG = System.getProperty("lstmx.fuzz.log");

    private static void checkRefusal(LstmxException e, String file, String stage, String what, Stats stats) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        if (LOG != null) {
            try {
                Files.writeString(Path.of(LOG), stage + "\t" + e.code() + "\t" + what + "\t" + m + "\n", java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.APPEND);
            } catch (IOException x) {
                throw new java.io.UncheckedIOException(x);
            }
        }
        if (e.code() != ErrorCode.BAD_INPUT && e.code() != ErrorCode.UNSUPPORTED) {
            stats.fail(stage + " refused with " + e.code() + " " + signature(e), what + ": " + describe(e));
        } else if (m.contains("\n") || m.contains("\r")) {
            stats.fail(stage + " message has several lines", what + ": " + m);
        } else if (file != null && !m.contains(file)) {
            stats.fail(stage + " message does not name the file " + signature(e), what + ": " + m);
        }
    }

    private static void checkAllocation(long before, String stage, String what, Stats stats) {
        long used = FuzzInvariants.allocatedBytes() - before;
        stats.maxAllocated = Math.max(stats.maxAllocated, used);
        if (before >= 0 && used > stats.budget) {
            stats.fail(stage + " allocated more than " + (stats.budget >> 20) + " MiB", what + ": " + (used >> 20) + " MiB");
        }
    }

    /** Exception class and the innermost lstmx frame: failures of one cause share it. */
    static String signature(Throwable t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().startsWith("io.lstmx")) {
                return t.getClass().getSimpleName() + " at " + e.getClassName().replaceFirst(".*\\.", "") + "." + e.getMethodName()
                        + ":" + e.getLineNumber();
            }
        }
        return t.getClass().getName();
    }

    static String describe(Throwable t) {
        String m = String.valueOf(t.getMessage());
        return t.getClass().getSimpleName() + ": " + (m.length() > 300 ? m.substring(0, 300) + "..." : m);
    }

    /** Names in {@code dir}, sorted: compared before and after each mutant to see that nothing was written. */
    static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    static void requireSeedLoads(Supplier<Model> read, String id) {
        try {
            read.get();
        } catch (LstmxException e) {
            fail(id + ": the unmutated seed does not load, so its mutants prove nothing: " + e.getMessage());
        }
    }

    // ---- byte-level mutations

    /** A mutated file and what was done to it. */
    record Mutant(String what, byte[] bytes) {
    }

    static byte[] splice(byte[] b, int pos, int removed, byte[] inserted) {
        byte[] out = new byte[b.length - removed + inserted.length];
        System.arraycopy(b, 0, out, 0, pos);
        System.arraycopy(inserted, 0, out, pos, inserted.length);
        System.arraycopy(b, pos + removed, out, pos + inserted.length, b.length - pos - removed);
        return out;
    }

    /** {@code count} byte-level mutants of {@code b}: truncations, bit flips, bytes overwritten, inserted, deleted, duplicated. */
    static List<Mutant> byteMutants(byte[] b, int count, Random r) {
        List<Mutant> l = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            int pos = r.nextInt(b.length);
            switch (k % 6) {
                case 0 -> {
                    int cut = r.nextInt(3) == 0 ? r.nextInt(Math.min(b.length, 512)) : pos;
                    l.add(new Mutant("truncated to " + cut + " of " + b.length + " bytes", Arrays.copyOf(b, cut)));
                }
                case 1, 2 -> {
                    byte[] c = b.clone();
                    int flips = 1 + r.nextInt(8);
                    StringBuilder where = new StringBuilder();
                    for (int i = 0; i < flips; i++) {
                        int p = r.nextInt(c.length);
                        int bit = r.nextInt(8);
                        c[p] ^= (byte) (1 << bit);
                        where.append(i == 0 ? "" : ",").append(p).append('.').append(bit);
                    }
                    l.add(new Mutant("bits flipped at " + where, c));
                }
                case 3 -> {
                    byte[] ff = new byte[1 + r.nextInt(8)];
                    byte v = new byte[] {0, (byte) 0xff, 0x7f, (byte) 0x80}[r.nextInt(4)];
                    Arrays.fill(ff, v);
                    l.add(new Mutant(ff.length + " bytes set to " + (v & 0xff) + " at " + pos,
                            splice(b, pos, Math.min(ff.length, b.length - pos), ff)));
                }
                case 4 -> {
                    if (r.nextBoolean()) {
                        byte[] ins = new byte[1 + r.nextInt(16)];
                        r.nextBytes(ins);
                        l.add(new Mutant(ins.length + " random bytes inserted at " + pos, splice(b, pos, 0, ins)));
                    } else {
                        int len = Math.min(b.length - pos, 1 + r.nextInt(32));
                        l.add(new Mutant(len + " bytes deleted at " + pos, splice(b, pos, len, new byte[0])));
                    }
                }
                default -> {
                    int len = Math.min(b.length - pos, 1 + r.nextInt(256));
                    l.add(new Mutant(len + " bytes at " + pos + " duplicated", splice(b, pos, 0, Arrays.copyOfRange(b, pos, pos + len))));
                }
            }
        }
        return l;
    }

    // ---- zip archives written byte by byte, so that they may hold what java.util.zip refuses to write

    /**
     * One zip entry as written: its name, its content, and whether it is deflated; or, when
     * {@code deflated} is not null, content given already deflated with its CRC and size.
     */
    record ZipPart(String name, byte[] data, boolean deflate, byte[] deflated, long crc, long size) {
        ZipPart(String name, byte[] data, boolean deflate) {
            this(name, data, deflate, null, 0, data.length);
        }

        /** {@code head} followed by {@code padding} bytes {@code pad}, deflated as it streams (never held whole). */
        static ZipPart padded(String name, byte[] head, long padding, byte pad) {
            Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
            CRC32 crc = new CRC32();
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            byte[] chunk = new byte[1 << 20];
            Arrays.fill(chunk, pad);
            long left = padding;
            d.setInput(head);
            crc.update(head);
            while (!d.needsInput()) {
                o.write(buf, 0, d.deflate(buf));
            }
            while (left > 0) {
                int n = (int) Math.min(chunk.length, left);
                d.setInput(chunk, 0, n);
                crc.update(chunk, 0, n);
                left -= n;
                while (!d.needsInput()) {
                    o.write(buf, 0, d.deflate(buf));
                }
            }
            d.finish();
            while (!d.finished()) {
                o.write(buf, 0, d.deflate(buf));
            }
            d.end();
            return new ZipPart(name, null, true, o.toByteArray(), crc.getValue(), head.length + padding);
        }
    }

    /**
     * A zip of {@code parts} in order (duplicate names allowed). {@code lieAbout}, when not null,
     * names an entry whose stated uncompressed size is {@code statedSize} instead of its real one.
     */
    static byte[] zip(List<ZipPart> parts, String lieAbout, long statedSize) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream central = new ByteArrayOutputStream();
        for (ZipPart p : parts) {
            byte[] name = p.name().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] stored = p.deflated() != null ? p.deflated() : p.deflate() ? deflate(p.data()) : p.data();
            CRC32 crc = new CRC32();
            if (p.deflated() == null) {
                crc.update(p.data());
            }
            long crcValue = p.deflated() != null ? p.crc() : crc.getValue();
            long size = p.name().equals(lieAbout) ? statedSize : p.size();
            int offset = out.size();
            writeInt(out, 0x04034b50);
            writeShort(out, 20);
            writeShort(out, 0x800);
            writeShort(out, p.deflate() ? 8 : 0);
            writeInt(out, 0);
            writeInt(out, (int) crcValue);
            writeInt(out, stored.length);
            writeInt(out, (int) size);
            writeShort(out, name.length);
            writeShort(out, 0);
            out.writeBytes(name);
            out.writeBytes(stored);
            writeInt(central, 0x02014b50);
            writeShort(central, 20);
            writeShort(central, 20);
            writeShort(central, 0x800);
            writeShort(central, p.deflate() ? 8 : 0);
            writeInt(central, 0);
            writeInt(central, (int) crcValue);
            writeInt(central, stored.length);
            writeInt(central, (int) size);
            writeShort(central, name.length);
            writeShort(central, 0);
            writeShort(central, 0);
            writeShort(central, 0);
            writeShort(central, 0);
            writeInt(central, 0);
            writeInt(central, offset);
            central.writeBytes(name);
        }
        int cdOffset = out.size();
        byte[] cd = central.toByteArray();
        out.writeBytes(cd);
        writeInt(out, 0x06054b50);
        writeShort(out, 0);
        writeShort(out, 0);
        writeShort(out, parts.size());
        writeShort(out, parts.size());
        writeInt(out, cd.length);
        writeInt(out, cdOffset);
        writeShort(out, 0);
        return out.toByteArray();
    }

    /** Deflated forms of large contents used again and again (the bombs), by identity. */
    private static final Map<byte[], byte[]> DEFLATED = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());

    static byte[] deflate(byte[] data) {
        if (data.length >= 1 << 20) {
            return DEFLATED.computeIfAbsent(data, MutantHarness::deflateNow);
        }
        return deflateNow(data);
    }

    private static byte[] deflateNow(byte[] data) {
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        while (!d.finished()) {
            o.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return o.toByteArray();
    }

    private static void writeShort(ByteArrayOutputStream o, int v) {
        o.write(v & 0xff);
        o.write((v >>> 8) & 0xff);
    }

    private static void writeInt(ByteArrayOutputStream o, int v) {
        writeShort(o, v & 0xffff);
        writeShort(o, (v >>> 16) & 0xffff);
    }
}
