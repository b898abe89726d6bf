package io.lstmx.importers.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.StridedSlice;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Graphs built by TensorFlow itself (through TensorFlow Java), saved as frozen GraphDefs and as a
 * SavedModel, read by lstmx and run in its runtime against TensorFlow running the same graph.
 * With {@code -Dlstmx.tf.fixtures=DIR} the files, the input and TensorFlow's output (.npy) are
 * also written under DIR (fixtures/tensorflow is made so).
 */
class TfMadeGraphsTest {
    static final int T = 4;
    static final int B = 2;
    static final int I = 3;
    static final int H = 5;

    @TempDir
    Path tmp;

    static Operand<TFloat32> c(Ops tf, long seed, int... shape) {
        return tf.constant(Shape.of(java.util.Arrays.stream(shape).asLongStream().toArray()),
                DataBuffers.of(scale(TfReference.random(seed, java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b)), 0.5f)));
    }

    static float[] scale(float[] f, float s) {
        for (int i = 0; i < f.length; i++) {
            f[i] *= s;
        }
        return f;
    }

    /** BlockLSTM (V1: forget_bias, cell_clip, peepholes) then the last step through a dense tanh head. */
    static Output<TFloat32> blockLstm(Graph g, Ops tf, Operand<TFloat32> x, boolean v2) {
        Operand<TInt64> len = tf.constant((long) T);
        Operand<TFloat32> zeros = tf.zeros(tf.constant(new int[] {B, H}), TFloat32.class);
        var b = g.opBuilder(v2 ? "BlockLSTMV2" : "BlockLSTM", "lstm", tf.scope())
                .addInput(len.asOutput()).addInput(x.asOutput()).addInput(zeros.asOutput()).addInput(zeros.asOutput())
                .addInput(c(tf, 1, I + H, 4 * H).asOutput()).addInput(c(tf, 2, H).asOutput()).addInput(c(tf, 3, H).asOutput())
                .addInput(c(tf, 4, H).asOutput()).addInput(c(tf, 5, 4 * H).asOutput())
                .setAttr("cell_clip", v2 ? 0f : 0.6f).setAttr("use_peephole", true);
        if (!v2) {
            b.setAttr("forget_bias", 0.7f);
        }
        GraphOperation op = b.build();
        Output<TFloat32> h = op.output(6);
        Operand<TFloat32> last = tf.stridedSlice(h, tf.constant(new int[] {-1}), tf.constant(new int[] {0}), tf.constant(new int[] {1}),
                StridedSlice.shrinkAxisMask(1L));
        Operand<TFloat32> dense = tf.nn.biasAdd(tf.linalg.matMul(last, c(tf, 6, H, 2)), c(tf, 7, 2));
        return tf.withName("out").math.tanh(dense).asOutput();
    }

    /** A TF1 LSTMCell unrolled over T steps: i, j, f, o from concat(x_t, h) and forget_bias 1.0 added at run time. */
    static Output<TFloat32> unrolledCell(Ops tf, Operand<TFloat32> x) {
        Operand<TFloat32> kernel = c(tf, 11, I + H, 4 * H);
        Operand<TFloat32> bias = c(tf, 12, 4 * H);
        // zero states of the input's batch size, as TF1's zero_state builds them
        var batch = tf.stridedSlice(tf.shape(x), tf.constant(new int[] {0}), tf.constant(new int[] {1}), tf.constant(new int[] {1}),
                StridedSlice.shrinkAxisMask(1L));
        Operand<TFloat32> h = tf.fill(tf.stack(List.of(batch, tf.constant(H))), tf.constant(0f));
        Operand<TFloat32> cs = h;
        for (int t = 0; t < T; t++) {
            Operand<TFloat32> xt = tf.stridedSlice(x, tf.constant(new int[] {0, t}), tf.constant(new int[] {0, t + 1}),
                    tf.constant(new int[] {1, 1}), StridedSlice.beginMask(1L), StridedSlice.endMask(1L), StridedSlice.shrinkAxisMask(2L));
            Operand<TFloat32> z = tf.nn.biasAdd(tf.linalg.matMul(tf.concat(List.of(xt, h), tf.constant(1)), kernel), bias);
            var parts = tf.split(tf.constant(1), z, 4L).output();
            Operand<TFloat32> f = tf.math.add(parts.get(2), tf.constant(1.0f));
            cs = tf.math.add(tf.math.mul(cs, tf.math.sigmoid(f)), tf.math.mul(tf.math.sigmoid(parts.get(0)), tf.math.tanh(parts.get(1))));
            h = tf.math.mul(tf.math.tanh(cs), tf.math.sigmoid(parts.get(3)));
        }
        return tf.withName("out").identity(h).asOutput();
    }

    interface Builder {
        Output<TFloat32> build(Graph g, Ops tf, Operand<TFloat32> x);
    }

    record Case(String name, int[] shape, int[] outShape, Builder builder) {
    }

    static final List<Case> CASES = List.of(
            new Case("block_lstm", new int[] {T, B, I}, new int[] {B, 2}, (g, tf, x) -> blockLstm(g, tf, x, false)),
            new Case("block_lstm_v2", new int[] {T, B, I}, new int[] {B, 2}, (g, tf, x) -> blockLstm(g, tf, x, true)),
            new Case("tf1_cell_unrolled", new int[] {B, T, I}, new int[] {B, H}, (g, tf, x) -> unrolledCell(tf, x)),
            new Case("layer_norm_spelt_out", new int[] {B, T, I}, new int[] {B, T, I}, (g, tf, x) -> layerNorm(tf, x)));

    /**
     * A layer norm over the last axis as lstmx's TensorFlow writer spells it out: d = x - Mean(x),
     * d * Rsqrt(Mean(d * d) + eps), then gamma and beta.
     */
    static Output<TFloat32> layerNorm(Ops tf, Operand<TFloat32> x) {
        Operand<org.tensorflow.types.TInt32> last = tf.constant(new int[] {-1});
        Operand<TFloat32> mean = tf.math.mean(x, last, org.tensorflow.op.math.Mean.keepDims(true));
        Operand<TFloat32> d = tf.math.sub(x, mean);
        Operand<TFloat32> var = tf.math.mean(tf.math.mul(d, d), last, org.tensorflow.op.math.Mean.keepDims(true));
        Operand<TFloat32> y = tf.math.mul(d, tf.math.rsqrt(tf.math.add(var, tf.constant(1e-3f))));
        y = tf.math.add(tf.math.mul(y, tf.constant(new float[] {0.5f, -1.25f, 2f})), tf.constant(new float[] {0.1f, 0f, -0.3f}));
        return tf.withName("out").identity(y).asOutput();
    }

    @Test
    void frozenGraphDefsMatchTensorFlow() throws IOException {
        for (Case k : CASES) {
            try (Graph g = new Graph(); Session s = new Session(g)) {
                Ops tf = Ops.create(g);
                Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(
                        java.util.Arrays.stream(k.shape()).asLongStream().toArray())));
                k.builder().build(g, tf, x);
                Path pb = tmp.resolve(k.name() + ".pb");
                Files.write(pb, g.toGraphDef().toByteArray());
                float[] in = TfReference.random(42, java.util.Arrays.stream(k.shape()).reduce(1, (a, b) -> a * b));
                float[] expected = TfReference.run(s, "x", "out", k.shape(), in, null);
                Model m = new GraphDefReader().read(pb, ReadOptions.DEFAULT);
                if (k.name().startsWith("block")) {
                    Layer.Lstm l = (Layer.Lstm) m.layers().stream().filter(x2 -> x2 instanceof Layer.Lstm).findFirst().orElseThrow();
                    assertEquals(k.name().equals("block_lstm") ? 0.7f : 0f, l.spec().forgetBias());
                    assertTrue(l.weights().get(0).peephole() != null);
                }
                if (k.name().equals("layer_norm_spelt_out")) {
                    assertEquals(1, m.layers().stream().filter(x2 -> x2 instanceof Layer.LayerNorm).count(), m.layers().toString());
                }
                if (k.name().equals("tf1_cell_unrolled")) {
                    // the cell's arithmetic over every step is folded into one LSTM layer, forget_bias in its bias
                    assertEquals(1, m.layers().stream().filter(x2 -> x2 instanceof Layer.Recurrent).count(), m.layers().toString());
                    assertEquals(0, m.layers().stream().filter(x2 -> x2 instanceof Layer.Activation).count(), m.layers().toString());
                }
                TfReference.close(expected, TfReference.lstmx(m, "x", k.shape(), in));
                writeFixture(k.name(), pb, null, k.shape(), in, k.outShape(), expected);
            }
        }
    }

    @Test
    void savedModelWithVariablesMatchesTensorFlow() throws IOException {
        Path dir = tmp.resolve("block_lstm_savedmodel");
        int[] shape = {T, B, I};
        float[] in = TfReference.random(7, T * B * I);
        float[] expected;
        try (Graph g = new Graph(); Session s = new Session(g)) {
            Ops tf = Ops.create(g);
            Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(T, B, I)));
            Output<TFloat32> y = blockLstm(g, tf, x, false);
            // a variable after it, so that the SavedModel carries a checkpoint
            var v = tf.withName("scale").variable(c(tf, 9, 2));
            Operand<TFloat32> out = tf.withName("scaled").math.mul(y, v);
            s.initialize();
            expected = TfReference.run(s, "x", "scaled", shape, in, null);
            SavedModelBundle.exporter(dir.toString()).withSession(s)
                    .withSignature(Signature.builder().key("serving_default").input("sequence", x).output("prediction", out).build()).export();
        }
        Model m = new SavedModelReader().read(dir, ReadOptions.DEFAULT);
        assertEquals("sequence", m.inputs().get(0).name());
        assertEquals("prediction", m.outputs().get(0).name());
        TfReference.close(expected, TfReference.lstmx(m, "sequence", shape, in));
        try (SavedModelBundle b = SavedModelBundle.load(dir.toString(), "serve")) {
            TfReference.close(expected, TfReference.run(b.session(), "x", "scaled", shape, in, null));
        }
        writeFixture("block_lstm_savedmodel", null, dir, shape, in, new int[] {B, 2}, expected);
    }

    @Test
    void unknownOpsAreListedTogether() throws IOException {
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, I)));
            Operand<TFloat32> a = tf.withName("cos").math.cos(x);
            Operand<TFloat32> b = tf.withName("erf").math.erf(x);
            Operand<TFloat32> d = tf.withName("cos2").math.cos(b);
            tf.withName("out").math.add(a, d);
            Path pb = tmp.resolve("unknown.pb");
            Files.write(pb, g.toGraphDef().toByteArray());
            LstmxException e = assertThrows(LstmxException.class, () -> new GraphDefReader().read(pb, ReadOptions.DEFAULT));
            // cos2 reads the unconverted erf: it is skipped, not reported a second time
            assertTrue(e.getMessage().contains("unsupported TensorFlow ops: Cos (node 'cos'); Erf (node 'erf')"), e.getMessage());
        }
    }

    @Test
    void aMeanThatIsNotPartOfALayerNormIsRefusedByName() throws IOException {
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, T, I)));
            // over the time axis: not a layer norm's
            Operand<TFloat32> m = tf.withName("pool").math.mean(x, tf.constant(new int[] {1}), org.tensorflow.op.math.Mean.keepDims(true));
            tf.withName("out").math.sub(x, m);
            Path pb = tmp.resolve("mean.pb");
            Files.write(pb, g.toGraphDef().toByteArray());
            LstmxException e = assertThrows(LstmxException.class, () -> new GraphDefReader().read(pb, ReadOptions.DEFAULT));
            assertTrue(e.getMessage().contains("pool") && e.getMessage().contains("only as part of a layer norm"), e.getMessage());
        }
    }

    /** Writes the model, input.npy and expected.npy under -Dlstmx.tf.fixtures when set. */
    static void writeFixture(String name, Path pb, Path savedModel, int[] shape, float[] in, int[] outShape, float[] out) throws IOException {
        String root = System.getProperty("lstmx.tf.fixtures");
        if (root == null || root.isEmpty()) {
            return;
        }
        Path d = Path.of(root).resolve(name);
        Files.createDirectories(d);
        if (pb != null) {
            Files.copy(pb, d.resolve("model.pb"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } else {
            try (var walk = Files.walk(savedModel)) {
                for (Path p : walk.toList()) {
                    Path t = d.resolve("saved_model").resolve(savedModel.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(t);
                    } else {
                        Files.copy(p, t, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        }
        npy(d.resolve("input.npy"), shape, in);
        npy(d.resolve("expected.npy"), outShape, out);
    }

    static void npy(Path p, int[] shape, float[] data) throws IOException {
        StringBuilder dims = new StringBuilder();
        for (int s : shape) {
            dims.append(s).append(", ");
        }
        String h = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + (shape.length == 1 ? shape[0] + "," : dims.substring(0, dims.length() - 2)) + "), }";
        int total = 10 + h.length() + 1;
        h = h + " ".repeat((64 - total % 64) % 64) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + h.length() + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0).putShort((short) h.length());
        b.put(h.getBytes(StandardCharsets.US_ASCII));
        for (float f : data) {
            b.putFloat(f);
        }
        Files.write(p, b.array());
    }
}
