package io.lstmx.exporters.pytorch;

import io.lstmx.ir.samples.Npy;
import io.lstmx.ir.samples.Golden;

import io.lstmx.ir.samples.Samples;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.importers.onnx.OnnxReader;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** TorchScript archives written by lstmx, run in libtorch 2.7 (DJL), agree with the native runtime. */
class TorchScriptLibtorchTest {
    @TempDir
    Path dir;

    /** IR models written directly: every recurrent configuration torch.lstm / gru / rnn_* takes, and what surrounds them. */
    static List<Samples.Sample> irSamples() {
        List<Samples.Sample> l = new ArrayList<>();
        for (Direction d : Direction.values()) {
            for (Layout lay : Layout.values()) {
                l.add(Samples.lstm("an LSTM, " + d + ", " + lay + ", with initial states", LstmSpec.standard(3, 4, d, lay), true, false));
                l.add(Samples.lstm("an LSTM, " + d + ", " + lay + ", zero initial states", LstmSpec.standard(3, 4, d, lay), false, false));
            }
            l.add(Samples.lstm("a projected LSTM, " + d, new LstmSpec(3, 5, 2, d, Layout.BATCH_MAJOR, null, false,
                    Samples.acts(d.count(), ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH)), true, false));
            l.add(Samples.gru("a GRU, " + d + ", batch-major", new RecurrentSpec(3, 4, d, Layout.BATCH_MAJOR, null, true,
                    Samples.acts(d.count(), ActivationFn.SIGMOID, ActivationFn.TANH)), true));
            l.add(Samples.gru("a GRU, " + d + ", time-major, zero state", new RecurrentSpec(3, 4, d, Layout.TIME_MAJOR, null, true,
                    Samples.acts(d.count(), ActivationFn.SIGMOID, ActivationFn.TANH)), false));
            l.add(Samples.rnn("a tanh RNN, " + d, new RecurrentSpec(3, 4, d, Layout.TIME_MAJOR, null, false,
                    Samples.acts(d.count(), ActivationFn.TANH)), true));
            l.add(Samples.rnn("a relu RNN, " + d + ", batch-major", new RecurrentSpec(3, 4, d, Layout.BATCH_MAJOR, null, false,
                    Samples.acts(d.count(), ActivationFn.RELU)), false));
        }
        l.add(Samples.classifier("an LSTM classifier, bidirectional, time-major", Direction.BIDIRECTIONAL, Layout.TIME_MAJOR));
        l.add(Samples.classifier("an LSTM classifier, bidirectional, batch-major", Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR));
        l.add(Samples.classifier("an LSTM classifier, forward, batch-major", Direction.FORWARD, Layout.BATCH_MAJOR));
        return l;
    }

    @TestFactory
    Stream<DynamicTest> irModelsWrittenAsTorchScriptRunInLibtorchAsInTheNativeRuntime() {
        return irSamples().stream().map(s -> DynamicTest.dynamicTest(s.description(), () -> check(dir, s.model(), s.inputs())));
    }

    /**
     * LSTMs, GRUs and RNNs reading a per-step mask (Keras's Embedding mask_zero and Masking), every
     * direction and layout, masked steps repeating the previous output or zero: written as a
     * TorchScript loop, run in libtorch as in the native runtime.
     */
    @TestFactory
    Stream<DynamicTest> maskedRecurrentLayersWrittenAsTorchScriptRunInLibtorchAsInTheNativeRuntime() {
        List<Samples.Sample> l = new ArrayList<>();
        for (Direction d : Direction.values()) {
            for (Layout lay : Layout.values()) {
                l.add(Samples.masked("a token-masked LSTM, " + d + ", " + lay, "lstm", d, lay, true, false));
                l.add(Samples.masked("a feature-masked LSTM, " + d + ", " + lay + ", masked outputs zero", "lstm", d, lay, false, true));
                l.add(Samples.masked("a token-masked GRU, " + d + ", " + lay, "gru", d, lay, true, false));
                l.add(Samples.masked("a feature-masked RNN, " + d + ", " + lay + ", masked outputs zero", "rnn", d, lay, false, true));
            }
        }
        return l.stream().map(s -> DynamicTest.dynamicTest(s.description(), () -> check(dir, s.model(), s.inputs())));
    }

    /** ONNX files exported by PyTorch 1.13 (fixtures/onnx/pytorch), read by the ONNX importer: ONNX → TorchScript. */
    @TestFactory
    Stream<DynamicTest> onnxFilesExportedByPytorchConvertedToTorchScriptRunInLibtorchAsInTheNativeRuntime() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        try (Stream<Path> cases = Files.list(Golden.root().resolve("fixtures/onnx/pytorch"))) {
            for (Path c : cases.sorted().toList()) {
                Path onnx = c.resolve("model.onnx");
                if (!Files.exists(onnx)) {
                    continue;
                }
                tests.add(DynamicTest.dynamicTest(c.getFileName().toString(), () -> {
                    Model m = new OnnxReader().read(onnx, ReadOptions.DEFAULT);
                    check(dir, m, Npy.inputs(c, m));
                }));
            }
        }
        return tests.stream();
    }

    static void check(Path dir, Model m, Map<String, Tensor> inputs) throws Exception {
        Path pt = Files.createTempDirectory(dir, "ts").resolve("model.pt");
        new TorchScriptWriter().write(m, pt, WriteOptions.DEFAULT);
        Map<String, Tensor> expected = NativeRuntime.compile(m).run(inputs);
        List<Tensor> in = new ArrayList<>();
        for (String name : m.inputNames()) {
            in.add(inputs.get(name));
        }
        List<Tensor> got = Libtorch.run(pt, in);
        assertEquals(m.outputNames().size(), got.size(), "outputs");
        for (int k = 0; k < got.size(); k++) {
            String o = m.outputNames().get(k);
            Golden.close(expected.get(o), got.get(k), "output " + o + " (libtorch vs native runtime)");
        }
    }
}
