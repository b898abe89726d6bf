package io.lstmx.cli;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.Npy;
import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.api.SafeFiles;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatRegistry;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.lstmx.cli.Cli.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvertCommandTest {
    @TempDir
    Path dir;

    @Test
    void aTimeMajorModelWrittenAsKerasNamesEveryRelayout() {
        Path c = Cli.fixture("uni_1layer");
        Path dst = dir.resolve("out.keras");
        Cli.Result r = Cli.run("convert", c.resolve("model.onnx"), dst).expect(0);
        assertTrue(r.out().contains("wrote " + dst), r.out());
        assertTrue(r.out().contains("note: input 'x' [time, batch, 6] written batch-major as [batch, time, 6]"), r.out());
        assertTrue(r.out().contains("note: output 'y' [time, batch, 16] written batch-major as [batch, time, 16]"), r.out());
        assertTrue(r.out().contains("note: output 'h_n' [1, batch, 16] written batch-major as [batch, 1, 16]"), r.out());
        assertTrue(r.out().contains("note: output 'c_n' [1, batch, 16] written batch-major as [batch, 1, 16]"), r.out());
    }

    @Test
    void onnxToOnnxKeepsTheNumbersAndLeavesNoTemporaryFiles() {
        Path c = Cli.fixture("stacked_2layer");
        Path dst = dir.resolve("out.onnx");
        Cli.Result r = Cli.run("convert", c.resolve("model.onnx"), dst).expect(0);
        assertTrue(r.out().contains("wrote " + dst), r.out());
        assertTrue(r.out().contains("LSTM"), r.out());
        assertEquals(List.of("out.onnx"), Cli.list(dir), "only the converted file");

        Tensor x = Npy.read(c.resolve("input_0.npy"));
        LoadedModel back = Lstmx.load(dst);
        Map<String, Tensor> ours = back.run(x);
        Map<String, Tensor> ort = OnnxRuntimeReference.run(dst, Map.of(back.model().inputNames().get(0), x));
        List<Path> expected = Cli.numbered(c, "output_");
        int k = 0;
        for (String name : back.model().outputNames()) {
            Tensor want = Npy.read(expected.get(k++));
            assertClose(ours.get(name), want, "lstmx on the written file, " + name);
            assertClose(ort.get(name), want, "onnxruntime on the written file, " + name);
        }
    }

    @Test
    void refusesToOverwriteWithoutForce() throws IOException {
        Path src = Cli.fixture("uni_1layer").resolve("model.onnx");
        Path dst = dir.resolve("taken.onnx");
        byte[] before = "precious".getBytes();
        Files.write(dst, before);
        Cli.Result r = Cli.run("convert", src, dst).expect(2);
        assertTrue(r.err().contains("--force"), r.err());
        assertTrue(r.err().contains(dst.toString()), r.err());
        assertArrayEquals(before, Files.readAllBytes(dst), "untouched");
        assertEquals(List.of("taken.onnx"), Cli.list(dir));

        Cli.run("convert", src, dst, "--force").expect(0);
        assertFalse(new String(Files.readAllBytes(dst)).equals("precious"));
        assertTrue(Files.isReadable(dst));
        if (dst.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            // Written like any new file (umask), not owner-only as temporary files are.
            Path plain = Files.writeString(dir.resolve("plain"), "x");
            assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(dst));
            Files.delete(plain);
        }
        assertEquals(List.of("taken.onnx"), Cli.list(dir), "no temporary files left");
        assertEquals(Format.ONNX, Lstmx.detect(dst));
    }

    @Test
    void destinationFormatComesFromTheExtensionOrTo() {
        assertEquals(Format.ONNX, FormatRegistry.standard().forDestination(dir.resolve("a.onnx"), null));
        assertEquals(Format.TORCHSCRIPT, FormatRegistry.standard().forDestination(dir.resolve("a.pt"), null));
        assertEquals(Format.TORCHSCRIPT, FormatRegistry.standard().forDestination(dir.resolve("a.pth"), null));
        assertEquals(Format.KERAS_H5, FormatRegistry.standard().forDestination(dir.resolve("a.h5"), null));
        assertEquals(Format.KERAS, FormatRegistry.standard().forDestination(dir.resolve("a.keras"), null));
        assertEquals(Format.SAVEDMODEL, FormatRegistry.standard().forDestination(dir.resolve("saved_model"), null));
        assertEquals(Format.TF_GRAPHDEF, FormatRegistry.standard().forDestination(dir.resolve("graph.pb"), null));
        assertEquals(Format.SAVEDMODEL, FormatRegistry.standard().forDestination(dir, null), "an existing directory");
        assertEquals(Format.KERAS, FormatRegistry.standard().forDestination(dir.resolve("a.onnx"), Format.KERAS), "--to wins");
        LstmxException e = assertThrows(LstmxException.class, () -> FormatRegistry.standard().forDestination(dir.resolve("a.txt"), null));
        assertTrue(e.getMessage().contains("--to"), e.getMessage());

        Cli.Result r = Cli.run("convert", Cli.realOnnx(), dir.resolve("model.txt")).expect(2);
        assertTrue(r.err().contains(".txt"), r.err());
        r = Cli.run("convert", Cli.realOnnx(), dir.resolve("m.h5"), "--opset", "14").expect(2);
        assertTrue(r.err().contains("--opset"), r.err());
        assertEquals(List.of(), Cli.list(dir));
    }

    @Test
    void neverReplacesAFolderThatIsNotASavedModel() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("my-stuff"));
        Files.writeString(folder.resolve("notes.txt"), "mine");
        Path src = Cli.fixture("uni_1layer").resolve("model.onnx");
        Cli.Result r = Cli.run("convert", src, folder, "--to", "onnx", "--force").expect(2);
        assertTrue(r.err().contains("directory"), r.err());
        r = Cli.run("convert", src, folder, "--force").expect(2);
        assertTrue(r.err().contains("holds no savedmodel model"), r.err());
        assertEquals(List.of("notes.txt"), Cli.list(folder));
        assertEquals(List.of("my-stuff"), Cli.list(dir));
    }

    @Test
    void badSourceLeavesNothingBehind() throws IOException {
        Path bad = dir.resolve("bad.onnx");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        Cli.Result r = Cli.run("convert", bad, dir.resolve("out.onnx")).expect(2);
        assertTrue(r.err().contains(bad.toString()), r.err());
        assertEquals(List.of("bad.onnx"), Cli.list(dir));
    }

    @Test
    void aWriterFailingHalfWayLeavesNothingBehind() throws IOException {
        Path dst = dir.resolve("half.onnx");
        LstmxException e = assertThrows(LstmxException.class, () -> SafeFiles.writeSafely(dst, false, tmp -> {
            write(tmp, "partial");
            write(tmp.resolveSibling("half.onnx.data"), "side file");
            throw LstmxException.unsupported("layer 'x' cannot be expressed");
        }));
        assertTrue(e.getMessage().contains("cannot be expressed"));

        e = assertThrows(LstmxException.class, () -> SafeFiles.writeSafely(dst, false, tmp -> {
            throw LstmxException.unsupported(tmp + ": format cannot hold this");
        }));
        assertTrue(e.getMessage().startsWith(dst.toAbsolutePath().normalize() + ": format"), "names DST, not the staging copy: " + e.getMessage());
        assertEquals(List.of(), Cli.list(dir), "no partial file, no temporary folder");

        // With --force over an existing file: the old content survives a failed write.
        Files.writeString(dst, "old");
        assertThrows(IllegalStateException.class, () -> SafeFiles.writeSafely(dst, true, tmp -> {
            write(tmp, "new but broken");
            throw new IllegalStateException("exporter bug");
        }));
        assertEquals("old", Files.readString(dst));
        assertEquals(List.of("half.onnx"), Cli.list(dir));
    }

    @Test
    void safeWritesMoveEverythingTheExporterProduced() throws IOException {
        Path dst = dir.resolve("m.onnx");
        SafeFiles.writeSafely(dst, false, tmp -> {
            write(tmp, "model");
            write(tmp.resolveSibling("m.onnx.data"), "weights");
        });
        assertEquals(List.of("m.onnx", "m.onnx.data"), Cli.list(dir));
        // A directory destination (SavedModel-like) is replaced as a whole with force.
        Path sm = dir.resolve("sm");
        SafeFiles.writeSafely(sm, false, tmp -> write(tmp.resolve("saved_model.pb"), "v1"));
        SafeFiles.writeSafely(sm, true, tmp -> write(tmp.resolve("variables/variables.index"), "v2"));
        assertEquals(List.of("variables"), Cli.list(sm));
        assertThrows(LstmxException.class, () -> SafeFiles.writeSafely(sm, false, tmp -> write(tmp.resolve("x"), "v3")));
        assertEquals(List.of("m.onnx", "m.onnx.data", "sm"), Cli.list(dir));
    }

    // ---- placing the result: order, races, failures (through the Mover seam)

    private static void writeModelAndSideFiles(Path tmp, String tag) {
        write(tmp, "model " + tag);
        write(tmp.resolveSibling(tmp.getFileName() + ".data"), "weights " + tag);
        write(tmp.resolveSibling("a.bin"), "more " + tag);
    }

    @Test
    void sideFilesAreMovedBeforeTheModel() {
        Path dst = dir.resolve("m.onnx");
        List<String> order = new ArrayList<>();
        SafeFiles.writeSafely(dst, false, tmp -> writeModelAndSideFiles(tmp, "new"), (from, to, replace) -> {
            order.add(to.getFileName().toString());
            SafeFiles.FILES.move(from, to, replace);
        });
        assertEquals("m.onnx", order.get(order.size() - 1), "the model comes last: " + order);
        assertEquals(List.of("a.bin", "m.onnx", "m.onnx.data"), Cli.list(dir));
    }

    @Test
    void aDestinationThatAppearsMeanwhileIsNotReplaced() throws IOException {
        Path dst = dir.resolve("m.onnx");
        LstmxException e = assertThrows(LstmxException.class, () -> SafeFiles.writeSafely(dst, false,
                tmp -> writeModelAndSideFiles(tmp, "new"), (from, to, replace) -> {
                    if (to.getFileName().toString().equals("m.onnx")) {
                        // Another process creates DST after the existence checks, before the final move.
                        Files.writeString(to, "someone else's");
                    }
                    SafeFiles.FILES.move(from, to, replace);
                }));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("appeared"), e.getMessage());
        assertEquals("someone else's", Files.readString(dst));
        assertEquals(List.of("m.onnx"), Cli.list(dir), "the side files already moved are taken back");
    }

    @Test
    void theRealMoveNeverReplacesWithoutForce() throws IOException {
        Path from = Files.writeString(dir.resolve("from"), "new");
        Path to = Files.writeString(dir.resolve("to"), "old");
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> SafeFiles.FILES.move(from, to, false));
        assertEquals("old", Files.readString(to));
        assertEquals("new", Files.readString(from));
        Path fromDir = Files.createDirectory(dir.resolve("fromDir"));
        Path toDir = Files.createDirectory(dir.resolve("toDir"));
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> SafeFiles.FILES.move(fromDir, toDir, false));
        SafeFiles.FILES.move(from, dir.resolve("free"), false);
        assertEquals("new", Files.readString(dir.resolve("free")));
        assertFalse(Files.exists(from));
    }

    @Test
    void aFailedModelMoveWithForcePutsTheOldFilesBack() throws IOException {
        Path dst = dir.resolve("m.onnx");
        SafeFiles.writeSafely(dst, false, tmp -> writeModelAndSideFiles(tmp, "old"));
        LstmxException e = assertThrows(LstmxException.class, () -> SafeFiles.writeSafely(dst, true,
                tmp -> writeModelAndSideFiles(tmp, "new"), (from, to, replace) -> {
                    if (to.getFileName().toString().equals("m.onnx")) {
                        throw new IOException("No space left on device");
                    }
                    SafeFiles.FILES.move(from, to, replace);
                }));
        assertTrue(e.getMessage().contains("No space left"), e.getMessage());
        assertEquals("model old", Files.readString(dst));
        assertEquals("weights old", Files.readString(dir.resolve("m.onnx.data")), "old model, old weights: still a pair");
        assertEquals("more old", Files.readString(dir.resolve("a.bin")));
        assertEquals(List.of("a.bin", "m.onnx", "m.onnx.data"), Cli.list(dir), "no backups or temporary folders left");

        SafeFiles.writeSafely(dst, true, tmp -> writeModelAndSideFiles(tmp, "new"));
        assertEquals("model new", Files.readString(dst));
        assertEquals("weights new", Files.readString(dir.resolve("m.onnx.data")));
        assertEquals(List.of("a.bin", "m.onnx", "m.onnx.data"), Cli.list(dir));
    }

    @Test
    void aDirectoryReplacedWithForceComesBackWhenTheMoveFails() throws IOException {
        Path sm = dir.resolve("sm");
        SafeFiles.writeSafely(sm, false, tmp -> write(tmp.resolve("saved_model.pb"), "v1"));
        LstmxException e = assertThrows(LstmxException.class, () -> SafeFiles.writeSafely(sm, true,
                tmp -> write(tmp.resolve("saved_model.pb"), "v2"), (from, to, replace) -> {
                    throw new IOException("Input/output error");
                }));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertEquals("v1", Files.readString(sm.resolve("saved_model.pb")), "the old directory is not deleted before the move");
        assertEquals(List.of("sm"), Cli.list(dir));
    }

    /** A .pb destination is a frozen GraphDef: lstmx reads it back with the model's inputs and outputs. */
    @Test
    void anOnnxModelIsConvertedToAFrozenGraphDef() {
        Path pb = dir.resolve("m.pb");
        Cli.Result r = Cli.run("convert", Cli.fixture("uni_1layer").resolve("model.onnx"), pb).expect(0);
        assertTrue(r.out().contains("tf-graphdef"), r.out());
        Cli.Result i = Cli.run("inspect", pb).expect(0);
        assertTrue(i.out().contains("output_0") && i.out().contains("LSTM"), i.out());
        assertEquals(List.of("m.pb"), Cli.list(dir));
    }

    /** A SavedModel is a folder: written whole (staged, then moved), never over an existing one without --force. */
    @Test
    void anOnnxModelIsConvertedToASavedModelFolder() throws IOException {
        Path onnx = Path.of(System.getProperty("lstmx.root", "../")).resolve("fixtures/onnx/pytorch/sample_classifier/model.onnx");
        Path out = dir.resolve("out_dir");
        Cli.run("convert", onnx, out, "--to", "savedmodel").expect(0);
        assertTrue(Files.isRegularFile(out.resolve("saved_model.pb")), "saved_model.pb written");
        assertTrue(Files.isDirectory(out.resolve("variables")), "variables/ written");
        assertEquals(Format.SAVEDMODEL, FormatRegistry.standard().detect(out));
        assertEquals(List.of("out_dir"), Cli.list(dir), "no staging folder left");
        Cli.Result again = Cli.run("convert", onnx, out, "--to", "savedmodel").expect(2);
        assertTrue(again.err().contains("already exists"), again.err());
        Cli.run("convert", onnx, out, "--to", "savedmodel", "--force").expect(0);
        Cli.run("convert", onnx, dir.resolve("saved_model")).expect(0);
        assertTrue(Files.isRegularFile(dir.resolve("saved_model/saved_model.pb")));
        assertEquals(List.of("out_dir", "saved_model"), Cli.list(dir));
    }

    @Test
    void aPtDestinationIsWrittenAsTorchScriptAndToPytorchStateDictWritesTheModuleBesideIt() throws IOException {
        Path onnx = Path.of(System.getProperty("lstmx.root", "../")).resolve("fixtures/onnx/pytorch/sample_classifier/model.onnx");
        Cli.run("convert", onnx, dir.resolve("m.pt")).expect(0);
        assertEquals(Format.TORCHSCRIPT, FormatRegistry.standard().detect(dir.resolve("m.pt")));
        Cli.run("convert", onnx, dir.resolve("w.pth"), "--to", "pytorch-state-dict").expect(0);
        assertEquals(List.of("m.pt", "w.pth", "w.py"), Cli.list(dir));
        assertTrue(Files.readString(dir.resolve("w.py")).contains("class LstmxModel(nn.Module)"));
    }

    private static void write(Path p, String s) {
        try {
            Files.createDirectories(p.getParent());
            Files.writeString(p, s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
