package io.lstmx.ir;

import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Each format's gate order, checked numerically: gate blocks are filled with values that say which
 * gate (and which element) they are, so a wrong permutation shows as a wrong number. The orders
 * below are written from the formats' documentation, independently of the enum:
 * ONNX LSTM W/R/B: i, o, f, c; PyTorch weight_ih/hh: i, f, g, o; Keras kernel: i, f, c, o;
 * TF BlockLSTM: i, ci, f, o; TF1 LSTMCell: i, j, f, o (j the candidate).
 * GRU (canonical r, z, n): ONNX GRU W/R/B: z, r, h; PyTorch weight_ih/hh (W_ir|W_iz|W_in): r, z, n;
 * Keras GRU kernel [I, 3H]: z, r, h (h the candidate, PyTorch's n).
 */
class GateOrderTest {
    /** Canonical gate ids: 1 = input, 2 = forget, 3 = candidate (g / c / ci / j), 4 = output. */
    private static final int I = 1;
    private static final int F = 2;
    private static final int G = 3;
    private static final int O = 4;

    private static final Map<GateOrder, int[]> FORMAT_BLOCKS = new EnumMap<>(GateOrder.class);

    static {
        FORMAT_BLOCKS.put(GateOrder.CANONICAL, new int[] {I, F, G, O});
        FORMAT_BLOCKS.put(GateOrder.ONNX, new int[] {I, O, F, G});
        FORMAT_BLOCKS.put(GateOrder.PYTORCH, new int[] {I, F, G, O});
        FORMAT_BLOCKS.put(GateOrder.KERAS, new int[] {I, F, G, O});
        FORMAT_BLOCKS.put(GateOrder.TF_BLOCK, new int[] {I, G, F, O});
        FORMAT_BLOCKS.put(GateOrder.TF1_CELL, new int[] {I, G, F, O});
    }

    private static final int H = 3;
    private static final int IN = 2;

    /** Value of element (row r of gate block, column k) of the gate with id {@code gate}. */
    private static float code(int gate, int r, int k) {
        return gate * 100 + r * 10 + k;
    }

    /** A [4H, IN] matrix whose block b holds gate blocks[b] (gate blocks along axis 0). */
    private static Tensor rows(int[] blocks) {
        float[] a = new float[4 * H * IN];
        for (int b = 0; b < 4; b++) {
            for (int r = 0; r < H; r++) {
                for (int k = 0; k < IN; k++) {
                    a[((b * H) + r) * IN + k] = code(blocks[b], r, k);
                }
            }
        }
        return Tensor.ofFloats(new int[] {4 * H, IN}, a);
    }

    /** The transposed layout [IN, 4H] (gate blocks along axis 1, as Keras kernels). */
    private static Tensor columns(int[] blocks) {
        float[] a = new float[IN * 4 * H];
        for (int b = 0; b < 4; b++) {
            for (int r = 0; r < H; r++) {
                for (int k = 0; k < IN; k++) {
                    a[k * 4 * H + b * H + r] = code(blocks[b], r, k);
                }
            }
        }
        return Tensor.ofFloats(new int[] {IN, 4 * H}, a);
    }

    private static final int[] CANONICAL = {I, F, G, O};

    @Test
    void everyFormatIsCovered() {
        assertEquals(GateOrder.values().length, FORMAT_BLOCKS.size());
    }

    @Test
    void toCanonicalPutsEachGateWhereTheIrExpectsIt() {
        for (GateOrder g : GateOrder.values()) {
            int[] blocks = FORMAT_BLOCKS.get(g);
            assertArrayEquals(rows(CANONICAL).toFloatArray(), g.toCanonical(rows(blocks), 0).toFloatArray(), g + " axis 0");
            assertArrayEquals(columns(CANONICAL).toFloatArray(), g.toCanonical(columns(blocks), 1).toFloatArray(), g + " axis 1");
            assertArrayEquals(columns(CANONICAL).toFloatArray(), g.toCanonical(columns(blocks), -1).toFloatArray(), g + " axis -1");
            assertArrayEquals(new int[] {4 * H, IN}, g.toCanonical(rows(blocks), 0).shape());
        }
    }

    @Test
    void fromCanonicalWritesTheFormatsOrder() {
        for (GateOrder g : GateOrder.values()) {
            int[] blocks = FORMAT_BLOCKS.get(g);
            assertArrayEquals(rows(blocks).toFloatArray(), g.fromCanonical(rows(CANONICAL), 0).toFloatArray(), g + " axis 0");
            assertArrayEquals(columns(blocks).toFloatArray(), g.fromCanonical(columns(CANONICAL), 1).toFloatArray(), g + " axis 1");
        }
    }

    @Test
    void biasVectorsAndRoundTrips() {
        for (GateOrder g : GateOrder.values()) {
            int[] blocks = FORMAT_BLOCKS.get(g);
            float[] bias = new float[4 * H];
            float[] canonicalBias = new float[4 * H];
            for (int b = 0; b < 4; b++) {
                for (int r = 0; r < H; r++) {
                    bias[b * H + r] = code(blocks[b], r, 0);
                    canonicalBias[b * H + r] = code(CANONICAL[b], r, 0);
                }
            }
            Tensor t = Tensor.ofFloats(new int[] {4 * H}, bias);
            assertArrayEquals(canonicalBias, g.toCanonical(t, 0).toFloatArray(), g + " bias");
            assertArrayEquals(bias, g.fromCanonical(g.toCanonical(t, 0), 0).toFloatArray(), g + " bias round trip");
            Tensor w = rows(blocks);
            assertArrayEquals(w.toFloatArray(), g.fromCanonical(g.toCanonical(w, 0), 0).toFloatArray(), g + " round trip");
            Tensor c = rows(CANONICAL);
            assertArrayEquals(c.toFloatArray(), g.toCanonical(g.fromCanonical(c, 0), 0).toFloatArray(), g + " reverse round trip");
        }
    }

    @Test
    void stackedDirectionsPermuteEachDirectionSeparately() {
        // ONNX W is [D, 4H, I]: the permutation applies inside each direction's block.
        Tensor one = rows(FORMAT_BLOCKS.get(GateOrder.ONNX));
        float[] two = new float[2 * one.size()];
        one.copyFloatsTo(two, 0);
        one.copyFloatsTo(two, one.size());
        Tensor both = Tensor.ofFloats(new int[] {2, 4 * H, IN}, two);
        float[] got = GateOrder.ONNX.toCanonical(both, 1).toFloatArray();
        float[] expected = rows(CANONICAL).toFloatArray();
        for (int d = 0; d < 2; d++) {
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], got[d * expected.length + i], "direction " + d + " element " + i);
            }
        }
    }

    @Test
    void labelsNameTheFormatsOrder() {
        assertEquals("i,o,f,c", GateOrder.ONNX.label());
        assertEquals("i,f,g,o", GateOrder.PYTORCH.label());
        assertEquals("i,f,c,o", GateOrder.KERAS.label());
        assertEquals("i,c,f,o", GateOrder.TF_BLOCK.label());
        assertEquals("i,j,f,o", GateOrder.TF1_CELL.label());
    }

    @Test
    void onnxPeepholeOrderIsIOF() {
        // IR peepholes are i, f, o; ONNX P is i, o, f (both with H = 2 here).
        Tensor ir = Tensor.ofFloats(new int[] {6}, new float[] {I * 100, I * 100 + 1, F * 100, F * 100 + 1, O * 100, O * 100 + 1});
        float[] onnx = {I * 100, I * 100 + 1, O * 100, O * 100 + 1, F * 100, F * 100 + 1};
        assertArrayEquals(onnx, GateOrder.onnxPeephole(ir, 0).toFloatArray());
        assertArrayEquals(ir.toFloatArray(), GateOrder.onnxPeephole(GateOrder.onnxPeephole(ir, 0), 0).toFloatArray());
    }

    // ---------------------------------------------------------------- GRU

    /** Canonical GRU gate ids: 5 = reset r, 6 = update z, 7 = candidate (n / h). */
    private static final int R = 5;
    private static final int Z = 6;
    private static final int N = 7;
    private static final int[] GRU_CANONICAL = {R, Z, N};

    private static final Map<GateOrder.Gru, int[]> GRU_BLOCKS = new EnumMap<>(GateOrder.Gru.class);

    static {
        GRU_BLOCKS.put(GateOrder.Gru.CANONICAL, new int[] {R, Z, N});
        GRU_BLOCKS.put(GateOrder.Gru.ONNX, new int[] {Z, R, N});
        GRU_BLOCKS.put(GateOrder.Gru.PYTORCH, new int[] {R, Z, N});
        GRU_BLOCKS.put(GateOrder.Gru.KERAS, new int[] {Z, R, N});
    }

    /** A [G H, IN] matrix whose block b holds gate blocks[b], G = blocks.length. */
    private static Tensor gateRows(int[] blocks) {
        int g = blocks.length;
        float[] a = new float[g * H * IN];
        for (int b = 0; b < g; b++) {
            for (int r = 0; r < H; r++) {
                for (int k = 0; k < IN; k++) {
                    a[((b * H) + r) * IN + k] = code(blocks[b], r, k);
                }
            }
        }
        return Tensor.ofFloats(new int[] {g * H, IN}, a);
    }

    /** The transposed layout [IN, G H] (gate blocks along axis 1, as Keras kernels). */
    private static Tensor gateColumns(int[] blocks) {
        int g = blocks.length;
        float[] a = new float[IN * g * H];
        for (int b = 0; b < g; b++) {
            for (int r = 0; r < H; r++) {
                for (int k = 0; k < IN; k++) {
                    a[k * g * H + b * H + r] = code(blocks[b], r, k);
                }
            }
        }
        return Tensor.ofFloats(new int[] {IN, g * H}, a);
    }

    @Test
    void everyGruFormatIsCovered() {
        assertEquals(GateOrder.Gru.values().length, GRU_BLOCKS.size());
    }

    @Test
    void gruToCanonicalPutsEachGateWhereTheIrExpectsIt() {
        for (GateOrder.Gru g : GateOrder.Gru.values()) {
            int[] blocks = GRU_BLOCKS.get(g);
            assertArrayEquals(gateRows(GRU_CANONICAL).toFloatArray(), g.toCanonical(gateRows(blocks), 0).toFloatArray(), g + " axis 0");
            assertArrayEquals(gateColumns(GRU_CANONICAL).toFloatArray(), g.toCanonical(gateColumns(blocks), 1).toFloatArray(), g + " axis 1");
            assertArrayEquals(gateColumns(GRU_CANONICAL).toFloatArray(), g.toCanonical(gateColumns(blocks), -1).toFloatArray(), g + " axis -1");
            assertArrayEquals(new int[] {3 * H, IN}, g.toCanonical(gateRows(blocks), 0).shape());
        }
    }

    @Test
    void gruFromCanonicalWritesTheFormatsOrder() {
        for (GateOrder.Gru g : GateOrder.Gru.values()) {
            int[] blocks = GRU_BLOCKS.get(g);
            assertArrayEquals(gateRows(blocks).toFloatArray(), g.fromCanonical(gateRows(GRU_CANONICAL), 0).toFloatArray(), g + " axis 0");
            assertArrayEquals(gateColumns(blocks).toFloatArray(), g.fromCanonical(gateColumns(GRU_CANONICAL), 1).toFloatArray(), g + " axis 1");
        }
    }

    @Test
    void gruBiasVectorsAndRoundTrips() {
        for (GateOrder.Gru g : GateOrder.Gru.values()) {
            int[] blocks = GRU_BLOCKS.get(g);
            float[] bias = new float[3 * H];
            float[] canonicalBias = new float[3 * H];
            for (int b = 0; b < 3; b++) {
                for (int r = 0; r < H; r++) {
                    bias[b * H + r] = code(blocks[b], r, 0);
                    canonicalBias[b * H + r] = code(GRU_CANONICAL[b], r, 0);
                }
            }
            Tensor t = Tensor.ofFloats(new int[] {3 * H}, bias);
            assertArrayEquals(canonicalBias, g.toCanonical(t, 0).toFloatArray(), g + " bias");
            assertArrayEquals(bias, g.fromCanonical(Tensor.ofFloats(new int[] {3 * H}, canonicalBias), 0).toFloatArray(), g + " bias back");
            assertArrayEquals(bias, g.fromCanonical(g.toCanonical(t, 0), 0).toFloatArray(), g + " bias round trip");
            Tensor w = gateRows(blocks);
            assertArrayEquals(w.toFloatArray(), g.fromCanonical(g.toCanonical(w, 0), 0).toFloatArray(), g + " round trip");
            Tensor k = gateColumns(blocks);
            assertArrayEquals(k.toFloatArray(), g.fromCanonical(g.toCanonical(k, 1), 1).toFloatArray(), g + " kernel round trip");
            Tensor c = gateRows(GRU_CANONICAL);
            assertArrayEquals(c.toFloatArray(), g.toCanonical(g.fromCanonical(c, 0), 0).toFloatArray(), g + " reverse round trip");
        }
    }

    @Test
    void gruStackedDirectionsPermuteEachDirectionSeparately() {
        // ONNX GRU W is [D, 3H, I]: the permutation applies inside each direction's block.
        Tensor one = gateRows(GRU_BLOCKS.get(GateOrder.Gru.ONNX));
        float[] two = new float[2 * one.size()];
        one.copyFloatsTo(two, 0);
        one.copyFloatsTo(two, one.size());
        Tensor both = Tensor.ofFloats(new int[] {2, 3 * H, IN}, two);
        float[] got = GateOrder.Gru.ONNX.toCanonical(both, 1).toFloatArray();
        float[] expected = gateRows(GRU_CANONICAL).toFloatArray();
        for (int d = 0; d < 2; d++) {
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], got[d * expected.length + i], "direction " + d + " element " + i);
            }
        }
    }

    @Test
    void gruLabelsNameTheFormatsOrder() {
        assertEquals("r,z,n", GateOrder.Gru.CANONICAL.label());
        assertEquals("z,r,h", GateOrder.Gru.ONNX.label());
        assertEquals("r,z,n", GateOrder.Gru.PYTORCH.label());
        assertEquals("z,r,h", GateOrder.Gru.KERAS.label());
    }

    @Test
    void gruAxisNotDivisibleIntoThreeGatesIsRejected() {
        Tensor t = Tensor.ofFloats(new int[] {4, 2}, new float[8]);
        assertThrows(io.lstmx.errors.LstmxException.class, () -> GateOrder.Gru.ONNX.toCanonical(t, 0));
        assertThrows(io.lstmx.errors.LstmxException.class, () -> GateOrder.Gru.KERAS.fromCanonical(t, 0));
    }

    @Test
    void axisNotDivisibleIntoGatesIsRejected() {
        Tensor t = Tensor.ofFloats(new int[] {6}, new float[6]);
        assertThrows(io.lstmx.errors.LstmxException.class, () -> GateOrder.ONNX.toCanonical(t, 0));
    }
    /** Issue 9: the same order needs no copy of a float32 weight (tensors are immutable); other dtypes still come back as float32. */
    @Test
    void anIdentityPermutationOfFloat32IsTheTensorItself() {
        Tensor w = Tensor.ofFloats(new int[] {8, 1}, new float[] {0, 1, 2, 3, 4, 5, 6, 7});
        org.junit.jupiter.api.Assertions.assertSame(w, GateOrder.PYTORCH.toCanonical(w, 0));
        org.junit.jupiter.api.Assertions.assertSame(w, GateOrder.KERAS.fromCanonical(w, 0));
        Tensor g = Tensor.ofFloats(new int[] {6}, new float[] {0, 1, 2, 3, 4, 5});
        org.junit.jupiter.api.Assertions.assertSame(g, GateOrder.Gru.PYTORCH.toCanonical(g, 0));
        assertArrayEquals(new float[] {2, 3, 0, 1, 4, 5}, GateOrder.Gru.ONNX.toCanonical(g, 0).toFloatArray(), "other orders are still permuted");
        Tensor half = w.withDType(DType.FLOAT16);
        Tensor widened = GateOrder.PYTORCH.toCanonical(half, 0);
        assertEquals(DType.FLOAT32, widened.dtype());
        assertArrayEquals(w.toFloatArray(), widened.toFloatArray());
        assertThrows(io.lstmx.errors.LstmxException.class, () -> GateOrder.PYTORCH.toCanonical(Tensor.zeros(6), 0), "6 is not 4 gates");
    }

    @Test
    void transposingFromCanonicalEqualsReorderingThenTransposingForEveryOrder() {
        int h = 5;
        int c = 7;
        for (int gates : new int[] {4, 3}) {
            float[] v = new float[gates * h * c];
            for (int i = 0; i < v.length; i++) {
                v[i] = i + 0.25f;
            }
            Tensor t = Tensor.ofFloats(new int[] {gates * h, c}, v);
            List<Object> orders = gates == 4 ? List.of((Object[]) GateOrder.values()) : List.of((Object[]) GateOrder.Gru.values());
            for (Object o : orders) {
                Tensor reordered = o instanceof GateOrder g ? g.fromCanonical(t, 0) : ((GateOrder.Gru) o).fromCanonical(t, 0);
                float[] want = new float[v.length + 3];
                reordered.transposeInto(want, 3, gates * h);
                // columns 2..5 only, at an offset, the rest untouched
                float[] got = new float[v.length + 3];
                float[] expect = new float[v.length + 3];
                System.arraycopy(want, 3 + 2 * gates * h, expect, 3, 3 * gates * h);
                if (o instanceof GateOrder g) {
                    g.transposeFromCanonical(t, 2, 5, got, 3, gates * h);
                } else {
                    ((GateOrder.Gru) o).transposeFromCanonical(t, 2, 5, got, 3, gates * h);
                }
                assertArrayEquals(expect, got, o + ": columns 2..4 transposed in the format's gate order");
            }
        }
    }
}
