package io.lstmx.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.lstmx.api.Lstmx;
import io.lstmx.exporters.onnx.OnnxExporter;
import io.lstmx.formats.Format;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.references.libtorch.LibtorchEngine;
import io.lstmx.references.onnxruntime.OrtEnvironments;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;
import io.lstmx.runtime.StreamingSession;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Stack;
import org.tensorflow.op.nn.BlockLSTM;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Issue 9's side-by-side benchmark: lstmx's native runtime, onnxruntime (ONNX LSTM/GRU op),
 * libtorch through DJL (lstmx's own TorchScript of nn.LSTM / nn.GRU) and TensorFlow Java (a
 * BlockLSTMV2 graph built with TF Java ops) on the same weights and inputs, in one JVM, with the
 * same thread count for every engine (all cores). Outputs are checked equal before anything is
 * timed; an engine that cannot express a row (or disagrees) is reported as such, not timed.
 * <p>
 * Usage: {@code SideBySide [--quick] [--samples N] [--out FILE] [--no-convert] [--only ROWID,...]}, or
 * {@code SideBySide --conversion} for the conversion cost alone (its table on stdout).
 * See benchmarks/README.md.
 */
public final class SideBySide {
    static final int THREADS = Runtime.getRuntime().availableProcessors();
    static final double ATOL = 1e-5;
    static final double RTOL = 1e-4;

    /** One row of the matrix. */
    record Row(String id, boolean gru, int input, int hidden, int steps, int batch, boolean bidi, int layers,
               boolean streaming, boolean padded) {
        static Row lstm(int h, int t, int b) {
            return new Row(h + "," + t + "," + b, false, h, h, t, b, false, 1, false, false);
        }

        int dirs() {
            return bidi ? 2 : 1;
        }

        int gates() {
            return gru ? 3 : 4;
        }

        String describe() {
            String cell = gru ? "GRU" : "LSTM";
            String s = cell + " I=" + input + " H=" + hidden + " T=" + steps + " B=" + batch;
            if (bidi) {
                s += " bidirectional";
            }
            if (layers > 1) {
                s += " " + layers + " layers";
            }
            if (streaming) {
                s += " streaming T=1 calls (carried state), per step";
            }
            if (padded) {
                s += " padded, lengths T,3T/4,T/2,T/4";
            }
            return s;
        }

        /** Multiply-adds of one call's matrix products (all layers, directions, steps, rows). */
        double flops() {
            double f = 0;
            int in = input;
            int rowsSteps = streaming ? batch : steps * batch;
            if (padded) {
                rowsSteps = (steps + steps * 3 / 4 + steps / 2 + steps / 4);
            }
            for (int l = 0; l < layers; l++) {
                f += 2.0 * rowsSteps * dirs() * gates() * hidden * (double) (in + hidden);
                in = hidden * dirs();
            }
            return f;
        }

        /** Bytes of R streamed per call (once per step, direction and layer). */
        double rBytes() {
            int s = streaming ? 1 : steps;
            return (double) s * dirs() * layers * gates() * hidden * (double) hidden * 4;
        }

        /** Bytes of R of one layer direction (what one core would hold). */
        double rBytesOne() {
            return (double) gates() * hidden * hidden * 4;
        }
    }

    static List<Row> quickRows() {
        return List.of(Row.lstm(256, 150, 1), Row.lstm(256, 150, 4), Row.lstm(512, 25, 1), Row.lstm(512, 25, 4),
                new Row("bidi 64,100,1", false, 40, 64, 100, 1, true, 1, false, false),
                new Row("stream 256,1", false, 256, 256, 1, 1, false, 1, true, false));
    }

    static List<Row> fullRows() {
        List<Row> rows = new ArrayList<>();
        int[][] sizes = {{256, 150}, {512, 25}, {1024, 25}, {1536, 50}};
        for (int[] s : sizes) {
            for (int b : new int[] {1, 4, 32}) {
                rows.add(Row.lstm(s[0], s[1], b));
            }
        }
        rows.add(new Row("bidi 64,100,1", false, 40, 64, 100, 1, true, 1, false, false));
        rows.add(new Row("bidi2 128,60,1", false, 293, 128, 60, 1, true, 2, false, false));
        rows.add(new Row("bidi2 128,60,32", false, 293, 128, 60, 32, true, 2, false, false));
        rows.add(new Row("stream 256,1", false, 256, 256, 1, 1, false, 1, true, false));
        rows.add(new Row("stream 512,1", false, 512, 512, 1, 1, false, 1, true, false));
        rows.add(new Row("padded 256,100,4", false, 256, 256, 100, 4, false, 1, false, true));
        rows.add(new Row("gru 512,25,1", true, 512, 512, 25, 1, false, 1, false, false));
        return rows;
    }

    // ---------------------------------------------------------------- models

    /** Seeded weights of one layer, canonical gate order, uniform in +-1/sqrt(H) (PyTorch's init range). */
    record LayerWeights(float[][] w, float[][] r, float[][] wb, float[][] rb) {
    }

    static float[] uniform(SplittableRandom rnd, int n, double bound) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
        return v;
    }

    /** The row's weights, per layer (and direction inside). */
    static List<LayerWeights> weights(Row row) {
        SplittableRandom rnd = new SplittableRandom(20240601L + row.id().hashCode());
        double k = 1 / Math.sqrt(row.hidden());
        int g = row.gates() * row.hidden();
        List<LayerWeights> out = new ArrayList<>();
        int in = row.input();
        for (int l = 0; l < row.layers(); l++) {
            int d = row.dirs();
            float[][] w = new float[d][], r = new float[d][], wb = new float[d][], rb = new float[d][];
            for (int i = 0; i < d; i++) {
                w[i] = uniform(rnd, g * in, k);
                r[i] = uniform(rnd, g * row.hidden(), k);
                wb[i] = uniform(rnd, g, k);
                rb[i] = uniform(rnd, g, k);
            }
            out.add(new LayerWeights(w, r, wb, rb));
            in = row.hidden() * d;
        }
        return out;
    }

    static Tensor t(float[] v, int... shape) {
        return Tensor.ofFloats(shape, v);
    }

    /**
     * The row's model in lstmx's IR: X [T, B, I] (time-major), optional L [B] (int32) and h0/c0
     * [D, B, H]; outputs Y [T, D, B, H] of the last layer, then its Y_h (and Y_c).
     */
    static Model model(Row row, List<LayerWeights> ws, boolean stateInputs) {
        int h = row.hidden();
        int d = row.dirs();
        List<ValueInfo> inputs = new ArrayList<>();
        inputs.add(new ValueInfo("X", DType.FLOAT32, Shape.of("T", "B", row.input())));
        if (row.padded()) {
            inputs.add(new ValueInfo("L", DType.INT32, Shape.of("B")));
        }
        if (stateInputs) {
            inputs.add(new ValueInfo("h0", DType.FLOAT32, Shape.of(d, "B", h)));
            if (!row.gru()) {
                inputs.add(new ValueInfo("c0", DType.FLOAT32, Shape.of(d, "B", h)));
            }
        }
        List<Layer> layers = new ArrayList<>();
        String x = "X";
        int in = row.input();
        Direction dir = row.bidi() ? Direction.BIDIRECTIONAL : Direction.FORWARD;
        for (int l = 0; l < row.layers(); l++) {
            LayerWeights lw = ws.get(l);
            boolean last = l == row.layers() - 1;
            String y = last ? "Y" : "Y" + l;
            RecurrentPorts ports = new RecurrentPorts(x, row.padded() ? "L" : null, stateInputs ? "h0" : null,
                    stateInputs && !row.gru() ? "c0" : null, y, last ? "Y_h" : null, last && !row.gru() ? "Y_c" : null);
            if (row.gru()) {
                List<RecurrentWeights> rw = new ArrayList<>();
                for (int i = 0; i < d; i++) {
                    rw.add(new RecurrentWeights(t(lw.w[i], 3 * h, in), t(lw.r[i], 3 * h, h), t(lw.wb[i], 3 * h), t(lw.rb[i], 3 * h)));
                }
                List<ActivationFn> acts = new ArrayList<>();
                for (int i = 0; i < d; i++) {
                    acts.add(ActivationFn.of(ActivationFn.Kind.SIGMOID));
                    acts.add(ActivationFn.of(ActivationFn.Kind.TANH));
                }
                RecurrentSpec spec = new RecurrentSpec(in, h, dir, Layout.TIME_MAJOR, null, true, acts);
                layers.add(new Layer.Gru("gru" + l, ports, spec, rw, GateOrder.Gru.CANONICAL));
            } else {
                List<LstmWeights> lws = new ArrayList<>();
                for (int i = 0; i < d; i++) {
                    lws.add(new LstmWeights(t(lw.w[i], 4 * h, in), t(lw.r[i], 4 * h, h), t(lw.wb[i], 4 * h), t(lw.rb[i], 4 * h), null, null));
                }
                LstmSpec spec = LstmSpec.standard(in, h, dir, Layout.TIME_MAJOR);
                layers.add(new Layer.Lstm("lstm" + l, ports, spec, lws, GateOrder.CANONICAL));
            }
            if (!last) {
                // [T, D, B, H] -> [T, B, D H]: the next layer's input
                layers.add(new Layer.Transpose("t" + l, y, y + "t", List.of(0, 2, 1, 3)));
                layers.add(new Layer.Reshape("r" + l, y + "t", "X" + (l + 1), List.of(0L, 0L, -1L)));
                x = "X" + (l + 1);
            }
            in = h * d;
        }
        List<ValueInfo> outputs = new ArrayList<>();
        outputs.add(new ValueInfo("Y", DType.FLOAT32, Shape.of("T", d, "B", h)));
        outputs.add(new ValueInfo("Y_h", DType.FLOAT32, Shape.of(d, "B", h)));
        if (!row.gru()) {
            outputs.add(new ValueInfo("Y_c", DType.FLOAT32, Shape.of(d, "B", h)));
        }
        return new Model("bench", ModelInfo.NONE, inputs, outputs, layers);
    }

    /** The row's input data: X per call ([T, B, I]; streaming: T chunks of [1, B, I]) and lengths. */
    record Inputs(float[] x, int[] lens) {
    }

    static Inputs inputs(Row row) {
        SplittableRandom rnd = new SplittableRandom(7 + row.id().hashCode());
        int steps = row.streaming() ? STREAM_STEPS : row.steps();
        float[] x = uniform(rnd, steps * row.batch() * row.input(), 1);
        int[] lens = null;
        if (row.padded()) {
            int t = row.steps();
            lens = new int[] {t, 3 * t / 4, t / 2, t / 4};
            // zero the padding, so engines that ignore lengths at least see the same input
            for (int s = 0; s < t; s++) {
                for (int b = 0; b < row.batch(); b++) {
                    if (s >= lens[b]) {
                        Arrays.fill(x, (s * row.batch() + b) * row.input(), (s * row.batch() + b + 1) * row.input(), 0f);
                    }
                }
            }
        }
        return new Inputs(x, lens);
    }

    /** Steps a streaming sample runs (per-step time = sample / STREAM_STEPS). */
    static final int STREAM_STEPS = 16;

    // ---------------------------------------------------------------- engines

    /** One engine prepared on one row: {@link #call} runs one timed unit and returns Y (or, streaming, the last h). */
    interface Runner extends AutoCloseable {
        float[] call() throws Exception;

        @Override
        default void close() throws Exception {
        }
    }

    /** Why an engine does not run a row. */
    static final class NotApplicable extends Exception {
        NotApplicable(String why) {
            super(why);
        }
    }

    interface Engine {
        String name();

        Runner open(Row row, Path dir, List<LayerWeights> ws, Inputs in) throws Exception;
    }

    static int[] xShape(Row row, int steps) {
        return new int[] {steps, row.batch(), row.input()};
    }

    static final class LstmxEngine implements Engine {
        public String name() {
            return "lstmx";
        }

        public Runner open(Row row, Path dir, List<LayerWeights> ws, Inputs in) {
            if (row.streaming()) {
                StreamingSession s = NativeRuntime.compile(model(row, ws, false)).openSession();
                int chunk = row.batch() * row.input();
                Tensor[] xs = new Tensor[STREAM_STEPS];
                for (int i = 0; i < STREAM_STEPS; i++) {
                    xs[i] = t(Arrays.copyOfRange(in.x(), i * chunk, (i + 1) * chunk), xShape(row, 1));
                }
                return () -> {
                    s.reset();
                    Map<String, Tensor> out = null;
                    for (Tensor x : xs) {
                        out = s.feed(Map.of("X", x));
                    }
                    return out.get("Y_h").toFloatArray();
                };
            }
            CompiledModel m = NativeRuntime.compile(model(row, ws, false));
            Map<String, Tensor> feed = new HashMap<>();
            feed.put("X", t(in.x(), xShape(row, row.steps())));
            if (in.lens() != null) {
                feed.put("L", Tensor.ofLongs(DType.INT32, new int[] {row.batch()}, Arrays.stream(in.lens()).asLongStream().toArray()));
            }
            return () -> m.run(feed).get("Y").toFloatArray();
        }
    }

    static final class OrtEngine implements Engine {
        final OrtEnvironment env = OrtEnvironments.get();

        public String name() {
            return "onnxruntime";
        }

        public Runner open(Row row, Path dir, List<LayerWeights> ws, Inputs in) throws Exception {
            Path file = dir.resolve("model.onnx");
            OnnxExporter.save(model(row, ws, row.streaming()), file, 0, false);
            OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
            opts.setIntraOpNumThreads(THREADS);
            opts.setInterOpNumThreads(1);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            OrtSession s = env.createSession(file.toString(), opts);
            int d = row.dirs();
            if (row.streaming()) {
                int chunk = row.batch() * row.input();
                long[] stateShape = {d, row.batch(), row.hidden()};
                return new Runner() {
                    public float[] call() throws OrtException {
                        float[] h = new float[d * row.batch() * row.hidden()];
                        float[] c = new float[h.length];
                        for (int i = 0; i < STREAM_STEPS; i++) {
                            try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(in.x(), i * chunk, chunk), new long[] {1, row.batch(), row.input()});
                                 OnnxTensor h0 = OnnxTensor.createTensor(env, FloatBuffer.wrap(h), stateShape);
                                 OnnxTensor c0 = OnnxTensor.createTensor(env, FloatBuffer.wrap(c), stateShape);
                                 OrtSession.Result r = s.run(Map.of("X", x, "h0", h0, "c0", c0))) {
                                h = floats(r.get(1));
                                c = floats(r.get(2));
                            }
                        }
                        return h;
                    }

                    public void close() throws OrtException {
                        s.close();
                    }
                };
            }
            return new Runner() {
                public float[] call() throws OrtException {
                    Map<String, OnnxTensor> feed = new HashMap<>();
                    try {
                        feed.put("X", OnnxTensor.createTensor(env, FloatBuffer.wrap(in.x()), new long[] {row.steps(), row.batch(), row.input()}));
                        if (in.lens() != null) {
                            feed.put("L", OnnxTensor.createTensor(env, IntBuffer.wrap(in.lens()), new long[] {row.batch()}));
                        }
                        try (OrtSession.Result r = s.run(feed)) {
                            return floats(r.get(0));
                        }
                    } finally {
                        feed.values().forEach(OnnxTensor::close);
                    }
                }

                public void close() throws OrtException {
                    s.close();
                }
            };
        }

        static float[] floats(OnnxValue v) {
            FloatBuffer b = ((OnnxTensor) v).getFloatBuffer();
            float[] a = new float[b.remaining()];
            b.get(a);
            return a;
        }
    }

    static final class TorchEngine implements Engine {
        public String name() {
            return "libtorch";
        }

        public Runner open(Row row, Path dir, List<LayerWeights> ws, Inputs in) throws Exception {
            if (row.padded()) {
                throw new NotApplicable("lstmx's TorchScript writer has no sequence lengths (packed sequences)");
            }
            Path file = dir.resolve("model.pt");
            Lstmx.save(model(row, ws, row.streaming()), file, Format.TORCHSCRIPT);
            var session = new LibtorchEngine().open(file, Format.TORCHSCRIPT);
            ai.djl.pytorch.jni.JniUtils.setNumThreads(THREADS);
            int d = row.dirs();
            if (row.streaming()) {
                int chunk = row.batch() * row.input();
                int[] stateShape = {d, row.batch(), row.hidden()};
                Tensor[] xs = new Tensor[STREAM_STEPS];
                for (int i = 0; i < STREAM_STEPS; i++) {
                    xs[i] = t(Arrays.copyOfRange(in.x(), i * chunk, (i + 1) * chunk), xShape(row, 1));
                }
                return new Runner() {
                    public float[] call() {
                        Tensor h = Tensor.zeros(stateShape);
                        Tensor c = Tensor.zeros(stateShape);
                        for (Tensor x : xs) {
                            Map<String, Tensor> feed = new LinkedHashMap<>();
                            feed.put("X", x);
                            feed.put("h0", h);
                            feed.put("c0", c);
                            Map<String, Tensor> out = session.run(feed);
                            h = out.get("output_1");
                            c = out.get("output_2");
                        }
                        return h.toFloatArray();
                    }

                    public void close() {
                        session.close();
                    }
                };
            }
            Map<String, Tensor> feed = Map.of("X", t(in.x(), xShape(row, row.steps())));
            return new Runner() {
                public float[] call() {
                    return session.run(feed).get("output_0").toFloatArray();
                }

                public void close() {
                    session.close();
                }
            };
        }
    }

    /** TensorFlow Java: BlockLSTMV2 (gates i, f, c, o; W and R stacked as one [I + H, 4H] kernel), reversed copies for a backward direction. */
    static final class TfEngine implements Engine {
        public String name() {
            return "tensorflow";
        }

        public Runner open(Row row, Path dir, List<LayerWeights> ws, Inputs in) throws Exception {
            if (row.gru()) {
                throw new NotApplicable("TensorFlow has no sequence GRU op (GRUBlockCell is one step)");
            }
            if (row.padded()) {
                throw new NotApplicable("BlockLSTM takes one seq_len_max, not per-row lengths");
            }
            Graph g = new Graph();
            Ops tf = Ops.create(g);
            int h = row.hidden();
            int b = row.batch();
            int d = row.dirs();
            int steps = row.streaming() ? 1 : row.steps();
            Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(org.tensorflow.ndarray.Shape.of(steps, b, row.input())));
            Placeholder<TFloat32> h0 = null;
            Placeholder<TFloat32> c0 = null;
            Operand<TFloat32> zeros = tf.constant(org.tensorflow.ndarray.Shape.of(b, h), DataBuffers.of(new float[b * h], true, false));
            if (row.streaming()) {
                h0 = tf.placeholder(TFloat32.class, Placeholder.shape(org.tensorflow.ndarray.Shape.of(b, h)));
                c0 = tf.placeholder(TFloat32.class, Placeholder.shape(org.tensorflow.ndarray.Shape.of(b, h)));
            }
            Operand<TInt64> seqLen = tf.constant((long) steps);
            Operand<TFloat32> noPeep = tf.constant(org.tensorflow.ndarray.Shape.of(h), DataBuffers.of(new float[h], true, false));
            Operand<TFloat32> layerIn = x;
            Operand<TFloat32> y = null;
            BlockLSTM<TFloat32> lastFwd = null;
            int inSize = row.input();
            for (int l = 0; l < row.layers(); l++) {
                LayerWeights lw = ws.get(l);
                List<Operand<TFloat32>> outs = new ArrayList<>();
                for (int k = 0; k < d; k++) {
                    float[] kernel = new float[(inSize + h) * 4 * h];
                    float[] bias = new float[4 * h];
                    int[] canon = {0, 1, 2, 3}; // BlockLSTMV2 blocks are i, f, c, o (V1 BlockLSTM: i, c, f, o): the canonical order
                    for (int blk = 0; blk < 4; blk++) {
                        for (int u = 0; u < h; u++) {
                            int src = canon[blk] * h + u;
                            int col = blk * h + u;
                            for (int i = 0; i < inSize; i++) {
                                kernel[i * 4 * h + col] = lw.w[k][src * inSize + i];
                            }
                            for (int i = 0; i < h; i++) {
                                kernel[(inSize + i) * 4 * h + col] = lw.r[k][src * h + i];
                            }
                            bias[col] = lw.wb[k][src] + lw.rb[k][src];
                        }
                    }
                    Operand<TFloat32> w = tf.constant(org.tensorflow.ndarray.Shape.of(inSize + h, 4 * h), DataBuffers.of(kernel, true, false));
                    Operand<TFloat32> bb = tf.constant(org.tensorflow.ndarray.Shape.of(4 * h), DataBuffers.of(bias, true, false));
                    Operand<TFloat32> xin = k == 0 ? layerIn : tf.reverse(layerIn, tf.constant(new int[] {0}));
                    BlockLSTM<TFloat32> cell = BlockLSTM.create(tf.scope(), seqLen, xin, c0 != null ? c0 : zeros, h0 != null ? h0 : zeros,
                            w, noPeep, noPeep, noPeep, bb, BlockLSTM.cellClip(0f), BlockLSTM.usePeephole(false));
                    if (k == 0) {
                        lastFwd = cell;
                    }
                    outs.add(k == 0 ? cell.h() : tf.reverse(cell.h(), tf.constant(new int[] {0})));
                }
                if (d == 1) {
                    y = outs.get(0);
                    layerIn = y;
                } else {
                    y = tf.stack(outs, Stack.axis(1L)); // [T, 2, B, H]
                    layerIn = tf.concat(outs, tf.constant(2));
                }
                inSize = h * d;
            }
            ConfigProto config = ConfigProto.newBuilder().setIntraOpParallelismThreads(THREADS).setInterOpParallelismThreads(1).build();
            Session s = new Session(g, config);
            if (row.streaming()) {
                int chunk = b * row.input();
                TFloat32[] xs = new TFloat32[STREAM_STEPS];
                for (int i = 0; i < STREAM_STEPS; i++) {
                    xs[i] = TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(1, b, row.input()),
                            DataBuffers.of(Arrays.copyOfRange(in.x(), i * chunk, (i + 1) * chunk), true, false));
                }
                Placeholder<TFloat32> ph = h0;
                Placeholder<TFloat32> pc = c0;
                BlockLSTM<TFloat32> cell = lastFwd;
                return new Runner() {
                    public float[] call() {
                        float[] hv = new float[b * h];
                        float[] cv = new float[b * h];
                        for (TFloat32 xt : xs) {
                            try (TFloat32 ht = TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(b, h), DataBuffers.of(hv, true, false));
                                 TFloat32 ct = TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(b, h), DataBuffers.of(cv, true, false));
                                 Result r = s.runner().feed(x, xt).feed(ph, ht).feed(pc, ct).fetch(cell.h()).fetch(cell.cs()).run()) {
                                hv = new float[b * h];
                                cv = new float[b * h];
                                ((TFloat32) r.get(0)).copyTo(DataBuffers.of(hv, false, false));
                                ((TFloat32) r.get(1)).copyTo(DataBuffers.of(cv, false, false));
                            }
                        }
                        return hv;
                    }

                    public void close() {
                        for (TFloat32 xt : xs) {
                            xt.close();
                        }
                        s.close();
                        g.close();
                    }
                };
            }
            Operand<TFloat32> out = y;
            int n = row.steps() * d * b * h;
            return new Runner() {
                public float[] call() {
                    try (TFloat32 xt = TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(row.steps(), b, row.input()), DataBuffers.of(in.x(), true, false));
                         Result r = s.runner().feed(x, xt).fetch(out).run()) {
                        float[] v = new float[n];
                        ((TFloat32) r.get(0)).copyTo(DataBuffers.of(v, false, false));
                        return v;
                    }
                }

                public void close() {
                    s.close();
                    g.close();
                }
            };
        }
    }

    // ---------------------------------------------------------------- timing

    /** Median and spread of one engine on one row, seconds per call (streaming: per step). */
    record Timing(double median, double p10, double p90, int samples, int callsPerSample, double warmSeconds) {
    }

    /** One engine's outcome on one row: a timing, or why none. */
    record Cell(Timing timing, String note, double maxDiff) {
    }

    /** Warm-up ends only after this long without JIT compilation (or at {@link #WARM_MAX_NANOS}). */
    static final long JIT_QUIET_NANOS = 500_000_000L;
    static final long WARM_MAX_NANOS = 15_000_000_000L;

    /** Rounds over which an engine's samples are spread; each starts with {@link #REWARM_NANOS} of unmeasured calls. */
    static final int ROUNDS = 5;
    static final long REWARM_NANOS = 300_000_000L;

    /** One engine's timing in progress: its runner, its largest difference from lstmx, calls per sample, samples so far and warm-up time. */
    static final class Timed {
        final String name;
        final Runner runner;
        final double maxDiff;
        int callsPerSample;
        double warmSeconds;
        final double[] values;
        int n;
        String failure;

        Timed(String name, Runner runner, double maxDiff, int samples) {
            this.name = name;
            this.runner = runner;
            this.maxDiff = maxDiff;
            this.values = new double[samples];
        }

        Timing timing() {
            double[] v = Arrays.copyOf(values, n);
            Arrays.sort(v);
            return new Timing(percentile(v, 0.5), percentile(v, 0.1), percentile(v, 0.9), n, callsPerSample, warmSeconds);
        }
    }

    /**
     * Times the engines of one row: each is warmed up in turn (see {@link #warmUp}), then their
     * samples are taken in {@link #ROUNDS} rounds, each engine in turn re-warmed for 0.3 s and then
     * sampled, so that every engine's samples span the whole row's time: a minute-scale change of
     * the shared machine's load no longer falls on one engine only. The re-warm also absorbs what
     * the previous engine leaves running: onnxruntime's pool threads spin after a run, and lstmx's
     * calls right after onnxruntime's were measured 20-30% slower for more than 60 ms.
     */
    static void timeRow(List<Timed> engines, int samples, double perCallDivisor) {
        for (Timed t : engines) {
            try {
                warmUp(t);
            } catch (Exception | Error ex) {
                t.failure = "failed: " + describe(ex);
            }
        }
        for (int round = 0; round < ROUNDS; round++) {
            int from = samples * round / ROUNDS;
            int to = samples * (round + 1) / ROUNDS;
            for (Timed t : engines) {
                if (t.failure != null) {
                    continue;
                }
                try {
                    long end = System.nanoTime() + REWARM_NANOS;
                    do {
                        t.runner.call();
                    } while (System.nanoTime() < end);
                    for (int i = from; i < to; i++) {
                        long t0 = System.nanoTime();
                        for (int j = 0; j < t.callsPerSample; j++) {
                            t.runner.call();
                        }
                        t.values[t.n++] = (System.nanoTime() - t0) / 1e9 / t.callsPerSample / perCallDivisor;
                    }
                } catch (Exception | Error ex) {
                    t.failure = "failed: " + describe(ex);
                }
            }
        }
    }

    /**
     * Warm-up: at least 5 calls and 1.5 s (C2 compiles the hot paths, engines build their caches),
     * and then until the JIT has compiled nothing for 0.5 s. A compilation during the samples takes
     * a core: seen side by side, C2 recompiling lstmx's step code at the start of 512,25,1 (after
     * the batch-32 row had changed its profile) descheduled the step team's worker, the team backed
     * off to one thread for 200 ms, and the whole row's samples (about 100 ms) were measured at one
     * core's speed. Sets the calls per sample: at least {@link #SAMPLE_NANOS} of calls, so that timer resolution
     * does not matter.
     */
    static void warmUp(Timed t) throws Exception {
        long start = System.nanoTime();
        long warmEnd = start + 1_500_000_000L;
        int warm = 0;
        long one = Long.MAX_VALUE;
        long jit = compileMillis();
        long quietSince = System.nanoTime();
        while (true) {
            long t0 = System.nanoTime();
            t.runner.call();
            long t1 = System.nanoTime();
            one = Math.min(one, t1 - t0);
            warm++;
            long j = compileMillis();
            if (j != jit) {
                jit = j;
                quietSince = t1;
            }
            boolean warmed = warm >= 5 && t1 >= warmEnd;
            if (warmed && (t1 - quietSince >= JIT_QUIET_NANOS || jit < 0) || t1 - start >= WARM_MAX_NANOS) {
                break;
            }
        }
        t.warmSeconds = (System.nanoTime() - start) / 1e9;
        t.callsPerSample = (int) Math.max(1, Math.min(1000, SAMPLE_NANOS / Math.max(1, one)));
    }

    /**
     * Time of calls one sample covers at least: 2 ms, so that timer resolution does not matter and
     * a sample is one call or a few, as "the median of 30 calls" asks. Samples of 20 ms were tried
     * (they average a machine stall of 10-15 ms into many samples instead of leaving it to one,
     * which the median then ignores): the quick run's batch-4 rows moved from ahead of onnxruntime
     * to 0.93 x, both engines' spreads narrowed, and the comparison measured the shared machine's
     * stalls more than the engines (benchmarks/RESULTS.md, 2026-12-07 19:00).
     */
    static final long SAMPLE_NANOS = 2_000_000L;

    /** An engine's failure as the table shows it: its class and message. */
    static String describe(Throwable ex) {
        return ex.getClass().getSimpleName() + ": " + ex.getMessage();
    }

    /** Milliseconds the JIT has spent compiling in this JVM so far, or -1 if the JVM does not tell. */
    static long compileMillis() {
        java.lang.management.CompilationMXBean c = ManagementFactory.getCompilationMXBean();
        return c != null && c.isCompilationTimeMonitoringSupported() ? c.getTotalCompilationTime() : -1;
    }

    static double percentile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /** Largest |a - b| over elements where the tolerance atol + rtol |b| is exceeded (0 if all agree); NaN on size mismatch. */
    static double disagreement(float[] a, float[] b) {
        if (a.length != b.length) {
            return Double.NaN;
        }
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            double diff = Math.abs((double) a[i] - b[i]);
            if (!(diff <= ATOL + RTOL * Math.abs(b[i]))) {
                worst = Math.max(worst, Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff);
            }
        }
        return worst;
    }

    static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    static String load() {
        try {
            String s = Files.readString(Path.of("/proc/loadavg")).trim();
            String[] p = s.split("\\s+");
            return p[0] + " " + p[1] + " " + p[2];
        } catch (IOException e) {
            return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
    }

    // ---------------------------------------------------------------- main

    public static void main(String[] args) throws Exception {
        boolean quick = false;
        int samples = 30;
        Path out = null;
        boolean convert = true;
        List<String> only = null;
        boolean conversionOnly = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--conversion" -> conversionOnly = true;
                case "--samples" -> samples = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--no-convert" -> convert = false;
                case "--only" -> only = List.of(args[++i].split(";"));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (use --quick, --samples N, --out FILE, --no-convert, --only 'ID;ID', --conversion)");
            }
        }
        if (conversionOnly) {
            // The conversion cost alone: no engines, no machine probe; the table on stdout.
            System.out.println("# conversion only, load " + load());
            Path tmp = Files.createTempDirectory("lstmx-conv");
            try {
                for (Conversion c : Conversion.measureAll(tmp, System.out)) {
                    System.out.print(c.markdown());
                }
            } finally {
                deleteTree(tmp);
            }
            System.out.println("# load after " + load());
            return;
        }
        if (out == null && !quick) {
            out = Path.of("benchmarks/BENCHMARKS.md");
        }
        List<Row> rows = new ArrayList<>(quick ? quickRows() : fullRows());
        if (only != null) {
            List<String> keep = only;
            rows.removeIf(r -> !keep.contains(r.id()));
        }
        PrintStream o = System.out;
        String command = System.getProperty("lstmx.bench.command", "SideBySide " + String.join(" ", args));
        o.println("# side by side: " + THREADS + " threads per engine, " + samples + " samples, load " + load());
        Machine machine = Machine.measure(o);
        machine.measureRows(rows, o);
        List<Engine> engines = new ArrayList<>(List.of(new LstmxEngine(), new OrtEngine(), new TorchEngine(), new TfEngine()));
        // -Dlstmx.bench.engines=lstmx,onnxruntime: only these (to see what the others' threads cost a row)
        String pick = System.getProperty("lstmx.bench.engines", "").strip();
        if (!pick.isEmpty()) {
            List<String> names = List.of(pick.split(","));
            engines.removeIf(e -> !names.contains(e.name()));
        }
        Map<Row, Map<String, Cell>> results = new LinkedHashMap<>();
        Map<Row, String[]> loads = new LinkedHashMap<>();
        Map<Row, String> hugeNotes = new LinkedHashMap<>();
        o.println("# " + HugePages.describe());
        Path tmp = Files.createTempDirectory("lstmx-sbs");
        for (Row row : rows) {
            String before = load();
            List<LayerWeights> ws = weights(row);
            Inputs in = inputs(row);
            Map<String, Cell> cells = new LinkedHashMap<>();
            float[] expected = null;
            double divisor = row.streaming() ? STREAM_STEPS : 1;
            // Open every engine and check its outputs first (lstmx first: the others are checked
            // against it), then time those that agree together (see timeRow).
            List<Timed> timed = new ArrayList<>();
            StringBuilder huge = new StringBuilder();
            for (Engine e : engines) {
                long hugeBefore = HugePages.inUse();
                Path dir = Files.createDirectories(tmp.resolve(row.id().replaceAll("[^A-Za-z0-9]", "_") + "-" + e.name()));
                Runner r;
                try {
                    r = e.open(row, dir, ws, in);
                } catch (NotApplicable na) {
                    cells.put(e.name(), new Cell(null, "n/a: " + na.getMessage(), 0));
                    continue;
                } catch (Exception | Error ex) {
                    cells.put(e.name(), new Cell(null, "failed to open: " + describe(ex), 0));
                    continue;
                }
                cells.put(e.name(), null); // keeps the engines' order
                try {
                    float[] got = r.call();
                    long hugeAfter = HugePages.inUse();
                    if (hugeBefore >= 0 && hugeAfter >= 0) {
                        huge.append(huge.length() == 0 ? "" : ", ").append(e.name()).append(' ')
                                .append(String.format(Locale.ROOT, "%+d", (hugeAfter - hugeBefore) >> 20));
                    }
                    double md = 0;
                    if (expected == null) {
                        expected = got;
                    } else {
                        double dis = disagreement(got, expected);
                        md = maxAbs(got, expected);
                        if (dis != 0) {
                            cells.put(e.name(), new Cell(null, String.format(Locale.ROOT, "disagrees (max |diff| %.3g, %d vs %d values)",
                                    md, got.length, expected.length), md));
                            r.close();
                            continue;
                        }
                    }
                    timed.add(new Timed(e.name(), r, md, samples));
                } catch (Exception | Error ex) {
                    cells.put(e.name(), new Cell(null, "failed: " + describe(ex), 0));
                    r.close();
                }
            }
            try {
                timeRow(timed, samples, divisor);
            } finally {
                for (Timed t : timed) {
                    try {
                        t.runner.close();
                    } catch (Exception ignored) {
                        // the row's numbers stand; a native engine that fails to free is not ours to report
                    }
                }
            }
            for (Timed t : timed) {
                if (t.failure != null) {
                    cells.put(t.name, new Cell(null, t.failure, 0));
                    continue;
                }
                Timing tm = t.timing();
                cells.put(t.name, new Cell(tm, null, t.maxDiff));
                o.printf(Locale.ROOT, "%-22s %-12s %10.3f ms  (p10 %.3f, p90 %.3f; warm-up %.1f s)%n", row.id(), t.name, tm.median * 1e3, tm.p10 * 1e3,
                        tm.p90 * 1e3, tm.warmSeconds);
            }
            results.put(row, cells);
            loads.put(row, new String[] {before, load()});
            if (huge.length() > 0) {
                hugeNotes.put(row, huge + " MiB (" + (HugePages.inUse() >> 20) + " MiB in all)");
                o.println("# " + row.id() + ": huge pages taken while each engine loaded and ran once: " + hugeNotes.get(row));
            }
        }
        List<Conversion> conv = List.of();
        if (convert && !quick) {
            conv = Conversion.measureAll(tmp, o);
        }
        // summary
        int won = 0;
        int n = 0;
        double logSum = 0;
        for (Map.Entry<Row, Map<String, Cell>> e : results.entrySet()) {
            Cell mine = e.getValue().get("lstmx");
            Double best = bestPeer(e.getValue());
            if (mine == null || mine.timing == null || best == null) {
                continue;
            }
            n++;
            double speedup = best / mine.timing.median;
            logSum += Math.log(speedup);
            if (speedup > 1) {
                won++;
            }
        }
        String last = String.format(Locale.ROOT, "lstmx vs best peer: rows won %d/%d, geomean speedup %.2f", won, n, n == 0 ? 0 : Math.exp(logSum / n));
        if (out != null) {
            Files.writeString(out, Report.markdown(command, machine, rows, results, loads, hugeNotes, conv, samples, last), StandardCharsets.UTF_8);
            o.println("# wrote " + out);
        } else {
            o.print(Report.table(rows, results, machine));
        }
        deleteTree(tmp);
        o.println(last);
        System.exit(0); // engines' native thread pools
    }

    static Double bestPeer(Map<String, Cell> cells) {
        Double best = null;
        for (Map.Entry<String, Cell> c : cells.entrySet()) {
            if (!c.getKey().equals("lstmx") && c.getValue().timing != null) {
                double m = c.getValue().timing.median;
                best = best == null ? m : Math.min(best, m);
            }
        }
        return best;
    }

    static void deleteTree(Path p) {
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // temp files only
        }
    }

    static String now() {
        return Instant.now().toString();
    }
}
