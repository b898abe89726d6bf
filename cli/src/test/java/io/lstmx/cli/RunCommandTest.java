package io.lstmx.cli;

import io.lstmx.api.Npy;
import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.lstmx.cli.Cli.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunCommandTest {
    @TempDir
    Path dir;

    /** Every fixture: inputs given positionally; each output_K.npy must match what PyTorch computed. */
    @TestFactory
    List<DynamicTest> outputsMatchPytorchOnFixtures() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path c : Cli.fixtureCases()) {
            tests.add(DynamicTest.dynamicTest(c.getFileName().toString(), () -> {
                Path out = dir.resolve(c.getFileName().toString());
                List<Object> args = new ArrayList<>(List.of("run", c.resolve("model.onnx"), "--output-dir", out));
                for (Path in : Cli.numbered(c, "input_")) {
                    args.add("--input");
                    args.add(in);
                }
                Cli.Result r = Cli.run(args.toArray()).expect(0);
                List<Path> expected = Cli.numbered(c, "output_");
                assertEquals(expected.size(), r.out().lines().count(), r.out());
                for (int k = 0; k < expected.size(); k++) {
                    Tensor want = Npy.read(expected.get(k));
                    Tensor got = Npy.read(out.resolve("output_" + k + ".npy"));
                    assertClose(got, want, c.getFileName() + " output " + k);
                    String line = r.out().lines().toList().get(k);
                    assertTrue(line.startsWith("output_" + k + ".npy <- "), line);
                    assertTrue(line.endsWith(" " + Arrays.toString(want.shape())), line);
                }
            }));
        }
        return tests;
    }

    @Test
    void namedInputsInAnyOrder() {
        Path c = Cli.fixture("initial_state");
        Path out = dir.resolve("named");
        Cli.Result r = Cli.run("run", c.resolve("model.onnx"), "-o", out,
                "--input", "c0=" + c.resolve("input_2.npy"), "--input", "x=" + c.resolve("input_0.npy"),
                "--input", "h0=" + c.resolve("input_1.npy")).expect(0);
        assertTrue(r.out().contains("output_0.npy <- y [6, 3, 12]"), r.out());
        for (int k = 0; k < 3; k++) {
            assertClose(Npy.read(out.resolve("output_" + k + ".npy")), Npy.read(c.resolve("output_" + k + ".npy")), "output " + k);
        }
    }

    @Test
    void realModelMatchesOnnxruntime() {
        Path model = Cli.realOnnx();
        Random rnd = new Random(11);
        float[] x = new float[286];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(i / 9.0) + 0.1f * (rnd.nextFloat() - 0.5f);
        }
        Tensor input = Tensor.ofFloats(new int[] {286, 1, 1}, x);
        Path in = dir.resolve("x.npy");
        Npy.write(input, in);
        Cli.Result r = Cli.run("run", model, "--input", in, "--output-dir", dir.resolve("o")).expect(0);
        assertEquals("output_0.npy <- output [1, 2]", r.out().strip());
        Map<String, Tensor> ref = OnnxRuntimeReference.run(model, Map.of("input", input));
        Tensor got = Npy.read(dir.resolve("o/output_0.npy"));
        assertClose(got, ref.get("output"), "softmax output");
        assertEquals(1.0, got.getFloat(0) + got.getFloat(1), 1e-5, "softmax sums to 1");
    }

    @Test
    void float64AndInt32FilesAreAccepted() throws IOException {
        // float64 x for a float model, int32 token ids for an int64-declared input.
        Path c = Cli.fixture("embedding_lm");
        Tensor tokens = Npy.read(c.resolve("input_0.npy"));
        Path i32 = dir.resolve("tokens_i32.npy");
        Npy.write(tokens.withDType(DType.INT32), i32);
        Cli.run("run", c.resolve("model.onnx"), "--input", i32, "-o", dir.resolve("e")).expect(0);
        assertClose(Npy.read(dir.resolve("e/output_0.npy")), Npy.read(c.resolve("output_0.npy")), "logits");

        Path u = Cli.fixture("uni_1layer");
        Tensor x = Npy.read(u.resolve("input_0.npy"));
        Path f64 = dir.resolve("x64.npy");
        Files.write(f64, float64Npy(x));
        Cli.run("run", u.resolve("model.onnx"), "--input", f64, "-o", dir.resolve("u")).expect(0);
        assertClose(Npy.read(dir.resolve("u/output_0.npy")), Npy.read(u.resolve("output_0.npy")), "y");
    }

    /** A version-1 .npy of little-endian float64, laid out by hand per the format spec. */
    private static byte[] float64Npy(Tensor t) {
        StringBuilder shape = new StringBuilder("(");
        for (int d : t.shape()) {
            shape.append(d).append(", ");
        }
        StringBuilder h = new StringBuilder("{'descr': '<f8', 'fortran_order': False, 'shape': " + shape.append(")") + ", }");
        while ((10 + h.length() + 1) % 64 != 0) {
            h.append(' ');
        }
        h.append('\n');
        ByteBuffer b = ByteBuffer.allocate(10 + h.length() + 8 * t.size()).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) h.length());
        b.put(h.toString().getBytes(StandardCharsets.ISO_8859_1));
        for (float f : t.toFloatArray()) {
            b.putDouble(f);
        }
        return b.array();
    }

    @Test
    void inputMistakesAreBadInputNamingTheCulprit() throws IOException {
        Path c = Cli.fixture("initial_state");
        Path model = c.resolve("model.onnx");
        Path x = c.resolve("input_0.npy");
        // Too few positional files.
        Cli.Result r = Cli.run("run", model, "--input", x, "-o", dir.resolve("a")).expect(2);
        assertTrue(r.err().contains("3"), r.err());
        // A name the model does not have.
        r = Cli.run("run", model, "--input", "nope=" + x, "-o", dir.resolve("a")).expect(2);
        assertTrue(r.err().contains("nope"), r.err());
        // Named and positional mixed.
        r = Cli.run("run", model, "--input", "x=" + x, "--input", c.resolve("input_1.npy"), "--input", "c0=" + c.resolve("input_2.npy"),
                "-o", dir.resolve("a")).expect(2);
        // Missing one named input.
        r = Cli.run("run", model, "--input", "x=" + x, "--input", "h0=" + c.resolve("input_1.npy"), "-o", dir.resolve("a")).expect(2);
        assertTrue(r.err().contains("c0"), r.err());
        // Wrong shape: h0 given where x belongs; the message names the file.
        r = Cli.run("run", model, "--input", "x=" + c.resolve("input_1.npy"), "--input", "h0=" + c.resolve("input_1.npy"),
                "--input", "c0=" + c.resolve("input_2.npy"), "-o", dir.resolve("a")).expect(2);
        assertTrue(r.err().contains("input_1.npy"), r.err());
        // A file that is not .npy.
        Path text = dir.resolve("text.npy");
        Files.writeString(text, "1,2,3\n");
        r = Cli.run("run", Cli.fixture("uni_1layer").resolve("model.onnx"), "--input", text, "-o", dir.resolve("a")).expect(2);
        assertTrue(r.err().contains(text.toString()), r.err());
        // A missing input file.
        Path missing = dir.resolve("missing.npy");
        r = Cli.run("run", Cli.fixture("uni_1layer").resolve("model.onnx"), "--input", missing, "-o", dir.resolve("a")).expect(2);
        assertTrue(r.err().contains(missing.toString()), r.err());
        assertFalse(Files.exists(dir.resolve("a")), "nothing written when inputs are refused");
    }
}
