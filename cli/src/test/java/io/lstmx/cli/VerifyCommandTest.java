package io.lstmx.cli;

import io.lstmx.api.Tolerance;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VerifyCommandTest {
    @Test
    void realModelPasses() {
        Cli.Result r = Cli.run("verify", Cli.realOnnx()).expect(0);
        assertTrue(r.out().contains("fixed shapes"), r.out());
        assertTrue(r.out().contains("layer /lstm/LSTM: /lstm/LSTM_output_0 [286, 1, 1, 32]"), "the LSTM's Y as well: " + r.out());
        assertTrue(r.out().contains("PASS: 2 of 2"), r.out());
    }

    /** Fixtures have symbolic batch and time: every combination of batch {1, 3} and time {1, 7} is run. */
    @TestFactory
    List<DynamicTest> fixturesPassAtSeveralSizes() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path c : Cli.fixtureCases()) {
            tests.add(DynamicTest.dynamicTest(c.getFileName().toString(), () -> {
                Cli.Result r = Cli.run("verify", c.resolve("model.onnx"), "--seed", "3").expect(0);
                for (String label : new String[] {"batch=1 time=1", "batch=3 time=7"}) {
                    assertTrue(r.out().contains(label), label + " in\n" + r.out());
                }
                assertTrue(r.out().contains("PASS"), r.out());
            }));
        }
        return tests;
    }

    @Test
    void onnxRoundTripIsCheckedInBothEngines() {
        Cli.Result r = Cli.run("verify", Cli.fixture("batch_first").resolve("model.onnx"), "--roundtrip", "onnx").expect(0);
        assertTrue(r.out().contains("roundtrip-onnx "), r.out());
        assertTrue(r.out().contains("roundtrip-onnx/onnxruntime"), r.out());
        assertTrue(r.out().contains("PASS"), r.out());
    }

    /** TensorFlow runs lstmx's SavedModel conversion of an ONNX model, which the report notes. */
    @Test
    void anOnnxModelIsCheckedInTensorFlowThroughItsSavedModelConversion() {
        Cli.Result r = Cli.run("verify", Cli.fixture("uni_1layer").resolve("model.onnx"), "--reference", "tensorflow").expect(0);
        assertTrue(r.out().contains("lstmx vs tensorflow 2."), r.out());
        assertTrue(r.out().contains("runs lstmx's savedmodel conversion"), r.out());
        assertTrue(r.out().contains("PASS"), r.out());
        assertTrue(!r.out().contains("FAIL"), r.out());
    }

    /**
     * A masked Keras model (Embedding mask_zero into two LSTMs): checked in TensorFlow, its
     * framework (ONNX cannot hold its mask); its SavedModel and TorchScript
     * copies are read back by lstmx as masked LSTM layers and run in TensorFlow and libtorch, on
     * whole-number token ids that include the masked 0.
     */
    @Test
    void aMaskedKerasModelRoundTripsThroughSavedModelAndTorchScript() {
        Path h5 = Cli.root().resolve("fixtures/keras/mask_zero_lstm.h5");
        for (String f : List.of("savedmodel", "torchscript")) {
            Cli.Result r = Cli.run("verify", h5, "--roundtrip", f).expect(0);
            assertTrue(r.out().contains("lstmx vs tensorflow"), r.out());
            assertTrue(r.out().contains("read it back") && r.out().contains("1 StepMask") && r.out().contains("2 LSTM"),
                    "read back as a StepMask and two LSTM layers: " + r.out());
            assertTrue(r.out().contains("roundtrip-" + f + " "), r.out());
            assertTrue(r.out().contains("roundtrip-" + f + "/" + (f.equals("savedmodel") ? "tensorflow" : "libtorch")), r.out());
            assertTrue(r.out().contains("PASS") && !r.out().contains("FAIL"), r.out());
        }
    }

    /** A round trip through a frozen GraphDef: lstmx writes it, reads it back, and runs both the same. */
    @Test
    void roundTripThroughAFrozenGraphDefGivesTheSameOutputs() {
        Cli.Result r = Cli.run("verify", Cli.fixture("uni_1layer").resolve("model.onnx"), "--roundtrip", "tf-graphdef").expect(0);
        assertTrue(r.out().contains("PASS") && !r.out().contains("FAIL"), r.out());
    }

    @Test
    void optionMistakes() {
        Path m = Cli.realOnnx();
        assertTrue(Cli.run("verify", m, "--reference", "tensorrt").expect(2).err().contains("onnxruntime"));
        Cli.run("verify", m, "--atol", "-1").expect(2);
        Cli.run("verify", m, "--rtol", "NaN").expect(2);
    }

    @Test
    void realStateDictsAreCheckedInLibtorchThroughLstmxsConversion() {
        Path pt = Cli.find(Cli.shared().resolve("real-models/pytorch/iamirmasoud__energy_consumption_prediction"), ".pt").get(0);
        Cli.Result r = Cli.run("verify", pt, "--batch-first", "--last-step", "-q").expect(0);
        assertTrue(r.out().contains("lstmx vs libtorch") && r.out().contains("PASS"), r.out());
    }

    // The comparison itself, on hand-made tensors (a model and a reference that disagree cannot be
    // produced from real files without a test-only switch).

    private static Tensor t(float... v) {
        return Tensor.ofFloats(new int[] {v.length}, v);
    }

    private static int compare(Tolerance tol, VerifyCommand.Tally tally, StringWriter sw, Tensor actual, Tensor expected) {
        return VerifyCommand.compare("lstmx", "batch=1", List.of("y"), List.of(actual), List.of(expected), tol, new PrintWriter(sw, true), tally);
    }

    @Test
    void comparisonFollowsAtolPlusRtolTimesExpected() {
        Tolerance tol = new Tolerance(1e-5, 1e-4);
        VerifyCommand.Tally tally = new VerifyCommand.Tally();
        StringWriter sw = new StringWriter();
        assertEquals(0, compare(tol, tally, sw, t(1, -2, 0), t(1, -2, 0)), "identical");
        // 100 + 100*1e-4 + 1e-5 = 100.01001 is the edge: 100.0100 passes, 100.0102 does not.
        assertEquals(0, compare(tol, tally, sw, t(100.0100f, 0.000009f), t(100f, 0f)));
        assertEquals(1, compare(tol, tally, sw, t(100.0102f, 0f), t(100f, 0f)));
        assertEquals(1, compare(tol, tally, sw, t(0.00002f), t(0f)), "atol alone at zero");
        assertEquals(1, compare(tol, tally, sw, t(Float.NaN), t(1f)), "NaN never matches");
        assertEquals(1, compare(tol, tally, sw, Tensor.zeros(2, 1), Tensor.zeros(1, 2)), "shape differs");
        assertEquals(6, tally.total);
        assertEquals(4, tally.failed);
        assertTrue(tally.firstFailure.contains("output 'y'"), tally.firstFailure);
        String printed = sw.toString();
        assertEquals(6, printed.lines().count(), printed);
        assertEquals(4, printed.lines().filter(l -> l.contains("MISMATCH")).count(), printed);
        assertEquals(2, printed.lines().filter(l -> l.endsWith(" ok")).count(), printed);

        assertEquals(0, compare(new Tolerance(0, 0), new VerifyCommand.Tally(), sw, t(0.1f, 3f), t(0.1f, 3f)), "exact values pass at zero tolerance");
        assertEquals(1, compare(new Tolerance(0, 0), new VerifyCommand.Tally(), sw, t(Math.nextUp(0.1f)), t(0.1f)), "one ulp fails at zero tolerance");
    }

    @Test
    void outputsAreMatchedByNameOrPosition() {
        Map<String, Tensor> m = new java.util.LinkedHashMap<>();
        m.put("b", t(2));
        m.put("a", t(1));
        assertEquals(1f, VerifyCommand.ordered(m, List.of("a", "b"), "x").get(0).getFloat(0), "by name");
        assertEquals(2f, VerifyCommand.ordered(m, List.of("p", "q"), "x").get(0).getFloat(0), "by position when names differ");
        LstmxException e = assertThrows(LstmxException.class, () -> VerifyCommand.ordered(m, List.of("p"), "x"));
        assertEquals(ErrorCode.MISMATCH, e.code());
    }

    @Test
    void mismatchExitsOne() {
        assertEquals(1, Main.report(new LstmxException(ErrorCode.MISMATCH, "m.onnx: 1 of 4 comparisons exceed"),
                new PrintWriter(new StringWriter()), false));
    }

    @Test
    void verifyLeavesNoTemporaryFolders() {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        List<String> before = leftovers(tmp);
        Cli.run("verify", Cli.fixture("classifier").resolve("model.onnx"), "--roundtrip", "onnx").expect(0);
        assertEquals(before, leftovers(tmp));
    }

    private static List<String> leftovers(Path tmp) {
        return Cli.list(tmp).stream().filter(n -> n.startsWith("lstmx-verify-")).toList();
    }

    /**
     * lstmx and onnxruntime sum the gate products in different orders, so uni_1layer's outputs differ
     * by a few float32 ulps (max rel about 8e-5): within the default tolerance, but not identical.
     * --atol 0 alone must ask for identical values (rtol 0), not keep rtol's default.
     */
    @Test
    void atolZeroAloneAsksForIdenticalValuesAndFailsOnTinyDifferences() {
        Path m = Cli.fixture("uni_1layer").resolve("model.onnx");
        Cli.run("verify", m).expect(0);
        Cli.Result r = Cli.run("verify", m, "--atol", "0").expect(1);
        assertTrue(r.out().contains("pass if |a-b| <= 0 + 0*|b|"), r.out());
        assertTrue(r.out().contains("MISMATCH") && r.out().contains("FAIL: "), r.out());
        assertTrue(r.err().contains("comparisons exceed"), r.err());
        r = Cli.run("verify", m, "--rtol", "0").expect(1);
        assertTrue(r.out().contains("pass if |a-b| <= 0 + 0*|b|"), "only --rtol: atol is 0 too: " + r.out());
        r = Cli.run("verify", m, "--atol", "1e-3").expect(0);
        assertTrue(r.out().contains("pass if |a-b| <= 0.001 + 0*|b|"), r.out());
        r = Cli.run("verify", m, "--atol", "0", "--rtol", "1e-4").expect(0);
        assertTrue(r.out().contains("pass if |a-b| <= 0 + 0.0001*|b|"), "both given: both used: " + r.out());
    }

    @Test
    void helpStatesTheToleranceRule() {
        String help = Cli.run("verify", "--help").expect(0).out().replaceAll("\\s+", " ");
        assertTrue(help.contains("With neither --atol nor --rtol, atol is 1e-5 and rtol 1e-4; giving only one of them sets the other to 0"), help);
        assertTrue(help.contains("|lstmx - reference| <= atol + rtol * |reference|"), help);
    }

    @Test
    void recurrentLayerOutputsAreComparedWithTheReferencesToo() {
        Cli.Result r = Cli.run("verify", Cli.fixture("stacked_2layer").resolve("model.onnx"), "--batch", "2", "--time", "5").expect(0);
        long layerLines = r.out().lines().filter(l -> l.contains(" layer /")).count();
        assertTrue(layerLines >= 2, "both LSTM layers' outputs: " + r.out());
        assertTrue(r.out().lines().filter(l -> l.contains(" layer /")).allMatch(l -> l.endsWith(" ok")), r.out());
    }

    @Test
    void batchAndTimeListsChooseTheRandomCases() {
        Cli.Result r = Cli.run("verify", Cli.fixture("uni_1layer").resolve("model.onnx"), "--batch", "2", "--time", "1,4,20").expect(0);
        assertTrue(r.out().contains("3 random input case(s)"), r.out());
        for (String label : List.of("batch=2 time=1", "batch=2 time=4", "batch=2 time=20")) {
            assertTrue(r.out().contains(label), label + " in\n" + r.out());
        }
        assertTrue(!r.out().contains("batch=1") && !r.out().contains("batch=3"), r.out());
        r = Cli.run("verify", Cli.realOnnx(), "--batch", "5").expect(0);
        assertTrue(r.out().contains("note: the model fixes its batch size"), r.out());
        assertTrue(Cli.run("verify", Cli.realOnnx(), "--batch", "0").expect(2).err().contains("--batch sizes must be at least 1"));
        Cli.run("verify", Cli.realOnnx(), "--time", "2,x").expect(2);
    }

    @Test
    void inputFilesReplaceTheRandomCases(@TempDir Path dir) {
        Path c = Cli.fixture("initial_state");
        Cli.Result r = Cli.run("verify", c.resolve("model.onnx"), "--input", "x=" + c.resolve("input_0.npy"),
                "--input", "h0=" + c.resolve("input_1.npy"), "--input", "c0=" + c.resolve("input_2.npy")).expect(0);
        assertTrue(r.out().contains("inputs from --input files"), r.out());
        assertTrue(r.out().lines().filter(l -> l.startsWith("  lstmx ")).allMatch(l -> l.contains("--input files")), r.out());
        assertTrue(r.out().contains("y [6, 3, 12]"), "the files' shapes: " + r.out());
        r = Cli.run("verify", c.resolve("model.onnx"), "--input", "x=" + c.resolve("input_0.npy"), "--batch", "2").expect(2);
        assertTrue(r.err().contains("do not apply with --input"), r.err());
        r = Cli.run("verify", c.resolve("model.onnx"), "--input", "x=" + c.resolve("input_0.npy")).expect(2);
        assertTrue(r.err().contains("no --input for [h0, c0]"), r.err());
    }

    @Test
    void jsonReportHasEveryComparisonAndTheVerdictWithTheSameExitStatus() {
        Path m = Cli.fixture("uni_1layer").resolve("model.onnx");
        Cli.Result r = Cli.run("verify", m, "--json", "--batch", "1,3", "--time", "2").expect(0);
        JsonObject o = JsonTest.parseStrict(r.out()).getAsJsonObject();
        assertEquals("pass", o.get("verdict").getAsString());
        assertEquals("onnxruntime", o.getAsJsonObject("reference").get("name").getAsString());
        assertEquals(1e-5, o.getAsJsonObject("tolerance").get("atol").getAsDouble());
        assertEquals(1e-4, o.getAsJsonObject("tolerance").get("rtol").getAsDouble());
        assertEquals(2, o.getAsJsonArray("cases").size());
        int values = 0;
        for (JsonElement e : o.getAsJsonArray("cases")) {
            JsonObject c = e.getAsJsonObject();
            assertEquals("lstmx", c.get("engine").getAsString());
            assertTrue(c.get("case").getAsString().endsWith("time=2"), c.toString());
            boolean intermediate = false;
            for (JsonElement v : c.getAsJsonArray("values")) {
                JsonObject value = v.getAsJsonObject();
                assertTrue(value.get("pass").getAsBoolean(), value.toString());
                assertTrue(value.get("maxAbs").getAsDouble() < 1e-5 && value.get("maxRel").isJsonPrimitive(), value.toString());
                intermediate |= value.get("kind").getAsString().equals("intermediate") && value.get("layer").getAsString().equals("/lstm/LSTM");
                values++;
            }
            assertTrue(intermediate, "the LSTM's Y is compared: " + c);
        }
        assertEquals(values, o.get("comparisons").getAsInt());
        assertEquals(0, o.get("failed").getAsInt());

        r = Cli.run("verify", m, "--json", "--atol", "0").expect(1);
        o = JsonTest.parseStrict(r.out()).getAsJsonObject();
        assertEquals("fail", o.get("verdict").getAsString());
        assertTrue(o.get("failed").getAsInt() > 0, r.out());
        assertEquals(0.0, o.getAsJsonObject("tolerance").get("rtol").getAsDouble());
    }
}
