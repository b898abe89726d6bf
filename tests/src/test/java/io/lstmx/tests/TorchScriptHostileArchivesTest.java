package io.lstmx.tests;

import io.lstmx.api.Lstmx;
import io.lstmx.cli.CliBridge;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Hostile TorchScript archives, each made from a real fixture archive (nn.LSTM traced by PyTorch
 * 1.13) by rewriting entries: code that never ends (recursion, while True, range(10^12),
 * exponential call trees, values that double), code files over the size limit, pickles that name
 * posix.system or builtins.eval, classes without code, tensors larger than their storages,
 * recursion bombs, entries that leave the archive, decompression bombs, unknown operators. Each is
 * read through the library (format detected) and through the CLI's {@code convert}: refused with
 * the right exit code (2 BAD_INPUT or 3 UNSUPPORTED), one line naming the file, fast, nothing
 * written, nothing run.
 */
class TorchScriptHostileArchivesTest {
    /**
     * Per archive; most take milliseconds (measured times are printed). The exponential call tree
     * runs all of the interpreter's 2,000,000 steps (about a second on a quiet machine); the limit
     * leaves room for a 2-core machine shared with other builds, and the bound that matters, the
     * step count, is what its message names.
     */
    private static final Duration TIME_LIMIT = Duration.ofSeconds(15);
    /**
     * Allocated by one read, garbage included: the interpreter's 2,000,000 steps (an exponential
     * call tree runs them all) allocate about 1 GiB of short-lived frames; a missed bound allocates
     * without end.
     */
    private static final long ALLOCATION_BUDGET = 2L << 30;
    private static final String BASE = "lstm_uni_y_traced";
    private static final String TOP = "model/code/__torch__.py";

    @TempDir
    static Path tmp;

    private static Map<String, byte[]> base;
    private static final Map<String, Long> MILLIS = new LinkedHashMap<>();

    @BeforeAll
    static void readBase() throws IOException {
        base = entries(TestFiles.fixtures().resolve("pytorch/torchscript/" + BASE + "/model.pt"));
        assertTrue(base.containsKey(TOP), base.keySet().toString());
    }

    @AfterAll
    static void report() {
        System.out.println("TorchScriptHostileArchivesTest: ms per archive (library read): " + MILLIS);
    }

    static Map<String, byte[]> entries(Path zip) throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            for (ZipEntry e : z.stream().toList()) {
                try (InputStream in = z.getInputStream(e)) {
                    m.put(e.getName(), in.readAllBytes());
                }
            }
        }
        return m;
    }

    static byte[] zip(Map<String, byte[]> entries, int method) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bo)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setMethod(method);
                if (method == ZipEntry.STORED) {
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    ze.setSize(e.getValue().length);
                    ze.setCompressedSize(e.getValue().length);
                    ze.setCrc(crc.getValue());
                }
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bo.toByteArray();
    }

    // ---- what a case is

    record Case(String name, ErrorCode code, List<String> fragments, byte[] archive) {
    }

    private static final List<Case> CASES = new ArrayList<>();

    private static void add(String name, ErrorCode code, byte[] archive, String... fragments) {
        CASES.add(new Case(name, code, List.of(fragments), archive));
    }

    private static byte[] with(Consumer<Map<String, byte[]>> change) {
        Map<String, byte[]> m = new LinkedHashMap<>(base);
        change.accept(m);
        try {
            return zip(m, ZipEntry.STORED);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] withTop(String forwardBody, String more) {
        String code = """
                class YOnly(Module):
                  __parameters__ = []
                  __buffers__ = []
                  training : bool
                  _is_full_backward_hook : Optional[bool]
                  rnn : __torch__.torch.nn.modules.rnn.LSTM
                  def forward(self: __torch__.YOnly,
                    x: Tensor) -> Tensor:
                """ + forwardBody + more;
        return with(m -> m.put(TOP, code.getBytes(StandardCharsets.UTF_8)));
    }

    private static byte[] withDataPkl(byte[] pkl) {
        return with(m -> m.put("model/data.pkl", pkl));
    }

    /** data.pkl: the YOnly module with attribute rnn set to the value {@code rnn} writes. */
    private static byte[] moduleWith(Consumer<P> rnn) {
        P p = P.proto2().global("__torch__", "YOnly").op(')').op(0x81).op('}').op('(');
        p.str("training").op(0x89).str("rnn");
        rnn.accept(p);
        return p.op('u').op('b').op('.').bytes();
    }

    private static void buildCases() {
        // ---- code that would never end, or whose values grow without bound
        add("recursion", ErrorCode.BAD_INPUT, withTop("    return (self).forward(x, )\n", ""), "nested more than");
        // Each of the 64 nested calls under an expression 190 deep: the Java stack holds both.
        add("recursion under deep expressions", ErrorCode.BAD_INPUT, withTop("    return " + "- ".repeat(190) + "(self).forward(x, )\n", ""),
                "nested more than");
        add("function recursion", ErrorCode.BAD_INPUT, withTop("    return __torch__.loop(x, )\n",
                "def loop(x: Tensor) -> Tensor:\n  return __torch__.loop(x, )\n"), "nested more than");
        add("while True", ErrorCode.BAD_INPUT, withTop("    while True:\n      pass\n    return x\n", ""), "iterations");
        add("for over range(10^12)", ErrorCode.BAD_INPUT, withTop("    for i in range(1000000000000):\n      pass\n    return x\n", ""),
                "iterations");
        add("nested loops", ErrorCode.BAD_INPUT,
                withTop("    for i in range(100000):\n      for j in range(100000):\n        pass\n    return x\n", ""), "iterations");
        StringBuilder tree = new StringBuilder();
        for (int k = 0; k < 40; k++) {
            tree.append("  def f").append(k).append("(self: __torch__.YOnly, x: Tensor) -> Tensor:\n");
            if (k < 39) {
                tree.append("    _0 = (self).f").append(k + 1).append("(x, )\n    _1 = (self).f").append(k + 1).append("(x, )\n");
            }
            tree.append("    return x\n");
        }
        add("exponential call tree", ErrorCode.BAD_INPUT, withTop("    return (self).f0(x, )\n", tree.toString()), "steps");
        add("a list that doubles", ErrorCode.BAD_INPUT,
                withTop("    l = [1]\n    for i in range(64):\n      l = l + l\n    return x\n", ""), "");
        add("a string that doubles", ErrorCode.BAD_INPUT,
                withTop("    s = \"ab\"\n    for i in range(64):\n      s = s + s\n    return x\n", ""), "");
        add("int overflow", ErrorCode.BAD_INPUT, withTop("    n = 9223372036854775807 + 1\n    return x\n", ""), "");
        add("int overflow in a product", ErrorCode.BAD_INPUT, withTop("    n = 4611686018427387904 * 4\n    return x\n", ""), "");
        add("zeros of 2^30 elements", ErrorCode.UNSUPPORTED,
                withTop("    z = torch.zeros([32768, 32768], dtype=6, layout=None, device=None, pin_memory=False)\n"
                        + "    return torch.mul(x, z)\n", ""), "");
        // ---- code files
        byte[] big = new byte[(4 << 20) + 1];
        Arrays.fill(big, (byte) '\n');
        add("code file over the size limit", ErrorCode.BAD_INPUT, with(m -> m.put(TOP, big)), TOP);
        byte[] pad = new byte[7 << 19];
        Arrays.fill(pad, (byte) '\n');
        add("code files together over the size limit", ErrorCode.BAD_INPUT, with(m -> {
            for (int k = 0; k < 5; k++) {
                m.put("model/code/__torch__/pad" + k + ".py", pad);
            }
        }), "together exceed");
        add("code that is not UTF-8", ErrorCode.BAD_INPUT, with(m -> m.put(TOP, new byte[] {'x', ' ', '=', ' ', (byte) 0xc3, '\n'})),
                "not UTF-8");
        add("code with NUL", ErrorCode.BAD_INPUT, with(m -> m.put(TOP, "class A(Module):\n  x : int\n\0\n".getBytes(StandardCharsets.UTF_8))),
                "line 3");
        add("code file named like no module", ErrorCode.BAD_INPUT, with(m -> m.put("model/code/__torch__/a-b.py", "x = 1\n".getBytes())),
                "not named like a Python module");
        add("code 10^5 brackets deep", ErrorCode.BAD_INPUT, withTop("    return " + "(".repeat(100_000) + "\n", ""), "nested more than");
        add("code with a 10^6-long unary chain", ErrorCode.BAD_INPUT, withTop("    return " + "- ".repeat(1_000_000) + "x\n", ""),
                "nested more than");
        add("code with a 10^5-long operator chain", ErrorCode.BAD_INPUT, withTop("    return x" + " + x".repeat(100_000) + "\n", ""),
                "nested more than");
        // ---- pickles
        add("data.pkl calls posix.system", ErrorCode.BAD_INPUT,
                withDataPkl(P.proto2().global("posix", "system").str("touch /tmp/lstmx-pwned").op(0x85).op('R').op('.').bytes()),
                "posix.system");
        add("data.pkl calls builtins.eval", ErrorCode.BAD_INPUT,
                withDataPkl(P.proto2().global("builtins", "eval").str("__import__('os').system('true')").op(0x85).op('R').op('.').bytes()),
                "builtins.eval");
        add("an attribute calls posix.system", ErrorCode.BAD_INPUT,
                withDataPkl(moduleWith(p -> p.global("posix", "system").str("true").op(0x85).op('R'))), "posix.system");
        add("a class with no code", ErrorCode.BAD_INPUT, with(m -> m.put("model/data.pkl",
                replace(base.get("model/data.pkl"), "__torch__\nYOnly\n", "__torch__\nYOnlz\n"))), "YOnlz", "no code");
        add("a MARK flood", ErrorCode.BAD_INPUT, withDataPkl(P.proto2().repeat('(', 1_000_000).op('.').bytes()), "MARK");
        add("nested tuples", ErrorCode.BAD_INPUT, withDataPkl(moduleWith(p -> {
            p.op(')');
            for (int i = 0; i < 100_000; i++) {
                p.op(0x85);
            }
        })), "");
        add("nested lists", ErrorCode.BAD_INPUT, withDataPkl(moduleWith(p -> {
            p.repeat(']', 100_000);
            p.repeat('a', 99_999);
        })), "");
        add("a list that holds itself", ErrorCode.BAD_INPUT, withDataPkl(moduleWith(p -> p.op(']').op('q').op(9).op('h').op(9).op('a'))),
                "");
        // The code calls forward on it: a dict where a module should be.
        add("a dict that holds itself", ErrorCode.UNSUPPORTED,
                withDataPkl(moduleWith(p -> p.op('}').op('q').op(9).str("k").op('h').op(9).op('s'))), "");
        // A self-holding list read by the code.
        add("code reads a list that holds itself", ErrorCode.BAD_INPUT, with(m -> {
            m.put("model/data.pkl", moduleWith(p -> p.op(']').op('q').op(9).op('h').op(9).op('a')));
            m.put(TOP, topCode("    rnn = self.rnn\n    return x\n").getBytes(StandardCharsets.UTF_8));
        }), "");
        add("a long list read in a loop", ErrorCode.BAD_INPUT, with(m -> {
            m.put("model/data.pkl", moduleWith(p -> {
                p.op(']').op('(');
                for (int i = 0; i < 200_000; i++) {
                    p.op('K').op(1);
                }
                p.op('e');
            }));
            m.put(TOP, topCode("    for i in range(100000):\n      rnn = self.rnn\n    return x\n").getBytes(StandardCharsets.UTF_8));
        }), "steps");
        add("code makes a list that holds itself and compares it", ErrorCode.BAD_INPUT,
                withTop("    l = [1]\n    _0 = torch.append(l, l)\n    _1 = torch.eq(l, l)\n    return x\n", ""), "nested more than");
        add("int64 min // -1", ErrorCode.BAD_INPUT, withTop("    n = torch.floordiv(-9223372036854775808, -1)\n    return x\n", ""), "");
        add("constants.pkl claims a tensor of 2^40 elements", ErrorCode.BAD_INPUT, with(m -> {
            m.put("model/constants.pkl", P.proto2().op('(').tensor("0", 4, 1L << 40).op('t').op('.').bytes());
            m.put("model/constants/0", new byte[16]);
            m.put(TOP, topCode("    return torch.add(x, CONSTANTS.c0)\n").getBytes(StandardCharsets.UTF_8));
        }), "");
        add("constants.pkl claims a storage larger than its entry", ErrorCode.BAD_INPUT, with(m -> {
            m.put("model/constants.pkl", P.proto2().op('(').tensor("0", 1L << 20, 1L << 20).op('t').op('.').bytes());
            m.put("model/constants/0", new byte[16]);
            m.put(TOP, topCode("    return torch.add(x, CONSTANTS.c0)\n").getBytes(StandardCharsets.UTF_8));
        }), "");
        add("CONSTANTS.c99999", ErrorCode.BAD_INPUT, withTop("    return torch.add(x, CONSTANTS.c99999)\n", ""), "CONSTANTS.c99999");
        add("CONSTANTS.c99999999", ErrorCode.BAD_INPUT, withTop("    return torch.add(x, CONSTANTS.c99999999)\n", ""), "CONSTANTS");
        // ---- storages and the zip container
        add("a storage shorter than its tensors", ErrorCode.BAD_INPUT, with(m -> m.put("model/data/0", new byte[16])), "model/data/0");
        add("an entry with ..", ErrorCode.BAD_INPUT, with(m -> m.put("model/../../evil.py", "x = 1\n".getBytes())), "outside the archive");
        add("an absolute entry", ErrorCode.BAD_INPUT, with(m -> m.put("/etc/evil.py", "x = 1\n".getBytes())), "outside the archive");
        add("a code entry with ..", ErrorCode.BAD_INPUT, with(m -> m.put("model/code/../../x.py", "x = 1\n".getBytes())),
                "outside the archive");
        add("two data.pkl", ErrorCode.BAD_INPUT, with(m -> m.put("other/data.pkl", base.get("model/data.pkl"))), "data.pkl");
        // ---- operators lstmx does not know: all named at once
        add("unknown operators", ErrorCode.UNSUPPORTED, withTop("    _0 = torch.frobnicate(x)\n    _1 = ops.aten.wibble(_0, 3)\n"
                + "    _2 = torch.sprocket(_1)\n    return _2\n", ""), "torch.frobnicate", "ops.aten.wibble", "torch.sprocket", "line 10");
    }

    private static String topCode(String body) {
        return """
                class YOnly(Module):
                  __parameters__ = []
                  __buffers__ = []
                  training : bool
                  _is_full_backward_hook : Optional[bool]
                  rnn : __torch__.torch.nn.modules.rnn.LSTM
                  def forward(self: __torch__.YOnly,
                    x: Tensor) -> Tensor:
                """ + body;
    }

    static byte[] replace(byte[] b, String from, String to) {
        String s = new String(b, StandardCharsets.ISO_8859_1);
        assertTrue(s.contains(from), from);
        return s.replace(from, to).getBytes(StandardCharsets.ISO_8859_1);
    }

    // ---- the checks

    @Test
    void theUnchangedBaseArchiveReads() throws IOException {
        Path p = Files.write(tmp.resolve("base.pt"), zip(base, ZipEntry.STORED));
        assertEquals(Format.TORCHSCRIPT, Lstmx.detect(p));
        assertNotNull(Lstmx.read(p, null));
        // And with the top class rewritten as the cases rewrite it.
        Path q = Files.write(tmp.resolve("base2.pt"), withTop("    rnn = self.rnn\n    return (rnn).forward(x, )\n", ""));
        assertNotNull(Lstmx.read(q, null));
    }

    @TestFactory
    Stream<DynamicTest> hostileArchivesAreRefusedCleanly() {
        if (CASES.isEmpty()) {
            buildCases();
        }
        return CASES.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c)));
    }

    private static void check(Case c) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(c.name().replaceAll("[^A-Za-z0-9]+", "_")));
        Path f = Files.write(dir.resolve("model.pt"), c.archive());
        // The library, format detected as the CLI does.
        long[] took = new long[1];
        LstmxException e = assertTimeoutPreemptively(TIME_LIMIT, () -> {
            long before = allocated();
            long t0 = System.nanoTime();
            try {
                Lstmx.read(f, null);
                return null;
            } catch (LstmxException x) {
                return x;
            } catch (Throwable t) {
                throw new AssertionError(c.name() + ": threw " + t, t);
            } finally {
                took[0] = (System.nanoTime() - t0) / 1_000_000;
                long used = allocated() - before;
                assertTrue(before < 0 || used < ALLOCATION_BUDGET, c.name() + ": allocated " + (used >> 20) + " MiB");
            }
        }, () -> c.name() + ": hangs");
        synchronized (MILLIS) {
            MILLIS.put(c.name(), took[0]);
        }
        if (e == null) {
            fail(c.name() + ": was read");
        }
        String m = String.valueOf(e.getMessage());
        assertEquals(c.code(), e.code(), c.name() + ": " + m);
        assertFalse(m.contains("\n") || m.contains("\r"), c.name() + ": one line: " + m);
        assertTrue(m.contains(f.toString()), c.name() + ": names the file: " + m);
        for (String frag : c.fragments()) {
            assertTrue(m.contains(frag), c.name() + ": '" + frag + "' in: " + m);
        }
        // The CLI: exit 2 or 3, one stderr line naming the file, nothing written.
        Path out = Files.createDirectories(dir.resolve("out"));
        CliBridge.Result r = assertTimeoutPreemptively(TIME_LIMIT, () -> CliBridge.run("convert", f.toString(), out.resolve("m.onnx").toString()));
        assertEquals(c.code().exitStatus(), r.exit(), c.name() + ": " + r.err());
        List<String> lines = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), c.name() + ": one line: " + r.err());
        assertTrue(lines.get(0).startsWith(CliBridge.errorPrefix()) && lines.get(0).contains(f.toString()), r.err());
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of(), s.toList(), c.name() + ": nothing written");
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(2, s.count(), c.name() + ": nothing written beside the archive");
        }
        assertFalse(Files.exists(Path.of("/tmp/lstmx-pwned")), "posix.system was run");
    }

    private static long allocated() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean b) {
            return b.getCurrentThreadAllocatedBytes();
        }
        return -1;
    }

    // ---- decompression bombs: built once, they take a moment

    @Test
    void decompressionBombsAreRefusedBeforeInflating() throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>(base);
        byte[] spaces = new byte[64 << 20];
        Arrays.fill(spaces, (byte) '\n');
        m.put(TOP, spaces);
        byte[] honest = zip(m, ZipEntry.DEFLATED);
        assertTrue(honest.length < 1 << 20, "a bomb: " + honest.length);
        Case c = new Case("decompression bomb (sizes declared)", ErrorCode.BAD_INPUT, List.of(TOP), honest);
        check(c);
        // The same bomb declaring 100 bytes in its local and central headers.
        byte[] lying = patchSize(honest, TOP, 100);
        check(new Case("decompression bomb (sizes lie)", ErrorCode.BAD_INPUT, List.of(TOP), lying));
    }

    /** Sets the uncompressed size of entry {@code name} in its local and central headers. */
    static byte[] patchSize(byte[] zip, String name, int size) {
        byte[] z = zip.clone();
        ByteBuffer b = ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN);
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        int patched = 0;
        for (int i = 0; i + 46 + n.length <= z.length; i++) {
            int sig = b.getInt(i);
            int nameAt = sig == 0x04034b50 ? 30 : sig == 0x02014b50 ? 46 : -1;
            int sizeAt = sig == 0x04034b50 ? 22 : 24;
            if (nameAt > 0 && Arrays.equals(z, i + nameAt, i + nameAt + n.length, n, 0, n.length)
                    && (b.getShort(i + (sig == 0x04034b50 ? 26 : 28)) & 0xffff) == n.length) {
                b.putInt(i + sizeAt, size);
                patched++;
            }
        }
        assertEquals(2, patched, "local and central header of " + name);
        // A deflated entry written to a stream also has a data descriptor after it (ZipFile reads the central directory).
        return z;
    }

    // ---- a tiny pickle writer

    static final class P {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        static P proto2() {
            return new P().op(0x80).op(2);
        }

        P op(int b) {
            out.write(b);
            return this;
        }

        P repeat(int b, int n) {
            byte[] r = new byte[n];
            Arrays.fill(r, (byte) b);
            out.write(r, 0, n);
            return this;
        }

        P raw(byte[] b) {
            out.write(b, 0, b.length);
            return this;
        }

        P global(String module, String name) {
            return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        }

        P str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            return raw(b);
        }

        P integer(long v) {
            if (v >= 0 && v < 256) {
                return op('K').op((int) v);
            }
            return op(0x8a).op(8).raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        }

        /** torch._utils._rebuild_tensor_v2 of a float storage {@code key} of {@code numel}, viewed as [size]. */
        P tensor(String key, long numel, long size) {
            global("torch._utils", "_rebuild_tensor_v2").op('(');
            op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").integer(numel).op('t').op('Q');
            integer(0).op('(').integer(size).op('t').op('(').integer(1).op('t').op(0x89);
            global("collections", "OrderedDict").op(')').op('R');
            return op('t').op('R');
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
