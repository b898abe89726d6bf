package io.lstmx.importers.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.importers.kit.FoldBudget;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;
import io.lstmx.util.UniqueNames;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.NodeDef;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Symbolic interpreter of a TensorFlow graph and its function library: evaluates, in dependency
 * order, only the nodes the wanted outputs need, each through the converter {@link TfOps}
 * registers for its op. Values are the kit's {@link Value}s (constants and shape arithmetic fold
 * at import time, run-time values become IR layers) and {@link Resource} handles of variables.
 * Calls ({@code StatefulPartitionedCall}, {@code PartitionedCall}) are inlined, except functions
 * that carry Keras's {@code api_implements} ("lstm_…", "gru_…"), which {@link KerasRecurrent}
 * turns into one recurrent layer each. Unknown ops are collected and reported together.
 */
final class TfInterpreter {
    /** A variable handle (VarHandleOp, VariableV2), read by ReadVariableOp. */
    record Resource(String name, Tensor value) {
    }

    static final int MAX_DEPTH = 48;
    static final long MAX_NODES = 2_000_000;

    final String file;
    final Map<String, FunctionDef> functions;
    final Function<String, Tensor> variables;
    final FoldBudget budget;
    final List<Layer> layers = new ArrayList<>();
    final UniqueNames names = new UniqueNames();
    /** "Op (node 'name')" for every node whose op has no converter. */
    final List<String> unknown = new ArrayList<>();
    final Map<Tensor, String> constants = new IdentityHashMap<>();
    /** Names of sequences a While loop being read iterates over (its body reads them at step t). */
    final java.util.Set<String> loopSequences = new java.util.HashSet<>();
    /** Values clipped by clip_by_value inside While loop bodies (by IR value name), for the loop's cell matcher. */
    final Map<String, TfSymbolic.ClipOf> clips = new HashMap<>();
    /** SelectV2 outputs in masked While loop bodies (by IR value name), for the loop reader. */
    final Map<String, TfSymbolic.MaskSelect> loopSelects = new HashMap<>();
    /** The x_t stand-in of the While loop body being read. */
    String loopXt;
    /** Per-step outputs of recurrent ops (by IR value name) and their last step (Gather at T - 1). */
    final Map<String, Value> lastSteps = new HashMap<>();
    /** Values flattened to [-1, K] in TensorFlow but kept at their rank in the IR (see TfOps.reshape), and their leading dimensions. */
    final java.util.Set<String> virtualFlat = new java.util.HashSet<>();
    final Map<io.lstmx.importers.kit.SDim, List<io.lstmx.importers.kit.SDim>> flattened = new HashMap<>();
    private static final java.util.Set<String> FLAT_READERS = java.util.Set.of("MatMul", "AddV2", "Add", "BiasAdd", "Reshape", "Identity");
    private long evaluated;
    int serial;

    TfInterpreter(String file, Map<String, FunctionDef> functions, Function<String, Tensor> variables, FoldBudget budget) {
        this.file = file;
        this.functions = functions;
        this.variables = variables;
        this.budget = budget;
    }

    void add(Layer l) {
        budget.holdLayer(l);
        layers.add(l);
    }

    static String describe(Object o) {
        if (o instanceof Value v) {
            return Value.describe(v);
        }
        if (o instanceof Resource r) {
            return "the variable '" + SafeText.name(r.name()) + "'";
        }
        return String.valueOf(o);
    }

    /** {@code v} as an IR value name: constants (and filled values of known shape) become Constant layers. */
    String materialize(Value v, TfNode n) {
        v = Value.simplify(v);
        if (v instanceof Value.Run r) {
            return r.name();
        }
        Tensor t = io.lstmx.importers.kit.Fold.constant(v, n.name(), budget);
        if (t == null) {
            throw n.unsupported("an input is " + Value.describe(v) + "; lstmx needs it as a tensor");
        }
        String have = constants.get(t);
        if (have != null) {
            return have;
        }
        String name = names.fresh(n.name() + "/const");
        add(new Layer.Constant(name, name, t));
        constants.put(t, name);
        return name;
    }

    /** A reference to output {@code index} of node {@code node}, or to function argument {@code node} when index is -1. */
    record Ref(String node, int index) {
    }

    /**
     * Evaluates {@code nodes} (a graph or a function body) for the references {@code wanted}.
     *
     * @param args         function arguments by name (empty for a graph)
     * @param functionBody whether references use the function syntax "node:out_arg:i"
     * @param scope        prefix of the names of the nodes' IR values
     * @return one value per wanted reference
     */
    List<Object> evaluate(List<NodeDef> nodes, Map<String, Object> args, boolean functionBody, List<String> wanted, String scope,
                          int depth, Map<String, Object> bound) {
        if (depth > MAX_DEPTH) {
            throw LstmxException.unsupported(file + ": function calls nested deeper than " + MAX_DEPTH + " at '" + SafeText.name(scope) + "'");
        }
        Map<String, NodeDef> byName = new HashMap<>();
        for (NodeDef d : nodes) {
            if (byName.put(d.getName(), d) != null) {
                throw LstmxException.badInput(file + ": two nodes named '" + SafeText.name(scope + d.getName()) + "'");
            }
        }
        Map<String, Object[]> values = new HashMap<>();
        List<Ref> wantedRefs = new ArrayList<>();
        for (String w : wanted) {
            wantedRefs.add(ref(w, byName, args, functionBody, scope));
        }
        // iterative depth-first topological order over data inputs, from the wanted nodes
        Map<String, Integer> state = new HashMap<>();
        List<NodeDef> order = new ArrayList<>();
        Deque<Object[]> stack = new ArrayDeque<>();
        for (Ref r : wantedRefs) {
            if (r.index() < 0 || state.containsKey(r.node())) {
                continue;
            }
            stack.push(new Object[] {byName.get(r.node()), 0});
            state.put(r.node(), 1);
            while (!stack.isEmpty()) {
                Object[] top = stack.peek();
                NodeDef d = (NodeDef) top[0];
                int i = (Integer) top[1];
                if (i < d.getInputCount()) {
                    top[1] = i + 1;
                    String in = d.getInput(i);
                    if (in.startsWith("^")) {
                        continue;
                    }
                    Ref dep = ref(in, byName, args, functionBody, scope);
                    if (dep.index() < 0) {
                        continue;
                    }
                    Integer s = state.get(dep.node());
                    if (s == null) {
                        state.put(dep.node(), 1);
                        stack.push(new Object[] {byName.get(dep.node()), 0});
                    } else if (s == 1) {
                        throw LstmxException.unsupported(file + ": node '" + SafeText.name(scope + d.getName())
                                + "' is in a cycle (TF1 control flow: Enter/Merge/NextIteration loops are not read; TF2 While ops are)");
                    }
                } else {
                    stack.pop();
                    state.put(d.getName(), 2);
                    order.add(d);
                }
            }
        }
        for (NodeDef d : order) {
            if (++evaluated > MAX_NODES) {
                throw LstmxException.unsupported(file + ": more than " + MAX_NODES + " nodes to evaluate (functions inlined)");
            }
            List<Object> ins = new ArrayList<>();
            boolean poisoned = false;
            for (String s : d.getInputList()) {
                if (s.startsWith("^")) {
                    continue;
                }
                Ref r = ref(s, byName, args, functionBody, scope);
                Object v;
                if (r.index() < 0) {
                    v = args.get(r.node());
                } else {
                    Object[] outs = values.get(r.node());
                    if (r.index() >= outs.length) {
                        if (outs.length == 1 && outs[0] instanceof Value.Poisoned) {
                            v = outs[0];
                        } else {
                            throw LstmxException.badInput(file + ": node '" + SafeText.name(scope + d.getName()) + "' reads output " + r.index()
                                    + " of '" + SafeText.name(scope + r.node()) + "', which has " + outs.length);
                        }
                    } else {
                        v = outs[r.index()];
                    }
                }
                poisoned |= v instanceof Value.Poisoned;
                ins.add(v);
            }
            TfNode n = new TfNode(this, d, scope, ins, depth);
            Object[] outs;
            if (poisoned) {
                outs = new Object[] {new Value.Poisoned()};
            } else if (d.getOp().equals("Placeholder") && bound != null && bound.containsKey(d.getName())) {
                outs = new Object[] {bound.get(d.getName())};
            } else {
                TfOps.Op op = TfOps.find(d.getOp(), functions.containsKey(d.getOp()));
                boolean flat = false;
                for (Object i : ins) {
                    flat |= i instanceof Value.Run r && virtualFlat.contains(r.name());
                }
                if (flat && !FLAT_READERS.contains(d.getOp())) {
                    throw n.unsupported("reads a value flattened to [-1, K] for a matrix product; lstmx reads it only in matrix products,"
                            + " additions and the reshape that restores its shape");
                }
                if (op == null) {
                    unknown.add(SafeText.name(d.getOp()) + " (node '" + SafeText.name(scope + d.getName()) + "')");
                    outs = new Object[] {new Value.Poisoned()};
                } else {
                    outs = op.convert(n);
                }
                if (flat && !d.getOp().equals("Reshape")) {
                    for (Object o : outs) {
                        if (o instanceof Value.Run r && r.shape() != null && r.shape().size() == 2 && flattened.containsKey(r.shape().get(0))) {
                            virtualFlat.add(r.name());
                        }
                    }
                }
            }
            values.put(d.getName(), outs);
        }
        List<Object> result = new ArrayList<>();
        for (Ref r : wantedRefs) {
            if (r.index() < 0) {
                result.add(args.get(r.node()));
                continue;
            }
            Object[] outs = values.get(r.node());
            if (outs.length == 1 && outs[0] instanceof Value.Poisoned) {
                result.add(outs[0]);
            } else if (r.index() >= outs.length) {
                throw LstmxException.badInput(file + ": output " + r.index() + " of '" + SafeText.name(scope + r.node()) + "' is asked for; it has "
                        + outs.length);
            } else {
                result.add(outs[r.index()]);
            }
        }
        return result;
    }

    private Ref ref(String s, Map<String, NodeDef> byName, Map<String, Object> args, boolean functionBody, String scope) {
        if (functionBody) {
            int c = s.indexOf(':');
            if (c < 0) {
                if (!args.containsKey(s)) {
                    throw LstmxException.badInput(file + ": function '" + SafeText.name(scope) + "' reads '" + SafeText.name(s)
                            + "', neither an argument nor a node output");
                }
                return new Ref(s, -1);
            }
            String node = s.substring(0, c);
            String rest = s.substring(c + 1);
            int c2 = rest.lastIndexOf(':');
            NodeDef d = byName.get(node);
            if (d == null || c2 < 0) {
                throw LstmxException.badInput(file + ": reference '" + SafeText.name(s) + "' in '" + SafeText.name(scope) + "' names no node output");
            }
            int k = parseIndex(rest.substring(c2 + 1), s);
            return new Ref(node, TfOps.outputIndex(d.getOp(), rest.substring(0, c2), k));
        }
        int c = s.lastIndexOf(':');
        String node = c < 0 ? s : s.substring(0, c);
        int k = c < 0 ? 0 : parseIndex(s.substring(c + 1), s);
        if (!byName.containsKey(node)) {
            throw LstmxException.badInput(file + ": reference '" + SafeText.name(s) + "' names no node");
        }
        return new Ref(node, k);
    }

    private int parseIndex(String s, String ref) {
        try {
            int k = Integer.parseInt(s);
            if (k < 0 || k > 1_000_000) {
                throw new NumberFormatException();
            }
            return k;
        } catch (NumberFormatException e) {
            throw LstmxException.badInput(file + ": reference '" + SafeText.name(ref) + "' has a bad output index");
        }
    }

    /** Calls function {@code name} on {@code args} (inlined into the IR under {@code scope}). */
    List<Object> call(String name, List<Object> args, TfNode at) {
        FunctionDef f = functions.get(name);
        if (f == null) {
            throw at.bad("calls function '" + SafeText.name(name) + "', which the library does not hold");
        }
        if (KerasRecurrent.implementsRecurrent(f)) {
            return KerasRecurrent.convert(f, args, at);
        }
        var sig = f.getSignature();
        if (sig.getInputArgCount() != args.size()) {
            throw at.bad("passes " + args.size() + " arguments to '" + SafeText.name(name) + "', which takes " + sig.getInputArgCount());
        }
        Map<String, Object> bound = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            bound.put(sig.getInputArg(i).getName(), args.get(i));
        }
        List<String> rets = new ArrayList<>();
        for (var o : sig.getOutputArgList()) {
            String r = f.getRetMap().get(o.getName());
            if (r == null) {
                throw at.bad("function '" + SafeText.name(name) + "' does not return its output '" + SafeText.name(o.getName()) + "'");
            }
            rets.add(r);
        }
        return evaluate(f.getNodeDefList(), bound, true, rets, at.name() + "/", at.depth + 1, null);
    }

    static List<SDim> shape(Object o) {
        return o instanceof Value v ? Value.shapeOf(v) : null;
    }
}
