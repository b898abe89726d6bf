package io.lstmx.ir;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link Tensor#putFloats}, {@link Tensor#transposeInto} and {@link Tensor#transposeBlockInto}: values as float32 straight where writers want them, without copies of the tensor. */
class TensorWriterAccessTest {
    private static float[] drain(FloatBuffer b) {
        b.flip();
        float[] f = new float[b.remaining()];
        b.get(f);
        return f;
    }

    @Test
    void aRangeOfFloatsGoesIntoTheBufferAndAdvancesIt() {
        Tensor t = Tensor.ofFloats(new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6});
        FloatBuffer b = FloatBuffer.allocate(8);
        t.putFloats(1, 3, b);
        t.putFloats(5, 1, b);
        t.putFloats(0, 0, b);
        assertArrayEquals(new float[] {2, 3, 4, 6}, drain(b));
    }

    @Test
    void halfPrecisionIsWidenedAndIntegersConverted() {
        Tensor half = Tensor.ofFloats(new int[] {3}, new float[] {0.5f, -2f, 65504f}).withDType(DType.FLOAT16);
        FloatBuffer b = FloatBuffer.allocate(3);
        half.putFloats(0, 3, b);
        assertArrayEquals(half.toFloatArray(), drain(b));
        Tensor ints = Tensor.ofLongs(new int[] {3}, new long[] {7, -1, 1L << 24});
        FloatBuffer c = FloatBuffer.allocate(2);
        ints.putFloats(1, 2, c);
        assertArrayEquals(new float[] {-1, 1 << 24}, drain(c));
    }

    @Test
    void aLittleEndianViewGetsTheBytesOfFileOrder() {
        Tensor t = Tensor.ofFloats(new int[] {2}, new float[] {1f, -0f});
        ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        t.putFloats(0, 2, bytes.asFloatBuffer());
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3f, 0, 0, 0, (byte) 0x80}, bytes.array());
    }

    @Test
    void rangesOutsideTheTensorAreRefused() {
        Tensor t = Tensor.zeros(4);
        FloatBuffer b = FloatBuffer.allocate(16);
        assertThrows(IndexOutOfBoundsException.class, () -> t.putFloats(3, 2, b));
        assertThrows(IndexOutOfBoundsException.class, () -> t.putFloats(-1, 1, b));
        assertEquals(0, b.position(), "nothing was written");
    }
    @Test
    void transposeIntoPlacesEachElementAtItsTransposedIndexInAWiderMatrix() {
        for (int[] rc : new int[][] {{1, 1}, {3, 5}, {16, 7}, {17, 33}, {40, 3}}) {
            int r = rc[0];
            int c = rc[1];
            float[] v = new float[r * c];
            for (int i = 0; i < v.length; i++) {
                v[i] = i + 1;
            }
            int stride = r + 2;
            float[] dst = new float[3 + c * stride];
            Tensor.ofFloats(new int[] {r, c}, v).transposeInto(dst, 3, stride);
            float[] want = new float[dst.length];
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < c; j++) {
                    want[3 + j * stride + i] = v[i * c + j];
                }
            }
            assertArrayEquals(want, dst, r + "x" + c);
            float[] half = new float[r * c];
            Tensor.ofFloats(new int[] {r, c}, v).withDType(DType.FLOAT16).transposeInto(half, 0, r);
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < c; j++) {
                    assertEquals(Tensor.ofFloats(new int[] {1}, new float[] {v[i * c + j]}).withDType(DType.FLOAT16).getFloat(0), half[j * r + i]);
                }
            }
        }
        assertThrows(IndexOutOfBoundsException.class, () -> Tensor.zeros(2, 3).transposeInto(new float[5], 0, 2));
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(6).transposeInto(new float[6], 0, 6));
    }

    @Test
    void transposeBlockIntoPlacesARowAndColumnRangeAtItsTransposedIndex() {
        int r = 37;
        int c = 21;
        float[] v = new float[r * c];
        for (int i = 0; i < v.length; i++) {
            v[i] = i + 1;
        }
        Tensor t = Tensor.ofFloats(new int[] {r, c}, v);
        // rows [5, 30) of columns [2, 19) into a matrix of stride 40 at offset 7, the rest left alone
        int i0 = 5;
        int i1 = 30;
        int j0 = 2;
        int j1 = 19;
        int stride = 40;
        float[] dst = new float[7 + (j1 - j0) * stride];
        java.util.Arrays.fill(dst, -1f);
        t.transposeBlockInto(i0, i1, j0, j1, dst, 7, stride);
        float[] want = new float[dst.length];
        java.util.Arrays.fill(want, -1f);
        for (int i = i0; i < i1; i++) {
            for (int j = j0; j < j1; j++) {
                want[7 + (j - j0) * stride + (i - i0)] = v[i * c + j];
            }
        }
        assertArrayEquals(want, dst);
        assertThrows(IndexOutOfBoundsException.class, () -> t.transposeBlockInto(30, 38, 0, 1, new float[64], 0, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> t.transposeBlockInto(0, 8, 0, 2, new float[15], 0, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> t.transposeBlockInto(0, 8, 0, 2, new float[64], 0, 7));
    }
}
