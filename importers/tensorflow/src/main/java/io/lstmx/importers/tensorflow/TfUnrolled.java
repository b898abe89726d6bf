package io.lstmx.importers.tensorflow;

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
 * Folds a cell unrolled over every step of a sequence back into ONE IR LSTM layer: a chain of
 * one-step LSTM layers (LSTMBlockCell ops, see {@link BlockLstm#cell}, as
 * tf.compat.v1.nn.static_rnn builds them) in which step k + 1 starts from the h and c step k ends
 * with, every step has the same spec and weights, and step k reads x_t = seq[s + k] (Unpack,
 * StridedSlice or Gather of one sequence along its time axis; or seq[s + T - 1 - k], a reverse
 * chain). The chain becomes an LSTM over seq[s, s + T) (transposed to time-major when the time
 * axis is 1) whose Y_h and Y_c are the last step's, and step k's h becomes Y[k] (Y[T - 1 - k] for a
 * reverse chain), so that whatever read it (a Pack of every h, a head on the last one) reads the same
 * values. The fold is kept only when nothing still reads a value it removed (an intermediate cell
 * state, a gate output); otherwise the steps stay as they are, which computes the same function.
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
}
