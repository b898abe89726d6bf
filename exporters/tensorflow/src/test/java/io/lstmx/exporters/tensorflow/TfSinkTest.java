package io.lstmx.exporters.tensorflow;

import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.tensorflow.proto.DataType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TfWeights.Sink}, which the writers stream the weights through: bytes reach the stream in
 * the order they were put although a second thread writes them, a failing stream fails the write,
 * and a constant that gives other than its shape's number of bytes is caught (the lengths written
 * before it would be wrong).
 */
class TfSinkTest {
    @Test
    void bytesReachTheStreamInTheOrderTheyWerePutAcrossManyBuffers() throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        ByteBuffer want = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[1000];
        for (int i = 0; i < f.length; i++) {
            f[i] = i * 0.5f - 7;
        }
        Tensor t = Tensor.ofFloats(new int[] {10, 100}, f);
        byte[] big = new byte[100]; // larger than the sink's buffer: written around it, in order
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 7);
        }
        try (TfWeights.Sink s = TfWeights.Sink.onto(got, 64)) {
            for (int round = 0; round < 3; round++) {
                s.putBytes(new byte[] {1, 2, 3});
                want.put(new byte[] {1, 2, 3});
                s.putFloats(f, 5, 333);
                want.asFloatBuffer().put(f, 5, 333);
                want.position(want.position() + 4 * 333);
                s.putInt(-round);
                want.putInt(-round);
                s.putBytes(big);
                want.put(big);
                s.putFloats(t, 17, 600);
                want.asFloatBuffer().put(f, 17, 600);
                want.position(want.position() + 4 * 600);
                s.putLong(Long.MIN_VALUE + round);
                want.putLong(Long.MIN_VALUE + round);
            }
            assertEquals(want.position(), s.count());
            s.finish();
        }
        byte[] w = new byte[want.position()];
        want.flip().get(w);
        assertArrayEquals(w, got.toByteArray());
    }

    @Test
    void aStreamThatFailsOnTheWriterThreadFailsTheWrite() {
        OutputStream failing = new OutputStream() {
            private int n;

            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                n += len;
                if (n > 200) {
                    throw new IOException("No space left on device");
                }
            }
        };
        IOException e = assertThrows(IOException.class, () -> {
            try (TfWeights.Sink s = TfWeights.Sink.onto(failing, 64)) {
                for (int i = 0; i < 1000; i++) {
                    s.putLong(i);
                }
                s.finish();
            }
        });
        assertEquals("No space left on device", e.getMessage());
    }

    @Test
    void aConstantThatGivesTooFewBytesIsCaught() {
        TfWeights.Values shortOne = new TfWeights.Values(DataType.DT_FLOAT, 2, 3) {
            @Override
            void writeTo(TfWeights.Sink out) throws IOException {
                out.putFloats(new float[5], 0, 5);
            }
        };
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
            try (TfWeights.Sink s = TfWeights.Sink.onto(new ByteArrayOutputStream(), 64)) {
                s.putCounted(shortOne);
            }
        });
        assertTrue(e.getMessage().contains("24 bytes gave 20"), e.getMessage());
    }
}
