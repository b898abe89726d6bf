package io.lstmx.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InspectCommandTest {
    /**
     * The real classifier is nn.LSTM(1, 32) -> Linear(32, 2) -> Softmax (its NOTES.txt). Parameters as
     * ONNX holds them: W 4*32*1 + R 4*32*32 + B 2*4*32 = 4480 for the LSTM, 32*2 + 2 = 66 for the Linear.
     */
    private static final long REAL_PARAMS = 4 * 32 + 4 * 32 * 32 + 2 * 4 * 32 + 32 * 2 + 2;

    @Test
    void textListsFormatShapesLayersAndParameters() {
        Cli.Result r = Cli.run("inspect", Cli.realOnnx()).expect(0);
        String out = r.out();
        assertTrue(out.contains("format:    onnx"), out);
        assertTrue(out.contains("pytorch"), "producer: " + out);
        assertTrue(out.contains("input") && out.contains("[286, 1, 1]"), out);
        assertTrue(out.contains("[1, 2]"), out);
        assertTrue(out.contains("LSTM") && out.contains("I=1 H=32"), out);
        assertTrue(out.contains("forward") && out.contains("time_major"), out);
        assertTrue(out.contains("i,o,f,c"), "ONNX gate order: " + out);
        assertTrue(out.contains("total parameters: " + Text.count(REAL_PARAMS)), out);
        assertTrue(out.contains("unsupported: none"), out);
    }

    @Test
    void jsonIsValidAndHoldsTheLayers() {
        Cli.Result r = Cli.run("inspect", "--json", Cli.realOnnx()).expect(0);
        JsonObject o = JsonTest.parseStrict(r.out()).getAsJsonObject();
        assertEquals("onnx", o.get("format").getAsString());
        assertTrue(o.get("supported").getAsBoolean());
        assertEquals(REAL_PARAMS, o.get("totalParams").getAsLong());
        JsonObject input = o.getAsJsonArray("inputs").get(0).getAsJsonObject();
        assertEquals("input", input.get("name").getAsString());
        assertEquals("[286,1,1]", input.get("shape").toString());
        JsonObject lstm = null;
        long sum = 0;
        for (JsonElement e : o.getAsJsonArray("layers")) {
            JsonObject l = e.getAsJsonObject();
            sum += l.get("params").getAsLong();
            if (l.get("type").getAsString().equals("LSTM")) {
                lstm = l;
            }
        }
        assertNotNull(lstm, r.out());
        assertEquals(REAL_PARAMS, sum, "layer parameters add up to the total");
        assertEquals(1, lstm.get("inputSize").getAsInt());
        assertEquals(32, lstm.get("hiddenSize").getAsInt());
        assertEquals("forward", lstm.get("direction").getAsString());
        assertEquals("onnx", lstm.get("sourceGateOrder").getAsString());
    }

    @Test
    void bidirectionalAndBatchFirstFixtures() {
        JsonObject o = JsonTest.parseStrict(Cli.run("inspect", "--json", Cli.fixture("bidirectional").resolve("model.onnx")).expect(0).out())
                .getAsJsonObject();
        JsonArray inputs = o.getAsJsonArray("inputs");
        assertEquals(1, inputs.size());
        // Batch and time are symbolic (dynamic_axes) and keep their names.
        assertTrue(inputs.get(0).getAsJsonObject().get("shape").getAsJsonArray().get(0).getAsJsonPrimitive().isString(), o.toString());
        assertTrue(lstms(o).stream().allMatch(l -> l.get("direction").getAsString().equals("bidirectional")), o.toString());

        Path bf = Cli.fixture("stacked_bidirectional").resolve("model.onnx");
        assertEquals(2, lstms(JsonTest.parseStrict(Cli.run("inspect", bf, "--json").expect(0).out()).getAsJsonObject()).size(),
                "two stacked LSTM layers");
    }

    @Test
    void unsupportedOperatorIsReportedWithExitThree() {
        // The ONNX conformance GRU case: a recurrent operator lstmx does not handle.
        Path gru = Cli.shared().resolve("onnx-backend/test_gru_defaults/model.onnx");
        Cli.Result r = Cli.run("inspect", gru).expect(3);
        assertTrue(r.out().contains("format:") && r.out().contains("onnx"), r.out());
        assertTrue(r.out().contains("GRU"), "says what was found: " + r.out());
        assertTrue(r.err().contains("GRU"), r.err());
        JsonObject o = JsonTest.parseStrict(Cli.run("inspect", "--json", gru).expect(3).out()).getAsJsonObject();
        assertEquals(false, o.get("supported").getAsBoolean());
        assertTrue(o.getAsJsonArray("unsupported").get(0).getAsString().contains("GRU"), o.toString());
    }

    private static java.util.List<JsonObject> lstms(JsonObject o) {
        java.util.List<JsonObject> l = new java.util.ArrayList<>();
        for (JsonElement e : o.getAsJsonArray("layers")) {
            if (e.getAsJsonObject().get("type").getAsString().equals("LSTM")) {
                l.add(e.getAsJsonObject());
            }
        }
        return l;
    }
}
