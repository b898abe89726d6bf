package io.lstmx.tests;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.formats.Format;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Models whose weights exceed what one protobuf message may hold are written with external data,
 * as the ONNX specification provides, and read back by lstmx and onnxruntime alike. The limit is
 * lowered here (WriteOptions.externalDataLimit) so that the test stays small; the default is just
 * under 2 GiB.
 */
class ExternalDataExportTest {
    @TempDir
    Path dir;

    static Model twoDense(Random r) {
        Tensor w1 = ConcurrencyTest.random(r, 0.2f, 512, 64);
        Tensor b1 = ConcurrencyTest.random(r, 0.2f, 512);
        Tensor w2 = ConcurrencyTest.random(r, 0.2f, 32, 512);
        return new Model("two_dense", ModelInfo.NONE,
                List.of(new ValueInfo("x", DType.FLOAT32, Shape.of(2, 64))),
                List.of(new ValueInfo("y", DType.FLOAT32, Shape.of(2, 32))),
                List.of(new Layer.Dense("d1", "x", "h", w1, b1), new Layer.Dense("d2", "h", "y", w2, null)));
    }

    @Test
    void weightsOverTheLimitGoToADataFileThatLstmxAndOnnxruntimeBothRead() throws IOException {
        Model m = twoDense(new Random(3));
        Path file = dir.resolve("big.onnx");
        Lstmx.save(m, file, Format.ONNX, new WriteOptions(0, false, 100_000));

        Path data = dir.resolve("big.onnx.data");
        assertTrue(Files.isRegularFile(data), "the data file sits beside the model");
        ModelProto p;
        try (InputStream in = Files.newInputStream(file)) {
            p = ModelProto.parseFrom(in);
        }
        long external = p.getGraph().getInitializerList().stream()
                .filter(t -> t.getDataLocation() == TensorProto.DataLocation.EXTERNAL).count();
        assertEquals(3, external, "the two weight matrices (128 KiB, 64 KiB) and the 2 KiB bias, all over 1 KiB, are external");
        assertTrue(Files.size(file) < 4096, "the model file holds only the graph: " + Files.size(file) + " bytes");
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("big.onnx", "big.onnx.data"), s.map(x -> x.getFileName().toString()).sorted().toList(),
                    "nothing else is left in the folder");
        }

        Tensor x = ConcurrencyTest.random(new Random(5), 1f, 2, 64);
        Tensor expected = NativeRuntime.compile(m).run(Map.of("x", x)).get("y");
        LoadedModel back = Lstmx.load(file);
        assertArrayEquals(expected.toFloatArray(), back.run(Map.of("x", x)).get("y").toFloatArray(), "read back bit for bit");
        Tensor ort = OnnxRuntimeReference.run(file, Map.of("x", x)).get("y");
        TestFiles.assertClose(ort, expected, "onnxruntime on the externalised file");
    }

    @Test
    void weightsUnderTheLimitStayInsideTheModel() {
        Path file = dir.resolve("small.onnx");
        Lstmx.save(twoDense(new Random(3)), file, Format.ONNX);
        assertTrue(!Files.exists(dir.resolve("small.onnx.data")));
    }
}
