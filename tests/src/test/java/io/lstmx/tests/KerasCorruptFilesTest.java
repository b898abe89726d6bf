package io.lstmx.tests;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import io.lstmx.formats.FormatReader;
import io.lstmx.formats.ReadOptions;
import io.lstmx.importers.keras.KerasH5Reader;
import io.lstmx.importers.keras.KerasReader;
import io.lstmx.tests.MutantHarness.Mutant;
import io.lstmx.tests.MutantHarness.Stats;
import io.lstmx.tests.MutantHarness.ZipPart;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damaged and hostile Keras files, made by seeded mutations of every Keras file in
 * ../shared/real-models/keras and fixtures/keras (.h5 of Keras 2 and of Keras 3's legacy writer,
 * .keras archives of Keras 3), read by the Keras readers and, when they load, run in the native
 * runtime, with the guarantees of {@link MutantHarness}. The mutations:
 * <ul>
 *   <li>bytes: truncation, bit flips, bytes overwritten, inserted, deleted, duplicated;</li>
 *   <li>HDF5 structure (parsed from the seed: superblock, v1 object headers, symbol table nodes,
 *       B-trees, local and global heaps): addresses in the superblock made odd, object header
 *       message counts and sizes, message types, huge and negative dimensions in dataspace messages,
 *       B-tree entry counts, levels and children (a child pointing at its own node: a cycle),
 *       a group entry linking back to its own group or the root (a cycle), heap sizes;</li>
 *   <li>the model config JSON (in place in an .h5, as config.json in a .keras): units that
 *       contradict the weights, huge and odd numbers, values of the wrong type, unknown layer
 *       classes, keys and layers removed or duplicated, layer references renamed (dangling, or a
 *       layer reading itself: a cycle), huge input shapes, nesting bombs in arrays, objects and
 *       wrapper layers;</li>
 *   <li>.keras zips: the weights' HDF5 mutated as above, {@code ..}, absolute, drive and backslash
 *       entries, duplicate entries, entries dropped, decompression bombs (a declared size over the
 *       limits, a size that lies, a ratio no deflate stream reaches), metadata.json mutated.</li>
 * </ul>
 * A fixed seed tries the same mutants every run; -Dlstmx.fuzz.seed and -Dlstmx.fuzz.variants
 * (mutants of each kind per seed) explore further.
 */
class KerasCorruptFilesTest {
    private static final long SEED = Long.getLong("lstmx.fuzz.seed", 0x4E_7A5_C0_44L);
    /** Mutants of each structure-aware kind per seed; the byte-level ones scale with it. */
    private static final int VARIANTS = Integer.getInteger("lstmx.fuzz.variants", 2);

    @TempDir
    static Path tmp;

    private static int loadedTotal;
    private static int refusedTotal;
    private static int mutantsTotal;

    record Seed(String id, Path file, boolean archive) {
    }

    static List<Seed> seeds() {
        List<Seed> seeds = new ArrayList<>();
        Path shared = TestFiles.shared();
        for (Path p : TestFiles.find(shared.resolve("real-models/keras"), "")) {
            String n = p.getFileName().toString();
            if (Files.isRegularFile(p) && (n.endsWith(".h5") || n.endsWith(".keras"))) {
                seeds.add(new Seed(shared.relativize(p).toString(), p, n.endsWith(".keras")));
            }
        }
        for (Path p : TestFiles.find(TestFiles.fixtures().resolve("keras"), "")) {
            String n = p.getFileName().toString();
            if (Files.isRegularFile(p) && (n.endsWith(".h5") || n.endsWith(".keras"))) {
                seeds.add(new Seed(TestFiles.root().relativize(p).toString(), p, n.endsWith(".keras")));
            }
        }
        assertTrue(seeds.size() >= 40, "too few seeds: " + seeds.size());
        return seeds;
    }

    @TestFactory
    Stream<DynamicTest> mutantsLoadOrFailCleanly() {
        return seeds().stream().map(s -> DynamicTest.dynamicTest(s.id(), () -> check(s)));
    }

    @AfterAll
    static void someMutantsLoadAndSomeAreRefused() {
        System.out.printf("KerasCorruptFilesTest: %d mutants, %d loaded, %d refused%n", mutantsTotal, loadedTotal, refusedTotal);
        // Mutations that changed nothing, or that only ever broke files beyond recognition, would
        // make the test pass without reaching the checks past the parser.
        assertTrue(loadedTotal > 0 && refusedTotal > 0, loadedTotal + " mutants loaded, " + refusedTotal + " were refused");
    }

    private static void check(Seed s) throws IOException {
        Random rnd = new Random(SEED ^ s.id().hashCode());
        byte[] original = Files.readAllBytes(s.file());
        List<Mutant> mutants = s.archive() ? archiveMutants(s.file(), original, rnd) : h5Mutants(original, rnd);
        FormatReader reader = s.archive() ? new KerasReader() : new KerasH5Reader();
        String ext = s.archive() ? ".keras" : ".h5";
        Path dir = Files.createDirectories(tmp.resolve(s.id().replaceAll("[^A-Za-z0-9_.-]", "_")));
        Stats stats = new Stats(s.id(), original.length);
        long t0 = System.nanoTime();
        List<String> before = MutantHarness.list(dir);
        for (int i = 0; i < mutants.size(); i++) {
            Mutant m = mutants.get(i);
            Path f = dir.resolve(String.format("m%03d%s", i, ext));
            Files.write(f, m.bytes());
            List<String> expected = MutantHarness.list(dir);
            String what = s.id() + " #" + i + " [" + m.what() + "]";
            MutantHarness.attempt(() -> reader.read(f, ReadOptions.DEFAULT), f.toString(), rnd.nextLong(), what, stats);
            if (!MutantHarness.list(dir).equals(expected)) {
                stats.fail("wrote files", what + ": folder now holds " + MutantHarness.list(dir));
            }
            Files.delete(f);
        }
        if (!MutantHarness.list(dir).equals(before)) {
            stats.fail("wrote files", s.id() + ": folder now holds " + MutantHarness.list(dir));
        }
        synchronized (KerasCorruptFilesTest.class) {
            mutantsTotal += stats.mutants;
            loadedTotal += stats.loaded;
            refusedTotal += stats.mutants - stats.loaded;
        }
        System.out.printf("KerasCorruptFilesTest %s: %d mutants, %d loaded, %d ran, max %.1f MiB allocated, %d ms%n",
                s.id(), stats.mutants, stats.loaded, stats.ran, stats.maxAllocated / 1048576.0, (System.nanoTime() - t0) / 1_000_000);
        stats.assertClean();
    }

    // ---- .h5

    static List<Mutant> h5Mutants(byte[] b, Random r) {
        List<Mutant> l = new ArrayList<>(MutantHarness.byteMutants(b, 6 * VARIANTS, r));
        l.addAll(hdf5StructureMutants(b, r, ""));
        int[] config = configSpan(b);
        if (config != null) {
            String json = new String(b, config[0], config[1] - config[0], StandardCharsets.UTF_8);
            for (Map.Entry<String, BiFunction<JsonObject, Random, String>> e : jsonMutations().entrySet()) {
                for (int v = 0; v < VARIANTS; v++) {
                    // In place: the mutated config, written compactly, fits in the original's bytes
                    // (Python writes ", " and ": "); the rest is padded with spaces.
                    for (int attempt = 0; attempt < 4; attempt++) {
                        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
                        String what = e.getValue().apply(o, r);
                        if (what == null) {
                            break;
                        }
                        byte[] text = o.toString().getBytes(StandardCharsets.UTF_8);
                        if (text.length <= config[1] - config[0]) {
                            byte[] c = b.clone();
                            Arrays.fill(c, config[0], config[1], (byte) ' ');
                            System.arraycopy(text, 0, c, config[0], text.length);
                            l.add(new Mutant("model_config " + e.getKey() + ": " + what, c));
                            break;
                        }
                    }
                }
            }
            // A nesting bomb as long as the config: brackets only.
            byte[] c = b.clone();
            int n = (config[1] - config[0]) / 2;
            for (int i = 0; i < n; i++) {
                c[config[0] + i] = '[';
                c[config[0] + n + i] = ']';
            }
            l.add(new Mutant("model_config replaced by " + n + " nested lists", c));
        }
        return l;
    }

    /** Where the model config's JSON lies in the file (the longest JSON object with "class_name" and "layers"), or null. */
    static int[] configSpan(byte[] b) {
        byte[] start = "{\"class_name\"".getBytes(StandardCharsets.US_ASCII);
        int[] best = null;
        for (int i = indexOf(b, start, 0); i >= 0; i = indexOf(b, start, i + 1)) {
            int end = objectEnd(b, i);
            if (end < 0) {
                continue;
            }
            String s = new String(b, i, end - i, StandardCharsets.UTF_8);
            if (s.contains("\"layers\"") && (best == null || end - i > best[1] - best[0])) {
                try {
                    JsonParser.parseString(s).getAsJsonObject();
                    best = new int[] {i, end};
                } catch (RuntimeException e) {
                    // not the config
                }
            }
        }
        return best;
    }

    private static int objectEnd(byte[] b, int from) {
        int depth = 0;
        boolean str = false;
        for (int i = from; i < b.length; i++) {
            byte c = b[i];
            if (str) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    str = false;
                }
            } else if (c == '"') {
                str = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) {
                    return i + 1;
                }
            } else if (c == 0) {
                return -1;
            }
        }
        return -1;
    }

    static int indexOf(byte[] b, byte[] what, int from) {
        outer:
        for (int i = Math.max(0, from); i <= b.length - what.length; i++) {
            for (int j = 0; j < what.length; j++) {
                if (b[i + j] != what[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    // ---- HDF5 structure

    /**
     * The structures of an HDF5 file written with superblock version 0 (h5py's default, so every
     * Keras file): found by their signatures (TREE, SNOD, HEAP, GCOL) and from the symbol table
     * entries, which give the object headers (version 1, without a signature).
     */
    static final class H5Layout {
        final byte[] b;
        final List<Integer> trees = new ArrayList<>();
        final List<Integer> snods = new ArrayList<>();
        final List<Integer> heaps = new ArrayList<>();
        final List<Integer> gcols = new ArrayList<>();
        /** Symbol table entries: the position of their object header address field. */
        final List<Integer> entries = new ArrayList<>();
        final List<Long> headers = new ArrayList<>();
        /** Object header messages: {position of the message header, type, data size}. */
        final List<int[]> messages = new ArrayList<>();
        /** Symbol table node → the object header of the group it belongs to (through the group's B-tree). */
        final Map<Integer, Long> owner = new LinkedHashMap<>();
        long rootHeader = -1;

        H5Layout(byte[] b) {
            this.b = b;
            for (String sig : new String[] {"TREE", "SNOD", "HEAP", "GCOL"}) {
                byte[] s = sig.getBytes(StandardCharsets.US_ASCII);
                List<Integer> into = switch (sig) {
                    case "TREE" -> trees;
                    case "SNOD" -> snods;
                    case "HEAP" -> heaps;
                    default -> gcols;
                };
                for (int i = indexOf(b, s, 0); i >= 0; i = indexOf(b, s, i + 1)) {
                    into.add(i);
                }
            }
            if (b.length < 96 || b[8] != 0 || b[13] != 8 || b[14] != 8) {
                return; // only superblock version 0 with 8-byte addresses is parsed further
            }
            rootHeader = u64(64);
            headers.add(rootHeader);
            for (int s : snods) {
                int n = u16(s + 6);
                for (int k = 0; k < n && s + 8 + 40 * k + 40 <= b.length; k++) {
                    int field = s + 8 + 40 * k + 8;
                    entries.add(field);
                    long h = u64(field);
                    if (!headers.contains(h)) {
                        headers.add(h);
                    }
                }
            }
            for (long h : headers) {
                if (h < 0 || h + 16 > b.length || b[(int) h] != 1) {
                    continue;
                }
                int count = u16((int) h + 2);
                long size = u32((int) h + 8);
                int p = (int) h + 16;
                long end = Math.min(b.length, h + 16 + size);
                for (int k = 0; k < count && p + 8 <= end; k++) {
                    int type = u16(p);
                    int len = u16(p + 2);
                    messages.add(new int[] {p, type, len});
                    if (type == 0x11) {
                        // A symbol table message: the group's B-tree; a leaf (level 0, type 0) points at its symbol table nodes.
                        long tree = u64(p + 8);
                        if (tree > 0 && tree + 24 <= b.length && b[(int) tree + 4] == 0 && b[(int) tree + 5] == 0) {
                            int n = u16((int) tree + 6);
                            for (int c = 0; c < n && tree + 32 + 16L * c + 8 <= b.length; c++) {
                                owner.put((int) u64((int) tree + 32 + 16 * c), h);
                            }
                        }
                    }
                    p += 8 + len;
                }
            }
        }

        int u16(int p) {
            return p + 2 <= b.length ? (b[p] & 0xff) | (b[p + 1] & 0xff) << 8 : 0;
        }

        long u32(int p) {
            return p + 4 <= b.length ? ByteBuffer.wrap(b, p, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL : 0;
        }

        long u64(int p) {
            return p + 8 <= b.length ? ByteBuffer.wrap(b, p, 8).order(ByteOrder.LITTLE_ENDIAN).getLong() : -1;
        }

        List<int[]> messagesOfType(int type) {
            return messages.stream().filter(m -> m[1] == type).toList();
        }
    }

    private static void put(byte[] b, int pos, long v, int width) {
        for (int i = 0; i < width && pos + i < b.length; i++) {
            b[pos + i] = (byte) (v >>> (8 * i));
        }
    }

    private static <T> T pick(List<T> l, Random r) {
        return l.isEmpty() ? null : l.get(r.nextInt(l.size()));
    }

    /** Addresses no field of a sound file holds: zero, one, past the end, far past it, all ones. */
    private static long oddAddress(H5Layout h, Random r) {
        long[] odd = {0, 1, 7, h.b.length, h.b.length - 1, h.b.length + 4096L, 1L << 32, Long.MAX_VALUE, -1, -2};
        return odd[r.nextInt(odd.length)];
    }

    /** Each kind of HDF5 damage, VARIANTS times; {@code label} tells where the file is (inside a .keras). */
    static List<Mutant> hdf5StructureMutants(byte[] b, Random r, String label) {
        H5Layout h = new H5Layout(b);
        List<Mutant> l = new ArrayList<>();
        for (int v = 0; v < VARIANTS; v++) {
            // Superblock: an address field made odd, or a byte of the version and size fields.
            byte[] c = b.clone();
            int[] fields = {24, 32, 40, 48, 64, 80, 88};
            int f = fields[r.nextInt(fields.length)];
            long a = r.nextBoolean() ? oddAddress(h, r) : pick(h.headers, r) == null ? 0 : pick(h.headers, r);
            put(c, f, a, 8);
            l.add(new Mutant(label + "superblock address at byte " + f + " set to " + a, c));
            c = b.clone();
            int at = 8 + r.nextInt(16);
            c[at] = (byte) new int[] {0, 1, 2, 3, 4, 16, 0x7f, 0xff}[r.nextInt(8)];
            l.add(new Mutant(label + "superblock byte " + at + " set to " + (c[at] & 0xff), c));
            // Object headers: message count, header size.
            Long oh = pick(h.headers, r);
            if (oh != null && oh >= 0 && oh + 16 <= b.length) {
                c = b.clone();
                if (r.nextBoolean()) {
                    int n = new int[] {0, 1, 0xffff, 0x8000}[r.nextInt(4)];
                    put(c, (int) (oh + 2), n, 2);
                    l.add(new Mutant(label + "object header at " + oh + " claims " + n + " messages", c));
                } else {
                    long n = new long[] {0, 8, 0xffffffffL, 0x7fffffff, 1 << 29, b.length}[r.nextInt(6)];
                    put(c, (int) (oh + 8), n, 4);
                    l.add(new Mutant(label + "object header at " + oh + " claims " + n + " bytes", c));
                }
            }
            // A message: its size or type.
            int[] m = pick(h.messages, r);
            if (m != null) {
                c = b.clone();
                if (r.nextBoolean()) {
                    int n = new int[] {0, 1, 0xffff, m[2] + 8, Math.max(0, m[2] - 8)}[r.nextInt(5)];
                    put(c, m[0] + 2, n, 2);
                    l.add(new Mutant(label + "message of type " + m[1] + " at " + m[0] + " claims " + n + " bytes", c));
                } else {
                    int t = new int[] {0, 1, 3, 8, 0x10, 0x11, 0x0c, 0x15, 0x18, 0x7fff, 0xffff}[r.nextInt(11)];
                    put(c, m[0], t, 2);
                    l.add(new Mutant(label + "message at " + m[0] + " of type " + m[1] + " retyped " + t, c));
                }
            }
            // Dataspaces: a huge or negative dimension, or an odd rank.
            int[] ds = pick(h.messagesOfType(1), r);
            if (ds != null) {
                int p = ds[0] + 8;
                c = b.clone();
                int version = c[p] & 0xff;
                int rank = c[p + 1] & 0xff;
                if (rank > 0 && r.nextInt(4) > 0) {
                    int dims = p + (version == 1 ? 8 : 4);
                    int k = r.nextInt(rank);
                    long d = new long[] {Integer.MAX_VALUE, 1L << 31, 1L << 32, 1L << 40, Long.MAX_VALUE, -1, -2, 0, 1L << 20}[r.nextInt(9)];
                    put(c, dims + 8 * k, d, 8);
                    if ((c[p + 2] & 1) != 0 && r.nextBoolean()) {
                        put(c, dims + 8 * (rank + k), d, 8); // the max dimension too
                    }
                    l.add(new Mutant(label + "dataspace at " + ds[0] + " dimension " + k + " set to " + d, c));
                } else {
                    int nr = new int[] {0, 7, 32, 33, 255}[r.nextInt(5)];
                    c[p + 1] = (byte) nr;
                    l.add(new Mutant(label + "dataspace at " + ds[0] + " rank set to " + nr, c));
                }
            }
            // Datatypes: the element size, or the class (a float read as a string, a compound, a vlen ...).
            int[] dt = pick(h.messagesOfType(3), r);
            if (dt != null) {
                c = b.clone();
                int p = dt[0] + 8;
                if (r.nextBoolean()) {
                    long size = new long[] {0, 1, 2, 3, 16, 0xffff, 0x7fffffff, 0xffffffffL}[r.nextInt(8)];
                    put(c, p + 4, size, 4);
                    l.add(new Mutant(label + "datatype at " + dt[0] + " size set to " + size, c));
                } else {
                    int cls = new int[] {0, 1, 3, 4, 5, 6, 7, 9, 10, 15}[r.nextInt(10)];
                    c[p] = (byte) ((c[p] & 0xf0) | cls);
                    l.add(new Mutant(label + "datatype at " + dt[0] + " class set to " + cls, c));
                }
            }
            // Data layouts: a contiguous dataset's size or address, its class, or a made-up chunked layout with huge chunks.
            int[] lay = pick(h.messagesOfType(8), r);
            if (lay != null && (b[lay[0] + 8] & 0xff) == 3 && b[lay[0] + 9] == 1 && lay[2] >= 24) {
                c = b.clone();
                int p = lay[0] + 8;
                switch (r.nextInt(4)) {
                    case 0 -> {
                        long size = new long[] {0, 1, 1L << 31, 1L << 40, Long.MAX_VALUE, -1}[r.nextInt(6)];
                        put(c, p + 10, size, 8);
                        l.add(new Mutant(label + "contiguous layout at " + lay[0] + " size set to " + size, c));
                    }
                    case 1 -> {
                        long idx = oddAddress(h, r);
                        put(c, p + 2, idx, 8);
                        l.add(new Mutant(label + "contiguous layout at " + lay[0] + " address set to " + idx, c));
                    }
                    case 2 -> {
                        int cls = new int[] {0, 2, 3, 7}[r.nextInt(4)];
                        c[p + 1] = (byte) cls;
                        l.add(new Mutant(label + "layout at " + lay[0] + " class set to " + cls, c));
                    }
                    default -> {
                        // Chunked (version 3): dimensionality, the chunk index address, chunk dimensions (4 bytes each, the last
                        // the element size). Two chunk dimensions fit the 24 bytes a contiguous layout took.
                        c[p + 1] = 2;
                        c[p + 2] = 3;
                        long idx = r.nextBoolean() && !h.trees.isEmpty() ? pick(h.trees, r) : oddAddress(h, r);
                        put(c, p + 3, idx, 8);
                        long chunk = new long[] {0x7fffffff, 0xffffffffL, 1 << 20, 0}[r.nextInt(4)];
                        put(c, p + 11, chunk, 4);
                        put(c, p + 15, chunk, 4);
                        put(c, p + 19, 4, 4);
                        l.add(new Mutant(label + "layout at " + lay[0] + " made chunked, chunks of " + chunk + " x " + chunk
                                + ", index at " + idx, c));
                    }
                }
            }
            // Attributes (version 1: name, datatype and dataspace sizes, each part padded to 8 bytes): the sizes, a
            // string's length, the dataspace's dimensions (weight_names lists) or rank (model_config is a scalar).
            int[] at1 = pick(h.messagesOfType(0x0c).stream().filter(x -> b[x[0] + 8] == 1).toList(), r);
            if (at1 != null) {
                c = b.clone();
                int p = at1[0] + 8;
                int nameSize = h.u16(p + 2);
                int dtAt = p + 8 + (nameSize + 7) / 8 * 8;
                int dsAt = dtAt + (h.u16(p + 4) + 7) / 8 * 8;
                switch (r.nextInt(4)) {
                    case 0 -> {
                        int field = p + 2 + 2 * r.nextInt(3);
                        int v2 = new int[] {0, 0xffff, 0x7fff, 1}[r.nextInt(4)];
                        put(c, field, v2, 2);
                        l.add(new Mutant(label + "attribute at " + at1[0] + " size field " + (field - p) + " set to " + v2, c));
                    }
                    case 1 -> {
                        long size = new long[] {0, 0xffff, 0x7fffffff, 0xffffffffL, 1 << 28}[r.nextInt(5)];
                        put(c, dtAt + 4, size, 4);
                        l.add(new Mutant(label + "attribute at " + at1[0] + " element size set to " + size, c));
                    }
                    default -> {
                        int rank = c[dsAt + 1] & 0xff;
                        if (rank == 0 || r.nextInt(3) == 0) {
                            c[dsAt + 1] = (byte) (rank == 0 ? 1 : 0);
                            l.add(new Mutant(label + "attribute at " + at1[0] + " dataspace rank " + rank + " -> " + (c[dsAt + 1] & 0xff), c));
                        } else {
                            long d = new long[] {Integer.MAX_VALUE, 1L << 32, 1L << 40, Long.MAX_VALUE, -1, 1L << 61}[r.nextInt(6)];
                            put(c, dsAt + 8, d, 8);
                            l.add(new Mutant(label + "attribute at " + at1[0] + " dataspace dimension set to " + d, c));
                        }
                    }
                }
            }
            // B-trees: entry count, level, a child or sibling pointing back at the node (a cycle) or nowhere.
            Integer t = pick(h.trees, r);
            if (t != null && t + 40 <= b.length) {
                c = b.clone();
                switch (r.nextInt(4)) {
                    case 0 -> {
                        int n = new int[] {0, 0xffff, 0x8000, 65}[r.nextInt(4)];
                        put(c, t + 6, n, 2);
                        l.add(new Mutant(label + "B-tree at " + t + " claims " + n + " entries", c));
                    }
                    case 1 -> {
                        int lv = new int[] {1, 2, 64, 255}[r.nextInt(4)];
                        c[t + 5] = (byte) lv;
                        l.add(new Mutant(label + "B-tree at " + t + " claims level " + lv, c));
                    }
                    case 2 -> {
                        // Group B-trees (type 0) hold 8-byte keys, so child k's address is at 32 + 16k.
                        int k = c[t + 4] == 0 ? r.nextInt(Math.max(1, h.u16(t + 6))) : 0;
                        int field = t + (c[t + 4] == 0 ? 32 + 16 * k : 24);
                        long to = r.nextBoolean() ? t : r.nextBoolean() ? h.rootHeader : oddAddress(h, r);
                        if (r.nextBoolean()) {
                            c[t + 5] = 1; // an internal node, so that the child is read as a B-tree node
                        }
                        put(c, field, to, 8);
                        l.add(new Mutant(label + "B-tree at " + t + " child " + k + " points at " + to + (c[t + 5] == 1 ? " (level 1)" : ""), c));
                    }
                    default -> {
                        int field = t + (r.nextBoolean() ? 8 : 16);
                        long to = r.nextBoolean() ? t : oddAddress(h, r);
                        put(c, field, to, 8);
                        l.add(new Mutant(label + "B-tree at " + t + " sibling at " + field + " points at " + to, c));
                    }
                }
            }
            // Symbol table entries: a group linking to itself, to the root, to a B-tree, or nowhere.
            Integer e = pick(h.entries, r);
            if (e != null) {
                c = b.clone();
                int snod = h.snods.stream().filter(s -> s < e).max(Integer::compare).orElse(0);
                long to = switch (r.nextInt(5)) {
                    case 0 -> h.rootHeader;
                    case 4 -> h.owner.getOrDefault(snod, h.rootHeader); // the group holding the entry: a group in itself
                    case 1 -> h.u64(e); // duplicate the neighbour's link below
                    case 2 -> pick(h.trees, r) == null ? 0 : pick(h.trees, r);
                    default -> oddAddress(h, r);
                };
                put(c, e, to, 8);
                if (r.nextBoolean() && e + 40 + 8 <= b.length) {
                    put(c, e + 40, to, 8); // the next entry too: two names, one object
                }
                l.add(new Mutant(label + "symbol table node at " + snod + " entry at " + e + " links to " + to, c));
                c = b.clone();
                int n = new int[] {0, 0xffff, 100}[r.nextInt(3)];
                put(c, snod + 6, n, 2);
                l.add(new Mutant(label + "symbol table node at " + snod + " claims " + n + " symbols", c));
            }
            // Local and global heaps: their sizes and data addresses.
            Integer hp = pick(h.heaps, r);
            if (hp != null && hp + 32 <= b.length) {
                c = b.clone();
                int field = hp + (r.nextBoolean() ? 8 : 24);
                long to = new long[] {0, 1, Long.MAX_VALUE, -1, b.length, 1L << 40}[r.nextInt(6)];
                put(c, field, to, 8);
                l.add(new Mutant(label + "local heap at " + hp + " field " + (field - hp) + " set to " + to, c));
            }
            Integer gc = pick(h.gcols, r);
            if (gc != null && gc + 16 <= b.length) {
                c = b.clone();
                long to = new long[] {0, 16, Long.MAX_VALUE, 1L << 40, b.length}[r.nextInt(5)];
                put(c, gc + 8, to, 8);
                l.add(new Mutant(label + "global heap at " + gc + " claims " + to + " bytes", c));
            }
        }
        return l;
    }

    // ---- model config JSON

    private static final double[] ODD_NUMBERS = {0, -1, -7, 0.5, 1e9, 2147483648.0, 9.3e18, 1e308, -1e308, Double.NaN,
            Double.POSITIVE_INFINITY};

    /** Every element of the tree with the object or array holding it, in document order. */
    private record Slot(JsonElement parent, String key, int index, JsonElement value) {
        void set(JsonElement v) {
            if (parent instanceof JsonObject o) {
                o.add(key, v);
            } else {
                ((JsonArray) parent).set(index, v);
            }
        }
    }

    private static List<Slot> slots(JsonElement root) {
        List<Slot> out = new ArrayList<>();
        List<JsonElement> todo = new ArrayList<>(List.of(root));
        while (!todo.isEmpty()) {
            JsonElement e = todo.remove(todo.size() - 1);
            if (e instanceof JsonObject o) {
                for (Map.Entry<String, JsonElement> en : o.entrySet()) {
                    out.add(new Slot(o, en.getKey(), -1, en.getValue()));
                    todo.add(en.getValue());
                }
            } else if (e instanceof JsonArray a) {
                for (int i = 0; i < a.size(); i++) {
                    out.add(new Slot(a, null, i, a.get(i)));
                    todo.add(a.get(i));
                }
            }
        }
        return out;
    }

    /** The layer objects (with "class_name" and "config"), nested ones (wrapped layers) included. */
    private static List<JsonObject> layers(JsonObject root) {
        List<JsonObject> out = new ArrayList<>();
        for (Slot s : slots(root)) {
            if (s.value() instanceof JsonObject o && o.has("class_name") && o.get("config") instanceof JsonObject c && c.has("name")) {
                out.add(o);
            }
        }
        return out;
    }

    private static JsonArray layerList(JsonObject root) {
        return root.get("config") instanceof JsonObject c && c.get("layers") instanceof JsonArray a ? a : null;
    }

    private static JsonElement nested(int depth, boolean objects) {
        JsonElement e = new JsonPrimitive(1);
        for (int i = 0; i < depth; i++) {
            if (objects) {
                JsonObject o = new JsonObject();
                o.add("a", e);
                e = o;
            } else {
                JsonArray a = new JsonArray();
                a.add(e);
                e = a;
            }
        }
        return e;
    }

    /** Mutations of a parsed model config; each changes it in place and describes the change, or returns null when it does not apply. */
    static Map<String, BiFunction<JsonObject, Random, String>> jsonMutations() {
        Map<String, BiFunction<JsonObject, Random, String>> ms = new LinkedHashMap<>();
        ms.put("units changed", (o, r) -> {
            List<JsonObject> withUnits = layers(o).stream().map(x -> x.getAsJsonObject("config")).filter(c -> c.has("units")).toList();
            JsonObject c = pick(withUnits, r);
            if (c == null) {
                return null;
            }
            long u = c.get("units").getAsLong();
            long n = new long[] {u + 1, u - 1, 2 * u, 0, -1, 1L << 31, 1_000_000_000L}[r.nextInt(7)];
            c.addProperty("units", n);
            return "layer '" + c.get("name").getAsString() + "' units " + u + " -> " + n;
        });
        ms.put("number made odd", (o, r) -> {
            Slot s = pick(slots(o).stream().filter(x -> x.value() instanceof JsonPrimitive p && p.isNumber()).toList(), r);
            if (s == null) {
                return null;
            }
            double d = ODD_NUMBERS[r.nextInt(ODD_NUMBERS.length)];
            s.set(new JsonPrimitive(d));
            return (s.key() == null ? "[" + s.index() + "]" : "\"" + s.key() + "\"") + " " + s.value() + " -> " + d;
        });
        ms.put("value of the wrong type", (o, r) -> {
            Slot s = pick(slots(o), r);
            if (s == null) {
                return null;
            }
            JsonElement[] odd = {new JsonPrimitive("7"), new JsonArray(), new JsonObject(), JsonNull.INSTANCE, new JsonPrimitive(true),
                    new JsonPrimitive(3), JsonParser.parseString("[1, [2], {\"a\": null}]"), JsonParser.parseString("{\"class_name\": \"LSTM\"}")};
            JsonElement v = odd[r.nextInt(odd.length)];
            s.set(v);
            return (s.key() == null ? "[" + s.index() + "]" : "\"" + s.key() + "\"") + " -> " + v;
        });
        ms.put("unknown layer class", (o, r) -> {
            JsonObject l = pick(layers(o), r);
            if (l == null) {
                return null;
            }
            String cls = pick(List.of("Conv9D", "", "Sequential", "Functional", "InputLayer", "Bidirectional", "TimeDistributed", "LSTM",
                    "GRU", "Dense", "Lambda", "__keras_tensor__", "Reshape", "Concatenate"), r);
            String was = l.get("class_name").toString();
            l.addProperty("class_name", cls);
            return "layer class " + was + " -> '" + cls + "'";
        });
        ms.put("key removed", (o, r) -> {
            Slot s = pick(slots(o).stream().filter(x -> x.key() != null).toList(), r);
            if (s == null) {
                return null;
            }
            ((JsonObject) s.parent()).remove(s.key());
            return "\"" + s.key() + "\" removed";
        });
        ms.put("layer removed or duplicated", (o, r) -> {
            JsonArray a = layerList(o);
            if (a == null || a.isEmpty()) {
                return null;
            }
            int i = r.nextInt(a.size());
            if (r.nextBoolean()) {
                a.remove(i);
                return "layer " + i + " removed";
            }
            a.add(a.get(i).deepCopy());
            return "layer " + i + " duplicated at the end";
        });
        ms.put("layer reference renamed", (o, r) -> {
            List<String> names = layers(o).stream().map(x -> x.getAsJsonObject("config").get("name")).filter(n -> n instanceof JsonPrimitive)
                    .map(JsonElement::getAsString).toList();
            List<Slot> refs = slots(o).stream().filter(x -> x.value() instanceof JsonPrimitive p && p.isString()
                    && names.contains(p.getAsString()) && !"name".equals(x.key())).toList();
            Slot s = pick(refs, r);
            if (s == null) {
                return null;
            }
            // Another layer (a later one reads as a cycle), the same one, or none at all.
            String to = r.nextInt(3) == 0 ? "ghost" : pick(names, r);
            s.set(new JsonPrimitive(to));
            return "reference to '" + s.value().getAsString() + "' -> '" + to + "'";
        });
        ms.put("input shape huge", (o, r) -> {
            List<Slot> shapes = slots(o).stream().filter(x -> x.key() != null && x.key().matches("batch_input_shape|batch_shape|input_shape"
                    + "|build_input_shape|target_shape|dims|n") && x.value().isJsonArray()).toList();
            Slot s = pick(shapes, r);
            if (s == null) {
                return null;
            }
            JsonArray a = s.value().getAsJsonArray().deepCopy();
            double d = new double[] {1e9, 2147483647, 4294967296.0, -5, 0, 1e18}[r.nextInt(6)];
            if (a.isEmpty() || r.nextInt(4) == 0) {
                a.add(d);
            } else {
                a.set(r.nextInt(a.size()), new JsonPrimitive(d));
            }
            s.set(a);
            return "\"" + s.key() + "\" -> " + a;
        });
        ms.put("nesting bomb", (o, r) -> {
            Slot s = pick(slots(o), r);
            if (s == null) {
                return null;
            }
            int depth = new int[] {50, 99, 101, 3000}[r.nextInt(4)];
            boolean objects = r.nextBoolean();
            s.set(nested(depth, objects));
            return (s.key() == null ? "[" + s.index() + "]" : "\"" + s.key() + "\"") + " -> " + depth + " nested " + (objects ? "objects" : "lists");
        });
        ms.put("wrapper nesting", (o, r) -> {
            JsonArray a = layerList(o);
            if (a == null || a.isEmpty()) {
                return null;
            }
            int i = r.nextInt(a.size());
            JsonElement inner = a.get(i);
            String wrapper = r.nextBoolean() ? "Bidirectional" : "TimeDistributed";
            int depth = 1 + r.nextInt(40);
            for (int k = 0; k < depth; k++) {
                JsonObject cfg = new JsonObject();
                cfg.addProperty("name", "wrap" + k);
                cfg.add("layer", inner);
                JsonObject w = new JsonObject();
                w.addProperty("class_name", wrapper);
                w.add("config", cfg);
                inner = w;
            }
            a.set(i, inner);
            return "layer " + i + " wrapped in " + depth + " " + wrapper + " layers";
        });
        return ms;
    }

    // ---- .keras

    /** Decompression bombs' contents, made once (their deflated forms are cached by {@link MutantHarness#deflate}). */
    private static final byte[] SPACES = filled(80 << 20, ' ');
    private static final byte[] ZEROS = filled(40 << 20, 0);

    private static byte[] filled(int n, int v) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) v);
        return b;
    }

    private static Map<String, byte[]> entries(Path file) throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(file.toFile())) {
            for (ZipEntry e : java.util.Collections.list(z.entries())) {
                try (InputStream in = z.getInputStream(e)) {
                    m.put(e.getName(), in.readAllBytes());
                }
            }
        }
        return m;
    }

    private static List<ZipPart> parts(Map<String, byte[]> m, boolean deflate) {
        List<ZipPart> l = new ArrayList<>();
        m.forEach((k, v) -> l.add(new ZipPart(k, v, deflate)));
        return l;
    }

    static List<Mutant> archiveMutants(Path file, byte[] original, Random r) throws IOException {
        Map<String, byte[]> entries = entries(file);
        byte[] weights = entries.get("model.weights.h5");
        String config = new String(entries.get("config.json"), StandardCharsets.UTF_8);
        List<Mutant> l = new ArrayList<>(MutantHarness.byteMutants(original, 3 * VARIANTS, r));
        // The weights' HDF5, bytes and structure.
        for (Mutant m : MutantHarness.byteMutants(weights, 3 * VARIANTS, r)) {
            Map<String, byte[]> e = new LinkedHashMap<>(entries);
            e.put("model.weights.h5", m.bytes());
            l.add(new Mutant("model.weights.h5 " + m.what(), MutantHarness.zip(parts(e, r.nextBoolean()), null, 0)));
        }
        for (Mutant m : hdf5StructureMutants(weights, r, "model.weights.h5 ")) {
            Map<String, byte[]> e = new LinkedHashMap<>(entries);
            e.put("model.weights.h5", m.bytes());
            l.add(new Mutant(m.what(), MutantHarness.zip(parts(e, false), null, 0)));
        }
        // config.json.
        for (Map.Entry<String, BiFunction<JsonObject, Random, String>> en : jsonMutations().entrySet()) {
            for (int v = 0; v < VARIANTS; v++) {
                JsonObject o = JsonParser.parseString(config).getAsJsonObject();
                String what = en.getValue().apply(o, r);
                if (what != null) {
                    Map<String, byte[]> e = new LinkedHashMap<>(entries);
                    e.put("config.json", o.toString().getBytes(StandardCharsets.UTF_8));
                    l.add(new Mutant("config.json " + en.getKey() + ": " + what, MutantHarness.zip(parts(e, r.nextBoolean()), null, 0)));
                }
            }
        }
        // Many layers: 10,000 Dropout layers after the input of a Sequential model, read in linear time and memory
        // (about 6.5 KiB of allocation per layer: 65 MiB here, from a file of 30 KiB whose JSON deflates 25:1).
        JsonObject many = JsonParser.parseString(config).getAsJsonObject();
        JsonArray manyLayers = layerList(many);
        if ("Sequential".equals(many.get("class_name").getAsString()) && manyLayers != null && !manyLayers.isEmpty()) {
            int at = manyLayers.get(0).getAsJsonObject().get("class_name").getAsString().equals("InputLayer") ? 1 : 0;
            JsonArray grown = new JsonArray();
            for (int i = 0; i < manyLayers.size(); i++) {
                if (i == at) {
                    for (int k = 0; k < 10_000; k++) {
                        grown.add(JsonParser.parseString("{\"class_name\": \"Dropout\", \"config\": {\"name\": \"many_" + k + "\", \"rate\": 0.5}}"));
                    }
                }
                grown.add(manyLayers.get(i));
            }
            many.getAsJsonObject("config").add("layers", grown);
            Map<String, byte[]> e = new LinkedHashMap<>(entries);
            e.put("config.json", many.toString().getBytes(StandardCharsets.UTF_8));
            l.add(new Mutant("config.json with 10,000 Dropout layers", MutantHarness.zip(parts(e, true), null, 0)));
        }
        Map<String, byte[]> deep = new LinkedHashMap<>(entries);
        deep.put("config.json", ("{\"a\": " + "[".repeat(200_000) + "]".repeat(200_000) + "}").getBytes(StandardCharsets.UTF_8));
        l.add(new Mutant("config.json nested 200,000 lists deep", MutantHarness.zip(parts(deep, true), null, 0)));
        Map<String, byte[]> meta = new LinkedHashMap<>(entries);
        meta.put("metadata.json", pick(List.of("{\"keras_version\": 3}", "{\"keras_version\": \"2.15\"}", "[]", "{\"keras_version\": null}",
                "{", "{\"keras_version\": \"" + "9".repeat(100_000) + "\"}"), r).getBytes(StandardCharsets.UTF_8));
        l.add(new Mutant("metadata.json replaced", MutantHarness.zip(parts(meta, false), null, 0)));
        // Entry names that leave the archive, duplicates, entries dropped.
        for (String evil : List.of("../evil.txt", "a/../../evil.txt", "/etc/evil", "C:\\evil", "sub\\..\\..\\evil", "model.weights.h5/../..")) {
            List<ZipPart> p = parts(entries, false);
            p.add(r.nextInt(p.size() + 1), new ZipPart(evil, new byte[] {1}, false));
            l.add(new Mutant("entry '" + evil + "' added", MutantHarness.zip(p, null, 0)));
        }
        for (String dup : List.of("config.json", "model.weights.h5", "metadata.json")) {
            List<ZipPart> p = parts(entries, false);
            byte[] other = dup.equals("config.json") ? "{\"class_name\": \"Sequential\", \"config\": {\"layers\": []}}".getBytes(StandardCharsets.UTF_8)
                    : dup.equals("model.weights.h5") ? Arrays.copyOf(weights, weights.length / 2) : "{}".getBytes(StandardCharsets.UTF_8);
            p.add(new ZipPart(dup, other, false));
            l.add(new Mutant("entry '" + dup + "' twice", MutantHarness.zip(p, null, 0)));
        }
        for (String drop : List.of("config.json", "model.weights.h5", "metadata.json")) {
            Map<String, byte[]> e = new LinkedHashMap<>(entries);
            e.remove(drop);
            l.add(new Mutant("entry '" + drop + "' dropped", MutantHarness.zip(parts(e, false), null, 0)));
        }
        // Decompression bombs: over the limit as declared; declared small but inflating large; an
        // impossible ratio; and a size that lies the other way (declared large, holding little).
        byte[] cfg = entries.get("config.json");
        l.add(new Mutant("config.json of 80 MiB of spaces (deflated)", MutantHarness.zip(
                List.of(new ZipPart("config.json", SPACES, true), new ZipPart("model.weights.h5", weights, false)), null, 0)));
        // Under every declared limit, at deflate's best ratio: what it costs is what a small file may cost.
        l.add(new Mutant("config.json followed by 60 MiB of spaces (deflated)", MutantHarness.zip(
                List.of(ZipPart.padded("config.json", cfg, (60 << 20) - cfg.length, (byte) ' '), new ZipPart("model.weights.h5", weights, false)),
                null, 0)));
        for (String lie : List.of("config.json", "model.weights.h5")) {
            List<ZipPart> p = new ArrayList<>(List.of(new ZipPart("config.json", cfg, true),
                    new ZipPart("model.weights.h5", lie.equals("model.weights.h5") ? ZEROS : weights, true)));
            if (lie.equals("config.json")) {
                p.set(0, new ZipPart("config.json", SPACES, true));
            }
            long stated = lie.equals("config.json") ? cfg.length : weights.length;
            l.add(new Mutant("entry '" + lie + "' inflates far beyond its stated " + stated + " bytes", MutantHarness.zip(p, lie, stated)));
        }
        l.add(new Mutant("model.weights.h5 states 2^31-1 bytes", MutantHarness.zip(parts(entries, true), "model.weights.h5", Integer.MAX_VALUE)));
        l.add(new Mutant("config.json states 1 GiB stored", MutantHarness.zip(parts(entries, false), "config.json", 1L << 30)));
        return l;
    }
}
