package io.lstmx.exporters.pytorch;

import io.lstmx.ir.samples.Npy;
import io.lstmx.ir.samples.Golden;

import io.lstmx.ir.samples.Samples;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.importers.onnx.OnnxReader;
import io.lstmx.importers.pytorch.StateDictReader;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Consecutive IR recurrent layers that form an nn.LSTM / GRU / RNN stack (as the importers write a
 * num_layers > 1 module) are written as one multi-layer call / module, so that h_n and c_n come out
 * stacked and a state_dict has PyTorch's keys; anything else stays one call per layer.
 */
class StackTest {
    @TempDir
    Path dir;

    /** Calls of torch.lstm / gru / rnn_* in the TorchScript code of {@code m}. */
    static long calls(Model m) {
        TorchCode c = TorchCode.generate(m, TorchCode.Dialect.TORCHSCRIPT);
        return c.body.stream().filter(l -> l.matches(".* = torch\\.(lstm|gru|rnn_tanh|rnn_relu)\\(.*")).count();
    }

    @TestFactory
    Stream<DynamicTest> pytorchStacksReadFromStateDictsAreWrittenAsOneModuleWithPytorchsKeys() {
        return Stream.of(new Object[] {"lstm_3layer_batch_first", 3, 1}, new Object[] {"lstm_bidirectional_2layer", 2, 2})
                .map(o -> DynamicTest.dynamicTest((String) o[0], () -> {
                    Path c = Golden.root().resolve("fixtures/pytorch/" + o[0]);
                    Model m = new StateDictReader().read(c.resolve("state_dict.pt"), StateDictRoundTripTest.hints(c.resolve("case.json")));
                    int layers = (int) o[1];
                    int dirs = (int) o[2];
                    TorchCode py = TorchCode.generate(m, TorchCode.Dialect.PYTHON);
                    Set<String> expected = new LinkedHashSet<>();
                    for (int k = 0; k < layers; k++) {
                        for (int d = 0; d < dirs; d++) {
                            for (String w : List.of("weight_ih", "weight_hh", "bias_ih", "bias_hh")) {
                                expected.add("lstm." + w + "_l" + k + (d == 1 ? "_reverse" : ""));
                            }
                        }
                    }
                    assertEquals(expected, py.paramMap().keySet());
                    assertEquals(1, py.submodules.size());
                    assertTrue(py.submodules.get(0).constructor().contains("num_layers=" + layers), py.submodules.get(0).constructor());
                    assertEquals(1, calls(m));
                    TorchScriptLibtorchTest.check(dir, m, Npy.inputs(c, m));
                }));
    }

    @TestFactory
    Stream<DynamicTest> pytorchStacksReadFromOnnxAreWrittenAsOneCall() {
        return Stream.of("stacked_2layer", "stacked_bidirectional", "dropout_stacked").map(name -> DynamicTest.dynamicTest(name, () -> {
            Path c = Golden.root().resolve("fixtures/onnx/pytorch/" + name);
            Model m = new OnnxReader().read(c.resolve("model.onnx"), ReadOptions.DEFAULT);
            assertEquals(1, calls(m), String.join("\n", TorchCode.generate(m, TorchCode.Dialect.TORCHSCRIPT).body));
            TorchScriptLibtorchTest.check(dir, m, Npy.inputs(c, m));
        }));
    }

    /**
     * n layers of {@code kind} ("lstm", "gru", "rnn") named stack.l0 ... joined as the PyTorch
     * importer joins them; layer k has initial states when {@code states[k]}; outputs: the last
     * layer's sequence ([T, B, D*H] / [B, T, D*H]), then each layer's Y_h (and Y_c).
     */
    static Samples.Sample stack(String description, String kind, Direction dir, Layout layout, int n, boolean[] states, int proj, boolean yAlsoOutput) {
        int in = 3;
        int h = 4;
        int out = proj > 0 ? proj : h;
        int d = dir.count();
        int b = 2;
        int t = 5;
        boolean bm = layout == Layout.BATCH_MAJOR;
        List<Layer> layers = new ArrayList<>();
        List<ValueInfo> inputs = new ArrayList<>();
        Map<String, Tensor> values = new LinkedHashMap<>();
        int[] xs = bm ? new int[] {b, t, in} : new int[] {t, b, in};
        inputs.add(Samples.f32("x", xs));
        values.put("x", Samples.random(xs));
        List<String> outs = new ArrayList<>();
        List<String> stateOuts = new ArrayList<>();
        String cur = "x";
        int size = in;
        for (int k = 0; k < n; k++) {
            String name = "stack.l" + k;
            String h0 = null;
            String c0 = null;
            if (states[k]) {
                int[] hs = bm ? new int[] {b, d, out} : new int[] {d, b, out};
                h0 = "h0_" + k;
                inputs.add(Samples.f32(h0, hs));
                values.put(h0, Samples.random(hs));
                if (kind.equals("lstm")) {
                    int[] cs = bm ? new int[] {b, d, h} : new int[] {d, b, h};
                    c0 = "c0_" + k;
                    inputs.add(Samples.f32(c0, cs));
                    values.put(c0, Samples.random(cs));
                }
            }
            String y = name + "/Y";
            String yh = name + "/Y_h";
            String yc = kind.equals("lstm") ? name + "/Y_c" : null;
            switch (kind) {
                case "lstm" -> {
                    List<LstmWeights> w = new ArrayList<>();
                    for (int q = 0; q < d; q++) {
                        w.add(Samples.lstmWeights(size, h, proj, false));
                    }
                    layers.add(new Layer.Lstm(name, new RecurrentPorts(cur, null, h0, c0, y, yh, yc),
                            new LstmSpec(size, h, proj, dir, layout, null, false, Samples.acts(d, ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH)),
                            w, GateOrder.PYTORCH));
                }
                case "gru" -> {
                    List<RecurrentWeights> w = new ArrayList<>();
                    for (int q = 0; q < d; q++) {
                        w.add(Samples.recurrentWeights(3, size, h));
                    }
                    layers.add(new Layer.Gru(name, RecurrentPorts.withoutCell(cur, null, h0, y, yh),
                            new RecurrentSpec(size, h, dir, layout, null, true, Samples.acts(d, ActivationFn.SIGMOID, ActivationFn.TANH)), w, GateOrder.Gru.PYTORCH));
                }
                default -> {
                    List<RecurrentWeights> w = new ArrayList<>();
                    for (int q = 0; q < d; q++) {
                        w.add(Samples.recurrentWeights(1, size, h));
                    }
                    layers.add(new Layer.Rnn(name, RecurrentPorts.withoutCell(cur, null, h0, y, yh),
                            new RecurrentSpec(size, h, dir, layout, null, false, Samples.acts(d, ActivationFn.RELU)), w));
                }
            }
            String joined = k == n - 1 ? "y" : name + "/out";
            if (d == 1) {
                layers.add(new Layer.Squeeze(name + ".squeeze", y, joined, List.of(bm ? 2 : 1)));
            } else {
                String from = y;
                if (!bm) {
                    from = name + "/Y_tbdh";
                    layers.add(new Layer.Transpose(name + ".transpose", y, from, List.of(0, 2, 1, 3)));
                }
                layers.add(new Layer.Reshape(name + ".concat_directions", from, joined, List.of(0L, 0L, -1L)));
            }
            if (yAlsoOutput && k == 0) {
                outs.add(y);
            }
            stateOuts.add(yh);
            if (yc != null) {
                stateOuts.add(yc);
            }
            cur = joined;
            size = d * out;
        }
        outs.add("y");
        outs.addAll(stateOuts);
        return new Samples.Sample(description, Samples.model("stack", inputs, outs, layers.toArray(new Layer[0])), values);
    }

    static List<Samples.Sample> fused() {
        return List.of(
                stack("2 LSTM layers, forward, time-major, zero states", "lstm", Direction.FORWARD, Layout.TIME_MAJOR, 2, new boolean[] {false, false}, 0, false),
                stack("2 LSTM layers, reverse, time-major, states for layer 1 only", "lstm", Direction.REVERSE, Layout.TIME_MAJOR, 2, new boolean[] {false, true}, 0, false),
                stack("3 LSTM layers, bidirectional, batch-major, every state", "lstm", Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 3, new boolean[] {true, true, true}, 0, false),
                stack("3 LSTM layers, bidirectional, time-major, states for layer 0", "lstm", Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 3, new boolean[] {true, false, false}, 0, false),
                stack("2 projected LSTM layers, forward, batch-major", "lstm", Direction.FORWARD, Layout.BATCH_MAJOR, 2, new boolean[] {true, true}, 2, false),
                stack("2 GRU layers, bidirectional, time-major", "gru", Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 2, new boolean[] {true, false}, 0, false),
                stack("3 relu RNN layers, reverse, batch-major", "rnn", Direction.REVERSE, Layout.BATCH_MAJOR, 3, new boolean[] {false, true, false}, 0, false));
    }

    @TestFactory
    Stream<DynamicTest> irStacksAreOneCallAndRunInLibtorchAsInTheNativeRuntime() {
        return fused().stream().map(s -> DynamicTest.dynamicTest(s.description(), () -> {
            assertEquals(1, calls(s.model()));
            TorchScriptLibtorchTest.check(dir, s.model(), s.inputs());
            Path pth = Files.createTempDirectory(dir, "sd").resolve("model.pth");
            new StateDictWriter().write(s.model(), pth, WriteOptions.DEFAULT);
            assertTrue(Files.readString(pth.resolveSibling("model.py")).contains("num_layers=" + (s.model().layers().stream()
                    .filter(l -> l instanceof Layer.Recurrent).count())));
        }));
    }

    @Test
    void aStackWhoseInnerSequenceIsAlsoAnOutputStaysOneCallPerLayer() throws Exception {
        Samples.Sample s = stack("", "lstm", Direction.FORWARD, Layout.TIME_MAJOR, 2, new boolean[] {true, true}, 0, true);
        assertEquals(2, calls(s.model()));
        TorchScriptLibtorchTest.check(dir, s.model(), s.inputs());
    }

    @Test
    void layersThatCannotStackStayOneCallPerLayer() throws Exception {
        // layer 1 has a peephole: written as a loop, layer 0 as torch.lstm
        Samples.Sample s = stack("", "lstm", Direction.FORWARD, Layout.BATCH_MAJOR, 2, new boolean[] {false, false}, 0, false);
        List<Layer> layers = new ArrayList<>(s.model().layers());
        Layer.Lstm l1 = (Layer.Lstm) layers.get(2);
        LstmWeights w = l1.weights().get(0);
        layers.set(2, new Layer.Lstm(l1.name(), l1.ports(), l1.spec(), List.of(new LstmWeights(w.w(), w.r(), w.wb(), w.rb(), Samples.random(12), null)),
                GateOrder.PYTORCH));
        Model m = new Model("m", s.model().info(), s.model().inputs(), s.model().outputs(), layers);
        assertEquals(1, calls(m));
        TorchScriptLibtorchTest.check(dir, m, s.inputs());
    }
}
