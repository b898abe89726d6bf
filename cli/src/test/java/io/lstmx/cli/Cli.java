package io.lstmx.cli;

import io.lstmx.api.Tolerance;
import io.lstmx.ir.Tensor;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Runs the lstmx command in-process and locates test material. */
final class Cli {
    private Cli() {
    }

    /** Exit status and captured streams of one run. */
    record Result(int exit, String out, String err) {
        List<String> errLines() {
            return err.lines().filter(l -> !l.isBlank()).toList();
        }

        /** Asserts the exit status, and for failures that stderr is exactly one "lstmx: error:" line. */
        Result expect(int status) {
            assertEquals(status, exit, () -> "exit status; stdout:\n" + out + "\nstderr:\n" + err);
            if (status != 0) {
                assertEquals(1, errLines().size(), () -> "stderr must be one line, got:\n" + err);
                assertTrue(err.startsWith(Main.ERROR_PREFIX), () -> "stderr: " + err);
            }
            return this;
        }
    }

    static Result run(Object... args) {
        String[] a = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            a[i] = String.valueOf(args[i]);
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.execute(a, new PrintWriter(out), new PrintWriter(err));
        return new Result(exit, out.toString(), err.toString());
    }

    /** Fails with the tolerance report unless {@code actual} matches {@code expected} within {@link Tolerance#DEFAULT}. */
    static void assertClose(Tensor actual, Tensor expected, String what) {
        Tolerance.Report r = Tolerance.DEFAULT.compare(actual, expected);
        if (!r.ok()) {
            fail(what + ": " + r.detail());
        }
    }

    /** The repository root (surefire sets lstmx.root). */
    static Path root() {
        return Path.of(System.getProperty("lstmx.root", "..")).toAbsolutePath().normalize();
    }

    static Path shared() {
        Path p = root().resolve("../shared").normalize();
        assertTrue(Files.isDirectory(p), "shared material missing at " + p);
        return p;
    }

    /** A real torch-exported ONNX classifier: LSTM(1, 32) -> Linear(32, 2) -> Softmax, input [286, 1, 1]. */
    static Path realOnnx() {
        Path p = shared().resolve("real-models/onnx/BernhardRuhm__Bachelor-Thesis/vanilla_lstm_Coffee/vanilla_lstm_Coffee.onnx");
        assertTrue(Files.isRegularFile(p), "missing " + p);
        return p;
    }

    static List<Path> realOnnxModels() {
        return find(shared().resolve("real-models/onnx"), ".onnx");
    }

    /** fixtures/onnx/pytorch/&lt;case&gt; folders (model.onnx, input_K.npy, output_K.npy made by PyTorch). */
    static List<Path> fixtureCases() {
        Path dir = root().resolve("fixtures/onnx/pytorch");
        assertTrue(Files.isDirectory(dir), "fixtures missing at " + dir);
        List<Path> l = new ArrayList<>();
        for (Path m : find(dir, "model.onnx")) {
            l.add(m.getParent());
        }
        return l;
    }

    static Path fixture(String name) {
        Path p = root().resolve("fixtures/onnx/pytorch").resolve(name);
        assertTrue(Files.isRegularFile(p.resolve("model.onnx")), "missing fixture " + p);
        return p;
    }

    /** input_K.npy or output_K.npy files of a fixture case, by K. */
    static List<Path> numbered(Path caseDir, String prefix) {
        List<Path> l = new ArrayList<>();
        for (int k = 0; Files.exists(caseDir.resolve(prefix + k + ".npy")); k++) {
            l.add(caseDir.resolve(prefix + k + ".npy"));
        }
        return l;
    }

    static List<Path> find(Path dir, String suffix) {
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> l = s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
            assertTrue(!l.isEmpty(), "no *" + suffix + " files under " + dir);
            return l;
        } catch (IOException e) {
            throw new AssertionError("cannot list " + dir, e);
        }
    }

    /**
     * A version-1 .npy file of dtype {@code descr} (e.g. "&lt;f8", "|u1") holding {@code data} as given,
     * laid out by hand per the NPY format spec so that any dtype can be written.
     */
    static byte[] npy(String descr, int[] shape, byte[] data) {
        StringBuilder dims = new StringBuilder("(");
        for (int d : shape) {
            dims.append(d).append(shape.length == 1 ? ",)" : ", ");
        }
        String shapeText = shape.length == 1 ? dims.toString() : dims.toString().replaceAll(", $", "") + ")";
        StringBuilder h = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeText + ", }");
        while ((10 + h.length() + 1) % 64 != 0) {
            h.append(' ');
        }
        h.append('\n');
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) h.length(), (byte) (h.length() >> 8)});
        out.writeBytes(h.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }

    /** Names of the entries of a folder, sorted. */
    static List<String> list(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new AssertionError("cannot list " + dir, e);
        }
    }
}
