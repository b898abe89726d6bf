package io.lstmx.importers.keras;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every Keras model in ../shared/real-models/keras and fixtures/keras, read by lstmx, run in the
 * native runtime (float32) and compared with {@link KerasReference} (float64 Keras equations)
 * within atol 1e-5 + rtol 1e-4; the Akashsuga .h5 / .keras twins must agree; hostile files give
 * one-line BAD_INPUT or UNSUPPORTED errors naming the file.
 */
class KerasReaderTest {
    static final Path ROOT = Path.of(System.getProperty("lstmx.root", "../.."));
    static final Path FIX = ROOT.resolve("fixtures/keras");
    static final Path REAL = ROOT.resolve("../shared/real-models/keras");

    static Stream<Path> models() throws IOException {
        List<Path> all = new ArrayList<>();
        if (Files.isDirectory(REAL)) {
            try (Stream<Path> s = Files.walk(REAL)) {
                s.filter(p -> p.toString().endsWith(".h5") || p.toString().endsWith(".keras")).sorted().forEach(all::add);
            }
        }
        for (String n : List.of("lstm_dense", "gru_reset_after", "gru_reset_before", "simple_rnn", "bidi_lstm_concat", "bidi_lstm_sum",
                "bidi_lstm_mul", "bidi_lstm_ave", "bidi_gru_last", "go_backwards", "hard_sigmoid", "time_distributed", "embedding",
                "no_bias_batchnorm_seq", "mask_zero_lstm", "mask_zero_bidi", "masking_gru_backwards", "mask_zero_output",
                "initial_state_lstm", "initial_state_seq2seq", "initial_state_bidi_masked", "initial_state_gru", "layer_norm",
                "layer_norm_no_center")) {
            all.add(FIX.resolve(n + ".h5"));
            all.add(FIX.resolve(n + ".keras"));
        }
        all.add(FIX.resolve("functional_return_state.keras"));
        for (String n : List.of("gru_without_reset_after_key", "mask_zero_single", "mask_zero_unused", "stateful", "repeat_permute", "functional_return_state")) {
            all.add(FIX.resolve(n + ".h5"));
        }
        return all.stream();
    }

    static Model read(Path p) {
        return p.toString().endsWith(".keras") ? new KerasReader().read(p, ReadOptions.DEFAULT) : new KerasH5Reader().read(p, ReadOptions.DEFAULT);
    }

    /** The config, weights and Keras version, opened for the reference (tests trust the fixture files). */
    static KerasReference reference(Path p, H5[] keep) throws IOException {
        if (p.toString().endsWith(".keras")) {
            try (ZipFile z = new ZipFile(p.toFile())) {
                String cfg = new String(z.getInputStream(z.getEntry("config.json")).readAllBytes(), StandardCharsets.UTF_8);
                byte[] w = z.getInputStream(z.getEntry("model.weights.h5")).readAllBytes();
                KerasConfig c = KerasConfig.parse(Json.parseObject(cfg, "config"), "config");
                keep[0] = H5.fromBytes(p.toString(), w);
                return new KerasReference(c, new WeightSource.ByObjectPath(keep[0], c), true);
            }
        }
        keep[0] = H5.open(p);
        String cfg = keep[0].stringAttribute(keep[0].hdf, "model_config");
        String v = keep[0].stringAttribute(keep[0].hdf, "keras_version");
        KerasConfig c = KerasConfig.parse(Json.parseObject(cfg, "config"), "config");
        return new KerasReference(c, new WeightSource.Legacy(keep[0]), v.startsWith("3"));
    }

    /**
     * Random inputs of the model's declared shapes (batch 5, time 5 where open); integer ids for
     * embeddings (the first input; any other, such as initial states, floats). A model that makes a
     * mask gets masked steps in every row of its first input but the first row: row 1
     * pre-padded (Keras's default), row 2 post-padded, row 3 with holes, row 4 masked throughout
     * (token 0, or every feature equal to Masking's value).
     */
    static Map<String, Tensor> inputs(Model m, long seed) {
        Random r = new Random(seed);
        boolean ids = m.layers().stream().anyMatch(l -> l instanceof Layer.Embedding);
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (ValueInfo v : m.inputs()) {
            boolean first = v == m.inputs().get(0);
            int[] s = new int[v.shape().rank()];
            for (int i = 0; i < s.length; i++) {
                s[i] = v.shape().dim(i) instanceof Dim.Fixed f ? (int) f.size() : i == 0 ? 5 : 5;
            }
            float[] d = new float[Tensor.elementCount(s)];
            for (int i = 0; i < d.length; i++) {
                d[i] = ids && first ? 1 + r.nextInt(8) : (float) (r.nextDouble() * 2 - 1);
            }
            Layer.StepMask mask = (Layer.StepMask) m.layers().stream().filter(l -> l instanceof Layer.StepMask).findFirst().orElse(null);
            if (mask != null && first && s.length >= 2) {
                io.lstmx.ir.samples.Samples.maskSteps(d, s[0], s[1], s.length == 3 ? s[2] : 1, mask.value());
            }
            in.put(v.name(), Tensor.ofFloats(s, d));
        }
        return in;
    }

    static List<Tensor> run(Model m, Map<String, Tensor> in) {
        Map<String, Tensor> out = NativeRuntime.compile(m).run(in);
        return m.outputNames().stream().map(out::get).toList();
    }

    static void close(String what, KerasReference.Arr want, Tensor got) {
        assertTrue(Arrays.equals(want.shape(), got.shape()), what + ": shape " + Arrays.toString(got.shape()) + ", expected "
                + Arrays.toString(want.shape()));
        float[] g = got.toFloatArray();
        for (int i = 0; i < g.length; i++) {
            double e = want.d()[i];
            assertTrue(Math.abs(g[i] - e) <= 1e-5 + 1e-4 * Math.abs(e), what + "[" + i + "]: " + g[i] + " vs " + e);
        }
    }

    @ParameterizedTest
    @MethodSource("models")
    void matchesKerasEquations(Path p) throws IOException {
        Model m = read(p);
        Map<String, Tensor> in = inputs(m, 42);
        List<Tensor> got = run(m, in);
        H5[] keep = new H5[1];
        try {
            KerasReference ref = reference(p, keep);
            List<KerasReference.Arr> want = ref.run(in.values().stream().map(KerasReference.Arr::of).toList());
            assertEquals(want.size(), got.size(), p + ": outputs");
            for (int i = 0; i < want.size(); i++) {
                close(p.getFileName() + " output " + m.outputNames().get(i), want.get(i), got.get(i));
            }
        } finally {
            keep[0].close();
        }
    }

    @Test
    void akashsugaTwinsAgree() {
        Path h5 = REAL.resolve("Akashsuga__Stock-Predictor--LSTM/lstm_model_h5_120x5/lstm_model.h5");
        Path keras = REAL.resolve("Akashsuga__Stock-Predictor--LSTM/lstm_model_keras/lstm_model.keras");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(h5) && Files.exists(keras));
        Model a = read(h5);
        Model b = read(keras);
        Map<String, Tensor> in = inputs(a, 7);
        Map<String, Tensor> inB = new LinkedHashMap<>();
        inB.put(b.inputNames().get(0), in.values().iterator().next());
        // the same weights layer by layer (the two files differ in the last bits: up to 3e-7)
        List<Layer> la = a.layers().stream().filter(l -> !l.tensors().isEmpty()).toList();
        List<Layer> lb = b.layers().stream().filter(l -> !l.tensors().isEmpty()).toList();
        assertEquals(la.size(), lb.size());
        for (int i = 0; i < la.size(); i++) {
            for (int k = 0; k < la.get(i).tensors().size(); k++) {
                float[] p = la.get(i).tensors().get(k).toFloatArray();
                float[] q = lb.get(i).tensors().get(k).toFloatArray();
                assertEquals(p.length, q.length);
                for (int j = 0; j < p.length; j++) {
                    assertTrue(Math.abs(p[j] - q[j]) <= 1e-6, la.get(i).name() + " tensor " + k + "[" + j + "]");
                }
            }
        }
        float[] x = run(a, in).get(0).toFloatArray();
        float[] y = run(b, inB).get(0).toFloatArray();
        for (int i = 0; i < x.length; i++) {
            assertTrue(Math.abs(x[i] - y[i]) <= 1e-5 + 1e-4 * Math.abs(y[i]), Arrays.toString(x) + " vs " + Arrays.toString(y));
        }
        assertEquals("keras-h5", a.info().sourceFormat());
        assertEquals("keras", b.info().sourceFormat());
    }

    @Test
    void hardSigmoidDiffersBetweenKeras2And3() {
        Model k2 = read(FIX.resolve("hard_sigmoid.h5"));
        Model k3 = read(FIX.resolve("hard_sigmoid.keras"));
        Layer.Lstm l2 = (Layer.Lstm) k2.layers().stream().filter(l -> l instanceof Layer.Lstm).findFirst().orElseThrow();
        Layer.Lstm l3 = (Layer.Lstm) k3.layers().stream().filter(l -> l instanceof Layer.Lstm).findFirst().orElseThrow();
        assertEquals(0.2f, l2.activations().get(0).alpha());
        assertEquals(1f / 6f, l3.activations().get(0).alpha());
        Map<String, Tensor> in = inputs(k2, 3);
        assertFalse(Arrays.equals(run(k2, in).get(0).toFloatArray(), run(k3, Map.of(k3.inputNames().get(0), in.values().iterator().next()))
                .get(0).toFloatArray()));
    }

    @Test
    void statefulIsNotedAndMaskUnusedIsNoted() {
        assertTrue(read(FIX.resolve("stateful.h5")).info().detail().contains("stateful"));
        assertTrue(read(FIX.resolve("mask_zero_unused.h5")).info().detail().contains("mask_zero"));
    }

    static LstmxException fails(Path p, ErrorCode code, String... words) {
        LstmxException e = assertThrows(LstmxException.class, () -> read(p));
        assertEquals(code, e.code(), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        for (String w : words) {
            assertTrue(e.getMessage().contains(w), e.getMessage() + " lacks " + w);
        }
        return e;
    }

    @Test
    void refusals() {
        fails(FIX.resolve("lambda_refused.h5"), ErrorCode.UNSUPPORTED, "'lambda'", "Lambda");
        fails(FIX.resolve("layernorm_without_weights.h5"), ErrorCode.BAD_INPUT, "'layer_normalization' (LayerNormalization)", "missing variables");
        fails(FIX.resolve("custom_layer.keras"), ErrorCode.UNSUPPORTED, "my_attention", "my_package>MyAttention");
    }

    @Test
    void hostileFiles(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        fails(FIX.resolve("bad_shape.h5"), ErrorCode.BAD_INPUT, "'lstm'", "kernel", "[3, 16]", "[3, 20]");
        fails(FIX.resolve("missing_var.h5"), ErrorCode.BAD_INPUT, "'lstm'", "missing", "bias");
        fails(FIX.resolve("huge_dims.h5"), ErrorCode.BAD_INPUT, "recurrent_kernel");
        // damaged HDF5: the real file cut, and bytes overwritten
        byte[] b = Files.readAllBytes(FIX.resolve("lstm_dense.h5"));
        for (int cut : new int[] {8, 100, 1000, b.length / 2}) {
            Path t = tmp.resolve("cut" + cut + ".h5");
            Files.write(t, Arrays.copyOf(b, cut));
            fails(t, ErrorCode.BAD_INPUT);
        }
        Random r = new Random(1);
        for (int k = 0; k < 40; k++) {
            byte[] c = b.clone();
            for (int j = 0; j < 20; j++) {
                c[r.nextInt(c.length)] = (byte) r.nextInt(256);
            }
            Path t = tmp.resolve("flip" + k + ".h5");
            Files.write(t, c);
            try {
                read(t);
            } catch (LstmxException e) {
                assertFalse(e.getMessage().contains("\n"));
                assertTrue(e.code() == ErrorCode.BAD_INPUT || e.code() == ErrorCode.UNSUPPORTED, e.getMessage());
            }
        }
        // .keras: '..' entries, JSON nesting bomb, decompression bomb, missing weights
        Map<String, byte[]> parts = entries(FIX.resolve("lstm_dense.keras"));
        Map<String, byte[]> evil = new LinkedHashMap<>(parts);
        evil.put("../evil.txt", new byte[1]);
        fails(zip(tmp.resolve("dotdot.keras"), evil), ErrorCode.BAD_INPUT, "'..");
        Map<String, byte[]> deep = new LinkedHashMap<>(parts);
        String deepText = "{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        deep.put("config.json", deepText.getBytes(StandardCharsets.UTF_8));
        // Brackets deflate ~900:1, so the archive is refused as a bomb before the JSON is parsed;
        // the nesting check itself guards model_config in .h5 files and any config that gets past.
        fails(zip(tmp.resolve("deep.keras"), deep), ErrorCode.BAD_INPUT, "config.json", "bomb");
        LstmxException nested = assertThrows(LstmxException.class, () -> Json.parseObject(deepText, "deep"));
        assertTrue(nested.getMessage().contains("nested"), nested.getMessage());
        Map<String, byte[]> bomb = new LinkedHashMap<>(parts);
        bomb.put("config.json", new byte[(int) KerasImporter.MAX_JSON_BYTES + 1]);
        fails(zip(tmp.resolve("bomb.keras"), bomb), ErrorCode.BAD_INPUT, "config.json", "declares");
        Map<String, byte[]> now = new LinkedHashMap<>(parts);
        now.remove("model.weights.h5");
        fails(zip(tmp.resolve("noweights.keras"), now), ErrorCode.BAD_INPUT, "model.weights.h5");
        Map<String, byte[]> cls = new LinkedHashMap<>(parts);
        cls.put("config.json", new String(parts.get("config.json"), StandardCharsets.UTF_8).replace("\"Dense\"", "\"Conv9D\"")
                .getBytes(StandardCharsets.UTF_8));
        fails(zip(tmp.resolve("unknown.keras"), cls), ErrorCode.UNSUPPORTED, "Conv9D");
        Map<String, byte[]> junk = new LinkedHashMap<>(parts);
        junk.put("model.weights.h5", "not hdf5".getBytes(StandardCharsets.UTF_8));
        fails(zip(tmp.resolve("junk.keras"), junk), ErrorCode.BAD_INPUT, "model.weights.h5");
    }

    static Map<String, byte[]> entries(Path p) throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(p.toFile())) {
            for (ZipEntry e : java.util.Collections.list(z.entries())) {
                try (InputStream in = z.getInputStream(e)) {
                    m.put(e.getName(), in.readAllBytes());
                }
            }
        }
        return m;
    }

    static Path zip(Path p, Map<String, byte[]> parts) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bo)) {
            for (var e : parts.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        Files.write(p, bo.toByteArray());
        return p;
    }
}
