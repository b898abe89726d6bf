package io.lstmx.tests;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.errors.LstmxException;
import io.lstmx.exporters.onnx.OnnxExporter;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The ONNX exporter's non-LSTM operators, at every opset where their encoding changes: each IR layer
 * is exported, run in onnxruntime, and compared with the value computed here by plain arithmetic.
 */
class OnnxExportOperatorsTest {
    private static final int[] OPSETS = {7, 9, 10, 11, 12, 13, 17, 22};

    @TempDir
    Path dir;

    private final Random rnd = new Random(7);

    private Tensor random(int... shape) {
        float[] v = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextFloat() * 4 - 2;
        }
        return Tensor.ofFloats(shape, v);
    }

    private static ValueInfo f32(String name, Object... dims) {
        return new ValueInfo(name, DType.FLOAT32, Shape.of(dims));
    }

    private static Model model(List<ValueInfo> in, ValueInfo out, Layer... layers) {
        return new Model("ops", ModelInfo.NONE, in, List.of(out), List.of(layers));
    }

    /** Exports at each opset, runs onnxruntime, and compares output 'y' with {@code expected}. */
    private void check(String what, Model m, Map<String, Tensor> inputs, Tensor expected, int... opsets) {
        for (int opset : opsets) {
            Path f = dir.resolve(what + "_opset" + opset + ".onnx");
            OnnxExporter.save(m, f, opset, false);
            Map<String, Tensor> out = OnnxRuntimeReference.run(f, inputs);
            Tensor y = out.get("y");
            assertNotNull(y, what + " opset " + opset + ": no output y in " + out.keySet());
            TestFiles.assertClose(y, expected, what + " at opset " + opset);
        }
    }

    private void check(String what, Model m, Tensor x, Tensor expected, int... opsets) {
        check(what, m, Map.of("x", x), expected, opsets);
    }

    // ------------------------------------------------------------------ Dense, Embedding, MatMul

    private static float[] dense(float[] x, int rows, float[] w, float[] b, int out, int in) {
        float[] y = new float[rows * out];
        for (int n = 0; n < rows; n++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) {
                    s += (double) x[n * in + i] * w[o * in + i];
                }
                y[n * out + o] = (float) s;
            }
        }
        return y;
    }

    @Test
    void dense() {
        Tensor w = random(4, 3);
        Tensor b = random(4);
        Tensor x2 = random(2, 3);
        Tensor x3 = random(2, 5, 3);
        float[] e2 = dense(x2.toFloatArray(), 2, w.toFloatArray(), b.toFloatArray(), 4, 3);
        check("dense_rank2", model(List.of(f32("x", "n", 3)), f32("y", "n", 4), new Layer.Dense("fc", "x", "y", w, b)), x2,
                Tensor.ofFloats(new int[] {2, 4}, e2), OPSETS);
        float[] e2nb = dense(x2.toFloatArray(), 2, w.toFloatArray(), null, 4, 3);
        check("dense_rank2_no_bias", model(List.of(f32("x", "n", 3)), f32("y", "n", 4), new Layer.Dense("fc", "x", "y", w, null)), x2,
                Tensor.ofFloats(new int[] {2, 4}, e2nb), OPSETS);
        float[] e3 = dense(x3.toFloatArray(), 10, w.toFloatArray(), b.toFloatArray(), 4, 3);
        check("dense_rank3", model(List.of(f32("x", "n", "t", 3)), f32("y", "n", "t", 4), new Layer.Dense("fc", "x", "y", w, b)), x3,
                Tensor.ofFloats(new int[] {2, 5, 4}, e3), OPSETS);
    }

    @Test
    void embedding() {
        Tensor table = random(5, 2);
        long[] idx = {4, 0, 2, 2, 1, 3};
        float[] t = table.toFloatArray();
        float[] e = new float[idx.length * 2];
        for (int i = 0; i < idx.length; i++) {
            e[2 * i] = t[(int) idx[i] * 2];
            e[2 * i + 1] = t[(int) idx[i] * 2 + 1];
        }
        Tensor expected = Tensor.ofFloats(new int[] {2, 3, 2}, e);
        Model m = model(List.of(new ValueInfo("x", DType.INT64, Shape.of("n", 3))), f32("y", "n", 3, 2), new Layer.Embedding("emb", "x", "y", table));
        check("embedding", m, Tensor.ofLongs(new int[] {2, 3}, idx), expected, OPSETS);
        float[] fi = new float[idx.length];
        for (int i = 0; i < idx.length; i++) {
            fi[i] = idx[i];
        }
        // Float indices (as Keras feeds them) are cast to integers first: the IR Embedding reads integer indices only.
        Model mf = model(List.of(f32("x", "n", 3)), f32("y", "n", 3, 2), new Layer.Cast("idx", "x", "i", DType.INT64),
                new Layer.Embedding("emb", "i", "y", table));
        check("embedding_float_indices", mf, Tensor.ofFloats(new int[] {2, 3}, fi), expected, OPSETS);
        Model bare = model(List.of(f32("x", "n", 3)), f32("y", "n", 3, 2), new Layer.Embedding("emb", "x", "y", table));
        LstmxException refused = org.junit.jupiter.api.Assertions.assertThrows(LstmxException.class,
                () -> OnnxExporter.save(bare, dir.resolve("bare.onnx"), 17, false));
        assertEquals(io.lstmx.errors.ErrorCode.BAD_INPUT, refused.code(), refused.getMessage());
        assertEquals(dir.resolve("bare.onnx") + ": model 'ops': layer 'emb' (Embedding) input 'x' is float32 [n, 3], expected integer indices",
                refused.getMessage());
    }

    @Test
    void matMulAndBinaryOpsWithBroadcasting() {
        Tensor a = random(2, 3);
        Tensor b = random(3, 4);
        float[] e = dense(a.toFloatArray(), 2, transpose(b.toFloatArray(), 3, 4), null, 4, 3);
        Model mm = model(List.of(f32("x", 2, 3), f32("w", 3, 4)), f32("y", 2, 4), new Layer.MatMul("mm", "x", "w", "y"));
        check("matmul", mm, Map.of("x", a, "w", b), Tensor.ofFloats(new int[] {2, 4}, e), OPSETS);

        Tensor row = Tensor.ofFloats(new int[] {3}, new float[] {0.5f, -1.5f, 2f});
        for (Layer.Binary.Op op : Layer.Binary.Op.values()) {
            float[] x = a.toFloatArray();
            float[] y = new float[6];
            for (int i = 0; i < 6; i++) {
                float r = row.getFloat(i % 3);
                y[i] = switch (op) {
                    case ADD -> x[i] + r;
                    case SUB -> x[i] - r;
                    case MUL -> x[i] * r;
                    case DIV -> x[i] / r;
                };
            }
            Model m = model(List.of(f32("x", "n", 3)), f32("y", "n", 3), new Layer.Constant("row", "row", row),
                    new Layer.Binary("op", op, "x", "row", "y"));
            check("binary_" + op, m, a, Tensor.ofFloats(new int[] {2, 3}, y), OPSETS);
        }
    }

    private static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = m[i * cols + j];
            }
        }
        return t;
    }

    // ------------------------------------------------------------------ element-wise

    @Test
    void activations() {
        Tensor x = random(3, 5);
        record Act(ActivationFn fn, DoubleUnaryOperator f) {
        }
        List<Act> acts = List.of(
                new Act(ActivationFn.SIGMOID, v -> 1 / (1 + Math.exp(-v))),
                new Act(ActivationFn.TANH, Math::tanh),
                new Act(ActivationFn.RELU, v -> Math.max(0, v)),
                new Act(ActivationFn.IDENTITY, v -> v),
                new Act(ActivationFn.of(ActivationFn.Kind.LEAKY_RELU, 0.3f, 0), v -> v >= 0 ? v : 0.3f * v),
                new Act(ActivationFn.of(ActivationFn.Kind.THRESHOLDED_RELU, 0.4f, 0), v -> v > 0.4f ? v : 0),
                new Act(ActivationFn.of(ActivationFn.Kind.ELU, 0.8f, 0), v -> v >= 0 ? v : 0.8f * (Math.exp(v) - 1)),
                new Act(ActivationFn.of(ActivationFn.Kind.HARD_SIGMOID, 0.25f, 0.45f), v -> Math.max(0, Math.min(1, 0.25f * v + 0.45f))),
                new Act(ActivationFn.of(ActivationFn.Kind.AFFINE, 1.5f, -0.25f), v -> 1.5f * v - 0.25f),
                new Act(ActivationFn.of(ActivationFn.Kind.SCALED_TANH, 1.7f, 0.6f), v -> 1.7f * Math.tanh(0.6f * v)),
                new Act(ActivationFn.of(ActivationFn.Kind.SOFTSIGN), v -> v / (1 + Math.abs(v))),
                new Act(ActivationFn.of(ActivationFn.Kind.SOFTPLUS), v -> Math.log(1 + Math.exp(v))));
        for (Act a : acts) {
            float[] xv = x.toFloatArray();
            float[] e = new float[xv.length];
            for (int i = 0; i < xv.length; i++) {
                e[i] = (float) a.f().applyAsDouble(xv[i]);
            }
            Model m = model(List.of(f32("x", "n", 5)), f32("y", "n", 5), new Layer.Activation("act", "x", "y", a.fn()));
            check("activation_" + a.fn().kind(), m, x, Tensor.ofFloats(new int[] {3, 5}, e), OPSETS);
        }
    }

    @Test
    void softmaxAndLogSoftmaxOnEveryAxis() {
        Tensor x = random(2, 3, 4);
        int[] shape = {2, 3, 4};
        for (boolean log : new boolean[] {false, true}) {
            for (int axis : new int[] {0, 1, 2, -1, -2}) {
                Tensor e = softmax(x, shape, axis < 0 ? axis + 3 : axis, log);
                Model m = model(List.of(f32("x", "n", 3, 4)), f32("y", "n", 3, 4), new Layer.Softmax("sm", "x", "y", axis, log));
                check((log ? "logsoftmax_" : "softmax_") + axis, m, x, e, OPSETS);
            }
        }
    }

    private static Tensor softmax(Tensor x, int[] shape, int axis, boolean log) {
        float[] v = x.toFloatArray();
        float[] out = new float[v.length];
        int outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= shape[i];
        }
        int n = shape[axis];
        int inner = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        for (int o = 0; o < outer; o++) {
            for (int in = 0; in < inner; in++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < n; k++) {
                    max = Math.max(max, v[(o * n + k) * inner + in]);
                }
                double sum = 0;
                for (int k = 0; k < n; k++) {
                    sum += Math.exp(v[(o * n + k) * inner + in] - max);
                }
                for (int k = 0; k < n; k++) {
                    double z = v[(o * n + k) * inner + in] - max;
                    out[(o * n + k) * inner + in] = (float) (log ? z - Math.log(sum) : Math.exp(z) / sum);
                }
            }
        }
        return Tensor.ofFloats(shape, out);
    }

    @Test
    void dropoutIdentityAndCastPassValuesThrough() {
        Tensor x = random(2, 3);
        check("dropout", model(List.of(f32("x", "n", 3)), f32("y", "n", 3), new Layer.Dropout("drop", "x", "y", 0.3f)), x, x, OPSETS);
        check("identity", model(List.of(f32("x", "n", 3)), f32("y", "n", 3), new Layer.Identity("id", "x", "y")), x, x, OPSETS);
        Tensor ints = Tensor.ofFloats(new int[] {2, 3}, new float[] {1, -2, 3, 40, 0, -7});
        Model cast = model(List.of(f32("x", "n", 3)), new ValueInfo("y", DType.INT64, Shape.of("n", 3)),
                new Layer.Cast("to_int", "x", "y", DType.INT64));
        check("cast", cast, ints, Tensor.ofLongs(new int[] {2, 3}, new long[] {1, -2, 3, 40, 0, -7}), OPSETS);
    }

    // ------------------------------------------------------------------ shape operators

    @Test
    void reshapeFlattenSqueezeUnsqueezeTransposeConcat() {
        Tensor x = random(2, 3, 4);
        float[] v = x.toFloatArray();
        check("reshape", model(List.of(f32("x", "n", 3, 4)), f32("y", "n", 12), new Layer.Reshape("rs", "x", "y", List.of(0L, -1L))), x,
                Tensor.ofFloats(new int[] {2, 12}, v), OPSETS);
        check("flatten", model(List.of(f32("x", "n", 3, 4)), f32("y", "n", 12), new Layer.Flatten("fl", "x", "y", 1)), x,
                Tensor.ofFloats(new int[] {2, 12}, v), OPSETS);
        check("flatten_negative_axis", model(List.of(f32("x", "n", 3, 4)), f32("y", 6, 4), new Layer.Flatten("fl", "x", "y", -1)), x,
                Tensor.ofFloats(new int[] {6, 4}, v), OPSETS);
        check("unsqueeze", model(List.of(f32("x", "n", 3, 4)), f32("y", "n", 1, 3, 4, 1),
                new Layer.Unsqueeze("un", "x", "y", List.of(1, -1))), x, Tensor.ofFloats(new int[] {2, 1, 3, 4, 1}, v), OPSETS);
        Tensor x1 = random(1, 3, 1);
        check("squeeze", model(List.of(f32("x", 1, 3, 1)), f32("y", 3), new Layer.Squeeze("sq", "x", "y", List.of(0, -1))), x1,
                Tensor.ofFloats(new int[] {3}, x1.toFloatArray()), OPSETS);
        check("transpose", model(List.of(f32("x", "n", 3, 4)), f32("y", 4, "n", 3), new Layer.Transpose("tr", "x", "y", List.of(2, 0, 1))), x,
                LstmNodeCase.permute(x, 2, 0, 1), OPSETS);

        Tensor a = random(2, 3);
        Tensor b = random(2, 2);
        float[] e = new float[10];
        for (int r = 0; r < 2; r++) {
            for (int c = 0; c < 3; c++) {
                e[r * 5 + c] = a.getFloat(r * 3 + c);
            }
            for (int c = 0; c < 2; c++) {
                e[r * 5 + 3 + c] = b.getFloat(r * 2 + c);
            }
        }
        Model cat = model(List.of(f32("x", "n", 3), f32("z", "n", 2)), f32("y", "n", 5), new Layer.Concat("cat", List.of("x", "z"), "y", -1));
        check("concat", cat, Map.of("x", a, "z", b), Tensor.ofFloats(new int[] {2, 5}, e), OPSETS);
    }

    /** x[:, k, :] of a [2, 5, 3] tensor. */
    private static float[] column(Tensor x, int k) {
        float[] out = new float[6];
        for (int n = 0; n < 2; n++) {
            for (int c = 0; c < 3; c++) {
                out[n * 3 + c] = x.getFloat((n * 5 + k) * 3 + c);
            }
        }
        return out;
    }

    @Test
    void selectTakeAndSlice() {
        Tensor x = random(2, 5, 3);
        Model last = model(List.of(f32("x", "n", "t", 3)), f32("y", "n", 3), new Layer.Select("last", "x", "y", 1, -1));
        check("select_last", last, x, Tensor.ofFloats(new int[] {2, 3}, column(x, 4)), OPSETS);
        Model second = model(List.of(f32("x", "n", "t", 3)), f32("y", "n", 3), new Layer.Select("second", "x", "y", -2, -4));
        check("select_negative_axis", second, x, Tensor.ofFloats(new int[] {2, 3}, column(x, 1)), OPSETS);
        Model first = model(List.of(f32("x", "n", "t", 3)), f32("y", "n", 3), new Layer.Select("first", "x", "y", 1, 0));
        check("select_first", first, x, Tensor.ofFloats(new int[] {2, 3}, column(x, 0)), OPSETS);

        List<int[]> picks = List.of(new int[] {3, 0, 3});
        Model take = model(List.of(f32("x", "n", "t", 3)), f32("y", "n", 3, 3),
                new Layer.Take("take", "x", "y", 1, Tensor.ofLongs(new int[] {3}, new long[] {3, 0, 3})));
        check("take", take, x, gather(x, picks.get(0)), OPSETS);
        Model takeNeg = model(List.of(f32("x", "n", "t", 3)), f32("y", "n", 3, 3),
                new Layer.Take("take", "x", "y", 1, Tensor.ofLongs(new int[] {3}, new long[] {-2, 0, 3})));
        check("take_negative", takeNeg, x, gather(x, new int[] {3, 0, 3}), 11, 13, 17, 22);

        Model tail = model(List.of(f32("x", "n", "t", 3)), f32("y", "n", "t2", 3), new Layer.Slice("tail", "x", "y", 1, 2, Long.MAX_VALUE, 1));
        check("slice_tail", tail, x, gather(x, new int[] {2, 3, 4}), OPSETS);
        Model negStart = model(List.of(f32("x", "n", "t", 3)), f32("y", "n", "t2", 3), new Layer.Slice("end", "x", "y", -2, -3, -1, 1));
        check("slice_negative_bounds", negStart, x, gather(x, new int[] {2, 3}), OPSETS);
        Model stepped = model(List.of(f32("x", "n", "t", 3)), f32("y", "n", "t2", 3), new Layer.Slice("odd", "x", "y", 1, 1, 5, 2));
        check("slice_step", stepped, x, gather(x, new int[] {1, 3}), 10, 11, 13, 17, 22);
        Model reversed = model(List.of(f32("x", "n", "t", 3)), f32("y", "n", "t", 3),
                new Layer.Slice("rev", "x", "y", 1, -1, Long.MIN_VALUE, -1));
        check("slice_reverse", reversed, x, gather(x, new int[] {4, 3, 2, 1, 0}), 10, 11, 13, 17, 22);
    }

    /** x[:, idx, :] of a [2, 5, 3] tensor. */
    private static Tensor gather(Tensor x, int[] idx) {
        List<Float> out = new ArrayList<>();
        for (int n = 0; n < 2; n++) {
            for (int k : idx) {
                for (int c = 0; c < 3; c++) {
                    out.add(x.getFloat((n * 5 + k) * 3 + c));
                }
            }
        }
        float[] f = new float[out.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = out.get(i);
        }
        return Tensor.ofFloats(new int[] {2, idx.length, 3}, f);
    }

    @Test
    void aConstantGraphOutputAndAChainKeepTheirNames() {
        Tensor k = Tensor.ofFloats(new int[] {2}, new float[] {3, 4});
        Tensor x = random(2);
        float[] e = {x.getFloat(0) + 3, x.getFloat(1) + 4};
        Model m = new Model("ops", ModelInfo.NONE, List.of(f32("x", 2)), List.of(f32("y", 2), f32("k", 2)),
                List.of(new Layer.Constant("k", "k", k), new Layer.Binary("add", Layer.Binary.Op.ADD, "x", "k", "y")));
        for (int opset : OPSETS) {
            Path f = dir.resolve("const_" + opset + ".onnx");
            OnnxExporter.save(m, f, opset, false);
            Map<String, Tensor> out = OnnxRuntimeReference.run(f, new LinkedHashMap<>(Map.of("x", x)));
            assertEquals(List.of("y", "k"), new ArrayList<>(out.keySet()));
            TestFiles.assertClose(out.get("y"), Tensor.ofFloats(new int[] {2}, e), "y at opset " + opset);
            TestFiles.assertClose(out.get("k"), k, "k at opset " + opset);
        }
    }

    @Test
    void featuresMissingFromTheOpsetAreRefusedNotApproximated() {
        Model stepped = model(List.of(f32("x", "n", "t", 3)), f32("y", "n", "t2", 3), new Layer.Slice("odd", "x", "y", 1, 1, 5, 2));
        LstmxException e = org.junit.jupiter.api.Assertions.assertThrows(LstmxException.class,
                () -> OnnxExporter.save(stepped, dir.resolve("odd.onnx"), 9, false));
        assertEquals(io.lstmx.errors.ErrorCode.UNSUPPORTED, e.code());
        org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(dir.resolve("odd.onnx")), "nothing written on refusal");
    }
}
