package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.LstmxException;
import io.lstmx.importers.kit.Fold;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.onnx.proto.Onnx.TensorProto.DataType;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Function;

/**
 * Removes the batch sort and unsort that PyTorch's {@code pack_padded_sequence(...,
 * enforce_sorted=False)} puts around an LSTM, before the graph is converted.
 *
 * <p>torch.onnx exports the idiom as: {@code TopK} over the 1-D lengths with k = their count (a
 * permutation pi of the batch rows and the sorted lengths, lengths[pi]); {@code Gather(x, pi)} along
 * the batch axis; LSTM nodes fed the sorted lengths as sequence_lens; and a {@code Gather} of every
 * result along its batch axis with the inverse permutation, built as
 * {@code ScatterElements(zeros[n], pi, Range(0, n, 1))}. The IR has no run-time sort or scatter,
 * but none is needed: an LSTM treats every batch row on its own (shared weights, each row's own
 * length, batch-uniform zero initial states), so LSTM(x[pi], lengths[pi]) = LSTM(x, lengths)[pi],
 * and the unsort gives back LSTM(x, lengths). The ONNX LSTM does not need sorted lengths.
 *
 * <p>The rewrite is proved, not guessed: starting from the TopK, every value that carries the
 * permutation is labelled with its batch axis, and each node that reads one must be an operator
 * that commutes with a permutation of that axis (Cast, Identity, Transpose, Squeeze and Unsqueeze
 * of other axes, Reshape keeping the leading axes up to it, Concat along another axis, Gather of
 * other axes with constant indices, unary activations, LSTM with the permuted batch axis and
 * permuted lengths), a Shape (permutation keeps shapes), or the unsort itself, which must use the
 * inverse of the same permutation along the labelled axis. A permuted value may not reach a
 * graph output. When anything else reads one, the graph is left unchanged (and the converter then
 * reports TopK/ScatterElements as unsupported). Values are "checked" once their batch size is
 * enforced at run time to equal the number of lengths (by an LSTM reading them with the permuted
 * lengths, or a Concat with such a value); an unsort of an unchecked value is refused, because
 * {@code Gather(x, pi)} also shrinks an x with more rows than there are lengths.
 *
 * <p>Applied, the sorting Gathers and the unsorting Gathers become Identity, the TopK's sorted
 * values become Identity of its input, Shape of the permutation becomes Shape of the TopK input
 * (k = n gives both shape [n]), and the nodes that only built the permutation and its inverse
 * (TopK, Range, ReduceProd, ScatterElements, ...) are dropped once nothing reads them. Every value
 * that carried the permutation now holds its rows in the original order, so it is renamed
 * ({@code name/unsorted}): a value keeps its file name only while it keeps its value, which lets a
 * reference engine's intermediate values be compared with lstmx's by name.
 */
final class PackedSequenceRewrite {
    /** Largest constant decoded while matching (axes, indices, shapes are tiny). */
    private static final int MAX_CONST_ELEMENTS = 1024;
    /** Longest Identity/Cast chain followed upwards (a malformed graph may close one into a cycle). */
    private static final int MAX_CHAIN = 64;

    private PackedSequenceRewrite() {
    }

    /** {@code graph} with every provable sort/unsort pair removed; the same graph when there is none. */
    static GraphProto apply(GraphProto graph) {
        Work w = null;
        Set<String> tried = new HashSet<>();
        boolean changed = false;
        for (int i = 0; i < graph.getNodeCount(); i++) {
            NodeProto n = w == null ? graph.getNode(i) : w.node(i);
            if (n == null || !n.getOpType().equals("TopK") || !isStandard(n) || n.getOutputCount() <= 1 || !tried.add(n.getOutput(1))) {
                continue;
            }
            if (w == null) {
                w = new Work(graph);
                if (w.hasSubgraph) {
                    return graph; // every attempt would fail: a subgraph may read the permutation without naming it as an input
                }
            }
            Attempt a = new Attempt(w, i);
            if (a.run()) {
                changed = true;
                // An earlier TopK whose outputs were renamed has not been tried under its new names.
                if (a.renamedTopK >= 0) {
                    i = Math.min(i, a.renamedTopK - 1);
                }
            }
        }
        return changed ? w.build() : graph;
    }

    /**
     * The graph being rewritten, kept up to date from one rewrite to the next, with who writes and
     * who reads each value and which names are taken. Each attempt looks things up here and each
     * rewrite changes only the nodes it concerns: rebuilding and re-indexing the whole graph once
     * per TopK (or once per rewrite) made a graph of many TopKs quadratic. Node positions never
     * change; a removed node leaves a null.
     */
    private static final class Work {
        private final GraphProto graph;
        private final NodeProto[] nodes;
        /** A node has a subgraph attribute (then no rewrite is made at all). */
        final boolean hasSubgraph;
        /** Live nodes writing each non-empty name, in no particular order; the last in graph order is its producer. */
        private final Map<String, List<Integer>> writers = new HashMap<>();
        /**
         * Nodes reading each name: every live reader is listed, but an entry may be stale (a node
         * since removed or rewritten, or listed twice); {@link Attempt#visit} ignores a node that
         * reads nothing labelled.
         */
        private final Map<String, List<Integer>> readers = new HashMap<>();
        /** How often live nodes' inputs and the graph outputs read each name. */
        private final Map<String, Integer> reads = new HashMap<>();
        /** How often each name appears among live nodes' inputs and outputs and value_info entries. */
        private final Map<String, Integer> uses = new HashMap<>();
        /** Graph input, output and initializer names: taken, and never renamed. */
        private final Set<String> fixedNames = new HashSet<>();
        private final List<ValueInfoProto> valueInfo;
        /** Positions in {@link #valueInfo} of the entries under each name, ascending. */
        private final Map<String, List<Integer>> valueInfoAt = new HashMap<>();
        /** Graph inputs by name (the last of a repeated name). */
        private final Map<String, ValueInfoProto> inputs = new HashMap<>();
        final Map<String, TensorProto> initializers = new HashMap<>();
        final Set<String> graphOutputs = new HashSet<>();

        Work(GraphProto g) {
            graph = g;
            nodes = g.getNodeList().toArray(new NodeProto[0]);
            boolean subgraph = false;
            for (int i = 0; i < nodes.length; i++) {
                add(i, nodes[i]);
                for (AttributeProto a : nodes[i].getAttributeList()) {
                    subgraph |= a.hasG() || a.getGraphsCount() > 0;
                }
            }
            hasSubgraph = subgraph;
            for (TensorProto t : g.getInitializerList()) {
                initializers.put(t.getName(), t);
                fixedNames.add(t.getName());
            }
            for (ValueInfoProto v : g.getInputList()) {
                inputs.put(v.getName(), v);
                fixedNames.add(v.getName());
            }
            for (ValueInfoProto v : g.getOutputList()) {
                graphOutputs.add(v.getName());
                fixedNames.add(v.getName());
                reads.merge(v.getName(), 1, Integer::sum);
            }
            valueInfo = new ArrayList<>(g.getValueInfoList());
            for (int k = 0; k < valueInfo.size(); k++) {
                valueInfoAt.computeIfAbsent(valueInfo.get(k).getName(), x -> new ArrayList<>()).add(k);
                uses.merge(valueInfo.get(k).getName(), 1, Integer::sum);
            }
        }

        /** The node at position {@code i}, null once removed. */
        NodeProto node(int i) {
            return nodes[i];
        }

        /** Position of the node writing {@code name} (the last, should several), or null. */
        Integer producer(String name) {
            List<Integer> w = writers.get(name);
            if (w == null || w.isEmpty()) {
                return null;
            }
            int last = w.get(0);
            for (int i : w) {
                last = Math.max(last, i);
            }
            return last;
        }

        /** Every node writing {@code name}. */
        List<Integer> writers(String name) {
            return writers.getOrDefault(name, List.of());
        }

        /** Every node reading {@code name}, and maybe some that no longer do (see {@link #readers}). */
        List<Integer> readers(String name) {
            return readers.getOrDefault(name, List.of());
        }

        /** How often live nodes and the graph outputs read {@code name}. */
        int reads(String name) {
            return reads.getOrDefault(name, 0);
        }

        /** True when {@code name} appears anywhere in the graph. */
        boolean isTaken(String name) {
            return uses.getOrDefault(name, 0) > 0 || fixedNames.contains(name);
        }

        /** What the graph declares for {@code name}: a graph input of that name, else its first value_info entry. */
        ValueInfoProto declared(String name) {
            ValueInfoProto v = inputs.get(name);
            if (v != null) {
                return v;
            }
            List<Integer> at = valueInfoAt.get(name);
            return at == null || at.isEmpty() ? null : valueInfo.get(at.get(0));
        }

        /** Puts {@code n} (null: nothing) at position {@code i}. */
        void set(int i, NodeProto n) {
            NodeProto old = nodes[i];
            for (String in : old.getInputList()) {
                reads.merge(in, -1, Integer::sum);
                uses.merge(in, -1, Integer::sum);
            }
            for (String o : old.getOutputList()) {
                uses.merge(o, -1, Integer::sum);
                if (!o.isEmpty()) {
                    writers.get(o).remove(Integer.valueOf(i));
                }
            }
            nodes[i] = n;
            if (n != null) {
                add(i, n);
            }
        }

        private void add(int i, NodeProto n) {
            for (String in : n.getInputList()) {
                reads.merge(in, 1, Integer::sum);
                uses.merge(in, 1, Integer::sum);
                List<Integer> r = readers.computeIfAbsent(in, x -> new ArrayList<>());
                if (r.isEmpty() || r.get(r.size() - 1) != i) {
                    r.add(i);
                }
            }
            for (String o : n.getOutputList()) {
                uses.merge(o, 1, Integer::sum);
                if (!o.isEmpty()) {
                    writers.computeIfAbsent(o, x -> new ArrayList<>()).add(i);
                }
            }
        }

        /**
         * Renames values as {@code renamed} says in every node and value_info entry that names them;
         * returns the position of the first renamed TopK node, or -1.
         */
        int rename(Map<String, String> renamed) {
            Set<Integer> touched = new HashSet<>();
            for (String v : renamed.keySet()) {
                touched.addAll(readers(v));
                touched.addAll(writers(v));
            }
            int firstTopK = -1;
            for (int i : touched) {
                NodeProto n = nodes[i];
                if (n == null) {
                    continue;
                }
                NodeProto.Builder b = n.toBuilder();
                boolean changed = false;
                for (int k = 0; k < b.getInputCount(); k++) {
                    String to = renamed.get(b.getInput(k));
                    if (to != null) {
                        b.setInput(k, to);
                        changed = true;
                    }
                }
                for (int k = 0; k < b.getOutputCount(); k++) {
                    String to = renamed.get(b.getOutput(k));
                    if (to != null) {
                        b.setOutput(k, to);
                        changed = true;
                    }
                }
                if (changed) {
                    set(i, b.build());
                    if (n.getOpType().equals("TopK") && (firstTopK < 0 || i < firstTopK)) {
                        firstTopK = i;
                    }
                }
            }
            for (Map.Entry<String, String> e : renamed.entrySet()) {
                List<Integer> at = valueInfoAt.remove(e.getKey());
                if (at == null) {
                    continue;
                }
                for (int k : at) {
                    valueInfo.set(k, valueInfo.get(k).toBuilder().setName(e.getValue()).build());
                }
                uses.merge(e.getKey(), -at.size(), Integer::sum);
                uses.merge(e.getValue(), at.size(), Integer::sum);
                valueInfoAt.put(e.getValue(), at); // the new name was taken by nothing: no entries to merge
            }
            return firstTopK;
        }

        /** The graph as rewritten. */
        GraphProto build() {
            List<NodeProto> live = new ArrayList<>(nodes.length);
            for (NodeProto n : nodes) {
                if (n != null) {
                    live.add(n);
                }
            }
            return graph.toBuilder().clearNode().addAllNode(live).clearValueInfo().addAllValueInfo(valueInfo).build();
        }
    }

    private static boolean isStandard(NodeProto n) {
        return n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
    }

    /** What is known about a value that carries the permutation along one axis. */
    private record Permuted(int axis, int rank, boolean checked) {
    }

    /** Thrown to abandon one attempt; never escapes. */
    private static final class NoMatch extends Exception {
        NoMatch() {
            super(null, null, false, false);
        }
    }

    private static final NoMatch NO = new NoMatch();
    private static final Function<String, NoMatch> WRONG_TYPE = why -> NO;

    /** One attempt at the TopK at {@code topk}. */
    private static final class Attempt {
        private final Work w;
        private final int topk;

        /** Values equal to the permutation pi (integer typed). */
        private final Set<String> perm = new HashSet<>();
        /** Values equal to the inverse permutation. */
        private final Set<String> inv = new HashSet<>();
        private final Map<String, Permuted> permuted = new HashMap<>();
        /** Node index to its replacement; a null replacement removes the node. */
        private final Map<Integer, NodeProto> replaced = new HashMap<>();

        private String lengthsRoot;
        private String topkInput;

        /** Position of the first TopK node the rewrite renamed an output of, or -1. */
        int renamedTopK = -1;

        Attempt(Work w, int topk) {
            this.w = w;
            this.topk = topk;
        }

        /** Makes the rewrite in {@link #w} when it is proved; true when it was. */
        boolean run() {
            try {
                matchTopK();
                propagate();
                for (String v : concat(perm, inv, permuted.keySet())) {
                    if (w.graphOutputs.contains(v)) {
                        throw NO;
                    }
                }
                rewrite();
                return true;
            } catch (NoMatch e) {
                // Only the match failing means "no rewrite": anything else is a bug, reported as such.
                // A malformed node (missing inputs, wrong attribute types) is no match, left for its converter to report.
                return false;
            }
        }

        // ------------------------------------------------------------------ the TopK

        private void matchTopK() throws NoMatch {
            NodeProto n = w.node(topk);
            if (n.getInputCount() < 2 || n.getInput(1).isEmpty() || hasAttr(n, "k")) {
                throw NO; // TopK-1 has a constant k: not "all rows" of a run-time batch
            }
            topkInput = n.getInput(0);
            lengthsRoot = root(topkInput);
            if (declaredRank(lengthsRoot) != 1) {
                throw NO; // only then is pi a permutation of the whole tensor
            }
            long axis = attrInt(n, "axis", -1);
            if (axis != 0 && axis != -1) {
                throw NO;
            }
            if (!isElementCount(n.getInput(1), true, MAX_CHAIN)) {
                throw NO;
            }
            perm.add(n.getOutput(1));
            if (!n.getOutput(0).isEmpty()) {
                permuted.put(n.getOutput(0), new Permuted(0, 1, true));
                replaced.put(topk, identity(n, topkInput, n.getOutput(0)));
            } else {
                replaced.put(topk, null);
            }
        }

        /**
         * True when {@code name} is the number of lengths n: Gather(Shape(v), 0 or -1) (as a
         * scalar, or as a 1-element vector when {@code vectorOk}), Shape(v) itself when
         * {@code vectorOk}, or ReduceProd(Shape(v), keepdims=0), through Casts to integer types;
         * v is the lengths or the permutation (both have shape [n]). {@code depth} bounds the Cast
         * chain, which a malformed graph may close into a cycle.
         */
        private boolean isElementCount(String name, boolean vectorOk, int depth) throws NoMatch {
            NodeProto p = producerNode(name);
            if (p == null || depth == 0) {
                return false;
            }
            switch (p.getOpType()) {
                case "Cast", "Identity" -> {
                    return (p.getOpType().equals("Identity") || isIntegerCast(p)) && isElementCount(input(p, 0), vectorOk, depth - 1);
                }
                case "Shape" -> {
                    return vectorOk && isShapeOfN(p);
                }
                case "Gather" -> {
                    Tensor idx = constant(input(p, 1));
                    if (idx == null || idx.size() != 1 || (idx.rank() != 0 && !vectorOk) || idx.rank() > 1
                            || attrInt(p, "axis", 0) != 0) {
                        return false;
                    }
                    long k = idx.getLong(0);
                    NodeProto s = producerNode(input(p, 0));
                    return (k == 0 || k == -1) && s != null && s.getOpType().equals("Shape") && isShapeOfN(s);
                }
                case "ReduceProd" -> {
                    // The product of the one-element vector [n] is n; keepdims=1 leaves it a vector.
                    boolean axesInput = p.getInputCount() > 1 && !p.getInput(1).isEmpty();
                    boolean scalar = attrInt(p, "keepdims", 1) == 0 && attrInt(p, "noop_with_empty_axes", 0) == 0;
                    return !axesInput && reducesAll(p) && (scalar || vectorOk) && isShapeProducer(input(p, 0));
                }
                default -> {
                    return false;
                }
            }
        }

        private boolean reducesAll(NodeProto p) throws NoMatch {
            List<Long> axes = attrInts(p, "axes");
            return axes == null || axes.equals(List.of(0L)) || axes.equals(List.of(-1L));
        }

        private boolean isShapeProducer(String name) throws NoMatch {
            NodeProto s = producerNode(name);
            return s != null && s.getOpType().equals("Shape") && isShapeOfN(s);
        }

        /** Shape (whole, no start/end) of the lengths or of the permutation: the vector [n]. */
        private boolean isShapeOfN(NodeProto shape) throws NoMatch {
            if (hasAttr(shape, "start") || hasAttr(shape, "end")) {
                return false;
            }
            String v = input(shape, 0);
            return perm.contains(v) || root(v).equals(lengthsRoot);
        }

        // ------------------------------------------------------------------ propagation

        /**
         * Visits, in graph order, the nodes after the TopK that read a labelled value. Only those can
         * do anything (see {@link #visit}), and every label is an output of the TopK or of a visited
         * node, so following readers from each newly labelled value finds all of them without walking
         * the rest of the graph: an attempt costs what its permutation reaches, not the graph's size.
         * A reader at or before the labelling node is not visited, as in a walk in graph order.
         */
        private void propagate() throws NoMatch {
            PriorityQueue<Integer> pending = new PriorityQueue<>();
            Set<Integer> queued = new HashSet<>();
            enqueueReaders(topk, pending, queued);
            while (!pending.isEmpty()) {
                int i = pending.poll();
                if (w.node(i) != null) {
                    visit(i, w.node(i));
                    enqueueReaders(i, pending, queued);
                }
            }
        }

        /** Queues the later nodes that read a labelled output of node {@code i}. */
        private void enqueueReaders(int i, PriorityQueue<Integer> pending, Set<Integer> queued) {
            for (String o : w.node(i).getOutputList()) {
                if (o.isEmpty() || !(perm.contains(o) || inv.contains(o) || permuted.containsKey(o))) {
                    continue;
                }
                for (int reader : w.readers(o)) {
                    if (reader > i && queued.add(reader)) {
                        pending.add(reader);
                    }
                }
            }
        }

        private void visit(int index, NodeProto n) throws NoMatch {
            boolean labelled = false;
            for (String in : n.getInputList()) {
                if (perm.contains(in) || inv.contains(in) || permuted.containsKey(in)) {
                    labelled = true;
                    break;
                }
            }
            if (!labelled) {
                return;
            }
            if (!isStandard(n)) {
                throw NO;
            }
            String in0 = n.getInputCount() > 0 ? n.getInput(0) : "";
            switch (n.getOpType()) {
                case "Cast", "Identity" -> {
                    if (perm.contains(in0) || inv.contains(in0)) {
                        if (n.getOpType().equals("Cast") && !isIntegerCast(n)) {
                            throw NO;
                        }
                        (perm.contains(in0) ? perm : inv).add(output(n, 0));
                        replaced.put(index, null);
                    } else {
                        permuted.put(output(n, 0), permuted.get(in0));
                    }
                }
                case "Relu", "Tanh", "Sigmoid", "Dropout" -> {
                    Permuted p = requirePermuted(in0);
                    for (int k = 1; k < n.getInputCount(); k++) {
                        unlabelled(n.getInput(k));
                    }
                    for (String o : n.getOutputList()) {
                        if (!o.isEmpty()) {
                            permuted.put(o, p);
                        }
                    }
                }
                case "Shape" -> {
                    if (perm.contains(in0) || inv.contains(in0)) {
                        // pi and its inverse have the TopK input's shape [n].
                        replaced.put(index, n.toBuilder().setInput(0, topkInput).build());
                    }
                }
                case "Gather" -> gather(index, n);
                case "ScatterElements" -> scatter(index, n);
                case "Transpose" -> {
                    Permuted p = requirePermuted(in0);
                    List<Long> permAttr = attrInts(n, "perm");
                    int rank = permAttr != null ? permAttr.size() : p.rank();
                    if (rank < 0) {
                        throw NO;
                    }
                    int at = -1;
                    for (int k = 0; k < rank; k++) {
                        long src = permAttr == null ? rank - 1 - k : normalize(permAttr.get(k), rank);
                        if (src == p.axis()) {
                            at = k;
                        }
                    }
                    if (at < 0) {
                        throw NO;
                    }
                    permuted.put(output(n, 0), new Permuted(at, rank, p.checked()));
                }
                case "Squeeze" -> {
                    Permuted p = requirePermuted(in0);
                    List<Long> axes = axes(n);
                    if (axes == null) {
                        throw NO; // squeezes every size-1 axis, possibly the batch
                    }
                    int below = 0;
                    for (long a : axes) {
                        long k = normalize(a, p.rank());
                        if (k == p.axis()) {
                            throw NO;
                        }
                        below += k < p.axis() ? 1 : 0;
                    }
                    permuted.put(output(n, 0), new Permuted(p.axis() - below, p.rank() < 0 ? -1 : p.rank() - axes.size(), p.checked()));
                }
                case "Unsqueeze" -> {
                    Permuted p = requirePermuted(in0);
                    List<Long> axes = axes(n);
                    if (axes == null) {
                        throw NO;
                    }
                    int outRank = p.rank() < 0 ? -1 : p.rank() + axes.size();
                    Set<Long> inserted = new HashSet<>();
                    for (long a : axes) {
                        inserted.add(normalize(a, outRank));
                    }
                    int kept = -1;
                    long pos = 0;
                    for (; ; pos++) {
                        if (!inserted.contains(pos) && ++kept == p.axis()) {
                            break;
                        }
                    }
                    permuted.put(output(n, 0), new Permuted((int) pos, outRank, p.checked()));
                }
                case "Reshape" -> {
                    Permuted p = requirePermuted(in0);
                    Tensor target = n.getInputCount() > 1 ? constant(n.getInput(1)) : null;
                    if (target == null || target.rank() != 1 || attrInt(n, "allowzero", 0) != 0 || target.size() <= p.axis()) {
                        throw NO;
                    }
                    // Copying every axis up to the batch one keeps each batch row's elements together.
                    for (int k = 0; k <= p.axis(); k++) {
                        if (target.getLong(k) != 0) {
                            throw NO;
                        }
                    }
                    permuted.put(output(n, 0), new Permuted(p.axis(), target.size(), p.checked()));
                }
                case "Concat" -> {
                    Permuted first = requirePermuted(in0);
                    boolean checked = false;
                    for (String in : n.getInputList()) {
                        Permuted p = requirePermuted(in);
                        if (p.axis() != first.axis()) {
                            throw NO;
                        }
                        checked |= p.checked();
                    }
                    long axis = normalize(attrInt(n, "axis", 0), first.rank());
                    if (axis == first.axis()) {
                        throw NO;
                    }
                    permuted.put(output(n, 0), new Permuted(first.axis(), first.rank(), checked));
                }
                // GRU and RNN read X, W, R, B, sequence_lens, initial_h at the same positions as LSTM.
                case "LSTM", "GRU", "RNN" -> lstm(n);
                default -> throw NO;
            }
        }

        private void gather(int index, NodeProto n) throws NoMatch {
            String data = input(n, 0);
            String idx = input(n, 1);
            long axisAttr = attrInt(n, "axis", 0);
            if (perm.contains(idx)) {
                // The sort: rows of data in pi's order.
                unlabelled(data);
                int rank = declaredRank(root(data));
                int axis = (int) normalize(axisAttr, rank);
                permuted.put(output(n, 0), new Permuted(axis, rank, false));
                replaced.put(index, identity(n, data, output(n, 0)));
                return;
            }
            Permuted p = requirePermuted(data);
            if (inv.contains(idx)) {
                // The unsort, along the same axis, of a value whose batch size is enforced.
                if (normalize(axisAttr, p.rank()) != p.axis() || !p.checked()) {
                    throw NO;
                }
                replaced.put(index, identity(n, data, output(n, 0)));
                return;
            }
            Tensor c = constant(idx);
            if (c == null || permuted.containsKey(idx)) {
                throw NO;
            }
            long axis = normalize(axisAttr, p.rank());
            if (axis == p.axis()) {
                throw NO;
            }
            int at = axis > p.axis() ? p.axis() : p.axis() - 1 + c.rank();
            permuted.put(output(n, 0), new Permuted(at, p.rank() < 0 ? -1 : p.rank() - 1 + c.rank(), p.checked()));
        }

        /** ScatterElements(fill of shape [n], pi, 0..n-1) along axis 0 is pi's inverse. */
        private void scatter(int index, NodeProto n) throws NoMatch {
            if (n.getInputCount() != 3 || !perm.contains(n.getInput(1)) || permuted.containsKey(n.getInput(0))
                    || permuted.containsKey(n.getInput(2))) {
                throw NO;
            }
            long axis = attrInt(n, "axis", 0);
            String reduction = attrString(n, "reduction", "none");
            if ((axis != 0 && axis != -1) || !reduction.equals("none")) {
                throw NO;
            }
            NodeProto data = producerNode(n.getInput(0));
            if (data == null || !data.getOpType().equals("ConstantOfShape") || !isShapeProducer(input(data, 0))) {
                throw NO;
            }
            if (!isRangeOfN(n.getInput(2))) {
                throw NO;
            }
            inv.add(output(n, 0));
            replaced.put(index, null);
        }

        /** Range(0, n, 1), n the number of lengths. */
        private boolean isRangeOfN(String name) throws NoMatch {
            NodeProto r = producerNode(name);
            if (r == null || !r.getOpType().equals("Range") || r.getInputCount() != 3) {
                return false;
            }
            Tensor start = constant(r.getInput(0));
            Tensor delta = constant(r.getInput(2));
            return start != null && start.size() == 1 && start.getLong(0) == 0 && !start.dtype().isFloating()
                    && delta != null && delta.size() == 1 && delta.getLong(0) == 1 && !delta.dtype().isFloating()
                    && isElementCount(r.getInput(1), false, MAX_CHAIN);
        }

        /**
         * LSTM with the batch permuted: X and sequence_lens carry the same permutation (X along its
         * batch axis, the lengths along 0); initial states are permuted too or the same for every
         * row; weights carry none. Then every output is permuted along its batch axis.
         */
        private void lstm(NodeProto n) throws NoMatch {
            boolean batchMajor = attrInt(n, "layout", 0) != 0;
            int xAxis = batchMajor ? 0 : 1;
            int yAxis = batchMajor ? 0 : 2;
            int stateAxis = batchMajor ? 0 : 1;
            Permuted x = requirePermuted(input(n, 0));
            if (x.axis() != xAxis) {
                throw NO;
            }
            boolean checked = x.checked();
            for (int k : new int[] {1, 2, 3, 7}) {
                if (k < n.getInputCount()) {
                    unlabelled(n.getInput(k));
                }
            }
            if (n.getInputCount() > 4 && !n.getInput(4).isEmpty()) {
                Permuted lens = requirePermuted(n.getInput(4));
                if (lens.axis() != 0) {
                    throw NO;
                }
                checked |= lens.checked(); // the LSTM checks that X has one row per length
            }
            for (int k : new int[] {5, 6}) {
                if (k < n.getInputCount() && !n.getInput(k).isEmpty()) {
                    String s = n.getInput(k);
                    Permuted p = permuted.get(s);
                    if (p == null) {
                        if (!isUniform(s, 8)) {
                            throw NO;
                        }
                    } else if (p.axis() != stateAxis) {
                        throw NO;
                    } else {
                        checked |= p.checked();
                    }
                }
            }
            for (int k = 0; k < n.getOutputCount() && k < 3; k++) {
                if (!n.getOutput(k).isEmpty()) {
                    permuted.put(n.getOutput(k), k == 0 ? new Permuted(yAxis, 4, checked) : new Permuted(stateAxis, 3, checked));
                }
            }
        }

        /** A value whose elements are all equal, so any row permutation leaves it unchanged. */
        private boolean isUniform(String name, int depth) throws NoMatch {
            if (depth == 0) {
                return false;
            }
            Tensor c = constant(name);
            if (c != null) {
                return c.size() > 0 && Fold.uniform(c);
            }
            NodeProto p = producerNode(name);
            if (p == null) {
                return false;
            }
            return switch (p.getOpType()) {
                case "ConstantOfShape" -> true;
                case "Expand", "Cast", "Identity" -> isUniform(input(p, 0), depth - 1);
                default -> false;
            };
        }

        // ------------------------------------------------------------------ result

        /**
         * Makes the rewrite in the graph: replaces the nodes in {@link #replaced}, removes the nodes
         * that fed only removed ones (Range, ReduceProd, ConstantOfShape, ...) and renames the
         * values that carried the permutation; NO, leaving the graph as it was, when something
         * still reads the permutation afterwards. Everything is worked out first, in terms of what
         * changes, so that a rewrite costs what it touches, not the graph's size.
         */
        private void rewrite() throws NoMatch {
            Map<String, Integer> change = new HashMap<>();
            for (Map.Entry<Integer, NodeProto> e : replaced.entrySet()) {
                w.node(e.getKey()).getInputList().forEach(in -> change.merge(in, -1, Integer::sum));
                if (e.getValue() != null) {
                    e.getValue().getInputList().forEach(in -> change.merge(in, 1, Integer::sum));
                }
            }
            Set<Integer> unread = unreadFeeders(change);
            for (String v : concat(perm, inv)) {
                if (w.reads(v) + change.getOrDefault(v, 0) > 0) {
                    throw NO; // something still reads the permutation: not ours to remove
                }
            }
            // Names are chosen among those the graph has before the rewrite.
            Map<String, String> renamed = new HashMap<>();
            Set<String> chosen = new HashSet<>();
            for (String v : permuted.keySet()) {
                String fresh = v + "/unsorted";
                for (int k = 2; w.isTaken(fresh) || chosen.contains(fresh); k++) {
                    fresh = v + "/unsorted_" + k;
                }
                chosen.add(fresh);
                renamed.put(v, fresh);
            }
            replaced.forEach(w::set);
            unread.forEach(k -> w.set(k, null));
            renamedTopK = w.rename(renamed);
        }

        /**
         * The nodes that fed the replaced ones and that nothing reads once those are replaced
         * ({@code change}: reads gained or lost by name), nor once these are gone; a node is gone
         * only when none of its outputs is read. Follows writers upwards from the values that lose
         * a reader, as far as they lose all: a walk over everything upstream of the replaced nodes
         * (the network before the LSTM) would cost the graph's size per rewrite.
         */
        private Set<Integer> unreadFeeders(Map<String, Integer> change) {
            // Candidates are the writers (the last, should several) of values a replaced or removed
            // node read; a node that is not a candidate stays even when unread.
            Set<Integer> candidates = new HashSet<>();
            Set<Integer> unread = new HashSet<>();
            Deque<Integer> check = new ArrayDeque<>();
            List<Integer> kept = new ArrayList<>();
            for (int k : replaced.keySet()) {
                for (String in : w.node(k).getInputList()) {
                    Integer p = w.producer(in);
                    if (p != null && candidates.add(p)) {
                        check.add(p);
                    }
                }
            }
            while (!check.isEmpty()) {
                int k = check.pop();
                NodeProto n = replaced.containsKey(k) ? replaced.get(k) : w.node(k);
                if (n == null || unread.contains(k)) {
                    continue;
                }
                if (n.getOutputList().stream().anyMatch(o -> w.reads(o) + change.getOrDefault(o, 0) > 0)) {
                    kept.add(k); // for now: its readers may go yet
                    continue;
                }
                unread.add(k);
                for (String in : n.getInputList()) {
                    if (w.reads(in) + change.merge(in, -1, Integer::sum) > 0) {
                        continue;
                    }
                    Integer p = w.producer(in);
                    if (p != null && candidates.add(p)) {
                        check.add(p);
                    }
                    for (int q : w.writers(in)) {
                        if (candidates.contains(q)) {
                            check.add(q); // a candidate kept for this value's sake
                        }
                    }
                    if (in.isEmpty()) {
                        // A node with an unnamed output counts as read while any node has an absent input.
                        check.addAll(kept);
                        kept.clear();
                    }
                }
            }
            return unread;
        }

        // ------------------------------------------------------------------ helpers

        private Permuted requirePermuted(String name) throws NoMatch {
            Permuted p = permuted.get(name);
            if (p == null) {
                throw NO;
            }
            return p;
        }

        private void unlabelled(String name) throws NoMatch {
            if (perm.contains(name) || inv.contains(name) || permuted.containsKey(name)) {
                throw NO;
            }
        }

        private NodeProto producerNode(String name) {
            Integer i = w.producer(name);
            return i == null ? null : w.node(i);
        }

        /** Follows Identity and integer Casts upwards (they keep values and shape). */
        private String root(String name) throws NoMatch {
            String v = name;
            for (int guard = 0; guard < MAX_CHAIN; guard++) {
                NodeProto p = producerNode(v);
                if (p == null || p.getInputCount() == 0 || !isStandard(p)
                        || !(p.getOpType().equals("Identity") || (p.getOpType().equals("Cast") && isIntegerCast(p)))) {
                    return v;
                }
                v = p.getInput(0);
            }
            return v;
        }

        /** Rank declared for a graph input or value_info entry, -1 when unknown. */
        private int declaredRank(String name) {
            ValueInfoProto v = w.declared(name);
            if (v == null || !v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) {
                return -1;
            }
            return v.getType().getTensorType().getShape().getDimCount();
        }

        /** Squeeze/Unsqueeze axes (attribute before opset 13, constant input after), null when absent. */
        private List<Long> axes(NodeProto n) throws NoMatch {
            List<Long> attr = attrInts(n, "axes");
            if (attr != null) {
                return attr;
            }
            if (n.getInputCount() < 2 || n.getInput(1).isEmpty()) {
                return null;
            }
            Tensor t = constant(n.getInput(1));
            if (t == null) {
                throw NO;
            }
            List<Long> l = new ArrayList<>();
            for (int i = 0; i < t.size(); i++) {
                l.add(t.getLong(i));
            }
            return l;
        }

        /** Axis in [0, rank); a negative axis needs a known rank. */
        private static long normalize(long axis, int rank) throws NoMatch {
            if (axis < 0) {
                if (rank < 0) {
                    throw NO;
                }
                axis += rank;
            }
            if (axis < 0 || (rank >= 0 && axis >= rank)) {
                throw NO;
            }
            return axis;
        }

        /** A small initializer or Constant-node value, or null. */
        private Tensor constant(String name) throws NoMatch {
            if (permuted.containsKey(name) || perm.contains(name) || inv.contains(name)) {
                return null;
            }
            TensorProto t = w.initializers.get(name);
            if (t == null) {
                NodeProto p = producerNode(name);
                if (p == null || !p.getOpType().equals("Constant") || !isStandard(p)) {
                    return null;
                }
                for (AttributeProto a : p.getAttributeList()) {
                    switch (a.getName()) {
                        case "value" -> t = a.hasT() ? a.getT() : null;
                        case "value_int" -> {
                            return Tensor.ofLongs(new int[0], new long[] {a.getI()});
                        }
                        case "value_ints" -> {
                            return Tensor.ofLongs(new int[] {a.getIntsCount()}, a.getIntsList().stream().mapToLong(Long::longValue).toArray());
                        }
                        default -> {
                        }
                    }
                }
                if (t == null) {
                    return null;
                }
            }
            long count = 1;
            for (long d : t.getDimsList()) {
                count *= Math.max(0, d);
                if (count > MAX_CONST_ELEMENTS) {
                    return null;
                }
            }
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                return null;
            }
            try {
                return OnnxTensors.toTensor(t, null, "constant '" + name + "'");
            } catch (LstmxException e) {
                return null; // malformed: the converter reports it properly later
            }
        }

        private static boolean isIntegerCast(NodeProto n) throws NoMatch {
            long to = attrInt(n, "to", -1);
            return to == DataType.INT64_VALUE || to == DataType.INT32_VALUE;
        }

        private static NodeProto identity(NodeProto n, String input, String output) {
            return NodeProto.newBuilder().setName(n.getName()).setOpType("Identity").addInput(input).addOutput(output)
                    .setDocString("was " + n.getOpType() + " (sort/unsort of PyTorch's packed sequence, removed by lstmx)").build();
        }

        private static boolean hasAttr(NodeProto n, String name) {
            return OnnxNode.attribute(n, name) != null;
        }

        // Attributes through OnnxNode's accessors; one of an unexpected type (which the converter
        // refuses as BAD_INPUT) abandons the attempt.

        private static long attrInt(NodeProto n, String name, long dflt) throws NoMatch {
            return OnnxNode.attrInt(n, name, dflt, WRONG_TYPE);
        }

        private static String attrString(NodeProto n, String name, String dflt) throws NoMatch {
            return OnnxNode.attrString(n, name, dflt, WRONG_TYPE);
        }

        private static List<Long> attrInts(NodeProto n, String name) throws NoMatch {
            return OnnxNode.attrInts(n, name, WRONG_TYPE);
        }

        /** Input {@code i} of {@code n}; a node without it is malformed: no match, left for its converter to report. */
        private static String input(NodeProto n, int i) throws NoMatch {
            if (i >= n.getInputCount()) {
                throw NO;
            }
            return n.getInput(i);
        }

        /** Output {@code i} of {@code n}, which must be named for the permutation to be tracked through it. */
        private static String output(NodeProto n, int i) throws NoMatch {
            if (i >= n.getOutputCount() || n.getOutput(i).isEmpty()) {
                throw NO;
            }
            return n.getOutput(i);
        }

        @SafeVarargs
        private static List<String> concat(Set<String>... sets) {
            List<String> l = new ArrayList<>();
            for (Set<String> s : sets) {
                l.addAll(s);
            }
            return l;
        }
    }
}
