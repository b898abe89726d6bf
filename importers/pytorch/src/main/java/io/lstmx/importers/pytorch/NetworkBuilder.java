package io.lstmx.importers.pytorch;

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
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.util.UniqueNames;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds the network a state_dict or a pickled module describes, from its tensors' names and
 * shapes (and, for a pickled module, its modules' classes and attributes), module by module in key
 * order. The rules:
 * <ul>
 *   <li><b>nn.LSTM / nn.GRU / nn.RNN</b>: a module whose keys are all
 *       {@code weight_ih_l{k}[_reverse]}, {@code weight_hh_l{k}}, {@code bias_ih_l{k}},
 *       {@code bias_hh_l{k}}, {@code weight_hr_l{k}}. num_layers is the number of k, bidirectional
 *       whether {@code _reverse} keys exist, bias whether {@code bias_*} keys exist, proj_size the
 *       rows of {@code weight_hr_l0}; the hidden size is the columns of {@code weight_hh_l0} (or of
 *       {@code weight_hr_l0}), and the kind follows from the gate rows: 4H an LSTM, 3H a GRU, H an
 *       RNN. A pickled module's class and attributes ({@code mode}, {@code input_size},
 *       {@code hidden_size}, {@code num_layers}, {@code bias}, {@code bidirectional},
 *       {@code proj_size}, {@code batch_first}, {@code nonlinearity}) must agree with the tensors;
 *       a state_dict's nn.RNN is taken as tanh (its nonlinearity is not in the file). Gates are
 *       PyTorch's order, brought to the IR's through {@link GateOrder}.</li>
 *   <li><b>nn.Linear</b>: {@code weight} [out, in] and {@code bias} [out]; {@code weight} alone is a
 *       Linear without bias, except as the very first module, where a {@code weight} [V, D] whose D
 *       is the next module's input size is an <b>nn.Embedding</b> (int64 token ids in; a square
 *       table counts as an Embedding). A pickled module's class decides instead.</li>
 *   <li><b>nn.BatchNorm1d</b> ({@code running_mean}, {@code running_var}, {@code num_batches_tracked},
 *       with {@code weight} and {@code bias} when affine; eps 1e-5 unless a pickled module says
 *       otherwise): in eval mode it is {@code y = x * s + t} with {@code s = weight / sqrt(var + eps)}
 *       and {@code t = bias - mean * s}, two element-wise IR layers with constants (what PyTorch's
 *       CPU kernel computes). Only on the last time step ({@code --last-step}), where its input is
 *       [batch, features].</li>
 *   <li><b>nn.LayerNorm</b> over the last axis: {@code weight} and {@code bias} [features] (a
 *       state_dict's 1-D {@code weight} and {@code bias} are a LayerNorm's; its eps is PyTorch's
 *       default 1e-5, which a pickled module's {@code eps} and {@code normalized_shape} replace), on
 *       every time step or, after the last recurrent module with {@code last-step}, on the last.</li>
 *   <li><b>nn.Dropout</b> (and nn.Identity) in a pickled module: the identity.</li>
 * </ul>
 * Modules before the first recurrent one and between recurrent ones apply to every time step.
 * After the last recurrent module they apply to every time step, or with the hint
 * {@code last-step} to its last time step ({@code out[:, -1, :]}). The recurrent modules take and
 * give time-major tensors [T, B, F], or batch-major [B, T, F] with the hint {@code batch-first}
 * (a pickled module's {@code batch_first} decides, and contradicting it is an error). When nothing
 * follows the last recurrent module the outputs are what it returns: {@code y}, {@code h_n} and, for
 * an LSTM, {@code c_n} ([num_layers * directions, B, H] whatever the layout); else one output,
 * {@code output}. Anything these rules cannot place is UNSUPPORTED naming its keys.
 */
final class NetworkBuilder {
    /** Matches the tensor names of nn.LSTM / nn.GRU / nn.RNN. */
    private static final Pattern RECURRENT = Pattern.compile("(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l([0-9]{1,4})(_reverse)?");
    private static final Set<String> BATCH_NORM = Set.of("weight", "bias", "running_mean", "running_var", "num_batches_tracked");
    /** PyTorch's default eps of BatchNorm1d. */
    static final double DEFAULT_EPS = 1e-5;

    /** What the file cannot say; null when not given. */
    record Hints(Boolean batchFirst, Boolean lastStep) {
    }

    /** The IR model and the sentence describing what was inferred. */
    record Result(Model model, String detail) {
    }

    private enum Kind {
        LSTM(4), GRU(3), RNN(1);

        final int gates;

        Kind(int gates) {
            this.gates = gates;
        }
    }

    private sealed interface Stage permits Recurrent, Linear, Embed, Norm, LayerNormStage {
        ModuleTree.Group group();
    }

    private record Recurrent(ModuleTree.Group group, Kind kind, int layers, int directions, int inputSize, int hidden, int proj,
                             boolean bias, ActivationFn activation, Boolean batchFirst) implements Stage {
        int outputSize() {
            return proj > 0 ? proj : hidden;
        }

        String text() {
            StringBuilder sb = new StringBuilder(kind + "(" + inputSize + ", " + hidden);
            if (layers > 1) {
                sb.append(", num_layers=").append(layers);
            }
            if (!bias) {
                sb.append(", bias=False");
            }
            if (directions == 2) {
                sb.append(", bidirectional=True");
            }
            if (proj > 0) {
                sb.append(", proj_size=").append(proj);
            }
            if (kind == Kind.RNN && activation.kind() == ActivationFn.Kind.RELU) {
                sb.append(", nonlinearity='relu'");
            }
            return sb.append(')').toString();
        }
    }

    private record Linear(ModuleTree.Group group, TensorRef weight, TensorRef bias) implements Stage {
    }

    private record Embed(ModuleTree.Group group, TensorRef table) implements Stage {
    }

    private record Norm(ModuleTree.Group group, TensorRef weight, TensorRef bias, TensorRef mean, TensorRef var, double eps)
            implements Stage {
    }

    /** nn.LayerNorm over the last axis of {@code features}: weight and bias when affine (either may be absent). */
    private record LayerNormStage(ModuleTree.Group group, TensorRef weight, TensorRef bias, int features, double eps) implements Stage {
    }

    private final TorchFile file;
    private final ModuleTree.Tree tree;
    private final Hints hints;
    private final List<String> notes = new ArrayList<>();
    private final List<Layer> layers = new ArrayList<>();
    private final UniqueNames layerNames = new UniqueNames();
    private final UniqueNames valueNames = new UniqueNames(List.of("x", "y", "h_n", "c_n", "output"));
    private boolean batchMajor;

    private NetworkBuilder(TorchFile file, ModuleTree.Tree tree, Hints hints) {
        this.file = file;
        this.tree = tree;
        this.hints = hints;
    }

    static Result build(TorchFile file, ModuleTree.Tree tree, Hints hints) {
        return new NetworkBuilder(file, tree, hints).build();
    }

    private LstmxException unsupported(String what) {
        return LstmxException.unsupported(file.path() + ": " + what);
    }

    private LstmxException bad(String what) {
        return LstmxException.badInput(file.path() + ": " + what);
    }

    // ---- classification

    private Result build() {
        List<Stage> stages = classify();
        int first = -1;
        int last = -1;
        for (int i = 0; i < stages.size(); i++) {
            if (stages.get(i) instanceof Recurrent) {
                last = i;
                first = first < 0 ? i : first;
            }
        }
        if (first < 0) {
            throw unsupported(tree.what() + " without nn.LSTM, nn.GRU or nn.RNN weights (keys " + allKeys(stages)
                    + "); lstmx infers networks around a recurrent module");
        }
        String layoutText = layout(stages);
        boolean lastStep = Boolean.TRUE.equals(hints.lastStep());
        Recurrent lastRecurrent = (Recurrent) stages.get(last);
        boolean head = last < stages.size() - 1;

        // The input: token ids for an Embedding first, else features.
        List<String> chain = new ArrayList<>();
        String cur = "x";
        int width;
        ValueInfo input;
        Stage s0 = stages.get(0);
        int start = 0;
        if (s0 instanceof Embed e) {
            input = new ValueInfo("x", DType.INT64, batchMajor ? Shape.of("batch", "time") : Shape.of("time", "batch"));
            Tensor table = floating(e.table(), e.group().key("weight"));
            String out = valueNames.fresh(name(e.group(), "embedding") + "/out");
            layers.add(new Layer.Embedding(layerNames.fresh(name(e.group(), "embedding")), cur, out, table));
            cur = out;
            width = table.dim(1);
            chain.add(label(e.group()) + "Embedding(" + table.dim(0) + ", " + table.dim(1) + ")");
            start = 1;
        } else {
            int in = inputSize(s0);
            input = new ValueInfo("x", DType.FLOAT32, batchMajor ? Shape.of("batch", "time", in) : Shape.of("time", "batch", in));
            width = in;
        }
        List<ValueInfo> outputs = new ArrayList<>();
        boolean selected = false;
        for (int i = start; i < stages.size(); i++) {
            Stage s = stages.get(i);
            boolean finalStage = i == stages.size() - 1;
            if (i == last + 1 && lastStep) {
                String out = valueNames.fresh(name(lastRecurrent.group(), kindName(lastRecurrent)) + "/last_step");
                layers.add(new Layer.Select(layerNames.fresh(name(lastRecurrent.group(), kindName(lastRecurrent)) + ".last_step"),
                        cur, out, batchMajor ? 1 : 0, -1));
                cur = out;
                selected = true;
                chain.add("[last step]");
            }
            String target = finalStage ? "output" : null;
            if (s instanceof Recurrent r) {
                if (r.inputSize() != width) {
                    throw unsupported(placement(s, r.inputSize(), width, stages, i));
                }
                boolean states = i == last && !head;
                cur = recurrent(r, cur, states, outputs);
                width = r.directions() * r.outputSize();
                chain.add(label(r.group()) + r.text());
            } else if (s instanceof Linear l) {
                Tensor w = floating(l.weight(), l.group().key("weight"));
                Tensor b = l.bias() == null ? null : floating(l.bias(), l.group().key("bias"));
                if (w.rank() != 2 || (b != null && (b.rank() != 1 || b.dim(0) != w.dim(0)))) {
                    throw bad("Linear " + l.group().label() + " has weight " + Arrays.toString(w.shape())
                            + (b == null ? "" : " and bias " + Arrays.toString(b.shape())) + ", not [out, in] and [out]");
                }
                if (w.dim(1) != width) {
                    throw unsupported(placement(s, w.dim(1), width, stages, i));
                }
                String out = target != null ? target : valueNames.fresh(name(l.group(), "linear") + "/out");
                layers.add(new Layer.Dense(layerNames.fresh(name(l.group(), "linear")), cur, out, w, b));
                cur = out;
                width = w.dim(0);
                chain.add(label(l.group()) + "Linear(" + w.dim(1) + ", " + w.dim(0) + (b == null ? ", bias=False" : "") + ")");
            } else if (s instanceof Norm n) {
                if (!selected) {
                    throw unsupported("BatchNorm1d " + n.group().label() + " (keys " + n.group().keys() + ") "
                            + (i < last ? "before a recurrent module" : "after the recurrent modules without --last-step")
                            + " would normalise a sequence; lstmx places BatchNorm1d only on the last time step (--last-step)");
                }
                int features = (int) n.mean().dim(0);
                if (features != width) {
                    throw unsupported(placement(s, features, width, stages, i));
                }
                cur = batchNorm(n, cur, target);
                chain.add(label(n.group()) + "BatchNorm1d(" + features + ", eps=" + n.eps() + ")");
            } else if (s instanceof LayerNormStage n) {
                if (n.features() != width) {
                    throw unsupported(placement(s, n.features(), width, stages, i));
                }
                // without a weight the scale is 1, as torch.layer_norm of TorchScript reads it
                Tensor gamma = n.weight() == null ? Layer.LayerNorm.unitScale(n.features()) : floating(n.weight(), n.group().key("weight"));
                Tensor beta = n.bias() == null ? null : floating(n.bias(), n.group().key("bias"));
                String out = target != null ? target : valueNames.fresh(name(n.group(), "layernorm") + "/out");
                layers.add(new Layer.LayerNorm(layerNames.fresh(name(n.group(), "layernorm")), cur, out, (float) n.eps(), gamma, beta));
                cur = out;
                chain.add(label(n.group()) + "LayerNorm(" + n.features() + ", eps=" + n.eps()
                        + (n.weight() == null && n.bias() == null ? ", elementwise_affine=False" : "") + ")");
            } else if (s instanceof Embed e) {
                throw unsupported("Embedding " + e.group().label() + " (key " + e.group().keys()
                        + ") is not the first module; an Embedding takes token ids, which only the input is");
            }
        }
        if (head) {
            outputs.add(new ValueInfo("output", DType.FLOAT32, selected ? Shape.of("batch", width)
                    : batchMajor ? Shape.of("batch", "time", width) : Shape.of("time", "batch", width)));
        }
        String lastName = lastRecurrent.group().prefix().isEmpty() ? kindName(lastRecurrent) : lastRecurrent.group().prefix();
        String stepText;
        if (head) {
            stepText = lastStep ? "what follows '" + lastName + "' applies to its last time step (last-step)"
                    : "what follows '" + lastName + "' applies to every time step (--last-step would apply it to the last step only)";
        } else {
            stepText = "outputs y, h_n" + (lastRecurrent.kind() == Kind.LSTM ? ", c_n" : "") + " as nn." + lastRecurrent.kind() + " returns them"
                    + (lastStep ? " (last-step has no effect: nothing follows '" + lastName + "')" : "");
        }
        if (!tree.tensorless().isEmpty()) {
            notes.add("modules without tensors are not applied (a state_dict does not say what they are or where forward uses them): "
                    + String.join(", ", tree.tensorless()));
        }
        String detail = file.container + "; " + tree.what() + "; inferred: " + String.join(" -> ", chain) + "; " + layoutText + "; "
                + stepText + (notes.isEmpty() ? "" : "; " + String.join("; ", notes));
        Model model = new Model(modelName(), new ModelInfo("pytorch-state-dict", "torch.save", detail), List.of(input), outputs, layers);
        return new Result(model, detail);
    }

    private String modelName() {
        String n = file.path().getFileName() == null ? "model" : file.path().getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    /** Why {@code s} cannot follow what comes before it. */
    private String placement(Stage s, int wants, int has, List<Stage> stages, int i) {
        String before = i == 0 ? "the input" : "'" + stages.get(i - 1).group().prefix() + "'";
        return s.group().label() + " (keys " + s.group().keys() + ") takes " + wants + " features, but key order places it after "
                + before + ", which gives " + has + "; the file does not say how its modules connect";
    }

    private static String allKeys(List<Stage> stages) {
        List<String> l = new ArrayList<>();
        stages.forEach(s -> l.add(s.group().keys()));
        return String.join(", ", l);
    }

    private static String label(ModuleTree.Group g) {
        return g.prefix().isEmpty() ? "" : g.prefix() + ": ";
    }

    private static String kindName(Recurrent r) {
        return r.kind().toString().toLowerCase(Locale.ROOT);
    }

    /** IR names come from the module's path; the top module takes {@code fallback}. */
    private static String name(ModuleTree.Group g, String fallback) {
        return g.prefix().isEmpty() ? fallback : g.prefix();
    }

    private int inputSize(Stage s) {
        if (s instanceof Recurrent r) {
            return r.inputSize();
        }
        if (s instanceof Linear l) {
            return (int) l.weight().dim(1);
        }
        if (s instanceof Norm n) {
            throw unsupported("BatchNorm1d " + n.group().label() + " (keys " + n.group().keys()
                    + ") comes first; lstmx places BatchNorm1d only on the last time step (--last-step)");
        }
        if (s instanceof LayerNormStage n) {
            return n.features();
        }
        throw LstmxException.internal("input size of " + s);
    }

    /** The layout from the modules' batch_first when they say it, else from the hint. */
    private String layout(List<Stage> stages) {
        Boolean fromModules = null;
        String first = null;
        for (Stage s : stages) {
            if (s instanceof Recurrent r && r.batchFirst() != null) {
                if (fromModules != null && !fromModules.equals(r.batchFirst())) {
                    throw unsupported("recurrent modules '" + first + "' and '" + r.group().prefix() + "' disagree on batch_first");
                }
                fromModules = r.batchFirst();
                first = r.group().prefix();
            }
        }
        if (fromModules != null) {
            if (hints.batchFirst() != null && !hints.batchFirst().equals(fromModules)) {
                throw bad("module '" + first + "' was saved with batch_first=" + (fromModules ? "True" : "False")
                        + ", which the batch-first hint (" + hints.batchFirst() + ") contradicts");
            }
            batchMajor = fromModules;
            return (batchMajor ? "batch-major [B, T, F]" : "time-major [T, B, F]") + " (batch_first=" + (batchMajor ? "True" : "False")
                    + " in the module)";
        }
        batchMajor = Boolean.TRUE.equals(hints.batchFirst());
        return batchMajor ? "batch-major [B, T, F] (batch-first)" : "time-major [T, B, F] (--batch-first would make it batch-major)";
    }

    private List<Stage> classify() {
        List<ModuleTree.Group> groups = tree.groups();
        List<Stage> stages = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            ModuleTree.Group g = groups.get(i);
            Stage s = classify(g, i == 0 ? (i + 1 < groups.size() ? groups.get(i + 1) : null) : null, stages.isEmpty());
            if (s != null) {
                stages.add(s);
            }
        }
        return stages;
    }

    /**
     * The stage of one group, or null for an identity (Dropout). {@code next} is the following
     * group when this one comes first (an Embedding can only be first).
     */
    private Stage classify(ModuleTree.Group g, ModuleTree.Group next, boolean first) {
        Set<String> names = g.tensors().keySet();
        if (g.cls() != null && g.cls().module().startsWith("torch.nn.")) {
            String m = g.cls().module();
            String c = g.cls().name();
            if (m.equals("torch.nn.modules.rnn") && (c.equals("LSTM") || c.equals("GRU") || c.equals("RNN"))) {
                return recurrent(g);
            }
            if (m.equals("torch.nn.modules.linear") && c.equals("Linear")) {
                return linear(g);
            }
            if ((m.equals("torch.nn.modules.dropout") || (m.equals("torch.nn.modules.linear") && c.equals("Identity"))) && names.isEmpty()) {
                notes.add(g.prefix() + " (" + c + ") is the identity at inference");
                return null;
            }
            if (m.equals("torch.nn.modules.sparse") && c.equals("Embedding")) {
                if (g.attributes().get("max_norm") != null) {
                    throw unsupported("Embedding " + g.label() + " with max_norm renormalises its table as it looks up; not supported");
                }
                if (!first) {
                    throw unsupported("Embedding " + g.label() + " (key " + g.keys() + ") is not the first module; an Embedding takes"
                            + " token ids, which only the input is");
                }
                return new Embed(g, require(g, "weight"));
            }
            if (m.equals("torch.nn.modules.batchnorm") && c.equals("BatchNorm1d")) {
                return batchNorm(g);
            }
            if (m.equals("torch.nn.modules.normalization") && c.equals("LayerNorm")) {
                return layerNorm(g);
            }
            throw unplaceable(g);
        }
        if (names.isEmpty()) {
            throw unplaceable(g);
        }
        for (String n : names) {
            if (RECURRENT.matcher(n).matches()) {
                return recurrent(g);
            }
        }
        if ((names.equals(Set.of("weight", "bias")) || names.equals(Set.of("weight"))) && g.tensors().get("weight").rank() == 1) {
            return layerNorm(g); // a [features] weight (and bias): nn.LayerNorm, the one such module lstmx places
        }
        if (names.equals(Set.of("weight", "bias"))) {
            return linear(g);
        }
        if (names.equals(Set.of("weight")) && g.tensors().get("weight").rank() == 2) {
            TensorRef w = g.tensors().get("weight");
            if (first && next != null && nextInput(next) == w.dim(1)) {
                return new Embed(g, w);
            }
            return linear(g);
        }
        if (BATCH_NORM.containsAll(names) && names.contains("running_mean") && names.contains("running_var")) {
            return batchNorm(g);
        }
        throw unplaceable(g);
    }

    private LstmxException unplaceable(ModuleTree.Group g) {
        if (g.tensors().isEmpty()) {
            return unsupported("module " + g.label() + " has no tensors, and where forward applies it is not in the file");
        }
        return unsupported(g.label() + " with keys " + g.keys() + " is no module lstmx infers (nn.LSTM, nn.GRU, nn.RNN, nn.Linear,"
                + " nn.LayerNorm, nn.Embedding first, nn.BatchNorm1d after the last step, nn.Dropout)");
    }

    /**
     * nn.LayerNorm: a pickled module's normalized_shape must be one size (the last axis; lstmx's
     * LayerNorm normalises over the last axis only) and gives eps; a state_dict gives neither, and
     * is read with PyTorch's default eps 1e-5 (noted). Weight and bias, when present, are [features].
     */
    private LayerNormStage layerNorm(ModuleTree.Group g) {
        Set<String> names = g.tensors().keySet();
        if (!Set.of("weight", "bias").containsAll(names)) {
            throw unsupported("LayerNorm " + g.label() + " with keys " + g.keys() + " (expected weight and bias, when affine)");
        }
        TensorRef w = g.tensors().get("weight");
        TensorRef b = g.tensors().get("bias");
        long features = w != null ? w.dim(0) : b != null ? b.dim(0) : -1;
        for (TensorRef t : new TensorRef[] {w, b}) {
            if (t != null && (t.rank() != 1 || t.dim(0) != features)) {
                throw bad("LayerNorm " + g.label() + " tensors are not both [features]: keys " + g.keys());
            }
        }
        Object shape = g.attributes().get("normalized_shape");
        if (shape != null) {
            if (!(shape instanceof Py.Tuple t) || t.items.size() != 1 || !(t.items.get(0) instanceof Long n) || n < 1
                    || n > Integer.MAX_VALUE) {
                throw unsupported("LayerNorm " + g.label() + " normalized_shape " + AllowList.describe(shape)
                        + " (lstmx normalises over the last axis only: one positive size)");
            }
            if (features >= 0 && n != features) {
                throw bad("LayerNorm " + g.label() + " normalized_shape (" + n + ",) but its tensors have " + features + " features");
            }
            features = n;
        }
        if (features < 1 || features > Integer.MAX_VALUE) {
            throw unsupported("LayerNorm " + g.label() + " says neither its size nor has tensors (keys " + g.keys() + ")");
        }
        if (g.cls() == null) {
            notes.add(g.prefix() + " (LayerNorm) is read with PyTorch's default eps 1e-5: a state_dict does not say its eps");
        }
        return new LayerNormStage(g, w, b, (int) features, eps(g, "LayerNorm"));
    }

    /** The input size the group takes when it is a recurrent module or a Linear; -1 when unknown. */
    private static long nextInput(ModuleTree.Group g) {
        TensorRef w = g.tensors().get("weight_ih_l0");
        if (w == null) {
            w = g.tensors().get("weight");
        }
        return w != null && w.rank() == 2 ? w.dim(1) : -1;
    }

    private TensorRef require(ModuleTree.Group g, String name) {
        TensorRef t = g.tensors().get(name);
        if (t == null) {
            throw bad(g.label() + " has no '" + name + "' (keys " + g.keys() + ")");
        }
        return t;
    }

    private Linear linear(ModuleTree.Group g) {
        Set<String> names = g.tensors().keySet();
        if (!Set.of("weight", "bias").containsAll(names) || !names.contains("weight")) {
            throw unsupported("Linear " + g.label() + " with keys " + g.keys() + " (expected weight and an optional bias)");
        }
        return new Linear(g, g.tensors().get("weight"), g.tensors().get("bias"));
    }

    /** A normalisation module's eps: a pickled module's attribute (a finite non-negative float), else PyTorch's default 1e-5. */
    private double eps(ModuleTree.Group g, String kind) {
        double eps = DEFAULT_EPS;
        Object e = g.attributes().get("eps");
        if (e instanceof Double d) {
            eps = d;
        } else if (e != null) {
            throw bad(kind + " " + g.label() + " eps is " + AllowList.describe(e) + ", not a float");
        }
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw bad(kind + " " + g.label() + " eps " + eps + " is not a finite non-negative number");
        }
        return eps;
    }

    private Norm batchNorm(ModuleTree.Group g) {
        Set<String> names = g.tensors().keySet();
        if (!BATCH_NORM.containsAll(names) || !names.contains("running_mean") || !names.contains("running_var")
                || names.contains("weight") != names.contains("bias")) {
            throw unsupported("BatchNorm1d " + g.label() + " with keys " + g.keys()
                    + " (expected running_mean, running_var, num_batches_tracked and, when affine, weight and bias)");
        }
        if (Boolean.FALSE.equals(g.attributes().get("track_running_stats"))) {
            throw unsupported("BatchNorm1d " + g.label() + " without running statistics normalises each batch by itself; not supported");
        }
        double eps = eps(g, "BatchNorm1d");
        if (Boolean.TRUE.equals(g.attributes().get("training"))) {
            notes.add(g.prefix() + " (BatchNorm1d) was saved in training mode; it is computed as in eval mode, with its running statistics");
        }
        TensorRef mean = require(g, "running_mean");
        TensorRef var = require(g, "running_var");
        TensorRef w = g.tensors().get("weight");
        TensorRef b = g.tensors().get("bias");
        for (TensorRef t : new TensorRef[] {mean, var, w, b}) {
            if (t != null && (t.rank() != 1 || t.dim(0) != mean.dim(0) || mean.rank() != 1)) {
                throw bad("BatchNorm1d " + g.label() + " tensors are not all [features]: keys " + g.keys());
            }
        }
        return new Norm(g, w, b, mean, var, eps);
    }

    private Recurrent recurrent(ModuleTree.Group g) {
        // Key k -> (name, layer, reverse), checked to form complete layers.
        int layers = 0;
        boolean reverse = false;
        List<String> odd = new ArrayList<>();
        for (String n : g.tensors().keySet()) {
            Matcher m = RECURRENT.matcher(n);
            if (!m.matches()) {
                odd.add(g.key(n));
                continue;
            }
            layers = Math.max(layers, Integer.parseInt(m.group(2)) + 1);
            reverse |= m.group(3) != null;
        }
        if (layers == 0) {
            throw bad("recurrent module " + g.label() + " has no weights (weight_ih_l0 ...)");
        }
        if (!odd.isEmpty()) {
            throw unsupported("recurrent module " + g.label() + " also has keys " + String.join(", ", odd) + ", which nn.LSTM/GRU/RNN never have");
        }
        boolean bias = g.tensors().containsKey("bias_ih_l0");
        boolean proj = g.tensors().containsKey("weight_hr_l0");
        int dirs = reverse ? 2 : 1;
        Set<String> expected = new LinkedHashSet<>();
        for (int k = 0; k < layers; k++) {
            for (int d = 0; d < dirs; d++) {
                String sfx = "_l" + k + (d == 1 ? "_reverse" : "");
                expected.add("weight_ih" + sfx);
                expected.add("weight_hh" + sfx);
                if (bias) {
                    expected.add("bias_ih" + sfx);
                    expected.add("bias_hh" + sfx);
                }
                if (proj) {
                    expected.add("weight_hr" + sfx);
                }
            }
        }
        if (!expected.equals(g.tensors().keySet())) {
            Set<String> missing = new LinkedHashSet<>(expected);
            missing.removeAll(g.tensors().keySet());
            Set<String> extra = new LinkedHashSet<>(g.tensors().keySet());
            extra.removeAll(expected);
            throw bad("recurrent module " + g.label() + " of " + layers + " layer(s)" + (dirs == 2 ? ", bidirectional" : "")
                    + (missing.isEmpty() ? "" : ", lacks " + keys(g, missing)) + (extra.isEmpty() ? "" : ", has unexpected " + keys(g, extra)));
        }
        TensorRef ih = g.tensors().get("weight_ih_l0");
        TensorRef hh = g.tensors().get("weight_hh_l0");
        if (ih.rank() != 2 || hh.rank() != 2) {
            throw bad(g.key("weight_ih_l0") + " " + ih.shapeText() + " and " + g.key("weight_hh_l0") + " " + hh.shapeText() + " must be matrices");
        }
        long hidden;
        long projSize = 0;
        if (proj) {
            TensorRef hr = g.tensors().get("weight_hr_l0");
            if (hr.rank() != 2) {
                throw bad(g.key("weight_hr_l0") + " " + hr.shapeText() + " must be a matrix [proj_size, hidden_size]");
            }
            hidden = hr.dim(1);
            projSize = hr.dim(0);
        } else {
            hidden = hh.dim(1);
        }
        if (hidden <= 0 || hh.dim(0) % hidden != 0) {
            throw bad(g.key("weight_hh_l0") + " " + hh.shapeText() + " has no whole number of gates of hidden size " + hidden);
        }
        long gates = hh.dim(0) / hidden;
        Kind kind = gates == 4 ? Kind.LSTM : gates == 3 ? Kind.GRU : gates == 1 ? Kind.RNN : null;
        if (kind == null || (proj && kind != Kind.LSTM)) {
            throw unsupported(g.key("weight_hh_l0") + " " + hh.shapeText() + " holds " + gates + " gates of " + hidden
                    + "; nn.LSTM has 4, nn.GRU 3, nn.RNN 1" + (proj ? " (and only nn.LSTM has weight_hr)" : ""));
        }
        if (hidden > Integer.MAX_VALUE / 8 || ih.dim(1) > Integer.MAX_VALUE || projSize > Integer.MAX_VALUE) {
            throw bad(g.label() + " sizes are too large: " + ih.shapeText() + ", " + hh.shapeText());
        }
        Map<String, Object> a = g.attributes();
        ActivationFn act = ActivationFn.TANH;
        Boolean batchFirst = null;
        if (g.cls() != null) {
            String mode = a.get("mode") instanceof String s ? s : null;
            Kind said = mode == null ? kindOfClass(g.cls().name())
                    : mode.equals("LSTM") ? Kind.LSTM : mode.equals("GRU") ? Kind.GRU : mode.startsWith("RNN_") ? Kind.RNN : null;
            if (said != kind) {
                throw bad("module " + g.label() + (mode != null ? " with mode '" + mode + "'" : "") + " holds the weights of an nn." + kind);
            }
            agree(g, "input_size", ih.dim(1));
            agree(g, "hidden_size", hidden);
            agree(g, "num_layers", layers);
            agree(g, "proj_size", projSize);
            agreeFlag(g, "bias", bias);
            agreeFlag(g, "bidirectional", dirs == 2);
            Object bf = a.get("batch_first");
            if (bf != null && !(bf instanceof Boolean)) {
                throw bad("module " + g.label() + " batch_first is " + AllowList.describe(bf) + ", not a bool");
            }
            batchFirst = (Boolean) bf;
            if (kind == Kind.RNN) {
                String nl = a.get("nonlinearity") instanceof String s ? s
                        : "RNN_RELU".equals(mode) ? "relu" : "RNN_TANH".equals(mode) || mode == null ? "tanh" : null;
                if ("relu".equals(nl)) {
                    act = ActivationFn.RELU;
                } else if (!"tanh".equals(nl)) {
                    throw unsupported("nn.RNN " + g.label() + " with nonlinearity " + AllowList.describe(a.get("nonlinearity")));
                }
                if (mode != null && !mode.equals(act == ActivationFn.RELU ? "RNN_RELU" : "RNN_TANH")) {
                    throw bad("nn.RNN " + g.label() + " has mode '" + mode + "' but nonlinearity '" + nl + "'");
                }
            }
        } else if (kind == Kind.RNN) {
            notes.add((g.prefix().isEmpty() ? "the RNN" : g.prefix()) + " is taken as tanh (a state_dict does not hold nn.RNN's nonlinearity)");
        }
        return new Recurrent(g, kind, layers, dirs, (int) ih.dim(1), (int) hidden, (int) projSize, bias, act, batchFirst);
    }

    private static Kind kindOfClass(String c) {
        return c.equals("LSTM") ? Kind.LSTM : c.equals("GRU") ? Kind.GRU : c.equals("RNN") ? Kind.RNN : null;
    }

    private void agree(ModuleTree.Group g, String attribute, long fromWeights) {
        Object v = g.attributes().get(attribute);
        if (v != null && !(v instanceof Long l && l == fromWeights)) {
            throw bad("module " + g.label() + " says " + attribute + "=" + AllowList.describe(v) + ", its weights say " + fromWeights);
        }
    }

    private void agreeFlag(ModuleTree.Group g, String attribute, boolean fromWeights) {
        Object v = g.attributes().get(attribute);
        if (v != null && !(v instanceof Boolean b && b == fromWeights)) {
            throw bad("module " + g.label() + " says " + attribute + "=" + AllowList.describe(v) + ", its weights say " + fromWeights);
        }
    }

    private static String keys(ModuleTree.Group g, Set<String> names) {
        List<String> l = new ArrayList<>();
        names.forEach(n -> l.add(g.key(n)));
        return l.size() <= 6 ? String.join(", ", l) : String.join(", ", l.subList(0, 6)) + " and " + (l.size() - 6) + " more";
    }

    // ---- IR

    /** A tensor that must hold floating-point values (weights). */
    private Tensor floating(TensorRef t, String key) {
        if (!t.type().floating()) {
            throw bad("tensor '" + key + "' holds " + t.type().dtypeName() + " values, not floating-point weights");
        }
        if (t.type() == StorageType.DOUBLE && notes.stream().noneMatch(n -> n.startsWith("float64"))) {
            notes.add("float64 weights are rounded to float32");
        }
        return Storages.materialize(file, t, key);
    }

    /** The tensor {@code name} of layer k, direction d, of a recurrent module. */
    private Tensor weight(Recurrent r, String name, int k, int d, int... shape) {
        String n = name + "_l" + k + (d == 1 ? "_reverse" : "");
        String key = r.group().key(n);
        TensorRef t = r.group().tensors().get(n);
        if (!Arrays.equals(t.size(), Arrays.stream(shape).asLongStream().toArray())) {
            throw bad("tensor '" + key + "' is " + t.shapeText() + ", but layer " + k + " of " + r.group().label() + " needs "
                    + Arrays.toString(shape));
        }
        return floating(t, key);
    }

    /** Emits the module's layers reading {@code cur}; returns the value of its output sequence [T, B, D*H] or [B, T, D*H]. */
    private String recurrent(Recurrent r, String cur, boolean outputs, List<ValueInfo> modelOutputs) {
        int dirs = r.directions();
        int hidden = r.hidden();
        int out = r.outputSize();
        int rows = r.kind().gates * hidden;
        Direction direction = dirs == 2 ? Direction.BIDIRECTIONAL : Direction.FORWARD;
        Layout layout = batchMajor ? Layout.BATCH_MAJOR : Layout.TIME_MAJOR;
        String base = name(r.group(), kindName(r));
        List<String> hs = new ArrayList<>();
        List<String> cs = new ArrayList<>();
        int in = r.inputSize();
        for (int k = 0; k < r.layers(); k++) {
            String layerName = layerNames.fresh(r.layers() == 1 ? base : base + ".l" + k);
            boolean lastLayer = k == r.layers() - 1;
            String y = valueNames.fresh(layerName + "/Y");
            // A single time-major layer's last states are h_n and c_n as they are.
            boolean direct = r.layers() == 1 && !batchMajor;
            String yh = outputs ? (direct ? "h_n" : valueNames.fresh(layerName + "/Y_h")) : null;
            String yc = outputs && r.kind() == Kind.LSTM ? (direct ? "c_n" : valueNames.fresh(layerName + "/Y_c")) : null;
            RecurrentPorts ports = new RecurrentPorts(cur, null, null, null, y, yh, yc);
            switch (r.kind()) {
                case LSTM -> {
                    List<LstmWeights> ws = new ArrayList<>();
                    List<ActivationFn> acts = new ArrayList<>();
                    for (int d = 0; d < dirs; d++) {
                        Tensor w = GateOrder.PYTORCH.toCanonical(weight(r, "weight_ih", k, d, rows, in), 0);
                        Tensor rr = GateOrder.PYTORCH.toCanonical(weight(r, "weight_hh", k, d, rows, out), 0);
                        Tensor wb = r.bias() ? GateOrder.PYTORCH.toCanonical(weight(r, "bias_ih", k, d, rows), 0) : Tensor.zeros(rows);
                        Tensor rb = r.bias() ? GateOrder.PYTORCH.toCanonical(weight(r, "bias_hh", k, d, rows), 0) : Tensor.zeros(rows);
                        Tensor p = r.proj() > 0 ? weight(r, "weight_hr", k, d, r.proj(), hidden) : null;
                        ws.add(new LstmWeights(w, rr, wb, rb, null, p));
                        acts.addAll(LstmSpec.DEFAULT_ACTIVATIONS);
                    }
                    LstmSpec spec = new LstmSpec(in, hidden, r.proj(), direction, layout, null, false, acts);
                    layers.add(new Layer.Lstm(layerName, ports, spec, ws, GateOrder.PYTORCH));
                }
                case GRU -> {
                    List<RecurrentWeights> ws = new ArrayList<>();
                    List<ActivationFn> acts = new ArrayList<>();
                    for (int d = 0; d < dirs; d++) {
                        GateOrder.Gru g = GateOrder.Gru.PYTORCH;
                        ws.add(new RecurrentWeights(g.toCanonical(weight(r, "weight_ih", k, d, rows, in), 0),
                                g.toCanonical(weight(r, "weight_hh", k, d, rows, hidden), 0),
                                r.bias() ? g.toCanonical(weight(r, "bias_ih", k, d, rows), 0) : Tensor.zeros(rows),
                                r.bias() ? g.toCanonical(weight(r, "bias_hh", k, d, rows), 0) : Tensor.zeros(rows)));
                        acts.add(ActivationFn.SIGMOID);
                        acts.add(ActivationFn.TANH);
                    }
                    // PyTorch applies the reset gate to the recurrent product: ONNX's linear_before_reset.
                    RecurrentSpec spec = new RecurrentSpec(in, hidden, direction, layout, null, true, acts);
                    layers.add(new Layer.Gru(layerName, ports, spec, ws, GateOrder.Gru.PYTORCH));
                }
                case RNN -> {
                    List<RecurrentWeights> ws = new ArrayList<>();
                    List<ActivationFn> acts = new ArrayList<>();
                    for (int d = 0; d < dirs; d++) {
                        ws.add(new RecurrentWeights(weight(r, "weight_ih", k, d, rows, in), weight(r, "weight_hh", k, d, rows, hidden),
                                r.bias() ? weight(r, "bias_ih", k, d, rows) : Tensor.zeros(rows),
                                r.bias() ? weight(r, "bias_hh", k, d, rows) : Tensor.zeros(rows)));
                        acts.add(r.activation());
                    }
                    RecurrentSpec spec = new RecurrentSpec(in, hidden, direction, layout, null, false, acts);
                    layers.add(new Layer.Rnn(layerName, ports, spec, ws));
                }
                default -> throw LstmxException.internal(r.kind().toString());
            }
            cur = sequence(layerName, y, dirs, outputs && lastLayer ? "y" : null);
            if (outputs) {
                boolean single = r.layers() == 1;
                hs.add(stateLayerMajor(layerName, yh, single ? "h_n" : null));
                if (yc != null) {
                    cs.add(stateLayerMajor(layerName, yc, single ? "c_n" : null));
                }
            }
            in = dirs * out;
        }
        if (outputs) {
            Shape seq = batchMajor ? Shape.of("batch", "time", dirs * out) : Shape.of("time", "batch", dirs * out);
            modelOutputs.add(new ValueInfo("y", DType.FLOAT32, seq));
            modelOutputs.add(new ValueInfo(stack(base + ".h_n", hs, "h_n"), DType.FLOAT32, Shape.of(r.layers() * dirs, "batch", out)));
            if (!cs.isEmpty()) {
                modelOutputs.add(new ValueInfo(stack(base + ".c_n", cs, "c_n"), DType.FLOAT32, Shape.of(r.layers() * dirs, "batch", hidden)));
            }
        }
        return cur;
    }

    /** The layer list and names as {@link TorchRecurrent}'s helpers want them. */
    private final TorchRecurrent.Graph graph = new TorchRecurrent.Graph() {
        @Override
        public String value(String base) {
            return valueNames.fresh(base);
        }

        @Override
        public String layerName(String base) {
            return layerNames.fresh(base);
        }

        @Override
        public void add(Layer l) {
            layers.add(l);
        }
    };

    /** Y as PyTorch's output sequence (see {@link TorchRecurrent#sequence}). */
    private String sequence(String layerName, String y, int dirs, String target) {
        return TorchRecurrent.sequence(graph, layerName, y, dirs, batchMajor, target);
    }

    /** A last state as [D, B, H] (see {@link TorchRecurrent#layerMajor}). */
    private String stateLayerMajor(String layerName, String state, String target) {
        return TorchRecurrent.layerMajor(graph, layerName, state, batchMajor, target);
    }

    /** The states of all layers stacked as [L*D, B, H] under {@code target}. */
    private String stack(String layerName, List<String> states, String target) {
        if (states.size() == 1) {
            if (!states.get(0).equals(target)) {
                throw LstmxException.internal("a single layer's state '" + states.get(0) + "' should have been written as " + target);
            }
        } else {
            layers.add(new Layer.Concat(layerNames.fresh(layerName), states, target, 0));
        }
        return target;
    }

    /** y = x * s + t with s = w / sqrt(var + eps), t = b - mean * s (computed in double, once). */
    private String batchNorm(Norm n, String cur, String target) {
        String base = name(n.group(), "batchnorm");
        float[] mean = floating(n.mean(), n.group().key("running_mean")).toFloatArray();
        float[] var = floating(n.var(), n.group().key("running_var")).toFloatArray();
        float[] w = n.weight() == null ? null : floating(n.weight(), n.group().key("weight")).toFloatArray();
        float[] b = n.bias() == null ? null : floating(n.bias(), n.group().key("bias")).toFloatArray();
        float[] scale = new float[mean.length];
        float[] shift = new float[mean.length];
        for (int i = 0; i < mean.length; i++) {
            double s = (w == null ? 1.0 : w[i]) / Math.sqrt(var[i] + n.eps());
            scale[i] = (float) s;
            shift[i] = (float) ((b == null ? 0.0 : b[i]) - mean[i] * s);
        }
        String sName = valueNames.fresh(base + "/scale");
        String tName = valueNames.fresh(base + "/shift");
        String scaled = valueNames.fresh(base + "/scaled");
        String out = target != null ? target : valueNames.fresh(base + "/out");
        layers.add(new Layer.Constant(layerNames.fresh(base + ".scale"), sName, Tensor.ofFloats(new int[] {scale.length}, scale)));
        layers.add(new Layer.Constant(layerNames.fresh(base + ".shift"), tName, Tensor.ofFloats(new int[] {shift.length}, shift)));
        layers.add(new Layer.Binary(layerNames.fresh(base + ".mul"), Layer.Binary.Op.MUL, cur, sName, scaled));
        layers.add(new Layer.Binary(layerNames.fresh(base + ".add"), Layer.Binary.Op.ADD, scaled, tName, out));
        return out;
    }
}
