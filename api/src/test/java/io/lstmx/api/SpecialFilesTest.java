package io.lstmx.api;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** FIFOs and unwritable folders get a clear refusal, never a hang or a vague message. */
class SpecialFilesTest {
    @TempDir
    Path dir;
    Path fifo;

    @BeforeEach
    void makeFifo() throws Exception {
        fifo = dir.resolve("model");
        Process p = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assumeTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "mkfifo is available");
    }

    private static Path sample() {
        return Path.of(System.getProperty("lstmx.root", ".")).resolve("fixtures/onnx/pytorch/sample_classifier/model.onnx");
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aFifoAsTheModelIsRefusedWithoutBlockingWhateverTheFormat() {
        for (Format f : new Format[] {null, Format.ONNX}) {
            LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.read(fifo, f));
            assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("FIFO") && e.getMessage().contains(fifo.toString()), e.getMessage());
        }
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aFifoAsTheDestinationIsRefusedEvenWhenReplacing() {
        Model m = Lstmx.read(sample(), null);
        Path dst = dir.resolve("out.onnx");
        assertTrue(fifo.toFile().renameTo(dst.toFile()));
        LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.save(m, dst, Format.ONNX));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("special file"), e.getMessage());
    }

    @Test
    void writingIntoAFolderWithoutWritePermissionSaysPermissionDenied() throws IOException {
        Path ro = Files.createDirectory(dir.resolve("ro"));
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeTrue(!Files.isWritable(ro), "not running with permissions that ignore the mode (root)");
            Model m = Lstmx.read(sample(), null);
            LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.save(m, ro.resolve("m.onnx"), Format.ONNX));
            assertTrue(e.getMessage().contains("permission denied"), e.getMessage());
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void aMoveRefusedByTheFileSystemSaysPermissionDenied() {
        Path dst = dir.resolve("m.onnx");
        LstmxException e = assertThrows(LstmxException.class, () -> SafeFiles.writeSafely(dst, false,
                staged -> {
                    try {
                        Files.writeString(staged, "x");
                    } catch (IOException io) {
                        throw new IllegalStateException(io);
                    }
                },
                (from, to, replace) -> {
                    throw new java.nio.file.AccessDeniedException(to.toString());
                }));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("permission denied: " + dst), e.getMessage());
        assertTrue(!Files.exists(dst), "nothing left behind");
    }

    @Test
    void anIoErrorIsNamedByItsKindNotOnlyByItsPath() {
        String s = io.lstmx.util.IoErrors.describe(new java.nio.file.AccessDeniedException("/out/m.onnx"));
        assertEquals("permission denied: /out/m.onnx", s);
        s = io.lstmx.util.IoErrors.describe(new java.nio.file.NoSuchFileException("/x"));
        assertEquals("no such file or directory: /x", s);
    }
}
