package io.lstmx.importers.tensorflow;

import io.lstmx.importers.kit.Value;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Tensor;
import io.lstmx.util.UniqueNames;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Folds a cell unrolled over every step of a sequence back into ONE IR LSTM layer, in two forms.
 *
 * <p>A chain of one-step LSTM layers (LSTMBlockCell ops, see {@link BlockLstm#cell}, as
 * tf.compat.v1.nn.static_rnn builds them) in which step k + 1 starts from the h and c step k ends
 * with, every step has the same spec and weights, and step k reads x_k = seq[s + k] (Unpack,
 * StridedSlice or Gather of one sequence along its time axis; or seq[s + T - 1 - k], a reverse
 * chain): an LSTM over seq[s, s + T) (transposed to time-major when the time axis is 1) whose Y_h
 * and Y_c are the last step's, step k's h being Y[k] (Y[T - 1 - k] for a reverse chain), so that
 * whatever read it (a Pack of every h, a head on the last one) reads the same values. This fold is
 * exact; it is kept only when nothing still reads a value it removed (an intermediate cell state).
 *
 * <p>A cell spelt out in arithmetic (TF1 LSTMCell/BasicLSTMCell with or without peepholes and
 * cell clip, unrolled over T &ge; 3 steps): see {@link #foldCells}. That fold is matched, not
 * derived, so the caller ({@link TfModelBuilder}) keeps it only when the whole model gives the same
 * outputs with and without it on random inputs.
 */
final class TfUnrolled {
    private TfUnrolled() {
    }

    static List<Layer> fold(List<Layer> layers, Set<String> inputs, Set<String> outputs, UniqueNames names) {
        List<Layer> current = layers;
        // one chain at a time: each fold changes the list
        for (int guard = 0; guard < 10_000; guard++) {
            List<Layer> next = foldOne(current, inputs, outputs, names);
            if (next == null) {
                return current;
            }
            current = next;
        }
        return current;
    }

    private static boolean isStep(Layer l, Map<String, Layer> producer) {
        return l instanceof Layer.Lstm s && s.ports().outputSequence() == null && s.ports().sequenceLengths() == null && s.weights().size() == 1
                && s.spec().direction() == Direction.FORWARD && s.outputH() != null && unsqueezedFrom(s.input(), producer) != null;
    }

    /** The value {@code v} is an Unsqueeze (axis 0) of, or null. */
    private static String unsqueezedFrom(String v, Map<String, Layer> producer) {
        if (v != null && producer.get(v) instanceof Layer.Unsqueeze u && u.axes().equals(List.of(0))) {
            return u.input();
        }
        return null;
    }

    /** The step whose final state (Y_h or Y_c, squeezed, then unsqueezed again) {@code v} is, or null. */
    private static Layer.Lstm stateOf(String v, boolean cell, Map<String, Layer> producer) {
        String s = unsqueezedFrom(v, producer);
        if (s != null && producer.get(s) instanceof Layer.Squeeze q && q.axes().equals(List.of(0)) && producer.get(q.input()) instanceof Layer.Lstm p
                && q.input().equals(cell ? p.outputC() : p.outputH())) {
            return p;
        }
        return null;
    }

    private static List<Layer> foldOne(List<Layer> layers, Set<String> inputs, Set<String> outputs, UniqueNames names) {
        Map<String, Layer> producer = new HashMap<>();
        for (Layer l : layers) {
            for (String o : l.outputs()) {
                producer.put(o, l);
            }
        }
        Map<Layer, Layer.Lstm> nextOf = new IdentityHashMap<>();
        Map<Layer, Layer.Lstm> prevOf = new IdentityHashMap<>();
        Set<Layer> branching = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        List<Layer.Lstm> steps = new ArrayList<>();
        for (Layer l : layers) {
            if (!isStep(l, producer)) {
                continue;
            }
            Layer.Lstm s = (Layer.Lstm) l;
            steps.add(s);
            Layer.Lstm p = stateOf(s.initialH(), false, producer);
            if (p == null || !isStep(p, producer) || stateOf(s.initialC(), true, producer) != p) {
                continue;
            }
            if (nextOf.put(p, s) != null) {
                branching.add(p);
            }
            prevOf.put(s, p);
        }
        for (Layer.Lstm first : steps) {
            if (prevOf.containsKey(first)) {
                continue;
            }
            List<Layer.Lstm> chain = new ArrayList<>();
            for (Layer.Lstm s = first; s != null && !branching.contains(s); s = nextOf.get(s)) {
                chain.add(s);
            }
            if (chain.size() < 2) {
                continue;
            }
            List<Layer> folded = tryFold(layers, chain, producer, inputs, outputs, names);
            if (folded != null) {
                return folded;
            }
        }
        return null;
    }

    private static List<Layer> tryFold(List<Layer> layers, List<Layer.Lstm> chain, Map<String, Layer> producer, Set<String> inputs,
                                       Set<String> outputs, UniqueNames names) {
        Layer.Lstm first = chain.get(0);
        int t = chain.size();
        String seq = null;
        int axis = -1;
        long[] idx = new long[t];
        for (int k = 0; k < t; k++) {
            Layer.Lstm s = chain.get(k);
            if (!s.spec().equals(first.spec()) || s.sourceGateOrder() != first.sourceGateOrder() || !sameWeights(s.weights().get(0), first.weights().get(0))) {
                return null;
            }
            String xt = unsqueezedFrom(s.input(), producer);
            if (!(producer.get(xt) instanceof Layer.Select sel) || sel.index() < 0 || (seq != null && (!sel.input().equals(seq) || sel.axis() != axis))) {
                return null;
            }
            seq = sel.input();
            axis = sel.axis();
            idx[k] = sel.index();
        }
        if (axis != 0 && axis != 1) {
            return null;
        }
        boolean forward = true;
        boolean reverse = true;
        for (int k = 1; k < t; k++) {
            forward &= idx[k] == idx[k - 1] + 1;
            reverse &= idx[k] == idx[k - 1] - 1;
        }
        if (!forward && !reverse) {
            return null;
        }
        long start = forward ? idx[0] : idx[t - 1];
        String base = first.name();
        List<Layer> added = new ArrayList<>();
        String sl = names.fresh(base + "/steps");
        added.add(new Layer.Slice(sl, seq, sl, axis, start, start + t, 1));
        String x = sl;
        if (axis == 1) {
            x = names.fresh(base + "/time_major");
            added.add(new Layer.Transpose(x, sl, x, List.of(1, 0, 2)));
        }
        LstmSpec sp = first.spec();
        LstmSpec spec = new LstmSpec(sp.inputSize(), sp.hiddenSize(), sp.projSize(), forward ? Direction.FORWARD : Direction.REVERSE, sp.layout(),
                sp.clip(), sp.inputForget(), sp.activations(), sp.cellClip(), sp.forgetBias());
        Layer.Lstm lastStep = chain.get(t - 1);
        String y = names.fresh(base + "/Y");
        added.add(new Layer.Lstm(base, new RecurrentPorts(x, null, first.initialH(), first.initialC(), y, lastStep.outputH(), lastStep.outputC()),
                spec, first.weights(), first.sourceGateOrder()));
        // step k's h is Y at the time step it read
        for (int k = 0; k < t - 1; k++) {
            String h = chain.get(k).outputH();
            added.add(new Layer.Select(h, y, h, 0, forward ? k : t - 1 - k));
        }
        Set<Layer> removed = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        removed.addAll(chain);
        List<Layer> out = new ArrayList<>();
        for (Layer l : layers) {
            if (l == first) {
                out.addAll(added);
            } else if (!removed.contains(l)) {
                out.add(l);
            }
        }
        return live(out, inputs, outputs);
    }

    private static boolean sameWeights(LstmWeights a, LstmWeights b) {
        return same(a.w(), b.w()) && same(a.r(), b.r()) && same(a.wb(), b.wb()) && same(a.rb(), b.rb()) && same(a.peephole(), b.peephole())
                && same(a.projection(), b.projection());
    }

    private static boolean same(Tensor a, Tensor b) {
        if (a == null || b == null) {
            return a == b;
        }
        return a == b || (Arrays.equals(a.shape(), b.shape()) && a.dtype() == b.dtype() && Arrays.equals(a.toFloatArray(), b.toFloatArray()));
    }

    /**
     * The layers the outputs need (in their order; the folded steps' leftovers dropped), or null when
     * one of them reads a value no layer writes any more.
     */
    private static List<Layer> live(List<Layer> layers, Set<String> inputs, Collection<String> outputs) {
        Map<String, Layer> producer = new HashMap<>();
        for (Layer l : layers) {
            for (String o : l.outputs()) {
                producer.put(o, l);
            }
        }
        Set<String> seen = new HashSet<>();
        Set<Layer> needed = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<String> todo = new ArrayDeque<>(outputs);
        while (!todo.isEmpty()) {
            String v = todo.pop();
            if (v == null || v.isEmpty() || !seen.add(v) || inputs.contains(v)) {
                continue;
            }
            Layer p = producer.get(v);
            if (p == null) {
                return null;
            }
            needed.add(p);
            todo.addAll(p.inputs());
        }
        List<Layer> out = new ArrayList<>();
        for (Layer l : layers) {
            if (needed.contains(l)) {
                out.add(l);
            }
        }
        return out;
    }

    // ---- cells spelt out in arithmetic (TF1 LSTMCell/BasicLSTMCell unrolled by static_rnn or by hand)

    /**
     * Folds ONE cell spelt out in arithmetic and unrolled over every step of a sequence x_k = seq[k]
     * (a Select along axis 0 or 1, k = 0 .. T - 1, T &ge; 3) into an LSTM layer, or returns null.
     * Step k's layers are those that depend on x_k but not on x_{k+1}, moved on to step k + 1 when they
     * only prepare its input from values it reads itself (a peephole's w ⊙ c_k), or taken in when they
     * read only constants (w ⊙ c_0 on a constant c_0); every step must hold the same kinds of layers in
     * the same order (the last step: its first ones). The two states step 1 reads from step 0 and hands
     * to step 2 at the same places are matched, as h and c in either order, against the LSTM cell
     * algebra by the While loop matcher ({@link TfWhile.Cell}, which also checks one step
     * numerically); step 0 reads the initial states at those places; each step's h, and the last
     * step's c, are then the LSTM's outputs (h_k = Y[k], c_{T-1} = Y_c).
     */
    static List<Layer> foldCells(List<Layer> layers, Set<String> inputs, Set<String> outputs, TfNode at) {
        Map<String, Layer> producer = new HashMap<>();
        Map<String, List<Layer>> readers = new HashMap<>();
        Map<Layer, Integer> position = new IdentityHashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            position.put(l, i);
            for (String o : l.outputs()) {
                producer.put(o, l);
            }
            for (String in : l.inputs()) {
                readers.computeIfAbsent(in, k -> new ArrayList<>()).add(l);
            }
        }
        // sequences read step by step: (input, axis) -> index -> x_k
        Map<String, Map<Long, String>> steps = new java.util.LinkedHashMap<>();
        for (Layer l : layers) {
            if (l instanceof Layer.Select sel && sel.index() >= 0 && (sel.axis() == 0 || sel.axis() == 1)) {
                steps.computeIfAbsent(sel.input() + "\u0000" + sel.axis(), k -> new HashMap<>()).putIfAbsent(sel.index(), sel.output());
            }
        }
        for (Map.Entry<String, Map<Long, String>> e : steps.entrySet()) {
            Map<Long, String> xs = e.getValue();
            int t = xs.size();
            if (t < 3 || t > 100_000) {
                continue;
            }
            boolean dense = true;
            for (long k = 0; k < t; k++) {
                dense &= xs.containsKey(k);
            }
            if (!dense) {
                continue;
            }
            String seq = e.getKey().substring(0, e.getKey().indexOf('\u0000'));
            int axis = Integer.parseInt(e.getKey().substring(e.getKey().indexOf('\u0000') + 1));
            List<Layer> folded;
            try {
                folded = foldCell(layers, producer, readers, position, xs, t, seq, axis, inputs, outputs, at);
            } catch (RuntimeException notACell) {
                // not an LSTM cell the matcher reads (its refusals, or steps too unlike to line up): the steps stay as they
                // are, which computes the same function
                folded = null;
            }
            if (folded != null) {
                return folded;
            }
        }
        return null;
    }

    private static Set<Layer> cone(String from, Map<String, List<Layer>> readers) {
        Set<Layer> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<String> todo = new ArrayDeque<>(List.of(from));
        while (!todo.isEmpty()) {
            for (Layer l : readers.getOrDefault(todo.pop(), List.of())) {
                if (seen.add(l)) {
                    todo.addAll(l.outputs());
                }
            }
        }
        return seen;
    }

    /** What a layer computes apart from its value names: equal keys for the same computation at every step. */
    private static String kind(Layer l) {
        if (l instanceof Layer.Binary b) {
            return "Binary " + b.op();
        }
        if (l instanceof Layer.Activation a) {
            return "Activation " + a.fn();
        }
        if (l instanceof Layer.Slice s) {
            return "Slice " + s.axis() + " " + s.start() + " " + s.end() + " " + s.step();
        }
        if (l instanceof Layer.Concat c) {
            return "Concat " + c.axis() + " " + c.inputs().size();
        }
        if (l instanceof Layer.Dense d) {
            return "Dense " + Arrays.toString(d.weight().shape()) + (d.bias() != null);
        }
        return l.getClass().getSimpleName() + " " + l.inputs().size();
    }

    private static List<Layer> foldCell(List<Layer> layers, Map<String, Layer> producer, Map<String, List<Layer>> readers, Map<Layer, Integer> position,
                                         Map<Long, String> xs, int t, String seq, int axis, Set<String> inputs, Set<String> outputs, TfNode at) {
        List<Set<Layer>> cones = new ArrayList<>();
        for (long k = 0; k < t; k++) {
            cones.add(cone(xs.get(k), readers));
        }
        List<Set<Layer>> sets = new ArrayList<>();
        for (int k = 0; k < t; k++) {
            Set<Layer> c = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
            for (Layer l : cones.get(k)) {
                if (k == t - 1 || !cones.get(k + 1).contains(l)) {
                    c.add(l);
                }
            }
            sets.add(c);
        }
        // a layer of step k that only prepares a state for step k + 1 (a peephole's w ⊙ c_k, read by step k + 1's gates and made
        // of values step k + 1 reads itself) belongs to step k + 1, as it would in a loop body; one that reads constants only
        // (w ⊙ c_0 on a constant c_0) belongs to the step that reads it
        for (int k = 0; k < t; k++) {
            Set<Layer> here = sets.get(k);
            for (Layer l : layers) {
                if (here.contains(l) || l.inputs().isEmpty()) {
                    continue;
                }
                boolean constantOnly = true;
                for (String v : l.inputs()) {
                    constantOnly &= producer.get(v) instanceof Layer.Constant;
                }
                if (constantOnly && !readers.getOrDefault(l.outputs().get(0), List.of()).isEmpty()
                        && readers.get(l.outputs().get(0)).stream().allMatch(here::contains)) {
                    here.add(l);
                }
            }
            if (k + 1 < t) {
                Set<Layer> next = sets.get(k + 1);
                for (Layer l : new ArrayList<>(here)) {
                    List<Layer> rs = new ArrayList<>();
                    for (String o : l.outputs()) {
                        rs.addAll(readers.getOrDefault(o, List.of()));
                    }
                    if (rs.isEmpty() || !rs.stream().allMatch(next::contains)) {
                        continue;
                    }
                    // ... and whose readers read only steps k and k + 1 (not a tap over every step, as a Pack of all h)
                    boolean local = true;
                    for (Layer r : rs) {
                        for (String v : r.inputs()) {
                            Layer p = producer.get(v);
                            local &= p == null || p instanceof Layer.Constant || here.contains(p) || next.contains(p);
                        }
                    }
                    if (!local) {
                        continue;
                    }
                    boolean prepares = true;
                    for (String v : l.inputs()) {
                        Layer p = producer.get(v);
                        if (p instanceof Layer.Constant) {
                            continue;
                        }
                        prepares &= here.contains(p) && readers.getOrDefault(v, List.of()).stream().anyMatch(r -> r != l && next.contains(r));
                    }
                    if (prepares) {
                        here.remove(l);
                        next.add(l);
                    }
                }
            }
        }
        List<List<Layer>> cells = new ArrayList<>();
        for (Set<Layer> c : sets) {
            List<Layer> ordered = new ArrayList<>(c);
            ordered.sort(java.util.Comparator.comparingInt(position::get));
            cells.add(ordered);
        }
        List<Layer> ref = cells.get(1);
        int n = ref.size();
        List<String> kinds = ref.stream().map(TfUnrolled::kind).toList();
        for (int k = 0; k < t; k++) {
            List<Layer> c = cells.get(k);
            if (k == t - 1) {
                if (c.size() < n) {
                    return null;
                }
                c = new ArrayList<>(c.subList(0, n));
                cells.set(k, c);
            }
            if (c.size() != n || !c.stream().map(TfUnrolled::kind).toList().equals(kinds)) {
                return null;
            }
        }
        // the states step 1 reads from step 0, with where it reads them (layer position, input slot)
        Set<Layer> step0 = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        step0.addAll(cells.get(0));
        List<String> in1 = new ArrayList<>();
        List<int[]> slots = new ArrayList<>();
        for (int p = 0; p < n; p++) {
            List<String> ins = ref.get(p).inputs();
            for (int j = 0; j < ins.size(); j++) {
                if (step0.contains(producer.get(ins.get(j))) && !in1.contains(ins.get(j))) {
                    in1.add(ins.get(j));
                    slots.add(new int[] {p, j});
                }
            }
        }
        if (in1.size() != 2) {
            return null;
        }
        // what step 2 reads at the same places is what step 1 hands on; step 0 reads the initial states there
        List<String> next1 = new ArrayList<>();
        List<String> initial = new ArrayList<>();
        List<Integer> where = new ArrayList<>();
        for (int[] sl : slots) {
            String nx = cells.get(2).get(sl[0]).inputs().get(sl[1]);
            Layer pr = producer.get(nx);
            int p = ref.indexOf(pr);
            if (p < 0) {
                return null;
            }
            next1.add(nx);
            where.add(p);
            initial.add(cells.get(0).get(sl[0]).inputs().get(sl[1]));
        }
        // the matcher, with the states as h and c in either order
        int[] sizes = sizes(ref, xs.get(1L));
        if (sizes == null) {
            return null;
        }
        // the matcher sees the constants the step reads (weights, biases) as layers of the step, as in a loop body
        List<Layer> withConstants = new ArrayList<>();
        Set<Layer> have = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (Layer l : ref) {
            for (String v : l.inputs()) {
                if (producer.get(v) instanceof Layer.Constant c && have.add(c)) {
                    withConstants.add(c);
                }
            }
        }
        withConstants.addAll(ref);
        for (int order = 0; order < 2; order++) {
            int hi = order;
            int ci = 1 - order;
            TfWhile.Cell m = new TfWhile.Cell(at, withConstants, xs.get(1L), List.of(in1.get(hi), in1.get(ci)), List.of(next1.get(hi), next1.get(ci)), sizes[1]);
            Layer.Recurrent matched;
            try {
                Value.Filled zero = new Value.Filled(Tensor.scalar(0f), List.of());
                matched = m.match(next1.get(hi), true, sizes[0], List.of(sizes[1], sizes[1]), false, at.in.names.fresh("unrolled_lstm"),
                        new Value.Run(seq, io.lstmx.ir.DType.FLOAT32, null), List.of(zero, zero), List.of(0, 1));
                m.verify(matched);
            } catch (io.lstmx.errors.LstmxException e) {
                continue;
            }
            if (!(matched instanceof Layer.Lstm lstm) || lstm.weights().get(0).projection() != null) {
                return null;
            }
            return replace(layers, position, cells, lstm, seq, axis, t, initial.get(hi), initial.get(ci), where.get(hi), where.get(ci), inputs, outputs,
                    at.in.names);
        }
        return null;
    }

    /** I and H from the step's matrix product of x_t (or of concat(x_t, h)), or null. */
    private static int[] sizes(List<Layer> cell, String x) {
        Map<String, Layer> producer = new HashMap<>();
        for (Layer l : cell) {
            for (String o : l.outputs()) {
                producer.put(o, l);
            }
        }
        java.util.function.UnaryOperator<String> strip = v -> {
            for (int guard = 0; guard < 64 && producer.get(v) instanceof Layer.Identity id; guard++) {
                v = id.input();
            }
            return v;
        };
        for (Layer l : cell) {
            if (l instanceof Layer.Dense d && d.weight().dim(0) % 4 == 0) {
                int h = d.weight().dim(0) / 4;
                String in = strip.apply(d.input());
                if (in.equals(x)) {
                    return new int[] {d.weight().dim(1), h};
                }
                if (producer.get(in) instanceof Layer.Concat c && c.inputs().size() == 2 && strip.apply(c.inputs().get(0)).equals(x)
                        && d.weight().dim(1) > h) {
                    return new int[] {d.weight().dim(1) - h, h};
                }
            }
        }
        return null;
    }

    private static List<Layer> replace(List<Layer> layers, Map<Layer, Integer> position, List<List<Layer>> cells, Layer.Lstm cell, String seq, int axis,
                                       int t, String h0, String c0, int hAt, int cAt, Set<String> inputs, Set<String> outputs, UniqueNames names) {
        String base = cell.name();
        List<Layer> added = new ArrayList<>();
        String sl = names.fresh(base + "/steps");
        added.add(new Layer.Slice(sl, seq, sl, axis, 0, t, 1));
        String x = sl;
        if (axis == 1) {
            x = names.fresh(base + "/time_major");
            added.add(new Layer.Transpose(x, sl, x, List.of(1, 0, 2)));
        }
        String uh = names.fresh(base + "/h0");
        added.add(new Layer.Unsqueeze(uh, h0, uh, List.of(0)));
        String uc = names.fresh(base + "/c0");
        added.add(new Layer.Unsqueeze(uc, c0, uc, List.of(0)));
        String y = names.fresh(base + "/Y");
        String yh = names.fresh(base + "/Y_h");
        String yc = names.fresh(base + "/Y_c");
        added.add(new Layer.Lstm(base, new RecurrentPorts(x, null, uh, uc, y, yh, yc), cell.spec(), cell.weights(), cell.sourceGateOrder()));
        // step k's h is Y[k]; the last step's c is Y_c
        for (int k = 0; k < t; k++) {
            String h = cells.get(k).get(hAt).outputs().get(0);
            String s = names.fresh(base + "/step" + k);
            added.add(new Layer.Select(s, y, s, 0, k));
            added.add(new Layer.Squeeze(h, s, h, List.of(0)));
        }
        String cLast = cells.get(t - 1).get(cAt).outputs().get(0);
        added.add(new Layer.Squeeze(cLast, yc, cLast, List.of(0)));
        // the layers that wrote the values now taken from the LSTM go; the rest of the steps is left to the liveness walk
        // (what still reads something the LSTM does not give, as an intermediate c, keeps computing it as before)
        Set<Layer> removed = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (int k = 0; k < t; k++) {
            removed.add(cells.get(k).get(hAt));
        }
        removed.add(cells.get(t - 1).get(cAt));
        List<Layer> out = new ArrayList<>();
        for (Layer l : layers) {
            if (!removed.contains(l)) {
                out.add(l);
            }
        }
        out.addAll(added);
        List<Layer> live = live(out, inputs, outputs);
        return live == null ? null : topological(live);
    }

    /** The layers ordered so that each comes after the producers of what it reads (stable otherwise), or null on a cycle. */
    private static List<Layer> topological(List<Layer> layers) {
        Map<String, Layer> producer = new HashMap<>();
        for (Layer l : layers) {
            for (String o : l.outputs()) {
                producer.put(o, l);
            }
        }
        List<Layer> out = new ArrayList<>();
        Set<Layer> done = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Layer> onPath = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (Layer root : layers) {
            if (done.contains(root)) {
                continue;
            }
            Deque<Object[]> stack = new ArrayDeque<>();
            stack.push(new Object[] {root, 0});
            onPath.add(root);
            while (!stack.isEmpty()) {
                Object[] top = stack.peek();
                Layer l = (Layer) top[0];
                int i = (Integer) top[1];
                if (i < l.inputs().size()) {
                    top[1] = i + 1;
                    Layer p = producer.get(l.inputs().get(i));
                    if (p != null && !done.contains(p)) {
                        if (!onPath.add(p)) {
                            return null;
                        }
                        stack.push(new Object[] {p, 0});
                    }
                } else {
                    stack.pop();
                    onPath.remove(l);
                    done.add(l);
                    out.add(l);
                }
            }
        }
        return out;
    }
}
