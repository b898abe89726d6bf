package io.lstmx.tests;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.importers.tensorflow.GraphDefReader;
import io.lstmx.importers.tensorflow.SavedModelReader;
import io.lstmx.tests.MutantHarness.Mutant;
import io.lstmx.tests.MutantHarness.Stats;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.BundleEntryProto;
import org.tensorflow.proto.BundleHeaderProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NameAttrList;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.proto.TensorSliceProto;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Damaged and hostile TensorFlow files, made by seeded mutations of every SavedModel and frozen
 * GraphDef in ../shared/real-models/tensorflow and fixtures/tensorflow, read by the SavedModel and
 * GraphDef readers and, when they load, run in the native runtime, with the guarantees of
 * {@link MutantHarness}. The mutations:
 * <ul>
 *   <li>bytes of saved_model.pb, of a frozen .pb, of variables.index and of the variables.data
 *       shard: truncation, bit flips, bytes overwritten, inserted, deleted, duplicated;</li>
 *   <li>the protobuf, through TensorFlow's generated classes (org.tensorflow.proto): huge and
 *       negative tensor shapes (constants, placeholders, signatures), wrong and undefined dtypes,
 *       constants whose content disagrees with their shape, dangling inputs, cycles (a node reading
 *       itself or its consumer), ops swapped, attributes removed or made odd, a function calling
 *       itself or two calling each other, duplicate node names, signatures pointing nowhere, and
 *       nesting bombs (AttrValue in NameAttrList in AttrValue ..., as bytes: past protobuf's
 *       recursion limit and just under it);</li>
 *   <li>the tensor bundle, rewritten as an SSTable: a variable missing, entries with huge, negative
 *       or lying shapes, sizes, offsets, shards, dtypes and slices, an odd header;</li>
 *   <li>symbolic links leaving the SavedModel folder (saved_model.pb, variables/, the data shard),
 *       and one that stays inside it (which must still load).</li>
 * </ul>
 * A fixed seed tries the same mutants every run; -Dlstmx.fuzz.seed and -Dlstmx.fuzz.variants
 * (mutants of each kind per seed) explore further.
 */
class TensorflowCorruptFilesTest {
    private static final long SEED = Long.getLong("lstmx.fuzz.seed", 0x7F_C0_44L);
    /** Mutants of each structure-aware kind per seed; the byte-level ones scale with it. */
    private static final int VARIANTS = Integer.getInteger("lstmx.fuzz.variants", 4);

    @TempDir
    static Path tmp;

    private static int loadedTotal;
    private static int refusedTotal;
    private static int mutantsTotal;

    /** A SavedModel folder or a frozen GraphDef file. */
    record Seed(String id, Path path, boolean savedModel) {
    }

    /** A mutant: the files of the folder (relative path to bytes; a null value is left out) or one .pb. */
    record FolderMutant(String what, Map<String, byte[]> files, Map<String, Path> links, String fifo) {
        FolderMutant(String what, Map<String, byte[]> files, Map<String, Path> links) {
            this(what, files, links, null);
        }
    }

    static List<Seed> seeds() {
        List<Seed> seeds = new ArrayList<>();
        Path shared = TestFiles.shared();
        for (Path p : TestFiles.find(shared.resolve("real-models/tensorflow"), "saved_model.pb")) {
            seeds.add(new Seed(shared.relativize(p.getParent()).toString(), p.getParent(), true));
        }
        Path fix = TestFiles.fixtures().resolve("tensorflow");
        for (Path p : TestFiles.find(fix, "saved_model.pb")) {
            seeds.add(new Seed(TestFiles.root().relativize(p.getParent()).toString(), p.getParent(), true));
        }
        for (Path p : TestFiles.find(fix, ".pb")) {
            if (!p.getFileName().toString().equals("saved_model.pb")) {
                seeds.add(new Seed(TestFiles.root().relativize(p).toString(), p, false));
            }
        }
        assertTrue(seeds.size() >= 6, "too few seeds: " + seeds.size());
        return seeds;
    }

    @TestFactory
    Stream<DynamicTest> mutantsLoadOrFailCleanly() {
        return seeds().stream().map(s -> DynamicTest.dynamicTest(s.id(), () -> check(s)));
    }

    @AfterAll
    static void someMutantsLoadAndSomeAreRefused() {
        System.out.printf("TensorflowCorruptFilesTest: %d mutants, %d loaded, %d refused%n", mutantsTotal, loadedTotal, refusedTotal);
        assertTrue(loadedTotal > 0 && refusedTotal > 0, loadedTotal + " mutants loaded, " + refusedTotal + " were refused");
    }

    private static void check(Seed s) throws IOException {
        Random rnd = new Random(SEED ^ s.id().hashCode());
        Path dir = Files.createDirectories(tmp.resolve(s.id().replaceAll("[^A-Za-z0-9_.-]", "_")));
        // Files outside the mutants' folders that links may lead to: a copy of the seed's variables.
        Path outside = Files.createDirectories(tmp.resolve("outside-" + dir.getFileName()));
        Map<String, byte[]> seedFiles = new LinkedHashMap<>();
        if (s.savedModel()) {
            try (Stream<Path> w = Files.walk(s.path())) {
                for (Path p : w.filter(Files::isRegularFile).sorted().toList()) {
                    seedFiles.put(s.path().relativize(p).toString(), Files.readAllBytes(p));
                }
            }
            for (Map.Entry<String, byte[]> e : seedFiles.entrySet()) {
                Path o = outside.resolve(e.getKey());
                Files.createDirectories(o.getParent());
                Files.write(o, e.getValue());
            }
        } else {
            seedFiles.put("model.pb", Files.readAllBytes(s.path()));
        }
        List<FolderMutant> mutants = s.savedModel() ? savedModelMutants(seedFiles, outside, rnd) : graphDefMutants(seedFiles.get("model.pb"), rnd);
        long seedBytes = seedFiles.values().stream().mapToLong(b -> b.length).sum();
        Stats stats = new Stats(s.id(), seedBytes);
        long t0 = System.nanoTime();
        List<String> before = MutantHarness.list(dir);
        for (int i = 0; i < mutants.size(); i++) {
            FolderMutant m = mutants.get(i);
            String what = s.id() + " #" + i + " [" + m.what() + "]";
            Path target;
            if (s.savedModel()) {
                target = dir.resolve(String.format("m%03d", i));
                write(target, m);
            } else {
                target = dir.resolve(String.format("m%03d.pb", i));
                Files.write(target, m.files().get("model.pb"));
            }
            List<String> expected = MutantHarness.list(dir);
            Path t = target;
            boolean loaded = MutantHarness.attempt(() -> s.savedModel() ? new SavedModelReader().read(t, ReadOptions.DEFAULT)
                    : new GraphDefReader().read(t, ReadOptions.DEFAULT), target.toString(), rnd.nextLong(), what, stats);
            if (m.what().startsWith("must load:") && !loaded) {
                stats.fail("a harmless mutant was refused", what);
            }
            if (!MutantHarness.list(dir).equals(expected)) {
                stats.fail("wrote files", what + ": folder now holds " + MutantHarness.list(dir));
            }
            deleteTree(target);
        }
        if (!MutantHarness.list(dir).equals(before)) {
            stats.fail("wrote files", s.id() + ": folder now holds " + MutantHarness.list(dir));
        }
        synchronized (TensorflowCorruptFilesTest.class) {
            mutantsTotal += stats.mutants;
            loadedTotal += stats.loaded;
            refusedTotal += stats.mutants - stats.loaded;
        }
        System.out.printf("TensorflowCorruptFilesTest %s: %d mutants, %d loaded, %d ran, max %.1f MiB allocated, %d ms%n",
                s.id(), stats.mutants, stats.loaded, stats.ran, stats.maxAllocated / 1048576.0, (System.nanoTime() - t0) / 1_000_000);
        stats.assertClean();
    }

    private static void write(Path target, FolderMutant m) throws IOException {
        Files.createDirectories(target);
        for (Map.Entry<String, byte[]> e : m.files().entrySet()) {
            if (e.getValue() == null || m.links().containsKey(e.getKey())) {
                continue;
            }
            Path p = target.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, e.getValue());
        }
        if (m.fifo() != null) {
            Path p = target.resolve(m.fifo());
            Files.deleteIfExists(p);
            try {
                if (new ProcessBuilder("mkfifo", p.toString()).inheritIO().start().waitFor() != 0) {
                    throw new IOException("mkfifo failed");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
        for (Map.Entry<String, Path> l : m.links().entrySet()) {
            Path p = target.resolve(l.getKey());
            Files.createDirectories(p.getParent());
            Path to = l.getValue().isAbsolute() ? l.getValue() : target.resolve(l.getValue());
            if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                deleteTree(p);
            }
            Files.createSymbolicLink(p, to);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(p)) {
                for (Path c : s.toList()) {
                    deleteTree(c);
                }
            }
        }
        Files.delete(p);
    }

    // ---- GraphDefs

    static List<FolderMutant> graphDefMutants(byte[] pb, Random r) throws InvalidProtocolBufferException {
        List<FolderMutant> l = new ArrayList<>();
        for (Mutant m : MutantHarness.byteMutants(pb, 8 * VARIANTS, r)) {
            l.add(new FolderMutant(m.what(), Map.of("model.pb", m.bytes()), Map.of()));
        }
        GraphDef g = GraphDef.parseFrom(pb);
        for (Map.Entry<String, BiFunction<GraphDef.Builder, Random, String>> e : graphMutations().entrySet()) {
            for (int v = 0; v < VARIANTS; v++) {
                GraphDef.Builder b = g.toBuilder();
                String what = e.getValue().apply(b, r);
                if (what != null) {
                    l.add(new FolderMutant(e.getKey() + ": " + what, Map.of("model.pb", b.build().toByteArray()), Map.of()));
                }
            }
        }
        for (int depth : new int[] {30, 100_000}) {
            l.add(new FolderMutant("a node nesting AttrValues " + depth + " deep", Map.of("model.pb", concat(pb, attrBomb(depth, 1))), Map.of()));
        }
        return l;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /**
     * Field {@code field} (a NodeDef: GraphDef.node is field 1) holding a node whose one attribute
     * nests {@code depth} AttrValue → NameAttrList → AttrValue levels, as bytes: protobuf's builders
     * cannot serialise such depth (they recurse), and a parser must refuse it before it recurses.
     * Appending a field to a message's bytes adds it to the message.
     */
    static byte[] attrBomb(int depth, int field) {
        // Levels from the outside in: each is (bytes before the nested message, its tag).
        List<byte[]> prefixes = new ArrayList<>();
        List<Integer> tags = new ArrayList<>();
        prefixes.add(new byte[0]);
        tags.add(field << 3 | 2); // GraphDef.node
        prefixes.add(concat(string(1, "bomb"), string(2, "NoOp")));
        tags.add(5 << 3 | 2); // NodeDef.attr entry
        for (int i = 0; i < depth; i++) {
            prefixes.add(string(1, "a"));
            tags.add(2 << 3 | 2); // map entry value: AttrValue
            prefixes.add(new byte[0]);
            tags.add(10 << 3 | 2); // AttrValue.func: NameAttrList
            prefixes.add(string(1, "f"));
            tags.add(2 << 3 | 2); // NameAttrList.attr entry
        }
        int n = prefixes.size();
        long[] len = new long[n + 1];
        len[n] = 0;
        for (int i = n - 1; i >= 0; i--) {
            len[i] = prefixes.get(i).length + varintSize(tags.get(i)) + varintSize(len[i + 1]) + len[i + 1];
        }
        ByteArrayOutputStream o = new ByteArrayOutputStream((int) len[0]);
        for (int i = 0; i < n; i++) {
            o.writeBytes(prefixes.get(i));
            varint(o, tags.get(i));
            varint(o, len[i + 1]);
        }
        return o.toByteArray();
    }

    private static byte[] string(int field, String s) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        varint(o, field << 3 | 2);
        varint(o, b.length);
        o.writeBytes(b);
        return o.toByteArray();
    }

    private static int varintSize(long v) {
        int n = 1;
        while ((v & ~0x7fL) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    private static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7fL) != 0) {
            o.write((int) (v & 0x7f) | 0x80);
            v >>>= 7;
        }
        o.write((int) v);
    }

    private static <T> T pick(List<T> l, Random r) {
        return l.isEmpty() ? null : l.get(r.nextInt(l.size()));
    }

    /** Every NodeDef builder of the graph and of its functions' bodies. */
    private static List<NodeDef.Builder> allNodes(GraphDef.Builder g) {
        List<NodeDef.Builder> l = new ArrayList<>(g.getNodeBuilderList());
        for (FunctionDef.Builder f : g.getLibraryBuilder().getFunctionBuilderList()) {
            l.addAll(f.getNodeDefBuilderList());
        }
        return l;
    }

    private static final long[] ODD_DIMS = {-5, -2, 0, 1L << 31, 1L << 40, Long.MAX_VALUE, 1_000_000_000L, Integer.MAX_VALUE};
    private static final int[] ODD_TYPES = {DataType.DT_STRING_VALUE, DataType.DT_COMPLEX64_VALUE, DataType.DT_RESOURCE_VALUE,
            DataType.DT_VARIANT_VALUE, DataType.DT_BOOL_VALUE, DataType.DT_HALF_VALUE, DataType.DT_INT8_VALUE, DataType.DT_DOUBLE_VALUE,
            DataType.DT_INVALID_VALUE, DataType.DT_FLOAT_REF_VALUE, 999, DataType.DT_INT64_VALUE, DataType.DT_QINT8_VALUE};

    private static TensorShapeProto oddShape(TensorShapeProto s, Random r) {
        TensorShapeProto.Builder b = s.toBuilder();
        if (b.getDimCount() == 0 || r.nextInt(4) == 0) {
            b.addDim(TensorShapeProto.Dim.newBuilder().setSize(ODD_DIMS[r.nextInt(ODD_DIMS.length)]));
        } else {
            b.setDim(r.nextInt(b.getDimCount()), TensorShapeProto.Dim.newBuilder().setSize(ODD_DIMS[r.nextInt(ODD_DIMS.length)]));
        }
        if (r.nextInt(5) == 0) {
            b.setUnknownRank(true);
        }
        return b.build();
    }

    private static String names(NodeDef.Builder n) {
        return "node '" + n.getName() + "' (" + n.getOp() + ")";
    }

    /** Mutations of a GraphDef (a frozen graph, or a SavedModel's graph and its functions); each describes the change or returns null. */
    static Map<String, BiFunction<GraphDef.Builder, Random, String>> graphMutations() {
        Map<String, BiFunction<GraphDef.Builder, Random, String>> ms = new LinkedHashMap<>();
        ms.put("constant shape odd", (g, r) -> {
            NodeDef.Builder n = pick(allNodes(g).stream().filter(x -> x.getAttrMap().containsKey("value")
                    && x.getAttrMap().get("value").hasTensor()).toList(), r);
            if (n == null) {
                return null;
            }
            TensorProto t = n.getAttrMap().get("value").getTensor();
            TensorShapeProto s = oddShape(t.getTensorShape(), r);
            n.putAttr("value", AttrValue.newBuilder().setTensor(t.toBuilder().setTensorShape(s)).build());
            return names(n) + " value shape " + s.getDimList().stream().map(d -> Long.toString(d.getSize())).toList();
        });
        ms.put("constant content odd", (g, r) -> {
            NodeDef.Builder n = pick(allNodes(g).stream().filter(x -> x.getAttrMap().containsKey("value")
                    && x.getAttrMap().get("value").hasTensor()).toList(), r);
            if (n == null) {
                return null;
            }
            TensorProto.Builder t = n.getAttrMap().get("value").getTensor().toBuilder();
            String what;
            switch (r.nextInt(4)) {
                case 0 -> {
                    ByteString c = t.getTensorContent();
                    t.setTensorContent(c.substring(0, r.nextInt(c.size() + 1)));
                    what = "content cut to " + t.getTensorContent().size() + " bytes";
                }
                case 1 -> {
                    t.setTensorContent(t.getTensorContent().concat(ByteString.copyFrom(new byte[1 + r.nextInt(64)])));
                    what = "content grown to " + t.getTensorContent().size() + " bytes";
                }
                case 2 -> {
                    t.setDtypeValue(ODD_TYPES[r.nextInt(ODD_TYPES.length)]);
                    what = "dtype " + t.getDtypeValue();
                }
                default -> {
                    t.clearTensorContent().addFloatVal(Float.NaN).addFloatVal(1e30f).addIntVal(-1).addInt64Val(Long.MIN_VALUE);
                    what = "values given as float_val, int_val and int64_val";
                }
            }
            n.putAttr("value", AttrValue.newBuilder().setTensor(t).build());
            return names(n) + " " + what;
        });
        ms.put("splat constant huge", (g, r) -> {
            // TensorFlow repeats a constant's last listed value over its shape: a few bytes may declare any size.
            NodeDef.Builder n = pick(allNodes(g).stream().filter(x -> x.getAttrMap().containsKey("value")
                    && x.getAttrMap().get("value").hasTensor()).toList(), r);
            if (n == null) {
                return null;
            }
            TensorProto t = n.getAttrMap().get("value").getTensor();
            long[] dims = pick(List.of(new long[] {1 << 14, 1 << 14}, new long[] {1 << 26}, new long[] {1L << 30}, new long[] {46341, 46341},
                    new long[] {1 << 10, 1 << 10, 1 << 10}), r);
            TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
            for (long d : dims) {
                s.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
            }
            TensorProto.Builder b = TensorProto.newBuilder().setDtype(t.getDtype()).setTensorShape(s);
            switch (t.getDtype()) {
                case DT_FLOAT -> b.addFloatVal(1f);
                case DT_INT64 -> b.addInt64Val(1);
                case DT_DOUBLE -> b.addDoubleVal(1);
                default -> b.addIntVal(1);
            }
            n.putAttr("value", AttrValue.newBuilder().setTensor(b).build());
            return names(n) + " value a splat of shape " + java.util.Arrays.toString(dims);
        });
        ms.put("fill of a huge shape", (g, r) -> {
            // Fill(dims, value) read by a node of the graph or of a function, for folding to expand.
            boolean inFunction = r.nextBoolean() && g.getLibraryBuilder().getFunctionCount() > 0;
            FunctionDef.Builder f = inFunction ? pick(g.getLibraryBuilder().getFunctionBuilderList(), r) : null;
            List<NodeDef.Builder> scope = inFunction ? f.getNodeDefBuilderList() : g.getNodeBuilderList();
            NodeDef.Builder n = pick(scope.stream().filter(x -> x.getInputCount() > 0).toList(), r);
            if (n == null) {
                return null;
            }
            int side = pick(List.of(1 << 14, 46341, 1 << 16), r);
            ByteBuffer dims = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(side).putInt(side);
            NodeDef dimsNode = NodeDef.newBuilder().setName("huge_dims").setOp("Const")
                    .putAttr("dtype", AttrValue.newBuilder().setType(DataType.DT_INT32).build())
                    .putAttr("value", AttrValue.newBuilder().setTensor(TensorProto.newBuilder().setDtype(DataType.DT_INT32)
                            .setTensorShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dim.newBuilder().setSize(2)))
                            .setTensorContent(ByteString.copyFrom(dims.array()))).build()).build();
            NodeDef valueNode = NodeDef.newBuilder().setName("huge_value").setOp("Const")
                    .putAttr("dtype", AttrValue.newBuilder().setType(DataType.DT_FLOAT).build())
                    .putAttr("value", AttrValue.newBuilder().setTensor(TensorProto.newBuilder().setDtype(DataType.DT_FLOAT).addFloatVal(0.5f))
                            .build()).build();
            String out = inFunction ? ":output:0" : "";
            NodeDef fill = NodeDef.newBuilder().setName("huge_fill").setOp("Fill").addInput("huge_dims" + out).addInput("huge_value" + out)
                    .putAttr("T", AttrValue.newBuilder().setType(DataType.DT_FLOAT).build())
                    .putAttr("index_type", AttrValue.newBuilder().setType(DataType.DT_INT32).build()).build();
            int i = r.nextInt(n.getInputCount());
            String was = n.getInput(i);
            n.setInput(i, "huge_fill" + out);
            if (inFunction) {
                f.addNodeDef(dimsNode).addNodeDef(valueNode).addNodeDef(fill);
            } else {
                g.addNode(dimsNode).addNode(valueNode).addNode(fill);
            }
            return names(n) + " input " + i + " '" + was + "' -> Fill of [" + side + ", " + side + "]";
        });
        ms.put("shape attribute odd", (g, r) -> {
            List<Object[]> shapes = new ArrayList<>();
            for (NodeDef.Builder n : allNodes(g)) {
                for (Map.Entry<String, AttrValue> a : n.getAttrMap().entrySet()) {
                    if (a.getValue().hasShape()) {
                        shapes.add(new Object[] {n, a.getKey()});
                    }
                }
            }
            Object[] p = pick(shapes, r);
            if (p == null) {
                return null;
            }
            NodeDef.Builder n = (NodeDef.Builder) p[0];
            TensorShapeProto s = oddShape(n.getAttrMap().get((String) p[1]).getShape(), r);
            n.putAttr((String) p[1], AttrValue.newBuilder().setShape(s).build());
            return names(n) + " " + p[1] + " " + s.getDimList().stream().map(d -> Long.toString(d.getSize())).toList();
        });
        ms.put("dtype odd", (g, r) -> {
            List<Object[]> types = new ArrayList<>();
            for (NodeDef.Builder n : allNodes(g)) {
                for (Map.Entry<String, AttrValue> a : n.getAttrMap().entrySet()) {
                    if (a.getValue().getValueCase() == AttrValue.ValueCase.TYPE) {
                        types.add(new Object[] {n, a.getKey()});
                    }
                }
            }
            Object[] p = pick(types, r);
            if (p == null) {
                return null;
            }
            NodeDef.Builder n = (NodeDef.Builder) p[0];
            int t = ODD_TYPES[r.nextInt(ODD_TYPES.length)];
            n.putAttr((String) p[1], AttrValue.newBuilder().setTypeValue(t).build());
            return names(n) + " " + p[1] + " = " + t;
        });
        ms.put("attribute removed or odd", (g, r) -> {
            NodeDef.Builder n = pick(allNodes(g).stream().filter(x -> x.getAttrCount() > 0).toList(), r);
            if (n == null) {
                return null;
            }
            String k = pick(new ArrayList<>(n.getAttrMap().keySet()), r);
            AttrValue[] odd = {AttrValue.newBuilder().setI(Long.MIN_VALUE).build(), AttrValue.newBuilder().setF(Float.NaN).build(),
                    AttrValue.newBuilder().setS(ByteString.copyFrom(new byte[] {(byte) 0xc3, 0x28})).build(),
                    AttrValue.newBuilder().setB(true).build(), AttrValue.newBuilder().setI(1L << 40).build(),
                    AttrValue.newBuilder().setList(AttrValue.ListValue.newBuilder().addI(-1).addI(1L << 33)).build(),
                    AttrValue.newBuilder().setFunc(NameAttrList.newBuilder().setName("ghost")).build(), AttrValue.getDefaultInstance()};
            if (r.nextInt(3) == 0) {
                n.removeAttr(k);
                return names(n) + " attribute " + k + " removed";
            }
            AttrValue v = odd[r.nextInt(odd.length)];
            n.putAttr(k, v);
            return names(n) + " attribute " + k + " -> " + v.getValueCase();
        });
        ms.put("dangling input", (g, r) -> {
            NodeDef.Builder n = pick(allNodes(g).stream().filter(x -> x.getInputCount() > 0).toList(), r);
            if (n == null) {
                return null;
            }
            int i = r.nextInt(n.getInputCount());
            String was = n.getInput(i);
            String base = was.replaceFirst("^\\^", "").replaceFirst(":.*$", "");
            String to = pick(List.of("ghost", base + ":99", base + ":-1", "^ghost", "", base + ":out:9", ":", base + ":"
                    + Long.MAX_VALUE), r);
            n.setInput(i, to);
            return names(n) + " input " + i + " '" + was + "' -> '" + to + "'";
        });
        ms.put("cycle", (g, r) -> {
            // In the graph or one function: a node reads itself, or a node that reads it.
            List<NodeDef.Builder> scope = r.nextBoolean() || g.getLibraryBuilder().getFunctionCount() == 0 ? g.getNodeBuilderList()
                    : pick(g.getLibraryBuilder().getFunctionBuilderList(), r).getNodeDefBuilderList();
            List<NodeDef.Builder> readers = scope.stream().filter(x -> x.getInputCount() > 0).toList();
            NodeDef.Builder n = pick(readers, r);
            if (n == null) {
                return null;
            }
            NodeDef.Builder consumer = pick(readers.stream().filter(x -> x.getInputList().stream()
                    .anyMatch(in -> in.replaceFirst("^\\^", "").replaceFirst(":.*$", "").equals(n.getName()))).toList(), r);
            String to = consumer == null || r.nextBoolean() ? n.getName() : consumer.getName();
            int i = r.nextInt(n.getInputCount());
            n.setInput(i, to);
            return names(n) + " input " + i + " -> '" + to + "'";
        });
        ms.put("op swapped", (g, r) -> {
            NodeDef.Builder n = pick(allNodes(g), r);
            if (n == null) {
                return null;
            }
            String op = pick(List.of("MatMul", "Reshape", "Const", "Placeholder", "While", "StatelessWhile", "BlockLSTM", "BlockLSTMV2",
                    "PartitionedCall", "StatefulPartitionedCall", "ConcatV2", "Split", "Transpose", "Identity", "NoOp", "Fill", "Gather",
                    "StridedSlice", "Pack", "TensorListFromTensor", "Cast", "Unknown9"), r);
            String was = names(n);
            n.setOp(op);
            return was + " -> " + op;
        });
        ms.put("duplicate node name", (g, r) -> {
            if (g.getNodeCount() < 2) {
                return null;
            }
            NodeDef.Builder a = g.getNodeBuilder(r.nextInt(g.getNodeCount()));
            NodeDef.Builder b = g.getNodeBuilder(r.nextInt(g.getNodeCount()));
            String was = b.getName();
            b.setName(a.getName());
            return "node '" + was + "' renamed '" + a.getName() + "'";
        });
        ms.put("function recursion", (g, r) -> {
            List<FunctionDef.Builder> fs = g.getLibraryBuilder().getFunctionBuilderList();
            FunctionDef.Builder f = pick(fs, r);
            if (f == null) {
                // A graph without functions: one that calls itself, reached from an output node.
                NodeDef.Builder n = pick(g.getNodeBuilderList().stream().filter(x -> x.getInputCount() > 0).toList(), r);
                if (n == null) {
                    return null;
                }
                FunctionDef.Builder self = FunctionDef.newBuilder();
                self.getSignatureBuilder().setName("loop").addInputArg(org.tensorflow.proto.OpDef.ArgDef.newBuilder().setName("x")
                        .setType(DataType.DT_FLOAT)).addOutputArg(org.tensorflow.proto.OpDef.ArgDef.newBuilder().setName("y")
                        .setType(DataType.DT_FLOAT));
                self.addNodeDef(NodeDef.newBuilder().setName("call").setOp("PartitionedCall").addInput("x")
                        .putAttr("f", AttrValue.newBuilder().setFunc(NameAttrList.newBuilder().setName("loop")).build()));
                self.putRet("y", "call:output:0");
                g.getLibraryBuilder().addFunction(self);
                String was = n.getInput(0);
                g.addNode(NodeDef.newBuilder().setName("enter_loop").setOp("PartitionedCall").addInput(was)
                        .putAttr("f", AttrValue.newBuilder().setFunc(NameAttrList.newBuilder().setName("loop")).build()));
                n.setInput(0, "enter_loop");
                return names(n) + " reads a function that calls itself";
            }
            // Every call to another function in f now calls f itself, or a function that calls f back.
            FunctionDef.Builder other = pick(fs, r);
            int changed = 0;
            for (NodeDef.Builder n : f.getNodeDefBuilderList()) {
                for (Map.Entry<String, AttrValue> a : new ArrayList<>(n.getAttrMap().entrySet())) {
                    if (a.getValue().hasFunc()) {
                        n.putAttr(a.getKey(), AttrValue.newBuilder().setFunc(a.getValue().getFunc().toBuilder()
                                .setName(r.nextBoolean() ? f.getSignature().getName() : other.getSignature().getName())).build());
                        changed++;
                    }
                }
            }
            for (NodeDef.Builder n : other.getNodeDefBuilderList()) {
                for (Map.Entry<String, AttrValue> a : new ArrayList<>(n.getAttrMap().entrySet())) {
                    if (a.getValue().hasFunc() && r.nextBoolean()) {
                        n.putAttr(a.getKey(), AttrValue.newBuilder().setFunc(a.getValue().getFunc().toBuilder()
                                .setName(f.getSignature().getName())).build());
                        changed++;
                    }
                }
            }
            if (changed == 0) {
                // No call in f: its first node becomes one, to f.
                if (f.getNodeDefCount() == 0) {
                    return null;
                }
                NodeDef.Builder n = f.getNodeDefBuilder(0);
                n.setOp("StatefulPartitionedCall").putAttr("f", AttrValue.newBuilder().setFunc(NameAttrList.newBuilder()
                        .setName(f.getSignature().getName())).build());
                return "function '" + f.getSignature().getName() + "' node '" + n.getName() + "' calls the function itself";
            }
            return "function '" + f.getSignature().getName() + "': " + changed + " calls redirected into a cycle with '"
                    + other.getSignature().getName() + "'";
        });
        ms.put("function signature odd", (g, r) -> {
            FunctionDef.Builder f = pick(g.getLibraryBuilder().getFunctionBuilderList(), r);
            if (f == null) {
                return null;
            }
            String name = f.getSignature().getName();
            switch (r.nextInt(4)) {
                case 0 -> {
                    f.clearRet();
                    return "function '" + name + "' returns nothing";
                }
                case 1 -> {
                    if (f.getSignature().getInputArgCount() == 0) {
                        return null;
                    }
                    f.getSignatureBuilder().removeInputArg(r.nextInt(f.getSignature().getInputArgCount()));
                    return "function '" + name + "' lost an input";
                }
                case 2 -> {
                    g.getLibraryBuilder().addFunction(f.build().toBuilder().clearNodeDef());
                    return "function '" + name + "' defined twice";
                }
                default -> {
                    for (String k : new ArrayList<>(f.getRetMap().keySet())) {
                        f.putRet(k, "ghost:output:0");
                    }
                    return "function '" + name + "' returns a node it lacks";
                }
            }
        });
        ms.put("nodes removed", (g, r) -> {
            if (g.getNodeCount() == 0) {
                return null;
            }
            int i = r.nextInt(g.getNodeCount());
            String n = g.getNode(i).getName();
            g.removeNode(i);
            return "node '" + n + "' removed";
        });
        return ms;
    }

    // ---- SavedModels

    static List<FolderMutant> savedModelMutants(Map<String, byte[]> files, Path outside, Random r) throws IOException {
        List<FolderMutant> l = new ArrayList<>();
        String index = "variables/variables.index";
        String data = files.keySet().stream().filter(k -> k.startsWith("variables/variables.data-")).findFirst().orElseThrow();
        for (String f : List.of("saved_model.pb", index, data)) {
            for (Mutant m : MutantHarness.byteMutants(files.get(f), (f.equals("saved_model.pb") ? 6 : 4) * VARIANTS, r)) {
                l.add(replaced(files, f, f + " " + m.what(), m.bytes()));
            }
        }
        SavedModel sm = SavedModel.parseFrom(files.get("saved_model.pb"));
        for (Map.Entry<String, BiFunction<GraphDef.Builder, Random, String>> e : graphMutations().entrySet()) {
            for (int v = 0; v < VARIANTS; v++) {
                SavedModel.Builder b = sm.toBuilder();
                MetaGraphDef.Builder mg = b.getMetaGraphsBuilder(0);
                String what = e.getValue().apply(mg.getGraphDefBuilder(), r);
                if (what != null) {
                    l.add(replaced(files, "saved_model.pb", e.getKey() + ": " + what, b.build().toByteArray()));
                }
            }
        }
        for (int v = 0; v < VARIANTS; v++) {
            SavedModel.Builder b = sm.toBuilder();
            String what = signatureMutation(b.getMetaGraphsBuilder(0), r);
            if (what != null) {
                l.add(replaced(files, "saved_model.pb", "signature: " + what, b.build().toByteArray()));
            }
        }
        // SavedModel.meta_graphs (1) → MetaGraphDef.graph_def (2) → GraphDef.node (1) → the bomb.
        for (int depth : new int[] {30, 100_000}) {
            byte[] node = attrBomb(depth, 1);
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            varint(o, 2 << 3 | 2);
            varint(o, node.length);
            o.writeBytes(node);
            byte[] graph = o.toByteArray();
            o = new ByteArrayOutputStream();
            varint(o, 1 << 3 | 2);
            varint(o, graph.length);
            o.writeBytes(graph);
            // A second MetaGraphDef would be a second graph; appended inside the first one's bytes is not
            // possible after the fact, so the bomb rides in a MetaGraphDef of its own, placed first.
            l.add(replaced(files, "saved_model.pb", "a MetaGraphDef nesting AttrValues " + depth + " deep first",
                    concat(o.toByteArray(), files.get("saved_model.pb"))));
        }
        l.addAll(bundleMutants(files, index, r));
        // Links.
        Map<String, Path> links = new LinkedHashMap<>();
        links.put(data, outside.resolve(data));
        l.add(new FolderMutant("the data shard a link to a copy outside the folder", files, links));
        l.add(new FolderMutant("saved_model.pb a link to a copy outside the folder", files, Map.of("saved_model.pb", outside.resolve("saved_model.pb"))));
        Map<String, byte[]> noVars = new LinkedHashMap<>(files);
        noVars.keySet().removeIf(k -> k.startsWith("variables/"));
        l.add(new FolderMutant("variables/ a link to a copy outside the folder", noVars, Map.of("variables", outside.resolve("variables"))));
        // A FIFO in place of the data shard: opening it for reading would wait for a writer forever.
        l.add(new FolderMutant("the data shard a FIFO", files, Map.of(), data));
        Map<String, byte[]> inside = new LinkedHashMap<>(files);
        inside.put("elsewhere/shard", files.get(data));
        l.add(new FolderMutant("must load: the data shard a link within the folder", inside, Map.of(data, Path.of("elsewhere/shard"))));
        return l;
    }

    private static FolderMutant replaced(Map<String, byte[]> files, String name, String what, byte[] bytes) {
        Map<String, byte[]> m = new LinkedHashMap<>(files);
        m.put(name, bytes);
        return new FolderMutant(what, m, Map.of());
    }

    private static String signatureMutation(MetaGraphDef.Builder mg, Random r) {
        if (mg.getSignatureDefCount() == 0) {
            return null;
        }
        String key = mg.getSignatureDefMap().containsKey("serving_default") ? "serving_default"
                : pick(new ArrayList<>(mg.getSignatureDefMap().keySet()), r);
        SignatureDef.Builder s = mg.getSignatureDefMap().get(key).toBuilder();
        String what;
        boolean inputs = r.nextBoolean() && s.getInputsCount() > 0;
        Map<String, TensorInfo> m = new LinkedHashMap<>(inputs ? s.getInputsMap() : s.getOutputsMap());
        if (m.isEmpty()) {
            return null;
        }
        String k = pick(new ArrayList<>(m.keySet()), r);
        TensorInfo.Builder t = m.get(k).toBuilder();
        switch (r.nextInt(5)) {
            case 0 -> {
                t.setName(pick(List.of("ghost:0", t.getName().replaceFirst(":.*", "") + ":77", "", ":"), r));
                what = "points at '" + t.getName() + "'";
            }
            case 1 -> {
                t.setTensorShape(oddShape(t.getTensorShape(), r));
                what = "shape " + t.getTensorShape().getDimList().stream().map(d -> Long.toString(d.getSize())).toList();
            }
            case 2 -> {
                t.setDtypeValue(ODD_TYPES[r.nextInt(ODD_TYPES.length)]);
                what = "dtype " + t.getDtypeValue();
            }
            case 3 -> {
                mg.removeSignatureDef(key);
                return "signature '" + key + "' removed";
            }
            default -> {
                t.clearName().setCooSparse(TensorInfo.CooSparse.newBuilder().setValuesTensorName("x"));
                what = "made sparse";
            }
        }
        m.put(k, t.build());
        if (inputs) {
            s.clearInputs().putAllInputs(m);
        } else {
            s.clearOutputs().putAllOutputs(m);
        }
        mg.putSignatureDef(key, s.build());
        return "'" + key + "' " + (inputs ? "input" : "output") + " '" + k + "' " + what;
    }

    // ---- tensor bundles

    /** The entries of an SSTable (LevelDB's table, as variables.index is). */
    static Map<String, byte[]> readTable(byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int[] pos = {b.length - 48};
        readVarint(b, pos);
        readVarint(b, pos);
        long indexOffset = readVarint(b, pos);
        long indexSize = readVarint(b, pos);
        Map<String, byte[]> out = new LinkedHashMap<>();
        Map<String, byte[]> handles = new LinkedHashMap<>();
        blockEntries(b, (int) indexOffset, (int) indexSize, handles);
        for (byte[] h : handles.values()) {
            int[] p = {0};
            long off = readVarint(h, p);
            long size = readVarint(h, p);
            blockEntries(b, (int) off, (int) size, out);
        }
        assertTrue(bb.getLong(b.length - 8) == 0xdb4775248b80fb57L, "no table magic");
        return out;
    }

    private static void blockEntries(byte[] b, int off, int size, Map<String, byte[]> out) {
        int restarts = ByteBuffer.wrap(b, off + size - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        int limit = off + size - 4 - 4 * restarts;
        int[] pos = {off};
        byte[] key = new byte[0];
        while (pos[0] < limit) {
            int shared = (int) readVarint(b, pos);
            int unshared = (int) readVarint(b, pos);
            int vlen = (int) readVarint(b, pos);
            byte[] k = java.util.Arrays.copyOf(key, shared + unshared);
            System.arraycopy(b, pos[0], k, shared, unshared);
            pos[0] += unshared;
            out.put(new String(k, StandardCharsets.UTF_8), java.util.Arrays.copyOfRange(b, pos[0], pos[0] + vlen));
            pos[0] += vlen;
            key = k;
        }
    }

    private static long readVarint(byte[] b, int[] pos) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            int x = b[pos[0]++] & 0xff;
            v |= (long) (x & 0x7f) << shift;
            if ((x & 0x80) == 0) {
                return v;
            }
        }
    }

    /** An SSTable of {@code entries} in order: one data block, an empty metaindex block, an index block, the footer. */
    static byte[] writeTable(Map<String, byte[]> entries) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream blk = new ByteArrayOutputStream();
        String last = "";
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
            varint(blk, 0);
            varint(blk, k.length);
            varint(blk, e.getValue().length);
            blk.writeBytes(k);
            blk.writeBytes(e.getValue());
            last = e.getKey();
        }
        long[] data = block(o, blk);
        long[] meta = block(o, new ByteArrayOutputStream());
        ByteArrayOutputStream idx = new ByteArrayOutputStream();
        ByteArrayOutputStream handle = new ByteArrayOutputStream();
        varint(handle, data[0]);
        varint(handle, data[1]);
        byte[] lk = (last + "\u00ff").getBytes(StandardCharsets.UTF_8);
        varint(idx, 0);
        varint(idx, lk.length);
        varint(idx, handle.size());
        idx.writeBytes(lk);
        idx.writeBytes(handle.toByteArray());
        long[] index = block(o, idx);
        ByteArrayOutputStream footer = new ByteArrayOutputStream();
        varint(footer, meta[0]);
        varint(footer, meta[1]);
        varint(footer, index[0]);
        varint(footer, index[1]);
        byte[] f = java.util.Arrays.copyOf(footer.toByteArray(), 48);
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(40, 0xdb4775248b80fb57L);
        o.writeBytes(f);
        return o.toByteArray();
    }

    /** Writes a block's entries with one restart point and its trailer; returns its handle (offset, size). */
    private static long[] block(ByteArrayOutputStream o, ByteArrayOutputStream entries) {
        long offset = o.size();
        ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putInt(1);
        byte[] body = concat(entries.toByteArray(), tail.array());
        o.writeBytes(body);
        CRC32C crc = new CRC32C();
        crc.update(body);
        crc.update(0);
        int c = (int) crc.getValue();
        int masked = ((c >>> 15) | (c << 17)) + 0xa282ead8;
        o.write(0);
        o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(masked).array());
        return new long[] {offset, body.length};
    }

    static List<FolderMutant> bundleMutants(Map<String, byte[]> files, String index, Random r) throws InvalidProtocolBufferException {
        List<FolderMutant> l = new ArrayList<>();
        Map<String, byte[]> table = readTable(files.get(index));
        // The seed's table, rewritten by this writer, must load: else every refusal below proves nothing.
        l.add(replaced(files, index, "must load: variables.index rewritten unchanged", writeTable(table)));
        List<String> keys = table.keySet().stream().filter(k -> !k.isEmpty() && !k.equals("_CHECKPOINTABLE_OBJECT_GRAPH")).toList();
        for (int v = 0; v < 4 * VARIANTS && !keys.isEmpty(); v++) {
            Map<String, byte[]> t = new LinkedHashMap<>(table);
            String k = pick(keys, r);
            BundleEntryProto.Builder e = BundleEntryProto.parseFrom(t.get(k)).toBuilder();
            String what;
            switch (r.nextInt(8)) {
                case 0 -> {
                    t.remove(k);
                    what = "variable '" + k + "' missing";
                }
                case 1 -> {
                    e.setShape(oddShape(e.getShape(), r));
                    what = "'" + k + "' shape " + e.getShape().getDimList().stream().map(d -> Long.toString(d.getSize())).toList();
                }
                case 2 -> {
                    e.setDtypeValue(ODD_TYPES[r.nextInt(ODD_TYPES.length)]);
                    what = "'" + k + "' dtype " + e.getDtypeValue();
                }
                case 3 -> {
                    e.setOffset(ODD_DIMS[r.nextInt(ODD_DIMS.length)]);
                    what = "'" + k + "' offset " + e.getOffset();
                }
                case 4 -> {
                    e.setSize(ODD_DIMS[r.nextInt(ODD_DIMS.length)]);
                    what = "'" + k + "' size " + e.getSize();
                }
                case 5 -> {
                    e.setShardId(new int[] {-1, 1, 7, Integer.MAX_VALUE}[r.nextInt(4)]);
                    what = "'" + k + "' shard " + e.getShardId();
                }
                case 6 -> {
                    e.addSlices(TensorSliceProto.newBuilder().addExtent(TensorSliceProto.Extent.newBuilder().setStart(0).setLength(1)));
                    what = "'" + k + "' in slices";
                }
                default -> {
                    // The entry of another variable under this name: a shape the graph does not expect.
                    String other = pick(keys, r);
                    t.put(k, t.get(other));
                    what = "'" + k + "' holds the entry of '" + other + "'";
                }
            }
            if (!what.contains("missing") && !what.contains("holds the entry")) {
                t.put(k, e.build().toByteArray());
            }
            l.add(replaced(files, index, "bundle: " + what, writeTable(t)));
        }
        for (int v = 0; v < VARIANTS; v++) {
            Map<String, byte[]> t = new LinkedHashMap<>(table);
            BundleHeaderProto.Builder h = BundleHeaderProto.parseFrom(t.get("")).toBuilder();
            String what;
            switch (r.nextInt(3)) {
                case 0 -> {
                    h.setNumShards(new int[] {0, -1, 2, 100_000, Integer.MAX_VALUE}[r.nextInt(5)]);
                    what = "num_shards " + h.getNumShards();
                }
                case 1 -> {
                    h.setEndianness(BundleHeaderProto.Endianness.BIG);
                    what = "big-endian";
                }
                default -> {
                    t.remove("");
                    what = "no header";
                    h = null;
                }
            }
            if (h != null) {
                t.put("", h.build().toByteArray());
            }
            l.add(replaced(files, index, "bundle header: " + what, writeTable(t)));
        }
        // Keys sorted otherwise (a table is sorted; a reader must not depend on it to stay safe).
        Map<String, byte[]> rev = new LinkedHashMap<>();
        table.keySet().stream().sorted(Comparator.reverseOrder()).forEach(k -> rev.put(k, table.get(k)));
        l.add(replaced(files, index, "bundle keys in reverse order", writeTable(rev)));
        return l;
    }
}
