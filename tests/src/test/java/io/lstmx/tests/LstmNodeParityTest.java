package io.lstmx.tests;

import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Node-level parity of the ONNX LSTM: for every attribute and optional input (see
 * {@link LstmNodeCase#all()}), lstmx (ONNX importer + native runtime) must give onnxruntime's numbers.
 */
class LstmNodeParityTest {
    @TempDir
    Path dir;

    @TestFactory
    Stream<DynamicTest> nativeRuntimeMatchesOnnxruntime() {
        return LstmNodeCase.all().stream().map(c -> DynamicTest.dynamicTest(c.name, () -> {
            Path file = c.write(dir);
            Map<String, Tensor> expected = c.expected(dir);
            assertEquals(c.outputNames(), expected.keySet().stream().toList(), c.name + ": onnxruntime outputs");

            Model model = OnnxImporter.load(file, java.util.Map.of());
            assertEquals(1, model.layers().stream().filter(l -> l instanceof Layer.Lstm).count(), c.name + ": one IR LSTM layer");
            assertEquals(c.outputNames(), model.outputNames(), c.name + ": imported outputs");
            Map<String, Tensor> actual = NativeRuntime.compile(model).run(c.inputs());
            for (String out : c.outputNames()) {
                Tensor a = actual.get(out);
                assertNotNull(a, c.name + ": native runtime returned no '" + out + "', only " + actual.keySet());
                TestFiles.assertClose(a, expected.get(out), c.name + " output " + out + " (native runtime vs onnxruntime)");
            }
        }));
    }
}
