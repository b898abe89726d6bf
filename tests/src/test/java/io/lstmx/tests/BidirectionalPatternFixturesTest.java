package io.lstmx.tests;

import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.passes.BidirectionalMerge;
import io.lstmx.passes.BidirectionalPattern;
import io.lstmx.passes.DeadLayerRemoval;
import io.lstmx.passes.Passes;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link BidirectionalPattern} on every model PyTorch's ONNX exporter wrote under fixtures/onnx:
 * each bidirectional layer of the PyTorch module (as its case.json describes it, written by
 * generate.py from the module's definition, not by lstmx) is found once, with a time-major
 * [T, B, 2H] output, and models without one find nothing. Exporters to PyTorch and Keras rely on
 * this to recognise what PyTorch itself writes.
 */
class BidirectionalPatternFixturesTest {
    /** One torch.nn recurrent module in a description: "nn.LSTM(8, 16, num_layers=2, bidirectional=True)". */
    private static final Pattern MODULE = Pattern.compile("nn\\.(LSTM|GRU|RNN)\\(([^)]*)\\)");
    private static final Pattern LAYERS = Pattern.compile("num_layers=(\\d+)");
    private static final Pattern DESCRIPTION = Pattern.compile("\"description\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** Bidirectional layers the described module has: num_layers of each bidirectional nn.LSTM/GRU/RNN. */
    static int bidirectionalLayers(String description) {
        int n = 0;
        Matcher m = MODULE.matcher(description);
        while (m.find()) {
            if (m.group(2).contains("bidirectional=True")) {
                Matcher layers = LAYERS.matcher(m.group(2));
                n += layers.find() ? Integer.parseInt(layers.group(1)) : 1;
            }
        }
        return n;
    }

    private static String description(Path dir) throws IOException {
        Matcher m = DESCRIPTION.matcher(Files.readString(dir.resolve("case.json")));
        assertTrue(m.find(), dir + ": case.json has no description");
        return m.group(1);
    }

    @TestFactory
    Stream<DynamicTest> everyBidirectionalLayerPyTorchExportedIsFoundWithItsConcatenatedOutput() {
        List<DynamicTest> tests = new ArrayList<>();
        int bidirectionalCases = 0;
        for (String tree : List.of("pytorch", "pytorch-gru-rnn", "packed", "variants", "streaming")) {
            for (Path dir : FixtureCase.list(TestFiles.fixtures().resolve("onnx").resolve(tree))) {
                String description;
                try {
                    description = description(dir);
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
                int expected = bidirectionalLayers(description);
                bidirectionalCases += expected > 0 ? 1 : 0;
                tests.add(DynamicTest.dynamicTest(tree + "/" + dir.getFileName(), () -> check(dir.resolve("model.onnx"), expected, description)));
            }
        }
        assertTrue(bidirectionalCases >= 8, "the fixtures hold bidirectional cases: " + bidirectionalCases);
        return tests.stream();
    }

    private static void check(Path file, int expected, String description) {
        Model m = OnnxImporter.load(file, Map.of());
        List<BidirectionalPattern.Match> found = BidirectionalPattern.find(m);
        assertEquals(expected, found.size(), description);
        long bidirectional = m.layers().stream().filter(l -> direction(l) == Direction.BIDIRECTIONAL).count();
        assertEquals(expected, bidirectional, "every bidirectional layer is found: " + description);
        for (BidirectionalPattern.Match match : found) {
            assertEquals(Layout.TIME_MAJOR, match.outputLayout(), "PyTorch concatenates time-major, then transposes for batch_first");
            assertEquals(List.of("Transpose", "Reshape"), match.concatenation().stream().map(Layer::kind).toList());
        }
        // Nothing for the other passes to do on what PyTorch wrote: the importer already dropped dead layers.
        assertSame(m, Passes.of(new BidirectionalMerge(), new DeadLayerRemoval()).run(m));
    }

    private static Direction direction(Layer l) {
        if (l instanceof Layer.Lstm x) {
            return x.spec().direction();
        }
        if (l instanceof Layer.Gru x) {
            return x.spec().direction();
        }
        return l instanceof Layer.Rnn x ? x.spec().direction() : null;
    }
}
