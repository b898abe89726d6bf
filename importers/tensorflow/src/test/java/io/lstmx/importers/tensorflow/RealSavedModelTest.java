package io.lstmx.importers.tensorflow;

import io.lstmx.formats.ReadOptions;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.SavedModelBundle;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The real Keras SavedModels in ../shared (TF 2.9 LSTM and GRU regressors) against TensorFlow running them. */
class RealSavedModelTest {
    static final Path ROOT = Path.of("../../../shared/real-models/tensorflow/iteam1__predict-series-data-with-RNN");

    @ParameterizedTest
    @ValueSource(strings = {"lstm_model/lstm_model", "gru_model/gru_model"})
    void matchesTensorFlow(String rel) {
        Path dir = ROOT.resolve(rel);
        Assumptions.assumeTrue(Files.isDirectory(dir), "no " + dir);
        Model m = new SavedModelReader().read(dir, ReadOptions.DEFAULT);
        assertEquals(1, m.inputs().size());
        assertEquals(1, m.outputs().size());
        long recurrent = m.layers().stream().filter(l -> l instanceof Layer.Recurrent).count();
        assertEquals(1, recurrent, "one recurrent layer: " + m.layers());
        String in = m.inputs().get(0).name();
        try (SavedModelBundle b = SavedModelBundle.load(dir.toString(), "serve")) {
            for (int batch : new int[] {1, 3}) {
                int[] shape = {batch, 5, 1};
                float[] x = TfReference.random(batch, batch * 5);
                float[] tf = TfReference.run(b.session(), "serving_default_" + in + ":0", "StatefulPartitionedCall:0", shape, x, new int[] {batch, 1});
                TfReference.close(tf, TfReference.lstmx(m, in, shape, x));
            }
        }
    }
}
