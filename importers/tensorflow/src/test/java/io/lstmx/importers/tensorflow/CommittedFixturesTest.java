package io.lstmx.importers.tensorflow;

import io.lstmx.formats.ReadOptions;
import io.lstmx.ir.Model;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The graphs TensorFlow made (fixtures/tensorflow, written by {@link TfMadeGraphsTest} and {@link TfCellFormsTest} with
 * -Dlstmx.tf.fixtures) against the outputs TensorFlow gave, stored beside them: no TensorFlow needed.
 */
class CommittedFixturesTest {
    static final Path ROOT = Path.of("../../fixtures/tensorflow");

    @ParameterizedTest
    @ValueSource(strings = {"block_lstm/model.pb", "block_lstm_v2/model.pb", "tf1_cell_unrolled/model.pb", "block_lstm_savedmodel/saved_model",
            "lstm_block_cell_unrolled/model.pb", "lstm_block_cell_while/model.pb", "tf1_cell_while/model.pb", "tf1_cell_peephole_clip_while/model.pb",
            "tf1_cell_peephole_clip_unrolled/model.pb", "tensorlist_while/model.pb", "layer_norm_spelt_out/model.pb"})
    void matchesStoredTensorFlowOutputs(String rel) throws IOException {
        Path model = ROOT.resolve(rel);
        Path dir = model.getParent();
        Model m = rel.endsWith(".pb") ? new GraphDefReader().read(model, ReadOptions.DEFAULT) : new SavedModelReader().read(model, ReadOptions.DEFAULT);
        int[][] shape = new int[1][];
        float[] in = npy(dir.resolve("input.npy"), shape);
        float[] expected = npy(dir.resolve("expected.npy"), new int[1][]);
        TfReference.close(expected, TfReference.lstmx(m, m.inputs().get(0).name(), shape[0], in));
    }

    /** A little-endian float32 .npy as written by TfMadeGraphsTest. */
    static float[] npy(Path p, int[][] shape) throws IOException {
        byte[] b = Files.readAllBytes(p);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int hl = bb.getShort(8) & 0xffff;
        String h = new String(b, 10, hl, java.nio.charset.StandardCharsets.US_ASCII);
        String dims = h.substring(h.indexOf("'shape': (") + 10, h.indexOf(')'));
        shape[0] = Arrays.stream(dims.split(",")).map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
        bb.position(10 + hl);
        float[] f = new float[(b.length - 10 - hl) / 4];
        bb.asFloatBuffer().get(f);
        return f;
    }
}
