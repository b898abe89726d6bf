package io.lstmx.tests;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.Npy;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.exporters.onnx.OnnxWriter;
import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatReader;
import io.lstmx.formats.FormatRegistry;
import io.lstmx.formats.Recognition;
import io.lstmx.importers.onnx.OnnxReader;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Format detection and naming through the registry of the class path, which here holds every
 * format plug-in (importers/* and exporters/*). The files are real bytes: fixtures, archives laid out
 * as the frameworks lay them out, and the trained models in ../shared/real-models (read only).
 */
class FormatRegistryTest {
    private static final FormatRegistry REGISTRY = FormatRegistry.standard();
    private static final Path SAMPLE = TestFiles.fixtures().resolve("onnx/pytorch/sample_classifier");

    @TempDir
    Path dir;

    // ---- files as the frameworks write them -------------------------------------------------

    /** A zip with the given entry names, each holding a few bytes. */
    private Path zip(String name, String... entries) throws IOException {
        Path p = dir.resolve(name);
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(p))) {
            for (String e : entries) {
                z.putNextEntry(new ZipEntry(e));
                z.write(new byte[] {(byte) 0x80, 0x02, '}', 'q', 0x00, '.'}); // an empty pickled dict
                z.closeEntry();
            }
        }
        return p;
    }

    private Path file(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    private Path onnx(String name) throws IOException {
        return Files.copy(SAMPLE.resolve("model.onnx"), dir.resolve(name));
    }

    private Path torchScript(String name) throws IOException {
        return zip(name, "archive/data.pkl", "archive/code/__torch__.py", "archive/constants.pkl", "archive/version");
    }

    private Path stateDictZip(String name) throws IOException {
        return zip(name, "archive/data.pkl", "archive/data/0", "archive/version");
    }

    /** A torch.save file of PyTorch before 1.6: a bare pickle (protocol 2) starting with its magic number. */
    private Path legacyPickle(String name) throws IOException {
        return file(name, new byte[] {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19, '.'});
    }

    private Path kerasArchive(String name) throws IOException {
        return zip(name, "metadata.json", "config.json", "model.weights.h5");
    }

    private Path hdf5(String name) throws IOException {
        byte[] b = new byte[96];
        byte[] signature = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
        System.arraycopy(signature, 0, b, 0, signature.length);
        return file(name, b);
    }

    private Path savedModelFolder(String name, String pb) throws IOException {
        Path d = Files.createDirectory(dir.resolve(name));
        Files.write(d.resolve(pb), new byte[] {0x08, 0x01, 0x12, 0x00});
        Files.createDirectory(d.resolve("variables"));
        return d;
    }

    /** A GraphDef: field 1 (node), a NodeDef named "x" with op "Placeholder". */
    private Path graphDef(String name) throws IOException {
        return file(name, new byte[] {0x0a, 0x10, 0x0a, 0x01, 'x', 0x12, 0x0b, 'P', 'l', 'a', 'c', 'e', 'h', 'o', 'l', 'd', 'e', 'r'});
    }

    private static LstmxException refused(ErrorCode code, Executable body) {
        LstmxException e = assertThrows(LstmxException.class, body);
        assertEquals(code, e.code(), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    private static void assertListsEveryFormatPresent(String message) {
        for (Format f : REGISTRY.formats()) {
            assertTrue(message.contains(f.id()), "names " + f.id() + ": " + message);
        }
    }

    // ---- what is on the class path ----------------------------------------------------------

    @Test
    void everyKnownFormatHasAReaderAndAWriterOnTheClassPathInKnownOrder() {
        assertEquals(Format.KNOWN, REGISTRY.formats());
        assertEquals(Format.KNOWN, REGISTRY.readers().stream().map(FormatReader::format).toList());
        assertEquals(Format.KNOWN, REGISTRY.writers().stream().map(w -> w.format()).toList());
        assertEquals("onnx, torchscript, pytorch-state-dict, keras, keras-h5, savedmodel, tf-graphdef", REGISTRY.readable(), "every known format is read");
        assertEquals("onnx, torchscript, pytorch-state-dict, keras, keras-h5, savedmodel, tf-graphdef", REGISTRY.writable(), "every known format is written");
        assertEquals(Format.KNOWN, Lstmx.formats(), "the library lists the same formats");
    }

    @Test
    void twoPlugInsClaimingOneFormatAreRefusedAsABug() {
        refused(ErrorCode.INTERNAL, () -> new FormatRegistry(List.of(new OnnxReader(), new OnnxReader()), List.of()));
    }

    // ---- detection by content ---------------------------------------------------------------

    @ParameterizedTest(name = "an ONNX file named {0} is ONNX")
    @ValueSource(strings = {"model.onnx", "model.bin", "model.pt", "model.pth", "model.h5", "model.keras", "frozen.pb", "model"})
    void anOnnxFileIsOnnxWhateverItsName(String name) throws IOException {
        assertEquals(Format.ONNX, REGISTRY.detect(onnx(name)));
    }

    @Test
    void anOnnxFileWithATorchNameLoadsAndRunsAsOnnx() throws IOException {
        LoadedModel m = Lstmx.load(onnx("model.pt"));
        assertEquals(Format.ONNX, m.format());
        Tensor y = m.run(Map.of("x", Npy.read(SAMPLE.resolve("input_0.npy")))).get("probs");
        TestFiles.assertClose(y, Npy.read(SAMPLE.resolve("output_0.npy")), "probs of the ONNX file named model.pt");
    }

    @ParameterizedTest(name = "a zip holding only archive/data.pkl named {0} is a state_dict")
    @ValueSource(strings = {"model.pt", "model.pth", "weights.bin", "checkpoint", "model.zip"})
    void aTorchSaveZipIsAStateDict(String name) throws IOException {
        assertEquals(Format.PYTORCH_STATE_DICT, REGISTRY.detect(stateDictZip(name)));
    }

    @ParameterizedTest(name = "a zip with code/, constants.pkl and data.pkl named {0} is TorchScript")
    @ValueSource(strings = {"model.pt", "model.ptc", "model.pth", "model.bin", "model.zip", "scripted"})
    void aTorchJitSaveZipIsTorchScript(String name) throws IOException {
        assertEquals(Format.TORCHSCRIPT, REGISTRY.detect(torchScript(name)));
    }

    @Test
    void aTorchScriptZipWithoutTheArchiveFolderIsStillTorchScript() throws IOException {
        // The state_dict reader accepts a top-level data.pkl; code/ beside it must still say TorchScript.
        assertEquals(Format.TORCHSCRIPT, REGISTRY.detect(zip("flat.pt", "data.pkl", "code/__torch__.py", "constants.pkl")));
        assertEquals(Format.TORCHSCRIPT, REGISTRY.detect(zip("flat2.pt", "data.pkl", "constants.pkl")));
        assertEquals(Format.PYTORCH_STATE_DICT, REGISTRY.detect(zip("flat3.pt", "data.pkl", "data/0")));
    }

    @ParameterizedTest(name = "a legacy pickle named {0} is a state_dict")
    @ValueSource(strings = {"model.pt", "model.pth", "model.bin", "model.pkl"})
    void aLegacyTorchSavePickleIsAStateDict(String name) throws IOException {
        assertEquals(Format.PYTORCH_STATE_DICT, REGISTRY.detect(legacyPickle(name)));
    }

    @ParameterizedTest(name = "a zip with config.json and model.weights.h5 named {0} is a Keras archive")
    @ValueSource(strings = {"model.keras", "model.zip", "model.pt", "model"})
    void aZipWithConfigAndWeightsIsAKerasArchive(String name) throws IOException {
        assertEquals(Format.KERAS, REGISTRY.detect(kerasArchive(name)));
    }

    @ParameterizedTest(name = "a file with the HDF5 signature named {0} is Keras HDF5")
    @ValueSource(strings = {"model.h5", "model.hdf5", "model.keras", "model.pt", "model.onnx", "weights"})
    void theHdf5SignatureIsKerasH5WhateverTheExtension(String name) throws IOException {
        assertEquals(Format.KERAS_H5, REGISTRY.detect(hdf5(name)));
    }

    @ParameterizedTest(name = "a folder named {0} with {1} is a SavedModel")
    @CsvSource({"export, saved_model.pb", "model.onnx, saved_model.pb", "text, saved_model.pbtxt"})
    void aFolderWithSavedModelPbIsASavedModel(String name, String pb) throws IOException {
        assertEquals(Format.SAVEDMODEL, REGISTRY.detect(savedModelFolder(name, pb)));
    }

    @Test
    void theSavedModelPbFileItselfNamesItsFolder() throws IOException {
        Path d = savedModelFolder("export", "saved_model.pb");
        assertEquals(Format.SAVEDMODEL, REGISTRY.detect(d.resolve("saved_model.pb")));
    }

    @Test
    void anyOtherPbFileIsAFrozenGraphDef() throws IOException {
        assertEquals(Format.TF_GRAPHDEF, REGISTRY.detect(graphDef("frozen.pb")));
    }

    // ---- detection by name ------------------------------------------------------------------

    @ParameterizedTest(name = "a file named {0} whose content says nothing is {1}")
    @CsvSource({"model.onnx, onnx", "model.pt, torchscript", "model.pth, torchscript", "model.ptc, torchscript",
            "model.keras, keras", "model.h5, keras-h5", "model.HDF5, keras-h5", "graph.pb, tf-graphdef"})
    void withoutASignatureTheExtensionDecides(String name, String format) throws IOException {
        assertEquals(REGISTRY.format(format), REGISTRY.detect(file(name, "no signature here".getBytes(StandardCharsets.US_ASCII))));
    }

    // ---- real models ------------------------------------------------------------------------

    record Real(Path path, Format format) {
        @Override
        public String toString() {
            return TestFiles.shared().relativize(path) + " is " + format.id();
        }
    }

    /** Every model file or folder in ../shared/real-models with the format its MANIFEST.tsv describes. */
    static List<Real> realModels() throws IOException {
        Path real = TestFiles.shared().resolve("real-models");
        List<Real> all = new ArrayList<>();
        TestFiles.find(real.resolve("onnx"), ".onnx").forEach(p -> all.add(new Real(p, Format.ONNX)));
        TestFiles.find(real.resolve("keras"), ".h5").forEach(p -> all.add(new Real(p, Format.KERAS_H5)));
        TestFiles.find(real.resolve("keras"), ".keras").forEach(p -> all.add(new Real(p, Format.KERAS)));
        TestFiles.find(real.resolve("tensorflow"), "saved_model.pb").forEach(p -> {
            all.add(new Real(p.getParent(), Format.SAVEDMODEL));
            all.add(new Real(p, Format.SAVEDMODEL));
        });
        TestFiles.find(real.resolve("pytorch"), ".ptc").forEach(p -> all.add(new Real(p, Format.TORCHSCRIPT)));
        // Zip state_dicts, a legacy (pre-1.6) state_dict, and a whole pickled module without extension.
        TestFiles.find(real.resolve("pytorch"), ".pt").forEach(p -> all.add(new Real(p, Format.PYTORCH_STATE_DICT)));
        TestFiles.find(real.resolve("pytorch"), "lstm_fcn").forEach(p -> all.add(new Real(p, Format.PYTORCH_STATE_DICT)));
        try (Stream<String> lines = Files.lines(real.resolve("MANIFEST.tsv"))) {
            // The manifest also lists what comes with a model: CSV data, SavedModel variables and Keras metadata.
            long models = lines.skip(1).map(l -> l.split("\t")[0])
                    .filter(f -> !f.endsWith(".csv") && !f.contains("/variables/") && !f.endsWith("keras_metadata.pb")).count();
            // Each saved_model.pb stands for itself and its folder: one more entry per SavedModel.
            long savedModels = all.stream().filter(r -> Files.isDirectory(r.path())).count();
            assertEquals(models + savedModels, all.size(), "every model in MANIFEST.tsv is checked: " + all);
        }
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("realModels")
    void aRealModelIsDetectedAsWhatItIs(Real r) {
        assertEquals(r.format(), Lstmx.detect(r.path()));
    }

    @ParameterizedTest(name = "{0}, but reading it is not available yet")
    @MethodSource("realModels")
    void aRealModelOfAFormatNotReadYetIsUnsupported(Real r) {
        assumeTrue(!REGISTRY.canRead(r.format()), r.format() + " is read now; its importer's tests cover it");
        LstmxException e = refused(ErrorCode.UNSUPPORTED, () -> Lstmx.load(r.path()));
        assertTrue(e.getMessage().contains("not available yet") && e.getMessage().contains(r.path().toString()), e.getMessage());
    }

    // ---- what is refused --------------------------------------------------------------------

    @ParameterizedTest(name = "{0} is refused listing the formats present")
    @ValueSource(strings = {"notes.txt", "model.json", "model", "empty.bin"})
    void anUnrecognisedFileIsBadInputListingTheFormatsPresent(String name) throws IOException {
        Path p = file(name, name.startsWith("empty") ? new byte[0] : "{\"hello\": 1}".getBytes(StandardCharsets.US_ASCII));
        LstmxException e = refused(ErrorCode.BAD_INPUT, () -> Lstmx.detect(p));
        assertTrue(e.getMessage().contains("cannot tell the model format") && e.getMessage().contains(p.toString()), e.getMessage());
        assertListsEveryFormatPresent(e.getMessage());
    }

    @Test
    void aFolderWithoutAModelIsBadInputListingTheFormatsPresent() throws IOException {
        Path d = Files.createDirectory(dir.resolve("folder"));
        Files.write(d.resolve("readme.txt"), new byte[] {'x'});
        LstmxException e = refused(ErrorCode.BAD_INPUT, () -> REGISTRY.detect(d));
        assertTrue(e.getMessage().contains("folder"), e.getMessage());
        assertListsEveryFormatPresent(e.getMessage());
    }

    @Test
    void aMissingFileIsBadInput() {
        LstmxException e = refused(ErrorCode.BAD_INPUT, () -> REGISTRY.detect(dir.resolve("nothing.onnx")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
    }

    /**
     * Opening a FIFO for reading blocks until someone writes; a reader that so much as read its head
     * would hang, so the whole check runs under a time limit. It is named .onnx to tempt the readers.
     */
    @Test
    void aFifoIsRefusedWithoutBeingOpened() throws Exception {
        Path fifo = dir.resolve("model.onnx");
        Process mk;
        try {
            mk = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "mkfifo is not available: " + e.getMessage());
            return;
        }
        assumeTrue(mk.waitFor() == 0 && Files.exists(fifo) && !Files.isRegularFile(fifo), "mkfifo made no FIFO");
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            LstmxException e = refused(ErrorCode.BAD_INPUT, () -> REGISTRY.detect(fifo));
            assertTrue(e.getMessage().contains(fifo.toString()) && e.getMessage().contains("FIFO"), e.getMessage());
            assertListsEveryFormatPresent(e.getMessage());
            for (Executable viaLibrary : List.<Executable>of(() -> Lstmx.detect(fifo), () -> Lstmx.load(fifo), () -> Lstmx.read(fifo, Format.ONNX))) {
                e = refused(ErrorCode.BAD_INPUT, viaLibrary);
                assertTrue(e.getMessage().contains(fifo.toString()) && e.getMessage().contains("FIFO"), e.getMessage());
            }
            // Readers asked directly (as SafeFiles does for folders) must not open it either.
            FileProbe probe = new FileProbe(fifo);
            for (FormatReader r : REGISTRY.readers()) {
                assertEquals(Recognition.NO, r.recognise(probe), r.format().id());
            }
        });
    }

    /** Files that only look like Keras or TensorFlow files are now checked by real readers: bad input, naming the file. */
    @Test
    void aFileThatOnlyLooksLikeAKerasOrTensorFlowModelIsBadInput() throws IOException {
        Map<Format, Path> files = Map.of(
                Format.KERAS, kerasArchive("model.keras"),
                Format.KERAS_H5, hdf5("model.h5"),
                Format.SAVEDMODEL, savedModelFolder("export", "saved_model.pb"),
                Format.TF_GRAPHDEF, graphDef("frozen.pb"));
        for (Map.Entry<Format, Path> f : files.entrySet()) {
            assertTrue(REGISTRY.canRead(f.getKey()), f.getKey().id());
            LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.read(f.getValue(), null));
            assertTrue(e.code() == ErrorCode.BAD_INPUT || e.code() == ErrorCode.UNSUPPORTED, f.getKey() + ": " + e.code());
            assertTrue(e.getMessage().contains(f.getValue().getFileName().toString()) && !e.getMessage().contains("not available yet"),
                    e.getMessage());
        }
    }

    /**
     * Every known format has a writer today; a format added later starts with a PendingWriter, whose
     * write is UNSUPPORTED naming the format and leaves nothing.
     */
    @Test
    void aPendingWriterRefusesAsNotAvailableYetAndLeavesNothing() throws IOException {
        Model model = Lstmx.read(SAMPLE.resolve("model.onnx"), null);
        for (Format f : Format.KNOWN) {
            assertTrue(REGISTRY.canWrite(f), f.id() + " has a writer");
        }
        io.lstmx.formats.PendingWriter pending = new io.lstmx.formats.PendingWriter(Format.TF_GRAPHDEF, "model.pb") {
        };
        Path dst = dir.resolve("out.pb");
        LstmxException e = refused(ErrorCode.UNSUPPORTED, () -> pending.write(model, dst, io.lstmx.formats.WriteOptions.DEFAULT));
        assertTrue(e.getMessage().contains("writing tf-graphdef is not available yet"), e.getMessage());
        assertFalse(Files.exists(dst), dst + " was left behind");
    }

    // ---- names ------------------------------------------------------------------------------

    @ParameterizedTest(name = "''{0}'' is {1}")
    @CsvSource({"onnx, onnx", "ONNX, onnx", "torchscript, torchscript", "pytorch, torchscript", "torch, torchscript",
            "pt, torchscript", "jit, torchscript", "PyTorch, torchscript", "pytorch-state-dict, pytorch-state-dict",
            "state_dict, pytorch-state-dict", "state-dict, pytorch-state-dict", "keras, keras", "keras-h5, keras-h5",
            "h5, keras-h5", "hdf5, keras-h5", "savedmodel, savedmodel", "tf, savedmodel", "tensorflow, savedmodel",
            "saved_model, savedmodel", "tf-graphdef, tf-graphdef", "graphdef, tf-graphdef", "frozen, tf-graphdef",
            "pb, tf-graphdef", "' keras ', keras"})
    void aFormatNameOrAliasResolves(String name, String id) {
        Format f = REGISTRY.format(name);
        assertEquals(id, f.id());
        assertTrue(Format.KNOWN.contains(f));
    }

    @ParameterizedTest(name = "''{0}'' is refused listing the formats present")
    @ValueSource(strings = {"caffe", "", "onnx2", "tflite"})
    void anUnknownFormatNameIsBadInputListingTheFormatsPresent(String name) {
        LstmxException e = refused(ErrorCode.BAD_INPUT, () -> REGISTRY.format(name));
        assertTrue(e.getMessage().contains("unknown format '" + name + "'"), e.getMessage());
        assertListsEveryFormatPresent(e.getMessage());
        assertTrue(e.getMessage().contains("also pytorch, torch, pt"), "aliases are listed too: " + e.getMessage());
    }

    // ---- destinations -----------------------------------------------------------------------

    @ParameterizedTest(name = "{0} is written as {1}")
    @CsvSource({"a.onnx, onnx", "A.ONNX, onnx", "a.pt, torchscript", "a.pth, torchscript", "a.ptc, torchscript",
            "a.bin, pytorch-state-dict", "a.keras, keras", "a.h5, keras-h5", "a.hdf5, keras-h5", "graph.pb, tf-graphdef",
            "export, savedmodel", "saved_model, savedmodel"})
    void theDestinationNameTellsTheFormat(String name, String id) {
        assertEquals(id, REGISTRY.forDestination(dir.resolve(name), null).id());
    }

    @Test
    void everyExtensionOfAKnownFormatTellsADestinationFormatThatClaimsIt() {
        for (Format f : Format.KNOWN) {
            for (String ext : f.extensions()) {
                Format chosen = REGISTRY.forDestination(dir.resolve("model." + ext), null);
                assertTrue(chosen.extensions().contains(ext), "." + ext + " chose " + chosen);
            }
        }
    }

    @Test
    void anExistingFolderIsASavedModelDestinationWhateverItsName() throws IOException {
        Path d = Files.createDirectory(dir.resolve("looks.onnx"));
        assertEquals(Format.SAVEDMODEL, REGISTRY.forDestination(d, null));
        assertEquals(Format.SAVEDMODEL, REGISTRY.forDestination(dir, null));
    }

    @Test
    void anExplicitFormatWinsOverTheDestinationName() {
        assertEquals(Format.KERAS, REGISTRY.forDestination(dir.resolve("a.onnx"), Format.KERAS));
    }

    @Test
    void anUnknownDestinationExtensionIsBadInputListingTheFormatsWritten() {
        LstmxException e = refused(ErrorCode.BAD_INPUT, () -> REGISTRY.forDestination(dir.resolve("a.txt"), null));
        assertTrue(e.getMessage().contains("'.txt'") && e.getMessage().contains("onnx (.onnx)")
                && e.getMessage().contains("savedmodel (a folder)"), e.getMessage());
    }

    // ---- a registry with only the ONNX plug-ins ----------------------------------------------

    @Test
    void aRegistryWithOnlyOnnxCannotTellATorchFileAndListsOnlyOnnx() throws IOException {
        FormatRegistry onnxOnly = new FormatRegistry(List.of(new OnnxReader()), List.of(new OnnxWriter()));
        assertEquals(List.of(Format.ONNX), onnxOnly.formats());
        assertEquals(Format.ONNX, onnxOnly.detect(onnx("model.bin")));
        for (Path p : List.of(torchScript("model.pt"), legacyPickle("legacy.pt"), hdf5("model.h5"))) {
            LstmxException e = refused(ErrorCode.BAD_INPUT, () -> onnxOnly.detect(p));
            assertTrue(e.getMessage().contains("cannot tell the model format") && e.getMessage().contains("formats present: onnx)"), e.getMessage());
            for (Format other : Format.KNOWN) {
                assertTrue(other == Format.ONNX || !e.getMessage().contains(other.id()), "mentions " + other + ": " + e.getMessage());
            }
        }
        // The names of formats without a plug-in still mean something, so the refusal can say what is missing.
        assertEquals(Format.TORCHSCRIPT, onnxOnly.format("pt"));
        LstmxException e = refused(ErrorCode.UNSUPPORTED, () -> onnxOnly.requireReader(Format.TORCHSCRIPT, dir.resolve("model.pt")));
        assertTrue(e.getMessage().contains("no reader for torchscript") && e.getMessage().contains("formats read: onnx"), e.getMessage());
        e = refused(ErrorCode.BAD_INPUT, () -> onnxOnly.format("caffe"));
        assertTrue(e.getMessage().endsWith("formats present: onnx"), e.getMessage());
    }

    @Test
    void aRegistryWithNoPlugInsSaysSo() throws IOException {
        FormatRegistry none = new FormatRegistry(List.of(), List.of());
        LstmxException e = refused(ErrorCode.BAD_INPUT, () -> none.detect(onnx("model.onnx")));
        assertTrue(e.getMessage().contains("no format plug-in on the class path"), e.getMessage());
    }
}
