package io.lstmx.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.lstmx.onnx.proto.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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

    /**
     * uni_1layer (LSTM then Squeeze; outputs y, h_n, c_n) with three nodes added: a custom
     * com.example Foo on the LSTM's Y, a Relu after it, and a Mod of h_n and c_n; their results
     * are graph outputs too.
     */
    private static Path withUnsupportedNodes(Path dir) throws IOException {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(Cli.fixture("uni_1layer").resolve("model.onnx")));
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        Onnx.NodeProto lstm = g.getNodeList().stream().filter(n -> n.getOpType().equals("LSTM")).findFirst().orElseThrow();
        g.addNode(Onnx.NodeProto.newBuilder().setName("custom_op").setOpType("Foo").setDomain("com.example")
                .addInput(lstm.getOutput(0)).addOutput("foo_out"));
        g.addNode(Onnx.NodeProto.newBuilder().setName("after_custom").setOpType("Relu").addInput("foo_out").addOutput("foo_relu"));
        g.addNode(Onnx.NodeProto.newBuilder().setName("remainder").setOpType("Mod").addInput("h_n").addInput("c_n").addOutput("mod_out")
                .addAttribute(Onnx.AttributeProto.newBuilder().setName("fmod").setType(Onnx.AttributeProto.AttributeType.INT).setI(1)));
        for (String out : List.of("foo_relu", "mod_out")) {
            g.addOutput(Onnx.ValueInfoProto.newBuilder().setName(out).setType(Onnx.TypeProto.newBuilder()
                    .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1))));
        }
        Onnx.ModelProto.Builder b = m.toBuilder().setGraph(g);
        b.addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("com.example").setVersion(1));
        return Files.write(dir.resolve("custom.onnx"), b.build().toByteArray());
    }

    @Test
    void unsupportedNodesAreListedAfterEverythingThatConverts(@TempDir Path dir) throws IOException {
        Path model = withUnsupportedNodes(dir);
        Cli.Result r = Cli.run("inspect", model).expect(3);
        String out = r.out();
        assertTrue(out.contains("inputs:\n  x  float32  [time, batch, 6]\n"), out);
        assertTrue(out.contains("  y         float32  [time, batch, 16]\n"), out);
        assertTrue(out.contains("  foo_relu  -        not converted\n") && out.contains("  mod_out   -        not converted\n"), out);
        assertTrue(out.contains("layers converted (2):"), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("  /lstm/LSTM ") && l.contains("I=6 H=16")), out);
        assertTrue(out.contains("total parameters: 1,536\n"), out);
        assertTrue(out.contains("unsupported (2):\n"), out);
        assertTrue(out.lines().anyMatch(l -> l.matches("  custom_op +com\\.example::Foo +operator com\\.example::Foo is not supported")), out);
        assertTrue(out.lines().anyMatch(l -> l.matches("  remainder +Mod +operator Mod is not supported at opset 14")), out);
        assertTrue(out.contains("not converted, as they read what an unsupported node makes (1): after_custom\n"), out);
        assertTrue(r.err().contains(model.toString()) && r.err().contains("custom_op") && r.err().contains("remainder"), r.err());

        JsonObject o = JsonTest.parseStrict(Cli.run("inspect", model, "--json").expect(3).out()).getAsJsonObject();
        assertEquals(false, o.get("supported").getAsBoolean());
        assertEquals("x", o.getAsJsonArray("inputs").get(0).getAsJsonObject().get("name").getAsString());
        JsonArray outputs = o.getAsJsonArray("outputs");
        assertEquals(5, outputs.size());
        assertTrue(outputs.get(0).getAsJsonObject().get("converted").getAsBoolean());
        assertEquals("[\"time\",\"batch\",16]", outputs.get(0).getAsJsonObject().get("shape").toString());
        assertEquals(false, outputs.get(3).getAsJsonObject().get("converted").getAsBoolean());
        assertEquals(2, o.getAsJsonArray("layers").size());
        JsonArray nodes = o.getAsJsonArray("unsupportedNodes");
        assertEquals(2, nodes.size());
        JsonObject foo = nodes.get(0).getAsJsonObject();
        assertEquals("custom_op", foo.get("node").getAsString());
        assertEquals("Foo", foo.get("opType").getAsString());
        assertEquals("com.example", foo.get("domain").getAsString());
        JsonObject mod = nodes.get(1).getAsJsonObject();
        assertEquals("remainder", mod.get("node").getAsString());
        assertEquals("", mod.get("domain").getAsString());
        assertEquals("[\"after_custom\"]", o.getAsJsonArray("notConverted").toString());
        assertTrue(o.getAsJsonArray("unsupported").get(0).getAsString().startsWith("node 'custom_op' (com.example::Foo): "), o.toString());
    }
}
