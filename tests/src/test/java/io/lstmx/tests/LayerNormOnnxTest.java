package io.lstmx.tests;

import io.lstmx.api.Tolerance;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.exporters.onnx.OnnxWriter;
import io.lstmx.importers.onnx.OnnxReader;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Layer normalisation through ONNX: written as the LayerNormalization op (opset 17 on) or, before,
 * as its equations (ReduceMean, Sub, Mul, Sqrt, Div); onnxruntime agrees with the native runtime
 * on both; lstmx reads its opset-17 file back as one LayerNorm computing the same.
 */
class LayerNormOnnxTest {
    @TempDir
    Path dir;

    private static Tensor random(Random r, int... shape) {
        float[] f = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) (r.nextGaussian() * 2 + 0.5);
        }
        return Tensor.ofFloats(shape, f);
    }

    private static Model model(Tensor gamma, Tensor beta, float eps) {
        return new Model("ln", ModelInfo.NONE, List.of(new ValueInfo("x", DType.FLOAT32, Shape.of(2, 3, 6))),
                List.of(new ValueInfo("y", DType.FLOAT32, Shape.UNKNOWN)), List.of(new Layer.LayerNorm("ln", "x", "y", eps, gamma, beta)));
    }

    @Test
    void aLayerNormIsWrittenForEveryOpsetRunsInOnnxruntimeAndReadsBackAsOneLayer() throws Exception {
        Random r = new Random(7);
        Map<String, Tensor> in = Map.of("x", random(r, 2, 3, 6));
        for (Model m : List.of(model(random(r, 6), random(r, 6), 1e-3f), model(random(r, 6), null, 1e-5f), model(null, random(r, 6), 0.1f))) {
            Tensor expected = NativeRuntime.compile(m).run(in).get("y");
            for (int opset : new int[] {11, 14, 17, 22}) {
                Path f = dir.resolve("ln" + opset + "_" + m.hashCode() + ".onnx");
                new OnnxWriter().write(m, f, new WriteOptions(opset));
                TestFiles.assertClose(OnnxRuntimeReference.run(f, in).get("y"), expected, Tolerance.DEFAULT, "opset " + opset + " in onnxruntime");
                if (opset >= 17) {
                    Model back = new OnnxReader().read(f, ReadOptions.DEFAULT);
                    assertEquals(1, back.layers().stream().filter(l -> l instanceof Layer.LayerNorm).count(), "one LayerNorm read back");
                    TestFiles.assertClose(NativeRuntime.compile(back).run(in).get("y"), expected, Tolerance.DEFAULT, "opset " + opset + " read back");
                }
            }
        }
    }
}
