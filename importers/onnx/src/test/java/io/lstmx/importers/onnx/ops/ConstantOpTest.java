package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.ir.DType;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class ConstantOpTest {
    @Test
    void everyValueAttribute() {
        Model m = new OnnxBuilder(13)
                .node("Constant", List.of(), List.of("t"), attr("value", f(s(2), 1, 2)))
                .node("Constant", List.of(), List.of("f"), attr("value_float", 2.5f))
                .node("Constant", List.of(), List.of("fs"), floats("value_floats", 1, 2, 3))
                .node("Constant", List.of(), List.of("i"), attr("value_int", 4L))
                .node("Constant", List.of(), List.of("is"), ints("value_ints", 5, 6))
                .output("t").output("f").output("fs").output("i").output("is").convert();
        assertArrayEquals(new float[] {1, 2}, constantOutput(m, "t").toFloatArray());
        assertEquals(0, constantOutput(m, "f").rank());
        assertArrayEquals(new float[] {2.5f}, constantOutput(m, "f").toFloatArray());
        assertArrayEquals(new float[] {1, 2, 3}, constantOutput(m, "fs").toFloatArray());
        assertEquals(DType.INT64, constantOutput(m, "i").dtype());
        assertArrayEquals(new long[] {4}, constantOutput(m, "i").toLongArray());
        assertArrayEquals(new long[] {5, 6}, constantOutput(m, "is").toLongArray());
    }

    @Test
    void stringConstantsAreUnsupported() {
        new OnnxBuilder(13).node("Constant", List.of(), List.of("s"), attr("value_string", "hello"))
                .output("s").fails(ErrorCode.UNSUPPORTED);
        io.lstmx.onnx.proto.Onnx.AttributeProto stringTensor = io.lstmx.onnx.proto.Onnx.AttributeProto.newBuilder().setName("value")
                .setT(io.lstmx.onnx.proto.Onnx.TensorProto.newBuilder().setDataType(8).addDims(1)
                        .addStringData(com.google.protobuf.ByteString.copyFromUtf8("a")))
                .build();
        String msg = new OnnxBuilder(13).node("strings", "Constant", List.of(), List.of("s"), stringTensor)
                .output("s").fails(ErrorCode.UNSUPPORTED).getMessage();
        assertEquals(1, msg.split("test\\.onnx", -1).length - 1, "the file is named once: " + msg);
        assertEquals(1, msg.split("node 'strings'", -1).length - 1, "the node is named once: " + msg);
    }
}
