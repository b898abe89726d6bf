package io.lstmx.exporters.pytorch;

import io.lstmx.ir.samples.Npy;
import io.lstmx.ir.samples.Golden;

import io.lstmx.ir.samples.Samples;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.importers.pytorch.StateDictReader;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * state_dicts written by lstmx read back through the PyTorch importer (StateDictReader) give the
 * same network: same outputs in the native runtime, and PyTorch's own outputs for the fixtures.
 */
class StateDictRoundTripTest {
    @TempDir
    Path dir;

    /** The read hints of a fixture's state_dict.pt entry in its case.json. */
    static ReadOptions hints(Path caseJson) throws Exception {
        String json = Files.readString(caseJson);
        int at = json.indexOf("\"state_dict.pt\"");
        ReadOptions o = ReadOptions.DEFAULT;
        if (at < 0) {
            return null;
        }
        int h = json.indexOf("\"hints\"", at);
        String obj = json.substring(h, json.indexOf('}', h));
        Matcher m = Pattern.compile("\"([a-z-]+)\"\\s*:\\s*\"?(true|false)").matcher(obj);
        while (m.find()) {
            o = o.withHint(m.group(1), m.group(2));
        }
        return o;
    }

    @TestFactory
    Stream<DynamicTest> pytorchStateDictsReadWrittenAndReadAgainComputeWhatPytorchComputed() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        try (Stream<Path> cases = Files.list(Golden.root().resolve("fixtures/pytorch"))) {
            for (Path c : cases.sorted().toList()) {
                Path sd = c.resolve("state_dict.pt");
                if (!Files.exists(sd) || !Files.exists(c.resolve("case.json"))) {
                    continue;
                }
                tests.add(DynamicTest.dynamicTest(c.getFileName().toString(), () -> {
                    ReadOptions o = hints(c.resolve("case.json"));
                    Model a = new StateDictReader().read(sd, o);
                    Path out = Files.createTempDirectory(dir, "sd").resolve("model.pth");
                    new StateDictWriter().write(a, out, WriteOptions.DEFAULT);
                    boolean constants = a.layers().stream().anyMatch(l -> l instanceof Layer.Constant);
                    org.junit.jupiter.api.Assumptions.assumeFalse(constants,
                            "the model holds constants (BatchNorm folded), written as buffers the importer's inference rules do not place");
                    Model b = new StateDictReader().read(out, o);
                    Map<String, Tensor> in = Npy.inputs(c, a);
                    Map<String, Tensor> ra = NativeRuntime.compile(a).run(in);
                    Map<String, Tensor> rb = NativeRuntime.compile(b).run(Npy.inputs(c, b));
                    assertEquals(a.outputNames().size(), b.outputNames().size());
                    // A stack of IR recurrent layers (num_layers > 1) is written as one multi-layer module:
                    // read back, its h_n / c_n are whole again, so every output is compared.
                    for (int k = 0; k < a.outputNames().size(); k++) {
                        Tensor expected = Npy.read(c.resolve("output_" + k + ".npy"));
                        Golden.close(expected, rb.get(b.outputNames().get(k)), "output " + k + " read back vs PyTorch");
                        Golden.close(ra.get(a.outputNames().get(k)), rb.get(b.outputNames().get(k)), "output " + k + " read back vs before");
                    }
                }));
            }
        }
        return tests.stream();
    }

    @Test
    void aClassifierWrittenAsStateDictReadsBackWithTheSameWeightsAndOutputs() throws Exception {
        for (Layout layout : Layout.values()) {
            Samples.Sample s = Samples.classifier("classifier", Direction.BIDIRECTIONAL, layout);
            Path out = Files.createTempDirectory(dir, "cls").resolve("model.pth");
            new StateDictWriter().write(s.model(), out, WriteOptions.DEFAULT);
            ReadOptions o = ReadOptions.DEFAULT.withHint(StateDictReader.LAST_STEP, "true")
                    .withHint(StateDictReader.BATCH_FIRST, Boolean.toString(layout == Layout.BATCH_MAJOR));
            Model b = new StateDictReader().read(out, o);
            Layer.Lstm before = (Layer.Lstm) s.model().layers().get(0);
            Layer.Lstm after = (Layer.Lstm) b.layers().stream().filter(l -> l instanceof Layer.Lstm).findFirst().orElseThrow();
            for (int d = 0; d < 2; d++) {
                assertArrayEquals(before.weights().get(d).w().toFloatArray(), after.weights().get(d).w().toFloatArray());
                assertArrayEquals(before.weights().get(d).rb().toFloatArray(), after.weights().get(d).rb().toFloatArray());
            }
            // The importer's classifier ends at the Linear (softmax is forward code, not in a state_dict).
            Tensor x = s.inputs().get("x");
            Tensor logits = NativeRuntime.compile(b).run(Map.of(b.inputNames().get(0), x)).values().iterator().next();
            Tensor p = NativeRuntime.compile(s.model()).run(s.inputs()).get("p");
            float[] l = logits.toFloatArray();
            float[] q = new float[l.length];
            for (int r = 0; r < l.length / 2; r++) {
                double e0 = Math.exp(l[2 * r]);
                double e1 = Math.exp(l[2 * r + 1]);
                q[2 * r] = (float) (e0 / (e0 + e1));
                q[2 * r + 1] = (float) (e1 / (e0 + e1));
            }
            Golden.close(p, Tensor.ofFloats(p.shape(), q), layout + ": softmax of the read-back logits");
        }
    }

    @Test
    void theArchiveIsStoredAlignedAndTheSameBytesEachTime() throws Exception {
        Samples.Sample s = Samples.classifier("classifier", Direction.FORWARD, Layout.TIME_MAJOR);
        Path a = dir.resolve("a.pth");
        Path b = dir.resolve("b.pth");
        new StateDictWriter().write(s.model(), a, WriteOptions.DEFAULT);
        new StateDictWriter().write(s.model(), b, WriteOptions.DEFAULT);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "deterministic");
        List<String> names = new ArrayList<>();
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(a.toFile())) {
            z.stream().forEach(e -> {
                names.add(e.getName());
                assertEquals(java.util.zip.ZipEntry.STORED, e.getMethod(), e.getName());
            });
            assertEquals("3", new String(z.getInputStream(z.getEntry("archive/version")).readAllBytes()).trim());
            assertEquals("little", new String(z.getInputStream(z.getEntry("archive/byteorder")).readAllBytes()));
        }
        assertTrue(names.containsAll(List.of("archive/data.pkl", "archive/data/0", "archive/version")), names.toString());
        // every entry's data starts at a multiple of 64: local header 30 + name + extra
        byte[] bytes = Files.readAllBytes(a);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int off = 0;
        while (buf.getInt(off) == 0x04034b50) {
            int size = buf.getInt(off + 18);
            int data = off + 30 + (buf.getShort(off + 26) & 0xffff) + (buf.getShort(off + 28) & 0xffff);
            assertEquals(0, data % 64, "entry at " + off);
            off = data + size;
        }
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of("a.pth", "a.py", "b.pth", "b.py"), left.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temporary files left");
        }
        assertTrue(Files.readString(dir.resolve("a.py")).contains("self.lstm = nn.LSTM(3, 4"), Arrays.toString(names.toArray()));
    }
}
