package io.lstmx.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.lstmx.exporters.onnx.OnnxExporter;
import io.lstmx.formats.Format;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FormatsCommandTest {
    @Test
    void textListsEveryFormatWithWhatCanBeDoneNowAndTheReferenceEngines() {
        Cli.Result r = Cli.run("formats").expect(0);
        List<String> lines = r.out().lines().toList();
        for (Format f : Format.KNOWN) {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("  " + f.id() + " ")), f.id() + " listed:\n" + r.out());
        }
        String onnx = lines.stream().filter(l -> l.startsWith("  onnx ")).findFirst().orElseThrow();
        assertTrue(onnx.matches("  onnx +- +\\.onnx +yes +yes +minOpset " + OnnxExporter.MIN_OPSET + ", maxOpset " + OnnxExporter.MAX_OPSET
                + ", defaultOpset " + OnnxExporter.DEFAULT_OPSET + " +ONNX model.*"), onnx);
        String torch = lines.stream().filter(l -> l.startsWith("  torchscript ")).findFirst().orElseThrow();
        assertTrue(torch.contains("pytorch, torch, pt, jit") && torch.contains(".pt .pth .ptc") && torch.matches(".*\\.ptc +yes +yes .*"), torch);
        String saved = lines.stream().filter(l -> l.startsWith("  savedmodel ")).findFirst().orElseThrow();
        assertTrue(saved.contains("(a folder)"), saved);
        assertTrue(saved.matches(".*\\(a folder\\) +yes +yes .*"), saved);
        assertTrue(lines.stream().anyMatch(l -> l.matches("  tensorflow +2\\.\\d+\\.\\d+ +.*savedmodel.*")), r.out());
        assertTrue(r.out().contains("reference engines"), r.out());
        assertTrue(lines.stream().anyMatch(l -> l.matches("  onnxruntime +\\d+\\.\\d+\\.\\d+ +onnx")), r.out());
    }

    @Test
    void jsonHoldsTheSameFactsForPrograms() {
        JsonObject o = JsonTest.parseStrict(Cli.run("formats", "--json").expect(0).out()).getAsJsonObject();
        assertEquals(Main.version(), o.get("version").getAsString());
        Map<String, JsonObject> byId = new HashMap<>();
        for (JsonElement e : o.getAsJsonArray("formats")) {
            byId.put(e.getAsJsonObject().get("id").getAsString(), e.getAsJsonObject());
        }
        assertEquals(Format.KNOWN.size(), byId.size(), byId.keySet().toString());
        JsonObject onnx = byId.get("onnx");
        assertTrue(onnx.get("read").getAsBoolean() && onnx.get("write").getAsBoolean());
        JsonObject writer = onnx.getAsJsonObject("writer");
        assertEquals(OnnxExporter.MIN_OPSET, writer.get("minOpset").getAsInt());
        assertEquals(OnnxExporter.MAX_OPSET, writer.get("maxOpset").getAsInt());
        assertEquals(OnnxExporter.DEFAULT_OPSET, writer.get("defaultOpset").getAsInt());
        JsonObject keras = byId.get("keras-h5");
        assertTrue(keras.get("read").getAsBoolean());
        assertTrue(keras.get("write").getAsBoolean());
        assertEquals("[\"h5\",\"hdf5\"]", keras.getAsJsonArray("extensions").toString());
        assertTrue(byId.get("savedmodel").get("directory").getAsBoolean());
        JsonObject ort = o.getAsJsonArray("referenceEngines").get(0).getAsJsonObject();
        assertEquals("onnxruntime", ort.get("name").getAsString());
        assertNotNull(ort.get("version").getAsString());
        assertEquals("[\"onnx\"]", ort.getAsJsonArray("formats").toString());
    }

    @Test
    void versionPointsToTheFormatsCommand() {
        Cli.Result r = Cli.run("--version").expect(0);
        assertTrue(r.out().startsWith("lstmx " + Main.version()), r.out());
        assertTrue(r.out().contains("lstmx formats"), r.out());
    }
}
