package io.lstmx.tests;

import com.google.protobuf.ByteString;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.AttributeProto.AttributeType;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.OperatorSetIdProto;
import io.lstmx.onnx.proto.Onnx.SparseTensorProto;
import io.lstmx.onnx.proto.Onnx.StringStringEntryProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.onnx.proto.Onnx.TensorProto.DataType;
import io.lstmx.onnx.proto.Onnx.TensorShapeProto;
import io.lstmx.onnx.proto.Onnx.TypeProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Damaged and hostile ONNX files. Every real model (fixtures, ONNX conformance LSTM cases, real
 * torch exports) is mutated deterministically, byte-wise (flips, truncation, insertion, deletion)
 * and through the protobuf schema (odd LSTM attributes, huge or inconsistent initializer dims,
 * unsupported element types, undefined names, cycles, escaping external data, odd opsets, ...).
 * Loading each mutant must either succeed or fail with a one-line BAD_INPUT or UNSUPPORTED
 * {@link LstmxException} naming the file, within a time limit, without huge allocations and without
 * writing anything; a mutant that loads must compile and run on small inputs with the same guarantee.
 */
class CorruptFilesTest {
    /** Fixed, so that every run tries the same mutants; -Dlstmx.fuzz.seed and -Dlstmx.fuzz.variants explore further. */
    private static final long SEED = Long.getLong("lstmx.fuzz.seed", 0x15_7A_C0_44L);
    /**
     * Per mutant. A hang never ends, so a generous limit still catches it; a tight one made a slow
     * but finished load on a busy 2-core CI machine look like a hang.
     */
    private static final Duration TIME_LIMIT = Duration.ofSeconds(60);
    /** Far above what any seed model needs (< 1 MiB of weights), far below what a missed size check allocates. */
    private static final long ALLOCATION_BUDGET = 256L << 20;
    /** Inputs larger than this are not generated for the run stage. */
    private static final long MAX_INPUT_ELEMENTS = 1 << 16;
    private static final int BYTE_MUTANTS = 36;
    private static final int PROTO_VARIANTS = Integer.getInteger("lstmx.fuzz.variants", 3);
    /** Mutants with two to four schema-aware mutations at once. */
    private static final int COMBINED = 3 * PROTO_VARIANTS;

    @TempDir
    static Path tmp;

    record Seed(String id, Path sourceDir, ModelProto proto) {
    }

    record Mutant(String what, byte[] bytes) {
    }

    // ---- seeds

    static List<Seed> seeds() throws IOException {
        List<Seed> seeds = new ArrayList<>();
        Path root = TestFiles.root();
        for (Path p : TestFiles.find(TestFiles.fixtures().resolve("onnx"), ".onnx")) {
            seeds.add(seed(root.relativize(p).toString(), p));
        }
        Path shared = TestFiles.shared();
        for (Path p : TestFiles.find(shared.resolve("onnx-backend"), "model.onnx")) {
            if (p.getParent().getFileName().toString().startsWith("test_lstm_")) {
                seeds.add(withWeightsAsInitializers(seed("onnx-backend/" + p.getParent().getFileName(), p)));
            }
        }
        for (Path p : TestFiles.find(shared.resolve("real-models/onnx"), ".onnx")) {
            seeds.add(seed(shared.relativize(p).toString(), p));
        }
        assertTrue(seeds.size() >= 20, "too few seed models: " + seeds.size());
        return seeds;
    }

    static Seed seed(String id, Path file) throws IOException {
        return new Seed(id, file.getParent(), ModelProto.parseFrom(Files.readAllBytes(file)));
    }

    /**
     * The conformance cases take W, R, B as graph inputs (which lstmx refuses as non-constant); the
     * test data gives their values, so the seed holds them as initializers and mutations reach the LSTM.
     */
    static Seed withWeightsAsInitializers(Seed s) throws IOException {
        GraphProto.Builder g = s.proto().getGraph().toBuilder();
        List<String> names = g.getNodeList().get(0).getInputList().stream().filter(n -> !n.isEmpty()).toList();
        List<ValueInfoProto> keep = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            Path pb = s.sourceDir().resolve("test_data_set_0/input_" + i + ".pb");
            String name = names.get(i);
            if (name.equals("X") || !Files.isRegularFile(pb)) {
                continue;
            }
            g.addInitializer(TensorProto.parseFrom(Files.readAllBytes(pb)).toBuilder().setName(name));
        }
        for (ValueInfoProto vi : g.getInputList()) {
            if (vi.getName().equals("X")) {
                keep.add(vi);
            }
        }
        g.clearInput().addAllInput(keep);
        return new Seed(s.id(), s.sourceDir(), s.proto().toBuilder().setGraph(g).build());
    }

    // ---- the test

    @TestFactory
    Stream<DynamicTest> mutantsLoadOrFailCleanly() throws IOException {
        return seeds().stream().map(s -> DynamicTest.dynamicTest(s.id(), () -> check(s)));
    }

    private static final class Stats {
        int mutants;
        int loaded;
        int ran;
        long maxAllocated;
        final Map<String, List<String>> failures = new LinkedHashMap<>();

        void fail(String signature, String example) {
            failures.computeIfAbsent(signature, k -> new ArrayList<>()).add(example);
        }
    }

    private static void check(Seed s) throws IOException {
        Random rnd = new Random(SEED ^ s.id().hashCode());
        Path dir = Files.createDirectories(tmp.resolve(s.id().replaceAll("[^A-Za-z0-9_.-]", "_")));
        // External data files the seed refers to (the external_data fixture's weights.bin).
        try (Stream<Path> siblings = Files.list(s.sourceDir())) {
            for (Path p : siblings.filter(Files::isRegularFile).toList()) {
                if (p.getFileName().toString().endsWith(".bin")) {
                    Files.copy(p, dir.resolve(p.getFileName()));
                }
            }
        }
        // A file outside the mutants' folder that escaping external data could point at.
        Files.write(tmp.resolve("outside.bin"), new byte[1 << 16], java.nio.file.StandardOpenOption.CREATE);
        List<Mutant> mutants = new ArrayList<>(byteMutants(s.proto().toByteArray(), rnd));
        mutants.addAll(protoMutants(s.proto(), rnd));
        Stats stats = new Stats();
        long t0 = System.nanoTime();
        // The unmutated seed, written and loaded exactly as the mutants are, must load: otherwise a
        // harness that wrote unreadable files would make every refusal below look right.
        Path original = dir.resolve("seed.onnx");
        Files.write(original, s.proto().toByteArray());
        try {
            OnnxImporter.load(original, java.util.Map.of());
        } catch (LstmxException e) {
            fail(s.id() + ": the unmutated seed does not load, so its mutants prove nothing: " + e.getMessage());
        }
        Files.delete(original);
        List<String> before = list(dir);
        for (int i = 0; i < mutants.size(); i++) {
            Mutant m = mutants.get(i);
            Path f = dir.resolve(String.format("m%03d.onnx", i));
            Files.write(f, m.bytes());
            List<String> expected = list(dir);
            stats.mutants++;
            long runSeed = rnd.nextLong();
            String what = s.id() + " #" + i + " [" + m.what() + "]";
            try {
                assertTimeoutPreemptively(TIME_LIMIT, () -> attempt(f, runSeed, what, stats), () -> "hangs: " + what);
            } catch (AssertionFailedError e) {
                stats.fail("timeout", e.getMessage());
            }
            if (!list(dir).equals(expected)) {
                stats.fail("wrote files", what + ": folder now holds " + list(dir));
            }
            Files.delete(f);
        }
        if (!list(dir).equals(before)) {
            stats.fail("wrote files", s.id() + ": folder now holds " + list(dir));
        }
        System.out.printf("CorruptFilesTest %s: %d mutants, %d loaded, %d ran, max %.1f MiB allocated, %d ms%n",
                s.id(), stats.mutants, stats.loaded, stats.ran, stats.maxAllocated / 1048576.0, (System.nanoTime() - t0) / 1_000_000);
        // Mutations that changed nothing would pass vacuously (every mutant loads), and so would ones
        // that only ever break the file beyond recognition (none loads, so no check past the parser
        // is reached). Both extremes are excluded without betting on a ratio, which moves whenever the
        // importer learns to accept or refuse one more kind of file.
        int refused = stats.mutants - stats.loaded;
        assertTrue(stats.loaded > 0 && refused > 0, s.id() + ": " + stats.loaded + " of " + stats.mutants
                + " mutants loaded; some must load and some must be refused");
        if (!stats.failures.isEmpty()) {
            StringBuilder sb = new StringBuilder(stats.failures.size() + " kinds of failure:");
            stats.failures.forEach((sig, ex) -> sb.append("\n- ").append(ex.size()).append("x ").append(sig)
                    .append("\n    e.g. ").append(String.join("\n    e.g. ", ex.subList(0, Math.min(3, ex.size())))));
            fail(sb.toString());
        }
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Loads (and if that works, runs) one mutant, recording anything but a clean refusal. */
    private static void attempt(Path f, long runSeed, String what, Stats stats) {
        long before = allocatedBytes();
        Model model;
        try {
            model = OnnxImporter.load(f, java.util.Map.of());
        } catch (LstmxException e) {
            checkRefusal(e, f.toString(), "load", what, stats);
            return;
        } catch (Throwable t) {
            stats.fail("load threw " + signature(t), what + ": " + describe(t));
            return;
        } finally {
            checkAllocation(before, "load", what, stats);
        }
        stats.loaded++;
        before = allocatedBytes();
        try {
            CompiledModel c = NativeRuntime.compile(model);
            Map<String, Tensor> inputs = inputsFor(model, new Random(runSeed));
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
    }

    private static void checkRefusal(LstmxException e, String file, String stage, String what, Stats stats) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        if (e.code() != ErrorCode.BAD_INPUT && e.code() != ErrorCode.UNSUPPORTED) {
            stats.fail(stage + " refused with " + e.code() + " " + signature(e), what + ": " + describe(e));
        } else if (m.contains("\n") || m.contains("\r")) {
            stats.fail(stage + " message has several lines", what + ": " + m);
        } else if (file != null && !m.contains(file)) {
            stats.fail(stage + " message does not name the file", what + ": " + m);
        }
    }

    private static void checkAllocation(long before, String stage, String what, Stats stats) {
        long used = allocatedBytes() - before;
        stats.maxAllocated = Math.max(stats.maxAllocated, used);
        if (before >= 0 && used > ALLOCATION_BUDGET) {
            stats.fail(stage + " allocated more than " + (ALLOCATION_BUDGET >> 20) + " MiB", what + ": " + (used >> 20) + " MiB");
        }
    }

    private static long allocatedBytes() {
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean b) {
            return b.getCurrentThreadAllocatedBytes();
        }
        return -1;
    }

    /** Exception class and the innermost lstmx frame: failures of one cause share it. */
    private static String signature(Throwable t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().startsWith("io.lstmx")) {
                return t.getClass().getSimpleName() + " at " + e.getClassName().replaceFirst(".*\\.", "") + "." + e.getMethodName()
                        + ":" + e.getLineNumber();
            }
        }
        return t.getClass().getName();
    }

    private static String describe(Throwable t) {
        String m = String.valueOf(t.getMessage());
        return t.getClass().getSimpleName() + ": " + (m.length() > 300 ? m.substring(0, 300) + "..." : m);
    }

    /** Seeded inputs of the declared types; symbolic dims take 2 or 3 (one value per name). */
    static Map<String, Tensor> inputsFor(Model model, Random rnd) {
        Map<String, Integer> symbols = new HashMap<>();
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (ValueInfo vi : model.inputs()) {
            if (!vi.shape().rankKnown()) {
                return null;
            }
            int[] shape = new int[vi.shape().rank()];
            long n = 1;
            for (int k = 0; k < shape.length; k++) {
                Dim d = vi.shape().dim(k);
                if (d instanceof Dim.Fixed f) {
                    if (f.size() > MAX_INPUT_ELEMENTS) {
                        return null;
                    }
                    shape[k] = (int) f.size();
                } else {
                    String name = ((Dim.Symbolic) d).name();
                    shape[k] = name.isEmpty() ? 2 + rnd.nextInt(2) : symbols.computeIfAbsent(name, x -> 2 + rnd.nextInt(2));
                }
                n *= shape[k];
                if (n > MAX_INPUT_ELEMENTS) {
                    return null;
                }
            }
            if (vi.dtype() == DType.FLOAT32) {
                float[] v = new float[(int) n];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) rnd.nextGaussian();
                }
                inputs.put(vi.name(), Tensor.ofFloats(shape, v));
            } else if (vi.dtype().isHalf()) {
                // A float16 or bfloat16 input (a TensorFlow placeholder may declare one): small values, as bits.
                short[] bits = new short[(int) n];
                for (int i = 0; i < bits.length; i++) {
                    float x = (float) rnd.nextGaussian();
                    bits[i] = vi.dtype() == DType.BFLOAT16 ? (short) (Float.floatToIntBits(x) >>> 16)
                            : new short[] {0x3c00, (short) 0xbc00, 0x3800, 0, (short) 0xb800}[rnd.nextInt(5)];
                }
                inputs.put(vi.name(), Tensor.ofHalfBits(vi.dtype(), shape, bits));
            } else {
                // Mostly valid small indices and lengths; sometimes ones out of any range, which the
                // runtime must refuse as cleanly as a damaged file.
                boolean odd = rnd.nextInt(4) == 0;
                long[] v = new long[(int) n];
                for (int i = 0; i < v.length; i++) {
                    v[i] = odd && rnd.nextBoolean() ? ODD_INTS[rnd.nextInt(ODD_INTS.length)] : rnd.nextInt(3);
                }
                inputs.put(vi.name(), Tensor.ofLongs(vi.dtype(), shape, v));
            }
        }
        return inputs;
    }

    // ---- byte-level mutations

    static List<Mutant> byteMutants(byte[] b, Random r) {
        List<Mutant> l = new ArrayList<>();
        int cuts = BYTE_MUTANTS / 3;
        for (int k = 1; k <= cuts; k++) {
            int cut = k == cuts ? b.length - 1 : (int) ((long) b.length * k / cuts) - r.nextInt(3);
            l.add(new Mutant("truncated to " + cut + " of " + b.length + " bytes", Arrays.copyOf(b, Math.max(1, cut))));
        }
        for (int k = 0; k < BYTE_MUTANTS / 3; k++) {
            byte[] c = b.clone();
            int flips = 1 + r.nextInt(8);
            StringBuilder where = new StringBuilder();
            for (int i = 0; i < flips; i++) {
                int pos = r.nextInt(c.length);
                int bit = r.nextInt(8);
                c[pos] ^= (byte) (1 << bit);
                where.append(i == 0 ? "" : ",").append(pos).append('.').append(bit);
            }
            l.add(new Mutant("bits flipped at " + where, c));
        }
        for (int k = 0; k < BYTE_MUTANTS / 12; k++) {
            int pos = r.nextInt(b.length);
            byte[] ins = new byte[1 + r.nextInt(16)];
            r.nextBytes(ins);
            l.add(new Mutant(ins.length + " random bytes inserted at " + pos, splice(b, pos, 0, ins)));
        }
        for (int k = 0; k < BYTE_MUTANTS / 12; k++) {
            int pos = r.nextInt(b.length);
            int len = Math.min(b.length - pos, 1 + r.nextInt(32));
            l.add(new Mutant(len + " bytes deleted at " + pos, splice(b, pos, len, new byte[0])));
        }
        for (int k = 0; k < BYTE_MUTANTS / 12; k++) {
            int pos = r.nextInt(b.length);
            byte[] ff = new byte[1 + r.nextInt(10)];
            Arrays.fill(ff, (byte) 0xff);
            l.add(new Mutant(ff.length + " bytes 0xff written at " + pos, splice(b, pos, Math.min(ff.length, b.length - pos), ff)));
        }
        int pos = r.nextInt(b.length);
        int len = Math.min(b.length - pos, 1 + r.nextInt(256));
        l.add(new Mutant(len + " bytes at " + pos + " duplicated", splice(b, pos, 0, Arrays.copyOfRange(b, pos, pos + len))));
        return l;
    }

    private static byte[] splice(byte[] b, int pos, int removed, byte[] inserted) {
        byte[] out = new byte[b.length - removed + inserted.length];
        System.arraycopy(b, 0, out, 0, pos);
        System.arraycopy(inserted, 0, out, pos, inserted.length);
        System.arraycopy(b, pos + removed, out, pos + inserted.length, b.length - pos - removed);
        return out;
    }

    // ---- schema-aware mutations

    /** Changes the model in place and describes the change, or returns null when it does not apply. */
    interface Mutation extends BiFunction<ModelProto.Builder, Random, String> {
    }

    private static final long[] ODD_INTS = {0, -1, -2, 1, 2, 3, 7, 1L << 16, 1L << 28, 1L << 30, 1L << 31, 1L << 40, -(1L << 40),
            Long.MAX_VALUE, Long.MIN_VALUE, Integer.MAX_VALUE, Integer.MIN_VALUE};
    private static final float[] ODD_FLOATS = {0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e30f, -1e-30f};
    private static final int[] ODD_TYPES = {DataType.UNDEFINED_VALUE, DataType.STRING_VALUE, DataType.COMPLEX64_VALUE,
            DataType.COMPLEX128_VALUE, DataType.UINT4_VALUE, DataType.INT4_VALUE, DataType.FLOAT8E4M3FN_VALUE, DataType.FLOAT8E5M2_VALUE,
            DataType.FLOAT4E2M1_VALUE, 99, -1, DataType.BOOL_VALUE, DataType.INT8_VALUE, DataType.DOUBLE_VALUE, DataType.FLOAT16_VALUE,
            DataType.INT64_VALUE, DataType.INT32_VALUE, DataType.UINT64_VALUE};
    private static final String[] ODD_NAMES = {"", "undefined_value", "../x", "\u00e9\u0000\n", " "};

    static List<Mutant> protoMutants(ModelProto seed, Random r) {
        List<Mutant> l = new ArrayList<>();
        Map<String, Mutation> all = mutations();
        for (Map.Entry<String, Mutation> e : all.entrySet()) {
            for (int v = 0; v < PROTO_VARIANTS; v++) {
                ModelProto.Builder m = seed.toBuilder();
                String what = e.getValue().apply(m, r);
                if (what != null) {
                    l.add(new Mutant(e.getKey() + ": " + what, m.build().toByteArray()));
                }
            }
        }
        List<String> keys = new ArrayList<>(all.keySet());
        for (int v = 0; v < COMBINED; v++) {
            ModelProto.Builder m = seed.toBuilder();
            List<String> whats = new ArrayList<>();
            for (int k = 2 + r.nextInt(3); k > 0; k--) {
                String key = pick(keys, r);
                String what = all.get(key).apply(m, r);
                if (what != null) {
                    whats.add(key + ": " + what);
                }
            }
            l.add(new Mutant(String.join(" + ", whats), m.build().toByteArray()));
        }
        return l;
    }

    private static <T> T pick(List<T> l, Random r) {
        return l.isEmpty() ? null : l.get(r.nextInt(l.size()));
    }

    private static long oddInt(Random r) {
        return ODD_INTS[r.nextInt(ODD_INTS.length)];
    }

    private static List<Integer> nodesOfType(GraphProto.Builder g, String op) {
        List<Integer> l = new ArrayList<>();
        for (int i = 0; i < g.getNodeCount(); i++) {
            if (op == null || g.getNode(i).getOpType().equals(op)) {
                l.add(i);
            }
        }
        return l;
    }

    private static NodeProto.Builder randomNode(ModelProto.Builder m, String op, Random r) {
        Integer i = pick(nodesOfType(m.getGraphBuilder(), op), r);
        return i == null ? null : m.getGraphBuilder().getNodeBuilder(i);
    }

    private static String label(NodeProto.Builder n) {
        return "node '" + n.getName() + "' (" + n.getOpType() + ")";
    }

    /** Sets (replacing) attribute {@code a.name}. */
    private static void setAttr(NodeProto.Builder n, AttributeProto a) {
        for (int i = 0; i < n.getAttributeCount(); i++) {
            if (n.getAttribute(i).getName().equals(a.getName())) {
                n.setAttribute(i, a);
                return;
            }
        }
        n.addAttribute(a);
    }

    private static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.INT).setI(v).build();
    }

    private static AttributeProto stringAttr(String name, String v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.STRING).setS(ByteString.copyFromUtf8(v)).build();
    }

    private static AttributeProto stringsAttr(String name, List<String> v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeType.STRINGS);
        v.forEach(s -> b.addStrings(ByteString.copyFromUtf8(s)));
        return b.build();
    }

    /** Every tensor of the model an initializer or a Constant/ConstantOfShape value attribute holds. */
    private static List<TensorProto.Builder> tensors(ModelProto.Builder m, boolean integerOnly) {
        List<TensorProto.Builder> l = new ArrayList<>();
        GraphProto.Builder g = m.getGraphBuilder();
        for (TensorProto.Builder t : g.getInitializerBuilderList()) {
            l.add(t);
        }
        for (NodeProto.Builder n : g.getNodeBuilderList()) {
            for (AttributeProto.Builder a : n.getAttributeBuilderList()) {
                if (a.hasT()) {
                    l.add(a.getTBuilder());
                }
            }
        }
        if (integerOnly) {
            l.removeIf(t -> t.getDataType() != DataType.INT64_VALUE && t.getDataType() != DataType.INT32_VALUE);
        }
        return l;
    }

    private static String tname(TensorProto.Builder t) {
        return "tensor '" + t.getName() + "' " + t.getDimsList();
    }

    /** Replaces the tensor's int64 values (keeping its dims) with {@code values} as raw_data. */
    private static void setLongs(TensorProto.Builder t, long[] values) {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(values.length * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            buf.putLong(v);
        }
        t.clearInt64Data().clearInt32Data().setDataType(DataType.INT64_VALUE).setRawData(ByteString.copyFrom(buf.array()));
    }

    /** The values of an integer tensor, or an empty array when an earlier mutation made it unreadable. */
    private static long[] longsOf(TensorProto t) {
        try {
            return io.lstmx.onnx.OnnxTensors.toTensor(t, null, "seed").toLongArray();
        } catch (LstmxException e) {
            return new long[0];
        }
    }

    static Map<String, Mutation> mutations() {
        Map<String, Mutation> ms = new LinkedHashMap<>();
        // -- LSTM attributes
        ms.put("LSTM hidden_size", (m, r) -> {
            NodeProto.Builder n = randomNode(m, "LSTM", r);
            if (n == null) {
                return null;
            }
            long v = r.nextBoolean() ? oddInt(r) : n.getAttributeList().stream().filter(a -> a.getName().equals("hidden_size"))
                    .mapToLong(AttributeProto::getI).findFirst().orElse(4) + (r.nextBoolean() ? 1 : -1);
            setAttr(n, intAttr("hidden_size", v));
            return label(n) + " hidden_size=" + v;
        });
        ms.put("LSTM direction", (m, r) -> {
            NodeProto.Builder n = randomNode(m, "LSTM", r);
            if (n == null) {
                return null;
            }
            String v = pick(List.of("", "Forward", "bidirectional", "reverse", "forward", "sideways", "\u0000"), r);
            setAttr(n, stringAttr("direction", v));
            return label(n) + " direction='" + v + "'";
        });
        ms.put("LSTM layout", (m, r) -> {
            NodeProto.Builder n = randomNode(m, "LSTM", r);
            if (n == null) {
                return null;
            }
            long v = r.nextBoolean() ? 1 - n.getAttributeList().stream().filter(a -> a.getName().equals("layout"))
                    .mapToLong(AttributeProto::getI).findFirst().orElse(0) : oddInt(r);
            setAttr(n, intAttr("layout", v));
            return label(n) + " layout=" + v;
        });
        ms.put("LSTM activations", (m, r) -> {
            NodeProto.Builder n = randomNode(m, "LSTM", r);
            if (n == null) {
                return null;
            }
            List<String> names = new ArrayList<>();
            int count = pick(List.of(0, 1, 3, 6, 9), r);
            for (int i = 0; i < count; i++) {
                names.add(pick(List.of("Sigmoid", "Tanh", "Relu", "HardSigmoid", "Affine", "ScaledTanh", "LeakyRelu", "Elu",
                        "ThresholdedRelu", "Softsign", "Softplus", "Gelu", "", "tanh"), r));
            }
            setAttr(n, stringsAttr("activations", names));
            if (r.nextBoolean()) {
                AttributeProto.Builder a = AttributeProto.newBuilder().setName("activation_alpha").setType(AttributeType.FLOATS);
                for (int i = r.nextInt(8); i > 0; i--) {
                    a.addFloats(ODD_FLOATS[r.nextInt(ODD_FLOATS.length)]);
                }
                setAttr(n, a.build());
            }
            return label(n) + " activations=" + names;
        });
        ms.put("LSTM clip/input_forget", (m, r) -> {
            NodeProto.Builder n = randomNode(m, "LSTM", r);
            if (n == null) {
                return null;
            }
            float clip = ODD_FLOATS[r.nextInt(ODD_FLOATS.length)];
            long forget = oddInt(r);
            setAttr(n, AttributeProto.newBuilder().setName("clip").setType(AttributeType.FLOAT).setF(clip).build());
            setAttr(n, intAttr("input_forget", forget));
            return label(n) + " clip=" + clip + " input_forget=" + forget;
        });
        ms.put("attribute of the wrong type", (m, r) -> {
            NodeProto.Builder n = randomNode(m, null, r);
            if (n == null || n.getAttributeCount() == 0) {
                return null;
            }
            int i = r.nextInt(n.getAttributeCount());
            String name = n.getAttribute(i).getName();
            AttributeProto a = switch (r.nextInt(4)) {
                case 0 -> stringAttr(name, "7");
                case 1 -> AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOATS).addFloats(1.5f).build();
                case 2 -> AttributeProto.newBuilder().setName(name).setType(AttributeType.GRAPH).setG(GraphProto.newBuilder()).build();
                default -> AttributeProto.newBuilder().setName(name).setType(AttributeType.UNDEFINED).build();
            };
            n.setAttribute(i, a);
            return label(n) + " attribute '" + name + "' -> " + a.getType();
        });
        ms.put("attribute value odd", (m, r) -> {
            NodeProto.Builder n = randomNode(m, null, r);
            if (n == null || n.getAttributeCount() == 0) {
                return null;
            }
            int i = r.nextInt(n.getAttributeCount());
            AttributeProto.Builder a = n.getAttribute(i).toBuilder();
            switch (a.getType()) {
                case INT -> a.setI(oddInt(r));
                case FLOAT -> a.setF(ODD_FLOATS[r.nextInt(ODD_FLOATS.length)]);
                case INTS -> {
                    List<Long> v = new ArrayList<>(a.getIntsList());
                    if (v.isEmpty() || r.nextInt(3) == 0) {
                        v.add(oddInt(r));
                    } else if (r.nextBoolean()) {
                        v.set(r.nextInt(v.size()), oddInt(r));
                    } else {
                        v.add(v.get(0)); // a repeated axis
                    }
                    a.clearInts().addAllInts(v);
                }
                case STRING -> a.setS(ByteString.copyFrom(new byte[] {(byte) 0xc3, 0x28}));
                case TENSOR -> {
                    TensorProto.Builder t = a.getTBuilder();
                    if (t.getDataType() == DataType.INT64_VALUE && r.nextBoolean()) {
                        long[] v = longsOf(t.build());
                        if (v.length > 0) {
                            v[r.nextInt(v.length)] = oddInt(r);
                            setLongs(t, v);
                        }
                    } else {
                        t.clearDims().addDims(oddInt(r));
                    }
                }
                default -> a.clearFloats().clearInts().clearStrings();
            }
            n.setAttribute(i, a);
            return label(n) + " attribute -> " + a.build().toString().replaceAll("\\s+", " ");
        });
        ms.put("attribute removed", (m, r) -> {
            NodeProto.Builder n = randomNode(m, null, r);
            if (n == null || n.getAttributeCount() == 0) {
                return null;
            }
            int i = r.nextInt(n.getAttributeCount());
            String name = n.getAttribute(i).getName();
            n.removeAttribute(i);
            return label(n) + " without '" + name + "'";
        });
        ms.put("attribute duplicated", (m, r) -> {
            NodeProto.Builder n = randomNode(m, null, r);
            if (n == null || n.getAttributeCount() == 0) {
                return null;
            }
            AttributeProto a = n.getAttribute(r.nextInt(n.getAttributeCount()));
            n.addAttribute(a.toBuilder().setI(a.getI() + 1));
            return label(n) + " attribute '" + a.getName() + "' twice";
        });
        // -- initializers and constant tensors
        ms.put("tensor dims huge or negative", (m, r) -> {
            TensorProto.Builder t = pick(tensors(m, false), r);
            if (t == null) {
                return null;
            }
            String before = tname(t);
            List<Long> dims = new ArrayList<>(t.getDimsList());
            switch (r.nextInt(4)) {
                case 0 -> dims = List.of(1L << 20, 1L << 20, 1L << 20);
                case 1 -> dims.add(oddInt(r));
                case 2 -> {
                    if (dims.isEmpty()) {
                        dims.add(-1L);
                    } else {
                        dims.set(r.nextInt(dims.size()), oddInt(r));
                    }
                }
                default -> dims = List.of(1L << 40, -(1L << 40));
            }
            t.clearDims().addAllDims(dims);
            return before + " dims -> " + dims;
        });
        ms.put("tensor dims inconsistent with data", (m, r) -> {
            TensorProto.Builder t = pick(tensors(m, false), r);
            if (t == null) {
                return null;
            }
            String before = tname(t);
            List<Long> dims = new ArrayList<>(t.getDimsList());
            if (dims.isEmpty() || r.nextBoolean()) {
                dims.add(2L);
            } else {
                int k = r.nextInt(dims.size());
                dims.set(k, dims.get(k) + (r.nextBoolean() ? 1 : -1));
            }
            t.clearDims().addAllDims(dims);
            return before + " dims -> " + dims;
        });
        ms.put("tensor dims rearranged", (m, r) -> {
            TensorProto.Builder t = pick(tensors(m, false), r);
            if (t == null) {
                return null;
            }
            String before = tname(t);
            List<Long> dims = new ArrayList<>(t.getDimsList());
            switch (r.nextInt(4)) {
                case 0 -> java.util.Collections.reverse(dims);
                case 1 -> dims.add(r.nextInt(dims.size() + 1), 1L);
                case 2 -> dims.removeIf(d -> d == 1L);
                default -> {
                    long n = dims.stream().reduce(1L, (a, b) -> a * b);
                    dims = new ArrayList<>(List.of(n));
                }
            }
            t.clearDims().addAllDims(dims);
            return before + " dims -> " + dims + " (same element count)";
        });
        ms.put("tensor data_type", (m, r) -> {
            TensorProto.Builder t = pick(tensors(m, false), r);
            if (t == null) {
                return null;
            }
            int type = ODD_TYPES[r.nextInt(ODD_TYPES.length)];
            String before = tname(t);
            t.setDataType(type);
            return before + " data_type -> " + type;
        });
        ms.put("tensor data removed or moved", (m, r) -> {
            TensorProto.Builder t = pick(tensors(m, false), r);
            if (t == null) {
                return null;
            }
            String before = tname(t);
            switch (r.nextInt(4)) {
                case 0 -> t.clearRawData().clearFloatData().clearInt64Data().clearInt32Data().clearDoubleData();
                case 1 -> t.setRawData(t.getRawData().substring(0, t.getRawData().size() / 2));
                case 2 -> t.clearRawData().addFloatData(1f).addInt64Data(1).addStringData(ByteString.copyFromUtf8("x"));
                default -> t.setRawData(t.getRawData().concat(ByteString.copyFrom(new byte[3])));
            }
            return before + " data damaged";
        });
        ms.put("tensor emptied or made scalar", (m, r) -> {
            TensorProto.Builder t = pick(tensors(m, false), r);
            if (t == null) {
                return null;
            }
            String before = tname(t);
            t.clearRawData().clearFloatData().clearInt64Data().clearInt32Data().clearDoubleData().clearDims();
            switch (r.nextInt(3)) {
                case 0 -> {
                    t.addDims(0);
                    return before + " -> [0], no data";
                }
                case 1 -> {
                    t.addDims(3).addDims(0);
                    return before + " -> [3, 0], no data";
                }
                default -> {
                    if (t.getDataType() == DataType.INT64_VALUE) {
                        t.addInt64Data(oddInt(r));
                    } else {
                        t.setDataType(DataType.FLOAT_VALUE).addFloatData(ODD_FLOATS[r.nextInt(ODD_FLOATS.length)]);
                    }
                    return before + " -> scalar " + t.build().toString().replaceAll("\\s+", " ");
                }
            }
        });
        ms.put("integer tensor values odd", (m, r) -> {
            TensorProto.Builder t = pick(tensors(m, true), r);
            if (t == null) {
                return null;
            }
            long[] v = longsOf(t.build());
            if (v.length == 0) {
                return null;
            }
            int k = r.nextInt(v.length);
            v[k] = r.nextBoolean() ? oddInt(r) : v[k] + (r.nextBoolean() ? 1 : -1) * (1 + r.nextInt(1000));
            setLongs(t, v);
            return tname(t) + " values -> " + Arrays.toString(v);
        });
        ms.put("external data", (m, r) -> {
            TensorProto.Builder t = pick(tensors(m, false), r);
            if (t == null) {
                return null;
            }
            String location = pick(List.of("../../../../../../etc/passwd", "/etc/passwd", "../outside.bin",
                    tmp.resolve("outside.bin").toString(), "missing.bin", "", ".", "weights.bin", "sub/../weights.bin",
                    "m000.onnx", "\u0000"), r);
            String offset = pick(List.of("0", "-1", "9223372036854775807", "12", "x", "1e3"), r);
            String length = pick(List.of("", "0", "-5", "9223372036854775807", "16"), r);
            t.clearRawData().clearFloatData().clearInt64Data().clearInt32Data().clearDoubleData()
                    .setDataLocation(TensorProto.DataLocation.EXTERNAL).clearExternalData();
            t.addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location));
            t.addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(offset));
            if (!length.isEmpty()) {
                t.addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(length));
            }
            return tname(t) + " external location='" + location + "' offset=" + offset + " length=" + length;
        });
        ms.put("initializer duplicated or shadowing", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            TensorProto t = pick(g.getInitializerList(), r);
            if (t == null) {
                return null;
            }
            if (r.nextBoolean() || g.getNodeCount() == 0) {
                g.addInitializer(t);
                return "initializer '" + t.getName() + "' twice";
            }
            NodeProto n = pick(g.getNodeList(), r);
            if (n.getOutputCount() == 0) {
                return null;
            }
            g.addInitializer(t.toBuilder().setName(n.getOutput(0)));
            return "initializer named like " + n.getOpType() + " output '" + n.getOutput(0) + "'";
        });
        ms.put("initializer removed or renamed", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            if (g.getInitializerCount() == 0) {
                return null;
            }
            int i = r.nextInt(g.getInitializerCount());
            String name = g.getInitializer(i).getName();
            if (r.nextBoolean()) {
                g.removeInitializer(i);
                return "initializer '" + name + "' removed";
            }
            String to = ODD_NAMES[r.nextInt(ODD_NAMES.length)];
            g.getInitializerBuilder(i).setName(to);
            return "initializer '" + name + "' renamed '" + to + "'";
        });
        ms.put("sparse initializer", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            TensorProto t = pick(g.getInitializerList(), r);
            if (t == null) {
                return null;
            }
            g.addSparseInitializer(SparseTensorProto.newBuilder().setValues(t.toBuilder().setName(t.getName() + "_sparse"))
                    .addDims(oddInt(r)));
            return "sparse initializer from '" + t.getName() + "'";
        });
        // -- Constant nodes
        ms.put("Constant value", (m, r) -> {
            NodeProto.Builder n = randomNode(m, "Constant", r);
            if (n == null) {
                return null;
            }
            String what;
            switch (r.nextInt(5)) {
                case 0 -> {
                    n.clearAttribute();
                    what = "no value";
                }
                case 1 -> {
                    n.addAttribute(AttributeProto.newBuilder().setName("value_float").setType(AttributeType.FLOAT).setF(1f));
                    what = "two values";
                }
                case 2 -> {
                    n.clearAttribute().addAttribute(AttributeProto.newBuilder().setName("value_string").setType(AttributeType.STRING)
                            .setS(ByteString.copyFromUtf8("x")));
                    what = "value_string";
                }
                case 3 -> {
                    n.clearAttribute().addAttribute(AttributeProto.newBuilder().setName("sparse_value").setType(AttributeType.SPARSE_TENSOR)
                            .setSparseTensor(SparseTensorProto.newBuilder().addDims(3)));
                    what = "sparse_value";
                }
                default -> {
                    n.clearAttribute().addAttribute(AttributeProto.newBuilder().setName("value_ints").setType(AttributeType.INTS));
                    what = "empty value_ints";
                }
            }
            return label(n) + " " + what;
        });
        // -- graph structure
        ms.put("node input undefined", (m, r) -> {
            NodeProto.Builder n = randomNode(m, null, r);
            if (n == null || n.getInputCount() == 0) {
                return null;
            }
            int i = r.nextInt(n.getInputCount());
            String to = ODD_NAMES[r.nextInt(ODD_NAMES.length)];
            n.setInput(i, to);
            return label(n) + " input " + i + " -> '" + to + "'";
        });
        ms.put("node reads its own output", (m, r) -> {
            NodeProto.Builder n = randomNode(m, null, r);
            if (n == null || n.getInputCount() == 0 || n.getOutputCount() == 0) {
                return null;
            }
            int i = r.nextInt(n.getInputCount());
            n.setInput(i, n.getOutput(0));
            return label(n) + " input " + i + " -> its output '" + n.getOutput(0) + "'";
        });
        ms.put("cycle between nodes", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            if (g.getNodeCount() < 2) {
                return null;
            }
            int a = r.nextInt(g.getNodeCount() - 1);
            int b = a + 1 + r.nextInt(g.getNodeCount() - a - 1);
            NodeProto.Builder na = g.getNodeBuilder(a);
            NodeProto nb = g.getNode(b);
            if (na.getInputCount() == 0 || nb.getOutputCount() == 0) {
                return null;
            }
            na.setInput(0, nb.getOutput(0));
            return label(na) + " reads '" + nb.getOutput(0) + "' of the later " + nb.getOpType();
        });
        ms.put("nodes reordered", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            if (g.getNodeCount() < 2) {
                return null;
            }
            List<NodeProto> nodes = new ArrayList<>(g.getNodeList());
            if (r.nextBoolean()) {
                java.util.Collections.reverse(nodes);
            } else {
                java.util.Collections.shuffle(nodes, r);
            }
            g.clearNode().addAllNode(nodes);
            return "nodes reordered";
        });
        ms.put("node output duplicated", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            if (g.getNodeCount() < 2) {
                return null;
            }
            int a = r.nextInt(g.getNodeCount());
            int b = r.nextInt(g.getNodeCount());
            if (g.getNode(a).getOutputCount() == 0 || g.getNode(b).getOutputCount() == 0) {
                return null;
            }
            if (a == b) {
                g.addNode(g.getNode(a));
                return "node " + a + " duplicated";
            }
            String out = g.getNode(a).getOutput(0);
            g.getNodeBuilder(b).setOutput(0, out);
            return "node " + b + " also writes '" + out + "'";
        });
        ms.put("node removed", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            if (g.getNodeCount() == 0) {
                return null;
            }
            int i = r.nextInt(g.getNodeCount());
            String what = g.getNode(i).getOpType();
            g.removeNode(i);
            return "node " + i + " (" + what + ") removed";
        });
        ms.put("node op_type changed", (m, r) -> {
            NodeProto.Builder n = randomNode(m, null, r);
            if (n == null) {
                return null;
            }
            String before = label(n);
            String op = pick(List.of("LSTM", "Gemm", "MatMul", "Add", "Div", "Reshape", "Transpose", "Gather", "Slice", "Concat",
                    "Squeeze", "Unsqueeze", "Softmax", "Flatten", "Expand", "Tile", "ConstantOfShape", "Shape", "Cast", "Constant",
                    "Identity", "Dropout", "GRU", "FooBar", ""), r);
            n.setOpType(op);
            return before + " -> " + op;
        });
        ms.put("node domain", (m, r) -> {
            NodeProto.Builder n = randomNode(m, null, r);
            if (n == null) {
                return null;
            }
            String d = pick(List.of("com.microsoft", "ai.onnx.ml", "ai.onnx", "custom"), r);
            n.setDomain(d);
            return label(n) + " domain '" + d + "'";
        });
        ms.put("node inputs/outputs added or dropped", (m, r) -> {
            NodeProto.Builder n = randomNode(m, null, r);
            if (n == null) {
                return null;
            }
            String what;
            switch (r.nextInt(4)) {
                case 0 -> {
                    List<String> in = new ArrayList<>(n.getInputList());
                    if (in.isEmpty()) {
                        return null;
                    }
                    in.remove(r.nextInt(in.size()));
                    n.clearInput().addAllInput(in);
                    what = "one input dropped";
                }
                case 1 -> {
                    String extra = n.getInputCount() > 0 ? n.getInput(0) : "";
                    for (int k = r.nextInt(6); k >= 0; k--) {
                        n.addInput(extra);
                    }
                    what = "extra inputs";
                }
                case 2 -> {
                    n.clearOutput();
                    what = "no outputs";
                }
                default -> {
                    for (int k = r.nextInt(4); k >= 0; k--) {
                        n.addOutput(n.getOutputCount() > 0 ? n.getOutput(0) + "_extra" + k : "extra" + k);
                    }
                    what = "extra outputs";
                }
            }
            return label(n) + " " + what;
        });
        ms.put("node input emptied", (m, r) -> {
            NodeProto.Builder n = randomNode(m, null, r);
            if (n == null || n.getInputCount() == 0) {
                return null;
            }
            int i = r.nextInt(n.getInputCount());
            n.setInput(i, "");
            return label(n) + " input " + i + " left out";
        });
        // -- graph inputs and outputs
        ms.put("graph output renamed", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            int i = r.nextInt(g.getOutputCount());
            String to = pick(List.of("undefined_output", "", g.getOutput(0).getName(), g.getInputCount() > 0 ? g.getInput(0).getName() : "x"), r);
            String name = g.getOutput(i).getName();
            g.getOutputBuilder(i).setName(to);
            return "graph output '" + name + "' -> '" + to + "'";
        });
        ms.put("graph output type", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            ValueInfoProto.Builder o = g.getOutputBuilder(r.nextInt(g.getOutputCount()));
            return valueType(o, r);
        });
        ms.put("graph input type", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            if (g.getInputCount() == 0) {
                return null;
            }
            return valueType(g.getInputBuilder(r.nextInt(g.getInputCount())), r);
        });
        ms.put("graph input dims 0 or 1", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            List<Integer> shaped = new ArrayList<>();
            for (int i = 0; i < g.getInputCount(); i++) {
                if (g.getInput(i).getType().getTensorType().getShape().getDimCount() > 0) {
                    shaped.add(i);
                }
            }
            Integer i = pick(shaped, r);
            if (i == null) {
                return null;
            }
            TensorShapeProto.Builder s = g.getInputBuilder(i).getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
            int k = r.nextInt(s.getDimCount());
            long v = r.nextInt(3) == 0 ? 1 : 0;
            s.setDim(k, TensorShapeProto.Dimension.newBuilder().setDimValue(v));
            return "'" + g.getInput(i).getName() + "' dim " + k + " = " + v;
        });
        ms.put("graph input removed or duplicated", (m, r) -> {
            GraphProto.Builder g = m.getGraphBuilder();
            if (g.getInputCount() == 0) {
                return null;
            }
            int i = r.nextInt(g.getInputCount());
            if (r.nextBoolean()) {
                g.addInput(g.getInput(i));
                return "graph input '" + g.getInput(i).getName() + "' twice";
            }
            String name = g.getInput(i).getName();
            g.removeInput(i);
            return "graph input '" + name + "' removed";
        });
        // -- model header
        ms.put("opset_import", (m, r) -> {
            long v = pick(List.of(1L, 99L, 0L, -1L, 6L, 9L, 13L, Long.MAX_VALUE, Long.MIN_VALUE), r);
            switch (r.nextInt(3)) {
                case 0 -> {
                    m.clearOpsetImport();
                    return "opset_import removed";
                }
                case 1 -> {
                    m.clearOpsetImport().addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(v));
                    return "opset " + v;
                }
                default -> {
                    m.addOpsetImport(0, OperatorSetIdProto.newBuilder().setDomain("ai.onnx").setVersion(v));
                    return "extra ai.onnx opset " + v + " first";
                }
            }
        });
        ms.put("ir_version", (m, r) -> {
            long v = pick(List.of(0L, -1L, 1L, 3L, 99L, Long.MIN_VALUE), r);
            m.setIrVersion(v);
            return "ir_version " + v;
        });
        return ms;
    }

    /** Changes a declared element type or shape. */
    private static String valueType(ValueInfoProto.Builder vi, Random r) {
        String name = "'" + vi.getName() + "'";
        switch (r.nextInt(5)) {
            case 0 -> {
                int t = ODD_TYPES[r.nextInt(ODD_TYPES.length)];
                vi.getTypeBuilder().getTensorTypeBuilder().setElemType(t);
                return name + " elem_type " + t;
            }
            case 1 -> {
                vi.setType(TypeProto.newBuilder().setSequenceType(TypeProto.Sequence.newBuilder()
                        .setElemType(vi.getType())));
                return name + " a sequence";
            }
            case 2 -> {
                vi.clearType();
                return name + " without type";
            }
            case 3 -> {
                TensorShapeProto.Builder s = vi.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
                s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(oddInt(r)));
                return name + " one more dim";
            }
            default -> {
                TensorShapeProto.Builder s = vi.getTypeBuilder().getTensorTypeBuilder().getShapeBuilder();
                if (s.getDimCount() == 0) {
                    s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(""));
                    return name + " rank 1";
                }
                int k = r.nextInt(s.getDimCount());
                long v = oddInt(r);
                s.setDim(k, TensorShapeProto.Dimension.newBuilder().setDimValue(v));
                return name + " dim " + k + " = " + v;
            }
        }
    }

    /** A model run with inputs of the wrong rank is refused with BAD_INPUT, not run on garbage. */
    @TestFactory
    Stream<DynamicTest> wrongInputRankIsRefused() throws IOException {
        return seeds().stream().map(s -> DynamicTest.dynamicTest(s.id(), () -> {
            Path dir = Files.createDirectories(tmp.resolve("rank-" + s.id().replaceAll("[^A-Za-z0-9_.-]", "_")));
            Path f = dir.resolve("model.onnx");
            Files.write(f, s.proto().toByteArray());
            if (s.id().contains("external_data")) {
                Files.copy(s.sourceDir().resolve("weights.bin"), dir.resolve("weights.bin"));
            }
            Model model = OnnxImporter.load(f, java.util.Map.of());
            Map<String, Tensor> good = inputsFor(model, new Random(SEED));
            assertTrue(good != null, "inputs for " + s.id());
            CompiledModel c = NativeRuntime.compile(model);
            String first = model.inputs().get(0).name();
            Tensor x = good.get(first);
            int[] shape = Arrays.copyOf(x.shape(), x.rank() + 1);
            shape[x.rank()] = 1;
            Map<String, Tensor> bad = new LinkedHashMap<>(good);
            bad.put(first, x.reshape(shape));
            LstmxException e = org.junit.jupiter.api.Assertions.assertThrows(LstmxException.class, () -> c.run(bad));
            assertTrue(e.code() == ErrorCode.BAD_INPUT && !e.getMessage().contains("\n") && e.getMessage().contains(first),
                    e.code() + " " + e.getMessage());
        }));
    }
}
