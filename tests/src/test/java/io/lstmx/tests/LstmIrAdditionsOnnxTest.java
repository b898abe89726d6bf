package io.lstmx.tests;

import io.lstmx.api.Tolerance;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.exporters.onnx.OnnxExporter;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatRegistry;
import io.lstmx.formats.WriteOptions;
import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The IR's LSTM forget bias and half-precision weights through the ONNX exporter, checked with
 * onnxruntime: the exported file must give what the native runtime gives on the IR. The forget
 * bias must also matter (the same model without it gives other numbers, so dropping it would be
 * caught), and TensorFlow's cell clip, which ONNX cannot express, must be refused.
 */
class LstmIrAdditionsOnnxTest {
    private static final int I = 3;
    private static final int H = 5;
    private static final int T = 6;
    private static final int B = 3;

    @TempDir
    Path dir;

    /** One LSTM configuration exercised with a forget bias. */
    private record Config(String name, Direction direction, Layout layout, boolean peephole, boolean lengths, boolean states) {
    }

    private static final List<Config> CONFIGS = List.of(
            new Config("forward time-major LSTM", Direction.FORWARD, Layout.TIME_MAJOR, false, false, false),
            new Config("reverse batch-major LSTM with peepholes", Direction.REVERSE, Layout.BATCH_MAJOR, true, false, true),
            new Config("bidirectional LSTM with sequence lengths and initial states", Direction.BIDIRECTIONAL, Layout.TIME_MAJOR, false, true, true),
            new Config("bidirectional batch-major LSTM with peepholes and lengths", Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, true, true, false));

    @TestFactory
    Stream<DynamicTest> anLstmWithAForgetBiasExportedToOnnxGivesOnnxruntimeTheNativeRuntimesOutputs() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Config c : CONFIGS) {
            for (float fb : new float[] {1f, -0.5f}) {
                tests.add(DynamicTest.dynamicTest("a " + c.name + " with forget bias " + fb + " exports to the same outputs", () -> {
                    Random rnd = new Random(c.name.hashCode() * 31L + Float.floatToIntBits(fb));
                    LstmSpec spec = LstmSpec.standard(I, H, c.direction, c.layout).withForgetBias(fb);
                    List<LstmWeights> w = weights(rnd, spec, c.peephole, UnaryOperator.identity());
                    Model m = lstmModel(spec, w, c.lengths, c.states);
                    Map<String, Tensor> in = inputs(rnd, spec, c.lengths, c.states);
                    Map<String, Tensor> expected = NativeRuntime.compile(m).run(in);
                    Path f = dir.resolve("fb.onnx");
                    OnnxExporter.save(m, f, 17, false);
                    Map<String, Tensor> ort = OnnxRuntimeReference.run(f, in);
                    for (String o : m.outputNames()) {
                        TestFiles.assertClose(ort.get(o), expected.get(o), c.name + " output " + o + " (onnxruntime on the export vs native runtime on the IR)");
                    }
                    // the bias must show in the numbers, or this comparison could not catch an exporter dropping it
                    Model unbiased = lstmModel(spec.withForgetBias(0), w, c.lengths, c.states);
                    Map<String, Tensor> without = NativeRuntime.compile(unbiased).run(in);
                    assertFalse(Tolerance.DEFAULT.compare(without.get("Y_h"), expected.get("Y_h")).ok(),
                            c.name + ": the forget bias " + fb + " changes Y_h beyond the tolerance");
                    // read back, the bias is part of Wb: the native runtime gives the same bits as on the IR
                    Model back = OnnxImporter.load(f, Map.of());
                    Map<String, Tensor> again = NativeRuntime.compile(back).run(in);
                    for (String o : m.outputNames()) {
                        assertTrue(again.get(o).bitEquals(expected.get(o)), c.name + " output " + o + ": re-imported export differs in its bits");
                    }
                }));
            }
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> anLstmWithHalfPrecisionWeightsRunsAndExportsLikeItsFloat32Widening() {
        return Stream.of(DType.FLOAT16, DType.BFLOAT16).map(t -> DynamicTest.dynamicTest(
                "an LSTM holding " + t.toString().toLowerCase() + " weights computes and exports as its float32 widening", () -> {
                    Random rnd = new Random(t.ordinal() + 5);
                    LstmSpec spec = LstmSpec.standard(I, H, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR);
                    List<LstmWeights> half = weights(rnd, spec, true, w -> w.withDType(t));
                    for (LstmWeights w : half) {
                        assertEquals(t, w.w().dtype());
                    }
                    // the same values held as float32 (widening is exact)
                    List<LstmWeights> wide = half.stream().map(w -> new LstmWeights(w.w().withDType(DType.FLOAT32),
                            w.r().withDType(DType.FLOAT32), w.wb().withDType(DType.FLOAT32), w.rb().withDType(DType.FLOAT32),
                            w.peephole().withDType(DType.FLOAT32), null)).toList();
                    Model m = lstmModel(spec, half, true, true);
                    Map<String, Tensor> in = inputs(rnd, spec, true, true);
                    Map<String, Tensor> got = NativeRuntime.compile(m).run(in);
                    Map<String, Tensor> ref = NativeRuntime.compile(lstmModel(spec, wide, true, true)).run(in);
                    Path f = dir.resolve("half.onnx");
                    OnnxExporter.save(m, f, 17, false);
                    Map<String, Tensor> ort = OnnxRuntimeReference.run(f, in);
                    for (String o : m.outputNames()) {
                        assertEquals(DType.FLOAT32, got.get(o).dtype());
                        assertTrue(got.get(o).bitEquals(ref.get(o)), o + ": half weights compute exactly as their widening");
                        TestFiles.assertClose(ort.get(o), got.get(o), o + " (onnxruntime on the export vs native runtime)");
                    }
                }));
    }

    @Test
    void anLstmWithACellClipIsRefusedByTheOnnxWriterWithExitStatus3() {
        Random rnd = new Random(3);
        LstmSpec spec = LstmSpec.standard(I, H, Direction.FORWARD, Layout.TIME_MAJOR).withCellClip(2f);
        Model m = lstmModel(spec, weights(rnd, spec, false, UnaryOperator.identity()), false, false);
        Path f = dir.resolve("clip.onnx");
        LstmxException e = assertThrows(LstmxException.class,
                () -> FormatRegistry.standard().requireWriter(Format.ONNX, f).write(m, f, WriteOptions.DEFAULT));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertEquals(3, e.code().exitStatus());
        assertTrue(e.getMessage().contains("ONNX LSTM has no cell clip") && e.getMessage().contains("'lstm'"), e.getMessage());
        assertFalse(Files.exists(f), "nothing is written");
    }

    // ------------------------------------------------------------------ helpers

    private static Tensor random(Random rnd, double scale, int... shape) {
        float[] v = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * scale);
        }
        return Tensor.ofFloats(shape, v);
    }

    private static List<LstmWeights> weights(Random rnd, LstmSpec spec, boolean peephole, UnaryOperator<Tensor> store) {
        List<LstmWeights> l = new ArrayList<>();
        for (int d = 0; d < spec.direction().count(); d++) {
            l.add(new LstmWeights(store.apply(random(rnd, 0.5, 4 * H, I)), store.apply(random(rnd, 0.5, 4 * H, H)),
                    store.apply(random(rnd, 0.5, 4 * H)), store.apply(random(rnd, 0.5, 4 * H)),
                    peephole ? store.apply(random(rnd, 0.5, 3 * H)) : null, null));
        }
        return l;
    }

    private static Model lstmModel(LstmSpec spec, List<LstmWeights> w, boolean lengths, boolean states) {
        boolean bm = spec.layout() == Layout.BATCH_MAJOR;
        int d = spec.direction().count();
        List<ValueInfo> ins = new ArrayList<>();
        ins.add(new ValueInfo("X", DType.FLOAT32, bm ? Shape.of("batch", "time", I) : Shape.of("time", "batch", I)));
        if (lengths) {
            ins.add(new ValueInfo("lens", DType.INT32, Shape.of("batch")));
        }
        if (states) {
            Shape st = bm ? Shape.of("batch", d, H) : Shape.of(d, "batch", H);
            ins.add(new ValueInfo("h0", DType.FLOAT32, st));
            ins.add(new ValueInfo("c0", DType.FLOAT32, st));
        }
        RecurrentPorts ports = RecurrentPorts.of("X").withSequenceLengths(lengths ? "lens" : null)
                .withInitialStates(states ? "h0" : null, states ? "c0" : null).withOutputs("Y", "Y_h", "Y_c");
        Layer.Lstm l = new Layer.Lstm("lstm", ports, spec, w, GateOrder.TF1_CELL);
        List<ValueInfo> outs = List.of(new ValueInfo("Y", DType.FLOAT32, Shape.UNKNOWN), new ValueInfo("Y_h", DType.FLOAT32, Shape.UNKNOWN),
                new ValueInfo("Y_c", DType.FLOAT32, Shape.UNKNOWN));
        return new Model("m", ModelInfo.NONE, ins, outs, List.of(l));
    }

    private static Map<String, Tensor> inputs(Random rnd, LstmSpec spec, boolean lengths, boolean states) {
        boolean bm = spec.layout() == Layout.BATCH_MAJOR;
        int d = spec.direction().count();
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("X", random(rnd, 1.0, bm ? new int[] {B, T, I} : new int[] {T, B, I}));
        if (lengths) {
            in.put("lens", Tensor.ofLongs(DType.INT32, new int[] {B}, new long[] {T, 2, 4}));
        }
        if (states) {
            int[] st = bm ? new int[] {B, d, H} : new int[] {d, B, H};
            in.put("h0", random(rnd, 0.7, st));
            in.put("c0", random(rnd, 0.7, st));
        }
        return in;
    }
}
