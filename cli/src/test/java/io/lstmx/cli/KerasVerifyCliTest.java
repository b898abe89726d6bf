package io.lstmx.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** verify on Keras files: TensorFlow is their framework, and a SavedModel says what ONNX cannot (Keras's masks). */
class KerasVerifyCliTest {
    /** A Keras file has no engine of its own: verify picks TensorFlow and runs lstmx's SavedModel conversion. */
    @Test
    void verifyOfAMaskedKerasFileChecksItInTensorFlowByDefault() {
        Path h5 = Cli.root().resolve("fixtures/keras/mask_zero_bidi.h5");
        Cli.Result r = Cli.run("verify", h5, "-q").expect(0);
        assertTrue(r.out().contains("lstmx vs tensorflow"), r.out());
        assertTrue(r.out().contains("tensorflow runs lstmx's savedmodel conversion of the model (it does not run keras-h5 files)"), r.out());
        assertTrue(r.out().contains("PASS"), r.out());
    }

    /** ONNX cannot say a per-step mask: converting a masked Keras model to ONNX is refused naming the layer, nothing written. */
    @Test
    void convertingAMaskedKerasModelToOnnxIsRefusedNamingTheLayerAndTheMask(@org.junit.jupiter.api.io.TempDir Path dir) {
        Path out = dir.resolve("m.onnx");
        Cli.Result r = Cli.run("convert", Cli.root().resolve("fixtures/keras/mask_zero_lstm.keras"), out).expect(3);
        assertTrue(r.err().contains("layer 'lstm' (LSTM) reads the per-step mask") && r.err().contains("sequence lengths only"), r.err());
        assertTrue(!java.nio.file.Files.exists(out), "nothing written");
    }
}
