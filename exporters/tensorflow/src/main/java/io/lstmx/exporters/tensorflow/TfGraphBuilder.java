package io.lstmx.exporters.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.util.SafeText;
import org.tensorflow.ConcreteFunction;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gather;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.ReduceMax;
import org.tensorflow.op.core.ReduceSum;
import org.tensorflow.op.core.ReverseSequence;
import org.tensorflow.op.core.Squeeze;
import org.tensorflow.op.core.Stack;
import org.tensorflow.op.core.StridedSlice;
import org.tensorflow.op.nn.LeakyRelu;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TType;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds a TensorFlow graph from the IR with TensorFlow Java's ops API ({@link Ops}), one layer at a
 * time, and returns the {@code serving_default} signature: the IR's inputs as placeholders (named as
 * the inputs where TensorFlow allows the name; the signature's keys are the inputs' names exactly),
 * the model's outputs as {@code output_0}, {@code output_1}, ... in model order.
 *
 * <p>Recurrent layers: an LSTM direction with sigmoid/tanh/tanh, no ONNX clip, no projection, no
 * coupled input-forget gate and no sequence lengths is one {@code BlockLSTM} op (gate blocks i, c, f,
 * o as {@link GateOrder#TF_BLOCK}; kernel [I+H, 4H] = [W; R] transposed; bias Wb + Rb with the forget
 * bias folded in and the op's {@code forget_bias} 0; {@code cell_clip} from the IR's cell clip, -1 for
 * none; {@code use_peephole} with the IR's peepholes). Every other LSTM, GRU and RNN direction is one
 * functional {@code StatelessWhile} loop over time whose body computes one step (the IR's equations,
 * with any activations, ONNX clip, peepholes, projection, coupled gates, sequence-length masks and
 * per-step masks: a masked step keeps the states ({@code SelectV2}) and writes the previous output,
 * zeros at first, or zeros when the layer says so).
 * The reverse direction reverses the time axis ({@code ReverseV2}, or {@code ReverseSequence} with
 * sequence lengths) before and after. Nothing is unrolled: the graph's size does not depend on T.
 *
 * <p>The top-level graph's constants holding the model's values (kernels, biases, tables) are made
 * through {@link TfWeights}: Const ops, or stand-ins whose values the writers stream into the file.
 * A While loop's weights are such top-level constants too, passed into the loop as variables its
 * body returns unchanged (as TensorFlow's while_v2 passes captured tensors): a body holding its
 * weights as Const ops would put them in the graph's function library, which is built in memory
 * whole (a second copy of every weight beside the model's).
 */
@SuppressWarnings({"rawtypes", "unchecked"})
final class TfGraphBuilder implements Layer.Visitor<Void> {
    private final Ops tf;
    private final Model model;
    /** Where the top-level graph's constants go (function bodies always hold theirs). */
    private final TfWeights weights;
    /** The signature as TensorFlow Java's exporter writes it, for the writers that write the SavedModel themselves. */
    private final SignatureDef.Builder signatureDef = SignatureDef.newBuilder();
    private final Map<String, Operand> values = new HashMap<>();
    private Layer current;

    TfGraphBuilder(Ops tf, Model model, TfWeights weights) {
        this.tf = tf;
        this.model = model;
        this.weights = weights;
    }

    /** The serving_default signature {@link #build()} returned, as a SignatureDef. */
    SignatureDef signatureDef() {
        return signatureDef.build();
    }

    /**
     * What TensorFlow Java's {@code Signature} records for {@code o} (its {@code asSignatureDef()}
     * is not public): the tensor's name, dtype and static shape, or unknown rank.
     */
    private static TensorInfo tensorInfo(Output<?> o) {
        Shape shape = o.shape();
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        if (shape.isUnknown()) {
            s.setUnknownRank(true);
        } else {
            for (int i = 0; i < shape.numDimensions(); i++) {
                s.addDim(TensorShapeProto.Dim.newBuilder().setSize(shape.get(i)));
            }
        }
        return TensorInfo.newBuilder().setDtype(o.dataType()).setTensorShape(s).setName(o.op().name() + ":" + o.index()).build();
    }

    /** Builds the graph; returns the serving_default signature. */
    Signature build() {
        Set<String> used = new HashSet<>();
        Signature.Builder sig = Signature.builder().key(Signature.DEFAULT_KEY);
        for (ValueInfo v : model.inputs()) {
            String op = opName(v.name(), used);
            Placeholder p = tf.withName(op).placeholder(tfType(v.dtype(), "input '" + v.name() + "'"),
                    Placeholder.shape(shapeOf(v.shape())));
            values.put(v.name(), p);
            sig.input(v.name(), p);
            signatureDef.putInputs(v.name(), tensorInfo(p.asOutput()));
        }
        for (Layer l : model.layers()) {
            current = l;
            try {
                l.accept(this);
            } catch (LstmxException e) {
                throw e;
            } catch (IllegalArgumentException | IllegalStateException | org.tensorflow.exceptions.TensorFlowException e) {
                String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip().split("\\R")[0];
                throw LstmxException.unsupported("layer '" + SafeText.name(l.name()) + "' (" + l.kind()
                        + "): TensorFlow refuses the graph written for it: " + SafeText.message(why));
            }
        }
        current = null;
        int k = 0;
        for (ValueInfo v : model.outputs()) {
            Operand out = tf.withName(opName("output_" + k, used)).identity(values.get(v.name()));
            sig.output("output_" + k, out);
            signatureDef.putOutputs("output_" + k, tensorInfo(out.asOutput()));
            k++;
        }
        return sig.build();
    }

    /** A valid, unused TensorFlow op name for {@code name}: characters TensorFlow refuses become '_'. */
    private static String opName(String name, Set<String> used) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < name.length() && b.length() < 120; i++) {
            char c = name.charAt(i);
            boolean ok = c < 128 && (Character.isLetterOrDigit(c) || c == '.' || (i > 0 && (c == '_' || c == '-')));
            b.append(ok ? c : '_');
        }
        if (b.length() == 0 || b.charAt(0) == '_') {
            b.insert(0, 'v');
        }
        String base = b.toString();
        String n = base;
        for (int i = 1; !used.add(n.toLowerCase(java.util.Locale.ROOT)); i++) {
            n = base + "_" + i;
        }
        return n;
    }

    private static Shape shapeOf(io.lstmx.ir.Shape s) {
        if (!s.rankKnown()) {
            return Shape.unknown();
        }
        long[] dims = new long[s.rank()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = s.dim(i) instanceof Dim.Fixed f ? f.size() : -1;
        }
        return Shape.of(dims);
    }

    private Class<? extends TType> tfType(DType t, String what) {
        switch (t) {
            case FLOAT32:
                return TFloat32.class;
            case INT32:
                return TInt32.class;
            case INT64:
                return TInt64.class;
            default:
                throw LstmxException.unsupported(what + " is " + t + ", which lstmx's SavedModel writer does not write as a graph input");
        }
    }

    private Operand v(String name) {
        Operand o = values.get(name);
        if (o == null) {
            throw LstmxException.badInput("layer '" + current.name() + "' reads '" + name + "', which is not defined");
        }
        return o;
    }

    private void put(String name, Operand o) {
        if (name != null) {
            values.put(name, o);
        }
    }

    private LstmxException refuse(String feature) {
        return LstmxException.unsupported("layer '" + SafeText.name(current.name()) + "' (" + current.kind()
                + "): " + feature + " cannot be written as a TensorFlow SavedModel");
    }

    private static boolean isFloat(Operand o) {
        return o.type() == TFloat32.class;
    }

    // ---- activations ----

    static Operand act(Ops tf, Operand x, ActivationFn fn) {
        switch (fn.kind()) {
            case SIGMOID:
                return tf.math.sigmoid(x);
            case TANH:
                return tf.math.tanh(x);
            case RELU:
                return tf.nn.relu(x);
            case IDENTITY:
                return tf.identity(x);
            case LEAKY_RELU:
                return tf.nn.leakyRelu(x, LeakyRelu.alpha(fn.alpha()));
            case THRESHOLDED_RELU:
                return tf.math.mul(x, tf.dtypes.cast(tf.math.greater(x, tf.constant(fn.alpha())), TFloat32.class));
            case ELU:
                return tf.select(tf.math.greaterEqual(x, tf.zerosLike(x)), x, tf.math.mul(tf.constant(fn.alpha()), tf.math.expm1(x)));
            case HARD_SIGMOID:
                return tf.math.maximum(tf.constant(0f), tf.math.minimum(tf.constant(1f),
                        tf.math.add(tf.math.mul(tf.constant(fn.alpha()), x), tf.constant(fn.beta()))));
            case AFFINE:
                return tf.math.add(tf.math.mul(tf.constant(fn.alpha()), x), tf.constant(fn.beta()));
            case SCALED_TANH:
                return tf.math.mul(tf.constant(fn.alpha()), tf.math.tanh(tf.math.mul(tf.constant(fn.beta()), x)));
            case SOFTSIGN:
                return tf.nn.softsign(x);
            case SOFTPLUS:
                return tf.math.softplus(x);
            default:
                throw new IllegalStateException(fn.toString());
        }
    }

    // ---- simple layers ----

    @Override
    public Void visit(Layer.Constant l) {
        put(l.output(), weights.constant(tf, TfWeights.Values.of(l.value())));
        return null;
    }

    @Override
    public Void visit(Layer.Dense l) {
        Operand x = v(l.input());
        int out = l.weight().dim(0);
        int in = l.weight().dim(1);
        Operand shape = tf.shape(x, TInt64.class);
        Operand lead = tf.stridedSlice(shape, tf.constant(new long[] {0}), tf.constant(new long[] {-1}), tf.constant(new long[] {1}));
        Operand flat = tf.reshape(x, tf.constant(new long[] {-1, in}));
        Operand y = tf.linalg.matMul(flat, weights.constant(tf, TfWeights.Values.transposed(l.weight())));
        if (l.bias() != null) {
            y = tf.math.add(y, weights.constant(tf, TfWeights.Values.floats(l.bias().toFloatArray())));
        }
        put(l.output(), tf.reshape(y, tf.concat(List.of(lead, tf.constant(new long[] {out})), tf.constant(0))));
        return null;
    }

    @Override
    public Void visit(Layer.Embedding l) {
        Operand idx = v(l.input());
        if (isFloat(idx)) {
            throw refuse("float indices");
        }
        idx = tf.dtypes.cast(idx, TInt64.class);
        long vocab = l.table().dim(0);
        // Negative indices count from V, as in the IR.
        Operand neg = tf.dtypes.cast(tf.math.less(idx, tf.constant(0L)), TInt64.class);
        idx = tf.math.add(idx, tf.math.mul(neg, tf.constant(vocab)));
        put(l.output(), tf.gather(weights.constant(tf, TfWeights.Values.of(l.table())), idx, tf.constant(0)));
        return null;
    }

    @Override
    public Void visit(Layer.Activation l) {
        put(l.output(), act(tf, v(l.input()), l.fn()));
        return null;
    }

    @Override
    public Void visit(Layer.Softmax l) {
        Operand x = v(l.input());
        Operand axis = tf.constant(new int[] {l.axis()});
        Operand shifted = tf.math.sub(x, tf.reduceMax(x, axis, ReduceMax.keepDims(true)));
        Operand sum = tf.reduceSum(tf.math.exp(shifted), axis, ReduceSum.keepDims(true));
        put(l.output(), l.log() ? tf.math.sub(shifted, tf.math.log(sum)) : tf.math.div(tf.math.exp(shifted), sum));
        return null;
    }

    @Override
    public Void visit(Layer.Dropout l) {
        put(l.output(), tf.identity(v(l.input())));
        return null;
    }

    @Override
    public Void visit(Layer.Identity l) {
        put(l.output(), tf.identity(v(l.input())));
        return null;
    }

    @Override
    public Void visit(Layer.Binary l) {
        Operand a = v(l.a());
        Operand b = v(l.b());
        if (a.type() != b.type()) {
            throw refuse("operands of different types (" + a.type().getSimpleName() + ", " + b.type().getSimpleName() + ")");
        }
        Operand y;
        switch (l.op()) {
            case ADD:
                y = tf.math.add(a, b);
                break;
            case SUB:
                y = tf.math.sub(a, b);
                break;
            case MUL:
                y = tf.math.mul(a, b);
                break;
            default:
                y = isFloat(a) ? tf.math.div(a, b) : tf.math.truncateDiv(a, b);
                break;
        }
        put(l.output(), y);
        return null;
    }

    @Override
    public Void visit(Layer.MatMul l) {
        Operand a = v(l.a());
        Operand b = v(l.b());
        int ra = a.shape().isUnknown() ? -1 : a.shape().numDimensions();
        int rb = b.shape().isUnknown() ? -1 : b.shape().numDimensions();
        if (ra < 0 || rb < 0) {
            throw refuse("a matrix product of operands of unknown rank");
        }
        if (ra == 0 || rb == 0) {
            throw refuse("a matrix product of a scalar");
        }
        Operand a2 = ra == 1 ? tf.expandDims(a, tf.constant(0)) : a;
        Operand b2 = rb == 1 ? tf.expandDims(b, tf.constant(-1)) : b;
        Operand y = tf.train.batchMatMul(a2, b2, a.type());
        if (rb == 1) {
            y = tf.squeeze(y, Squeeze.axis(-1L));
        }
        if (ra == 1) {
            y = tf.squeeze(y, Squeeze.axis(rb == 1 ? -1L : -2L));
        }
        put(l.output(), y);
        return null;
    }

    @Override
    public Void visit(Layer.Concat l) {
        List<Operand> parts = new ArrayList<>();
        for (String s : l.inputs()) {
            parts.add(v(s));
        }
        put(l.output(), tf.concat((List) parts, tf.constant(l.axis())));
        return null;
    }

    @Override
    public Void visit(Layer.Transpose l) {
        put(l.output(), tf.linalg.transpose(v(l.input()), tf.constant(l.perm().stream().mapToInt(Integer::intValue).toArray())));
        return null;
    }

    @Override
    public Void visit(Layer.Reshape l) {
        Operand x = v(l.input());
        long[] target = l.shape().stream().mapToLong(Long::longValue).toArray();
        boolean copies = false;
        for (long d : target) {
            copies |= d == 0;
        }
        Operand shape;
        if (!copies) {
            shape = tf.constant(target);
        } else {
            // ONNX: 0 copies the input's dimension at that position.
            Operand in = tf.shape(x, TInt64.class);
            List<Operand> parts = new ArrayList<>();
            for (int i = 0; i < target.length; i++) {
                parts.add(target[i] == 0
                        ? tf.stridedSlice(in, tf.constant(new long[] {i}), tf.constant(new long[] {i + 1}), tf.constant(new long[] {1}))
                        : tf.constant(new long[] {target[i]}));
            }
            shape = tf.concat((List) parts, tf.constant(0));
        }
        put(l.output(), tf.reshape(x, shape));
        return null;
    }

    @Override
    public Void visit(Layer.Flatten l) {
        Operand x = v(l.input());
        Operand shape = tf.shape(x, TInt64.class);
        long axis = l.axis();
        Operand one = tf.constant(new long[] {1});
        Operand head = tf.stridedSlice(shape, tf.constant(new long[] {0}), tf.constant(new long[] {axis}), one);
        Operand tail = tf.stridedSlice(shape, tf.constant(new long[] {axis}), tf.constant(new long[] {0}), one, StridedSlice.endMask(1L));
        Operand a = tf.reduceProd(head, tf.constant(0), org.tensorflow.op.core.ReduceProd.keepDims(true));
        Operand b = tf.reduceProd(tail, tf.constant(0), org.tensorflow.op.core.ReduceProd.keepDims(true));
        put(l.output(), tf.reshape(x, tf.concat(List.of(a, b), tf.constant(0))));
        return null;
    }

    @Override
    public Void visit(Layer.Squeeze l) {
        List<Long> axes = l.axes().stream().map(Integer::longValue).toList();
        put(l.output(), tf.squeeze(v(l.input()), Squeeze.axis(axes)));
        return null;
    }

    @Override
    public Void visit(Layer.Unsqueeze l) {
        Operand x = v(l.input());
        int outRank = -1;
        if (!x.shape().isUnknown()) {
            outRank = x.shape().numDimensions() + l.axes().size();
        }
        List<Integer> axes = new ArrayList<>();
        for (int a : l.axes()) {
            if (a < 0) {
                if (outRank < 0) {
                    throw refuse("a negative axis on a value of unknown rank");
                }
                a += outRank;
            }
            axes.add(a);
        }
        axes.sort(null);
        for (int a : axes) {
            x = tf.expandDims(x, tf.constant(a));
        }
        put(l.output(), x);
        return null;
    }

    /** {@code index} made non-negative against dimension {@code axis} of {@code x}, as an int64 tensor. */
    private Operand normalizedIndex(Operand x, int axis, Operand index) {
        Operand dim = tf.gather(tf.shape(x, TInt64.class), tf.constant((long) axis), tf.constant(0));
        Operand neg = tf.dtypes.cast(tf.math.less(index, tf.zerosLike(index)), TInt64.class);
        return tf.math.add(index, tf.math.mul(neg, dim));
    }

    @Override
    public Void visit(Layer.Select l) {
        Operand x = v(l.input());
        Operand idx = normalizedIndex(x, l.axis(), tf.constant(l.index()));
        put(l.output(), tf.gather(x, idx, tf.constant(l.axis())));
        return null;
    }

    @Override
    public Void visit(Layer.Take l) {
        Operand x = v(l.input());
        Operand idx = normalizedIndex(x, l.axis(), tf.dtypes.cast(weights.constant(tf, TfWeights.Values.of(l.indices())), TInt64.class));
        put(l.output(), tf.gather(x, idx, tf.constant(l.axis())));
        return null;
    }

    @Override
    public Void visit(Layer.Slice l) {
        Operand x = v(l.input());
        int axis = l.axis();
        // One sliced axis; the others are kept whole: "..., s:e:k, :, :" for a negative axis, ":, :, s:e:k" otherwise.
        int n;
        long ellipsis = 0;
        int at;
        if (axis < 0) {
            n = 1 - axis;
            ellipsis = 1;
            at = 1;
        } else {
            n = axis + 1;
            at = axis;
        }
        long[] begin = new long[n];
        long[] end = new long[n];
        long[] strides = new long[n];
        long whole = 0;
        for (int i = 0; i < n; i++) {
            strides[i] = 1;
            if (i != at && !(ellipsis == 1 && i == 0)) {
                whole |= 1L << i;
            }
        }
        begin[at] = l.start();
        end[at] = l.end();
        strides[at] = l.step();
        put(l.output(), tf.stridedSlice(x, tf.constant(begin), tf.constant(end), tf.constant(strides),
                StridedSlice.beginMask(whole), StridedSlice.endMask(whole), StridedSlice.ellipsisMask(ellipsis)));
        return null;
    }

    @Override
    public Void visit(Layer.Cast l) {
        Operand x = v(l.input());
        Operand y;
        switch (l.to()) {
            case FLOAT32:
                y = tf.dtypes.cast(x, TFloat32.class);
                break;
            case FLOAT16:
                y = tf.dtypes.cast(tf.dtypes.cast(x, TFloat16.class), TFloat32.class);
                break;
            case BFLOAT16:
                y = tf.dtypes.cast(tf.dtypes.cast(x, TBfloat16.class), TFloat32.class);
                break;
            case INT32:
                y = tf.dtypes.cast(x, TInt32.class);
                break;
            default:
                y = tf.dtypes.cast(x, TInt64.class);
                break;
        }
        put(l.output(), y);
        return null;
    }

    // ---- recurrent layers ----

    @Override
    public Void visit(Layer.Lstm l) {
        recurrent(l);
        return null;
    }

    /** Layer normalisation over the last axis: d = x - Mean(x), y = d * Rsqrt(Mean(d * d) + eps) * gamma + beta. */
    @Override
    public Void visit(Layer.LayerNorm l) {
        Operand x = v(l.input());
        if (!isFloat(x)) {
            throw refuse("layer '" + l.name() + "' (LayerNorm) of a non-float value");
        }
        Operand last = tf.constant(new int[] {-1});
        Operand mean = tf.math.mean(x, last, org.tensorflow.op.math.Mean.keepDims(true));
        Operand d = tf.math.sub(x, mean);
        Operand var = tf.math.mean(tf.math.mul(d, d), last, org.tensorflow.op.math.Mean.keepDims(true));
        Operand y = tf.math.mul(d, tf.math.rsqrt(tf.math.add(var, tf.constant(l.epsilon()))));
        if (l.gamma() != null) {
            y = tf.math.mul(y, weights.constant(tf, TfWeights.Values.floats(l.gamma().toFloatArray())));
        }
        if (l.beta() != null) {
            y = tf.math.add(y, weights.constant(tf, TfWeights.Values.floats(l.beta().toFloatArray())));
        }
        put(l.output(), y);
        return null;
    }

    /** NotEqual(x, value), Any over the last axis when so asked, cast to float32 1 / 0. */
    @Override
    public Void visit(Layer.StepMask l) {
        Operand x = v(l.input());
        Operand value;
        if (isFloat(x)) {
            value = tf.constant(l.value());
        } else if (x.type() == TInt32.class) {
            value = tf.constant((int) l.value());
        } else {
            value = tf.constant((long) l.value());
        }
        Operand ne = tf.math.notEqual(x, value);
        if (l.anyOverLastAxis()) {
            ne = tf.any(ne, tf.constant(-1));
        }
        put(l.output(), tf.dtypes.cast(ne, TFloat32.class));
        return null;
    }

    @Override
    public Void visit(Layer.Gru l) {
        recurrent(l);
        return null;
    }

    @Override
    public Void visit(Layer.Rnn l) {
        recurrent(l);
        return null;
    }

    /** Whether direction {@code d} of {@code l} is one BlockLSTM op. */
    static boolean blockEligible(Layer.Lstm l, int d) {
        LstmSpec s = l.spec();
        return s.activations().subList(3 * d, 3 * d + 3).equals(LstmSpec.DEFAULT_ACTIVATIONS) && s.clip() == null
                && s.projSize() == 0 && !s.inputForget() && l.sequenceLengths() == null && !l.ports().hasMask();
    }

    private void recurrent(Layer.Recurrent l) {
        Operand x = v(l.input());
        if (!isFloat(x)) {
            throw refuse("a non-float input sequence");
        }
        boolean bm = l.layout() == Layout.BATCH_MAJOR;
        Operand swap = tf.constant(new int[] {1, 0, 2});
        if (bm) {
            x = tf.linalg.transpose(x, swap);
        }
        Operand lens = l.sequenceLengths() == null ? null : tf.dtypes.cast(v(l.sequenceLengths()), TInt32.class);
        Operand h0 = l.initialH() == null ? null : v(l.initialH());
        Operand c0 = l.initialC() == null ? null : v(l.initialC());
        if (bm && h0 != null) {
            h0 = tf.linalg.transpose(h0, swap);
        }
        if (bm && c0 != null) {
            c0 = tf.linalg.transpose(c0, swap);
        }
        Operand batch = tf.gather(tf.shape(x, TInt32.class), tf.constant(1), tf.constant(0));
        Operand mask = null;
        if (l.ports().hasMask()) {
            // [T, B] float, like x
            mask = v(l.ports().mask());
            if (bm) {
                mask = tf.linalg.transpose(mask, tf.constant(new int[] {1, 0}));
            }
        }
        boolean lstm = l instanceof Layer.Lstm;
        int dirs = l.direction().count();
        List<Operand> ys = new ArrayList<>();
        List<Operand> hs = new ArrayList<>();
        List<Operand> cs = new ArrayList<>();
        for (int d = 0; d < dirs; d++) {
            Operand h = h0 == null ? zeros(batch, l.outputSize()) : tf.gather(h0, tf.constant(d), tf.constant(0));
            Operand c = !lstm ? null : c0 == null ? zeros(batch, l.hiddenSize()) : tf.gather(c0, tf.constant(d), tf.constant(0));
            boolean reverse = l.direction() == Direction.REVERSE || d == 1;
            Operand xd = reverse ? reverseTime(x, lens) : x;
            Operand[] r = lstm && blockEligible((Layer.Lstm) l, d)
                    ? blockLstm((Layer.Lstm) l, d, xd, h, c)
                    : loop(l, d, xd, h, c, lens, mask == null ? null : reverse ? tf.reverse(mask, tf.constant(new int[] {0})) : mask);
            ys.add(reverse ? reverseTime(r[0], lens) : r[0]);
            hs.add(r[1]);
            cs.add(r[2]);
        }
        Operand y = tf.stack((List) ys, Stack.axis(1L));
        Operand yh = tf.stack((List) hs);
        Operand yc = lstm ? tf.stack((List) cs) : null;
        if (lens != null) {
            // A row of length 0 runs no step: its Y_h and Y_c are zero.
            Operand some = tf.reshape(tf.dtypes.cast(tf.math.greater(lens, tf.zerosLike(lens)), TFloat32.class), tf.constant(new int[] {1, -1, 1}));
            yh = tf.math.mul(yh, some);
            yc = yc == null ? null : tf.math.mul(yc, some);
        }
        if (bm) {
            y = tf.linalg.transpose(y, tf.constant(new int[] {2, 0, 1, 3}));
            yh = tf.linalg.transpose(yh, swap);
            yc = yc == null ? null : tf.linalg.transpose(yc, swap);
        }
        put(l.outputSequence(), y);
        put(l.outputH(), yh);
        put(l.outputC(), yc);
    }

    private Operand zeros(Operand batch, int width) {
        return tf.fill(tf.stack(List.of(batch, tf.constant(width))), tf.constant(0f));
    }

    private Operand reverseTime(Operand x, Operand lens) {
        if (lens == null) {
            return tf.reverse(x, tf.constant(new int[] {0}));
        }
        return tf.reverseSequence(x, lens, 0L, ReverseSequence.batchDim(1L));
    }

    /** One BlockLSTM op for direction d: returns Y [T, B, H], last h, last c. */
    private Operand[] blockLstm(Layer.Lstm l, int d, Operand x, Operand h, Operand c) {
        LstmWeights w = l.weights().get(d);
        int hidden = l.hiddenSize();
        int g4 = 4 * hidden;
        float[] bias = new float[g4];
        float[] wb = w.wb().toFloatArray();
        float[] rb = w.rb().toFloatArray();
        for (int i = 0; i < g4; i++) {
            bias[i] = wb[i] + rb[i];
        }
        for (int i = hidden; i < 2 * hidden; i++) {
            bias[i] += l.spec().forgetBias(); // canonical block 1 is f
        }
        float[] b = GateOrder.TF_BLOCK.fromCanonical(Tensor.ofFloats(new int[] {g4}, bias), 0).toFloatArray();
        float[] p = w.peephole() == null ? new float[3 * hidden] : w.peephole().toFloatArray();
        Operand wci = weights.constant(tf, TfWeights.Values.floats(java.util.Arrays.copyOfRange(p, 0, hidden)));
        Operand wcf = weights.constant(tf, TfWeights.Values.floats(java.util.Arrays.copyOfRange(p, hidden, 2 * hidden)));
        Operand wco = weights.constant(tf, TfWeights.Values.floats(java.util.Arrays.copyOfRange(p, 2 * hidden, 3 * hidden)));
        Operand steps = tf.gather(tf.shape(x, TInt64.class), tf.constant(0), tf.constant(0));
        org.tensorflow.Operation op = tf.scope().opBuilder("BlockLSTM", "BlockLSTM")
                .addInput(steps.asOutput())
                .addInput(x.asOutput())
                .addInput(c.asOutput())
                .addInput(h.asOutput())
                // kernel [I+H, 4H] = [W; R] transposed, gate blocks i, c, f, o, made a few rows at a time
                // (the constants are made in this order, after steps', so that their names are as before)
                .addInput(weights.constant(tf, TfWeights.Values.blockKernel(w.w(), w.r(), GateOrder.TF_BLOCK)).asOutput())
                .addInput(wci.asOutput())
                .addInput(wcf.asOutput())
                .addInput(wco.asOutput())
                .addInput(weights.constant(tf, TfWeights.Values.floats(b)).asOutput())
                .setAttr("forget_bias", 0f)
                .setAttr("cell_clip", l.spec().cellClip() == null ? -1f : l.spec().cellClip())
                .setAttr("use_peephole", w.peephole() != null)
                .build();
        Output ys = op.output(6);
        Output cellStates = op.output(1);
        Operand last = tf.math.sub(steps, tf.constant(1L));
        return new Operand[] {ys, tf.gather(ys, last, tf.constant(0)), tf.gather(cellStates, last, tf.constant(0))};
    }

    /**
     * One StatelessWhile loop over time for direction d. Loop variables: t, X [T, B, I], h, (c),
     * Y [T, B, P|H], (sequence lengths), (mask [T, B] in the direction's order, the previous
     * output [B, P|H]), then the direction's weights ({@link #stepWeights}), which the body returns
     * unchanged. Returns Y, last h, last c (null for GRU and RNN).
     */
    private Operand[] loop(Layer.Recurrent l, int d, Operand x, Operand h, Operand c, Operand lens, Operand mask) {
        boolean lstm = l instanceof Layer.Lstm;
        Operand steps = tf.gather(tf.shape(x, TInt32.class), tf.constant(0), tf.constant(0));
        Operand batch = tf.gather(tf.shape(x, TInt32.class), tf.constant(1), tf.constant(0));
        Operand y0 = tf.fill(tf.stack(List.of(steps, batch, tf.constant(l.outputSize()))), tf.constant(0f));
        List<Operand<?>> init = new ArrayList<>();
        List<Class<? extends TType>> types = new ArrayList<>();
        init.add(tf.constant(0));
        types.add(TInt32.class);
        init.add(x);
        types.add(TFloat32.class);
        init.add(h);
        types.add(TFloat32.class);
        if (lstm) {
            init.add(c);
            types.add(TFloat32.class);
        }
        init.add(y0);
        types.add(TFloat32.class);
        if (lens != null) {
            init.add(lens);
            types.add(TInt32.class);
        }
        if (mask != null) {
            init.add(mask);
            types.add(TFloat32.class);
            init.add(zeros(batch, l.outputSize()));
            types.add(TFloat32.class);
        }
        int weightsAt = init.size();
        for (Operand w : stepWeights(l, d)) {
            init.add(w);
            types.add(TFloat32.class);
        }
        boolean zeroMasked = l.ports().zeroMaskedOutput();
        ConcreteFunction cond = ConcreteFunction.create(ft -> {
            List<Operand> a = args(ft, types);
            Signature.Builder s = signature(a);
            Operand t = ft.gather(ft.shape(a.get(1), TInt32.class), ft.constant(0), ft.constant(0));
            return s.output("out", ft.math.less(a.get(0), t)).build();
        });
        ConcreteFunction body = ConcreteFunction.create(ft -> {
            List<Operand> a = args(ft, types);
            Signature.Builder s = signature(a);
            int k = 0;
            Operand t = a.get(k++);
            Operand xs = a.get(k++);
            Operand hp = a.get(k++);
            Operand cp = lstm ? a.get(k++) : null;
            Operand ys = a.get(k++);
            Operand ln = lens != null ? a.get(k++) : null;
            Operand mk = mask != null ? a.get(k++) : null;
            Operand prev = mask != null ? a.get(k) : null;
            List<Operand> ws = a.subList(weightsAt, a.size());
            Operand xt = ft.gather(xs, t, ft.constant(0));
            Operand[] next = step(ft, l, d, xt, hp, cp, ws);
            Operand hn = next[0];
            Operand cn = next[1];
            Operand yt = hn;
            if (ln != null) {
                Operand m = ft.expandDims(ft.dtypes.cast(ft.math.less(t, ln), TFloat32.class), ft.constant(1));
                Operand keep = ft.math.sub(ft.constant(1f), m);
                yt = ft.math.mul(m, hn);
                hn = ft.math.add(yt, ft.math.mul(keep, hp));
                if (cn != null) {
                    cn = ft.math.add(ft.math.mul(m, cn), ft.math.mul(keep, cp));
                }
            }
            if (mk != null) {
                // Keras's rule: a masked step keeps h and c and outputs the previous output (zeros at first) or zeros
                Operand counts = ft.expandDims(ft.math.notEqual(ft.gather(mk, t, ft.constant(0)), ft.constant(0f)), ft.constant(1));
                yt = ft.select(counts, hn, zeroMasked ? ft.zerosLike(hn) : prev);
                hn = ft.select(counts, hn, hp);
                if (cn != null) {
                    cn = ft.select(counts, cn, cp);
                }
            }
            Operand yn = ft.tensorScatterNdUpdate(ys, ft.reshape(t, ft.constant(new int[] {1, 1})), ft.expandDims(yt, ft.constant(0)));
            List<Operand> outs = new ArrayList<>();
            outs.add(ft.math.add(t, ft.constant(1)));
            outs.add(ft.identity(xs));
            outs.add(hn);
            if (lstm) {
                outs.add(cn);
            }
            outs.add(yn);
            if (ln != null) {
                outs.add(ft.identity(ln));
            }
            if (mk != null) {
                outs.add(ft.identity(mk));
                outs.add(yt);
            }
            for (Operand w : ws) {
                outs.add(ft.identity(w));
            }
            for (int i = 0; i < outs.size(); i++) {
                s.output(String.format("o%03d", i), outs.get(i));
            }
            return s.build();
        });
        List<Output<?>> out = tf.statelessWhile(init, cond, body).output();
        int k = 2;
        Operand hT = out.get(k++);
        Operand cT = lstm ? out.get(k++) : null;
        Operand y = out.get(k);
        return new Operand[] {y, hT, cT};
    }

    private static List<Operand> args(Ops ft, List<Class<? extends TType>> types) {
        List<Operand> a = new ArrayList<>();
        for (Class<? extends TType> c : types) {
            a.add(ft.placeholder(c));
        }
        return a;
    }

    private static Signature.Builder signature(List<Operand> a) {
        Signature.Builder s = Signature.builder();
        for (int i = 0; i < a.size(); i++) {
            s.input(String.format("a%03d", i), a.get(i));
        }
        return s;
    }

    private static Operand clip(Ops ft, Operand x, Float clip) {
        return clip == null ? x : ft.clipByValue(x, ft.constant(-clip), ft.constant(clip));
    }

    /**
     * Direction d's weights as {@link #step} takes them, made at the top level through
     * {@link TfWeights}: LSTM W^T, R^T, Wb + Rb, then (peepholes) p_i, p_f, p_o, then (projection)
     * P^T; GRU W^T, Wb, R_rz^T, Rb_rz, R_n^T, Rb_n; RNN W^T, R^T, Wb + Rb.
     */
    private List<Operand> stepWeights(Layer.Recurrent l, int d) {
        int hidden = l.hiddenSize();
        List<TfWeights.Values> v = new ArrayList<>();
        if (l instanceof Layer.Lstm lstm) {
            LstmWeights w = lstm.weights().get(d);
            v.add(TfWeights.Values.transposed(w.w()));
            v.add(TfWeights.Values.transposed(w.r()));
            v.add(TfWeights.Values.floats(sum(w.wb(), w.rb())));
            if (w.peephole() != null) {
                float[] p = w.peephole().toFloatArray();
                for (int g = 0; g < 3; g++) {
                    v.add(TfWeights.Values.floats(java.util.Arrays.copyOfRange(p, g * hidden, (g + 1) * hidden)));
                }
            }
            if (w.projection() != null) {
                v.add(TfWeights.Values.transposed(w.projection()));
            }
        } else if (l instanceof Layer.Gru gru) {
            RecurrentWeights w = gru.weights().get(d);
            float[] rb = w.rb().toFloatArray();
            v.add(TfWeights.Values.transposed(w.w()));
            v.add(TfWeights.Values.floats(w.wb().toFloatArray()));
            v.add(TfWeights.Values.transposedRows(w.r(), 0, 2 * hidden));
            v.add(TfWeights.Values.floats(java.util.Arrays.copyOfRange(rb, 0, 2 * hidden)));
            v.add(TfWeights.Values.transposedRows(w.r(), 2 * hidden, 3 * hidden));
            v.add(TfWeights.Values.floats(java.util.Arrays.copyOfRange(rb, 2 * hidden, 3 * hidden)));
        } else {
            RecurrentWeights w = ((Layer.Rnn) l).weights().get(d);
            v.add(TfWeights.Values.transposed(w.w()));
            v.add(TfWeights.Values.transposed(w.r()));
            v.add(TfWeights.Values.floats(sum(w.wb(), w.rb())));
        }
        List<Operand> out = new ArrayList<>();
        for (TfWeights.Values x : v) {
            out.add(weights.constant(tf, x));
        }
        return out;
    }

    /**
     * One step of direction d: the new h and (LSTM) c, from x_t [B, I], h and c, with the
     * direction's weights {@code w} as {@link #stepWeights} lists them.
     */
    static Operand[] step(Ops ft, Layer.Recurrent l, int d, Operand xt, Operand h, Operand c, List<Operand> w) {
        Float clip = l.clip();
        Operand one = ft.constant(1f);
        if (l instanceof Layer.Lstm lstm) {
            LstmSpec s = lstm.spec();
            LstmWeights lw = lstm.weights().get(d);
            List<ActivationFn> acts = s.activations().subList(3 * d, 3 * d + 3);
            Operand gates = ft.math.add(ft.math.add(ft.linalg.matMul(xt, w.get(0)), ft.linalg.matMul(h, w.get(1))), w.get(2));
            List<Output> g = ft.split(ft.constant(1), gates, 4L).output();
            int k = 3;
            Operand pi = null;
            Operand pf = null;
            Operand po = null;
            if (lw.peephole() != null) {
                pi = w.get(k++);
                pf = w.get(k++);
                po = w.get(k++);
            }
            Operand gi = pi == null ? g.get(0) : ft.math.add(g.get(0), ft.math.mul(pi, c));
            Operand i = act(ft, clip(ft, gi, clip), acts.get(0));
            Operand f;
            if (s.inputForget()) {
                f = ft.math.sub(one, i);
            } else {
                Operand gf = g.get(1);
                if (s.forgetBias() != 0) {
                    gf = ft.math.add(gf, ft.constant(s.forgetBias()));
                }
                if (pf != null) {
                    gf = ft.math.add(gf, ft.math.mul(pf, c));
                }
                f = act(ft, clip(ft, gf, clip), acts.get(0));
            }
            Operand cand = act(ft, clip(ft, g.get(2), clip), acts.get(1));
            Operand cn = ft.math.add(ft.math.mul(f, c), ft.math.mul(i, cand));
            if (s.cellClip() != null) {
                cn = ft.clipByValue(cn, ft.constant(-s.cellClip()), ft.constant(s.cellClip()));
            }
            Operand go = po == null ? g.get(3) : ft.math.add(g.get(3), ft.math.mul(po, cn));
            Operand o = act(ft, clip(ft, go, clip), acts.get(0));
            Operand hn = ft.math.mul(o, act(ft, cn, acts.get(2)));
            if (lw.projection() != null) {
                hn = ft.linalg.matMul(hn, w.get(k));
            }
            return new Operand[] {hn, cn};
        }
        if (l instanceof Layer.Gru gru) {
            List<ActivationFn> acts = gru.spec().activations().subList(2 * d, 2 * d + 2);
            Operand xw = ft.math.add(ft.linalg.matMul(xt, w.get(0)), w.get(1));
            List<Output> xg = ft.split(ft.constant(1), xw, 3L).output();
            Operand hrz = ft.math.add(ft.linalg.matMul(h, w.get(2)), w.get(3));
            List<Output> hg = ft.split(ft.constant(1), hrz, 2L).output();
            Operand rg = act(ft, clip(ft, ft.math.add(xg.get(0), hg.get(0)), clip), acts.get(0));
            Operand zg = act(ft, clip(ft, ft.math.add(xg.get(1), hg.get(1)), clip), acts.get(0));
            Operand rn = w.get(4);
            Operand rbn = w.get(5);
            Operand pre;
            if (gru.spec().linearBeforeReset()) {
                pre = ft.math.add(xg.get(2), ft.math.mul(rg, ft.math.add(ft.linalg.matMul(h, rn), rbn)));
            } else {
                pre = ft.math.add(xg.get(2), ft.math.add(ft.linalg.matMul(ft.math.mul(rg, h), rn), rbn));
            }
            Operand n = act(ft, clip(ft, pre, clip), acts.get(1));
            Operand hn = ft.math.add(ft.math.mul(ft.math.sub(one, zg), n), ft.math.mul(zg, h));
            return new Operand[] {hn, null};
        }
        Layer.Rnn rnn = (Layer.Rnn) l;
        ActivationFn f = rnn.spec().activations().get(d);
        Operand pre = ft.math.add(ft.math.add(ft.linalg.matMul(xt, w.get(0)), ft.linalg.matMul(h, w.get(1))), w.get(2));
        return new Operand[] {act(ft, clip(ft, pre, clip), f), null};
    }

    private static float[] sum(Tensor a, Tensor b) {
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        float[] s = new float[x.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = x[i] + y[i];
        }
        return s;
    }
}
