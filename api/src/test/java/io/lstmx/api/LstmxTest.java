package io.lstmx.api;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.formats.Format;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.StreamingSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The library API on PyTorch-made fixtures (expected values computed by torch). */
class LstmxTest {
    @TempDir
    Path dir;

    static Path fixture(String name) {
        return Path.of(System.getProperty("lstmx.root", "..")).toAbsolutePath().normalize().resolve("fixtures/onnx/pytorch").resolve(name);
    }

    private static void assertClose(Tensor actual, Tensor expected, String what) {
        Tolerance.Report r = Tolerance.DEFAULT.compare(actual, expected);
        if (!r.ok()) {
            fail(what + ": " + r.detail());
        }
    }

    /** Rows [from, to) of axis 0 of a float tensor. */
    private static Tensor rows(Tensor t, int from, int to) {
        int[] shape = t.shape();
        int row = t.size() / shape[0];
        float[] all = t.toFloatArray();
        shape[0] = to - from;
        return Tensor.ofFloats(shape, Arrays.copyOfRange(all, from * row, to * row));
    }

    @Test
    void loadRunPositionalAndNamed() {
        Path c = fixture("initial_state");
        LoadedModel m = Lstmx.load(c.resolve("model.onnx"));
        assertEquals(Format.ONNX, m.format());
        assertEquals(List.of("x", "h0", "c0"), m.inputs().stream().map(v -> v.name()).toList());
        assertEquals(List.of("y", "h_n", "c_n"), m.outputs().stream().map(v -> v.name()).toList());
        Tensor x = Npy.read(c.resolve("input_0.npy"));
        Tensor h0 = Npy.read(c.resolve("input_1.npy"));
        Tensor c0 = Npy.read(c.resolve("input_2.npy"));
        Map<String, Tensor> positional = m.run(x, h0, c0);
        Map<String, Tensor> named = m.run(Map.of("c0", c0, "x", x, "h0", h0));
        String[] outs = {"y", "h_n", "c_n"};
        for (int k = 0; k < 3; k++) {
            Tensor want = Npy.read(c.resolve("output_" + k + ".npy"));
            assertClose(positional.get(outs[k]), want, outs[k]);
            assertTrue(named.get(outs[k]).bitEquals(positional.get(outs[k])), "same inputs, same result");
        }
    }

    @Test
    void streamingInTwoChunksEqualsOneRun() {
        // y of a unidirectional LSTM over x[0:T] is y over x[0:k] followed by y over x[k:T] from the carried state.
        Path c = fixture("uni_1layer");
        LoadedModel m = Lstmx.load(c.resolve("model.onnx"));
        Tensor x = Npy.read(c.resolve("input_0.npy"));
        Tensor y = Npy.read(c.resolve("output_0.npy"));
        int t = x.dim(0);
        assertTrue(t >= 3, "fixture has several steps");
        int k = t / 2;
        String in = m.model().inputNames().get(0);
        String out = m.model().outputNames().get(0);
        StreamingSession s = m.openSession();
        assertClose(s.feed(Map.of(in, rows(x, 0, k))).get(out), rows(y, 0, k), "first chunk");
        assertClose(s.feed(Map.of(in, rows(x, k, t))).get(out), rows(y, k, t), "second chunk continues the state");
        s.reset();
        assertClose(s.feed(Map.of(in, rows(x, 0, k))).get(out), rows(y, 0, k), "after reset");
    }

    @Test
    void saveWritesAFileThatLoadsBack() {
        Path c = fixture("classifier");
        LoadedModel m = Lstmx.load(c.resolve("model.onnx"));
        Path out = dir.resolve("copy.onnx");
        Lstmx.save(m.model(), out, Format.ONNX);
        assertTrue(Files.isRegularFile(out));
        Tensor x = Npy.read(c.resolve("input_0.npy"));
        Tensor want = Npy.read(c.resolve("output_0.npy"));
        assertClose(Lstmx.load(out).run(x).values().iterator().next(), want, "reloaded copy");
    }

    @Test
    void inputsAreCheckedWithMessagesNamingThem() {
        LoadedModel m = Lstmx.load(fixture("embedding_lm").resolve("model.onnx"));
        Tensor ids = Tensor.ofLongs(DType.INT32, new int[] {1, 3}, new long[] {1, 2, 3});
        assertEquals(DType.INT64, m.conformInput("tokens", ids).dtype(), "int32 ids relabelled to the declared int64");
        LstmxException e = assertThrows(LstmxException.class, () -> m.run(Tensor.zeros(1, 3)));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("tokens"), e.getMessage());
        e = assertThrows(LstmxException.class, () -> m.run(Tensor.ofLongs(new int[] {3}, new long[] {1, 2, 3})));
        assertTrue(e.getMessage().contains("tokens") && e.getMessage().contains("[3]"), e.getMessage());
        e = assertThrows(LstmxException.class, () -> m.run(Map.of("other", ids)));
        assertTrue(e.getMessage().contains("other"), e.getMessage());
        e = assertThrows(LstmxException.class, () -> m.run(Map.of()));
        assertTrue(e.getMessage().contains("tokens"), e.getMessage());
        e = assertThrows(LstmxException.class, () -> m.run(ids, ids));
        assertTrue(e.getMessage().contains("1 inputs"), e.getMessage());
        // Floats given to a float input declared [time, batch, I] with the right rank pass the check.
        LoadedModel u = Lstmx.load(fixture("uni_1layer").resolve("model.onnx"));
        int features = Npy.read(fixture("uni_1layer").resolve("input_0.npy")).dim(2);
        assertArrayEquals(new int[] {2, 1, features}, u.conformInput(u.model().inputNames().get(0), Tensor.zeros(2, 1, features)).shape());
    }

    @Test
    void missingFileIsBadInput() {
        Path missing = dir.resolve("nope.onnx");
        LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.load(missing));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void integerArraysForAFloatInputConvertExactly() {
        LoadedModel m = Lstmx.load(fixture("sample_classifier").resolve("model.onnx"));
        int[] shape = {2, 5, 8};
        long[] ints = new long[2 * 5 * 8];
        float[] floats = new float[ints.length];
        for (int i = 0; i < ints.length; i++) {
            ints[i] = (i % 7) - 3;
            floats[i] = ints[i];
        }
        Tensor fromInts = m.run(Tensor.ofLongs(DType.INT64, shape, ints)).get("probs");
        Tensor fromFloats = m.run(Tensor.ofFloats(shape, floats)).get("probs");
        assertTrue(fromInts.bitEquals(fromFloats), "int64 input must convert to the same float32 values");
    }

    @Test
    void floatArraysForAnIntegerInputAreRefused() {
        LoadedModel m = Lstmx.load(fixture("embedding_lm").resolve("model.onnx"));
        Tensor tokens = Npy.read(fixture("embedding_lm").resolve("input_0.npy"));
        LstmxException e = assertThrows(LstmxException.class, () -> m.run(Tensor.ofFloats(tokens.shape(), tokens.toFloatArray())));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains(m.inputs().get(0).name()), e.getMessage());
    }
}
