package io.lstmx.exporters.pytorch;

import io.lstmx.ir.samples.Golden;

import io.lstmx.ir.samples.Samples;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 7: LSTMs nn.LSTM cannot express (peepholes, gate clip, cell clip, other activations,
 * coupled gates) are written as TorchScript loops over time steps that run in libtorch as in the
 * native runtime, and refused precisely by the state_dict writer; a forget bias is folded into
 * bias_ih for both.
 */
class LstmLoopTest {
    @TempDir
    Path dir;

    static List<ActivationFn> acts(Direction d, ActivationFn... perDirection) {
        return Samples.acts(d.count(), perDirection);
    }

    static LstmSpec spec(Direction d, Layout lay, int proj, Float clip, boolean inputForget, List<ActivationFn> acts) {
        return new LstmSpec(3, 4, proj, d, lay, clip, inputForget, acts);
    }

    static List<ActivationFn> defaults(Direction d) {
        return acts(d, ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH);
    }

    /** One sample per feature and combination; every one of them needs the loop except the forget-bias-only ones. */
    static List<Samples.Sample> samples() {
        List<Samples.Sample> l = new ArrayList<>();
        for (Direction d : Direction.values()) {
            for (Layout lay : Layout.values()) {
                for (boolean states : new boolean[] {true, false}) {
                    l.add(Samples.lstm("peepholes and a clip, " + d + ", " + lay + (states ? ", with initial states" : ", zero initial states"),
                            spec(d, lay, 0, 0.6f, false, defaults(d)), states, true));
                }
            }
        }
        l.add(Samples.lstm("peepholes", spec(Direction.FORWARD, Layout.TIME_MAJOR, 0, null, false, defaults(Direction.FORWARD)), true, true));
        l.add(Samples.lstm("a gate clip", spec(Direction.FORWARD, Layout.TIME_MAJOR, 0, 0.4f, false, defaults(Direction.FORWARD)), true, false));
        l.add(Samples.lstm("a cell clip, bidirectional", spec(Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 0, null, false,
                defaults(Direction.BIDIRECTIONAL)).withCellClip(0.3f), true, false));
        l.add(Samples.lstm("a cell clip with peepholes, reverse, batch-major", spec(Direction.REVERSE, Layout.BATCH_MAJOR, 0, null, false,
                defaults(Direction.REVERSE)).withCellClip(0.3f), true, true));
        l.add(Samples.lstm("coupled gates (input_forget)", spec(Direction.FORWARD, Layout.TIME_MAJOR, 0, null, true, defaults(Direction.FORWARD)), true, false));
        l.add(Samples.lstm("coupled gates with peepholes, bidirectional, batch-major", spec(Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 0, null, true,
                defaults(Direction.BIDIRECTIONAL)), true, true));
        for (ActivationFn.Kind k : ActivationFn.Kind.values()) {
            ActivationFn fn = ActivationFn.of(k, 0.3f, 0.6f);
            // the kind as f (gates), g and h; with sigmoid / tanh / tanh around it for bounded numbers
            l.add(Samples.lstm("activations " + fn + ", " + fn + ", " + fn, spec(Direction.FORWARD, Layout.TIME_MAJOR, 0, null, false,
                    List.of(fn, fn, fn)), true, false));
            l.add(Samples.lstm("activations sigmoid, " + fn + ", " + fn + ", bidirectional", spec(Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 0, null, false,
                    List.of(ActivationFn.SIGMOID, fn, fn, ActivationFn.of(ActivationFn.Kind.HARD_SIGMOID, 0.2f, 0.5f), ActivationFn.TANH, fn)), false, false));
        }
        l.add(Samples.lstm("a forget bias with peepholes", spec(Direction.FORWARD, Layout.TIME_MAJOR, 0, null, false,
                defaults(Direction.FORWARD)).withForgetBias(1f), true, true));
        l.add(Samples.lstm("a forget bias and a cell clip, bidirectional, batch-major", spec(Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 0, null, false,
                defaults(Direction.BIDIRECTIONAL)).withForgetBias(1f).withCellClip(0.5f), false, false));
        for (Direction d : Direction.values()) {
            l.add(Samples.lstm("a projection with peepholes and a clip, " + d + ", batch-major", spec(d, Layout.BATCH_MAJOR, 2, 0.5f, false,
                    defaults(d)), true, true));
        }
        l.add(Samples.lstm("a projection, a cell clip and a forget bias, time-major, zero states", spec(Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 3, null, false,
                defaults(Direction.BIDIRECTIONAL)).withForgetBias(0.75f).withCellClip(0.4f), false, false));
        return l;
    }

    /** LSTMs whose only feature beyond nn.LSTM is a forget bias: written as torch.lstm / nn.LSTM, the bias folded into bias_ih. */
    static List<Samples.Sample> forgetBiasOnly() {
        List<Samples.Sample> l = new ArrayList<>();
        l.add(Samples.lstm("a forget bias only, forward", LstmSpec.standard(3, 4, Direction.FORWARD, Layout.TIME_MAJOR).withForgetBias(1f), true, false));
        l.add(Samples.lstm("a forget bias only, bidirectional, batch-major", LstmSpec.standard(3, 4, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR)
                .withForgetBias(-0.5f), false, false));
        l.add(Samples.lstm("a forget bias only, projected, reverse", new LstmSpec(3, 5, 2, Direction.REVERSE, Layout.BATCH_MAJOR, null, false,
                defaults(Direction.REVERSE)).withForgetBias(1f), true, false));
        return l;
    }

    @TestFactory
    Stream<DynamicTest> lstmsBeyondNnLstmAreWrittenAsTorchScriptLoopsThatRunInLibtorchAsInTheNativeRuntime() {
        return samples().stream().map(s -> DynamicTest.dynamicTest(s.description(), () -> {
            TorchScriptLibtorchTest.check(dir, s.model(), s.inputs());
            String code = code(s.model());
            assertTrue(code.contains("for "), code);
            assertFalse(code.contains("torch.lstm("), code);
        }));
    }

    @TestFactory
    Stream<DynamicTest> aForgetBiasAloneIsFoldedIntoBiasIhAndWrittenAsTorchLstm() {
        return forgetBiasOnly().stream().map(s -> DynamicTest.dynamicTest(s.description(), () -> {
            TorchScriptLibtorchTest.check(dir, s.model(), s.inputs());
            String code = code(s.model());
            assertTrue(code.contains("torch.lstm("), code);
            assertFalse(code.contains("for "), code);
            Path pth = Files.createTempDirectory(dir, "sd").resolve("model.pth");
            new StateDictWriter().write(s.model(), pth, WriteOptions.DEFAULT);
            assertTrue(Files.exists(pth.resolveSibling("model.py")));
        }));
    }

    @Test
    void theLoopIsNeverUnrolledItsCodeDoesNotGrowWithTheNumberOfSteps() throws Exception {
        LstmSpec s = spec(Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 0, 0.5f, false, defaults(Direction.BIDIRECTIONAL));
        Model m = Samples.lstm("", s, true, true).model();
        String shortCode = code(withSteps(m, 2));
        String longCode = code(withSteps(m, 300));
        assertEquals(shortCode, longCode, "the code does not depend on T");
        long loops = shortCode.lines().filter(line -> line.trim().startsWith("for ")).count();
        assertEquals(2, loops, "one loop per direction:\n" + shortCode);
        assertTrue(shortCode.contains("in range(torch.size("), shortCode);
        assertTrue(shortCode.contains("annotate(List[Tensor], [])"), shortCode);
        assertTrue(shortCode.contains("torch.append("), shortCode);
        assertTrue(shortCode.contains("torch.stack("), shortCode);
        // the archive written for T = 2 runs T = 37 as the native runtime does
        Path pt = Files.createTempDirectory(dir, "t2").resolve("model.pt");
        new TorchScriptWriter().write(withSteps(m, 2), pt, WriteOptions.DEFAULT);
        Model m37 = withSteps(m, 37);
        Map<String, Tensor> in = new java.util.LinkedHashMap<>();
        in.put("x", Samples.random(37, 2, 3));
        in.put("h0", Samples.random(2, 2, 4));
        in.put("c0", Samples.random(2, 2, 4));
        Map<String, Tensor> expected = io.lstmx.runtime.NativeRuntime.compile(m37).run(in);
        List<Tensor> got = Libtorch.run(pt, new ArrayList<>(in.values()));
        for (int k = 0; k < got.size(); k++) {
            Golden.close(expected.get(m37.outputNames().get(k)), got.get(k), "output " + k);
        }
    }

    /** {@code m} with its x declared with {@code steps} time steps (time-major, batch 2, 3 features). */
    static Model withSteps(Model m, int steps) {
        List<ValueInfo> inputs = new ArrayList<>(m.inputs());
        inputs.set(0, Samples.f32("x", steps, 2, 3));
        return new Model(m.name(), m.info(), inputs, m.outputs(), m.layers());
    }

    @TestFactory
    Stream<DynamicTest> theStateDictWriterRefusesEachFeaturePreciselyPointingToTorchScript() {
        List<DynamicTest> tests = new ArrayList<>();
        Object[][] cases = {
                {"peephole weights", Samples.lstm("", LstmSpec.standard(3, 4, Direction.FORWARD, Layout.TIME_MAJOR), true, true)},
                {"a gate clip (0.4)", Samples.lstm("", spec(Direction.FORWARD, Layout.TIME_MAJOR, 0, 0.4f, false, defaults(Direction.FORWARD)), true, false)},
                {"a cell clip (0.3)", Samples.lstm("", LstmSpec.standard(3, 4, Direction.FORWARD, Layout.TIME_MAJOR).withCellClip(0.3f), true, false)},
                {"coupled input and forget gates (input_forget)", Samples.lstm("", spec(Direction.REVERSE, Layout.TIME_MAJOR, 0, null, true,
                        defaults(Direction.REVERSE)), true, false)},
                {"activations [RELU, TANH, TANH]", Samples.lstm("", spec(Direction.FORWARD, Layout.TIME_MAJOR, 0, null, false,
                        List.of(ActivationFn.RELU, ActivationFn.TANH, ActivationFn.TANH)), true, false)},
                {"activations [SIGMOID, TANH, TANH, SIGMOID, SCALED_TANH(alpha=1.0, beta=2.0), TANH]", Samples.lstm("",
                        spec(Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, 0, null, false, List.of(ActivationFn.SIGMOID, ActivationFn.TANH, ActivationFn.TANH,
                                ActivationFn.SIGMOID, ActivationFn.of(ActivationFn.Kind.SCALED_TANH, 1f, 2f), ActivationFn.TANH)), true, false)},
        };
        for (Object[] c : cases) {
            String feature = (String) c[0];
            Samples.Sample s = (Samples.Sample) c[1];
            tests.add(DynamicTest.dynamicTest(feature, () -> {
                Path folder = Files.createTempDirectory(dir, "sd");
                LstmxException e = assertThrows(LstmxException.class,
                        () -> new StateDictWriter().write(s.model(), folder.resolve("model.pth"), WriteOptions.DEFAULT));
                assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
                String msg = e.getMessage();
                assertTrue(msg.contains("layer 'lstm' (LSTM): " + feature), msg);
                assertTrue(msg.contains("cannot be written as pytorch-state-dict, as nn.LSTM cannot express it"), msg);
                assertTrue(msg.contains("--to torchscript"), msg);
                try (Stream<Path> left = Files.list(folder)) {
                    assertEquals(List.of(), left.toList(), "nothing left behind");
                }
            }));
        }
        return tests.stream();
    }

    @Test
    void sequenceLengthsAreRefusedByBothWriters() throws IOException {
        Samples.Sample s = Samples.lstm("", spec(Direction.FORWARD, Layout.TIME_MAJOR, 0, 0.5f, false, defaults(Direction.FORWARD)), false, true);
        Layer.Lstm l = (Layer.Lstm) s.model().layers().get(0);
        Layer.Lstm withLengths = new Layer.Lstm("lstm", new RecurrentPorts("x", "lens", null, null, "y", "yh", "yc"), l.spec(), l.weights(),
                GateOrder.PYTORCH);
        List<ValueInfo> inputs = new ArrayList<>(s.model().inputs());
        inputs.add(new ValueInfo("lens", io.lstmx.ir.DType.INT32, io.lstmx.ir.Shape.of(2)));
        Model m = new Model("m", s.model().info(), inputs, s.model().outputs(), List.of(withLengths));
        for (var w : List.of(new TorchScriptWriter(), new StateDictWriter())) {
            Path folder = Files.createTempDirectory(dir, "len");
            LstmxException e = assertThrows(LstmxException.class, () -> w.write(m, folder.resolve("model.pt"), WriteOptions.DEFAULT));
            assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("layer 'lstm' (LSTM): a sequence lengths input"), e.getMessage());
        }
    }

    /** The forward code of the TorchScript archive written for {@code m}. */
    String code(Model m) throws IOException {
        Path pt = Files.createTempDirectory(dir, "code").resolve("model.pt");
        new TorchScriptWriter().write(m, pt, WriteOptions.DEFAULT);
        try (ZipInputStream z = new ZipInputStream(Files.newInputStream(pt))) {
            for (ZipEntry e; (e = z.getNextEntry()) != null; ) {
                if (e.getName().endsWith("code/__torch__.py")) {
                    return new String(z.readAllBytes(), StandardCharsets.UTF_8);
                }
            }
        }
        throw new AssertionError("no code in " + pt);
    }
}
