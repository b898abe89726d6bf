package io.lstmx.exporters.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.ir.ShapeInference;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns an IR model into the straight-line {@code forward} of one PyTorch module, in layer order,
 * in one of two dialects: eager Python for the {@code model.py} beside a state_dict (weights held
 * by nn.LSTM / nn.GRU / nn.RNN / nn.Linear / nn.Embedding submodules, so that the state_dict keys
 * are PyTorch's), or TorchScript for a {@code torch.jit.save} archive (weights as parameters of the
 * one module, recurrent layers as calls of {@code torch.lstm}, {@code torch.gru},
 * {@code torch.rnn_tanh} / {@code torch.rnn_relu}, constants as {@code CONSTANTS.cN}).
 *
 * <p>Shapes follow the IR (ONNX semantics): a recurrent layer's Y is [T, D, B, H] time-major or
 * [B, T, D, H] batch-major and its states [D, B, H] or [B, D, H], so the generated code reshapes
 * and transposes what PyTorch's [T, B, D*H] / [D, B, H] give. A reverse-only layer runs forward on
 * the input flipped in time, and its Y is flipped back.
 *
 * <p>What neither dialect can express is refused with UNSUPPORTED naming the layer and the
 * feature. An LSTM with peepholes, a gate or cell clip, other activations or coupled gates is
 * beyond nn.LSTM: TorchScript writes it as an explicit loop over time steps instead (see
 * {@link #loopLstm}), the state_dict writer refuses it pointing to TorchScript. A forget bias is
 * folded into bias_ih's forget block in both dialects, as the ONNX exporter folds it.
 */
final class TorchCode {
    enum Dialect { PYTHON, TORCHSCRIPT }

    /** A weight: its state_dict key (Python) or parameter attribute (TorchScript), and its value. */
    record Param(String key, Tensor value) {
    }

    /** A submodule of the Python module: attribute name and constructor expression. */
    record Submodule(String attr, String constructor) {
    }

    final Dialect dialect;
    final String format;
    final Model model;
    final List<Param> params = new ArrayList<>();
    /** Python: buffers (key, value); TorchScript: CONSTANTS.cN in order. */
    final List<Param> constants = new ArrayList<>();
    final List<Submodule> submodules = new ArrayList<>();
    final List<String> parameterNames = new ArrayList<>();
    final List<String> body = new ArrayList<>();
    final List<String> returned = new ArrayList<>();
    private final Map<String, String> vars = new HashMap<>();
    private final Set<String> taken = new HashSet<>();
    private final Map<String, ValueInfo> infos;
    private int temp;
    /** Stacks of recurrent layers written as one multi-layer call, by the index of their last layer (see {@link #findStacks}). */
    private final Map<Integer, List<Layer.Recurrent>> stackAt = new HashMap<>();
    /** Indices of the layers a stack's call stands for, other than its last (the earlier layers and what joins them). */
    private final Set<Integer> skipped = new HashSet<>();
    /** Per stack (by its last layer's index): layers between its first and last that read what it produces, emitted after its call. */
    private final Map<Integer, List<Integer>> deferred = new HashMap<>();

    private static final Set<String> RESERVED = Set.of("False", "None", "True", "and", "as", "assert", "async", "await",
            "break", "class", "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if",
            "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with",
            "yield", "self", "torch", "nn", "CONSTANTS", "Tensor", "Tuple", "List", "Optional", "Module", "training",
            "print", "range", "len", "int", "float", "bool", "list", "tuple", "str", "ops", "math", "annotate", "super",
            "isinstance", "OrderedDict", "__torch__", "_is_full_backward_hook", "forward", "train", "eval", "to", "cpu",
            "cuda", "state_dict", "load_state_dict", "parameters", "buffers", "modules", "children", "apply", "double",
            "half", "type", "zero_grad", "register_buffer", "register_parameter", "add_module", "named_parameters",
            "named_buffers", "named_modules", "named_children", "requires_grad_", "extra_repr", "share_memory", "dump_patches",
            "get_submodule", "get_parameter", "get_buffer", "bfloat16", "ipu", "xpu");

    private TorchCode(Dialect dialect, Model model) {
        this.dialect = dialect;
        this.format = dialect == Dialect.PYTHON ? "pytorch-state-dict" : "torchscript";
        this.model = model;
        this.infos = ShapeInference.infer(model);
    }

    /** Generates the module for {@code model}, or throws UNSUPPORTED naming the first layer that cannot be expressed. */
    static TorchCode generate(Model model, Dialect dialect) {
        TorchCode c = new TorchCode(dialect, model);
        for (ValueInfo in : model.inputs()) {
            String p = c.fresh(identifier(in.name()));
            c.vars.put(in.name(), p);
            c.parameterNames.add(p);
        }
        c.findStacks();
        Emit emit = c.new Emit();
        List<Layer> layers = model.layers();
        for (int i = 0; i < layers.size(); i++) {
            if (c.skipped.contains(i)) {
                continue;
            }
            List<Layer.Recurrent> stack = c.stackAt.get(i);
            if (stack != null) {
                emit.stack(stack);
                for (int k : c.deferred.getOrDefault(i, List.of())) {
                    layers.get(k).accept(emit);
                }
            } else {
                layers.get(i).accept(emit);
            }
        }
        for (String out : model.outputNames()) {
            c.returned.add(c.v(out));
        }
        return c;
    }

    /** A Python identifier made from {@code name}: other characters become '_', a leading digit gets a '_'. */
    static String identifier(String name) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < name.length() && b.length() < 60; i++) {
            char ch = name.charAt(i);
            b.append(ch < 128 && (Character.isLetterOrDigit(ch) || ch == '_') ? ch : '_');
        }
        if (b.length() == 0 || Character.isDigit(b.charAt(0))) {
            b.insert(0, '_');
        }
        String s = b.toString();
        return RESERVED.contains(s) || s.startsWith("__") ? s + "_" : s;
    }

    private String fresh(String base) {
        String s = base;
        for (int k = 2; !taken.add(s); k++) {
            s = base + "_" + k;
        }
        return s;
    }

    private String v(String value) {
        String s = vars.get(value);
        if (s == null) {
            throw LstmxException.internal("value '" + value + "' has no variable");
        }
        return s;
    }

    private String define(String value) {
        String s = fresh("v_" + identifier(value));
        vars.put(value, s);
        return s;
    }

    private String tmp() {
        return fresh("t" + temp++);
    }

    private void line(String s) {
        body.add(s);
    }

    private int rank(String value, Layer l) {
        ValueInfo vi = infos.get(value);
        if (vi == null || !vi.shape().rankKnown()) {
            throw refuse(l, "its input '" + value + "' has an unknown rank, which the generated code needs");
        }
        return vi.shape().rank();
    }

    private DType dtype(String value) {
        ValueInfo vi = infos.get(value);
        return vi == null ? DType.FLOAT32 : vi.dtype();
    }

    LstmxException refuse(Layer l, String what) {
        return LstmxException.unsupported("layer '" + l.name() + "' (" + l.kind() + "): " + what + " cannot be written as "
                + format);
    }

    /** A float literal that reads back as exactly {@code f} (Python floats are doubles; every float is one). */
    static String lit(float f) {
        if (!Float.isFinite(f)) {
            throw LstmxException.unsupported("the constant " + f + " cannot be written in PyTorch code");
        }
        return Double.toString(f).toLowerCase(java.util.Locale.ROOT);
    }

    private String dtypeName(DType t, Layer l) {
        return switch (t) {
            case FLOAT32 -> dialect == Dialect.PYTHON ? "torch.float32" : "6";
            case INT32 -> dialect == Dialect.PYTHON ? "torch.int32" : "3";
            case INT64 -> dialect == Dialect.PYTHON ? "torch.int64" : "4";
            default -> throw refuse(l, "a cast to " + t);
        };
    }

    /** Registers a weight of a submodule; returns the expression that reads it in forward (TorchScript). */
    private String param(String module, String name, Tensor t) {
        if (dialect == Dialect.PYTHON) {
            params.add(new Param(module + "." + name, t));
            return "self." + module + "." + name;
        }
        String attr = fresh(module + "_" + name);
        params.add(new Param(attr, t));
        return "self." + attr;
    }

    private String constant(String base, Tensor t) {
        if (dialect == Dialect.PYTHON) {
            String attr = fresh(base);
            constants.add(new Param(attr, t));
            return "self." + attr;
        }
        constants.add(new Param("c" + constants.size(), t));
        return "CONSTANTS.c" + (constants.size() - 1);
    }

    private static String ints(List<? extends Number> l) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < l.size(); i++) {
            b.append(i == 0 ? "" : ", ").append(l.get(i).longValue());
        }
        return b.append("]").toString();
    }

    /** Whether an activation list per direction is {@code expected} for every direction. */
    private static boolean activationsAre(List<ActivationFn> acts, int directions, List<ActivationFn> expected) {
        for (int d = 0; d < directions; d++) {
            if (!acts.subList(d * expected.size(), (d + 1) * expected.size()).equals(expected)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Why an LSTM is beyond nn.LSTM / torch.lstm, or null when it is not: the features TorchScript
     * writes as a loop over time steps ({@link #loopLstm}) and a state_dict refuses. A forget bias
     * is none of them: it is folded into bias_ih (see {@link LstmWeights#withForgetBias}). Sequence lengths
     * are not covered here (neither dialect writes them).
     */
    static String lstmObstacle(Layer.Lstm l) {
        LstmSpec s = l.spec();
        if (l.ports().hasMask()) {
            return maskObstacle(l);
        }
        for (LstmWeights w : l.weights()) {
            if (w.peephole() != null) {
                return "peephole weights";
            }
        }
        if (s.clip() != null) {
            return "a gate clip (" + s.clip() + ")";
        }
        if (s.cellClip() != null) {
            return "a cell clip (" + s.cellClip() + ")";
        }
        if (s.inputForget()) {
            return "coupled input and forget gates (input_forget)";
        }
        if (!s.hasDefaultActivations()) {
            return "activations " + s.activations() + " (nn.LSTM has sigmoid, tanh, tanh only)";
        }
        return null;
    }

    /** A per-step mask, which torch's recurrent operators know nothing of. */
    static String maskObstacle(Layer.Recurrent l) {
        return "a per-step mask ('" + l.ports().mask() + "': a masked step keeps the state and "
                + (l.ports().zeroMaskedOutput() ? "outputs zeros" : "repeats the previous output") + ")";
    }

    /**
     * The torch operator that computes {@code l} as it is (torch.lstm, gru, rnn_tanh, rnn_relu), or
     * null when it needs more (a loop, or a refusal): only such layers are stacked.
     */
    static String torchOp(Layer.Recurrent l) {
        if (l.sequenceLengths() != null || l.clip() != null || l.ports().hasMask()) {
            return null;
        }
        int d = l.direction().count();
        if (l instanceof Layer.Lstm lstm) {
            return lstmObstacle(lstm) == null ? "lstm" : null;
        }
        if (l instanceof Layer.Gru gru) {
            return gru.spec().linearBeforeReset() && activationsAre(l.activations(), d, List.of(ActivationFn.SIGMOID, ActivationFn.TANH)) ? "gru" : null;
        }
        if (activationsAre(l.activations(), d, List.of(ActivationFn.TANH))) {
            return "rnn_tanh";
        }
        return activationsAre(l.activations(), d, List.of(ActivationFn.RELU)) ? "rnn_relu" : null;
    }

    /** The module name of a call: a stack of layers named {@code X.l0, X.l1, ...} (as the PyTorch importer names them) is X. */
    static String stackName(List<? extends Layer.Recurrent> group) {
        String first = group.get(0).name();
        if (group.size() > 1 && first.endsWith(".l0")) {
            String base = first.substring(0, first.length() - 3);
            boolean all = true;
            for (int k = 0; k < group.size(); k++) {
                all &= group.get(k).name().equals(base + ".l" + k);
            }
            if (all && !base.isEmpty()) {
                return base;
            }
        }
        return first;
    }

    /**
     * Finds stacks: consecutive recurrent layers that are one multi-layer nn.LSTM / GRU / RNN, as
     * the PyTorch and ONNX importers write a num_layers > 1 module. Layer k+1 reads layer k's Y
     * through exactly PyTorch's output arrangement ([T, B, D*H] time-major, [B, T, D*H]
     * batch-major): a Squeeze of the direction axis (one direction), a Reshape to
     * [0, 0, -1 | D*H] (batch-major), or a Transpose (0, 2, 1, 3) then that Reshape (time-major);
     * both layers are of the same kind and torch operator, direction, layout, hidden and output size.
     * Safety: Y and the values between are read by nothing else and are no model output; no
     * initial state of the stack is produced by it, nor by a layer reading what it produces. The
     * call is emitted where the last layer stood (every input of the stack is defined by then),
     * the layers between that read what the stack produces right after it (see {@link #deferrable});
     * anything else is left as single layers, which compute the same.
     */
    private void findStacks() {
        List<Layer> layers = model.layers();
        Map<String, List<Integer>> readers = new HashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            for (String in : layers.get(i).inputs()) {
                if (in != null) {
                    readers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
                }
            }
        }
        Set<String> outputs = new HashSet<>(model.outputNames());
        Set<Integer> used = new HashSet<>();
        for (int i = 0; i < layers.size(); i++) {
            if (used.contains(i) || !(layers.get(i) instanceof Layer.Recurrent first) || torchOp(first) == null) {
                continue;
            }
            List<Integer> members = new ArrayList<>(List.of(i));
            List<List<Integer>> joins = new ArrayList<>();
            Layer.Recurrent cur = first;
            while (true) {
                List<Integer> join = join(cur, readers, outputs);
                if (join == null) {
                    break;
                }
                int next = join.remove(join.size() - 1);
                Layer.Recurrent nl = (Layer.Recurrent) layers.get(next);
                if (used.contains(next) || members.contains(next) || !sameStack(first, nl) || next < members.get(members.size() - 1)) {
                    break;
                }
                members.add(next);
                joins.add(join);
                cur = nl;
            }
            List<Integer> after = members.size() > 1 ? deferrable(members, joins, layers, used) : null;
            while (members.size() > 1 && after == null) {
                members.remove(members.size() - 1);
                joins.remove(joins.size() - 1);
                after = members.size() > 1 ? deferrable(members, joins, layers, used) : null;
            }
            if (members.size() < 2) {
                continue;
            }
            List<Layer.Recurrent> group = new ArrayList<>();
            for (int m : members) {
                group.add((Layer.Recurrent) layers.get(m));
            }
            used.addAll(members);
            joins.forEach(used::addAll);
            used.addAll(after);
            int last = members.get(members.size() - 1);
            stackAt.put(last, group);
            for (int m : members) {
                if (m != last) {
                    skipped.add(m);
                }
            }
            joins.forEach(skipped::addAll);
            skipped.addAll(after);
            deferred.put(last, after);
        }
    }

    /** Whether {@code b} can be the next layer of the stack whose first layer is {@code a}. */
    private static boolean sameStack(Layer.Recurrent a, Layer.Recurrent b) {
        String op = torchOp(a);
        return op != null && op.equals(torchOp(b)) && a.getClass() == b.getClass() && a.direction() == b.direction()
                && a.layout() == b.layout() && a.hiddenSize() == b.hiddenSize() && a.outputSize() == b.outputSize()
                && b.inputSize() == a.direction().count() * a.outputSize()
                && (!(a instanceof Layer.Lstm la) || la.spec().projSize() == ((Layer.Lstm) b).spec().projSize());
    }

    /**
     * The layers joining {@code l}'s Y to the next layer's input as PyTorch's output arrangement,
     * then that next layer's index last; null when there are none such.
     */
    private List<Integer> join(Layer.Recurrent l, Map<String, List<Integer>> readers, Set<String> outputs) {
        List<Layer> layers = model.layers();
        boolean bm = l.layout() == Layout.BATCH_MAJOR;
        int d = l.direction().count();
        List<Integer> path = new ArrayList<>();
        String value = l.outputSequence();
        Integer step = onlyReader(value, readers, outputs);
        if (step == null) {
            return null;
        }
        Layer first = layers.get(step);
        if (first instanceof Layer.Squeeze sq && d == 1 && sq.axes().size() == 1
                && Math.floorMod(sq.axes().get(0), 4) == (bm ? 2 : 1)) {
            path.add(step);
            value = sq.output();
        } else {
            if (!bm) {
                if (!(first instanceof Layer.Transpose t && t.perm().equals(List.of(0, 2, 1, 3)))) {
                    return null;
                }
                path.add(step);
                value = t.output();
                step = onlyReader(value, readers, outputs);
                if (step == null) {
                    return null;
                }
            }
            if (!(layers.get(step) instanceof Layer.Reshape r) || r.shape().size() != 3 || r.shape().get(0) != 0 || r.shape().get(1) != 0
                    || !(r.shape().get(2) == -1 || r.shape().get(2) == (long) d * l.outputSize())) {
                return null;
            }
            path.add(step);
            value = r.output();
        }
        step = onlyReader(value, readers, outputs);
        if (step == null || !(layers.get(step) instanceof Layer.Recurrent next) || !value.equals(next.input())
                || next.inputs().stream().filter(value::equals).count() != 1) {
            return null;
        }
        path.add(step);
        return path;
    }

    /** The one layer reading {@code value}, if it has exactly one reader and is no model output. */
    private static Integer onlyReader(String value, Map<String, List<Integer>> readers, Set<String> outputs) {
        List<Integer> r = value == null ? null : readers.get(value);
        if (r == null || r.size() != 1 || outputs.contains(value)) {
            return null;
        }
        return r.get(0);
    }

    /**
     * See {@link #findStacks}: the layers between the stack's first and last layer that read what
     * the stack produces (directly or through each other), which are then emitted after the call;
     * null when the stack cannot be one call (one of its layers reads what such a layer produces,
     * or an initial state is produced by the stack, or such a layer belongs to another stack).
     */
    private static List<Integer> deferrable(List<Integer> members, List<List<Integer>> joins, List<Layer> layers, Set<Integer> used) {
        Set<Integer> inside = new HashSet<>(members);
        joins.forEach(inside::addAll);
        Set<String> produced = new HashSet<>();
        for (int m : inside) {
            produced.addAll(layers.get(m).outputs());
        }
        int first = members.get(0);
        int last = members.get(members.size() - 1);
        for (int m : inside) {
            if (m < first || m > last) {
                return null;
            }
        }
        for (int m : members) {
            Layer.Recurrent r = (Layer.Recurrent) layers.get(m);
            if (produced.contains(r.initialH()) || produced.contains(r.initialC())) {
                return null;
            }
        }
        Set<String> tainted = new HashSet<>(produced);
        Set<String> late = new HashSet<>();
        List<Integer> after = new ArrayList<>();
        for (int i = first + 1; i < last; i++) {
            if (!inside.contains(i) && layers.get(i).inputs().stream().anyMatch(tainted::contains)) {
                if (used.contains(i)) {
                    return null; // part of another stack: left alone
                }
                after.add(i);
                tainted.addAll(layers.get(i).outputs());
                late.addAll(layers.get(i).outputs());
            }
        }
        for (int m : inside) {
            if (layers.get(m).inputs().stream().anyMatch(late::contains)) {
                return null;
            }
        }
        return after;
    }

    private final class Emit implements Layer.Visitor<Void> {
        @Override
        public Void visit(Layer.Constant l) {
            String e = constant(identifier("const_" + l.name()), l.value());
            line(define(l.output()) + " = " + e);
            return null;
        }

        @Override
        public Void visit(Layer.Lstm l) {
            if (l.sequenceLengths() != null) {
                throw refuse(l, "a sequence lengths input");
            }
            String obstacle = lstmObstacle(l);
            if (obstacle != null) {
                if (dialect == Dialect.TORCHSCRIPT) {
                    loopLstm(l);
                    return null;
                }
                throw LstmxException.unsupported("layer '" + l.name() + "' (" + l.kind() + "): " + obstacle + " cannot be written as "
                        + format + ", as nn.LSTM cannot express it (--to torchscript writes this LSTM as a loop over time steps)");
            }
            recurrent(List.of(l), "LSTM", "lstm", l.spec().projSize());
            return null;
        }

        @Override
        public Void visit(Layer.Gru l) {
            if (l.sequenceLengths() != null) {
                throw refuse(l, "a sequence lengths input");
            }
            String obstacle = l.ports().hasMask() ? maskObstacle(l) : l.clip() != null ? "a gate clip (" + l.clip() + ")"
                    : !l.spec().linearBeforeReset() ? "linear_before_reset=0 (nn.GRU applies the reset gate after the recurrent product,"
                    + " linear_before_reset=1)"
                    : !activationsAre(l.activations(), l.direction().count(), List.of(ActivationFn.SIGMOID, ActivationFn.TANH))
                    ? "activations " + l.activations() + " (nn.GRU has sigmoid, tanh only)" : null;
            if (obstacle != null) {
                loopOrRefuse(l, obstacle);
                return null;
            }
            recurrent(List.of(l), "GRU", "gru", 0);
            return null;
        }

        @Override
        public Void visit(Layer.Rnn l) {
            if (l.sequenceLengths() != null) {
                throw refuse(l, "a sequence lengths input");
            }
            String mode = activationsAre(l.activations(), l.direction().count(), List.of(ActivationFn.TANH)) ? "tanh"
                    : activationsAre(l.activations(), l.direction().count(), List.of(ActivationFn.RELU)) ? "relu" : null;
            String obstacle = l.ports().hasMask() ? maskObstacle(l) : l.clip() != null ? "a gate clip (" + l.clip() + ")"
                    : mode == null ? "activations " + l.activations() + " (nn.RNN has tanh or relu, the same in both directions)" : null;
            if (obstacle != null) {
                loopOrRefuse(l, obstacle);
                return null;
            }
            recurrent(List.of(l), "RNN", "rnn_" + mode, 0);
            return null;
        }

        /** TorchScript writes a GRU or RNN beyond torch.gru / rnn_* as a loop over time steps; a state_dict refuses it. */
        private void loopOrRefuse(Layer.Recurrent l, String obstacle) {
            if (dialect != Dialect.TORCHSCRIPT) {
                throw LstmxException.unsupported("layer '" + l.name() + "' (" + l.kind() + "): " + obstacle + " cannot be written as "
                        + format + ", as nn." + l.kind() + " cannot express it (--to torchscript writes this " + l.kind()
                        + " as a loop over time steps)");
            }
            loopGruRnn(l);
        }

        /** A stack found by {@link #findStacks}: one multi-layer torch.lstm / gru / rnn_* call (one nn.LSTM / GRU / RNN module). */
        void stack(List<Layer.Recurrent> group) {
            Layer.Recurrent l = group.get(0);
            String op = torchOp(l);
            if (l instanceof Layer.Lstm lstm) {
                recurrent(group, "LSTM", op, lstm.spec().projSize());
            } else if (l instanceof Layer.Gru) {
                recurrent(group, "GRU", op, 0);
            } else {
                recurrent(group, "RNN", op, 0);
            }
        }

        /**
         * One call of torch.lstm / gru / rnn_* (TorchScript) or one nn.LSTM / GRU / RNN module
         * (Python) for {@code group}: one layer, or a stack of layers each reading the previous one's
         * sequence ({@link #findStacks}), the call's num_layers. Weights are PyTorch's per layer k
         * ({@code weight_ih_lk}, ... {@code _reverse}); the initial states of the layers are joined
         * along axis 0 (zeros for a layer without), and the call's h_n / c_n split back per layer.
         */
        private void recurrent(List<? extends Layer.Recurrent> group, String cls, String op, int proj) {
            Layer.Recurrent l = group.get(0);
            Layer.Recurrent lastLayer = group.get(group.size() - 1);
            int n = group.size();
            boolean bm = l.layout() == Layout.BATCH_MAJOR;
            boolean reverse = l.direction() == Direction.REVERSE;
            boolean bidi = l.direction() == Direction.BIDIRECTIONAL;
            int d = l.direction().count();
            int h = l.hiddenSize();
            int out = l.outputSize();
            int timeAxis = bm ? 1 : 0;
            String mod = fresh(identifier(stackName(group)));
            List<String> weights = new ArrayList<>();
            for (int layer = 0; layer < n; layer++) {
                Layer.Recurrent lk = group.get(layer);
                for (int k = 0; k < d; k++) {
                    String sfx = "_l" + layer + (k == 1 ? "_reverse" : "");
                    Object w = lk.weights().get(k);
                    Tensor wi, wh, bi, bh, hr = null;
                    if (w instanceof LstmWeights lw) {
                        wi = lw.w();
                        wh = lw.r();
                        bi = LstmWeights.withForgetBias(lw.wb(), h, ((Layer.Lstm) lk).spec().forgetBias());
                        bh = lw.rb();
                        hr = lw.projection();
                    } else {
                        RecurrentWeights rw = (RecurrentWeights) w;
                        wi = rw.w();
                        wh = rw.r();
                        bi = rw.wb();
                        bh = rw.rb();
                    }
                    weights.add(param(mod, "weight_ih" + sfx, wi));
                    weights.add(param(mod, "weight_hh" + sfx, wh));
                    weights.add(param(mod, "bias_ih" + sfx, bi));
                    weights.add(param(mod, "bias_hh" + sfx, bh));
                    if (hr != null) {
                        weights.add(param(mod, "weight_hr" + sfx, hr));
                    }
                }
            }
            if (dialect == Dialect.PYTHON) {
                String ctor = "nn." + cls + "(" + l.inputSize() + ", " + h + ", num_layers=" + n + ", bias=True, batch_first=" + (bm ? "True" : "False")
                        + ", bidirectional=" + (bidi ? "True" : "False")
                        + (cls.equals("RNN") ? ", nonlinearity='" + op.substring(4) + "'" : "")
                        + (proj > 0 ? ", proj_size=" + proj : "") + ")";
                submodules.add(new Submodule(mod, ctor));
            }
            String x = v(l.input());
            if (reverse) {
                // a stack of reverse layers is the forward stack on the input flipped in time, its output flipped back
                String f = tmp();
                line(f + " = torch.flip(" + x + ", [" + timeAxis + "])");
                x = f;
            }
            String batch = x + ".size(" + (bm ? 0 : 1) + ")";
            List<String> h0s = new ArrayList<>();
            List<String> c0s = new ArrayList<>();
            for (Layer.Recurrent lk : group) {
                h0s.add(lk.initialH());
                c0s.add(lk.initialC());
            }
            String h0 = state(h0s, d, batch, out, x, bm);
            String c0 = cls.equals("LSTM") ? state(c0s, d, batch, h, x, bm) : null;
            String y = tmp();
            String hn = tmp();
            String cn = c0 != null ? tmp() : null;
            if (dialect == Dialect.PYTHON) {
                line(y + ", " + (c0 != null ? "(" + hn + ", " + cn + ")" : hn) + " = self." + mod + "(" + x + ", "
                        + (c0 != null ? "(" + h0 + ", " + c0 + ")" : h0) + ")");
            } else {
                line(y + ", " + hn + (c0 != null ? ", " + cn : "") + " = torch." + op + "(" + x + ", "
                        + (c0 != null ? "[" + h0 + ", " + c0 + "]" : h0) + ", [" + String.join(", ", weights) + "], True, " + n + ", 0., False, "
                        + (bidi ? "True" : "False") + ", " + (bm ? "True" : "False") + ")");
            }
            if (lastLayer.outputSequence() != null) {
                String ys = y;
                if (reverse) {
                    ys = "torch.flip(" + y + ", [" + timeAxis + "])";
                }
                String r = ys + ".reshape([" + y + ".size(0), " + y + ".size(1), " + d + ", " + out + "])";
                line(define(lastLayer.outputSequence()) + " = " + (bm ? r : r + ".transpose(1, 2)"));
            }
            for (int layer = 0; layer < n; layer++) {
                Layer.Recurrent lk = group.get(layer);
                if (lk.outputH() != null) {
                    line(define(lk.outputH()) + " = " + lastState(hn, layer, n, d, bm));
                }
                if (lk instanceof Layer.Lstm lstm && lstm.outputC() != null) {
                    line(define(lstm.outputC()) + " = " + lastState(cn, layer, n, d, bm));
                }
            }
        }

        /** Layer {@code layer}'s part of a call's h_n / c_n [n D, B, W], as the IR has it: [D, B, W], or [B, D, W] batch-major. */
        private String lastState(String all, int layer, int n, int d, boolean bm) {
            String s = n == 1 ? all : "torch.narrow(" + all + ", 0, " + layer * d + ", " + d + ")";
            return bm ? s + ".transpose(0, 1)" : s;
        }

        /**
         * The initial state as PyTorch wants it, [n D, B, width]: the layers' states joined along
         * axis 0 (zeros for a layer without), or zeros when no layer has one.
         */
        private String state(List<String> values, int d, String batch, int width, String x, boolean bm) {
            if (values.size() == 1 || values.stream().allMatch(java.util.Objects::isNull)) {
                return state(values.get(0), d * values.size(), batch, width, x, bm);
            }
            List<String> parts = new ArrayList<>();
            for (String value : values) {
                parts.add(value == null ? "torch.zeros([" + d + ", " + batch + ", " + width + "], dtype=" + x + ".dtype)"
                        : bm ? v(value) + ".transpose(0, 1)" : v(value));
            }
            String s = tmp();
            line(s + " = torch.cat([" + String.join(", ", parts) + "], 0)");
            return s;
        }

        /** The initial state as PyTorch wants it, [D, B, width], or zeros. */
        private String state(String value, int d, String batch, int width, String x, boolean bm) {
            String s = tmp();
            if (value == null) {
                line(s + " = torch.zeros([" + d + ", " + batch + ", " + width + "], dtype=" + x + ".dtype)");
            } else {
                line(s + " = " + v(value) + (bm ? ".transpose(0, 1).contiguous()" : ".contiguous()"));
            }
            return s;
        }

        @Override
        public Void visit(Layer.Dense l) {
            String mod = fresh(identifier(l.name()));
            String w = param(mod, "weight", l.weight());
            String b = l.bias() == null ? null : param(mod, "bias", l.bias());
            String x = v(l.input());
            if (dialect == Dialect.PYTHON) {
                submodules.add(new Submodule(mod, "nn.Linear(" + l.weight().dim(1) + ", " + l.weight().dim(0) + ", bias="
                        + (b != null ? "True" : "False") + ")"));
                line(define(l.output()) + " = self." + mod + "(" + x + ")");
            } else {
                line(define(l.output()) + " = torch.linear(" + x + ", " + w + (b != null ? ", " + b : "") + ")");
            }
            return null;
        }

        @Override
        public Void visit(Layer.Embedding l) {
            String mod = fresh(identifier(l.name()));
            String w = param(mod, "weight", l.table());
            String i = tmp();
            String x = v(l.input());
            line(i + " = " + x + ".to(" + dtypeName(DType.INT64, l) + ")");
            line(i + " = torch.where(" + i + " < 0, " + i + " + " + l.table().dim(0) + ", " + i + ")");
            if (dialect == Dialect.PYTHON) {
                submodules.add(new Submodule(mod, "nn.Embedding(" + l.table().dim(0) + ", " + l.table().dim(1) + ")"));
                line(define(l.output()) + " = self." + mod + "(" + i + ")");
            } else {
                line(define(l.output()) + " = torch.embedding(" + w + ", " + i + ")");
            }
            return null;
        }

        @Override
        public Void visit(Layer.Activation l) {
            line(define(l.output()) + " = " + activation(l.fn(), v(l.input()), l));
            return null;
        }

        @Override
        public Void visit(Layer.Softmax l) {
            line(define(l.output()) + " = torch." + (l.log() ? "log_softmax" : "softmax") + "(" + v(l.input()) + ", " + l.axis() + ")");
            return null;
        }

        @Override
        public Void visit(Layer.Dropout l) {
            line(define(l.output()) + " = " + v(l.input()));
            return null;
        }

        @Override
        public Void visit(Layer.Identity l) {
            line(define(l.output()) + " = " + v(l.input()));
            return null;
        }

        @Override
        public Void visit(Layer.Binary l) {
            String a = v(l.a());
            String b = v(l.b());
            boolean ints = !dtype(l.a()).isFloating();
            String e = switch (l.op()) {
                case ADD -> "torch.add(" + a + ", " + b + ")";
                case SUB -> "torch.sub(" + a + ", " + b + ")";
                case MUL -> "torch.mul(" + a + ", " + b + ")";
                case DIV -> ints ? "torch.div(" + a + ", " + b + ", rounding_mode='trunc')" : "torch.div(" + a + ", " + b + ")";
            };
            line(define(l.output()) + " = " + e);
            return null;
        }

        @Override
        public Void visit(Layer.MatMul l) {
            line(define(l.output()) + " = torch.matmul(" + v(l.a()) + ", " + v(l.b()) + ")");
            return null;
        }

        @Override
        public Void visit(Layer.Concat l) {
            List<String> xs = new ArrayList<>();
            for (String in : l.inputs()) {
                xs.add(v(in));
            }
            line(define(l.output()) + " = torch.cat([" + String.join(", ", xs) + "], " + l.axis() + ")");
            return null;
        }

        @Override
        public Void visit(Layer.Transpose l) {
            List<Integer> perm = l.perm();
            if (perm.isEmpty()) {
                int r = rank(l.input(), l);
                perm = new ArrayList<>();
                for (int i = r - 1; i >= 0; i--) {
                    perm.add(i);
                }
            }
            line(define(l.output()) + " = " + v(l.input()) + ".permute(" + ints(perm) + ")");
            return null;
        }

        @Override
        public Void visit(Layer.Reshape l) {
            String x = v(l.input());
            List<String> dims = new ArrayList<>();
            for (int i = 0; i < l.shape().size(); i++) {
                long s = l.shape().get(i);
                dims.add(s == 0 ? x + ".size(" + i + ")" : Long.toString(s));
            }
            line(define(l.output()) + " = " + x + ".reshape([" + String.join(", ", dims) + "])");
            return null;
        }

        @Override
        public Void visit(Layer.Flatten l) {
            int r = rank(l.input(), l);
            int a = l.axis() < 0 ? l.axis() + r : l.axis();
            String x = v(l.input());
            String e;
            if (a == 0) {
                e = x + ".reshape([1, -1])";
            } else if (a == r) {
                e = "torch.flatten(" + x + ", 0, " + (r - 1) + ").unsqueeze(1)";
            } else {
                e = "torch.flatten(torch.flatten(" + x + ", " + a + "), 0, " + (a - 1) + ")";
            }
            line(define(l.output()) + " = " + e);
            return null;
        }

        @Override
        public Void visit(Layer.Squeeze l) {
            int r = rank(l.input(), l);
            List<Integer> axes = new ArrayList<>();
            for (int a : l.axes()) {
                axes.add(a < 0 ? a + r : a);
            }
            axes.sort(java.util.Comparator.reverseOrder());
            String e = v(l.input());
            for (int a : axes) {
                e = "torch.squeeze(" + e + ", " + a + ")";
            }
            line(define(l.output()) + " = " + e);
            return null;
        }

        @Override
        public Void visit(Layer.Unsqueeze l) {
            int r = rank(l.input(), l) + l.axes().size();
            List<Integer> axes = new ArrayList<>();
            for (int a : l.axes()) {
                axes.add(a < 0 ? a + r : a);
            }
            axes.sort(null);
            String e = v(l.input());
            for (int a : axes) {
                e = "torch.unsqueeze(" + e + ", " + a + ")";
            }
            line(define(l.output()) + " = " + e);
            return null;
        }

        @Override
        public Void visit(Layer.Select l) {
            line(define(l.output()) + " = torch.select(" + v(l.input()) + ", " + l.axis() + ", " + l.index() + ")");
            return null;
        }

        @Override
        public Void visit(Layer.Take l) {
            int r = rank(l.input(), l);
            int a = l.axis() < 0 ? l.axis() + r : l.axis();
            String x = v(l.input());
            Tensor idx = l.indices();
            if (idx.rank() == 0) {
                line(define(l.output()) + " = torch.select(" + x + ", " + a + ", " + idx.getLong(0) + ")");
                return null;
            }
            long[] vals = idx.toLongArray();
            boolean negative = false;
            for (long q : vals) {
                negative |= q < 0;
            }
            String c = constant(identifier("indices_" + l.name()), Tensor.ofLongs(new int[] {vals.length}, vals));
            String i = tmp();
            line(i + " = " + c);
            if (negative) {
                line(i + " = torch.where(" + i + " < 0, " + i + " + " + x + ".size(" + a + "), " + i + ")");
            }
            List<String> dims = new ArrayList<>();
            for (int k = 0; k < a; k++) {
                dims.add(x + ".size(" + k + ")");
            }
            for (int s : idx.shape()) {
                dims.add(Integer.toString(s));
            }
            for (int k = a + 1; k < r; k++) {
                dims.add(x + ".size(" + k + ")");
            }
            line(define(l.output()) + " = torch.index_select(" + x + ", " + a + ", " + i + ").reshape([" + String.join(", ", dims) + "])");
            return null;
        }

        @Override
        public Void visit(Layer.Slice l) {
            if (l.step() == -1 && l.start() == -1 && l.end() <= Long.MIN_VALUE / 2) {
                // the whole axis backwards (Keras's go_backwards, a reverse direction's flip)
                int r = rank(l.input(), l);
                line(define(l.output()) + " = torch.flip(" + v(l.input()) + ", [" + (l.axis() < 0 ? l.axis() + r : l.axis()) + "])");
                return null;
            }
            if (l.step() <= 0) {
                throw refuse(l, "a slice with step " + l.step() + " (PyTorch slices with positive steps only)");
            }
            int r = rank(l.input(), l);
            int a = l.axis() < 0 ? l.axis() + r : l.axis();
            StringBuilder b = new StringBuilder(v(l.input())).append("[");
            for (int k = 0; k < a; k++) {
                b.append(":, ");
            }
            long end = Math.max(Math.min(l.end(), Long.MAX_VALUE / 2), Long.MIN_VALUE / 2);
            b.append(l.start()).append(":").append(end).append(":").append(l.step()).append("]");
            line(define(l.output()) + " = " + b);
            return null;
        }

        @Override
        public Void visit(Layer.Cast l) {
            line(define(l.output()) + " = " + v(l.input()) + ".to(" + dtypeName(l.to(), l) + ")");
            return null;
        }

        /** torch.layer_norm over the last axis (nn.LayerNorm's weight and bias: gamma, beta). */
        @Override
        public Void visit(Layer.LayerNorm l) {
            int f = l.features();
            if (f < 0) {
                throw refuse(l, "a layer norm without gamma or beta (its size is unknown)");
            }
            String mod = fresh(identifier(l.name()));
            if (dialect == Dialect.PYTHON) {
                // nn.LayerNorm holds both: a missing gamma is ones, a missing beta zeros (x * 1 + 0 is x)
                param(mod, "weight", l.gamma() != null ? l.gamma() : Layer.LayerNorm.unitScale(f));
                param(mod, "bias", l.beta() != null ? l.beta() : Tensor.ofFloats(new int[] {f}, new float[f]));
                submodules.add(new Submodule(mod, "nn.LayerNorm(" + f + ", eps=" + lit(l.epsilon()) + ")"));
                line(define(l.output()) + " = self." + mod + "(" + v(l.input()) + ")");
                return null;
            }
            String w = l.gamma() == null ? "None" : param(mod, "weight", l.gamma());
            String b = l.beta() == null ? "None" : param(mod, "bias", l.beta());
            line(define(l.output()) + " = torch.layer_norm(" + v(l.input()) + ", [" + f + "], " + w + ", " + b + ", " + lit(l.epsilon())
                    + ", True)");
            return null;
        }

        /** (x != value), any over the last axis when so asked, as float32 1 / 0. */
        @Override
        public Void visit(Layer.StepMask l) {
            if (dialect != Dialect.TORCHSCRIPT) {
                throw refuse(l, "a per-step mask (Keras mask_zero / Masking), which nn.LSTM, nn.GRU and nn.RNN cannot read"
                        + " (--to torchscript writes masked recurrent layers as loops over time steps)");
            }
            float value = l.value();
            String lit;
            if (dtype(l.input()).isFloating()) {
                lit = lit(value);
            } else {
                if (value != Math.rint(value) || Math.abs(value) > 1e15) {
                    throw refuse(l, "a mask value " + value + " that is no integer, over integer input '" + l.input() + "'");
                }
                lit = Long.toString((long) value);
            }
            String ne = "torch.ne(" + v(l.input()) + ", " + lit + ")";
            if (l.anyOverLastAxis()) {
                ne = "torch.any(" + ne + ", -1)";
            }
            line(define(l.output()) + " = " + ne + ".to(" + dtypeName(DType.FLOAT32, l) + ")");
            return null;
        }
    }

    /** The expression applying {@code fn} to {@code x}. */
    String activation(ActivationFn fn, String x, Layer l) {
        String a = lit(fn.alpha());
        String b = lit(fn.beta());
        return switch (fn.kind()) {
            case SIGMOID -> "torch.sigmoid(" + x + ")";
            case TANH -> "torch.tanh(" + x + ")";
            case RELU -> "torch.relu(" + x + ")";
            case IDENTITY -> x;
            case LEAKY_RELU -> "torch.where(" + x + " >= 0, " + x + ", " + x + " * " + a + ")";
            case THRESHOLDED_RELU -> "torch.where(" + x + " > " + a + ", " + x + ", torch.zeros_like(" + x + "))";
            case ELU -> "torch.where(" + x + " >= 0, " + x + ", torch.expm1(" + x + ") * " + a + ")";
            case HARD_SIGMOID -> "torch.clamp(" + x + " * " + a + " + " + b + ", 0.0, 1.0)";
            case AFFINE -> "(" + x + " * " + a + " + " + b + ")";
            case SCALED_TANH -> "(torch.tanh(" + x + " * " + b + ") * " + a + ")";
            case SOFTSIGN -> "(" + x + " / (torch.abs(" + x + ") + 1.0))";
            case SOFTPLUS -> dialect == Dialect.PYTHON ? "torch.nn.functional.softplus(" + x + ")" : "torch.softplus(" + x + ", 1, 20)";
        };
    }

    /**
     * An LSTM beyond torch.lstm, written as one loop over time steps per direction (TorchScript
     * only), computing what the native runtime's LSTM kernel computes (ONNX semantics, gates in the
     * canonical order i, f, g, o):
     * <pre>
     *   i  = f_act(clip(W_i x_t + Wb_i + R_i h + Rb_i + p_i * c))
     *   f  = f_act(clip(W_f x_t + Wb_f + forgetBias + R_f h + Rb_f + p_f * c))   (f = 1 - i with input_forget)
     *   g  = g_act(clip(W_g x_t + Wb_g + R_g h + Rb_g))
     *   c' = cellClip(f * c + i * g)
     *   o  = f_act(clip(W_o x_t + Wb_o + R_o h + Rb_o + p_o * c'))
     *   h' = o * h_act(c')                                  (h' = h' Proj^T when projected)
     * </pre>
     * The input products of all steps are one {@code torch.linear} before the loop (the forget bias
     * folded into bias_ih's f block, as the runtime adds it); a reverse direction runs over the
     * input flipped in time and flips its outputs back. The parameters are the module's:
     * {@code NAME_weight_ih_l0[_reverse]}, {@code _weight_hh}, {@code _bias_ih}, {@code _bias_hh}
     * (nn.LSTM's shapes), {@code _weight_peephole} [3H] (i, f, o) and {@code _weight_hr} [P, H]
     * when present. The loop's code does not depend on the number of steps.
     */
    private void loopLstm(Layer.Lstm l) {
        LstmSpec s = l.spec();
        boolean bm = s.layout() == Layout.BATCH_MAJOR;
        int dirs = s.direction().count();
        int h = s.hiddenSize();
        int out = s.outputSize();
        String mod = fresh(identifier(l.name()));
        String x = v(l.input());
        String xt = tmp();
        // time-major [T, B, I]
        line(xt + " = " + (bm ? "torch.transpose(" + x + ", 0, 1)" : x));
        String batch = "torch.size(" + xt + ", 1)";
        List<String> ys = new ArrayList<>();
        List<String> hs = new ArrayList<>();
        List<String> cs = new ArrayList<>();
        String mask = timeMajorMask(l, bm);
        for (int k = 0; k < dirs; k++) {
            boolean reverse = s.direction() == Direction.REVERSE || k == 1;
            String sfx = "_l0" + (k == 1 ? "_reverse" : "");
            LstmWeights lw = l.weights().get(k);
            String wi = param(mod, "weight_ih" + sfx, lw.w());
            String wh = param(mod, "weight_hh" + sfx, lw.r());
            String bi = param(mod, "bias_ih" + sfx, LstmWeights.withForgetBias(lw.wb(), h, s.forgetBias()));
            String bh = param(mod, "bias_hh" + sfx, lw.rb());
            String peep = lw.peephole() == null ? null : param(mod, "weight_peephole" + sfx, lw.peephole());
            String hr = lw.projection() == null ? null : param(mod, "weight_hr" + sfx, lw.projection());
            ActivationFn fa = s.activations().get(3 * k);
            ActivationFn ga = s.activations().get(3 * k + 1);
            ActivationFn ha = s.activations().get(3 * k + 2);
            String xw = tmp();
            line(xw + " = torch.linear(" + (reverse ? "torch.flip(" + xt + ", [0])" : xt) + ", " + wi + ", " + bi + ")");
            String hv = tmp();
            String cv = tmp();
            line(hv + " = " + initialState(l.initialH(), k, bm, batch, out, xt));
            line(cv + " = " + initialState(l.initialC(), k, bm, batch, h, xt));
            String[] p = new String[3];
            if (peep != null) {
                for (int q = 0; q < 3; q++) {
                    p[q] = tmp();
                    line(p[q] + " = torch.narrow(" + peep + ", 0, " + q * h + ", " + h + ")");
                }
            }
            String steps = tmp();
            line(steps + " = annotate(List[Tensor], [])");
            String[] masked = mask == null ? null : directionMask(mask, reverse, batch, out, xt);
            String t = tmp();
            line("for " + t + " in range(torch.size(" + xw + ", 0)):");
            String in = "  ";
            String gates = tmp();
            line(in + gates + " = torch.add(torch.select(" + xw + ", 0, " + t + "), torch.linear(" + hv + ", " + wh + ", " + bh + "))");
            String[] pre = new String[4];
            for (int q = 0; q < 4; q++) {
                pre[q] = tmp();
                line(in + pre[q] + " = torch.narrow(" + gates + ", 1, " + q * h + ", " + h + ")");
            }
            if (peep != null) {
                line(in + pre[0] + " = torch.add(" + pre[0] + ", torch.mul(" + p[0] + ", " + cv + "))");
                line(in + pre[1] + " = torch.add(" + pre[1] + ", torch.mul(" + p[1] + ", " + cv + "))");
            }
            String ig = gate(in, l, fa, pre[0], s.clip());
            String fg;
            if (s.inputForget()) {
                fg = tmp();
                line(in + fg + " = torch.rsub(" + ig + ", 1.0)");
            } else {
                fg = gate(in, l, fa, pre[1], s.clip());
            }
            String gg = gate(in, l, ga, pre[2], s.clip());
            String cn = tmp();
            line(in + cn + " = torch.add(torch.mul(" + fg + ", " + cv + "), torch.mul(" + ig + ", " + gg + "))");
            if (s.cellClip() != null) {
                line(in + cn + " = torch.clamp(" + cn + ", " + lit(-s.cellClip()) + ", " + lit(s.cellClip()) + ")");
            }
            if (peep != null) {
                line(in + pre[3] + " = torch.add(" + pre[3] + ", torch.mul(" + p[2] + ", " + cn + "))");
            }
            String og = gate(in, l, fa, pre[3], s.clip());
            String hc = tmp();
            line(in + hc + " = " + activation(ha, cn, l));
            String hn = tmp();
            line(in + hn + " = torch.mul(" + og + ", " + hc + ")");
            if (hr != null) {
                line(in + hn + " = torch.linear(" + hn + ", " + hr + ")");
            }
            String m = stepOutput(in, l, masked, t, steps, hn);
            if (m != null) {
                line(in + cv + ", " + hv + " = torch.where(" + m + ", " + cn + ", " + cv + "), torch.where(" + m + ", " + hn + ", " + hv + ")");
            } else {
                line(in + cv + ", " + hv + " = " + cn + ", " + hn);
            }
            ys.add(stackSteps(steps, reverse));
            hs.add(hv);
            cs.add(cv);
        }
        loopOutputs(l, bm, ys, hs);
        if (l.outputC() != null) {
            line(define(l.outputC()) + " = torch.stack([" + String.join(", ", cs) + "], " + (bm ? 1 : 0) + ")");
        }
    }

    /**
     * A GRU or simple RNN beyond torch.gru / rnn_*, written as one loop over time steps per
     * direction (TorchScript only), computing what the native runtime computes (ONNX semantics,
     * GRU gates in the canonical order r, z, n, which is nn.GRU's):
     * <pre>
     *   GRU: r  = f(clip(W_r x_t + Wb_r + R_r h + Rb_r))
     *        z  = f(clip(W_z x_t + Wb_z + R_z h + Rb_z))
     *        n  = g(clip(W_n x_t + Wb_n + r * (R_n h + Rb_n)))      (linear_before_reset)
     *        n  = g(clip(W_n x_t + Wb_n + R_n (r * h) + Rb_n))      (otherwise)
     *        h' = (1 - z) * n + z * h
     *   RNN: h' = f(clip(W x_t + Wb + R h + Rb))
     * </pre>
     * Parameters as nn.GRU / nn.RNN name them ({@code NAME_weight_ih_l0[_reverse]}, ...), a
     * reverse direction over the input flipped in time, a per-step mask as in {@link #loopLstm}.
     */
    private void loopGruRnn(Layer.Recurrent l) {
        boolean gru = l instanceof Layer.Gru;
        boolean bm = l.layout() == Layout.BATCH_MAJOR;
        int dirs = l.direction().count();
        int h = l.hiddenSize();
        String mod = fresh(identifier(l.name()));
        String x = v(l.input());
        String xt = tmp();
        line(xt + " = " + (bm ? "torch.transpose(" + x + ", 0, 1)" : x));
        String batch = "torch.size(" + xt + ", 1)";
        String mask = timeMajorMask(l, bm);
        List<String> ys = new ArrayList<>();
        List<String> hs = new ArrayList<>();
        for (int k = 0; k < dirs; k++) {
            boolean reverse = l.direction() == Direction.REVERSE || k == 1;
            String sfx = "_l0" + (k == 1 ? "_reverse" : "");
            RecurrentWeights w = (RecurrentWeights) l.weights().get(k);
            String wi = param(mod, "weight_ih" + sfx, w.w());
            String wh = param(mod, "weight_hh" + sfx, w.r());
            String bi = param(mod, "bias_ih" + sfx, w.wb());
            String bh = param(mod, "bias_hh" + sfx, w.rb());
            int per = gru ? 2 : 1;
            ActivationFn fa = l.activations().get(per * k);
            ActivationFn ga = gru ? l.activations().get(per * k + 1) : null;
            String xw = tmp();
            line(xw + " = torch.linear(" + (reverse ? "torch.flip(" + xt + ", [0])" : xt) + ", " + wi + ", " + bi + ")");
            String hv = tmp();
            line(hv + " = " + initialState(l.initialH(), k, bm, batch, h, xt));
            String rn = null;
            String rbn = null;
            if (gru && !((Layer.Gru) l).spec().linearBeforeReset()) {
                rn = tmp();
                line(rn + " = torch.narrow(" + wh + ", 0, " + 2 * h + ", " + h + ")");
                rbn = tmp();
                line(rbn + " = torch.narrow(" + bh + ", 0, " + 2 * h + ", " + h + ")");
            }
            String steps = tmp();
            line(steps + " = annotate(List[Tensor], [])");
            String[] masked = mask == null ? null : directionMask(mask, reverse, batch, h, xt);
            String t = tmp();
            line("for " + t + " in range(torch.size(" + xw + ", 0)):");
            String in = "  ";
            String xs = tmp();
            line(in + xs + " = torch.select(" + xw + ", 0, " + t + ")");
            String hr = tmp();
            line(in + hr + " = torch.linear(" + hv + ", " + wh + ", " + bh + ")");
            String hn = tmp();
            if (gru) {
                String[] xg = new String[3];
                String[] hg = new String[3];
                for (int q = 0; q < 3; q++) {
                    xg[q] = tmp();
                    line(in + xg[q] + " = torch.narrow(" + xs + ", 1, " + q * h + ", " + h + ")");
                    hg[q] = tmp();
                    line(in + hg[q] + " = torch.narrow(" + hr + ", 1, " + q * h + ", " + h + ")");
                }
                String pr = tmp();
                line(in + pr + " = torch.add(" + xg[0] + ", " + hg[0] + ")");
                String r = gate(in, l, fa, pr, l.clip());
                String pz = tmp();
                line(in + pz + " = torch.add(" + xg[1] + ", " + hg[1] + ")");
                String z = gate(in, l, fa, pz, l.clip());
                String pn = tmp();
                if (rn == null) {
                    line(in + pn + " = torch.add(" + xg[2] + ", torch.mul(" + r + ", " + hg[2] + "))");
                } else {
                    line(in + pn + " = torch.add(" + xg[2] + ", torch.linear(torch.mul(" + r + ", " + hv + "), " + rn + ", " + rbn + "))");
                }
                String n = gate(in, l, ga, pn, l.clip());
                line(in + hn + " = torch.add(torch.mul(torch.rsub(" + z + ", 1.0), " + n + "), torch.mul(" + z + ", " + hv + "))");
            } else {
                String pre = tmp();
                line(in + pre + " = torch.add(" + xs + ", " + hr + ")");
                String a = gate(in, l, fa, pre, l.clip());
                line(in + hn + " = " + a);
            }
            String m = stepOutput(in, l, masked, t, steps, hn);
            line(in + hv + " = " + (m != null ? "torch.where(" + m + ", " + hn + ", " + hv + ")" : hn));
            ys.add(stackSteps(steps, reverse));
            hs.add(hv);
        }
        loopOutputs(l, bm, ys, hs);
    }

    /** The layer's per-step mask made time-major [T, B] like the loop's sequence, or null without one. */
    private String timeMajorMask(Layer.Recurrent l, boolean bm) {
        if (!l.ports().hasMask()) {
            return null;
        }
        String mask = tmp();
        line(mask + " = " + (bm ? "torch.transpose(" + v(l.ports().mask()) + ", 0, 1)" : v(l.ports().mask())));
        return mask;
    }

    /** One direction's mask (flipped for a reverse direction) and its previous output, zeros [B, width]: {mask, previous}. */
    private String[] directionMask(String mask, boolean reverse, String batch, int width, String like) {
        String mk = tmp();
        line(mk + " = " + (reverse ? "torch.flip(" + mask + ", [0])" : mask));
        String prev = tmp();
        line(prev + " = torch.zeros([" + batch + ", " + width + "], dtype=" + like + ".dtype)");
        return new String[] {mk, prev};
    }

    /**
     * Appends step t's output to {@code steps}: the new h, or with a mask ({mask, previous} from
     * {@link #directionMask}) Keras's rule — a masked step outputs the previous output (zeros at
     * first) or zeros. Returns the step's "counts" condition [B, 1] for the state updates, or null
     * without a mask.
     */
    private String stepOutput(String in, Layer.Recurrent l, String[] masked, String t, String steps, String hn) {
        if (masked == null) {
            line(in + tmp() + " = torch.append(" + steps + ", " + hn + ")");
            return null;
        }
        String m = tmp();
        line(in + m + " = torch.ne(torch.unsqueeze(torch.select(" + masked[0] + ", 0, " + t + "), 1), 0.0)");
        String yo = tmp();
        line(in + yo + " = torch.where(" + m + ", " + hn + ", "
                + (l.ports().zeroMaskedOutput() ? "torch.zeros_like(" + hn + ")" : masked[1]) + ")");
        line(in + masked[1] + " = " + yo);
        line(in + tmp() + " = torch.append(" + steps + ", " + yo + ")");
        return m;
    }

    /** The steps' outputs stacked [T, B, width], flipped back into input order for a reverse direction. */
    private String stackSteps(String steps, boolean reverse) {
        String y = tmp();
        line(y + " = torch.stack(" + steps + ")");
        if (reverse) {
            line(y + " = torch.flip(" + y + ", [0])");
        }
        return y;
    }

    /** Y ([T, D, B, W] time-major, [B, T, D, W] batch-major) and Y_h from the directions' sequences and last h. */
    private void loopOutputs(Layer.Recurrent l, boolean bm, List<String> ys, List<String> hs) {
        if (l.outputSequence() != null) {
            line(define(l.outputSequence()) + " = " + (bm ? "torch.transpose(torch.stack([" + String.join(", ", ys) + "], 2), 0, 1)"
                    : "torch.stack([" + String.join(", ", ys) + "], 1)"));
        }
        if (l.outputH() != null) {
            line(define(l.outputH()) + " = torch.stack([" + String.join(", ", hs) + "], " + (bm ? 1 : 0) + ")");
        }
    }

    /** A gate inside the loop: {@code fn(clip(pre))} into a new variable. */
    private String gate(String indent, Layer l, ActivationFn fn, String pre, Float clip) {
        String x = pre;
        if (clip != null) {
            x = tmp();
            line(indent + x + " = torch.clamp(" + pre + ", " + lit(-clip) + ", " + lit(clip) + ")");
        }
        String r = tmp();
        line(indent + r + " = " + activation(fn, x, l));
        return r;
    }

    /** Direction k's initial state [B, width] from the layer's [D, B, width] / [B, D, width] input, or zeros. */
    private String initialState(String value, int k, boolean bm, String batch, int width, String like) {
        if (value == null) {
            return "torch.zeros([" + batch + ", " + width + "], dtype=" + like + ".dtype)";
        }
        return "torch.select(" + v(value) + ", " + (bm ? 1 : 0) + ", " + k + ")";
    }

    /** The Python or TorchScript source of forward's signature line(s) and body, indented for a class. */
    String forwardSource(String selfType) {
        StringBuilder b = new StringBuilder();
        b.append("  def forward(self");
        if (selfType != null) {
            b.append(": ").append(selfType);
        }
        for (String p : parameterNames) {
            b.append(",\n    ").append(p).append(dialect == Dialect.TORCHSCRIPT ? ": Tensor" : "");
        }
        b.append(")");
        if (dialect == Dialect.TORCHSCRIPT) {
            b.append(" -> ").append(returned.size() == 1 ? "Tensor" : "Tuple[" + String.join(", ", java.util.Collections.nCopies(returned.size(), "Tensor")) + "]");
        }
        b.append(":\n");
        for (String s : body) {
            b.append("    ").append(s).append("\n");
        }
        b.append("    return ").append(returned.size() == 1 ? returned.get(0) : "(" + String.join(", ", returned) + ")").append("\n");
        return b.toString();
    }

    /** Parameters in order, by key. */
    Map<String, Tensor> paramMap() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        params.forEach(p -> m.put(p.key(), p.value()));
        return m;
    }
}
