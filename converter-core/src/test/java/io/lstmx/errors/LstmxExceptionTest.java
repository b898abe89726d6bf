package io.lstmx.errors;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class LstmxExceptionTest {
    @Test
    void namesWithLineBreaksAndControlCharactersStayOnOneLine() {
        LstmxException e = LstmxException.badInput("m.onnx: node 'a\nb \r\n c\u2028d\u001b[31m' (Relu) reads 'x\ty\u0000'");
        assertEquals("m.onnx: node 'a b c d\\u001b[31m' (Relu) reads 'x\ty\\u0000'", e.getMessage());
        assertEquals("ctx: m.onnx: node 'a b c d\\u001b[31m' (Relu) reads 'x\ty\\u0000'", e.withContext("ctx").getMessage());
        assertEquals("model.onnx: node 'x' expected A found B",
                LstmxException.badInput("model.onnx: node 'x'\nexpected A\r\n  found B").getMessage());
    }

    @Test
    void plainMessagesAreKept() {
        String m = "m.onnx: tensor 'W' has shape [1, 2], expected [1, 3] \u00e9";
        assertSame(m, LstmxException.unsupported(m).getMessage());
        assertEquals(null, new LstmxException(ErrorCode.INTERNAL, null).getMessage());
    }
}
