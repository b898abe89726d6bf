package io.lstmx.references.tensorflow;

import io.lstmx.api.ReferenceEngine;
import io.lstmx.api.ReferenceEngines;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The TensorFlow reference engine on the real Keras SavedModels, on GraphDefs, and on bad files. */
class TensorFlowEngineTest {
    @TempDir
    Path dir;

    static Path root() {
        return Path.of(System.getProperty("lstmx.root", "../..")).toAbsolutePath().normalize();
    }

    static Path real(String name) {
        Path p = root().resolve("../shared/real-models/tensorflow/iteam1__predict-series-data-with-RNN/" + name + "/" + name).normalize();
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(p), "../shared is beside the checkout");
        return p;
    }

    static Tensor random(long seed, int... shape) {
        Random r = new Random(seed);
        float[] f = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return Tensor.ofFloats(shape, f);
    }

    @Test
    void theEngineIsFoundAndNamesItsVersion() {
        ReferenceEngine e = ReferenceEngines.all().stream().filter(x -> x.name().equals("tensorflow")).findFirst().orElseThrow();
        assertEquals(java.util.Set.of(Format.SAVEDMODEL, Format.TF_GRAPHDEF), e.formats());
        assertTrue(e.version().startsWith("2."), e.version());
    }

    /** Keras SavedModels written by TF 2.9 (LSTM(64) and GRU(64) regressors on [B, 5, 1]) load and run. */
    @ParameterizedTest
    @ValueSource(strings = {"lstm_model", "gru_model"})
    void theRealKerasSavedModelsRun(String name) {
        try (ReferenceEngine.Session s = new TensorFlowEngine().open(real(name), Format.SAVEDMODEL)) {
            assertEquals(1, s.inputNames().size(), s.inputNames().toString());
            assertEquals(1, s.outputNames().size(), s.outputNames().toString());
            for (int b : new int[] {1, 3}) {
                Map<String, Tensor> out = s.run(Map.of(s.inputNames().get(0), random(b, b, 5, 1)));
                assertEquals(s.outputNames(), List.copyOf(out.keySet()));
                Tensor y = out.values().iterator().next();
                assertArrayEquals(new int[] {b, 1}, y.shape());
                for (float v : y.toFloatArray()) {
                    assertTrue(Float.isFinite(v), name + ": " + v);
                }
            }
            // Different inputs give different outputs: the weights were restored and are used.
            float a = s.run(Map.of(s.inputNames().get(0), random(1, 1, 5, 1))).values().iterator().next().toFloatArray()[0];
            float c = s.run(Map.of(s.inputNames().get(0), random(2, 1, 5, 1))).values().iterator().next().toFloatArray()[0];
            assertTrue(a != c, a + " " + c);
        }
    }

    @Test
    void inputsTensorFlowRefusesAreBadInput() {
        Path m = real("lstm_model");
        try (ReferenceEngine.Session s = new TensorFlowEngine().open(m, Format.SAVEDMODEL)) {
            LstmxException e = assertThrows(LstmxException.class, () -> s.run(Map.of(s.inputNames().get(0), random(1, 2, 5, 3))));
            assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
            assertTrue(e.getMessage().startsWith(m + ": TensorFlow refuses the inputs"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void badSavedModelsAreOneLineBadInput() throws Exception {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        Path garbage = Files.createDirectory(dir.resolve("garbage"));
        Files.write(garbage.resolve("saved_model.pb"), new byte[] {1, 2, 3, 4, 5, 6, 7});
        Path file = Files.write(dir.resolve("file.pb"), new byte[] {1});
        for (Path p : List.of(empty, garbage, file, dir.resolve("missing"))) {
            LstmxException e = assertThrows(LstmxException.class, () -> new TensorFlowEngine().open(p, Format.SAVEDMODEL).close());
            assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
            assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void badGraphDefsAreOneLineBadInput() throws Exception {
        Path garbage = Files.write(dir.resolve("garbage.pb"), new byte[] {(byte) 0xff, 1, 2, 3, 4});
        Path empty = Files.write(dir.resolve("empty.pb"), new byte[0]);
        for (Path p : List.of(garbage, empty, dir.resolve("missing.pb"))) {
            LstmxException e = assertThrows(LstmxException.class, () -> new TensorFlowEngine().open(p, Format.TF_GRAPHDEF).close());
            assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
            assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    /** Inputs are the Placeholders, outputs the sinks (values no op reads), both in file order. */
    @Test
    void aGraphDefRunsWithPlaceholdersInAndSinksOut() throws Exception {
        Path file = dir.resolve("model.pb");
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class);
            Placeholder<TFloat32> y = tf.withName("y").placeholder(TFloat32.class);
            var sum = tf.withName("sum").math.add(x, y);
            tf.withName("out_a").math.tanh(sum);
            tf.withName("out_b").math.mul(sum, tf.constant(2f));
            tf.withName("dead").constant(5f);
            Files.write(file, g.toGraphDef().toByteArray());
        }
        try (ReferenceEngine.Session s = new TensorFlowEngine().open(file, Format.TF_GRAPHDEF, List.of("sum"))) {
            assertEquals(List.of("x", "y"), s.inputNames());
            assertEquals(List.of("out_a", "out_b"), s.outputNames());
            Map<String, Tensor> out = s.run(Map.of("x", Tensor.ofFloats(new int[] {2}, new float[] {1, 2}),
                    "y", Tensor.ofFloats(new int[] {2}, new float[] {0.5f, -1})));
            assertEquals(List.of("out_a", "out_b", "sum"), List.copyOf(out.keySet()));
            assertArrayEquals(new float[] {(float) Math.tanh(1.5), (float) Math.tanh(1)}, out.get("out_a").toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {3, 2}, out.get("out_b").toFloatArray());
            assertArrayEquals(new float[] {1.5f, 1}, out.get("sum").toFloatArray());
            LstmxException e = assertThrows(LstmxException.class, () -> s.run(Map.of("x", Tensor.zeros(2))));
            assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        }
    }

    @Test
    void naturalOrderPutsNumbersInOrder() {
        assertEquals(List.of("output_0", "output_2", "output_10", "y"),
                TensorFlowSession.natural(List.of("output_10", "y", "output_2", "output_0")));
    }
}
