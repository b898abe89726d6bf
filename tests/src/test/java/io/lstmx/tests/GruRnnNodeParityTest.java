package io.lstmx.tests;

import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Node-level parity of the ONNX GRU and RNN: for each attribute and optional input (see
 * {@link #all()}), lstmx (ONNX importer + native runtime) must give onnxruntime's numbers.
 */
class GruRnnNodeParityTest {
    @TempDir
    Path dir;

    /** GRU and RNN node cases: directions, layouts, sequence lengths, initial_h, clip, linear_before_reset, activations. */
    static List<LstmNodeCase> all() {
        List<LstmNodeCase> l = new ArrayList<>();
        for (String op : List.of("GRU", "RNN")) {
            String p = op.toLowerCase(java.util.Locale.ROOT) + "_";
            boolean gru = op.equals("GRU");
            LstmNodeCase c;

            c = new LstmNodeCase(p + "forward_no_bias_opset7", op);
            c.opset = 7;
            c.bias = false;
            l.add(c);

            c = new LstmNodeCase(p + "forward_fixed_dims", op);
            c.dynamicDims = false;
            if (gru) {
                c.linearBeforeReset = 1L;
            }
            l.add(c);

            c = new LstmNodeCase(p + "reverse_initial_h_opset22", op);
            c.opset = 22;
            c.direction = "reverse";
            c.initialH = true;
            l.add(c);

            c = new LstmNodeCase(p + "bidirectional_initial_h", op);
            c.direction = "bidirectional";
            c.initialH = true;
            if (gru) {
                c.linearBeforeReset = 1L;
            }
            l.add(c);

            c = new LstmNodeCase(p + "sequence_lens", op);
            c.t = 5;
            c.seqLens = new int[] {5, 2, 1};
            c.initialH = true;
            l.add(c);

            c = new LstmNodeCase(p + "bidirectional_sequence_lens_opset7", op);
            c.opset = 7;
            c.direction = "bidirectional";
            c.t = 5;
            c.seqLens = new int[] {3, 5, 1};
            l.add(c);

            c = new LstmNodeCase(p + "batch_major_sequence_lens_initial_h", op);
            c.layout = 1;
            c.direction = "bidirectional";
            c.t = 5;
            c.seqLens = new int[] {2, 5, 4};
            c.initialH = true;
            if (gru) {
                c.linearBeforeReset = 1L;
            }
            l.add(c);

            c = new LstmNodeCase(p + "constant_states_clip", op);
            c.constantStates = true;
            c.initialH = true;
            c.seqLens = new int[] {4, 1, 3};
            c.clip = 0.4f;
            l.add(c);

            c = new LstmNodeCase(p + "y_h_only", op);
            c.y = false;
            l.add(c);

            c = new LstmNodeCase(p + "y_only_reverse", op);
            c.yh = false;
            c.direction = "reverse";
            l.add(c);
        }
        LstmNodeCase c;

        c = new LstmNodeCase("gru_activations_alpha_beta", "GRU");
        c.activations = List.of("HardSigmoid", "LeakyRelu");
        c.alphas = List.of(0.3f, 0.05f);
        c.betas = List.of(0.6f);
        l.add(c);

        c = new LstmNodeCase("gru_bidirectional_activations_lbr0", "GRU");
        c.direction = "bidirectional";
        c.linearBeforeReset = 0L;
        c.activations = List.of("Sigmoid", "Softsign", "HardSigmoid", "Elu");
        c.alphas = List.of(0.25f, 0.7f);
        c.betas = List.of(0.45f);
        l.add(c);

        c = new LstmNodeCase("gru_clip_lbr1", "GRU");
        c.clip = 0.4f;
        c.linearBeforeReset = 1L;
        l.add(c);
        c = new LstmNodeCase("gru_clip_lbr0", "GRU");
        c.clip = 0.4f;
        l.add(c);
        c = new LstmNodeCase("gru_clip_wide", "GRU");
        c.clip = 5f;
        l.add(c);

        c = new LstmNodeCase("rnn_relu_bidirectional", "RNN");
        c.direction = "bidirectional";
        c.activations = List.of("Relu", "Relu");
        l.add(c);

        c = new LstmNodeCase("rnn_affine_leakyrelu", "RNN");
        c.direction = "bidirectional";
        c.activations = List.of("Affine", "LeakyRelu");
        c.alphas = List.of(0.8f, 0.2f);
        c.betas = List.of(0.1f);
        l.add(c);

        c = new LstmNodeCase("rnn_sigmoid_opset14", "RNN");
        c.activations = List.of("Sigmoid");
        c.initialH = true;
        l.add(c);
        return l.stream().map(LstmNodeCase::done).toList();
    }

    @TestFactory
    Stream<DynamicTest> nativeRuntimeMatchesOnnxruntime() {
        return all().stream().map(c -> DynamicTest.dynamicTest(c.name, () -> {
            Path file = c.write(dir);
            Map<String, Tensor> expected = c.expected(dir);
            assertEquals(c.outputNames(), expected.keySet().stream().toList(), c.name + ": onnxruntime outputs");

            Model model = OnnxImporter.load(file, java.util.Map.of());
            Class<?> kind = c.op.equals("GRU") ? Layer.Gru.class : Layer.Rnn.class;
            assertEquals(1, model.layers().stream().filter(kind::isInstance).count(), c.name + ": one IR " + c.op + " layer");
            assertEquals(c.outputNames(), model.outputNames(), c.name + ": imported outputs");
            Map<String, Tensor> actual = NativeRuntime.compile(model).run(c.inputs());
            for (String out : c.outputNames()) {
                Tensor a = actual.get(out);
                assertNotNull(a, c.name + ": native runtime returned no '" + out + "', only " + actual.keySet());
                TestFiles.assertClose(a, expected.get(out), c.name + " output " + out + " (native runtime vs onnxruntime)");
            }
        }));
    }
}
