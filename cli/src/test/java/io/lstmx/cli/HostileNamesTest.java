package io.lstmx.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.lstmx.onnx.proto.Onnx;
import io.lstmx.util.SafeText;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Names read from a model file reach the terminal: a producer, graph, node, output or dimension name
 * holding a line break and an escape sequence must neither forge lines nor colour the terminal, in
 * any command's output, while JSON keeps the exact names (escaped as JSON).
 */
class HostileNamesTest {
    private static final String EVIL = "\n\u001b[31mFAKE";

    @TempDir
    Path dir;

    /** The sample classifier with every kind of name made hostile (or left alone when {@code suffix} is empty). */
    private Path model(String fileName, String suffix) throws IOException {
        Path src = Cli.fixture("sample_classifier").resolve("model.onnx");
        Onnx.ModelProto.Builder m = Onnx.ModelProto.parseFrom(Files.readAllBytes(src)).toBuilder();
        m.setProducerName("pytorch" + suffix);
        Onnx.GraphProto.Builder g = m.getGraphBuilder();
        g.setName("torch_jit" + suffix);
        for (Onnx.NodeProto.Builder n : g.getNodeBuilderList()) {
            if (n.getName().equals("/lstm/LSTM")) {
                n.setName("/lstm/LSTM" + suffix);
            }
            for (int i = 0; i < n.getOutputCount(); i++) {
                if (n.getOutput(i).equals("probs")) {
                    n.setOutput(i, "probs" + suffix);
                }
            }
        }
        g.getOutputBuilder(0).setName("probs" + suffix);
        g.getInputBuilder(0).getTypeBuilder().getTensorTypeBuilder().getShapeBuilder().getDimBuilder(0).setDimParam("batch" + suffix);
        return Files.write(dir.resolve(fileName), m.build().toByteArray());
    }

    private static void assertSafe(String out, String what) {
        assertFalse(out.contains("\u001b"), what + " prints a raw ESC: " + out);
        for (String line : out.split("\n", -1)) {
            assertFalse(line.startsWith("FAKE") || line.startsWith("\u001b"), what + " has a forged line: " + out);
        }
    }

    @Test
    void inspectPrintsOneLinePerItem() throws IOException {
        String clean = Cli.run("inspect", model("clean.onnx", "")).expect(0).out();
        String out = Cli.run("inspect", model("evil.onnx", EVIL)).expect(0).out();
        assertSafe(out, "inspect");
        assertEquals(clean.lines().count(), out.lines().count(), "same lines as with plain names:\n" + out);
        String shown = SafeText.oneLine(EVIL);
        // The producer line also shows the producer version.
        for (String item : List.of("producer:  pytorch" + shown, "name:      torch_jit" + shown)) {
            assertTrue(out.lines().anyMatch(l -> l.startsWith(item)), "'" + item + "' on its own line in:\n" + out);
        }
        assertTrue(out.lines().anyMatch(l -> l.contains("/lstm/LSTM" + shown) && l.contains("LSTM")), "layer row:\n" + out);
        assertTrue(out.lines().anyMatch(l -> l.contains("probs" + shown) && l.contains("float32")), "output row:\n" + out);
        assertTrue(out.lines().anyMatch(l -> l.contains("batch" + shown) && l.contains("x")), "input row:\n" + out);
    }

    @Test
    void inspectJsonKeepsTheExactNames() throws IOException {
        String out = Cli.run("inspect", "--json", model("evil.onnx", EVIL)).expect(0).out();
        assertSafe(out, "inspect --json");
        JsonObject o = JsonTest.parseStrict(out).getAsJsonObject();
        assertEquals("torch_jit" + EVIL, o.get("name").getAsString());
        assertTrue(o.get("producer").getAsString().startsWith("pytorch" + EVIL), o.get("producer").getAsString());
        assertEquals("probs" + EVIL, o.getAsJsonArray("outputs").get(0).getAsJsonObject().get("name").getAsString());
        boolean layer = false;
        for (JsonElement e : o.getAsJsonArray("layers")) {
            layer |= e.getAsJsonObject().get("name").getAsString().equals("/lstm/LSTM" + EVIL);
        }
        assertTrue(layer, out);
    }

    @Test
    void convertRunAndVerifyPrintOneLinePerItem() throws IOException {
        Path evil = model("evil.onnx", EVIL);
        Cli.Result convert = Cli.run("convert", evil, dir.resolve("out.onnx")).expect(0);
        assertSafe(convert.out(), "convert");
        assertEquals(2, convert.out().lines().count(), convert.out());
        assertTrue(convert.out().contains("(pytorch" + SafeText.oneLine(EVIL) + " "), convert.out());

        Path input = Cli.fixture("sample_classifier").resolve("input_0.npy");
        Cli.Result run = Cli.run("run", evil, "--input", input, "--output-dir", dir.resolve("run"));
        run.expect(0);
        assertSafe(run.out(), "run");
        assertEquals(1, run.out().lines().count(), run.out());

        Cli.Result verify = Cli.run("verify", evil).expect(0);
        assertSafe(verify.out(), "verify");
        assertTrue(verify.out().lines().allMatch(l -> !l.contains("probs") || l.contains("probs" + SafeText.oneLine(EVIL))), verify.out());
    }

    @Test
    void theSanitiserFoldsBreaksAndEscapesControls() {
        assertEquals("a b", SafeText.oneLine("a \r\n\n  b"));
        assertEquals("x\\u001b[31m y\\u0007\\u009b\\u202e\tz", SafeText.oneLine("x\u001b[31m\ny\u0007\u009b\u202e\tz"));
        assertEquals("plain", SafeText.oneLine("plain"));
        assertEquals(null, SafeText.oneLine(null));
    }
}
