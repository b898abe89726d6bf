package io.lstmx.references.onnxruntime;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.api.Lstmx;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.formats.Format;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How onnxruntime's refusals are reported: which category, naming which file and input. */
class OnnxRuntimeReferenceTest {
    private static final int I = 2;
    private static final int H = 3;

    @TempDir
    Path dir;

    /**
     * A valid ONNX LSTM with layout=1 (batch-major, opset 14), which onnxruntime parses but whose CPU
     * kernel refuses it (when the session is built): a limit of the reference engine, not bad input.
     */
    @Test
    void aValidModelOnnxruntimeCannotRunIsUnsupported() {
        LstmWeights w = new LstmWeights(Tensor.zeros(4 * H, I), Tensor.zeros(4 * H, H), Tensor.zeros(4 * H), Tensor.zeros(4 * H), null, null);
        Layer.Lstm lstm = new Layer.Lstm("lstm", new RecurrentPorts("x", null, null, null, "y", null, null),
                LstmSpec.standard(I, H, Direction.FORWARD, Layout.BATCH_MAJOR), List.of(w), GateOrder.ONNX);
        Model m = new Model("m", ModelInfo.NONE, List.of(new ValueInfo("x", DType.FLOAT32, Shape.of(1, 5, I))),
                List.of(new ValueInfo("y", DType.FLOAT32, Shape.UNKNOWN)), List.of(lstm));
        Path file = dir.resolve("layout1.onnx");
        Lstmx.save(m, file, Format.ONNX, new WriteOptions(14, true));

        LstmxException e = assertThrows(LstmxException.class,
                () -> OnnxRuntimeReference.run(file, Map.of("x", Tensor.zeros(1, 5, I))));
        assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
        assertTrue(e.getMessage().startsWith(file + ": onnxruntime cannot run this model"), e.getMessage());
        assertTrue(e.getMessage().contains("layout"), e.getMessage());
    }

    @Test
    void inputConversionErrorsNameTheFileAndTheInput() {
        // A model taking int32: a value outside int32 is not silently wrapped around.
        Model m = new Model("m", ModelInfo.NONE, List.of(new ValueInfo("n", DType.INT32, Shape.of(2))),
                List.of(new ValueInfo("y", DType.FLOAT32, Shape.UNKNOWN)), List.of(new Layer.Cast("cast", "n", "y", DType.FLOAT32)));
        Path file = dir.resolve("int32.onnx");
        Lstmx.save(m, file, Format.ONNX);
        Tensor fits = Tensor.ofLongs(DType.INT64, new int[] {2}, new long[] {-5, 7});
        assertEquals(-5f, OnnxRuntimeReference.run(file, Map.of("n", fits)).get("y").getFloat(0));

        Tensor tooBig = Tensor.ofLongs(DType.INT64, new int[] {2}, new long[] {1, 1L << 40});
        LstmxException e = assertThrows(LstmxException.class, () -> OnnxRuntimeReference.run(file, Map.of("n", tooBig)));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().startsWith(file + ": input 'n': value 1099511627776"), e.getMessage());

        e = assertThrows(LstmxException.class, () -> OnnxRuntimeReference.run(file, Map.of("nope", fits)));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().startsWith(file + ": onnxruntime session has no input 'nope'"), e.getMessage());

        // Inputs of a shape the model does not take are the caller's mistake, not a limit of onnxruntime.
        e = assertThrows(LstmxException.class, () -> OnnxRuntimeReference.run(file, Map.of("n", Tensor.ofLongs(DType.INT64, new int[] {1, 2}, new long[] {1, 2}))));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
    }

    /**
     * A fixture's LSTM node writes Y, Y_h and Y_c; the graph outputs Squeeze(Y) and Y_h, Y_c under
     * other names. Asked for, Y comes back after the outputs; names no node writes are left out.
     */
    @Test
    void intermediateValuesAreReturnedAfterTheOutputs() {
        Path model = Path.of(System.getProperty("lstmx.root", "../..")).resolve("fixtures/onnx/pytorch/uni_1layer/model.onnx");
        Map<String, Tensor> in = Map.of("x", Tensor.ofFloats(new int[] {2, 1, 6}, new float[] {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6}));
        try (OnnxRuntimeReference plain = OnnxRuntimeReference.open(model);
             OnnxRuntimeReference exposing = OnnxRuntimeReference.open(model, List.of("/lstm/LSTM_output_0", "no_such_value", "y"))) {
            assertEquals(plain.outputNames(), exposing.outputNames(), "the model's own outputs");
            Map<String, Tensor> outputs = plain.run(in);
            Map<String, Tensor> more = exposing.run(in);
            List<String> expected = new java.util.ArrayList<>(outputs.keySet());
            expected.add("/lstm/LSTM_output_0");
            assertEquals(expected, List.copyOf(more.keySet()));
            Tensor y = more.get("/lstm/LSTM_output_0");
            assertEquals(List.of(2, 1, 1, 16), java.util.Arrays.stream(y.shape()).boxed().toList(), "Y is [T, D, B, H]");
            assertTrue(y.reshape(2, 1, 16).bitEquals(outputs.get("y")), "Squeeze(Y) is the output y");
        }
    }
}
