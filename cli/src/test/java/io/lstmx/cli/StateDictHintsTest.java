package io.lstmx.cli;

import io.lstmx.api.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --batch-first and --last-step on the commands that read models, with a state_dict PyTorch made
 * (fixtures/pytorch/embedding_classifier: Embedding -> nn.LSTM(batch_first=True) -> Dropout ->
 * Linear on out[:, -1, :], and PyTorch's output for input_0.npy).
 */
class StateDictHintsTest {
    @TempDir
    Path dir;

    private static Path fixture() {
        return Cli.root().resolve("fixtures/pytorch/embedding_classifier");
    }

    @Test
    void inspectSaysWhatItInferredAndWhichOptionsWouldChangeIt() {
        String out = Cli.run("inspect", fixture().resolve("state_dict.pt")).expect(0).out();
        assertTrue(out.contains("format:    pytorch-state-dict"), out);
        assertTrue(out.contains("inferred: embedding: Embedding(30, 8) -> lstm: LSTM(8, 16) -> fc: Linear(16, 4)"), out);
        assertTrue(out.contains("--batch-first would make it batch-major") && out.contains("--last-step would apply it"), out);
        String hinted = Cli.run("inspect", fixture().resolve("state_dict.pt"), "--batch-first", "--last-step").expect(0).out();
        assertTrue(hinted.contains("[last step]") && hinted.contains("x  int64  [batch, time]"), hinted);
        assertTrue(hinted.contains("output  float32  [batch, 4]"), hinted);
    }

    @Test
    void runWithTheHintsGivesPytorchsOutput() {
        Path outDir = dir.resolve("out");
        Cli.run("run", fixture().resolve("state_dict.pt"), fixture().resolve("input_0.npy"), "--batch-first", "--last-step",
                "--output-dir", outDir).expect(0);
        Cli.assertClose(Npy.read(outDir.resolve("output_0.npy")), Npy.read(fixture().resolve("output_0.npy")), "run --batch-first --last-step");
    }

    @Test
    void convertWithTheHintsWritesAnOnnxFileThatOnnxruntimeRunsAsPytorchDid() {
        Path onnx = dir.resolve("classifier.onnx");
        Cli.run("convert", fixture().resolve("state_dict.pt"), onnx, "--batch-first", "--last-step").expect(0);
        Cli.run("verify", onnx, "--input", "x=" + fixture().resolve("input_0.npy")).expect(0);
        Path outDir = dir.resolve("onnx-out");
        Cli.run("run", onnx, fixture().resolve("input_0.npy"), "--output-dir", outDir).expect(0);
        Cli.assertClose(Npy.read(outDir.resolve("output_0.npy")), Npy.read(fixture().resolve("output_0.npy")), "the converted file");
    }

    @Test
    void verifyAcceptsTheHintsAndChecksTheInferredNetworkInLibtorch() {
        String out = Cli.run("verify", fixture().resolve("state_dict.pt"), "--batch-first", "--last-step", "-q").expect(0).out();
        assertTrue(out.contains("lstmx vs libtorch") && out.contains("torchscript conversion") && out.contains("PASS"), out);
    }
}
