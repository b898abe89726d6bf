package io.lstmx.exporters.keras;

import io.lstmx.ir.samples.Golden;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.importers.keras.KerasH5Reader;
import io.lstmx.importers.keras.KerasReader;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.samples.Samples;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-step masks through the Keras writers: the masked Keras fixtures (Embedding mask_zero,
 * Masking, Bidirectional, go_backwards, zero_output_for_mask) and IR models with masks are written
 * as .keras and .h5, their masks as Keras makes them (mask_zero, Masking), read back with every
 * output equal on inputs with masked steps; what Keras cannot say is refused.
 */
class MaskedModelsTest {
    @TempDir
    Path dir;

    private static final List<String> FIXTURES = List.of("mask_zero_lstm", "mask_zero_bidi", "masking_gru_backwards", "mask_zero_output",
            "initial_state_gru");

    static Model read(Path p) {
        return p.toString().endsWith(".keras") ? new KerasReader().read(p, ReadOptions.DEFAULT) : new KerasH5Reader().read(p, ReadOptions.DEFAULT);
    }

    /**
     * Ids 1..8 or values in [-1, 1) for the first input, with row 1 pre-padded, row 2 post-padded,
     * row 3 with holes, row 4 masked throughout (0 is the mask value); random initial states for the others.
     */
    static Map<String, Tensor> maskedInputs(Model m) {
        java.util.Random r = new java.util.Random(5);
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (var v : m.inputs()) {
            boolean first = v == m.inputs().get(0);
            int b = 5;
            int t = 5;
            int f = v.shape().rank() == 3 ? (int) ((io.lstmx.ir.Dim.Fixed) v.shape().dim(2)).size() : 1;
            float[] d = new float[b * t * f];
            for (int i = 0; i < d.length; i++) {
                d[i] = f == 1 && first ? 1 + r.nextInt(8) : (float) (r.nextDouble() * 2 - 1);
            }
            if (!first) {
                // an initial state [batch, units]
                int units = (int) ((io.lstmx.ir.Dim.Fixed) v.shape().dim(1)).size();
                float[] st = new float[b * units];
                for (int i = 0; i < st.length; i++) {
                    st[i] = (float) (r.nextDouble() * 2 - 1);
                }
                in.put(v.name(), Tensor.ofFloats(new int[] {b, units}, st));
                continue;
            }
            io.lstmx.ir.samples.Samples.maskSteps(d, b, t, f, 0f);
            in.put(v.name(), v.shape().rank() == 3 ? Tensor.ofFloats(new int[] {b, t, f}, d) : Tensor.ofFloats(new int[] {b, t}, d));
        }
        return in;
    }

    private static void sameOutputs(Model src, Model back, Map<String, Tensor> in, String what) {
        Map<String, Tensor> expected = NativeRuntime.compile(src).run(in);
        Map<String, Tensor> bin = new LinkedHashMap<>();
        for (int k = 0; k < src.inputs().size(); k++) {
            bin.put(back.inputs().get(k).name(), in.get(src.inputs().get(k).name()));
        }
        Map<String, Tensor> got = NativeRuntime.compile(back).run(bin);
        assertEquals(src.outputs().size(), back.outputs().size(), what);
        for (int k = 0; k < src.outputs().size(); k++) {
            Golden.close(expected.get(src.outputs().get(k).name()), got.get(back.outputs().get(k).name()), what + " output " + k);
        }
    }

    private static long maskedRecurrent(Model m) {
        return m.layers().stream().filter(l -> l instanceof Layer.Recurrent r && r.ports().hasMask()).count();
    }

    @TestFactory
    Stream<DynamicTest> maskedKerasFilesAreWrittenAsKerasAndH5KeepingTheirMasksAndEveryOutput() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String f : FIXTURES) {
            for (String from : List.of("h5", "keras")) {
                for (String to : List.of("keras", "h5")) {
                    tests.add(DynamicTest.dynamicTest(f + "." + from + " -> ." + to, () -> {
                        Model src = read(Golden.root().resolve("fixtures/keras/" + f + "." + from));
                        assertTrue(maskedRecurrent(src) > 0, "the fixture masks a recurrent layer");
                        Path out = dir.resolve(f + "_" + from + "." + to);
                        Model back = IrModelsTest.roundTrip(src, out);
                        assertEquals(maskedRecurrent(src), maskedRecurrent(back), "every masked recurrent layer is masked when read back");
                        sameOutputs(src, back, maskedInputs(src), out.getFileName().toString());
                    }));
                }
            }
        }
        return tests.stream();
    }

    /**
     * A masked Bidirectional called with initial states and returning no sequence: Keras's last
     * outputs are zero for a row masked throughout while its states are the initial ones, so the
     * reader takes them from the sequence, which no Keras layer written by lstmx can do: refused.
     */
    @Test
    void theLastOutputsOfAMaskedBidirectionalWithInitialStatesAreRefused() {
        Model src = read(Golden.root().resolve("fixtures/keras/initial_state_bidi_masked.keras"));
        Path out = dir.resolve("bidi.keras");
        LstmxException e = assertThrows(LstmxException.class, () -> new KerasWriter().write(src, out, WriteOptions.DEFAULT));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertTrue(e.getMessage().contains("Bidirectional layer's sequence"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void tokenMasksAreWrittenAsEmbeddingMaskZeroAndFeatureMasksAsMasking() throws Exception {
        Path out = dir.resolve("m.keras");
        new KerasWriter().write(read(Golden.root().resolve("fixtures/keras/mask_zero_lstm.h5")), out, WriteOptions.DEFAULT);
        String cfg = config(out);
        assertTrue(cfg.contains("\"mask_zero\":true"), cfg);
        Path out2 = dir.resolve("g.keras");
        new KerasWriter().write(read(Golden.root().resolve("fixtures/keras/masking_gru_backwards.h5")), out2, WriteOptions.DEFAULT);
        String cfg2 = config(out2);
        assertTrue(cfg2.contains("\"class_name\":\"Masking\"") && cfg2.contains("\"mask_value\":0.0"), cfg2);
    }

    private static String config(Path keras) throws Exception {
        try (ZipFile z = new ZipFile(keras.toFile())) {
            JsonObject o = JsonParser.parseString(new String(z.getInputStream(z.getEntry("config.json")).readAllBytes(),
                    StandardCharsets.UTF_8)).getAsJsonObject();
            return o.toString();
        }
    }

    @Test
    void irModelsWithMasksAreWrittenForKerasOrRefusedPrecisely() {
        // a batch-major forward LSTM, a GRU masked over features, an RNN: Keras expresses them all
        for (Samples.Sample s : List.of(
                Samples.masked("token-masked LSTM", "lstm", Direction.FORWARD, Layout.BATCH_MAJOR, true, false),
                Samples.masked("feature-masked GRU", "gru", Direction.FORWARD, Layout.BATCH_MAJOR, false, false),
                Samples.masked("token-masked RNN", "rnn", Direction.FORWARD, Layout.BATCH_MAJOR, true, false),
                Samples.masked("token-masked bidirectional LSTM, zeros at masked steps", "lstm", Direction.BIDIRECTIONAL,
                        Layout.BATCH_MAJOR, true, true))) {
            for (String ext : List.of("keras", "h5")) {
                Path out = dir.resolve(s.model().name() + s.description().length() + "." + ext);
                Model back = IrModelsTest.roundTrip(s.model(), out);
                assertTrue(maskedRecurrent(back) > 0, s + ": masked when read back");
                sameOutputs(s.model(), back, s.inputs(), s + " ." + ext);
            }
        }
        // Keras's Bidirectional outputs zeros at masked steps of returned sequences: repeating is not expressible
        Samples.Sample repeat = Samples.masked("bidirectional repeating", "lstm", Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, true, false);
        Path out = dir.resolve("repeat.keras");
        LstmxException e = assertThrows(LstmxException.class, () -> new KerasWriter().write(repeat.model(), out, WriteOptions.DEFAULT));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertTrue(e.getMessage().contains("'lstm'") && e.getMessage().contains("zero_output_for_mask"), e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
    }
}
