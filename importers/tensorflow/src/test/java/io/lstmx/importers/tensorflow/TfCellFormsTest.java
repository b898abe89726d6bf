package io.lstmx.importers.tensorflow;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.nn.LSTMBlockCell;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.lstmx.importers.tensorflow.TfMadeGraphsTest.B;
import static io.lstmx.importers.tensorflow.TfMadeGraphsTest.H;
import static io.lstmx.importers.tensorflow.TfMadeGraphsTest.I;
import static io.lstmx.importers.tensorflow.TfMadeGraphsTest.T;
import static io.lstmx.importers.tensorflow.TfMadeGraphsTest.c;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The LSTM cell forms TensorFlow graphs spell beyond the fused BlockLSTM ops, built by TensorFlow
 * itself (TensorFlow Java) as frozen GraphDefs, each read by lstmx as ONE IR LSTM layer and run
 * against TensorFlow's own output for the same input: the LSTMBlockCell op unrolled over every
 * step and inside a StatelessWhile loop; a TF1 LSTMCell (i, j, f, o on concat(x, h), forget_bias
 * added at run time) inside a loop as tf.nn.dynamic_rnn builds it, plain and with peepholes and a
 * cell clip (clip_by_value's Minimum and Maximum), and unrolled with both; and a loop whose sequence and outputs are
 * TensorLists with tf.while_loop's extra loop counter and maximum_iterations, as Keras 3's
 * TensorFlow backend writes it. With {@code -Dlstmx.tf.fixtures=DIR} the graphs, inputs and
 * TensorFlow's outputs are written under DIR (fixtures/tensorflow is made so).
 *
 * <p>What TensorFlow Java cannot build: Python's tf.function tracing, so loop bodies cannot capture
 * outer tensors; the weights of the TensorList loop are passed as loop variables instead, which is
 * what while_v2 turns captures into.
 */
class TfCellFormsTest {
    static final float FORGET_BIAS = 0.8f;
    static final float CLIP = 0.5f;

    @TempDir
    Path tmp;

    interface Builder {
        Output<TFloat32> build(Graph g, Ops tf, Operand<TFloat32> x);
    }

    /** A graph; forgetBias is the IR's (a forget bias TF1 cells add at run time is folded into the bias). */
    record Form(String name, int[] shape, int[] outShape, Builder builder, float forgetBias, Float cellClip, boolean peephole) {
    }

    static final List<Form> FORMS = List.of(
            new Form("lstm_block_cell_unrolled", new int[] {T, B, I}, new int[] {T, B, H}, TfCellFormsTest::blockCellUnrolled, FORGET_BIAS, CLIP, true),
            new Form("lstm_block_cell_while", new int[] {T, B, I}, new int[] {T, B, H}, (g, tf, x) -> blockCellLoop(tf, x), FORGET_BIAS, CLIP, true),
            new Form("tf1_cell_while", new int[] {T, B, I}, new int[] {T, B, H}, (g, tf, x) -> tf1CellLoop(tf, x, false), 0f, null, false),
            new Form("tf1_cell_peephole_clip_while", new int[] {T, B, I}, new int[] {T, B, H}, (g, tf, x) -> tf1CellLoop(tf, x, true),
                    0f, CLIP, true),
            new Form("tf1_cell_peephole_clip_unrolled", new int[] {B, T, I}, new int[] {B, T, H}, (g, tf, x) -> tf1CellUnrolled(tf, x),
                    0f, CLIP, true),
            new Form("tensorlist_while", new int[] {B, T, I}, new int[] {B, T, H}, (g, tf, x) -> tensorListLoop(tf, x), 0f, null, false));

    // ---- the graphs

    static LSTMBlockCell<TFloat32> blockCell(Ops tf, Operand<TFloat32> xt, Operand<TFloat32> cs, Operand<TFloat32> h) {
        // the same seeds at every call: one set of weights, constants folded the same
        return tf.nn.lSTMBlockCell(xt, cs, h, c(tf, 21, I + H, 4 * H), c(tf, 22, H), c(tf, 23, H), c(tf, 24, H), c(tf, 25, 4 * H),
                LSTMBlockCell.forgetBias(FORGET_BIAS), LSTMBlockCell.cellClip(CLIP), LSTMBlockCell.usePeephole(true));
    }

    /** tf.unstack(x) and one LSTMBlockCell per step, as tf.compat.v1.nn.static_rnn with an LSTMBlockCell builds it; h of every step stacked. */
    static Output<TFloat32> blockCellUnrolled(Graph g, Ops tf, Operand<TFloat32> x) {
        List<Output<TFloat32>> xs = tf.unstack(x, (long) T).output();
        Operand<TFloat32> h = tf.zeros(tf.constant(new int[] {B, H}), TFloat32.class);
        Operand<TFloat32> cs = h;
        List<Operand<TFloat32>> hs = new ArrayList<>();
        for (int t = 0; t < T; t++) {
            LSTMBlockCell<TFloat32> cell = blockCell(tf, xs.get(t), cs, h);
            h = cell.h();
            cs = cell.cs();
            hs.add(h);
        }
        return tf.withName("out").stack(hs).asOutput();
    }

    static Operand<?> variantPlaceholder(Ops ft) {
        return ((Graph) ft.scope().env()).opBuilder("Placeholder", ft.scope().makeOpName("Placeholder"), ft.scope())
                .setAttr("dtype", DataType.DT_VARIANT).build().output(0);
    }

    /**
     * TensorFlow Java 1.1.0 maps every function argument's dtype to a Java tensor class and has none
     * for DT_VARIANT (TensorList handles), so a ConcreteFunction over TensorLists fails to build. The
     * class is only bookkeeping on the Java side (no variant tensor is ever fetched here): register
     * TString's entry under DT_VARIANT once, so that the functions build and TensorFlow runs them.
     */
    @SuppressWarnings("unchecked")
    static synchronized void allowVariantArguments() {
        try {
            Class<?> reg = Class.forName("org.tensorflow.internal.types.registry.TensorTypeRegistry");
            var byCode = reg.getDeclaredField("TYPES_BY_CODE");
            var byClass = reg.getDeclaredField("TYPES_BY_CLASS");
            byCode.setAccessible(true);
            byClass.setAccessible(true);
            var codes = (java.util.Map<Integer, Object>) byCode.get(null);
            var classes = (java.util.Map<Class<?>, Object>) byClass.get(null);
            codes.putIfAbsent(DataType.DT_VARIANT_VALUE, classes.get(org.tensorflow.types.TString.class));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("TensorFlow Java's type registry changed: " + e, e);
        }
    }

    static List<Operand> args(Ops ft, List<Class<? extends TType>> types) {
        List<Operand> a = new ArrayList<>();
        for (Class<? extends TType> k : types) {
            a.add(k == null ? variantPlaceholder(ft) : ft.placeholder(k));
        }
        return a;
    }

    static Signature.Builder signature(List<Operand> a) {
        Signature.Builder s = Signature.builder();
        for (int i = 0; i < a.size(); i++) {
            s.input(String.format("a%03d", i), a.get(i));
        }
        return s;
    }

    interface Step {
        /** The new h and c from x_t, h and c, built in the body's scope. */
        Operand<TFloat32>[] step(Ops ft, Operand<TFloat32> xt, Operand<TFloat32> h, Operand<TFloat32> c);
    }

    /**
     * A StatelessWhile over the time steps of x [T, B, I] with loop variables t, x, h, c and the zero
     * output accumulator y [T, B, H] written by TensorScatterUpdate (tf.nn.dynamic_rnn's loop, with a
     * tensor for its TensorArray); the states c, h in that order when {@code cFirst} (TF1's
     * LSTMStateTuple); returns y.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Output<TFloat32> scatterLoop(Ops tf, Operand<TFloat32> x, boolean cFirst, Step step) {
        Operand<TFloat32> zeros = tf.zeros(tf.constant(new int[] {B, H}), TFloat32.class);
        Operand<TFloat32> y0 = tf.zeros(tf.constant(new int[] {T, B, H}), TFloat32.class);
        List<Operand<?>> init = List.of(tf.constant(0), x, zeros, zeros, y0);
        List<Class<? extends TType>> types = List.of(TInt32.class, TFloat32.class, TFloat32.class, TFloat32.class, TFloat32.class);
        ConcreteFunction cond = ConcreteFunction.create(ft -> {
            List<Operand> a = args(ft, types);
            Operand<TInt32> steps = ft.gather(ft.shape(a.get(1), TInt32.class), ft.constant(0), ft.constant(0));
            return signature(a).output("out", ft.math.less(a.get(0), steps)).build();
        });
        ConcreteFunction body = ConcreteFunction.create(ft -> {
            List<Operand> a = args(ft, types);
            Operand<TInt32> t = a.get(0);
            Operand<TFloat32> xt = ft.gather(a.get(1), t, ft.constant(0));
            int hi = cFirst ? 3 : 2;
            int ci = cFirst ? 2 : 3;
            Operand<TFloat32>[] next = step.step(ft, xt, a.get(hi), a.get(ci));
            Operand y = ft.tensorScatterNdUpdate(a.get(4), ft.reshape(t, ft.constant(new int[] {1, 1})), ft.expandDims(next[0], ft.constant(0)));
            List<Operand> outs = List.of(ft.math.add(t, ft.constant(1)), ft.identity(a.get(1)), next[cFirst ? 1 : 0], next[cFirst ? 0 : 1], y);
            Signature.Builder s = signature(a);
            for (int i = 0; i < outs.size(); i++) {
                s.output(String.format("o%03d", i), outs.get(i));
            }
            return s.build();
        });
        List<Output<?>> out = tf.statelessWhile(init, cond, body).output();
        return tf.withName("out").identity((Operand<TFloat32>) out.get(4)).asOutput();
    }

    @SuppressWarnings("unchecked")
    static Output<TFloat32> blockCellLoop(Ops tf, Operand<TFloat32> x) {
        return scatterLoop(tf, x, false, (ft, xt, h, cs) -> {
            LSTMBlockCell<TFloat32> cell = blockCell(ft, xt, cs, h);
            return new Operand[] {cell.h(), cell.cs()};
        });
    }

    /**
     * TF1's LSTMCell step: i, j, f, o = split(concat(x, h) W + b); with peepholes
     * c' = σ(f + forget_bias + w_f ⊙ c) ⊙ c + σ(i + w_i ⊙ c) ⊙ tanh(j), c' = clip_by_value(c', -clip, clip)
     * (Minimum, then Maximum), h = σ(o + w_o ⊙ c') ⊙ tanh(c'); without, BasicLSTMCell's
     * c' = σ(f + forget_bias) ⊙ c + σ(i) ⊙ tanh(j), h = σ(o) ⊙ tanh(c').
     */
    @SuppressWarnings("unchecked")
    static Operand<TFloat32>[] tf1Step(Ops ft, Operand<TFloat32> xt, Operand<TFloat32> h, Operand<TFloat32> cs, boolean peepholeClip) {
        Operand<TFloat32> z = ft.nn.biasAdd(ft.linalg.matMul(ft.concat(List.of(xt, h), ft.constant(1)), c(ft, 31, I + H, 4 * H)), c(ft, 32, 4 * H));
        var parts = ft.split(ft.constant(1), z, 4L).output();
        Operand<TFloat32> i = parts.get(0);
        Operand<TFloat32> f = ft.math.add(parts.get(2), ft.constant(1.0f));
        Operand<TFloat32> o = parts.get(3);
        if (peepholeClip) {
            i = ft.math.add(i, ft.math.mul(c(ft, 33, H), cs));
            f = ft.math.add(f, ft.math.mul(c(ft, 34, H), cs));
        }
        Operand<TFloat32> cn = ft.math.add(ft.math.mul(ft.math.sigmoid(f), cs), ft.math.mul(ft.math.sigmoid(i), ft.math.tanh(parts.get(1))));
        if (peepholeClip) {
            cn = ft.math.maximum(ft.math.minimum(cn, ft.constant(CLIP)), ft.constant(-CLIP));
            o = ft.math.add(o, ft.math.mul(c(ft, 35, H), cn));
        }
        Operand<TFloat32> hn = ft.math.mul(ft.math.sigmoid(o), ft.math.tanh(cn));
        return new Operand[] {hn, cn};
    }

    /** tf.unstack(x, axis=1) of a batch-major x [B, T, I] and the TF1 LSTMCell(use_peepholes, cell_clip) step per step, as static_rnn builds it; h packed on axis 1. */
    static Output<TFloat32> tf1CellUnrolled(Ops tf, Operand<TFloat32> x) {
        List<Output<TFloat32>> xs = tf.unstack(x, (long) T, org.tensorflow.op.core.Unstack.axis(1L)).output();
        Operand<TFloat32> h = tf.zeros(tf.constant(new int[] {B, H}), TFloat32.class);
        Operand<TFloat32> cs = h;
        List<Operand<TFloat32>> hs = new ArrayList<>();
        for (int t = 0; t < T; t++) {
            Operand<TFloat32>[] next = tf1Step(tf, xs.get(t), h, cs, true);
            h = next[0];
            cs = next[1];
            hs.add(h);
        }
        return tf.withName("out").stack(hs, org.tensorflow.op.core.Stack.axis(1L)).asOutput();
    }

    static Output<TFloat32> tf1CellLoop(Ops tf, Operand<TFloat32> x, boolean peepholeClip) {
        // plain: the state tuple (c, h) as TF1's LSTMStateTuple orders it; with peepholes and clip: (h, c)
        return scatterLoop(tf, x, !peepholeClip, (ft, xt, h, cs) -> tf1Step(ft, xt, h, cs, peepholeClip));
    }

    /**
     * Keras 3's TensorFlow backend loop over a batch-major x [B, T, I]: transposed to time-major, its
     * steps in a TensorList (TensorListFromTensor), the outputs in a reserved one (TensorListReserve),
     * a While with tf.while_loop's loop counter and maximum_iterations beside Keras's time, the
     * weights as loop variables, cond counter &lt; max ∧ time &lt; T, a Keras LSTMCell step
     * (z = x K + h R + b, gates i, f, c, o) reading TensorListGetItem and writing TensorListSetItem;
     * the outputs stacked (TensorListStack) and transposed back to [B, T, H].
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Output<TFloat32> tensorListLoop(Ops tf, Operand<TFloat32> xBatchMajor) {
        allowVariantArguments();
        Operand<TFloat32> x = tf.linalg.transpose(xBatchMajor, tf.constant(new int[] {1, 0, 2}));
        Operand<TInt32> elem = tf.constant(new int[] {B, I});
        Operand<?> inList = tf.tensorListFromTensor(x, elem);
        Operand<?> outList = tf.tensorListReserve(tf.constant(new int[] {B, H}), tf.constant(T), TFloat32.class);
        Operand<TFloat32> zeros = tf.zeros(tf.constant(new int[] {B, H}), TFloat32.class);
        List<Operand<?>> init = List.of(tf.constant(0), tf.constant(T), tf.constant(0), outList, zeros, zeros, inList,
                c(tf, 41, I, 4 * H), c(tf, 42, H, 4 * H), c(tf, 43, 4 * H));
        List<Class<? extends TType>> types = new ArrayList<>(List.of(TInt32.class, TInt32.class, TInt32.class));
        types.add(null);
        types.addAll(List.of(TFloat32.class, TFloat32.class));
        types.add(null);
        types.addAll(List.of(TFloat32.class, TFloat32.class, TFloat32.class));
        ConcreteFunction cond = ConcreteFunction.create(ft -> {
            List<Operand> a = args(ft, types);
            Operand<TBool> p = ft.math.logicalAnd(ft.math.less(a.get(0), a.get(1)), ft.math.less(a.get(2), ft.constant(T)));
            return signature(a).output("out", p).build();
        });
        ConcreteFunction body = ConcreteFunction.create(ft -> {
            List<Operand> a = args(ft, types);
            Operand<TInt32> time = a.get(2);
            Operand<TFloat32> xt = ft.tensorListGetItem(a.get(6), time, ft.constant(new int[] {B, I}), TFloat32.class);
            Operand<TFloat32> h = a.get(4);
            Operand<TFloat32> cs = a.get(5);
            Operand<TFloat32> z = ft.math.add(ft.math.add(ft.linalg.matMul(xt, a.get(7)), ft.linalg.matMul(h, a.get(8))), a.get(9));
            var g = ft.split(ft.constant(1), z, 4L).output();
            Operand<TFloat32> cn = ft.math.add(ft.math.mul(ft.math.sigmoid(g.get(1)), cs), ft.math.mul(ft.math.sigmoid(g.get(0)), ft.math.tanh(g.get(2))));
            Operand<TFloat32> hn = ft.math.mul(ft.math.sigmoid(g.get(3)), ft.math.tanh(cn));
            Operand out = ft.tensorListSetItem(a.get(3), time, hn);
            List<Operand> outs = List.of(ft.math.add(a.get(0), ft.constant(1)), ft.identity(a.get(1)), ft.math.add(time, ft.constant(1)), out, hn, cn,
                    ft.identity(a.get(6)), ft.identity(a.get(7)), ft.identity(a.get(8)), ft.identity(a.get(9)));
            Signature.Builder s = signature(a);
            for (int i = 0; i < outs.size(); i++) {
                s.output(String.format("o%03d", i), outs.get(i));
            }
            return s.build();
        });
        List<Output<?>> out = tf.whileOp(init, cond, body).output();
        Operand<TFloat32> ys = tf.tensorListStack(out.get(3), tf.constant(new int[] {B, H}), TFloat32.class);
        return tf.withName("out").linalg.transpose(ys, tf.constant(new int[] {1, 0, 2})).asOutput();
    }

    // ---- the checks

    @Test
    void eachCellFormIsReadAsOneLstmLayerThatMatchesTensorFlow() throws IOException {
        List<String> failures = new ArrayList<>();
        for (Form k : FORMS) {
            try (Graph g = new Graph(); Session s = new Session(g)) {
                Ops tf = Ops.create(g);
                Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(
                        java.util.Arrays.stream(k.shape()).asLongStream().toArray())));
                k.builder().build(g, tf, x);
                Path pb = tmp.resolve(k.name() + ".pb");
                Files.write(pb, g.toGraphDef().toByteArray());
                float[] in = TfReference.random(42, java.util.Arrays.stream(k.shape()).reduce(1, (a, b) -> a * b));
                float[] expected = TfReference.run(s, "x", "out", k.shape(), in, k.outShape());
                TfMadeGraphsTest.writeFixture(k.name(), pb, null, k.shape(), in, k.outShape(), expected);
                try {
                    Model m = new GraphDefReader().read(pb, ReadOptions.DEFAULT);
                    checkOneLstm(k, m);
                    TfReference.close(expected, TfReference.lstmx(m, "x", k.shape(), in));
                } catch (RuntimeException | AssertionError e) {
                    failures.add(k.name() + ": " + e.getMessage());
                }
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    /** Exactly one recurrent layer, an LSTM with the form's forget bias, cell clip and peepholes; nothing per step left. */
    static void checkOneLstm(Form k, Model m) {
        List<Layer> rec = m.layers().stream().filter(l -> l instanceof Layer.Recurrent).toList();
        assertEquals(1, rec.size(), k.name() + ": recurrent layers " + rec);
        Layer.Lstm l = (Layer.Lstm) rec.get(0);
        assertEquals(k.forgetBias(), l.spec().forgetBias(), k.name() + ": forget bias");
        assertEquals(k.cellClip(), l.spec().cellClip(), k.name() + ": cell clip");
        assertEquals(k.peephole(), l.weights().get(0).peephole() != null, k.name() + ": peepholes");
        assertNotNull(l.ports().outputSequence(), k.name() + ": every step's h comes from the one layer");
        // an unrolled reading would leave per-step arithmetic: a few layers around the LSTM at most
        long activations = m.layers().stream().filter(x -> x instanceof Layer.Activation).count();
        assertEquals(0, activations, k.name() + ": activations outside the LSTM layer");
    }

    // ---- what is refused, and what stays unrolled

    private Model read(Graph g, String name) throws IOException {
        Path pb = tmp.resolve(name + ".pb");
        Files.write(pb, g.toGraphDef().toByteArray());
        return new GraphDefReader().read(pb, ReadOptions.DEFAULT);
    }

    private static Placeholder<TFloat32> input(Ops tf) {
        return tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(T, B, I)));
    }

    @Test
    void aCellClipThatIsNotSymmetricIsRefusedNamingTheLoop() throws IOException {
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            scatterLoop(tf, input(tf), false, (ft, xt, h, cs) -> {
                Operand<TFloat32>[] next = tf1Step(ft, xt, h, cs, false);
                next[1] = ft.math.maximum(ft.math.minimum(next[1], ft.constant(0.5f)), ft.constant(-0.3f));
                return next;
            });
            LstmxException e = assertThrows(LstmxException.class, () -> read(g, "asymmetric"));
            assertEquals(ErrorCode.UNSUPPORTED, e.code());
            assertTrue(e.getMessage().contains("node 'StatelessWhile'") && e.getMessage().contains("[-0.3, 0.5]")
                    && e.getMessage().contains("symmetric"), e.getMessage());
        }
    }

    @Test
    void clipByValueOutsideALoopIsRefusedBecauseTheIrHasNoClipLayer() throws IOException {
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            Operand<TFloat32> x = input(tf);
            tf.withName("out").math.maximum(tf.withName("upper").math.minimum(x, tf.constant(1f)), tf.constant(-1f));
            LstmxException e = assertThrows(LstmxException.class, () -> read(g, "clip"));
            assertEquals(ErrorCode.UNSUPPORTED, e.code());
            assertTrue(e.getMessage().contains("node 'out' (Maximum)") && e.getMessage().contains("cell clip")
                    && e.getMessage().contains("[-1.0, 1.0]"), e.getMessage());
        }
    }

    @Test
    void aGateOutputOfLstmBlockCellIsRefusedByName() throws IOException {
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, I)));
            Operand<TFloat32> zeros = tf.zeros(tf.constant(new int[] {B, H}), TFloat32.class);
            LSTMBlockCell<TFloat32> cell = blockCell(tf, x, zeros, zeros);
            tf.withName("out").math.tanh(cell.i());
            LstmxException e = assertThrows(LstmxException.class, () -> read(g, "gate"));
            assertEquals(ErrorCode.UNSUPPORTED, e.code());
            assertTrue(e.getMessage().contains("node 'out'") && e.getMessage().contains("LSTMBlockCell output 'i'"), e.getMessage());
        }
    }

    @Test
    void oneLstmBlockCellStepFromGivenStatesMatchesTensorFlow() throws IOException {
        // a single step (streaming): a one-step LSTM layer from the states fed in
        try (Graph g = new Graph(); Session s = new Session(g)) {
            Ops tf = Ops.create(g);
            Placeholder<TFloat32> x = tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, I)));
            Operand<TFloat32> state = tf.math.tanh(tf.linalg.matMul(x, c(tf, 51, I, H)));
            LSTMBlockCell<TFloat32> cell = blockCell(tf, x, state, tf.math.sigmoid(state));
            tf.withName("out").math.add(cell.h(), cell.cs());
            float[] in = TfReference.random(5, B * I);
            float[] expected = TfReference.run(s, "x", "out", new int[] {B, I}, in, new int[] {B, H});
            Model m = read(g, "one_step");
            TfReference.close(expected, TfReference.lstmx(m, "x", new int[] {B, I}, in));
        }
    }

    @Test
    void anUnrolledChainWhoseIntermediateCellStateIsReadStaysUnrolledAndStillMatchesTensorFlow() throws IOException {
        try (Graph g = new Graph(); Session s = new Session(g)) {
            Ops tf = Ops.create(g);
            Placeholder<TFloat32> x = input(tf);
            List<Output<TFloat32>> xs = tf.unstack(x, (long) T).output();
            Operand<TFloat32> h = tf.zeros(tf.constant(new int[] {B, H}), TFloat32.class);
            Operand<TFloat32> cs = h;
            Operand<TFloat32> cs1 = null;
            for (int t = 0; t < T; t++) {
                LSTMBlockCell<TFloat32> cell = blockCell(tf, xs.get(t), cs, h);
                h = cell.h();
                cs = cell.cs();
                if (t == 1) {
                    cs1 = cs;
                }
            }
            // the cell state of step 1 is not in a folded layer's outputs: folding would lose it
            tf.withName("out").math.add(h, cs1);
            float[] in = TfReference.random(9, T * B * I);
            float[] expected = TfReference.run(s, "x", "out", new int[] {T, B, I}, in, new int[] {B, H});
            Model m = read(g, "cs_read");
            assertEquals(T, m.layers().stream().filter(l -> l instanceof Layer.Lstm).count());
            TfReference.close(expected, TfReference.lstmx(m, "x", new int[] {T, B, I}, in));
        }
    }

    @Test
    void lstmBlockCellWeightsOfTheWrongShapeAreBadInputNamingTheNode() throws IOException {
        Path src = Path.of("../../fixtures/tensorflow/lstm_block_cell_unrolled/model.pb");
        GraphDef gd = GraphDef.parseFrom(Files.readAllBytes(src));
        GraphDef.Builder b = gd.toBuilder();
        // the first cell's bias b (input 7) becomes a [3] constant: not [4H]
        NodeDef cell = gd.getNodeList().stream().filter(d -> d.getOp().equals("LSTMBlockCell")).findFirst().orElseThrow();
        String biasNode = cell.getInput(7).split(":")[0];
        for (int i = 0; i < b.getNodeCount(); i++) {
            if (b.getNode(i).getName().equals(biasNode)) {
                TensorProto t = TensorProto.newBuilder().setDtype(org.tensorflow.proto.DataType.DT_FLOAT)
                        .setTensorShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dim.newBuilder().setSize(3)))
                        .addFloatVal(1f).addFloatVal(2f).addFloatVal(3f).build();
                b.setNode(i, b.getNode(i).toBuilder().putAttr("value", AttrValue.newBuilder().setTensor(t).build()));
            }
        }
        Path pb = tmp.resolve("bad_bias.pb");
        Files.write(pb, b.build().toByteArray());
        LstmxException e = assertThrows(LstmxException.class, () -> new GraphDefReader().read(pb, ReadOptions.DEFAULT));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("bad_bias.pb") && e.getMessage().contains("node '" + cell.getName() + "' (LSTMBlockCell)")
                && e.getMessage().contains("[I + H, 4H] and [4H]"), e.getMessage());
    }

    @Test
    void aBidirectionalStaticRnnOfLstmBlockCellsIsTwoLstmLayersOneReversedThatMatchTensorFlow() throws IOException {
        // static_bidirectional_rnn: the backward cell runs over the reversed list of steps, its outputs reversed back
        try (Graph g = new Graph(); Session s = new Session(g)) {
            Ops tf = Ops.create(g);
            Placeholder<TFloat32> x = input(tf);
            List<Output<TFloat32>> xs = tf.unstack(x, (long) T).output();
            Operand<TFloat32> zeros = tf.zeros(tf.constant(new int[] {B, H}), TFloat32.class);
            Operand<TFloat32>[] fw = new Operand[T];
            Operand<TFloat32>[] bw = new Operand[T];
            Operand<TFloat32> h = zeros;
            Operand<TFloat32> cs = zeros;
            for (int t = 0; t < T; t++) {
                LSTMBlockCell<TFloat32> cell = blockCell(tf, xs.get(t), cs, h);
                h = cell.h();
                cs = cell.cs();
                fw[t] = h;
            }
            h = zeros;
            cs = zeros;
            for (int t = T - 1; t >= 0; t--) {
                LSTMBlockCell<TFloat32> cell = tf.nn.lSTMBlockCell(xs.get(t), cs, h, c(tf, 61, I + H, 4 * H), c(tf, 62, H), c(tf, 63, H), c(tf, 64, H),
                        c(tf, 65, 4 * H), LSTMBlockCell.forgetBias(1f), LSTMBlockCell.cellClip(-1f), LSTMBlockCell.usePeephole(false));
                h = cell.h();
                cs = cell.cs();
                bw[t] = h;
            }
            List<Operand<TFloat32>> steps = new ArrayList<>();
            for (int t = 0; t < T; t++) {
                steps.add(tf.concat(List.of(fw[t], bw[t]), tf.constant(1)));
            }
            tf.withName("out").stack(steps);
            float[] in = TfReference.random(13, T * B * I);
            float[] expected = TfReference.run(s, "x", "out", new int[] {T, B, I}, in, new int[] {T, B, 2 * H});
            Model m = read(g, "bidirectional");
            List<Layer.Lstm> lstms = m.layers().stream().filter(l -> l instanceof Layer.Lstm).map(l -> (Layer.Lstm) l).toList();
            assertEquals(2, lstms.size(), m.layers().toString());
            assertEquals(java.util.Set.of(io.lstmx.ir.Direction.FORWARD, io.lstmx.ir.Direction.REVERSE),
                    java.util.Set.of(lstms.get(0).spec().direction(), lstms.get(1).spec().direction()));
            TfReference.close(expected, TfReference.lstmx(m, "x", new int[] {T, B, I}, in));
        }
    }
}
