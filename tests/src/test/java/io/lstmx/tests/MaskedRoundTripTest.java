package io.lstmx.tests;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.ReferenceEngine;
import io.lstmx.api.Tolerance;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.samples.Samples;
import io.lstmx.references.tensorflow.TensorFlowEngine;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.TensorProto;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Per-step masks (Keras mask_zero / Masking) written by lstmx and read back by lstmx: the
 * SavedModel writer's masked StatelessWhile loops and the TorchScript writer's masked loops must
 * come back as recurrent layers reading the same mask (with the same zeroMaskedOutput), and the
 * StepMask ops as StepMask layers, computing what the source computes on inputs whose rows are
 * pre-padded, post-padded and holed. The SavedModels also run in TensorFlow against the same
 * outputs. Damaged masked loops are refused naming the node and what was expected.
 */
class MaskedRoundTripTest {
    @TempDir
    Path tmp;

    private static final TensorFlowEngine TF = new TensorFlowEngine();

    /** Every kind, direction and layout, token and feature masks, masked outputs repeated and zero. */
    static List<Samples.Sample> samples() {
        List<Samples.Sample> l = new ArrayList<>();
        for (Direction d : Direction.values()) {
            for (Layout lay : Layout.values()) {
                l.add(Samples.masked("a token-masked LSTM, " + d + ", " + lay, "lstm", d, lay, true, false));
                l.add(Samples.masked("a feature-masked LSTM, " + d + ", " + lay + ", masked outputs zero", "lstm", d, lay, false, true));
                l.add(Samples.masked("a token-masked GRU, " + d + ", " + lay + ", masked outputs zero", "gru", d, lay, true, true));
                l.add(Samples.masked("a feature-masked GRU, " + d + ", " + lay, "gru", d, lay, false, false));
                l.add(Samples.masked("a feature-masked RNN, " + d + ", " + lay + ", masked outputs zero", "rnn", d, lay, false, true));
                l.add(Samples.masked("a token-masked RNN, " + d + ", " + lay, "rnn", d, lay, true, false));
            }
        }
        return l;
    }

    static void assertClose(List<Tensor> expected, List<Tensor> actual, String what) {
        assertEquals(expected.size(), actual.size(), what + ": output count");
        for (int k = 0; k < expected.size(); k++) {
            Tolerance.Report r = Tolerance.DEFAULT.compare(actual.get(k), expected.get(k));
            if (!r.ok()) {
                fail(what + ": output " + k + " differs: " + r.detail());
            }
        }
    }

    static List<Tensor> ordered(Map<String, Tensor> m, List<String> names) {
        List<Tensor> l = new ArrayList<>();
        for (String n : names) {
            assertTrue(m.containsKey(n), "no output '" + n + "' in " + m.keySet());
            l.add(m.get(n));
        }
        return l;
    }

    static List<Tensor> inTensorFlow(Path sm, Map<String, Tensor> in) throws Exception {
        try (ReferenceEngine.Session s = TF.open(sm, Format.SAVEDMODEL)) {
            return ordered(s.run(in), s.outputNames());
        }
    }

    /** The masked recurrent directions of a model, each as "kind:zeroMaskedOutput", with its mask's producer kind. */
    static List<String> maskedDirections(Model m) {
        Map<String, Layer> producer = new LinkedHashMap<>();
        for (Layer l : m.layers()) {
            for (String o : l.outputs()) {
                producer.put(o, l);
            }
        }
        List<String> out = new ArrayList<>();
        for (Layer l : m.layers()) {
            if (l instanceof Layer.Recurrent r) {
                for (int d = 0; d < r.direction().count(); d++) {
                    out.add(r.kind() + ":" + (r.ports().hasMask() ? "mask" + (r.ports().zeroMaskedOutput() ? "/zero" : "") : "none"));
                }
            }
        }
        out.sort(null);
        return out;
    }

    /**
     * The inputs as the read-back model declares them: Keras feeds token ids as floats, which the
     * TorchScript code casts (ids.to(int64)), so its reader declares them int64; the values are whole numbers.
     */
    static Map<String, Tensor> asDeclared(Model m, Map<String, Tensor> in) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (io.lstmx.ir.ValueInfo v : m.inputs()) {
            Tensor t = in.get(v.name());
            if (t != null && !v.dtype().isFloating() && t.dtype().isFloating()) {
                float[] f = t.toFloatArray();
                long[] l = new long[f.length];
                for (int i = 0; i < f.length; i++) {
                    assertEquals(Math.rint(f[i]), f[i], "token ids are whole numbers");
                    l[i] = (long) f[i];
                }
                t = Tensor.ofLongs(v.dtype(), t.shape(), l);
            }
            out.put(v.name(), t);
        }
        return out;
    }

    static long stepMasks(Model m) {
        return m.layers().stream().filter(l -> l instanceof Layer.StepMask).count();
    }

    /**
     * Masked IR models as SavedModels: TensorFlow runs them as the native runtime runs the source,
     * and lstmx reads each masked While loop back as one recurrent direction reading the mask, with
     * the same masked-output rule, and the StepMask as a StepMask, computing the same outputs.
     */
    @TestFactory
    Stream<DynamicTest> maskedIrModelsWrittenAsSavedModelsAreReadBackAsMaskedLayersComputingTheSame() {
        return samples().stream().map(s -> DynamicTest.dynamicTest(s.description(), () -> {
            Model m = s.model();
            List<Tensor> expected = ordered(io.lstmx.runtime.NativeRuntime.compile(m).run(s.inputs()), m.outputNames());
            Path sm = tmp.resolve("sm-" + Integer.toHexString(s.description().hashCode()));
            writtenAndReadBack(s.toString(), m, s.inputs(), expected, sm, Format.SAVEDMODEL, MaskedRoundTripTest::inTensorFlow,
                    " in TensorFlow", " read back by lstmx", true, false);
        }));
    }

    /**
     * The masked Keras fixtures (Embedding mask_zero, Masking, Bidirectional, go_backwards,
     * zero_output_for_mask, masked initial states) as SavedModels, read back by lstmx with the
     * masks, on inputs with masked steps: lstmx's outputs of the Keras file (which the Keras
     * reader's tests hold to a float64 Keras implementation), in lstmx and in TensorFlow.
     */
    @TestFactory
    Stream<DynamicTest> maskedKerasFixturesWrittenAsSavedModelsAreReadBackComputingTheSame() {
        return maskedKerasFixtures(".savedmodel", Format.SAVEDMODEL, MaskedRoundTripTest::inTensorFlow, " as a SavedModel in TensorFlow",
                " as a SavedModel read back by lstmx", false);
    }

    /** Runs a written file in the reference engine of its format. */
    interface Engine {
        List<Tensor> run(Path file, Map<String, Tensor> in) throws Exception;
    }

    /**
     * Writes m to {@code file} as {@code format}; the engine must compute {@code expected} from it,
     * and lstmx must read it back with m's masked directions (and one StepMask when
     * {@code oneStepMask}) computing the same, on {@code in} (converted to the read-back model's
     * declared input types when {@code declared}).
     */
    private static void writtenAndReadBack(String what, Model m, Map<String, Tensor> in, List<Tensor> expected, Path file, Format format,
            Engine engine, String inEngine, String readBack, boolean oneStepMask, boolean declared) throws Exception {
        Lstmx.save(m, file, format);
        assertClose(expected, engine.run(file, in), what + inEngine);
        LoadedModel back = Lstmx.load(file, format);
        assertEquals(maskedDirections(m), maskedDirections(back.model()), what + ": masked directions read back");
        if (oneStepMask) {
            assertEquals(1, stepMasks(back.model()), what + ": the StepMask read back");
        }
        Map<String, Tensor> backIn = declared ? asDeclared(back.model(), in) : in;
        assertClose(expected, ordered(back.run(backIn), back.model().outputNames()), what + readBack);
    }

    /** {@link #writtenAndReadBack} for every masked Keras fixture (.h5 and .keras), on inputs with masked steps. */
    private Stream<DynamicTest> maskedKerasFixtures(String suffix, Format format, Engine engine, String inEngine, String readBack,
            boolean declared) {
        List<DynamicTest> tests = new ArrayList<>();
        for (String f : List.of("mask_zero_lstm", "mask_zero_bidi", "masking_gru_backwards", "mask_zero_output", "initial_state_bidi_masked")) {
            for (String ext : List.of(".h5", ".keras")) {
                Path p = TestFiles.fixtures().resolve("keras/" + f + ext);
                tests.add(DynamicTest.dynamicTest(f + ext, () -> {
                    LoadedModel m = Lstmx.load(p);
                    Map<String, Tensor> in = SavedModelConversionsTest.maskedInputs(m.model());
                    List<Tensor> expected = ordered(m.run(in), m.model().outputNames());
                    writtenAndReadBack(p.toString(), m.model(), in, expected, tmp.resolve(f + ext + suffix), format, engine, inEngine,
                            readBack, false, declared);
                }));
            }
        }
        return tests.stream();
    }

    static List<Tensor> inLibtorch(Path pt, Map<String, Tensor> in) throws Exception {
        try (ReferenceEngine.Session s = new io.lstmx.references.libtorch.LibtorchEngine().open(pt, Format.TORCHSCRIPT)) {
            return ordered(s.run(in), s.outputNames());
        }
    }

    /**
     * Masked IR models as TorchScript (a loop over time steps with torch.where per direction):
     * libtorch runs them as the native runtime runs the source, and lstmx reads each loop back as
     * one recurrent direction reading the mask with the same masked-output rule (its arithmetic
     * checked against the layer numerically), and (x != v).to(float) / torch.any as a StepMask.
     */
    @TestFactory
    Stream<DynamicTest> maskedIrModelsWrittenAsTorchScriptAreReadBackAsMaskedLayersComputingTheSame() {
        return samples().stream().map(s -> DynamicTest.dynamicTest(s.description(), () -> {
            Model m = s.model();
            List<Tensor> expected = ordered(io.lstmx.runtime.NativeRuntime.compile(m).run(s.inputs()), m.outputNames());
            Path pt = tmp.resolve("ts-" + Integer.toHexString(s.description().hashCode()) + ".pt");
            writtenAndReadBack(s.toString(), m, s.inputs(), expected, pt, Format.TORCHSCRIPT, MaskedRoundTripTest::inLibtorch,
                    " in libtorch", " read back by lstmx", true, false);
        }));
    }

    /** The masked Keras fixtures as TorchScript, read back by lstmx with the masks, on inputs with masked steps, in lstmx and libtorch. */
    @TestFactory
    Stream<DynamicTest> maskedKerasFixturesWrittenAsTorchScriptAreReadBackComputingTheSame() {
        return maskedKerasFixtures(".pt", Format.TORCHSCRIPT, MaskedRoundTripTest::inLibtorch, " as TorchScript in libtorch",
                " as TorchScript read back by lstmx", true);
    }

    // ---- damaged masked loops

    /** Rewrites every node of the SavedModel's functions through {@code edit}. */
    static void rewrite(Path sm, UnaryOperator<NodeDef> edit) throws Exception {
        Path pb = sm.resolve("saved_model.pb");
        SavedModel s = SavedModel.parseFrom(Files.readAllBytes(pb));
        SavedModel.Builder b = s.toBuilder();
        var mg = b.getMetaGraphsBuilder(0);
        var lib = mg.getGraphDefBuilder().getLibraryBuilder();
        for (int i = 0; i < lib.getFunctionCount(); i++) {
            FunctionDef.Builder f = lib.getFunctionBuilder(i);
            for (int k = 0; k < f.getNodeDefCount(); k++) {
                f.setNodeDef(k, edit.apply(f.getNodeDef(k)));
            }
        }
        Files.write(pb, b.build().toByteArray());
    }

    private Path maskedLstm(boolean zero) {
        Samples.Sample s = Samples.masked("a token-masked LSTM", "lstm", Direction.FORWARD, Layout.BATCH_MAJOR, true, zero);
        Path sm = tmp.resolve("damaged-" + zero);
        Lstmx.save(s.model(), sm, Format.SAVEDMODEL);
        return sm;
    }

    private static LstmxException refused(Path sm) {
        LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.load(sm, Format.SAVEDMODEL));
        assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains(sm.getFileName().toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains("node '"), "names the node: " + e.getMessage());
        return e;
    }

    /** The unchanged file reads (so that the refusals below are the damage's doing). */
    @Test
    void anUndamagedMaskedLoopIsRead() {
        Path sm = maskedLstm(false);
        assertEquals(List.of("LSTM:mask"), maskedDirections(Lstmx.load(sm, Format.SAVEDMODEL).model()));
    }

    /** mask[t] != 0.5 is not Keras's "nonzero counts": refused, naming what lstmx reads. */
    @Test
    void aLoopComparingItsMaskWithAnotherValueIsRefused() throws Exception {
        Path sm = maskedLstm(false);
        // the loop body's NotEqual reads a scalar float constant 0: make it 0.5
        rewrite(sm, n -> n.getOp().equals("Const") && n.getAttrOrThrow("value").getTensor().getFloatValCount() == 1
                && n.getAttrOrThrow("value").getTensor().getFloatVal(0) == 0f && n.getAttrOrThrow("value").getTensor().getTensorShape().getDimCount() == 0
                ? n.toBuilder().putAttr("value", AttrValue.newBuilder().setTensor(TensorProto.newBuilder(n.getAttrOrThrow("value").getTensor())
                        .setFloatVal(0, 0.5f)).build()).build() : n);
        LstmxException e = refused(sm);
        assertTrue(e.getMessage().contains("mask[t] != 0"), e.getMessage());
    }

    /** where(counts, old, new) keeps the new state at masked steps: not a masked step, refused. */
    @Test
    void aLoopSelectingTheNewStateAtMaskedStepsIsRefused() throws Exception {
        Path sm = maskedLstm(false);
        rewrite(sm, n -> n.getOp().equals("SelectV2") || n.getOp().equals("Select")
                ? n.toBuilder().setInput(1, n.getInput(2)).setInput(2, n.getInput(1)).build() : n);
        LstmxException e = refused(sm);
        assertTrue(e.getMessage().contains("masked"), e.getMessage());
    }

    // ---- TorchScript: damaged masked loops, and loops whose arithmetic is not the IR's plain cell

    /** Rewrites the code of a TorchScript archive's forward (every code/*.py entry) through {@code edit}. */
    static void rewriteCode(Path pt, UnaryOperator<String> edit) throws Exception {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (java.util.zip.ZipInputStream z = new java.util.zip.ZipInputStream(Files.newInputStream(pt))) {
            for (java.util.zip.ZipEntry e; (e = z.getNextEntry()) != null; ) {
                entries.put(e.getName(), z.readAllBytes());
            }
        }
        boolean changed = false;
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(Files.newOutputStream(pt))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                byte[] b = e.getValue();
                if (e.getKey().contains("/code/") && e.getKey().endsWith(".py")) {
                    String before = new String(b, java.nio.charset.StandardCharsets.UTF_8);
                    String after = edit.apply(before);
                    changed |= !after.equals(before);
                    b = after.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                }
                z.putNextEntry(new java.util.zip.ZipEntry(e.getKey()));
                z.write(b);
                z.closeEntry();
            }
        }
        assertTrue(changed, "the edit changed the code");
    }

    private Path maskedLstmScript(String name) {
        Samples.Sample s = Samples.masked("a token-masked LSTM", "lstm", Direction.FORWARD, Layout.BATCH_MAJOR, true, false);
        Path pt = tmp.resolve(name + ".pt");
        Lstmx.save(s.model(), pt, Format.TORCHSCRIPT);
        return pt;
    }

    private static LstmxException refusedScript(Path pt) {
        LstmxException e = assertThrows(LstmxException.class, () -> Lstmx.load(pt, Format.TORCHSCRIPT));
        assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains(pt.getFileName().toString()) && e.getMessage().contains(" line "),
                "names the file and line: " + e.getMessage());
        return e;
    }

    /** The archive rewritten without a change in meaning (the same code) still reads, so the refusals below are the edits' doing. */
    @Test
    void aRezippedMaskedTorchScriptLoopIsRead() throws Exception {
        Path pt = maskedLstmScript("rezipped");
        rewriteCode(pt, c -> c + "\n");
        assertEquals(List.of("LSTM:mask"), maskedDirections(Lstmx.load(pt, Format.TORCHSCRIPT).model()));
    }

    /** torch.ne(mask[t], 0.5) is not Keras's "nonzero counts": refused naming torch.where and what lstmx reads. */
    @Test
    void aTorchScriptLoopComparingItsMaskWithAnotherValueIsRefused() throws Exception {
        Path pt = maskedLstmScript("ne-half");
        rewriteCode(pt, c -> c.replace(", 1), 0.0)", ", 1), 0.5)"));
        LstmxException e = refusedScript(pt);
        assertTrue(e.getMessage().contains("torch.where") && e.getMessage().contains("!= 0"), e.getMessage());
    }

    /** torch.where(m, old, new) takes the new state at masked steps: refused, naming the masked-step rule. */
    @Test
    void aTorchScriptLoopSelectingTheNewStateAtMaskedStepsIsRefused() throws Exception {
        Path pt = maskedLstmScript("swapped");
        rewriteCode(pt, c -> c.replaceAll("torch\\.where\\((t\\d+), (t\\d+), (t\\d+)\\)", "torch.where($1, $3, $2)"));
        LstmxException e = refusedScript(pt);
        assertTrue(e.getMessage().contains("masked"), e.getMessage());
    }

    /**
     * A peephole LSTM, which torch.lstm lacks, is written as a loop over time steps; its arithmetic
     * is not the plain cell its weights make, which the numerical check finds: refused, saying so,
     * rather than read without the peepholes.
     */
    @Test
    void aTorchScriptLoopWithPeepholesIsRefusedByTheNumericalCheck() {
        Samples.Sample s = Samples.lstm("a peephole LSTM", io.lstmx.ir.LstmSpec.standard(3, 4, Direction.FORWARD, Layout.TIME_MAJOR), false, true);
        Path pt = tmp.resolve("peephole.pt");
        Lstmx.save(s.model(), pt, Format.TORCHSCRIPT);
        LstmxException e = refusedScript(pt);
        assertTrue(e.getMessage().contains("is not the LSTM cell its weights make") && e.getMessage().contains("peepholes"), e.getMessage());
    }

    /**
     * A GRU with a gate clip (no torch.gru has one) is written as a loop whose body clamps the
     * gates; torch.clamp is not an operator lstmx reads: refused naming it, not what followed.
     */
    @Test
    void aTorchScriptGruLoopWithAClipIsRefusedNamingTorchClamp() {
        Samples.Sample s = Samples.gru("a clipped GRU", new io.lstmx.ir.RecurrentSpec(3, 4, Direction.FORWARD, Layout.TIME_MAJOR, 0.5f, true,
                List.of(io.lstmx.ir.ActivationFn.SIGMOID, io.lstmx.ir.ActivationFn.TANH)), false);
        Path pt = tmp.resolve("clipped.pt");
        Lstmx.save(s.model(), pt, Format.TORCHSCRIPT);
        LstmxException e = refusedScript(pt);
        assertTrue(e.getMessage().contains("torch.clamp"), e.getMessage());
    }
}
