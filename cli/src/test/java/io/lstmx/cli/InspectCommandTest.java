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

    /**
     * fixtures/onnx/pytorch/sample_classifier (case.json): nn.LSTM(8, 32, num_layers=2, batch_first=True)
     * on x [batch, time, 8] -> Linear(32, 4) on h_n[-1] -> softmax. torch.onnx runs each layer as a
     * time-major ONNX LSTM on the transposed input, so by the ONNX LSTM definition each layer's Y is
     * [time, num_directions = 1, batch, 32] and its Y_h / Y_c are [1, batch, 32]; the head gives [batch, 4].
     */
    @Test
    void layerOutputShapesFollowTheArchitecture() {
        Path sample = Cli.fixture("sample_classifier").resolve("model.onnx");
        String text = Cli.run("inspect", sample).expect(0).out();
        assertTrue(text.contains("OUTPUT SHAPES"), text);
        assertTrue(text.contains("[time, 1, batch, 32]"), text);
        assertTrue(text.contains("[1, batch, 32]"), text);
        assertTrue(text.contains("[batch, 4]"), text);

        JsonObject o = JsonTest.parseStrict(Cli.run("inspect", "--json", sample).expect(0).out()).getAsJsonObject();
        String y = "[\"time\",1,\"batch\",32]";
        String state = "[1,\"batch\",32]";
        java.util.List<JsonObject> lstms = lstms(o);
        assertEquals(2, lstms.size(), o.toString());
        for (JsonObject l : lstms) {
            JsonArray names = l.getAsJsonArray("outputs");
            JsonArray shapes = l.getAsJsonArray("outputShapes");
            assertEquals(names.size(), shapes.size(), l.toString());
            for (int i = 0; i < shapes.size(); i++) {
                // outputs are listed Y, Y_h, Y_c (absent ones left out); only Y has rank 4
                String s = shapes.get(i).toString();
                assertEquals(shapes.get(i).getAsJsonArray().size() == 4 ? y : state, s, l.toString());
            }
        }
        // the first layer feeds its whole sequence to the second
        assertEquals(y, lstms.get(0).getAsJsonArray("outputShapes").get(0).toString(), o.toString());
        JsonObject head = layer(o, "Dense");
        assertEquals("[[\"batch\",4]]", head.get("outputShapes").toString(), head.toString());
        JsonObject softmax = layer(o, "Softmax");
        assertEquals("[[\"batch\",4]]", softmax.get("outputShapes").toString(), softmax.toString());
    }

    private static JsonObject layer(JsonObject o, String type) {
        for (JsonElement e : o.getAsJsonArray("layers")) {
            if (e.getAsJsonObject().get("type").getAsString().equals(type)) {
                return e.getAsJsonObject();
            }
        }
        throw new AssertionError("no " + type + " layer in " + o);
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

    /** nn.GRU(5, 12, bidirectional=True) exported by torch.onnx (fixtures/onnx/pytorch-gru-rnn/gru_bidirectional/case.json). */
    @Test
    void gruRowShowsSizesDirectionLayoutAndSourceGateOrder() {
        String gru = Cli.root().resolve("fixtures/onnx/pytorch-gru-rnn/gru_bidirectional/model.onnx").toString();
        String out = Cli.run("inspect", gru).expect(0).out();
        assertTrue(out.contains("GRU") && out.contains("I=5 H=12"), out);
        assertTrue(out.contains("bidirectional") && out.contains("time_major"), out);
        assertTrue(out.contains("z,r,h"), "ONNX GRU gate order: " + out);
        assertTrue(out.contains("linear before reset"), "PyTorch's GRU applies the reset after R: " + out);
        JsonObject o = JsonTest.parseStrict(Cli.run("inspect", "--json", gru).expect(0).out()).getAsJsonObject();
        JsonObject layer = null;
        for (JsonElement e : o.getAsJsonArray("layers")) {
            if (e.getAsJsonObject().get("type").getAsString().equals("GRU")) {
                layer = e.getAsJsonObject();
            }
        }
        assertNotNull(layer, o.toString());
        assertEquals(12, layer.get("hiddenSize").getAsInt());
        assertEquals("bidirectional", layer.get("direction").getAsString());
        assertEquals("z,r,h", layer.get("sourceGateLabel").getAsString());
        assertTrue(layer.get("linearBeforeReset").getAsBoolean());
        // W, R and B of both directions: 2 * (3*12*5 + 3*12*12 + 2*3*12)
        assertEquals(2 * (3 * 12 * 5 + 3 * 12 * 12 + 2 * 3 * 12), layer.get("params").getAsLong());
    }

    @Test
    void rnnRowShowsItsActivation() {
        String rnn = Cli.root().resolve("fixtures/onnx/pytorch-gru-rnn/rnn_relu_bidirectional/model.onnx").toString();
        String out = Cli.run("inspect", rnn).expect(0).out();
        assertTrue(out.contains("RNN") && out.contains("bidirectional") && out.contains("activations relu/relu"), out);
    }
}
