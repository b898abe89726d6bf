package io.lstmx.exporters.keras;

import io.lstmx.ir.samples.Golden;

import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Recurrent layers called with initial states (Keras's {@code initial_state}): the Keras fixtures
 * (an LSTM on state inputs, an encoder whose states start a decoder, a masked GRU) written as
 * .keras and .h5 by lstmx keep their states as initial_state keywords and every output.
 */
class InitialStatesTest {
    @TempDir
    Path dir;

    static Map<String, Tensor> inputs(Model m) {
        Random r = new Random(9);
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (var v : m.inputs()) {
            int[] s = new int[v.shape().rank()];
            for (int i = 0; i < s.length; i++) {
                s[i] = v.shape().dim(i) instanceof io.lstmx.ir.Dim.Fixed f ? (int) f.size() : 3;
            }
            float[] d = new float[Tensor.elementCount(s)];
            for (int i = 0; i < d.length; i++) {
                d[i] = (float) (r.nextDouble() * 2 - 1);
            }
            in.put(v.name(), Tensor.ofFloats(s, d));
        }
        return in;
    }

    static long withStates(Model m) {
        return m.layers().stream().filter(l -> l instanceof Layer.Recurrent rec && rec.initialH() != null).count();
    }

    @TestFactory
    Stream<DynamicTest> kerasFilesCallingLayersWithInitialStatesAreWrittenKeepingEveryOutput() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String f : List.of("initial_state_lstm", "initial_state_seq2seq", "initial_state_gru")) {
            for (String from : List.of("h5", "keras")) {
                for (String to : List.of("keras", "h5")) {
                    tests.add(DynamicTest.dynamicTest(f + "." + from + " -> ." + to, () -> {
                        Model src = MaskedModelsTest.read(Golden.root().resolve("fixtures/keras/" + f + "." + from));
                        assertTrue(withStates(src) > 0, "the fixture has initial states");
                        Path out = dir.resolve(f + "_" + from + "." + to);
                        Model back = IrModelsTest.roundTrip(src, out);
                        assertEquals(withStates(src), withStates(back), "initial states kept");
                        Map<String, Tensor> in = inputs(src);
                        Map<String, Tensor> expected = NativeRuntime.compile(src).run(in);
                        Map<String, Tensor> bin = new LinkedHashMap<>();
                        for (int k = 0; k < src.inputs().size(); k++) {
                            bin.put(back.inputs().get(k).name(), in.get(src.inputs().get(k).name()));
                        }
                        Map<String, Tensor> got = NativeRuntime.compile(back).run(bin);
                        for (int k = 0; k < src.outputs().size(); k++) {
                            Golden.close(expected.get(src.outputs().get(k).name()), got.get(back.outputs().get(k).name()), out + " output " + k);
                        }
                    }));
                }
            }
        }
        return tests.stream();
    }

    @Test
    void initialStatesAreWrittenAsTheInitialStateKeyword() throws Exception {
        Path out = dir.resolve("s.keras");
        new KerasWriter().write(MaskedModelsTest.read(Golden.root().resolve("fixtures/keras/initial_state_seq2seq.h5")), out, WriteOptions.DEFAULT);
        try (ZipFile z = new ZipFile(out.toFile())) {
            String cfg = new String(z.getInputStream(z.getEntry("config.json")).readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(cfg.contains("\"initial_state\":[{\"class_name\":\"__keras_tensor__\""), cfg);
            assertTrue(cfg.contains("\"class_name\":\"Functional\""), cfg);
        }
    }
}
