package io.lstmx.importers.pytorch;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** torch.save containers made by hand: what real files do (views, offsets, strides) and what hostile ones try. */
class TorchFileTest {
    @TempDir
    Path dir;

    private static final StateDictReader READER = new StateDictReader();

    private static LstmxException refused(ErrorCode code, Path file, Executable body) {
        LstmxException e = assertThrows(LstmxException.class, body);
        assertEquals(code, e.code(), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
        return e;
    }

    /** nn.Linear-free bare RNN(2, 3): weight_ih_l0 [3, 2], weight_hh_l0 [3, 3], both biases [3], in one storage. */
    private static Map<String, Pickles.T> rnnViews(long numel) {
        Map<String, Pickles.T> t = new LinkedHashMap<>();
        t.put("weight_ih_l0", new Pickles.T("0", numel, 9, new long[] {3, 2}, new long[] {1, 3})); // stored transposed
        t.put("weight_hh_l0", new Pickles.T("0", numel, 0, new long[] {3, 3}, new long[] {3, 1}));
        t.put("bias_ih_l0", new Pickles.T("0", numel, 15, new long[] {3}, new long[] {1}));
        t.put("bias_hh_l0", new Pickles.T("0", numel, 18, new long[] {3}, new long[] {2})); // every other element
        return t;
    }

    @Test
    void tensorsAreReadAsStridedViewsAtTheirOffsetsInOneStorage() throws IOException {
        float[] flat = Pickles.ramp(23);
        Path f = Pickles.zip(dir.resolve("rnn.pt"), "rnn", Pickles.stateDict(rnnViews(23), false), Map.of("0", Pickles.floats(flat)));
        try (TorchFile tf = TorchFile.open(f)) {
            ModuleTree.Tree tree = ModuleTree.of(tf.root, f);
            Map<String, TensorRef> refs = tree.groups().get(0).tensors();
            // weight_ih_l0[i][j] is element 9 + i + 3 j; bias_hh_l0[i] is element 18 + 2 i.
            Tensor ih = Storages.materialize(tf, refs.get("weight_ih_l0"), "weight_ih_l0");
            assertArrayEquals(new int[] {3, 2}, ih.shape());
            assertArrayEquals(new float[] {flat[9], flat[12], flat[10], flat[13], flat[11], flat[14]}, ih.toFloatArray());
            Tensor bhh = Storages.materialize(tf, refs.get("bias_hh_l0"), "bias_hh_l0");
            assertArrayEquals(new float[] {flat[18], flat[20], flat[22]}, bhh.toFloatArray());
        }
        Model m = READER.read(f, ReadOptions.DEFAULT);
        assertTrue(m.layers().get(0) instanceof Layer.Rnn, m.layers().toString());
        assertEquals(List.of("y", "h_n"), m.outputNames());
    }

    @Test
    void aLegacyFileIsReadLikeItsZipTwin() throws IOException {
        float[] flat = Pickles.ramp(23);
        Path zip = Pickles.zip(dir.resolve("z.pt"), "z", Pickles.stateDict(rnnViews(23), false), Map.of("0", Pickles.floats(flat)));
        Path legacy = Pickles.legacy(dir.resolve("l.pt"), Pickles.stateDict(rnnViews(23), true), List.of("0"), Map.of("0", flat));
        Layer.Rnn a = (Layer.Rnn) READER.read(zip, ReadOptions.DEFAULT).layers().get(0);
        Layer.Rnn b = (Layer.Rnn) READER.read(legacy, ReadOptions.DEFAULT).layers().get(0);
        assertTrue(a.weights().get(0).w().bitEquals(b.weights().get(0).w()) && a.weights().get(0).rb().bitEquals(b.weights().get(0).rb()));
    }

    @Test
    void aStorageSmallerThanATensorClaimsIsRefusedNamingTheTensor() throws IOException {
        // bias_hh_l0 reaches element 22; the storage says (and holds) 21.
        Path f = Pickles.zip(dir.resolve("small.pt"), "small", Pickles.stateDict(rnnViews(21), false), Map.of("0", Pickles.floats(Pickles.ramp(21))));
        LstmxException e = refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT));
        assertTrue(e.getMessage().contains("'bias_hh_l0'") && e.getMessage().contains("storage '0'"), e.getMessage());
    }

    @Test
    void aStorageEntryShorterThanItsPersistentIdSaysIsRefused() throws IOException {
        Path f = Pickles.zip(dir.resolve("short.pt"), "short", Pickles.stateDict(rnnViews(23), false), Map.of("0", Pickles.floats(Pickles.ramp(20))));
        LstmxException e = refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT));
        assertTrue(e.getMessage().contains("short/data/0"), e.getMessage());
    }

    @Test
    void hugeOffsetsAndStridesAreRefusedWithoutAllocating() throws IOException {
        Map<String, Pickles.T> t = rnnViews(23);
        t.put("bias_ih_l0", new Pickles.T("0", 23, Long.MAX_VALUE / 2, new long[] {3}, new long[] {Long.MAX_VALUE / 4}));
        Path f = Pickles.zip(dir.resolve("huge.pt"), "huge", Pickles.stateDict(t, false), Map.of("0", Pickles.floats(Pickles.ramp(23))));
        LstmxException e = refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT));
        assertTrue(e.getMessage().contains("'bias_ih_l0'"), e.getMessage());
    }

    @Test
    void zipEntriesThatWouldLeaveTheArchiveAreRefused() throws IOException {
        byte[] pkl = Pickles.stateDict(rnnViews(23), false);
        for (String evil : List.of("a/../../etc/passwd", "/abs/data.pkl", "a\\..\\x", "C:/x")) {
            Map<String, byte[]> entries = new LinkedHashMap<>();
            entries.put("a/data.pkl", pkl);
            entries.put("a/data/0", Pickles.floats(Pickles.ramp(23)));
            entries.put(evil, new byte[] {1});
            Path f = Pickles.zipEntries(dir.resolve("evil" + Math.abs(evil.hashCode()) + ".pt"), entries, ZipEntry.STORED);
            LstmxException e = refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT));
            assertTrue(e.getMessage().contains(evil) && e.getMessage().contains("outside the archive"), e.getMessage());
        }
    }

    @Test
    void storageKeysThatAreNotPlainNamesAreRefused() throws IOException {
        Map<String, Pickles.T> t = new LinkedHashMap<>();
        t.put("weight", Pickles.T.contiguous("../0", 2, 2));
        Path f = Pickles.zip(dir.resolve("key.pt"), "key", Pickles.stateDict(t, false), Map.of("0", Pickles.floats(1, 2, 3, 4)));
        LstmxException e = refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT));
        assertTrue(e.getMessage().contains("'../0'"), e.getMessage());
    }

    /** A deflated data.pkl whose central directory claims 2^40 bytes: refused before inflating. */
    @Test
    void aCompressedEntryDeclaringFarMoreThanItCouldHoldIsRefused() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("b/data.pkl", Pickles.stateDict(rnnViews(23), false));
        Path f = Pickles.zipEntries(dir.resolve("bomb.pt"), entries, ZipEntry.DEFLATED);
        patchUncompressedSizes(f, 1L << 40);
        LstmxException e = refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT));
        assertTrue(e.getMessage().contains("decompression bomb") || e.getMessage().contains("more than"), e.getMessage());
    }

    /** A deflated entry of 40 MB of zeros that says it holds 100 bytes: reading stops after 101. */
    @Test
    void aCompressedEntryHoldingMoreThanItDeclaresIsRefused() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("b/data.pkl", new byte[40 << 20]);
        Path f = Pickles.zipEntries(dir.resolve("liar.pt"), entries, ZipEntry.DEFLATED);
        patchUncompressedSizes(f, 100);
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT)));
    }

    /** Rewrites the uncompressed size of every central directory record (zip64 is not used here). */
    private static void patchUncompressedSizes(Path f, long size) throws IOException {
        byte[] b = Files.readAllBytes(f);
        for (int i = 0; i + 46 <= b.length; i++) {
            if (b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 1 && b[i + 3] == 2) {
                long s = Math.min(size, 0xfffffffeL);
                for (int k = 0; k < 4; k++) {
                    b[i + 24 + k] = (byte) (s >>> (8 * k));
                }
            }
        }
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(b);
        }
    }

    @Test
    void aPickleNamingPosixSystemInsideAZipIsRefusedNamingIt() throws IOException {
        Path marker = dir.resolve("ran");
        byte[] pkl = Pickles.proto2().global("posix", "system").str("touch " + marker).op(0x85).reduce().stop().bytes();
        Path zip = Pickles.zip(dir.resolve("evil.pt"), "evil", pkl, Map.of());
        Path legacy = Pickles.legacy(dir.resolve("evil_legacy.pt"), pkl, List.of(), Map.of());
        for (Path f : List.of(zip, legacy)) {
            LstmxException e = refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT));
            assertTrue(e.getMessage().contains("posix.system"), e.getMessage());
        }
        assertFalse(Files.exists(marker), "the command ran");
    }

    @Test
    void everyTruncationOfAZipAndALegacyFileIsRefusedCleanly() throws IOException {
        float[] flat = Pickles.ramp(23);
        Path zip = Pickles.zip(dir.resolve("t.pt"), "t", Pickles.stateDict(rnnViews(23), false), Map.of("0", Pickles.floats(flat)));
        Path legacy = Pickles.legacy(dir.resolve("tl.pt"), Pickles.stateDict(rnnViews(23), true), List.of("0"), Map.of("0", flat));
        for (Path whole : List.of(zip, legacy)) {
            byte[] b = Files.readAllBytes(whole);
            for (int n = 0; n < b.length; n++) {
                Path cut = dir.resolve("cut.pt");
                Files.write(cut, Arrays.copyOf(b, n));
                LstmxException e = assertThrows(LstmxException.class, () -> READER.read(cut, ReadOptions.DEFAULT), "cut at " + n);
                assertEquals(ErrorCode.BAD_INPUT, e.code(), "cut at " + n + ": " + e.getMessage());
                assertTrue(e.getMessage().contains(cut.toString()) && !e.getMessage().contains("\n"), e.getMessage());
            }
        }
    }

    @Test
    void aPlainPickleIsNoTorchSaveFile() throws IOException {
        Path f = dir.resolve("plain.pkl");
        Files.write(f, Pickles.proto2().op('}').stop().bytes());
        LstmxException e = refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT));
        assertTrue(e.getMessage().contains("magic number"), e.getMessage());
    }

    @Test
    void aBadHintValueIsRefused() throws IOException {
        Path f = Pickles.zip(dir.resolve("h.pt"), "h", Pickles.stateDict(rnnViews(23), false), Map.of("0", Pickles.floats(Pickles.ramp(23))));
        LstmxException e = refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT.withHint("batch-first", "yes")));
        assertTrue(e.getMessage().contains("batch-first=yes"), e.getMessage());
    }

    @Test
    void aVersionEntryThatIsNoNumberIsRefused() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("v/data.pkl", Pickles.stateDict(rnnViews(23), false));
        entries.put("v/data/0", Pickles.floats(Pickles.ramp(23)));
        entries.put("v/version", "three".getBytes(StandardCharsets.US_ASCII));
        Path f = Pickles.zipEntries(dir.resolve("v.pt"), entries, ZipEntry.STORED);
        refused(ErrorCode.BAD_INPUT, f, () -> READER.read(f, ReadOptions.DEFAULT));
    }
}
