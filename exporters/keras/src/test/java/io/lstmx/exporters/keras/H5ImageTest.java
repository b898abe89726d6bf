package io.lstmx.exporters.keras;

import io.lstmx.ir.samples.Bytes;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The HDF5 image keeps the datasets' arrays and writes them when it is written (issue 9): the same
 * bytes every time, as many as it says, the superblock naming that end, each dataset's values where
 * its layout says; and kernels are transposed tile by tile without a copy of the source.
 */
class H5ImageTest {
    @Test
    void theImageWritesTheSameBytesEachTimeWithEachDatasetWhereItsLayoutSays() throws IOException {
        float[] a = new float[70_000]; // more than one 64 Ki-float chunk
        for (int i = 0; i < a.length; i++) {
            a[i] = i - 0.5f;
        }
        float[] kept = a.clone();
        float[] b = {1, 2, 3};
        H5Writer.Group root = new H5Writer.Group();
        root.attr("name", "m");
        root.path("layers/lstm/vars").dataset("0", new int[] {700, 100}, a);
        root.path("layers/lstm/vars").dataset("1", new int[] {3}, b);
        root.group("empty");
        H5Writer.Image image = H5Writer.write(root);
        byte[] once = image.toByteArray();
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        image.writeTo(again);
        assertArrayEquals(once, again.toByteArray());
        assertEquals(image.size(), once.length);
        ByteBuffer sb = ByteBuffer.wrap(once).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(once.length, sb.getLong(28), "the superblock's end-of-file address");
        ByteBuffer want = ByteBuffer.allocate(4 * a.length).order(ByteOrder.LITTLE_ENDIAN);
        want.asFloatBuffer().put(a);
        int at = Bytes.indexOf(once, want.array()); // the values of the first dataset, little-endian, in one piece
        assertEquals(at, ByteBuffer.wrap(once).order(ByteOrder.LITTLE_ENDIAN).getLong(Bytes.indexOf(once, layout(4L * a.length)) - 8),
                "its layout message gives that address");
        assertArrayEquals(kept, a, "writing does not change the values");
    }

    /** The size field of a contiguous layout message: 8 little-endian bytes. */
    private static byte[] layout(long size) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(size).array();
    }


    @Test
    void kernelsAreTransposedAFewRowsAtATimeWhenTheFileIsWritten() {
        // shapes around the 16-row tiles and a transpose row longer than one chunk of values (70000 > 65536)
        for (int[] rc : new int[][] {{1, 1}, {3, 5}, {16, 7}, {17, 33}, {40, 3}, {0, 4}, {70000, 2}, {5, 30000}}) {
            int r = rc[0];
            int c = rc[1];
            float[] v = new float[r * c];
            for (int i = 0; i < v.length; i++) {
                v[i] = i;
            }
            float[] want = new float[v.length];
            for (int i = 0; i < r; i++) {
                for (int j = 0; j < c; j++) {
                    want[j * r + i] = v[i * c + j];
                }
            }
            H5Writer.Values t = KerasModel.transposed(Tensor.ofFloats(new int[] {r, c}, v));
            assertEquals(v.length, t.count(), r + "x" + c + ": count");
            // in the writer's chunks, and in pieces that start and end inside rows of the transpose
            for (int piece : new int[] {H5Writer.Values.CHUNK, 7, 1000}) {
                assertArrayEquals(want, read(t, piece), r + "x" + c + " in pieces of " + piece);
            }
        }
        Tensor half = Tensor.ofFloats(new int[] {2, 2}, new float[] {0.5f, 1, 2, 4}).withDType(DType.FLOAT16);
        assertArrayEquals(new float[] {0.5f, 2, 1, 4}, read(KerasModel.transposed(half), 3), "half precision widened");
        assertArrayEquals(new float[] {0.5f, 1, 2, 4}, read(KerasModel.of(half), 3), "as it is");
    }

    @Test
    void aGruKernelIsReorderedIntoKerasGateOrderWhileItIsTransposed() {
        // [3H, I] in the IR's r, z, n: written as Keras' [I, 3H] in z, r, h, as GateOrder reorders it
        int h = 20;
        int in = 37;
        float[] v = new float[3 * h * in];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.5f;
        }
        Tensor w = Tensor.ofFloats(new int[] {3 * h, in}, v);
        float[] want = read(KerasModel.transposed(io.lstmx.ir.GateOrder.Gru.KERAS.fromCanonical(w, 0)), H5Writer.Values.CHUNK);
        for (int piece : new int[] {H5Writer.Values.CHUNK, 7, 61}) {
            assertArrayEquals(want, read(KerasModel.transposed(w, io.lstmx.ir.GateOrder.Gru.KERAS), piece), "in pieces of " + piece);
        }
        // Keras' first GRU block is the update gate, the IR's second: row 0 of the kernel starts with W[H][0]
        assertEquals(v[h * in], want[0], "Keras' first block is the IR's z");
    }

    private static float[] read(H5Writer.Values values, int piece) {
        java.nio.FloatBuffer all = java.nio.FloatBuffer.allocate((int) values.count());
        for (long from = 0; from < values.count(); from += piece) {
            values.get(from, (int) Math.min(piece, values.count() - from), all);
        }
        assertEquals(values.count(), all.position(), "values handed out");
        return all.array();
    }
}
