package io.lstmx.runtime;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.ActivationFn.Kind;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Layer.Binary.Op;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.lstmx.runtime.TestSupport.assertTensor;
import static io.lstmx.runtime.TestSupport.ints;
import static io.lstmx.runtime.TestSupport.t;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every non-LSTM layer on small cases whose expected values are worked out by hand (NumPy / ONNX semantics). */
class LayerOpsTest {
    private static Tensor eval(Layer layer, Object... namesAndTensors) {
        Map<String, Tensor> in = new HashMap<>();
        for (int i = 0; i < namesAndTensors.length; i += 2) {
            in.put((String) namesAndTensors[i], (Tensor) namesAndTensors[i + 1]);
        }
        Map<String, Tensor> out = NativeRuntime.evaluate(layer, in);
        assertEquals(layer.outputs(), List.copyOf(out.keySet()));
        return out.get(layer.outputs().get(0));
    }

    private static void assertBadInput(Executable e, String... fragments) {
        LstmxException ex = assertThrows(LstmxException.class, e);
        assertEquals(ErrorCode.BAD_INPUT, ex.code(), ex.getMessage());
        for (String f : fragments) {
            assertTrue(ex.getMessage().contains(f), "'" + ex.getMessage() + "' should contain '" + f + "'");
        }
    }

    private static float[] range(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return a;
    }

    @Test
    void constant() {
        Tensor v = t(new float[] {1, 2}, 2);
        assertTensor(eval(new Layer.Constant("c", "y", v)), new int[] {2}, 1, 2);
    }

    @Test
    void denseOnLastAxisOfAnyRank() {
        // W = [[1, 0, 2], [-1, 1, 0]], b = [0.5, -1]; x rows [1,2,3] and [4,5,6].
        Layer.Dense d = new Layer.Dense("fc", "x", "y", t(new float[] {1, 0, 2, -1, 1, 0}, 2, 3), t(new float[] {0.5f, -1}, 2));
        assertTensor(eval(d, "x", t(new float[] {1, 2, 3, 4, 5, 6}, 2, 1, 3)), new int[] {2, 1, 2},
                1 + 6 + 0.5f, -1 + 2 - 1, 4 + 12 + 0.5f, -4 + 5 - 1);
        Layer.Dense noBias = new Layer.Dense("fc2", "x", "y", t(new float[] {1, 0, 2, -1, 1, 0}, 2, 3), null);
        assertTensor(eval(noBias, "x", t(new float[] {1, 2, 3}, 3)), new int[] {2}, 7, 1);
        assertBadInput(() -> eval(d, "x", t(new float[4], 2, 2)), "layer 'fc' (Dense)", "last dim 2", "expected 3");
    }

    @Test
    void embeddingWithNegativeAndOutOfRangeIndices() {
        Layer.Embedding e = new Layer.Embedding("emb", "ids", "y", t(new float[] {0, 1, 10, 11, 20, 21}, 3, 2));
        assertTensor(eval(e, "ids", ints(new long[] {0, -1, 2, 1}, 2, 2)), new int[] {2, 2, 2}, 0, 1, 20, 21, 20, 21, 10, 11);
        Tensor int32 = Tensor.ofLongs(DType.INT32, new int[] {1}, new long[] {1});
        assertTensor(eval(e, "ids", int32), new int[] {1, 2}, 10, 11);
        assertBadInput(() -> eval(e, "ids", ints(new long[] {1, 3}, 2)), "layer 'emb'", "index 3", "size 3");
        assertBadInput(() -> eval(e, "ids", ints(new long[] {-4}, 1)), "layer 'emb'", "index -4");
        assertBadInput(() -> eval(e, "ids", t(new float[] {1}, 1)), "layer 'emb'", "integers");
    }

    @Test
    void activations() {
        Tensor x = t(new float[] {-2, 0, 1}, 3);
        assertTensor(eval(new Layer.Activation("a", "x", "y", ActivationFn.RELU), "x", x), new int[] {3}, 0, 0, 1);
        assertTensor(eval(new Layer.Activation("a", "x", "y", ActivationFn.of(Kind.LEAKY_RELU, 0.1f, 0)), "x", x), new int[] {3}, -0.2f, 0, 1);
        assertTensor(eval(new Layer.Activation("a", "x", "y", ActivationFn.SIGMOID), "x", x), new int[] {3},
                (float) (1 / (1 + Math.exp(2))), 0.5f, (float) (1 / (1 + Math.exp(-1))));
        assertTensor(eval(new Layer.Activation("a", "x", "y", ActivationFn.of(Kind.HARD_SIGMOID, 0.2f, 0.5f)), "x", x), new int[] {3}, 0.1f, 0.5f, 0.7f);
        assertTensor(eval(new Layer.Activation("a", "x", "y", ActivationFn.of(Kind.SOFTSIGN)), "x", x), new int[] {3}, -2f / 3, 0, 0.5f);
        assertTensor(eval(new Layer.Activation("a", "x", "y", ActivationFn.of(Kind.THRESHOLDED_RELU, 0.5f, 0)), "x", x), new int[] {3}, 0, 0, 1);
        assertTensor(eval(new Layer.Activation("a", "x", "y", ActivationFn.of(Kind.AFFINE, 2, 1)), "x", x), new int[] {3}, -3, 1, 3);
        assertTensor(eval(new Layer.Activation("a", "x", "y", ActivationFn.of(Kind.SOFTPLUS)), "x", t(new float[] {0}, 1)), new int[] {1}, (float) Math.log(2));
        assertBadInput(() -> eval(new Layer.Activation("act", "x", "y", ActivationFn.TANH), "x", ints(new long[] {1}, 1)), "layer 'act'", "float");
    }

    @Test
    void softmaxAndLogSoftmaxAlongOneAxis() {
        Tensor x = t(new float[] {1, 2, 3, 3}, 2, 2);
        double e1 = Math.exp(1);
        double e2 = Math.exp(2);
        assertTensor(eval(new Layer.Softmax("s", "x", "y", 1, false), "x", x), new int[] {2, 2},
                (float) (e1 / (e1 + e2)), (float) (e2 / (e1 + e2)), 0.5f, 0.5f);
        // Along axis 0 (columns): (1, 3) and (2, 3).
        double e3 = Math.exp(3);
        assertTensor(eval(new Layer.Softmax("s", "x", "y", -2, false), "x", x), new int[] {2, 2},
                (float) (e1 / (e1 + e3)), (float) (e2 / (e2 + e3)), (float) (e3 / (e1 + e3)), (float) (e3 / (e2 + e3)));
        assertTensor(eval(new Layer.Softmax("s", "x", "y", -1, true), "x", x), new int[] {2, 2},
                (float) (1 - Math.log(e1 + e2)), (float) (2 - Math.log(e1 + e2)), (float) -Math.log(2), (float) -Math.log(2));
        // Large values must not overflow.
        assertTensor(eval(new Layer.Softmax("s", "x", "y", 0, false), "x", t(new float[] {1000, 1000}, 2)), new int[] {2}, 0.5f, 0.5f);
        assertBadInput(() -> eval(new Layer.Softmax("sm", "x", "y", 2, false), "x", x), "layer 'sm'", "axis 2");
    }

    @Test
    void dropoutAndIdentityPassValuesThrough() {
        Tensor x = t(new float[] {1, -2}, 2);
        assertTensor(eval(new Layer.Dropout("d", "x", "y", 0.5f), "x", x), new int[] {2}, 1, -2);
        assertTensor(eval(new Layer.Identity("i", "x", "y"), "x", x), new int[] {2}, 1, -2);
        Tensor i = eval(new Layer.Identity("i", "x", "y"), "x", ints(new long[] {5}, 1));
        assertEquals(DType.INT64, i.dtype());
        assertArrayEquals(new long[] {5}, i.toLongArray());
    }

    @Test
    void binaryWithNumpyBroadcasting() {
        Tensor a = t(new float[] {1, 2, 3, 4, 5, 6}, 2, 1, 3); // [[[1,2,3]], [[4,5,6]]]
        Tensor b = t(new float[] {10, 20}, 2, 1);             // [[10], [20]]
        assertTensor(eval(new Layer.Binary("add", Op.ADD, "a", "b", "y"), "a", a, "b", b), new int[] {2, 2, 3},
                11, 12, 13, 21, 22, 23, 14, 15, 16, 24, 25, 26);
        assertTensor(eval(new Layer.Binary("sub", Op.SUB, "a", "b", "y"), "a", b, "b", a), new int[] {2, 2, 3},
                9, 8, 7, 19, 18, 17, 6, 5, 4, 16, 15, 14);
        assertTensor(eval(new Layer.Binary("mul", Op.MUL, "a", "b", "y"), "a", a, "b", Tensor.scalar(2)), new int[] {2, 1, 3},
                2, 4, 6, 8, 10, 12);
        assertTensor(eval(new Layer.Binary("div", Op.DIV, "a", "b", "y"), "a", t(new float[] {1, 3}, 2), "b", t(new float[] {2}, 1)),
                new int[] {2}, 0.5f, 1.5f);
        Tensor q = eval(new Layer.Binary("idiv", Op.DIV, "a", "b", "y"), "a", ints(new long[] {7, -7}, 2), "b", ints(new long[] {2}, 1));
        assertArrayEquals(new long[] {3, -3}, q.toLongArray());
        assertBadInput(() -> eval(new Layer.Binary("bad", Op.ADD, "a", "b", "y"), "a", t(new float[6], 2, 3), "b", t(new float[2], 2)),
                "layer 'bad' (ADD)", "[2, 3]", "[2]");
        assertBadInput(() -> eval(new Layer.Binary("mix", Op.ADD, "a", "b", "y"), "a", t(new float[2], 2), "b", ints(new long[2], 2)),
                "layer 'mix'");
    }

    @Test
    void matmulWithBatchBroadcastingAndVectors() {
        Tensor a = t(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor b = t(new float[] {1, 0, 0, 1, 1, 1}, 3, 2);
        assertTensor(eval(new Layer.MatMul("mm", "a", "b", "y"), "a", a, "b", b), new int[] {2, 2}, 4, 5, 10, 11);
        // vector x matrix and matrix x vector drop the added axis; vector x vector is a scalar.
        assertTensor(eval(new Layer.MatMul("mm", "a", "b", "y"), "a", t(new float[] {1, 1, 1}, 3), "b", b), new int[] {2}, 2, 2);
        assertTensor(eval(new Layer.MatMul("mm", "a", "b", "y"), "a", a, "b", t(new float[] {1, 0, -1}, 3)), new int[] {2}, -2, -2);
        assertTensor(eval(new Layer.MatMul("mm", "a", "b", "y"), "a", t(new float[] {1, 2}, 2), "b", t(new float[] {3, 4}, 2)), new int[] {}, 11);
        // [2,1,1,2] x [3,2,1] -> [2,3,1,1]: batch dims (2,1) and (3) broadcast to (2,3).
        Tensor ba = t(new float[] {1, 2, 3, 4}, 2, 1, 1, 2);
        Tensor bb = t(new float[] {1, 0, 0, 1, 1, 1}, 3, 2, 1);
        assertTensor(eval(new Layer.MatMul("mm", "a", "b", "y"), "a", ba, "b", bb), new int[] {2, 3, 1, 1}, 1, 2, 3, 3, 4, 7);
        assertBadInput(() -> eval(new Layer.MatMul("mm", "a", "b", "y"), "a", a, "b", a), "layer 'mm' (MatMul)", "3 vs 2");
    }

    @Test
    void concatAlongAnAxis() {
        Tensor a = t(new float[] {1, 2}, 2, 1);
        Tensor b = t(new float[] {3, 4, 5, 6}, 2, 2);
        Layer.Concat c = new Layer.Concat("cat", List.of("a", "b"), "y", -1);
        assertTensor(eval(c, "a", a, "b", b), new int[] {2, 3}, 1, 3, 4, 2, 5, 6);
        Layer.Concat c0 = new Layer.Concat("cat0", List.of("a", "b"), "y", 0);
        Tensor ints = eval(c0, "a", ints(new long[] {1, 2}, 1, 2), "b", ints(new long[] {3, 4}, 1, 2));
        assertArrayEquals(new int[] {2, 2}, ints.shape());
        assertArrayEquals(new long[] {1, 2, 3, 4}, ints.toLongArray());
        assertBadInput(() -> eval(c0, "a", a, "b", b), "layer 'cat0' (Concat)", "input 1", "'b'");
    }

    @Test
    void transpose() {
        Tensor x = t(range(6), 2, 3);
        assertTensor(eval(new Layer.Transpose("tr", "x", "y", List.of(1, 0)), "x", x), new int[] {3, 2}, 0, 3, 1, 4, 2, 5);
        assertTensor(eval(new Layer.Transpose("tr", "x", "y", List.of()), "x", x), new int[] {3, 2}, 0, 3, 1, 4, 2, 5);
        // x[i][j][k] = 4i + 2j + k, shape [2,2,2]; perm (2,0,1): y[k][i][j].
        assertTensor(eval(new Layer.Transpose("tr", "x", "y", List.of(2, 0, 1)), "x", t(range(8), 2, 2, 2)), new int[] {2, 2, 2},
                0, 2, 4, 6, 1, 3, 5, 7);
        assertBadInput(() -> eval(new Layer.Transpose("tr", "x", "y", List.of(0, 0)), "x", x), "layer 'tr'", "permutation");
    }

    /**
     * Every permutation of a rank-4 tensor (dims with a 1 among them, and one with a 0), floats and
     * integers, against y[i0][i1][i2][i3] = x[index with axis perm[a] at i_a]: the transpose copies
     * runs where the trailing axes stay in order, element by element elsewhere.
     */
    @Test
    void everyPermutationOfFourAxesMovesEachElementWhereTheDefinitionSays() {
        for (int[] dims : new int[][] {{2, 3, 1, 4}, {3, 2, 4, 5}, {2, 0, 3, 2}}) {
            int n = dims[0] * dims[1] * dims[2] * dims[3];
            long[] longs = new long[n];
            for (int i = 0; i < n; i++) {
                longs[i] = 1000 + i;
            }
            for (int[] perm : permutations(4)) {
                int[] shape = new int[4];
                for (int a = 0; a < 4; a++) {
                    shape[a] = dims[perm[a]];
                }
                float[] want = new float[n];
                int[] at = new int[4];
                for (int o = 0; o < n; o++) {
                    int rest = o;
                    for (int a = 3; a >= 0; a--) {
                        at[perm[a]] = rest % shape[a];
                        rest /= shape[a];
                    }
                    want[o] = ((at[0] * dims[1] + at[1]) * dims[2] + at[2]) * dims[3] + at[3];
                }
                List<Integer> p = List.of(perm[0], perm[1], perm[2], perm[3]);
                Tensor yf = eval(new Layer.Transpose("tr", "x", "y", p), "x", t(range(n), dims));
                assertArrayEquals(shape, yf.shape(), p.toString());
                assertArrayEquals(want, yf.toFloatArray(), "floats, perm " + p + " of " + java.util.Arrays.toString(dims));
                Tensor yl = eval(new Layer.Transpose("tr", "x", "y", p), "x", ints(longs, dims));
                long[] wantLongs = new long[n];
                for (int o = 0; o < n; o++) {
                    wantLongs[o] = 1000 + (long) want[o];
                }
                assertArrayEquals(wantLongs, yl.toLongArray(), "integers, perm " + p + " of " + java.util.Arrays.toString(dims));
            }
        }
    }

    private static List<int[]> permutations(int r) {
        List<int[]> out = new java.util.ArrayList<>();
        permute(new int[r], new boolean[r], 0, out);
        return out;
    }

    private static void permute(int[] p, boolean[] used, int k, List<int[]> out) {
        if (k == p.length) {
            out.add(p.clone());
            return;
        }
        for (int v = 0; v < p.length; v++) {
            if (!used[v]) {
                used[v] = true;
                p[k] = v;
                permute(p, used, k + 1, out);
                used[v] = false;
            }
        }
    }

    @Test
    void reshapeFlattenSqueezeUnsqueeze() {
        Tensor x = t(range(24), 2, 3, 4);
        assertArrayEquals(new int[] {2, 12}, eval(new Layer.Reshape("r", "x", "y", List.of(0L, -1L)), "x", x).shape());
        assertArrayEquals(new int[] {4, 3, 2}, eval(new Layer.Reshape("r", "x", "y", List.of(4L, 0L, -1L)), "x", x).shape());
        assertArrayEquals(range(24), eval(new Layer.Reshape("r", "x", "y", List.of(6L, 4L)), "x", x).toFloatArray());
        assertBadInput(() -> eval(new Layer.Reshape("rs", "x", "y", List.of(5L, -1L)), "x", x), "layer 'rs'", "-1");
        assertBadInput(() -> eval(new Layer.Reshape("rs", "x", "y", List.of(5L, 5L)), "x", x), "layer 'rs'", "24");

        assertArrayEquals(new int[] {6, 4}, eval(new Layer.Flatten("f", "x", "y", 2), "x", x).shape());
        assertArrayEquals(new int[] {1, 24}, eval(new Layer.Flatten("f", "x", "y", 0), "x", x).shape());
        assertArrayEquals(new int[] {2, 12}, eval(new Layer.Flatten("f", "x", "y", -2), "x", x).shape());
        assertArrayEquals(new int[] {24, 1}, eval(new Layer.Flatten("f", "x", "y", 3), "x", x).shape());

        Tensor s = t(range(6), 1, 2, 1, 3);
        assertArrayEquals(new int[] {2, 3}, eval(new Layer.Squeeze("sq", "x", "y", List.of()), "x", s).shape());
        assertArrayEquals(new int[] {1, 2, 3}, eval(new Layer.Squeeze("sq", "x", "y", List.of(-2)), "x", s).shape());
        assertBadInput(() -> eval(new Layer.Squeeze("sq", "x", "y", List.of(1)), "x", s), "layer 'sq'", "size 2");

        Tensor u = eval(new Layer.Unsqueeze("un", "x", "y", List.of(0, -1)), "x", t(range(6), 2, 3));
        assertArrayEquals(new int[] {1, 2, 3, 1}, u.shape());
        assertArrayEquals(range(6), u.toFloatArray());
        assertArrayEquals(new int[] {2, 1, 3}, eval(new Layer.Unsqueeze("un", "x", "y", List.of(1)), "x", t(range(6), 2, 3)).shape());
    }

    @Test
    void selectAndTake() {
        Tensor x = t(range(6), 2, 3); // [[0,1,2],[3,4,5]]
        assertTensor(eval(new Layer.Select("sel", "x", "y", 1, -1), "x", x), new int[] {2}, 2, 5);
        assertTensor(eval(new Layer.Select("sel", "x", "y", 0, 1), "x", x), new int[] {3}, 3, 4, 5);
        assertBadInput(() -> eval(new Layer.Select("sel", "x", "y", 1, 3), "x", x), "layer 'sel'", "index 3");
        Layer.Take take = new Layer.Take("tk", "x", "y", 1, ints(new long[] {2, 0, -1, 1}, 2, 2));
        assertTensor(eval(take, "x", x), new int[] {2, 2, 2}, 2, 0, 2, 1, 5, 3, 5, 4);
        Layer.Take scalarIdx = new Layer.Take("tk", "x", "y", 0, Tensor.ofLongs(new int[0], new long[] {-1}));
        assertTensor(eval(scalarIdx, "x", x), new int[] {3}, 3, 4, 5);
    }

    @Test
    void sliceWithOnnxClamping() {
        Tensor x = t(range(10), 10);
        assertTensor(eval(new Layer.Slice("sl", "x", "y", 0, 1, -1, 3), "x", x), new int[] {3}, 1, 4, 7);
        assertTensor(eval(new Layer.Slice("sl", "x", "y", 0, 10, 2, -2), "x", x), new int[] {4}, 9, 7, 5, 3);
        assertTensor(eval(new Layer.Slice("sl", "x", "y", 0, -1, Long.MIN_VALUE, -1), "x", x), new int[] {10}, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        assertTensor(eval(new Layer.Slice("sl", "x", "y", 0, 100, 200, 1), "x", x), new int[] {0});
        assertTensor(eval(new Layer.Slice("sl", "x", "y", 0, -3, Long.MAX_VALUE, 1), "x", x), new int[] {3}, 7, 8, 9);
        Tensor m = t(range(8), 2, 4);
        assertTensor(eval(new Layer.Slice("sl", "x", "y", -1, 1, 3, 1), "x", m), new int[] {2, 2}, 1, 2, 5, 6);
        assertBadInput(() -> NativeRuntime.evaluate(new Layer.Slice("sl0", "x", "y", 0, 0, 1, 0), Map.of("x", x)), "layer 'sl0'", "step");
        // ONNX clamps a backward start to [0, dim - 1], so start -100 on 10 elements still reads index 0 (as onnxruntime 1.29 does)
        assertTensor(eval(new Layer.Slice("sl", "x", "y", 0, -100, Long.MIN_VALUE, -1), "x", x), new int[] {1}, 0);
        // an empty axis has no index to start from, whatever the step
        assertTensor(eval(new Layer.Slice("sl", "x", "y", 1, -1, Long.MIN_VALUE, -1), "x", t(new float[0], 2, 0)), new int[] {2, 0});
        // extreme steps keep ceil(distance / |step|) = 1 element (end - start + step - 1 and -step used to overflow)
        assertTensor(eval(new Layer.Slice("sl", "x", "y", 0, 2, Long.MAX_VALUE, Long.MAX_VALUE), "x", x), new int[] {1}, 2);
        assertTensor(eval(new Layer.Slice("sl", "x", "y", 0, -2, Long.MIN_VALUE, Long.MIN_VALUE), "x", x), new int[] {1}, 8);
    }

    @Test
    void cast() {
        Tensor i = eval(new Layer.Cast("c", "x", "y", DType.INT64), "x", t(new float[] {1.7f, -1.7f, 3}, 3));
        assertEquals(DType.INT64, i.dtype());
        assertArrayEquals(new long[] {1, -1, 3}, i.toLongArray());
        Tensor f = eval(new Layer.Cast("c", "x", "y", DType.FLOAT32), "x", ints(new long[] {2, -5}, 2));
        assertEquals(DType.FLOAT32, f.dtype());
        assertTensor(f, new int[] {2}, 2, -5);
        assertEquals(DType.INT32, eval(new Layer.Cast("c", "x", "y", DType.INT32), "x", ints(new long[] {2}, 1)).dtype());
    }

    @Test
    void evaluateRunsAnLstmAndNamesMissingInputs() {
        io.lstmx.ir.LstmSpec spec = io.lstmx.ir.LstmSpec.standard(1, 1, io.lstmx.ir.Direction.FORWARD, io.lstmx.ir.Layout.TIME_MAJOR);
        // All weights zero: every gate is sigmoid(0) = 0.5 and g = tanh(0) = 0, so c stays 0 and h = 0.5 * tanh(0) = 0.
        // With Wb_g = atanh(0.5): g = 0.5 -> c1 = 0.5*0 + 0.5*0.5 = 0.25, h1 = 0.5 * tanh(0.25).
        float atanhHalf = (float) (0.5 * Math.log(3));
        io.lstmx.ir.LstmWeights w = new io.lstmx.ir.LstmWeights(t(new float[4], 4, 1), t(new float[4], 4, 1),
                t(new float[] {0, 0, atanhHalf, 0}, 4), t(new float[4], 4), null, null);
        Layer.Lstm l = new Layer.Lstm("cell", new RecurrentPorts("x", null, null, null, null, "h", "c"), spec, List.of(w), io.lstmx.ir.GateOrder.CANONICAL);
        Map<String, Tensor> out = NativeRuntime.evaluate(l, Map.of("x", t(new float[] {3}, 1, 1, 1)));
        assertEquals(List.of("h", "c"), List.copyOf(out.keySet()));
        assertTensor(out.get("c"), new int[] {1, 1, 1}, 0.25f);
        assertTensor(out.get("h"), new int[] {1, 1, 1}, (float) (0.5 * Math.tanh(0.25)));
        assertBadInput(() -> NativeRuntime.evaluate(l, Map.of()), "layer 'cell' (LSTM)", "'x'");
    }
}
