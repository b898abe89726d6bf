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
        GraphProto g = graph;
        Set<String> tried = new HashSet<>();
        boolean changed = true;
        while (changed) {
            changed = false;
            // One index per version of the graph, shared by all its attempts: indexing the whole
            // graph once per TopK made a graph of many TopKs quadratic.
            Lookup lookup = null;
            for (int i = 0; i < g.getNodeCount(); i++) {
                NodeProto n = g.getNode(i);
                if (n.getOpType().equals("TopK") && isStandard(n) && n.getOutputCount() > 1 && tried.add(n.getOutput(1))) {
                    if (lookup == null) {
                        lookup = new Lookup(g);
                    }
                    GraphProto r = new Attempt(g, lookup, i).run();
                    if (r != null) {
                        g = r;
                        changed = true;
                        break;
                    }
                }
            }
        }
        return g;
    }

    /** Who writes and who reads each value of one graph, and what it declares: what every attempt looks up. */
    private static final class Lookup {
        /** Node writing each value (the last one, should several). */
        final Map<String, Integer> producer = new HashMap<>();
        /** Nodes reading each value, in ascending order (a node reading it twice is listed twice). */
        final Map<String, List<Integer>> consumers = new HashMap<>();
        final Map<String, TensorProto> initializers = new HashMap<>();
        final Map<String, ValueInfoProto> declared = new HashMap<>();
        final Set<String> graphOutputs = new HashSet<>();
        /** A node has a subgraph attribute, which may read the permutation without naming it as an input. */
        final boolean hasSubgraph;

        Lookup(GraphProto g) {
            boolean subgraph = false;
            for (int i = 0; i < g.getNodeCount(); i++) {
                NodeProto n = g.getNode(i);
                for (String o : n.getOutputList()) {
                    if (!o.isEmpty()) {
                        producer.put(o, i);
                    }
                }
                for (String in : n.getInputList()) {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
                }
                for (AttributeProto a : n.getAttributeList()) {
                    subgraph |= a.hasG() || a.getGraphsCount() > 0;
                }
            }
            hasSubgraph = subgraph;
            for (TensorProto t : g.getInitializerList()) {
                initializers.put(t.getName(), t);
            }
            for (ValueInfoProto v : g.getInputList()) {
                declared.put(v.getName(), v);
            }
            for (ValueInfoProto v : g.getValueInfoList()) {
                declared.putIfAbsent(v.getName(), v);
            }
            for (ValueInfoProto v : g.getOutputList()) {
                graphOutputs.add(v.getName());
            }
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
        private final GraphProto g;
        private final Lookup lookup;
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

        Attempt(GraphProto g, Lookup lookup, int topk) {
            this.g = g;
            this.lookup = lookup;
            this.topk = topk;
        }

        GraphProto run() {
            try {
                if (lookup.hasSubgraph) {
                    throw NO; // a subgraph may read the permutation without naming it as an input
                }
                matchTopK();
                propagate();
                for (String v : concat(perm, inv, permuted.keySet())) {
                    if (lookup.graphOutputs.contains(v)) {
                        throw NO;
                    }
                }
                return rebuild();
            } catch (NoMatch e) {
                // Only the match failing means "no rewrite": anything else is a bug, reported as such.
                // A malformed node (missing inputs, wrong attribute types) is no match, left for its converter to report.
                return null;
            }
        }

        // ------------------------------------------------------------------ the TopK

        private void matchTopK() throws NoMatch {
            NodeProto n = g.getNode(topk);
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
                visit(i, g.getNode(i));
                enqueueReaders(i, pending, queued);
            }
        }

        /** Queues the later nodes that read a labelled output of node {@code i}. */
        private void enqueueReaders(int i, PriorityQueue<Integer> pending, Set<Integer> queued) {
            for (String o : g.getNode(i).getOutputList()) {
                if (o.isEmpty() || !(perm.contains(o) || inv.contains(o) || permuted.containsKey(o))) {
                    continue;
                }
                for (int reader : lookup.consumers.getOrDefault(o, List.of())) {
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

        private GraphProto rebuild() throws NoMatch {
            List<NodeProto> nodes = new ArrayList<>();
            List<Integer> origin = new ArrayList<>();
            Deque<String> upstream = new ArrayDeque<>();
            for (int i = 0; i < g.getNodeCount(); i++) {
                NodeProto old = g.getNode(i);
                if (replaced.containsKey(i)) {
                    upstream.addAll(old.getInputList());
                    NodeProto r = replaced.get(i);
                    if (r == null) {
                        continue;
                    }
                    nodes.add(r);
                } else {
                    nodes.add(old);
                }
                origin.add(i);
            }
            // Nodes that fed only the removed ones (Range, ReduceProd, ConstantOfShape, ...) go too.
            Set<Integer> candidates = new HashSet<>();
            while (!upstream.isEmpty()) {
                Integer p = lookup.producer.get(upstream.pop());
                if (p != null && candidates.add(p)) {
                    upstream.addAll(g.getNode(p).getInputList());
                }
            }
            nodes = withoutUnread(nodes, origin, candidates);
            for (NodeProto n : nodes) {
                for (String in : n.getInputList()) {
                    if (perm.contains(in) || inv.contains(in)) {
                        throw NO; // something still reads the permutation: not ours to remove
                    }
                }
            }
            return renamePermuted(g.toBuilder().clearNode().addAllNode(nodes).build());
        }

        /**
         * {@code nodes} without the candidates (by {@code origin}, their index in the graph) that
         * nothing reads once the others are gone: the graph outputs and the remaining nodes' inputs
         * are counted, and a candidate goes when none of its outputs is counted, which may free the
         * candidates feeding it. Rounds of "remove what is unread, recount" would drop one node of a
         * dead chain per round over the whole graph: quadratic.
         */
        private List<NodeProto> withoutUnread(List<NodeProto> nodes, List<Integer> origin, Set<Integer> candidates) {
            Map<String, Integer> reads = new HashMap<>();
            lookup.graphOutputs.forEach(o -> reads.merge(o, 1, Integer::sum));
            Map<String, List<Integer>> writers = new HashMap<>();
            for (int k = 0; k < nodes.size(); k++) {
                nodes.get(k).getInputList().forEach(in -> reads.merge(in, 1, Integer::sum));
                if (candidates.contains(origin.get(k))) {
                    for (String o : nodes.get(k).getOutputList()) {
                        writers.computeIfAbsent(o, x -> new ArrayList<>()).add(k);
                    }
                }
            }
            boolean[] removed = new boolean[nodes.size()];
            Deque<Integer> check = new ArrayDeque<>();
            for (int k = 0; k < nodes.size(); k++) {
                if (candidates.contains(origin.get(k))) {
                    check.add(k);
                }
            }
            while (!check.isEmpty()) {
                int k = check.pop();
                if (removed[k] || nodes.get(k).getOutputList().stream().anyMatch(o -> reads.getOrDefault(o, 0) > 0)) {
                    continue;
                }
                removed[k] = true;
                for (String in : nodes.get(k).getInputList()) {
                    if (reads.merge(in, -1, Integer::sum) == 0) {
                        check.addAll(writers.getOrDefault(in, List.of()));
                    }
                }
            }
            List<NodeProto> kept = new ArrayList<>(nodes.size());
            for (int k = 0; k < nodes.size(); k++) {
                if (!removed[k]) {
                    kept.add(nodes.get(k));
                }
            }
            return kept;
        }

        /** {@code r} with each value that carried the permutation under a new name (see the class comment). */
        private GraphProto renamePermuted(GraphProto r) {
            Set<String> taken = new HashSet<>();
            r.getInputList().forEach(v -> taken.add(v.getName()));
            r.getOutputList().forEach(v -> taken.add(v.getName()));
            r.getValueInfoList().forEach(v -> taken.add(v.getName()));
            r.getInitializerList().forEach(t -> taken.add(t.getName()));
            for (NodeProto n : g.getNodeList()) {
                taken.addAll(n.getInputList());
                taken.addAll(n.getOutputList());
            }
            Map<String, String> renamed = new HashMap<>();
            for (String v : permuted.keySet()) {
                String fresh = v + "/unsorted";
                for (int k = 2; taken.contains(fresh); k++) {
                    fresh = v + "/unsorted_" + k;
                }
                taken.add(fresh);
                renamed.put(v, fresh);
            }
            GraphProto.Builder b = r.toBuilder();
            for (NodeProto.Builder n : b.getNodeBuilderList()) {
                for (int i = 0; i < n.getInputCount(); i++) {
                    n.setInput(i, renamed.getOrDefault(n.getInput(i), n.getInput(i)));
                }
                for (int i = 0; i < n.getOutputCount(); i++) {
                    n.setOutput(i, renamed.getOrDefault(n.getOutput(i), n.getOutput(i)));
                }
            }
            for (ValueInfoProto.Builder v : b.getValueInfoBuilderList()) {
                v.setName(renamed.getOrDefault(v.getName(), v.getName()));
            }
            return b.build();
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
            Integer i = lookup.producer.get(name);
            return i == null ? null : g.getNode(i);
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
            ValueInfoProto v = lookup.declared.get(name);
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
            TensorProto t = lookup.initializers.get(name);
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
