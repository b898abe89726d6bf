package io.lstmx.exporters.onnx;

import io.lstmx.errors.LstmxException;
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
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.util.AtomicFiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Writes an IR model as an ONNX file. Every IR layer becomes the ONNX operators that compute exactly
 * the same function at the chosen opset; an LSTM, GRU or RNN layer is always exactly one ONNX LSTM, GRU or RNN node (plus
 * Transposes and a Cast around it when the layout or the sequence-length type asks for them), never
 * an unrolled loop. Anything the opset cannot express exactly is refused with an UNSUPPORTED error
 * naming the layer, the feature and the lowest opset that has it.
 */
public final class OnnxExporter {
    /** Opset written when the caller asks for 0. */
    public static final int DEFAULT_OPSET = 17;
    public static final int MIN_OPSET = 7;
    public static final int MAX_OPSET = 22;

    private final Model model;
    private final int opset;
    private final boolean lstmLayoutAttribute;
    private final OnnxGraphBuilder g;
    /** Every value's element type and shape, from ShapeInference (which also validates the model). */
    private Map<String, ValueInfo> inferred;
    private final Set<String> modelOutputs = new HashSet<>();

    private OnnxExporter(Model model, int opset, boolean lstmLayoutAttribute) {
        this.model = model;
        this.opset = opset;
        this.lstmLayoutAttribute = lstmLayoutAttribute;
        this.g = new OnnxGraphBuilder(model.name(), opset);
    }

    /**
     * Writes {@code model} to {@code path} (atomically).
     *
     * @param opset               default-domain opset, 0 for {@link #DEFAULT_OPSET}
     * @param lstmLayoutAttribute write batch-major LSTMs with {@code layout=1} when the opset has it
     *                            (14+); otherwise they become a time-major LSTM between Transposes,
     *                            which every runtime (onnxruntime's CPU kernel included) can run
     */
    public static void save(Model model, Path path, int opset, boolean lstmLayoutAttribute) {
        save(model, path, opset, lstmLayoutAttribute, ExternalData.DEFAULT_LIMIT);
    }

    /**
     * As {@link #save(Model, Path, int, boolean)}; initializers adding up to more than
     * {@code externalLimit} bytes go to an external data file beside the model (see {@link ExternalData}).
     */
    public static void save(Model model, Path path, int opset, boolean lstmLayoutAttribute, long externalLimit) {
        OnnxGraphBuilder built;
        try {
            built = build(model, opset, lstmLayoutAttribute);
        } catch (LstmxException e) {
            throw e.withContext(path.toString());
        }
        // The data file first: whoever sees the model also finds the weights it names.
        List<StreamedModel.Initializer> inits = ExternalData.externalizeIfNeeded(built.initializers(), path.toAbsolutePath(), externalLimit);
        // The weights' bytes are streamed from the model's tensors into the file: the ModelProto with
        // every raw_data is never held (the same bytes as toProto(...).writeTo, see StreamedModel).
        ModelProto skeleton = built.skeleton();
        AtomicFiles.write(path, out -> StreamedModel.write(skeleton, inits, out));
    }

    /** Converts without writing (for tests and for callers that embed the proto). */
    static ModelProto toProto(Model model, int opset, boolean lstmLayoutAttribute) {
        return build(model, opset, lstmLayoutAttribute).build();
    }

    /** The graph of {@code model}, initializers not yet materialised. */
    private static OnnxGraphBuilder build(Model model, int opset, boolean lstmLayoutAttribute) {
        OnnxExporter e = new OnnxExporter(model, resolveOpset(opset), lstmLayoutAttribute);
        e.convert();
        return e.g;
    }

    /** The opset to write for {@code requested} (0 = default); refuses opsets outside MIN_OPSET..MAX_OPSET. */
    public static int resolveOpset(int requested) {
        if (requested == 0) {
            return DEFAULT_OPSET;
        }
        if (requested < 0) {
            throw LstmxException.badInput("ONNX opset must be positive, got " + requested);
        }
        if (requested < MIN_OPSET || requested > MAX_OPSET) {
            throw LstmxException.unsupported("ONNX opset " + requested + " is not supported; choose " + MIN_OPSET + ".." + MAX_OPSET
                    + " (default " + DEFAULT_OPSET + ")");
        }
        return requested;
    }

    private void convert() {
        // Also refuses an inconsistent model before anything is written.
        inferred = ShapeInference.infer(model);
        for (ValueInfo v : model.inputs()) {
            g.reserve(v.name());
        }
        for (Layer l : model.layers()) {
            l.outputs().forEach(g::reserve);
        }
        for (ValueInfo v : model.outputs()) {
            modelOutputs.add(v.name());
        }
        for (ValueInfo v : model.inputs()) {
            g.input(v);
        }
        for (Layer l : model.layers()) {
            layer(l);
        }
        for (ValueInfo v : model.outputs()) {
            // An output declared without a shape gets the inferred one, so that consumers see its rank.
            g.output(v.shape().rankKnown() ? v : new ValueInfo(v.name(), v.dtype(), inferred.get(v.name()).shape()));
        }
        ModelInfo info = model.info();
        if (info != null && !info.sourceFormat().isEmpty()) {
            g.docString("converted by lstmx from " + info.sourceFormat()
                    + (info.producer().isEmpty() ? "" : " (" + info.producer() + ")"));
        }
    }

    // ---------------------------------------------------------------- dispatch

    private void layer(Layer l) {
        l.accept(writer);
    }

    /** The converter of each kind of layer. */
    private final Layer.Visitor<Void> writer = new Layer.Visitor<>() {
        @Override
        public Void visit(Layer.Constant c) {
            constant(c);
            return null;
        }

        @Override
        public Void visit(Layer.Lstm x) {
            lstm(x);
            return null;
        }

        @Override
        public Void visit(Layer.Gru x) {
            gru(x);
            return null;
        }

        @Override
        public Void visit(Layer.Rnn x) {
            rnn(x);
            return null;
        }

        @Override
        public Void visit(Layer.Dense d) {
            dense(d);
            return null;
        }

        @Override
        public Void visit(Layer.Embedding e) {
            embedding(e);
            return null;
        }

        @Override
        public Void visit(Layer.Activation a) {
            activation(a);
            return null;
        }

        @Override
        public Void visit(Layer.Softmax s) {
            softmax(s);
            return null;
        }

        @Override
        public Void visit(Layer.Dropout d) {
            // Dropout is the identity at inference; Identity says so without a training-mode input.
            unary("Identity", d.name(), d.input(), d.output());
            return null;
        }

        @Override
        public Void visit(Layer.Identity i) {
            unary("Identity", i.name(), i.input(), i.output());
            return null;
        }

        @Override
        public Void visit(Layer.Binary b) {
            binary(b);
            return null;
        }

        @Override
        public Void visit(Layer.MatMul m) {
            g.apply("MatMul", m.a(), m.b()).named(m.name()).output(m.output());
            return null;
        }

        @Override
        public Void visit(Layer.Concat c) {
            concat(c);
            return null;
        }

        @Override
        public Void visit(Layer.Transpose t) {
            g.apply("Transpose", t.input()).named(t.name()).ints("perm", t.perm()).output(t.output());
            return null;
        }

        @Override
        public Void visit(Layer.Reshape r) {
            String shape = g.int64s(r.name() + "_shape", r.shape().stream().mapToLong(Long::longValue).toArray());
            g.apply("Reshape", r.input(), shape).named(r.name()).output(r.output());
            return null;
        }

        @Override
        public Void visit(Layer.Flatten f) {
            flatten(f);
            return null;
        }

        @Override
        public Void visit(Layer.Squeeze s) {
            squeezeNode(s, s.name(), s.input(), s.output(), s.axes(), rank(s.input()));
            return null;
        }

        @Override
        public Void visit(Layer.Unsqueeze u) {
            unsqueeze(u);
            return null;
        }

        @Override
        public Void visit(Layer.Select s) {
            select(s);
            return null;
        }

        @Override
        public Void visit(Layer.Take t) {
            take(t);
            return null;
        }

        @Override
        public Void visit(Layer.Slice s) {
            slice(s);
            return null;
        }

        @Override
        public Void visit(Layer.Cast c) {
            // ShapeInference has refused a cast to half precision (values are float32 in the IR)
            g.apply("Cast", c.input()).named(c.name()).attr("to", (long) OnnxTensors.onnxType(c.to())).output(c.output());
            return null;
        }

        @Override
        public Void visit(Layer.StepMask m) {
            stepMask(m);
            return null;
        }

        @Override
        public Void visit(Layer.LayerNorm n) {
            layerNorm(n);
            return null;
        }
    };

    /**
     * LayerNormalization (opset 17 on, axis -1), else its equations in ops every opset has:
     * mean = ReduceMean(x), d = x - mean, var = ReduceMean(d * d), y = d / Sqrt(var + eps) * gamma + beta.
     */
    private void layerNorm(Layer.LayerNorm n) {
        String nm = n.name();
        int r = rank(n.input());
        int f = n.features();
        if (opset >= 17) {
            if (f < 0) {
                throw LstmxException.unsupported("layer '" + nm + "' (LayerNorm): without gamma or beta its size is unknown; ONNX's"
                        + " LayerNormalization needs a scale");
            }
            String scale = g.initializer(nm + "_scale", n.gamma() != null ? n.gamma().withDType(DType.FLOAT32) : Layer.LayerNorm.unitScale(f));
            OnnxGraphBuilder.Node node = n.beta() == null ? g.apply("LayerNormalization", n.input(), scale)
                    : g.apply("LayerNormalization", n.input(), scale, g.initializer(nm + "_bias", n.beta().withDType(DType.FLOAT32)));
            node.named(nm).attr("axis", -1L).attr("epsilon", n.epsilon()).output(n.output());
            return;
        }
        long ax = axis(n, -1, r);
        String mean = g.apply("ReduceMean", n.input()).named(nm + "/mean").ints("axes", ax).attr("keepdims", 1L).freshOutput(nm + "_mean");
        String d = g.apply("Sub", n.input(), mean).named(nm + "/centre").freshOutput(nm + "_centred");
        String sq = g.apply("Mul", d, d).named(nm + "/square").freshOutput(nm + "_squared");
        String var = g.apply("ReduceMean", sq).named(nm + "/variance").ints("axes", ax).attr("keepdims", 1L).freshOutput(nm + "_variance");
        String eps = g.initializer(nm + "_epsilon", Tensor.ofFloats(new int[0], new float[] {n.epsilon()}));
        String ve = g.apply("Add", var, eps).named(nm + "/add_epsilon").freshOutput(nm + "_variance_eps");
        String sd = g.apply("Sqrt", ve).named(nm + "/sqrt").freshOutput(nm + "_std");
        String y = n.gamma() == null && n.beta() == null ? null : g.apply("Div", d, sd).named(nm + "/normalise").freshOutput(nm + "_normalised");
        if (y == null) {
            g.apply("Div", d, sd).named(nm).output(n.output());
            return;
        }
        if (n.gamma() != null) {
            String gm = g.initializer(nm + "_gamma", n.gamma().withDType(DType.FLOAT32));
            if (n.beta() == null) {
                g.apply("Mul", y, gm).named(nm).output(n.output());
                return;
            }
            y = g.apply("Mul", y, gm).named(nm + "/scale").freshOutput(nm + "_scaled");
        }
        g.apply("Add", y, g.initializer(nm + "_beta", n.beta().withDType(DType.FLOAT32))).named(nm).output(n.output());
    }

    /**
     * Cast(Not(Equal(x, value)), FLOAT), reduced by ReduceMax over the last axis for a mask over
     * features: exactly the IR's 1 / 0. (No recurrent layer can read it in ONNX, see
     * {@link #refuseMask}, but the value itself may be a model output.)
     */
    private void stepMask(Layer.StepMask m) {
        DType t = dtype(m.input());
        String n = m.name();
        if (t.isFloating() && opset < 11) {
            throw needsOpset(m, "Equal on " + t + " values", 11);
        }
        Tensor v = t.isFloating() ? Tensor.ofFloats(new int[0], new float[] {m.value()})
                : Tensor.ofLongs(t, new int[0], new long[] {(long) m.value()});
        if (t.isFloating() && t != DType.FLOAT32) {
            throw LstmxException.unsupported("layer '" + n + "' (StepMask): a mask over " + t + " values is not written to ONNX");
        }
        String value = g.initializer(n + "_value", v);
        String eq = g.apply("Equal", m.input(), value).named(n + "/Equal").freshOutput(n + "_equal");
        String ne = g.apply("Not", eq).named(n + "/Not").freshOutput(n + "_kept");
        if (!m.anyOverLastAxis()) {
            g.apply("Cast", ne).named(n).attr("to", (long) OnnxTensors.onnxType(DType.FLOAT32)).output(m.output());
            return;
        }
        String f = g.apply("Cast", ne).named(n + "/Cast").attr("to", (long) OnnxTensors.onnxType(DType.FLOAT32)).freshOutput(n + "_kept_float");
        if (opset >= 18) {
            String ax = g.int64s(n + "_axes", -1L);
            g.apply("ReduceMax", f, ax).named(n).attr("keepdims", 0L).output(m.output());
        } else {
            g.apply("ReduceMax", f).named(n).ints("axes", List.of(axis(m, -1, rank(m.input())))).attr("keepdims", 0L).output(m.output());
        }
    }

    /**
     * ONNX's recurrent ops know sequence lengths only: a per-step mask may hold holes and leading
     * masked steps, and a masked step's Y repeats the previous one, which no attribute or input
     * says. Refused rather than approximated.
     */
    private static void refuseMask(Layer.Recurrent l) {
        if (l.ports().hasMask()) {
            throw LstmxException.unsupported("layer '" + l.name() + "' (" + l.kind() + ") reads the per-step mask '" + l.ports().mask()
                    + "' (Keras mask_zero / Masking: a masked step keeps the state and repeats the previous output); ONNX's "
                    + l.kind() + " has sequence lengths only, which cannot express a mask that may sit anywhere");
        }
    }

    // ---------------------------------------------------------------- helpers

    private ValueInfo info(String value) {
        ValueInfo v = inferred.get(value);
        if (v == null) {
            throw LstmxException.internal("ONNX export: no type known for value '" + value + "'");
        }
        return v;
    }

    /** Rank of {@code value}, -1 when unknown. */
    private int rank(String value) {
        Shape s = info(value).shape();
        return s.rankKnown() ? s.rank() : -1;
    }

    private DType dtype(String value) {
        return info(value).dtype();
    }

    private void unary(String op, String name, String in, String out) {
        g.apply(op, in).named(name).output(out);
    }

    private LstmxException needsOpset(Layer l, String feature, int minOpset) {
        return LstmxException.unsupported("layer '" + l.name() + "' (" + l.kind() + "): " + feature + " needs ONNX opset "
                + minOpset + " or later, but opset " + opset + " was requested");
    }

    /**
     * An axis as the opset accepts it: negative axes (counting from the end) exist only from opset 11,
     * so earlier opsets get the positive axis, which needs the rank.
     */
    private long axis(Layer l, long axis, int rank) {
        if (axis >= 0 || opset >= 11) {
            return axis;
        }
        if (rank < 0) {
            throw needsOpset(l, "negative axis " + axis + " on a value of unknown rank", 11);
        }
        return axis + rank;
    }

    private List<Long> axes(Layer l, List<Integer> axes, int rank) {
        List<Long> out = new ArrayList<>();
        for (int a : axes) {
            out.add(axis(l, a, rank));
        }
        return out;
    }

    // ---------------------------------------------------------------- layers

    private void constant(Layer.Constant c) {
        if (modelOutputs.contains(c.output())) {
            // A graph output must be computed by a node; an initializer alone does not qualify everywhere.
            g.apply("Constant").named(c.name()).attr("value", c.value()).output(c.output());
        } else {
            g.initializerNamed(c.output(), c.value());
        }
    }

    private void lstm(Layer.Lstm l) {
        refuseMask(l);
        LstmSpec s = l.spec();
        if (s.projSize() > 0) {
            throw LstmxException.unsupported("ONNX LSTM has no projection; layer '" + l.name() + "' has proj_size " + s.projSize());
        }
        if (s.cellClip() != null) {
            // ONNX's clip bounds gate pre-activations, not the cell state: no attribute computes this, and dropping it would change the numbers
            throw LstmxException.unsupported("ONNX LSTM has no cell clip; layer '" + l.name() + "' (LSTM) clips its cell state to +-"
                    + s.cellClip());
        }
        int dirs = s.direction().count();
        int h = s.hiddenSize();
        int in = s.inputSize();
        String n = l.name();

        stacked(n, "LSTM", "W", dirs, 4L * h, in);
        stacked(n, "LSTM", "R", dirs, 4L * h, h);
        float[] b = new float[stacked(n, "LSTM", "B", dirs, 8L * h)];
        float[] p = new float[stacked(n, "LSTM", "P", dirs, 3L * h)];
        // W and R are written from the canonical tensors, gate block by gate block in ONNX order: no copy
        int[] blocks = blocksFromCanonical(t -> GateOrder.ONNX.fromCanonical(t, 0), 4);
        List<StreamedModel.Run> w = new ArrayList<>();
        List<StreamedModel.Run> r = new ArrayList<>();
        boolean anyPeephole = false;
        for (int d = 0; d < dirs; d++) {
            LstmWeights lw = l.weights().get(d);
            gateRuns(w, lw.w(), blocks, h * in);
            gateRuns(r, lw.r(), blocks, h * h);
            // ONNX B is [Wb, Rb] per direction, both in ONNX gate order; a forget bias joins Wb's forget block.
            GateOrder.ONNX.fromCanonical(LstmWeights.withForgetBias(lw.wb(), h, s.forgetBias()), 0).copyFloatsTo(b, d * 8 * h);
            GateOrder.ONNX.fromCanonical(lw.rb(), 0).copyFloatsTo(b, d * 8 * h + 4 * h);
            if (lw.peephole() != null) {
                anyPeephole = true;
                GateOrder.onnxPeephole(lw.peephole(), 0).copyFloatsTo(p, d * 3 * h);
            }
        }
        String pName = anyPeephole ? g.initializer(n + "_P", Tensor.ofFloats(new int[] {dirs, 3 * h}, p)) : null;
        RecurrentNode rn = new RecurrentNode("LSTM", n, s.layout(), s.direction(), h, s.clip(),
                s.hasDefaultActivations() ? null : s.activations(), l.input(), l.sequenceLengths(),
                List.of(optional(l.initialH()), optional(l.initialC())),
                List.of(optional(l.outputSequence()), optional(l.outputH()), optional(l.outputC())));
        recurrent(rn, weightInitializers(n, w, r, b, dirs, 4, h, in), pName, node -> {
            if (s.inputForget()) {
                node.attr("input_forget", 1L);
            }
        });
    }

    /** One ONNX GRU node; gate blocks in ONNX order z, r, h. */
    private void gru(Layer.Gru l) {
        refuseMask(l);
        RecurrentSpec s = l.spec();
        List<ActivationFn> defaults = List.of(ActivationFn.SIGMOID, ActivationFn.TANH);
        RecurrentNode rn = new RecurrentNode("GRU", l.name(), s.layout(), s.direction(), s.hiddenSize(), s.clip(),
                hasDefaults(s, defaults) ? null : s.activations(), l.input(), l.sequenceLengths(),
                List.of(optional(l.initialH())), List.of(optional(l.outputSequence()), optional(l.outputH())));
        recurrent(rn, recurrentWeights("GRU", l.name(), s, 3, l.weights(), t -> GateOrder.Gru.ONNX.fromCanonical(t, 0)), null,
                node -> {
                    if (s.linearBeforeReset()) {
                        node.attr("linear_before_reset", 1L);
                    }
                });
    }

    /** One ONNX RNN node. */
    private void rnn(Layer.Rnn l) {
        refuseMask(l);
        RecurrentSpec s = l.spec();
        RecurrentNode rn = new RecurrentNode("RNN", l.name(), s.layout(), s.direction(), s.hiddenSize(), s.clip(),
                hasDefaults(s, List.of(ActivationFn.TANH)) ? null : s.activations(), l.input(), l.sequenceLengths(),
                List.of(optional(l.initialH())), List.of(optional(l.outputSequence()), optional(l.outputH())));
        recurrent(rn, recurrentWeights("RNN", l.name(), s, 1, l.weights(), t -> t), null, node -> { });
    }

    private static boolean hasDefaults(RecurrentSpec s, List<ActivationFn> perDirection) {
        int k = perDirection.size();
        for (int d = 0; d < s.direction().count(); d++) {
            if (!s.activations().subList(k * d, k * d + k).equals(perDirection)) {
                return false;
            }
        }
        return true;
    }

    private static Optional<String> optional(String s) {
        return Optional.ofNullable(s);
    }

    /** W, R and (unless all +0) B initializers of a GRU or RNN, gate blocks put in ONNX order by {@code fromCanonical}. */
    private String[] recurrentWeights(String op, String n, RecurrentSpec s, int gates, List<RecurrentWeights> weights,
                                      UnaryOperator<Tensor> fromCanonical) {
        int dirs = s.direction().count();
        int h = s.hiddenSize();
        int in = s.inputSize();
        int gh = gates * h;
        stacked(n, op, "W", dirs, (long) gh, in);
        stacked(n, op, "R", dirs, (long) gh, h);
        float[] b = new float[stacked(n, op, "B", dirs, 2L * gh)];
        int[] blocks = blocksFromCanonical(fromCanonical, gates);
        List<StreamedModel.Run> w = new ArrayList<>();
        List<StreamedModel.Run> r = new ArrayList<>();
        for (int d = 0; d < dirs; d++) {
            RecurrentWeights rw = weights.get(d);
            gateRuns(w, rw.w(), blocks, h * in);
            gateRuns(r, rw.r(), blocks, h * h);
            // ONNX B is [Wb, Rb] per direction, both in ONNX gate order.
            fromCanonical.apply(rw.wb()).copyFloatsTo(b, d * 2 * gh);
            fromCanonical.apply(rw.rb()).copyFloatsTo(b, d * 2 * gh + gh);
        }
        return weightInitializers(n, w, r, b, dirs, gates, h, in);
    }

    /**
     * Initializers W [D, G*H, I], R [D, G*H, H] (the runs of canonical weights that make them up) and
     * B [D, 2*G*H] (null when +0 bit for bit, its default).
     */
    private String[] weightInitializers(String n, List<StreamedModel.Run> w, List<StreamedModel.Run> r, float[] b, int dirs, int gates,
                                        int h, int in) {
        boolean anyBias = false;
        for (float v : b) {
            anyBias |= Float.floatToRawIntBits(v) != 0;
        }
        return new String[] {
            g.initializer(n + "_W", new int[] {dirs, gates * h, in}, w),
            g.initializer(n + "_R", new int[] {dirs, gates * h, h}, r),
            anyBias ? g.initializer(n + "_B", Tensor.ofFloats(new int[] {dirs, 2 * gates * h}, b)) : null};
    }

    /**
     * For each gate block of the target order, the canonical block it holds: found by applying the
     * permutation ({@link GateOrder}'s, where every gate order is defined) to the block numbers.
     */
    static int[] blocksFromCanonical(UnaryOperator<Tensor> fromCanonical, int gates) {
        float[] ids = new float[gates];
        for (int k = 0; k < gates; k++) {
            ids[k] = k;
        }
        float[] permuted = fromCanonical.apply(Tensor.ofFloats(new int[] {gates}, ids)).toFloatArray();
        int[] blocks = new int[gates];
        for (int k = 0; k < gates; k++) {
            blocks[k] = (int) permuted[k];
        }
        return blocks;
    }

    /** Appends the gate blocks ({@code block} values each) of canonical {@code t} in the order {@code blocks} gives. */
    private static void gateRuns(List<StreamedModel.Run> runs, Tensor t, int[] blocks, int block) {
        if (t.size() != blocks.length * block) {
            throw LstmxException.internal("ONNX export: weight of shape " + java.util.Arrays.toString(t.shape()) + " is not "
                    + blocks.length + " gate blocks of " + block + " values");
        }
        for (int k : blocks) {
            runs.add(new StreamedModel.Run(t, k * block, block));
        }
    }

    /**
     * What an ONNX LSTM, GRU or RNN node has in common.
     *
     * @param activations explicit activations, or null for the operator's defaults
     * @param states      initial states (initial_h, then initial_c for LSTM), [D, B, H] or [B, D, H]
     * @param outputs     Y, then the final states
     */
    private record RecurrentNode(String op, String name, Layout layout, Direction direction, int hiddenSize, Float clip,
                                 List<ActivationFn> activations, String input, String sequenceLengths,
                                 List<Optional<String>> states, List<Optional<String>> outputs) {
    }

    /**
     * Writes one recurrent node with inputs X, W, R, B, sequence_lens, states, then {@code trailing}
     * (LSTM's P). A batch-major layer gets layout=1 when asked for and the opset has it, else
     * Transposes around a time-major node; sequence_lens is cast to int32, the only type ONNX takes.
     */
    private void recurrent(RecurrentNode rn, String[] wrb, String trailing, java.util.function.Consumer<OnnxGraphBuilder.Node> extra) {
        boolean batchMajor = rn.layout() == Layout.BATCH_MAJOR;
        boolean layoutAttr = batchMajor && lstmLayoutAttribute && opset >= 14;
        boolean transposed = batchMajor && !layoutAttr;
        String n = rn.name();
        String x = rn.input();
        List<String> inputs = new ArrayList<>();
        if (transposed) {
            // [B, T, I] -> [T, B, I]
            x = g.apply("Transpose", x).named(n + "/input_time_major").ints("perm", 1, 0, 2).freshOutput(n + "_X_time_major");
        }
        inputs.add(x);
        inputs.addAll(java.util.Arrays.asList(wrb));
        String[] stateNames = {"initial_h", "initial_c"};
        List<String> states = new ArrayList<>();
        for (int k = 0; k < rn.states().size(); k++) {
            String st = rn.states().get(k).orElse(null);
            if (st != null && transposed) {
                // [B, D, H] -> [D, B, H]
                st = g.apply("Transpose", st).named(n + "/" + stateNames[k]).ints("perm", 1, 0, 2).freshOutput(n + "_" + stateNames[k]);
            }
            states.add(st);
        }
        String seq = rn.sequenceLengths();
        if (seq != null && dtype(seq) != DType.INT32) {
            seq = g.apply("Cast", seq).named(n + "/sequence_lens").attr("to", (long) OnnxTensors.onnxType(DType.INT32))
                    .freshOutput(n + "_sequence_lens");
        }
        inputs.add(seq);
        inputs.addAll(states);
        if (trailing != null) {
            inputs.add(trailing);
        }
        String[] outNames = {"Y", "Y_h", "Y_c"};
        String[] outs = new String[rn.outputs().size()];
        for (int k = 0; k < outs.length; k++) {
            String o = rn.outputs().get(k).orElse(null);
            outs[k] = o != null && transposed ? g.fresh(n + "_" + outNames[k] + "_time_major") : o;
        }
        OnnxGraphBuilder.Node node = g.apply(rn.op(), inputs.toArray(String[]::new)).named(n).attr("hidden_size", (long) rn.hiddenSize());
        switch (rn.direction()) {
            case REVERSE -> node.attr("direction", "reverse");
            case BIDIRECTIONAL -> node.attr("direction", "bidirectional");
            default -> { } // forward is the default
        }
        if (rn.clip() != null) {
            node.attr("clip", rn.clip().floatValue());
        }
        extra.accept(node);
        if (rn.activations() != null) {
            activations(node, rn.activations());
        }
        if (layoutAttr) {
            node.attr("layout", 1L);
        }
        node.outputs(outs);
        for (int k = 0; k < outs.length; k++) {
            String o = rn.outputs().get(k).orElse(null);
            if (o == null) {
                continue;
            }
            if (transposed) {
                // Y [T, D, B, H] -> [B, T, D, H]; states [D, B, H] -> [B, D, H]
                OnnxGraphBuilder.Node t = g.apply("Transpose", outs[k]).named(n + "/" + outNames[k]);
                (k == 0 ? t.ints("perm", 2, 0, 1, 3) : t.ints("perm", 1, 0, 2)).output(o);
            }
        }
    }

    /**
     * Element count of an ONNX recurrent input that stacks both directions' weights of layer {@code n};
     * each direction fits a tensor, both together may not (an int product would wrap around silently).
     */
    private static int stacked(String n, String op, String input, long... dims) {
        try {
            return Tensor.elementCount(dims);
        } catch (LstmxException | ArithmeticException e) {
            throw LstmxException.unsupported("layer '" + n + "': the ONNX " + op + " input " + input + " would have shape "
                    + java.util.Arrays.toString(dims) + ", more elements than one tensor can hold (" + Tensor.MAX_ELEMENTS + ")");
        }
    }

    /**
     * Writes the activations attribute and packs alpha and beta as onnxruntime reads them: one value
     * per function that takes the parameter, in function order. Every value is written explicitly,
     * since runtimes disagree on the defaults of Affine and ScaledTanh.
     */
    private static void activations(OnnxGraphBuilder.Node node, List<ActivationFn> acts) {
        List<String> names = new ArrayList<>();
        List<Float> alphas = new ArrayList<>();
        List<Float> betas = new ArrayList<>();
        for (ActivationFn f : acts) {
            switch (f.kind()) {
                case SIGMOID -> names.add("Sigmoid");
                case TANH -> names.add("Tanh");
                case RELU -> names.add("Relu");
                case SOFTSIGN -> names.add("Softsign");
                case SOFTPLUS -> names.add("Softplus");
                case IDENTITY -> {
                    // ONNX recurrent ops have no Identity; Affine(1, 0) is the same function.
                    names.add("Affine");
                    alphas.add(1f);
                    betas.add(0f);
                }
                case LEAKY_RELU -> {
                    names.add("LeakyRelu");
                    alphas.add(f.alpha());
                }
                case THRESHOLDED_RELU -> {
                    names.add("ThresholdedRelu");
                    alphas.add(f.alpha());
                }
                case ELU -> {
                    names.add("Elu");
                    alphas.add(f.alpha());
                }
                case HARD_SIGMOID -> {
                    names.add("HardSigmoid");
                    alphas.add(f.alpha());
                    betas.add(f.beta());
                }
                case AFFINE -> {
                    names.add("Affine");
                    alphas.add(f.alpha());
                    betas.add(f.beta());
                }
                case SCALED_TANH -> {
                    names.add("ScaledTanh");
                    alphas.add(f.alpha());
                    betas.add(f.beta());
                }
                default -> throw LstmxException.internal("ONNX export: recurrent activation " + f + " has no ONNX name");
            }
        }
        node.strings("activations", names);
        if (!alphas.isEmpty()) {
            node.floats("activation_alpha", alphas);
        }
        if (!betas.isEmpty()) {
            node.floats("activation_beta", betas);
        }
    }

    private void dense(Layer.Dense d) {
        String x = d.input();
        int r = rank(x);
        String n = d.name();
        if (r == 2 && (d.bias() != null || opset >= 11)) {
            // Gemm computes x W^T + b directly from the [out, in] weight; C is optional from opset 11.
            String w = g.initializer(n + "_weight", d.weight());
            String b = d.bias() == null ? null : g.initializer(n + "_bias", d.bias());
            g.apply("Gemm", x, w, b).named(n).attr("transB", 1L).output(d.output());
        } else {
            String wt = g.initializer(n + "_weight_t", transpose2d(d.weight()));
            if (d.bias() == null) {
                g.apply("MatMul", x, wt).named(n).output(d.output());
            } else {
                String mm = g.apply("MatMul", x, wt).named(n + "/MatMul").freshOutput(n + "_matmul");
                String b = g.initializer(n + "_bias", d.bias());
                g.apply("Add", mm, b).named(n).output(d.output());
            }
        }
    }

    private static Tensor transpose2d(Tensor t) {
        int rows = t.dim(0);
        int cols = t.dim(1);
        float[] src = t.toFloatArray();
        float[] dst = new float[src.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                dst[j * rows + i] = src[i * cols + j];
            }
        }
        return Tensor.ofFloats(new int[] {cols, rows}, dst);
    }

    private void embedding(Layer.Embedding e) {
        // Indices are integers: ShapeInference refuses an Embedding fed floats before export.
        String table = g.initializer(e.name() + "_table", e.table());
        g.apply("Gather", table, e.input()).named(e.name()).attr("axis", 0L).output(e.output());
    }

    private void activation(Layer.Activation a) {
        ActivationFn f = a.fn();
        String n = a.name();
        String x = a.input();
        String y = a.output();
        switch (f.kind()) {
            case SIGMOID -> unary("Sigmoid", n, x, y);
            case TANH -> unary("Tanh", n, x, y);
            case RELU -> unary("Relu", n, x, y);
            case IDENTITY -> unary("Identity", n, x, y);
            case SOFTSIGN -> unary("Softsign", n, x, y);
            case SOFTPLUS -> unary("Softplus", n, x, y);
            case LEAKY_RELU -> g.apply("LeakyRelu", x).named(n).attr("alpha", f.alpha()).output(y);
            case ELU -> g.apply("Elu", x).named(n).attr("alpha", f.alpha()).output(y);
            case HARD_SIGMOID -> g.apply("HardSigmoid", x).named(n).attr("alpha", f.alpha()).attr("beta", f.beta()).output(y);
            case THRESHOLDED_RELU -> {
                if (opset >= 10) {
                    g.apply("ThresholdedRelu", x).named(n).attr("alpha", f.alpha()).output(y);
                } else {
                    // Before opset 10: x * (x > alpha), the same function from core operators.
                    String alpha = g.scalar(n + "_alpha", f.alpha());
                    String gt = g.apply("Greater", x, alpha).named(n + "/Greater").freshOutput(n + "_above");
                    String mask = g.apply("Cast", gt).named(n + "/Cast").attr("to", (long) OnnxTensors.onnxType(DType.FLOAT32))
                            .freshOutput(n + "_mask");
                    g.apply("Mul", x, mask).named(n).output(y);
                }
            }
            case AFFINE -> {
                // ONNX dropped the Affine operator: alpha * x + beta.
                String alpha = g.scalar(n + "_alpha", f.alpha());
                String beta = g.scalar(n + "_beta", f.beta());
                String ax = g.apply("Mul", x, alpha).named(n + "/Mul").freshOutput(n + "_scaled");
                g.apply("Add", ax, beta).named(n).output(y);
            }
            case SCALED_TANH -> {
                // ONNX dropped ScaledTanh: alpha * tanh(beta * x).
                String alpha = g.scalar(n + "_alpha", f.alpha());
                String beta = g.scalar(n + "_beta", f.beta());
                String bx = g.apply("Mul", x, beta).named(n + "/Mul_beta").freshOutput(n + "_scaled_in");
                String t = g.apply("Tanh", bx).named(n + "/Tanh").freshOutput(n + "_tanh");
                g.apply("Mul", t, alpha).named(n).output(y);
            }
            default -> throw LstmxException.internal("ONNX export: activation " + f + " of layer '" + n + "' has no converter");
        }
    }

    private void softmax(Layer.Softmax s) {
        String op = s.log() ? "LogSoftmax" : "Softmax";
        int r = rank(s.input());
        String n = s.name();
        if (opset >= 13) {
            g.apply(op, s.input()).named(n).attr("axis", (long) s.axis()).output(s.output());
        } else {
            // Before opset 13, Softmax flattens to 2-D at 'axis' and normalises over everything from
            // it on: that equals a one-axis softmax only when the axis is the last one.
            int last;
            if (r < 0) {
                if (s.axis() != -1) {
                    throw needsOpset(s, op + " over axis " + s.axis() + " of a value of unknown rank", 13);
                }
                if (opset < 11) {
                    throw needsOpset(s, op + " over axis -1 of a value of unknown rank", 11);
                }
                g.apply(op, s.input()).named(n).attr("axis", -1L).output(s.output());
                return;
            }
            last = r - 1;
            int a = s.axis() < 0 ? s.axis() + r : s.axis();
            if (a < 0 || a >= r) {
                throw LstmxException.badInput("layer '" + n + "' (" + op + "): axis " + s.axis() + " is out of range for rank " + r);
            }
            if (a == last) {
                g.apply(op, s.input()).named(n).attr("axis", (long) last).output(s.output());
            } else {
                // Swap the axis to the end, normalise there, swap back (a swap is its own inverse).
                long[] perm = new long[r];
                for (int i = 0; i < r; i++) {
                    perm[i] = i;
                }
                perm[a] = last;
                perm[last] = a;
                String t = g.apply("Transpose", s.input()).named(n + "/Transpose_in").ints("perm", perm).freshOutput(n + "_swapped");
                String sm = g.apply(op, t).named(n).attr("axis", (long) last).freshOutput(n + "_normalised");
                g.apply("Transpose", sm).named(n + "/Transpose_out").ints("perm", perm).output(s.output());
            }
        }
    }

    private void binary(Layer.Binary b) {
        String op = switch (b.op()) {
            case ADD -> "Add";
            case SUB -> "Sub";
            case MUL -> "Mul";
            case DIV -> "Div";
        };
        g.apply(op, b.a(), b.b()).named(b.name()).output(b.output());
    }

    private void concat(Layer.Concat c) {
        int r = rank(c.inputs().get(0));
        g.apply("Concat", c.inputs().toArray(new String[0])).named(c.name()).attr("axis", axis(c, c.axis(), r)).output(c.output());
    }

    private void flatten(Layer.Flatten f) {
        if (opset < 9 && !dtype(f.input()).isFloating()) {
            throw needsOpset(f, "Flatten of a " + dtype(f.input()) + " value", 9);
        }
        g.apply("Flatten", f.input()).named(f.name()).attr("axis", axis(f, f.axis(), rank(f.input()))).output(f.output());
    }

    /** Squeeze: axes as an attribute before opset 13, as an int64 input from 13. */
    private void squeezeNode(Layer l, String nodeName, String in, String out, List<Integer> axes, int inRank) {
        if (opset >= 13) {
            String ax = g.int64s(nodeName + "_axes", axes.stream().mapToLong(Integer::longValue).toArray());
            g.apply("Squeeze", in, ax).named(nodeName).output(out);
        } else {
            g.apply("Squeeze", in).named(nodeName).ints("axes", axes(l, axes, inRank)).output(out);
        }
    }

    private void unsqueeze(Layer.Unsqueeze u) {
        int r = rank(u.input());
        int outRank = r < 0 ? -1 : r + u.axes().size();
        if (opset >= 13) {
            String ax = g.int64s(u.name() + "_axes", u.axes().stream().mapToLong(Integer::longValue).toArray());
            g.apply("Unsqueeze", u.input(), ax).named(u.name()).output(u.output());
        } else {
            g.apply("Unsqueeze", u.input()).named(u.name()).ints("axes", axes(u, u.axes(), outRank)).output(u.output());
        }
    }

    private void select(Layer.Select s) {
        int r = rank(s.input());
        long a = axis(s, s.axis(), r);
        if (s.index() >= 0 || opset >= 11) {
            // Gather with a scalar index drops the axis, as Select does.
            String idx = g.initializer(s.name() + "_index", Tensor.ofLongs(new int[0], new long[] {s.index()}));
            g.apply("Gather", s.input(), idx).named(s.name()).attr("axis", a).output(s.output());
        } else {
            // Gather's negative indices arrive in opset 11; Slice has counted from the end since opset 1.
            long end = s.index() + 1 == 0 ? Long.MAX_VALUE : s.index() + 1;
            String sl = sliceNode(s, s.name() + "/Slice", s.input(), a, s.index(), end, 1).freshOutput(s.name() + "_slice");
            squeezeNode(s, s.name(), sl, s.output(), List.of((int) a), r);
        }
    }

    private void take(Layer.Take t) {
        Tensor idx = t.indices();
        if (idx.dtype().isFloating()) {
            idx = idx.withDType(DType.INT64);
        }
        if (opset < 11) {
            for (long v : idx.toLongArray()) {
                if (v < 0) {
                    throw needsOpset(t, "negative gather index " + v, 11);
                }
            }
        }
        int r = rank(t.input());
        String in = g.initializer(t.name() + "_indices", idx);
        g.apply("Gather", t.input(), in).named(t.name()).attr("axis", axis(t, t.axis(), r)).output(t.output());
    }

    private void slice(Layer.Slice s) {
        if (s.step() == 0) {
            throw LstmxException.badInput("layer '" + s.name() + "' (Slice): step must not be 0");
        }
        if (s.step() != 1 && opset < 10) {
            throw needsOpset(s, "Slice with step " + s.step(), 10);
        }
        long a = axis(s, s.axis(), rank(s.input()));
        sliceNode(s, s.name(), s.input(), a, s.start(), s.end(), s.step()).output(s.output());
    }

    /** A one-axis Slice node: attributes before opset 10, int64 inputs from 10 (step input only when not 1). */
    private OnnxGraphBuilder.Node sliceNode(Layer l, String nodeName, String in, long axis, long start, long end, long step) {
        if (opset < 10) {
            return g.apply("Slice", in).named(nodeName).ints("starts", start).ints("ends", end).ints("axes", axis);
        }
        String hint = l.name();
        String starts = g.int64s(hint + "_starts", start);
        String ends = g.int64s(hint + "_ends", end);
        String axes = g.int64s(hint + "_axes", axis);
        String steps = step == 1 ? null : g.int64s(hint + "_steps", step);
        return g.apply("Slice", in, starts, ends, axes, steps).named(nodeName);
    }
}
