package io.lstmx.references.libtorch;

import io.lstmx.api.Npy;
import io.lstmx.api.ReferenceEngine;
import io.lstmx.api.ReferenceEngines;
import io.lstmx.formats.Format;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every TorchScript fixture made by PyTorch 1.13 (fixtures/pytorch/torchscript, and the real
 * nh-libtorch model) run in libtorch through {@link LibtorchEngine}: its outputs must be PyTorch's,
 * |libtorch - PyTorch| &lt;= 1e-5 + 1e-4 |PyTorch|.
 */
class LibtorchFixturesTest {
    static final double ATOL = 1e-5;
    static final double RTOL = 1e-4;

    static Path root() {
        return Path.of(System.getProperty("lstmx.root", "../..")).toAbsolutePath().normalize();
    }

    static Path fixtures() {
        return root().resolve("fixtures/pytorch/torchscript");
    }

    /** The fixture's inputs by the names its case.json gives, in order. */
    static Map<String, Tensor> inputs(Path dir) throws IOException {
        String json = Files.readString(dir.resolve("case.json"));
        int at = json.indexOf("\"inputs\"");
        int end = json.indexOf("\"outputs\"");
        Matcher m = Pattern.compile("\"name\": \"([^\"]+)\",\\s*\"file\": \"([^\"]+)\"").matcher(json.substring(at, end));
        Map<String, Tensor> in = new LinkedHashMap<>();
        while (m.find()) {
            in.put(m.group(1), Npy.read(dir.resolve(m.group(2))));
        }
        return in;
    }

    static List<Tensor> expected(Path dir) {
        List<Tensor> out = new ArrayList<>();
        for (int k = 0; Files.exists(dir.resolve("output_" + k + ".npy")); k++) {
            out.add(Npy.read(dir.resolve("output_" + k + ".npy")));
        }
        return out;
    }

    /** Largest |a - e| over every output; fails naming the first value outside the tolerance. */
    static double compare(String what, List<Tensor> actual, List<Tensor> expected) {
        assertEquals(expected.size(), actual.size(), what + ": number of outputs");
        double worst = 0;
        for (int k = 0; k < expected.size(); k++) {
            Tensor e = expected.get(k);
            Tensor a = actual.get(k);
            assertTrue(java.util.Arrays.equals(e.shape(), a.shape()), what + " output " + k + ": shape "
                    + java.util.Arrays.toString(a.shape()) + ", PyTorch " + java.util.Arrays.toString(e.shape()));
            float[] ev = e.toFloatArray();
            float[] av = a.toFloatArray();
            for (int i = 0; i < ev.length; i++) {
                double d = Math.abs((double) av[i] - ev[i]);
                worst = Math.max(worst, d);
                if (!(d <= ATOL + RTOL * Math.abs(ev[i]))) {
                    fail(what + " output " + k + " at " + i + ": libtorch " + av[i] + ", PyTorch " + ev[i]);
                }
            }
        }
        return worst;
    }

    static List<Path> cases() throws IOException {
        try (Stream<Path> s = Files.list(fixtures())) {
            return s.filter(Files::isDirectory).sorted().toList();
        }
    }

    static String sentence(String folder) {
        return folder.replace('_', ' ');
    }

    @TestFactory
    Stream<DynamicTest> libtorchGivesPyTorchsOutputsForEveryTorchScriptFixture() throws IOException {
        ReferenceEngine engine = ReferenceEngines.named("libtorch");
        List<Path> cases = cases();
        assertTrue(cases.size() >= 30, "fixtures present: " + cases.size());
        return cases.stream().map(dir -> DynamicTest.dynamicTest(
                "libtorch runs " + sentence(dir.getFileName().toString()) + " as PyTorch 1.13 does", () -> {
                    Map<String, Tensor> in = inputs(dir);
                    try (ReferenceEngine.Session s = engine.open(dir.resolve("model.pt"), Format.TORCHSCRIPT)) {
                        assertEquals(List.copyOf(in.keySet()), s.inputNames(), "forward's parameters");
                        Map<String, Tensor> out = s.run(in);
                        compare(dir.getFileName().toString(), new ArrayList<>(out.values()), expected(dir));
                        assertEquals(List.copyOf(out.keySet()), s.outputNames());
                        // A second run in the same session (after libtorch's profiling executor optimised the graph) agrees too.
                        compare(dir.getFileName() + " (second run)", new ArrayList<>(s.run(in).values()), expected(dir));
                    }
                }));
    }

    @Test
    void theRealNeuralHydrologyTorchScriptModelGivesPyTorchsOutputs() throws IOException {
        Path dir = root().resolve("fixtures/pytorch/real/nh_lstm_torchscript");
        Path model = root().resolve("../shared/real-models/pytorch/jmframe__nh-libtorch/lstm_torchscript/lstm.ptc").normalize();
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(model), "../shared is beside the checkout");
        try (ReferenceEngine.Session s = new LibtorchEngine().open(model, Format.TORCHSCRIPT)) {
            assertEquals(List.of("input_layer", "h_t", "c_t"), s.inputNames());
            compare("nh_lstm_torchscript", new ArrayList<>(s.run(inputs(dir)).values()), expected(dir));
        }
    }

    @Test
    void theEngineIsFoundByNameRunsTorchScriptAndPassedItsSelfCheck() {
        ReferenceEngine e = ReferenceEngines.named("libtorch");
        assertEquals(Set.of(Format.TORCHSCRIPT), e.formats());
        assertEquals(e, ReferenceEngines.forFormat(Format.TORCHSCRIPT).orElseThrow());
        LibtorchRuntime.State st = LibtorchRuntime.state();
        assertNull(st.failure());
        assertNull(st.untrusted(), "self-check");
        assertTrue(st.selfCheckMax() < 1e-6, "self-check max |diff| " + st.selfCheckMax());
        assertTrue(e.version().startsWith("2.7.1"), e.version());
        assertEquals("true", System.getProperty("ai.djl.offline"));
    }
}
