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

    @Test
    void inputFilesMayFollowTheModelInModelInputOrder() {
        Path c = Cli.fixture("initial_state");
        Path out = dir.resolve("plain");
        Cli.Result r = Cli.run("run", c.resolve("model.onnx"), c.resolve("input_0.npy"), c.resolve("input_1.npy"), c.resolve("input_2.npy"),
                "--output-dir", out).expect(0);
        assertEquals(3, r.out().lines().count(), r.out());
        for (int k = 0; k < 3; k++) {
            assertClose(Npy.read(out.resolve("output_" + k + ".npy")), Npy.read(c.resolve("output_" + k + ".npy")), "output " + k);
        }
    }

    @Test
    void inputFilesAndInputOptionsTogetherOrTheWrongNumberOfFilesAreBadInput() {
        Path c = Cli.fixture("initial_state");
        Path model = c.resolve("model.onnx");
        Cli.Result r = Cli.run("run", model, c.resolve("input_0.npy"), c.resolve("input_1.npy"), "--input", "c0=" + c.resolve("input_2.npy"),
                "-o", dir.resolve("a")).expect(2);
        assertTrue(r.err().contains("not both"), r.err());
        r = Cli.run("run", model, c.resolve("input_0.npy"), c.resolve("input_1.npy"), "-o", dir.resolve("a")).expect(2);
        assertTrue(r.err().contains("3 input(s) [x, h0, c0] but 2 file(s)"), r.err());
        r = Cli.run("run", model, c.resolve("input_0.npy"), c.resolve("input_1.npy"), c.resolve("input_2.npy"), c.resolve("input_2.npy"),
                "-o", dir.resolve("a")).expect(2);
        assertTrue(r.err().contains("but 4 file(s)"), r.err());
        assertFalse(Files.exists(dir.resolve("a")), "nothing written");
    }

    @Test
    void existingOutputFilesAreReplacedOnlyWithForce() throws IOException {
        Path c = Cli.fixture("uni_1layer");
        Path model = c.resolve("model.onnx");
        Path x = c.resolve("input_0.npy");
        Path out = Files.createDirectory(dir.resolve("out"));
        Path kept = out.resolve("output_1.npy");
        Files.writeString(kept, "the user's own file");
        Cli.Result r = Cli.run("run", model, x, "-o", out).expect(2);
        assertEquals(Main.ERROR_PREFIX + kept + " already exists; not overwriting it (use --force to replace it)", r.err().strip());
        assertEquals("the user's own file", Files.readString(kept));
        assertEquals(List.of("output_1.npy"), Cli.list(out), "refused before anything was written");

        Cli.run("run", model, x, "-o", out, "--force").expect(0);
        assertEquals(List.of("output_0.npy", "output_1.npy", "output_2.npy"), Cli.list(out), "replaced, no staging folders left");
        for (int k = 0; k < 3; k++) {
            assertClose(Npy.read(out.resolve("output_" + k + ".npy")), Npy.read(c.resolve("output_" + k + ".npy")), "output " + k);
        }
    }

    /** x of uni_1layer ([7, 3, 6]) as small integers, which every integer dtype and float16 hold exactly. */
    private static long[] smallInts() {
        long[] v = new long[7 * 3 * 6];
        for (int i = 0; i < v.length; i++) {
            v[i] = i % 3; // 0, 1, 2: also valid as bool when limited to 0 and 1 below
        }
        return v;
    }

    private static byte[] encode(String descr, long[] values) {
        int width = Integer.parseInt(descr.substring(2).isEmpty() ? "1" : descr.substring(2));
        ByteBuffer b = ByteBuffer.allocate(width * values.length).order(descr.charAt(0) == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (descr.charAt(1) + String.valueOf(width)) {
                case "f2" -> b.putShort((short) (v == 0 ? 0 : v == 1 ? 0x3c00 : 0x4000)); // 0.0, 1.0, 2.0 in binary16
                case "f4" -> b.putFloat(v);
                case "f8" -> b.putDouble(v);
                default -> {
                    switch (width) {
                        case 1 -> b.put((byte) v);
                        case 2 -> b.putShort((short) v);
                        case 4 -> b.putInt((int) v);
                        default -> b.putLong(v);
                    }
                }
            }
        }
        return b.array();
    }

    /**
     * The rule of the .npy reader, through the command: integer dtypes that fit int64 and float16,
     * float32, float64 are read (same values, same outputs as float32); every other dtype exits 3
     * with one kind of message naming the file and NumPy's name of the dtype.
     */
    @Test
    void everyNpyDtypeIsEitherReadOrRefusedTheSameWay() throws IOException {
        Path c = Cli.fixture("uni_1layer");
        Path model = c.resolve("model.onnx");
        long[] ints = smallInts();
        long[] bools = ints.clone();
        for (int i = 0; i < bools.length; i++) {
            bools[i] = Math.min(bools[i], 1);
        }
        int[] shape = {7, 3, 6};
        Path ref = dir.resolve("ref.npy");
        Files.write(ref, Cli.npy("<f4", shape, encode("<f4", ints)));
        Cli.run("run", model, ref, "-o", dir.resolve("ref")).expect(0);
        Path boolRef = dir.resolve("boolref.npy");
        Files.write(boolRef, Cli.npy("<f4", shape, encode("<f4", bools)));
        Cli.run("run", model, boolRef, "-o", dir.resolve("boolref")).expect(0);

        for (String descr : List.of("|b1", "|i1", "|u1", "<i2", ">u2", "<i4", "<u4", ">i8", "<f2", ">f4", "<f8")) {
            boolean bool = descr.equals("|b1");
            Path f = dir.resolve("x" + descr.substring(1) + ".npy");
            Files.write(f, Cli.npy(descr, shape, encode(descr, bool ? bools : ints)));
            Path out = dir.resolve("out" + descr.substring(1));
            Cli.run("run", model, f, "-o", out).expect(0);
            Tensor want = Npy.read(dir.resolve(bool ? "boolref" : "ref").resolve("output_0.npy"));
            assertTrue(Npy.read(out.resolve("output_0.npy")).bitEquals(want), descr + " gives the float32 results");
        }
        // Object arrays are not numbers at all: exit 2 (see NpyTest); these are numbers lstmx cannot hold.
        for (String[] refused : new String[][] {{"<u8", "uint64"}, {"<c8", "complex64"}, {"<U1", "str"}}) {
            Path f = dir.resolve("refused" + refused[1] + ".npy");
            Files.write(f, Cli.npy(refused[0], shape, new byte[7 * 3 * 6 * 8]));
            Cli.Result r = Cli.run("run", model, f, "-o", dir.resolve("no")).expect(3);
            assertTrue(r.err().startsWith(Main.ERROR_PREFIX + f + ": .npy dtype " + refused[1] + " "), r.err());
            assertTrue(r.err().contains("lstmx reads bool, int8, int16, int32, int64, uint8, uint16, uint32, float16, float32 and float64"), r.err());
        }
        assertFalse(Files.exists(dir.resolve("no")));
    }

    @Test
    void integerDtypesFeedIntegerInputsAndFloatsForThemAreBadInput() throws IOException {
        Path c = Cli.fixture("embedding_lm");
        Tensor tokens = Npy.read(c.resolve("input_0.npy"));
        long[] ids = tokens.toLongArray();
        for (String descr : List.of("|u1", "<i2", "<u4")) {
            Path f = dir.resolve("tokens" + descr.substring(1) + ".npy");
            Files.write(f, Cli.npy(descr, tokens.shape(), encode(descr, ids)));
            Cli.run("run", c.resolve("model.onnx"), f, "-o", dir.resolve("o" + descr.substring(1))).expect(0);
            assertClose(Npy.read(dir.resolve("o" + descr.substring(1)).resolve("output_0.npy")), Npy.read(c.resolve("output_0.npy")), descr);
        }
        Path half = dir.resolve("tokens_f2.npy");
        Files.write(half, Cli.npy("<f2", tokens.shape(), encode("<f2", new long[ids.length])));
        Cli.Result r = Cli.run("run", c.resolve("model.onnx"), half, "-o", dir.resolve("h")).expect(2);
        assertTrue(r.err().contains(half.toString()) && r.err().contains("integer"), r.err());
    }

    @Test
    void aDirectoryGivenAsAnInputSaysSo() throws IOException {
        Path d = Files.createDirectory(dir.resolve("x.npy"));
        Cli.Result r = Cli.run("run", Cli.fixture("uni_1layer").resolve("model.onnx"), d, "-o", dir.resolve("o")).expect(2);
        assertEquals(Main.ERROR_PREFIX + d + ": is a directory, not a .npy file (input 'x')", r.err().strip());
    }
}
