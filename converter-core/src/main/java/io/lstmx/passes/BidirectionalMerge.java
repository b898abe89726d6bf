package io.lstmx.passes;

import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.util.UniqueNames;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Rewrites a forward and a reverse one-direction recurrent layer whose outputs are joined on the
 * feature axis into one bidirectional layer followed by the concatenation form that
 * {@link BidirectionalPattern} recognises, so that exporters meet one shape of "bidirectional
 * layer with concatenated output" whichever way the source wrote it.
 *
 * <p>The form rewritten is what tf2onnx writes for a Keras {@code Bidirectional} wrapper (before
 * its own rewriter merges it), and what a hand-written PyTorch module running two LSTMs writes: two
 * LSTM (or two GRU, or two RNN) layers of equal sizes, layout, clip and gate options, one FORWARD
 * and one REVERSE, that read the same input with the same sequence lengths and either both or
 * neither an initial state and the same per-step mask (if any); each Y [T, 1, B, S] ([B, T, 1, S] batch-major) squeezed on its
 * direction axis to [T, B, S]; the two joined by a Concat on the last axis, forward first. The Ys
 * and the squeezed values must be read by that Squeeze and that Concat alone and be no model
 * outputs, since the rewrite removes them.
 *
 * <p>It becomes one BIDIRECTIONAL layer (forward weights and activations first, as the IR orders
 * directions) where the later of the two layers was, then, where the Concat was, a Transpose with
 * perm [0, 2, 1, 3] (time-major only) and a Reshape to [0, 0, 2S] writing the Concat's output.
 * Initial states are joined by a Concat on their direction axis; final states that anything reads
 * are cut back out of the bidirectional ones by Slices under their old names. Each direction of a
 * bidirectional layer computes exactly what the one-direction layer did, so the outputs are the
 * same, bit for bit. Other layers keep their order; a pair with a layer between them that reads
 * the earlier one's final state is left alone (the merged layer could not come before it).
 */
public final class BidirectionalMerge implements Pass {
    @Override
    public String name() {
        return "bidirectional-merge";
    }

    @Override
    public Model apply(Model model) {
        Model current = model;
        for (Candidate c = next(current); c != null; c = next(current)) {
            current = rewrite(current, c);
        }
        return current;
    }

    /** A Concat joining the squeezed outputs of a forward and a reverse layer that can merge. */
    private record Candidate(Layer.Concat concat, Layer.Squeeze squeezeFwd, Layer.Squeeze squeezeRev, Layer fwd, Layer rev) {
    }

    private static Candidate next(Model model) {
        Graph g = new Graph(model);
        for (Layer l : model.layers()) {
            if (l instanceof Layer.Concat c) {
                Candidate m = match(g, c);
                if (m != null) {
                    return m;
                }
            }
        }
        return null;
    }

    private static Candidate match(Graph g, Layer.Concat c) {
        if (c.inputs().size() != 2 || c.inputs().get(0).equals(c.inputs().get(1)) || (c.axis() != 2 && c.axis() != -1)) {
            return null;
        }
        Layer.Squeeze sf = squeezeOfSequence(g, c.inputs().get(0), c);
        Layer.Squeeze sr = squeezeOfSequence(g, c.inputs().get(1), c);
        if (sf == null || sr == null) {
            return null;
        }
        Layer fwd = g.producer(sf.input());
        Layer rev = g.producer(sr.input());
        if (fwd == rev || Recurrent.direction(fwd) != Direction.FORWARD || Recurrent.direction(rev) != Direction.REVERSE
                || !Recurrent.mergeable(fwd, rev)) {
            return null;
        }
        Recurrent.Ports pf = Recurrent.ports(fwd);
        Recurrent.Ports pr = Recurrent.ports(rev);
        if (!pf.input().equals(pr.input()) || !Objects.equals(pf.sequenceLengths(), pr.sequenceLengths())
                || !Objects.equals(pf.mask(), pr.mask()) || pf.zeroMaskedOutput() != pr.zeroMaskedOutput()
                || (pf.initialH() == null) != (pr.initialH() == null) || (pf.initialC() == null) != (pr.initialC() == null)) {
            return null;
        }
        // Layers between the two that read the earlier one's final states would come before the merged layer.
        Layer first = g.position(fwd) < g.position(rev) ? fwd : rev;
        Set<String> firstOutputs = new HashSet<>(first.outputs());
        int from = Math.min(g.position(fwd), g.position(rev));
        int to = Math.max(g.position(fwd), g.position(rev));
        for (int i = from + 1; i < to; i++) {
            Layer between = g.model.layers().get(i);
            if (between != sf && between != sr && between.inputs().stream().anyMatch(firstOutputs::contains)) {
                return null;
            }
        }
        return new Candidate(c, sf, sr, fwd, rev);
    }

    /**
     * The Squeeze writing {@code value} (read by {@code concat} alone) that removes the direction
     * axis of a one-direction layer's Y (read by that Squeeze alone), or null.
     */
    private static Layer.Squeeze squeezeOfSequence(Graph g, String value, Layer.Concat concat) {
        if (!(g.producer(value) instanceof Layer.Squeeze s) || !g.onlyReadBy(value, concat) || s.axes().size() != 1) {
            return null;
        }
        Layer rec = g.producer(s.input());
        if (rec == null || !Recurrent.is(rec) || !s.input().equals(Recurrent.ports(rec).y()) || !g.onlyReadBy(s.input(), s)) {
            return null;
        }
        int axis = directionAxis(rec);
        int a = s.axes().get(0);
        return a == axis || a == axis - 4 ? s : null;
    }

    /** Axis of Y that holds the directions: [T, D, B, S] or [B, T, D, S]. */
    private static int directionAxis(Layer rec) {
        return Recurrent.layout(rec) == Layout.TIME_MAJOR ? 1 : 2;
    }

    private static Model rewrite(Model model, Candidate c) {
        Graph g = new Graph(model);
        UniqueNames layerNames = new UniqueNames(model.layers().stream().map(Layer::name).toList());
        UniqueNames valueNames = new UniqueNames(model.inputNames());
        model.layers().forEach(l -> l.outputs().forEach(valueNames::reserve));

        Recurrent.Ports pf = Recurrent.ports(c.fwd());
        Recurrent.Ports pr = Recurrent.ports(c.rev());
        boolean timeMajor = Recurrent.layout(c.fwd()) == Layout.TIME_MAJOR;
        int stateAxis = timeMajor ? 0 : 1;
        String name = layerNames.fresh(c.fwd().name() + "/bidirectional");

        // Before the merged layer: its initial states, each direction's joined on the direction axis.
        List<Layer> head = new ArrayList<>();
        String h0 = joinedState(pf.initialH(), pr.initialH(), name + "/initial_h", stateAxis, head, layerNames, valueNames);
        String c0 = joinedState(pf.initialC(), pr.initialC(), name + "/initial_c", stateAxis, head, layerNames, valueNames);
        // After it: the final states anything reads, cut back out under their old names.
        List<Layer> tail = new ArrayList<>();
        String yh = splitState(read(g, pf.yh()), read(g, pr.yh()), name + "/Y_h", stateAxis, tail, layerNames, valueNames);
        String yc = splitState(read(g, pf.yc()), read(g, pr.yc()), name + "/Y_c", stateAxis, tail, layerNames, valueNames);
        String y = valueNames.fresh(name + "/Y");
        Layer merged = Recurrent.bidirectional(name, c.fwd(), c.rev(),
                new Recurrent.Ports(pf.input(), pf.sequenceLengths(), h0, c0, y, yh, yc, pf.mask(), pf.zeroMaskedOutput()));
        head.add(merged);
        head.addAll(tail);

        // Where the Concat was: [T, 2, B, S] -> [T, B, 2, S] -> [T, B, 2S], or [B, T, 2, S] -> [B, T, 2S].
        List<Layer> join = new ArrayList<>();
        String directions = y;
        if (timeMajor) {
            directions = valueNames.fresh(name + "/Y_directions_last");
            join.add(new Layer.Transpose(layerNames.fresh(c.concat().name() + "/transpose"), y, directions, List.of(0, 2, 1, 3)));
        }
        long features = 2L * Recurrent.outputSize(c.fwd());
        join.add(new Layer.Reshape(layerNames.fresh(c.concat().name() + "/reshape"), directions, c.concat().output(), List.of(0L, 0L, features)));

        int at = Math.max(g.position(c.fwd()), g.position(c.rev()));
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < model.layers().size(); i++) {
            Layer l = model.layers().get(i);
            if (i == at) {
                layers.addAll(head);
            } else if (l == c.concat()) {
                layers.addAll(join);
            } else if (l != c.fwd() && l != c.rev() && l != c.squeezeFwd() && l != c.squeezeRev()) {
                layers.add(l);
            }
        }
        return new Model(model.name(), model.info(), model.inputs(), model.outputs(), layers);
    }

    /** {@code value} when something reads it, else null. */
    private static String read(Graph g, String value) {
        return value != null && g.isRead(value) ? value : null;
    }

    /** The bidirectional initial state made of both directions' ({@code null} when they have none). */
    private static String joinedState(String fwd, String rev, String base, int axis, List<Layer> out,
                                      UniqueNames layerNames, UniqueNames valueNames) {
        if (fwd == null) {
            return null;
        }
        String joined = valueNames.fresh(base);
        out.add(new Layer.Concat(layerNames.fresh(base), List.of(fwd, rev), joined, axis));
        return joined;
    }

    /**
     * The bidirectional final state whose direction 0 becomes {@code fwd} and direction 1
     * {@code rev} (each when present); null when neither is wanted.
     */
    private static String splitState(String fwd, String rev, String base, int axis, List<Layer> out,
                                     UniqueNames layerNames, UniqueNames valueNames) {
        if (fwd == null && rev == null) {
            return null;
        }
        String both = valueNames.fresh(base);
        if (fwd != null) {
            out.add(new Layer.Slice(layerNames.fresh(base + "/forward"), both, fwd, axis, 0, 1, 1));
        }
        if (rev != null) {
            out.add(new Layer.Slice(layerNames.fresh(base + "/reverse"), both, rev, axis, 1, 2, 1));
        }
        return both;
    }
}
