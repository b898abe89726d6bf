package io.lstmx.tests;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.FormatReader;
import io.lstmx.importers.pytorch.StateDictReader;
import io.lstmx.importers.pytorch.TorchScriptReader;
import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Damaged and hostile torch.save files, made from every file under fixtures/pytorch by seeded
 * mutations: of the pickle inside a zip (bit flips, bytes set to edge values, deletions, insertions,
 * duplications, truncation, small integers made huge), of a storage entry (cut short, grown), of the
 * raw zip bytes, and of legacy files (mostly in their pickles). TorchScript archives
 * (fixtures/pytorch/torchscript, traced and scripted, read by the TorchScript reader) get the same
 * and more: their code/*.py files mutated byte-wise and line-wise (lines deleted, duplicated,
 * swapped, names and numbers replaced), their constants.pkl mutated, zip entries dropped. Reading each mutant must either
 * succeed, and then the model must compile and run on small inputs, or fail with a one-line
 * BAD_INPUT or UNSUPPORTED {@link LstmxException} naming the file; within a time limit and without
 * large allocations. Nothing may be written beside the mutants.
 */
class PytorchCorruptFilesTest {
    private static final long SEED = Long.getLong("lstmx.fuzz.seed", 0x7042_C0_44L);
    private static final int MUTANTS = Integer.getInteger("lstmx.fuzz.pytorchMutants", 40);
    private static final Duration TIME_LIMIT = Duration.ofSeconds(60);
    /** The seeds hold well under 1 MiB; a missed size check allocates far more. */
    private static final long ALLOCATION_BUDGET = 128L << 20;
    private static final StateDictReader READER = new StateDictReader();
    private static final TorchScriptReader SCRIPT_READER = new TorchScriptReader();
    /** TorchScript archives mutated (of the fixtures' 36, every third: traced and scripted, LSTM, GRU, RNN, cells, ops). */
    private static final int SCRIPT_STRIDE = Integer.getInteger("lstmx.fuzz.scriptStride", 3);

    @TempDir
    static Path tmp;

    private static int loadedTotal;
    private static int refusedTotal;

    record Seed(String id, Path file, ReadOptions options, boolean script) {
    }

    static List<Seed> seeds() throws IOException {
        List<Seed> seeds = new ArrayList<>();
        Path root = TestFiles.fixtures().resolve("pytorch");
        for (Path dir : FixtureCase.list(root)) {
            if (dir.getFileName().toString().equals("real") || dir.getFileName().toString().equals("torchscript")) {
                continue;
            }
            JsonObject c = PytorchStateDictFixturesTest.caseJson(dir);
            for (JsonElement f : c.getAsJsonArray("files")) {
                JsonObject file = f.getAsJsonObject();
                String name = file.get("file").getAsString();
                seeds.add(new Seed(dir.getFileName() + "/" + name, dir.resolve(name),
                        PytorchStateDictFixturesTest.options(file.getAsJsonObject("hints")), false));
            }
        }
        assertTrue(seeds.size() >= 20, "too few seeds: " + seeds.size());
        List<Path> scripts = FixtureCase.list(root.resolve("torchscript"));
        for (int i = 0; i < scripts.size(); i += SCRIPT_STRIDE) {
            Path dir = scripts.get(i);
            seeds.add(new Seed("torchscript/" + dir.getFileName(), dir.resolve("model.pt"), ReadOptions.DEFAULT, true));
        }
        return seeds;
    }

    @TestFactory
    Stream<DynamicTest> mutantsLoadOrFailCleanly() throws IOException {
        return seeds().stream().map(s -> DynamicTest.dynamicTest(s.id(), () -> check(s)));
    }

    @AfterAll
    static void someMutantsLoadAndSomeAreRefused() {
        System.out.printf("PytorchCorruptFilesTest: %d mutants loaded, %d refused%n", loadedTotal, refusedTotal);
        // Mutations that changed nothing, or that only ever broke files beyond recognition, would
        // make the test pass without reaching the checks past the parser.
        assertTrue(loadedTotal > 0 && refusedTotal > 0, loadedTotal + " mutants loaded, " + refusedTotal + " were refused");
    }

    private static void check(Seed s) throws IOException {
        Random rnd = new Random(SEED ^ s.id().hashCode());
        byte[] original = Files.readAllBytes(s.file());
        boolean zip = original.length > 4 && original[0] == 'P' && original[1] == 'K';
        List<byte[]> mutants = s.script() ? scriptMutants(s.file(), original, rnd)
                : zip ? zipMutants(s.file(), original, rnd) : legacyMutants(original, rnd);
        Path dir = Files.createDirectories(tmp.resolve(s.id().replaceAll("[^A-Za-z0-9_.-]", "_")));
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < mutants.size(); i++) {
            Path f = dir.resolve(String.format("m%03d.pt", i));
            Files.write(f, mutants.get(i));
            String what = s.id() + " #" + i;
            try {
                assertTimeoutPreemptively(TIME_LIMIT, () -> attempt(s.script() ? SCRIPT_READER : READER, f, s.options(), what, failures),
                        () -> "hangs: " + what);
            } catch (AssertionFailedError e) {
                failures.add("timeout: " + e.getMessage());
            }
            Files.delete(f);
        }
        try (Stream<Path> left = Files.list(dir)) {
            List<Path> l = left.toList();
            if (!l.isEmpty()) {
                failures.add("files were written: " + l);
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " mutants failed unclean:\n" + String.join("\n", failures.subList(0, Math.min(8, failures.size()))));
        }
    }

    private static void attempt(FormatReader reader, Path f, ReadOptions options, String what, List<String> failures) {
        long before = allocated();
        Model model;
        try {
            model = reader.read(f, options);
        } catch (LstmxException e) {
            synchronized (PytorchCorruptFilesTest.class) {
                refusedTotal++;
            }
            check(e, f.toString(), "read", what, failures);
            return;
        } catch (Throwable t) {
            failures.add("read threw " + describe(t) + ": " + what);
            return;
        } finally {
            checkAllocation(before, "read", what, failures);
        }
        synchronized (PytorchCorruptFilesTest.class) {
            loadedTotal++;
        }
        before = allocated();
        try {
            CompiledModel c = NativeRuntime.compile(model);
            Map<String, Tensor> inputs = inputs(model);
            if (inputs != null) {
                c.run(inputs);
            }
        } catch (LstmxException e) {
            check(e, null, "run", what, failures);
        } catch (Throwable t) {
            failures.add("run threw " + describe(t) + ": " + what);
        } finally {
            checkAllocation(before, "run", what, failures);
        }
    }

    private static void check(LstmxException e, String file, String stage, String what, List<String> failures) {
        String m = String.valueOf(e.getMessage());
        if (e.code() != ErrorCode.BAD_INPUT && e.code() != ErrorCode.UNSUPPORTED) {
            failures.add(stage + " refused with " + e.code() + ": " + what + ": " + m);
        } else if (m.contains("\n") || m.contains("\r")) {
            failures.add(stage + " message has several lines: " + what);
        } else if (file != null && !m.contains(file)) {
            failures.add(stage + " message does not name the file: " + what + ": " + m);
        }
    }

    private static void checkAllocation(long before, String stage, String what, List<String> failures) {
        long used = allocated() - before;
        if (before >= 0 && used > ALLOCATION_BUDGET) {
            failures.add(stage + " allocated " + (used >> 20) + " MiB: " + what);
        }
    }

    private static long allocated() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean b) {
            return b.getCurrentThreadAllocatedBytes();
        }
        return -1;
    }

    private static String describe(Throwable t) {
        StackTraceElement at = Arrays.stream(t.getStackTrace()).filter(e -> e.getClassName().startsWith("io.lstmx")).findFirst().orElse(null);
        return t.getClass().getSimpleName() + " (" + t.getMessage() + ")" + (at == null ? "" : " at " + at);
    }

    /** Small inputs of the model's declared shapes: symbolic batch 2, time 3; token ids 0. */
    private static Map<String, Tensor> inputs(Model m) {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (ValueInfo v : m.inputs()) {
            int[] shape = new int[v.shape().rank()];
            long n = 1;
            for (int i = 0; i < shape.length; i++) {
                Dim d = v.shape().dim(i);
                shape[i] = d instanceof Dim.Fixed fx ? (int) Math.min(fx.size(), Integer.MAX_VALUE)
                        : ((Dim.Symbolic) d).name().equals("time") ? 3 : 2;
                n *= Math.max(shape[i], 1);
            }
            if (n > 1 << 16) {
                return null;
            }
            if (v.dtype() == DType.INT64) {
                in.put(v.name(), Tensor.ofLongs(shape, new long[(int) n]));
            } else {
                float[] x = new float[(int) n];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) Math.sin(i);
                }
                in.put(v.name(), Tensor.ofFloats(shape, x));
            }
        }
        return in;
    }

    // ---- mutants

    private static List<byte[]> zipMutants(Path file, byte[] original, Random rnd) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(file.toFile())) {
            var it = z.entries();
            while (it.hasMoreElements()) {
                ZipEntry e = it.nextElement();
                try (InputStream in = z.getInputStream(e)) {
                    entries.put(e.getName(), in.readAllBytes());
                }
            }
        }
        String pkl = entries.keySet().stream().filter(n -> n.endsWith("data.pkl")).findFirst().orElseThrow();
        List<String> storages = entries.keySet().stream().filter(n -> n.contains("/data/")).toList();
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < MUTANTS; i++) {
            Map<String, byte[]> m = new LinkedHashMap<>(entries);
            int kind = i % 10;
            if (kind < 7) {
                m.put(pkl, mutate(entries.get(pkl), rnd, 0, entries.get(pkl).length));
            } else if (kind < 9 && !storages.isEmpty()) {
                String s = storages.get(rnd.nextInt(storages.size()));
                byte[] b = entries.get(s);
                m.put(s, rnd.nextBoolean() ? Arrays.copyOf(b, rnd.nextInt(b.length + 1)) : Arrays.copyOf(b, b.length + 1 + rnd.nextInt(64)));
            } else {
                out.add(mutate(original, rnd, 0, original.length));
                continue;
            }
            out.add(zip(m));
        }
        return out;
    }

    /** TorchScript archives: the pickles, the code, constants.pkl, storages, entries, raw bytes. */
    private static List<byte[]> scriptMutants(Path file, byte[] original, Random rnd) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(file.toFile())) {
            var it = z.entries();
            while (it.hasMoreElements()) {
                ZipEntry e = it.nextElement();
                try (InputStream in = z.getInputStream(e)) {
                    entries.put(e.getName(), in.readAllBytes());
                }
            }
        }
        String pkl = entries.keySet().stream().filter(n -> n.endsWith("/data.pkl")).findFirst().orElseThrow();
        String consts = entries.keySet().stream().filter(n -> n.endsWith("/constants.pkl")).findFirst().orElse(pkl);
        List<String> code = entries.keySet().stream().filter(n -> n.contains("/code/") && n.endsWith(".py")).toList();
        List<String> storages = entries.keySet().stream().filter(n -> n.contains("/data/") || n.contains("/constants/")).toList();
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < MUTANTS; i++) {
            Map<String, byte[]> m = new LinkedHashMap<>(entries);
            int kind = i % 10;
            String c = code.get(rnd.nextInt(code.size()));
            switch (kind) {
                case 0, 1 -> m.put(pkl, mutate(entries.get(pkl), rnd, 0, entries.get(pkl).length));
                case 2, 3 -> m.put(c, mutate(entries.get(c), rnd, 0, entries.get(c).length));
                case 4, 5, 6 -> m.put(c, mutateLines(entries.get(c), rnd));
                case 7 -> m.put(consts, mutate(entries.get(consts), rnd, 0, entries.get(consts).length));
                case 8 -> {
                    if (rnd.nextBoolean() && !storages.isEmpty()) {
                        String s = storages.get(rnd.nextInt(storages.size()));
                        byte[] b = entries.get(s);
                        m.put(s, rnd.nextBoolean() ? Arrays.copyOf(b, rnd.nextInt(b.length + 1)) : Arrays.copyOf(b, b.length + 1 + rnd.nextInt(64)));
                    } else {
                        List<String> names = new ArrayList<>(m.keySet());
                        m.remove(names.get(rnd.nextInt(names.size())));
                    }
                }
                default -> {
                    out.add(mutate(original, rnd, 0, original.length));
                    continue;
                }
            }
            out.add(zip(m));
        }
        return out;
    }

    /** Structure-aware mutations of printed code: lines deleted, duplicated or swapped; a name, number or operator replaced. */
    static byte[] mutateLines(byte[] code, Random rnd) {
        List<String> lines = new ArrayList<>(Arrays.asList(new String(code, java.nio.charset.StandardCharsets.UTF_8).split("\n", -1)));
        int n = lines.size();
        int a = rnd.nextInt(n);
        int b = rnd.nextInt(n);
        switch (rnd.nextInt(7)) {
            case 0 -> lines.remove(a);
            case 1 -> lines.add(a, lines.get(b));
            case 2 -> {
                String t = lines.get(a);
                lines.set(a, lines.get(b));
                lines.set(b, t);
            }
            case 3 -> lines.set(a, lines.get(a).replaceFirst("[0-9]+", String.valueOf(
                    new long[] {0, -1, 1 << 20, Long.MAX_VALUE, 1_000_000_000_000L, 46341}[rnd.nextInt(6)])));
            case 4 -> {
                // A name replaced by another name of the file (a method, an attribute, an operator).
                String[] words = String.join("\n", lines).split("[^A-Za-z0-9_.]+");
                String w = words[rnd.nextInt(words.length)];
                lines.set(a, lines.get(a).replaceFirst("[A-Za-z_][A-Za-z0-9_.]*", java.util.regex.Matcher.quoteReplacement(w)));
            }
            case 5 -> lines.set(a, lines.get(a).replaceFirst("\\(", rnd.nextBoolean() ? "((" : "(self).forward("));
            default -> lines.set(a, " ".repeat(rnd.nextInt(6)) + lines.get(a).stripLeading());
        }
        return String.join("\n", lines).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static List<byte[]> legacyMutants(byte[] original, Random rnd) {
        List<byte[]> out = new ArrayList<>();
        // The pickles come first; most mutants hit them, a few hit the storages.
        int pickles = Math.max(16, original.length / 3);
        for (int i = 0; i < MUTANTS; i++) {
            out.add(i % 5 == 4 ? mutate(original, rnd, 0, original.length) : mutate(original, rnd, 0, Math.min(pickles, original.length)));
        }
        return out;
    }

    /** One byte-level mutation inside [from, to). */
    private static byte[] mutate(byte[] b, Random rnd, int from, int to) {
        int at = from + rnd.nextInt(Math.max(1, to - from));
        byte[] r;
        switch (rnd.nextInt(8)) {
            case 0 -> {
                r = b.clone();
                r[at] ^= (byte) (1 << rnd.nextInt(8));
            }
            case 1 -> {
                r = b.clone();
                byte[] edges = {0, (byte) 0xff, 0x7f, (byte) 0x80, '.', '(', 'R', 'b'};
                r[at] = edges[rnd.nextInt(edges.length)];
            }
            case 2 -> {
                int n = Math.min(1 + rnd.nextInt(16), b.length - at);
                r = new byte[b.length - n];
                System.arraycopy(b, 0, r, 0, at);
                System.arraycopy(b, at + n, r, at, b.length - at - n);
            }
            case 3 -> {
                byte[] ins = new byte[1 + rnd.nextInt(8)];
                rnd.nextBytes(ins);
                r = new byte[b.length + ins.length];
                System.arraycopy(b, 0, r, 0, at);
                System.arraycopy(ins, 0, r, at, ins.length);
                System.arraycopy(b, at, r, at + ins.length, b.length - at);
            }
            case 4 -> r = Arrays.copyOf(b, at);
            case 5 -> {
                int n = Math.min(1 + rnd.nextInt(32), b.length - at);
                ByteArrayOutputStream o = new ByteArrayOutputStream();
                o.write(b, 0, at + n);
                o.write(b, at, n);
                o.write(b, at + n, b.length - at - n);
                r = o.toByteArray();
            }
            default -> {
                // Make a small integer huge: after a BININT1 'K' put BININT 'J' with a large value.
                r = b.clone();
                for (int i = at; i < r.length - 1; i++) {
                    if (r[i] == 'K') {
                        byte[] big = {'J', (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) (rnd.nextBoolean() ? 0x7f : 0x0f)};
                        ByteArrayOutputStream o = new ByteArrayOutputStream();
                        o.write(r, 0, i);
                        o.write(big, 0, big.length);
                        o.write(r, i + 2, r.length - i - 2);
                        return o.toByteArray();
                    }
                }
                r[at] = (byte) rnd.nextInt(256);
            }
        }
        return r;
    }

    private static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bo)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setMethod(ZipEntry.STORED);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                ze.setSize(e.getValue().length);
                ze.setCompressedSize(e.getValue().length);
                ze.setCrc(crc.getValue());
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bo.toByteArray();
    }
}
