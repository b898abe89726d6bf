package io.lstmx.tests;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every .onnx file exported by torch.onnx from a trained model: the imported IR, run by the native
 * runtime, must match onnxruntime running the original file on the same seeded random inputs.
 */
class RealOnnxModelsTest {
    @TestFactory
    Stream<DynamicTest> realModels() {
        Path root = TestFiles.shared().resolve("real-models/onnx");
        return TestFiles.find(root, ".onnx").stream()
                .map(f -> DynamicTest.dynamicTest(root.relativize(f).toString(), () -> check(f)));
    }

    private static void check(Path file) {
        Model model = OnnxImporter.load(file, java.util.Map.of());
        assertTrue(model.layers().stream().anyMatch(l -> l instanceof Layer.Lstm), file + " imports with an LSTM layer");
        Random random = new Random(file.getFileName().toString().hashCode());
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (ValueInfo in : model.inputs()) {
            inputs.put(in.name(), randomInput(in, random));
        }
        Map<String, Tensor> expected = OnnxRuntimeReference.run(file, inputs);
        Map<String, Tensor> actual = NativeRuntime.compile(model).run(inputs);
        assertEquals(expected.keySet(), actual.keySet(), "output names");
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            TestFiles.assertClose(actual.get(e.getKey()), e.getValue(), file.getFileName() + " output " + e.getKey());
        }
    }

    /** Standard-normal floats (a run-time batch of 2 for symbolic dims). */
    private static Tensor randomInput(ValueInfo in, Random random) {
        int[] shape = new int[in.shape().rank()];
        for (int i = 0; i < shape.length; i++) {
            Dim d = in.shape().dim(i);
            shape[i] = d instanceof Dim.Fixed f ? (int) f.size() : 2;
        }
        assertEquals(DType.FLOAT32, in.dtype(), "input " + in.name() + " of the real models is float");
        float[] v = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return Tensor.ofFloats(shape, v);
    }
}
