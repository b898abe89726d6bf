package io.lstmx.importers.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;
import io.lstmx.util.SafeText;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.NodeDef;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A TF2 functional loop ({@code While}, {@code StatelessWhile}) over the time steps of a sequence
 * whose body computes one recurrent cell, read as ONE IR LSTM, GRU or RNN layer (never unrolled).
 *
 * <p>The loop variables are classified by what they are: step counters (int scalars from 0: the
 * loop's time, and tf.while_loop's own loop counter beside it), the sequence (a float [T, B, I]
 * value, possibly time-reversed, or a TensorList made from one), the state(s) (float [B, H]: h and,
 * for an LSTM, c, in either order, as TF1's LSTMStateTuple holds (c, h)), the output accumulator
 * (a zero-filled float [T, B, H], or a reserved TensorList) and loop invariants (variables the body
 * returns unchanged: captured weights, maximum_iterations). The condition must be {@code t < T}
 * (several such joined by LogicalAnd). The body is interpreted once, symbolically, with stand-ins:
 * reading the sequence at t (GatherV2, TensorListGetItem) gives x_t, the states h_prev and c_prev,
 * and writing the accumulator at t (TensorScatterUpdate of [h], TensorListSetItem of h) records
 * the step's output, which must be the new h. The body's layers (constants captured in it hold the
 * weights) are then matched: one LSTMBlockCell from x_t, h_prev and c_prev is the loop's LSTM
 * outright; otherwise the gate algebra of an LSTM (gates from one affine map of x_t and h_prev,
 * split; c' = f·c + i·g, h = o·act(c'); coupled gates f = 1 - i; TF1 LSTMCell's peepholes
 * i, f += w ⊙ c and o += w_o ⊙ c'; its cell clip c' = clip_by_value(c', -k, k), the IR's cell clip;
 * a forget_bias added at run time folds into the bias), a GRU (reset before or after the recurrent
 * product) or an RNN (h = f(W x + R h + b)), with any of the IR's activations, and the result is
 * checked numerically against the body on random inputs. Anything else (sequence lengths, a clip
 * that is not symmetric, projections of other shapes, other loop shapes) is refused with the reason.
 */
final class TfWhile {
    private TfWhile() {
    }

    private static String func(TfNode n, String key) {
        AttrValue a = n.attr(key);
        if (a == null || !a.hasFunc()) {
            throw n.bad("names no " + key + " function");
        }
        return a.getFunc().getName();
    }

    /**
     * Whether the loop body returns its argument {@code i} unchanged (directly or through Identity
     * nodes): a loop invariant, as while_v2 makes of captured weights and of maximum_iterations.
     */
    static boolean passThrough(FunctionDef body, int i) {
        if (body == null) {
            return false;
        }
        var sig = body.getSignature();
        if (i >= sig.getInputArgCount() || i >= sig.getOutputArgCount()) {
            return false;
        }
        String want = sig.getInputArg(i).getName();
        String r = body.getRetMap().get(sig.getOutputArg(i).getName());
        Map<String, NodeDef> byName = new HashMap<>();
        for (NodeDef d : body.getNodeDefList()) {
            byName.put(d.getName(), d);
        }
        for (int guard = 0; r != null && guard < 64; guard++) {
            if (r.equals(want)) {
                return true;
            }
            int c = r.indexOf(':');
            NodeDef d = c < 0 ? null : byName.get(r.substring(0, c));
            if (d == null || !d.getOp().equals("Identity") || d.getInputCount() == 0) {
                return false;
            }
            r = d.getInput(0);
        }
        return false;
    }

    static Object[] convert(TfNode n) {
        String condName = func(n, "cond");
        String bodyName = func(n, "body");
        FunctionDef bodyDef = n.in.functions.get(bodyName);
        List<Object> init = n.inputs;
        List<Integer> counters = new ArrayList<>();
        List<Integer> invariants = new ArrayList<>();
        int seq = -1;
        int acc = -1;
        List<Integer> states = new ArrayList<>();
        int mask = -1;
        for (int i = 0; i < init.size(); i++) {
            Object o = init.get(i);
            if (o instanceof TfSymbolic.Reversed r && r.last() == null && seq < 0 && r.inner().shape().size() == 3) {
                seq = i;
                continue;
            }
            if (mask < 0 && passThrough(bodyDef, i) && isMask(o)) {
                // lstmx's masked loops carry the per-step mask [T, B] unchanged and read it at step t
                mask = i;
                continue;
            }
            if (o instanceof TfSymbolic.ListReserve && acc < 0) {
                acc = i;
                continue;
            }
            boolean invariant = passThrough(bodyDef, i) && !(o instanceof Value v1 && Value.simplify(v1) instanceof Value.Run);
            if (invariant && (o instanceof TfInterpreter.Resource || o instanceof Value)) {
                // weights captured by the loop, tf.while_loop's maximum_iterations: the body reads them as they are
                invariants.add(i);
                continue;
            }
            if (!(o instanceof Value v0)) {
                throw n.unsupported("loop variable " + i + " is " + TfInterpreter.describe(o));
            }
            Value v = Value.simplify(v0);
            List<SDim> s = Value.shapeOf(v);
            DType t = Value.dtypeOf(v);
            if (s == null) {
                throw n.unsupported("loop variable " + i + " has unknown rank; lstmx reads loops over time whose variables have known ranks");
            }
            if (!t.isFloating() && s.isEmpty() && v instanceof Value.Const c && c.tensor().toLongArray()[0] == 0) {
                // the step counter; tf.while_loop adds its own loop counter beside the loop's time
                counters.add(i);
            } else if (t.isFloating() && s.size() == 3 && v instanceof Value.Filled f && f.element().getFloat(0) == 0f && acc < 0) {
                acc = i;
            } else if (t.isFloating() && s.size() == 3 && v instanceof Value.Run && seq < 0) {
                seq = i;
            } else if (t.isFloating() && s.size() == 2) {
                states.add(i);
            } else if (!t.isFloating() && s.size() == 1) {
                throw n.unsupported("loop variable " + i + " looks like sequence lengths; lstmx does not read masked While loops yet");
            } else {
                throw n.unsupported("loop variable " + i + " (" + Value.describe(v) + ") is none of step counter, [T, B, I] sequence,"
                        + " [B, H] state, zero [T, B, H] output accumulator (or TensorList) or loop invariant");
            }
        }
        if (counters.isEmpty() || seq < 0 || acc < 0 || states.isEmpty() || states.size() > (mask >= 0 ? 3 : 2)) {
            throw n.unsupported("is not a loop over time steps lstmx reads (it needs a step counter from 0, a [T, B, I] sequence,"
                    + " one or two [B, H] states and a zero [T, B, H] output accumulator or TensorList; found "
                    + init.size() + " loop variables)");
        }
        boolean reversed = init.get(seq) instanceof TfSymbolic.Reversed;
        Value.Run xs = reversed ? ((TfSymbolic.Reversed) init.get(seq)).inner() : (Value.Run) Value.simplify((Value) init.get(seq));
        if (xs.shape() == null || xs.shape().size() != 3) {
            throw n.unsupported("the loop's sequence is " + Value.describe(xs) + ", not [T, B, I]");
        }
        SDim time = xs.shape().get(0);
        SDim batch = xs.shape().get(1);
        SDim inDim = xs.shape().get(2);
        TfInterpreter in = n.in;
        // stand-ins
        List<Object> args = new ArrayList<>(init);
        for (int c : counters) {
            args.set(c, new TfSymbolic.LoopIndex(false));
        }
        args.set(seq, xs);
        args.set(acc, new TfSymbolic.Accum(null, false));
        String maskName = null;
        if (mask >= 0) {
            boolean maskReversed = init.get(mask) instanceof TfSymbolic.Reversed;
            if (maskReversed != reversed) {
                throw n.unsupported("the loop reads its sequence " + (reversed ? "reversed" : "in order") + " but its per-step mask (loop variable "
                        + mask + ") " + (maskReversed ? "reversed" : "in order") + "; lstmx reads a mask in the sequence's order");
            }
            Value.Run mr = maskReversed ? ((TfSymbolic.Reversed) init.get(mask)).inner() : (Value.Run) Value.simplify((Value) init.get(mask));
            List<SDim> ms = mr.shape();
            if (!sameOrUnknown(ms.get(0), time) || !sameOrUnknown(ms.get(1), batch)) {
                throw n.unsupported("the loop's per-step mask (loop variable " + mask + ") is " + Value.describe(mr) + ", not [T, B] of its sequence "
                        + Value.describe(xs));
            }
            maskName = mr.name();
            args.set(mask, new TfSymbolic.LoopMask(maskName));
        }
        String base = n.name();
        List<String> stateNames = new ArrayList<>();
        List<Integer> stateSizes = new ArrayList<>();
        for (int k = 0; k < states.size(); k++) {
            int i = states.get(k);
            List<SDim> s = Value.shapeOf((Value) init.get(i));
            String nm = in.names.fresh(base + "/state" + k + "_prev");
            stateNames.add(nm);
            // an unknown size is taken from the accumulator (h) or the body's weights (c), below
            stateSizes.add(s.get(1).isKnown() ? (int) s.get(1).value() : -1);
            args.set(i, new Value.Run(nm, DType.FLOAT32, List.of(batch, s.get(1))));
        }
        int layersBefore = in.layers.size();
        in.loopXt = null;
        if (!in.loopSelects.isEmpty()) {
            throw n.unsupported("a While loop inside a masked loop's body");
        }
        Map<Tensor, String> constantsBefore = new IdentityHashMap<>(in.constants);
        in.loopSequences.add(xs.name());
        List<Object> condOut;
        List<Object> bodyOut;
        List<Layer> cell;
        try {
            condOut = in.call(condName, args, n);
            bodyOut = in.call(bodyName, args, n);
        } finally {
            in.loopSequences.remove(xs.name());
            cell = new ArrayList<>(in.layers.subList(layersBefore, in.layers.size()));
            in.layers.subList(layersBefore, in.layers.size()).clear();
            in.constants.clear();
            in.constants.putAll(constantsBefore);
        }
        if (condOut.size() != 1 || !(condOut.get(0) instanceof TfSymbolic.LoopCond lc) || !lc.time().equals(time)) {
            throw n.unsupported("the loop condition '" + SafeText.name(condName) + "' is not t < T (the sequence's time steps): "
                    + (condOut.isEmpty() ? "nothing" : TfInterpreter.describe(condOut.get(0))));
        }
        if (bodyOut.size() != init.size()) {
            throw n.bad("the loop body returns " + bodyOut.size() + " values for " + init.size() + " loop variables");
        }
        for (int c : counters) {
            if (!(bodyOut.get(c) instanceof TfSymbolic.LoopIndex li) || !li.next()) {
                throw n.unsupported("the loop body does not advance its step counter (loop variable " + c + ") by one");
            }
        }
        if (!(bodyOut.get(seq) instanceof Value.Run sr) || !sr.name().equals(xs.name())) {
            throw n.unsupported("the loop body changes the sequence it reads");
        }
        if (!(bodyOut.get(acc) instanceof TfSymbolic.Accum ac) || ac.update() == null) {
            throw n.unsupported("the loop body does not write its output accumulator at step t");
        }
        int prevOut = -1;
        boolean zeroMasked = false;
        if (mask >= 0) {
            MaskedLoop ml = masked(n, init, args, bodyOut, states, mask, cell, ac);
            prevOut = ml.prevOut();
            zeroMasked = ml.zeroMasked();
            states = new ArrayList<>(states);
            states.remove(Integer.valueOf(prevOut));
            stateNames.remove(ml.prevIndex());
            stateSizes.remove(ml.prevIndex());
            if (states.isEmpty() || states.size() > 2) {
                throw n.unsupported("the masked loop carries " + states.size() + " states beside its previous output; lstmx reads h, or h and c");
            }
        } else if (!in.loopSelects.isEmpty()) {
            throw n.unsupported("the loop body selects by a mask it does not carry");
        }
        List<String> next = new ArrayList<>();
        for (int i : states) {
            if (!(bodyOut.get(i) instanceof Value.Run r)) {
                throw n.unsupported("the loop body's new state " + i + " is " + TfInterpreter.describe(bodyOut.get(i)));
            }
            next.add(r.name());
        }
        if (in.loopXt == null) {
            throw n.unsupported("the loop body does not read its sequence at step t");
        }
        SDim accWidth = accumulatorWidth(init.get(acc), n);
        Match found;
        try {
            found = matchEitherOrder(n, cell, stateNames, next, stateSizes, states, accWidth, inDim, ac, reversed, base, xs, init);
        } finally {
            in.loopSelects.clear();
        }
        Layer.Recurrent layer = found.layer();
        if (maskName != null) {
            layer = layer.withPorts(layer.ports().withMask(maskName, zeroMasked));
        }
        states = found.states();
        // add the layer and its outputs
        in.add(layer);
        int h = found.sizes().get(0);
        String y = KerasRecurrent.squeeze(n, layer.outputSequence(), 1, base + "/outputs");
        Value.Run yv = new Value.Run(y, DType.FLOAT32, List.of(time, batch, SDim.known(h)));
        Value.Run hT = new Value.Run(KerasRecurrent.squeeze(n, layer.outputH(), 0, base + "/h_last"), DType.FLOAT32, List.of(batch, SDim.known(h)));
        Object[] out = new Object[init.size()];
        for (int c : counters) {
            out[c] = Value.simplify(new Value.ShapeVec(List.of(time), true));
        }
        for (int i : invariants) {
            out[i] = init.get(i);
        }
        out[seq] = init.get(seq);
        if (mask >= 0) {
            out[mask] = init.get(mask);
            out[prevOut] = new KerasRecurrent.Unavailable("the previous-output loop variable of the masked While loop '" + SafeText.name(base)
                    + "' (lstmx reads the loop's outputs and states)");
        }
        out[states.get(0)] = hT;
        if (states.size() == 2) {
            out[states.get(1)] = new Value.Run(KerasRecurrent.squeeze(n, layer.outputC(), 0, base + "/c_last"), DType.FLOAT32,
                    List.of(batch, SDim.known(found.sizes().get(1))));
        }
        if (reversed) {
            out[acc] = new TfSymbolic.Reversed(yv, hT);
        } else {
            in.lastSteps.put(y, hT);
            out[acc] = yv;
        }
        return out;
    }

    private static Match matchEitherOrder(TfNode n, List<Layer> cell, List<String> stateNames, List<String> next, List<Integer> stateSizes,
                                          List<Integer> states, SDim accWidth, SDim inDim, TfSymbolic.Accum ac, boolean reversed, String base,
                                          Value.Run xs, List<Object> init) {
        TfInterpreter in = n.in;
        Match found;
        try {
            found = matchCell(n, cell, in.loopXt, stateNames, next, stateSizes, states, accWidth, inDim, ac, reversed, base, xs, init);
        } catch (LstmxException first) {
            if (states.size() != 2) {
                throw first;
            }
            // TF1's LSTMStateTuple holds (c, h): try the two states the other way round before giving up
            try {
                found = matchCell(n, cell, in.loopXt, List.of(stateNames.get(1), stateNames.get(0)), List.of(next.get(1), next.get(0)),
                        List.of(stateSizes.get(1), stateSizes.get(0)), List.of(states.get(1), states.get(0)), accWidth, inDim, ac, reversed,
                        base, xs, init);
            } catch (LstmxException second) {
                throw first;
            }
        }
        return found;
    }

    /** Whether a loop variable may be a per-step mask: a float [T, B] run-time value, possibly time-reversed. */
    private static boolean isMask(Object o) {
        Value.Run r = o instanceof TfSymbolic.Reversed rv && rv.last() == null ? rv.inner()
                : o instanceof Value v && Value.simplify(v) instanceof Value.Run run ? run : null;
        return r != null && r.dtype().isFloating() && r.shape() != null && r.shape().size() == 2;
    }

    private static boolean sameOrUnknown(SDim a, SDim b) {
        return !a.isKnown() || !b.isKnown() || a.value() == b.value();
    }

    /** What {@link #masked} found: the previous-output loop variable, its place among the states, and whether masked steps output zeros. */
    private record MaskedLoop(int prevOut, int prevIndex, boolean zeroMasked) {
    }

    /**
     * Checks the masked loop's body against Keras's rule as lstmx's SavedModel writer spells it:
     * <pre>
     *   counts = mask[t] != 0                         ([B, 1])
     *   y_t    = where(counts, h', prev)  or  where(counts, h', 0)     (zeroMaskedOutput)
     *   h, c   = where(counts, h', h), where(counts, c', c)
     *   Y[t]   = y_t,  prev = y_t                     (prev starts at zeros)
     * </pre>
     * so that a masked step keeps the states and repeats the previous output (zeros before the
     * first counted step) or outputs zeros: the IR's mask port. The cell (h', c') is matched and
     * checked numerically afterwards, through the selects.
     */
    private static MaskedLoop masked(TfNode n, List<Object> init, List<Object> args, List<Object> bodyOut, List<Integer> states, int mask,
                                     List<Layer> cell, TfSymbolic.Accum ac) {
        Map<String, TfSymbolic.MaskSelect> sel = n.in.loopSelects;
        String maskName = ((TfSymbolic.LoopMask) args.get(mask)).name();
        if (!(bodyOut.get(mask) instanceof TfSymbolic.LoopMask m) || !m.name().equals(maskName)) {
            throw n.unsupported("the masked loop's body changes its per-step mask (loop variable " + mask + ")");
        }
        Map<String, Layer> producer = new HashMap<>();
        for (Layer l : cell) {
            for (String o : l.outputs()) {
                producer.put(o, l);
            }
        }
        String written = ac.update();
        while (producer.get(written) instanceof Layer.Identity id) {
            written = id.input();
        }
        if (!ac.element()) {
            if (!(producer.get(written) instanceof Layer.Unsqueeze u) || !u.axes().equals(List.of(0))) {
                throw n.unsupported("the masked loop writes " + SafeText.name(written) + " at step t, not a step's output unsqueezed to [1, B, H]");
            }
            written = u.input();
            while (producer.get(written) instanceof Layer.Identity id) {
                written = id.input();
            }
        }
        TfSymbolic.MaskSelect y = sel.get(written);
        if (y == null) {
            throw n.unsupported("the masked loop's output at step t is not where(mask[t] != 0, new h, previous output or zeros)");
        }
        int prevOut = -1;
        for (int i : states) {
            if (bodyOut.get(i) instanceof Value.Run r && r.name().equals(written)) {
                if (prevOut >= 0) {
                    throw n.unsupported("loop variables " + prevOut + " and " + i + " both carry the masked loop's output");
                }
                prevOut = i;
            }
        }
        if (prevOut < 0) {
            throw n.unsupported("the masked loop does not carry its output to the next step (Keras's masked step repeats the previous output)");
        }
        String prevName = ((Value.Run) args.get(prevOut)).name();
        boolean zeroMasked;
        if (y.otherwise() == null) {
            zeroMasked = true;
        } else if (y.otherwise().equals(prevName)) {
            zeroMasked = false;
        } else {
            throw n.unsupported("the masked loop's output at a masked step is " + SafeText.name(y.otherwise())
                    + ", neither the previous output (loop variable " + prevOut + ") nor zeros");
        }
        Value p0 = Value.simplify((Value) init.get(prevOut));
        if (!(p0 instanceof Value.Filled f && f.element().getFloat(0) == 0f) && !(p0 instanceof Value.Const c && Fold.allZero(c.tensor()))) {
            throw n.unsupported("the masked loop's previous output (loop variable " + prevOut + ") starts at " + Value.describe(p0)
                    + "; Keras's rule repeats zeros before a row's first counted step");
        }
        for (int i : states) {
            if (i == prevOut) {
                continue;
            }
            String stand = ((Value.Run) args.get(i)).name();
            TfSymbolic.MaskSelect s = bodyOut.get(i) instanceof Value.Run r ? sel.get(r.name()) : null;
            if (s == null || !stand.equals(s.otherwise()) || !s.mask().equals(maskName)) {
                throw n.unsupported("the masked loop's state (loop variable " + i + ") is not where(mask[t] != 0, new state, previous state):"
                        + " a masked step must keep it");
            }
        }
        if (!y.mask().equals(maskName)) {
            throw n.unsupported("the masked loop's output selects by another mask");
        }
        return new MaskedLoop(prevOut, states.indexOf(prevOut), zeroMasked);
    }

    /** The layer matched to a loop body, with the loop variables of h and c (in that order) and their sizes. */
    private record Match(Layer.Recurrent layer, List<Integer> states, List<Integer> sizes) {
    }

    /** The output accumulator's width (H), or an unknown dimension. */
    private static SDim accumulatorWidth(Object acc, TfNode n) {
        if (acc instanceof TfSymbolic.ListReserve r) {
            return r.element() != null && r.element().size() == 2 ? r.element().get(1) : n.freshDim();
        }
        return Value.shapeOf((Value) acc).get(2);
    }

    /** Matches the body's layers with the states taken as h (first) and c (second), then checks one step numerically. */
    private static Match matchCell(TfNode n, List<Layer> cell, String xt, List<String> stateNames, List<String> next, List<Integer> sizes0,
                                   List<Integer> states, SDim accWidth, SDim inDim, TfSymbolic.Accum ac, boolean reversed, String base,
                                   Value.Run xs, List<Object> init) {
        List<Integer> sizes = new ArrayList<>(sizes0);
        if (sizes.get(0) < 0) {
            if (!accWidth.isKnown()) {
                throw n.unsupported("the loop's state h and output accumulator have unknown sizes");
            }
            sizes.set(0, (int) accWidth.value());
        }
        Cell m = new Cell(n, cell, xt, stateNames, next, sizes.get(0));
        int inSize = inDim.isKnown() ? (int) inDim.value() : m.inputSizeFromWeights();
        if (sizes.size() == 2 && sizes.get(1) < 0) {
            sizes.set(1, m.gateRowsFromWeights() / 4);
        }
        Layer.Recurrent layer = m.match(ac.update(), ac.element(), inSize, sizes, reversed, base, xs, init, states);
        m.verify(layer);
        return new Match(layer, states, sizes);
    }

    /** TensorScatterUpdate(accumulator, [[t]], update): records the step's output. */
    static Object[] scatter(TfNode n) {
        if (n.input(0) instanceof TfSymbolic.Accum a && a.update() == null && n.input(1) instanceof TfSymbolic.LoopIndex li && !li.next()
                && n.input(2) instanceof Value.Run u) {
            return TfOps.one(new TfSymbolic.Accum(u.name(), false));
        }
        throw n.unsupported("lstmx reads TensorScatterUpdate only as a While loop writing its output at step t");
    }

    /** The matcher of one body's layers. */
    static final class Cell {
        final TfNode n;
        final List<Layer> layers;
        final Map<String, Layer> producer = new HashMap<>();
        final List<String> stateNames;
        final List<String> next;
        final String x;
        final int hSize;
        Tensor projection;

        Cell(TfNode n, List<Layer> layers, String x, List<String> stateNames, List<String> next, int hSize) {
            this.n = n;
            this.x = x;
            this.hSize = hSize;
            this.layers = layers;
            this.stateNames = stateNames;
            this.next = next;
            for (Layer l : layers) {
                for (String o : l.outputs()) {
                    producer.put(o, l);
                }
            }
        }

        LstmxException refuse(String why) {
            return n.unsupported("the While loop's body is not a recurrent cell lstmx reads: " + why);
        }

        /** Skips Identity layers, and a masked loop's selects (their value at counted steps; the loop reader checks the rest). */
        String strip(String v) {
            for (int guard = 0; guard < 10_000; guard++) {
                Layer l = producer.get(v);
                if (l instanceof Layer.Identity id) {
                    v = id.input();
                    continue;
                }
                TfSymbolic.MaskSelect s = n.in.loopSelects.get(v);
                if (s == null) {
                    return v;
                }
                v = s.kept();
            }
            throw refuse("its values are chained through more than 10000 Identity and select nodes");
        }

        Layer prod(String v) {
            return producer.get(strip(v));
        }

        /**
         * W x + R h + b over rows, with R possibly applied to r ⊙ h (gated), plus p ⊙ c for a peephole
         * vector p on the cell state named pOn (the previous or the new c). rows is -1 for a scalar
         * constant b, which broadcasts over the rows of whatever it is added to.
         */
        record Aff(Tensor w, Tensor r, Tensor rGated, String gate, Tensor b, int rows, Tensor p, String pOn) {
            Aff(Tensor w, Tensor r, Tensor rGated, String gate, Tensor b, int rows) {
                this(w, r, rGated, gate, b, rows, null, null);
            }
        }

        /** The new cell state (after its clip, if any), which the output gate's peephole reads; null before matching an LSTM. */
        String cNew;

        /** v as a constant float vector, or null. */
        Tensor vector(String v) {
            if (prod(v) instanceof Layer.Constant c && c.value().dtype().isFloating() && c.value().rank() == 1) {
                return c.value();
            }
            return null;
        }

        Aff affine(String v) {
            v = strip(v);
            Layer l = producer.get(v);
            if (l instanceof Layer.Constant c) {
                Tensor t = c.value();
                if (!t.dtype().isFloating()) {
                    return null;
                }
                if (t.rank() == 2 && t.dim(0) == 1) {
                    t = t.reshape(t.dim(1));
                }
                if (t.rank() == 0) {
                    return new Aff(null, null, null, null, t, -1);
                }
                return t.rank() == 1 ? new Aff(null, null, null, null, t, t.dim(0)) : null;
            }
            if (l instanceof Layer.Dense d) {
                String src = strip(d.input());
                Tensor wt = d.weight();
                int rows = wt.dim(0);
                Aff a;
                if (src.equals(x)) {
                    a = new Aff(wt, null, null, null, null, rows);
                } else if (src.equals(stateNames.get(0))) {
                    a = new Aff(null, wt, null, null, null, rows);
                } else if (producer.get(src) instanceof Layer.Binary b && b.op() == Layer.Binary.Op.MUL
                        && (strip(b.a()).equals(stateNames.get(0)) || strip(b.b()).equals(stateNames.get(0)))) {
                    String gate = strip(b.a()).equals(stateNames.get(0)) ? strip(b.b()) : strip(b.a());
                    a = new Aff(null, null, wt, gate, null, rows);
                } else if (producer.get(src) instanceof Layer.Concat cc && cc.inputs().size() == 2 && (cc.axis() == 1 || cc.axis() == -1)
                        && strip(cc.inputs().get(0)).equals(x) && strip(cc.inputs().get(1)).equals(stateNames.get(0))) {
                    int in = wt.dim(1) - stateSizeH();
                    a = new Aff(Fold.slice(wt, 1, 0, in, 1, n), Fold.slice(wt, 1, in, wt.dim(1), 1, n), null, null, null, rows);
                } else {
                    return null;
                }
                if (d.bias() != null) {
                    a = new Aff(a.w, a.r, a.rGated, a.gate, d.bias(), rows);
                }
                return a;
            }
            if (l instanceof Layer.Binary b && b.op() == Layer.Binary.Op.MUL && stateNames.size() == 2) {
                // p ⊙ c: a peephole of TF1's LSTMCell(use_peepholes) on the previous or the new cell state
                Tensor k = vector(b.a());
                String other = strip(b.b());
                if (k == null) {
                    k = vector(b.b());
                    other = strip(b.a());
                }
                if (k != null && (other.equals(stateNames.get(1)) || other.equals(cNew))) {
                    return new Aff(null, null, null, null, null, k.dim(0), k, other);
                }
                return null;
            }
            if (l instanceof Layer.Binary b && b.op() == Layer.Binary.Op.ADD) {
                Aff p = affine(b.a());
                Aff q = p == null ? null : affine(b.b());
                return p == null || q == null ? null : sum(p, q);
            }
            if (l instanceof Layer.Slice s && s.step() == 1 && (s.axis() == 1 || s.axis() == -1)) {
                Aff a = affine(s.input());
                if (a == null || a.rows < 0) {
                    return a;
                }
                long st = Math.max(0, s.start() < 0 ? s.start() + a.rows : s.start());
                long en = Math.min(a.rows, s.end() < 0 ? s.end() + a.rows : s.end());
                if (en <= st) {
                    return null;
                }
                return new Aff(rows(a.w, st, en), rows(a.r, st, en), rows(a.rGated, st, en), a.gate, rows(a.b, st, en), (int) (en - st),
                        rows(a.p, st, en), a.pOn);
            }
            return null;
        }

        int stateSizeH() {
            return hSize;
        }

        /** Rows of the first matrix product of x_t (all gates), when the cell state's size is not known. */
        int gateRowsFromWeights() {
            for (Layer l : layers) {
                if (l instanceof Layer.Dense d && strip(d.input()).equals(x)) {
                    return d.weight().dim(0);
                }
            }
            throw refuse("the cell state's size is unknown and no matrix product of x_t gives it");
        }

        /** I from the first matrix product of x_t, when the sequence's feature size is not known. */
        int inputSizeFromWeights() {
            for (Layer l : layers) {
                if (l instanceof Layer.Dense d && strip(d.input()).equals(x)) {
                    return d.weight().dim(1);
                }
            }
            throw refuse("the sequence's feature size is unknown and no matrix product of x_t gives it");
        }

        Tensor rows(Tensor t, long st, long en) {
            return t == null ? null : Fold.slice(t, 0, st, en, 1, n);
        }

        Tensor add(Tensor a, Tensor b) {
            return a == null ? b : b == null ? a : Fold.binary(Layer.Binary.Op.ADD, a, b, n);
        }

        Aff sum(Aff p, Aff q) {
            if (p.rows < 0 && q.rows >= 0) {
                return sum(q, p);
            }
            if (q.rows < 0 && p.rows >= 0) {
                // a scalar (TF1's forget_bias added at run time) over every row
                float[] f = new float[p.rows];
                java.util.Arrays.fill(f, q.b.getFloat(0));
                q = new Aff(null, null, null, null, Tensor.ofFloats(new int[] {p.rows}, f), p.rows);
            }
            if (p.rows != q.rows || (p.gate != null && q.gate != null && !p.gate.equals(q.gate)) || (p.p != null && q.p != null)) {
                return null;
            }
            return new Aff(add(p.w, q.w), add(p.r, q.r), add(p.rGated, q.rGated), p.gate != null ? p.gate : q.gate, add(p.b, q.b), p.rows,
                    p.p != null ? p.p : q.p, p.p != null ? p.pOn : q.pOn);
        }

        /** An activation of an affine map: fn and the map; null if v is not one. */
        record Act(ActivationFn fn, Aff aff, String input) {
        }

        Act act(String v) {
            if (prod(v) instanceof Layer.Activation a) {
                Aff f = affine(a.input());
                return new Act(a.fn(), f, strip(a.input()));
            }
            return null;
        }

        boolean isOne(String v) {
            return prod(v) instanceof Layer.Constant c && c.value().dtype().isFloating() && c.value().size() >= 1 && Fold.uniform(c.value())
                    && c.value().getFloat(0) == 1f;
        }

        /** Operands of a Binary op (in both orders), or null. */
        String[][] operands(String v, Layer.Binary.Op op) {
            if (prod(v) instanceof Layer.Binary b && b.op() == op) {
                String a = strip(b.a());
                String c = strip(b.b());
                return op == Layer.Binary.Op.SUB || op == Layer.Binary.Op.DIV ? new String[][] {{a, c}} : new String[][] {{a, c}, {c, a}};
            }
            return null;
        }

        Tensor full(Aff a, boolean w, int rows, int cols) {
            Tensor t = w ? a.w : a.r;
            if (t == null) {
                return Tensor.zeros(rows, cols);
            }
            if (t.dim(0) != rows || t.dim(1) != cols) {
                throw refuse("a " + (w ? "input" : "recurrent") + " weight is " + java.util.Arrays.toString(t.shape()) + ", not [" + rows + ", " + cols + "]");
            }
            return t;
        }

        Tensor bias(Aff a, int rows) {
            return a.b == null ? Tensor.zeros(rows) : a.b;
        }

        Tensor cat(List<Tensor> parts) {
            return Fold.concat(parts, 0, n);
        }

        Layer.Recurrent match(String update, boolean element, int in, List<Integer> sizes, boolean reversed, String base, Value.Run xs,
                              List<Object> init, List<Integer> states) {
            int h = sizes.get(0);
            String hn = strip(next.get(0));
            Layer up = prod(update);
            boolean writesH = element ? strip(update).equals(hn) : up instanceof Layer.Unsqueeze u && u.axes().equals(List.of(0)) && strip(u.input()).equals(hn);
            if (!writesH) {
                throw refuse("the output written at step t is not the new h");
            }
            Direction dir = reversed ? Direction.REVERSE : Direction.FORWARD;
            String xsName = xs.name();
            String h0 = KerasRecurrent.initial(init.get(states.get(0)), n, Layout.TIME_MAJOR, "h0");
            String y = n.in.names.fresh(base + "/Y");
            String yh = n.in.names.fresh(base + "/Y_h");
            if (sizes.size() == 2) {
                int hc = sizes.get(1);
                Tensor projection = null;
                if (hc != h) {
                    // h = (o·act(c)) Pᵀ
                    if (!(prod(hn) instanceof Layer.Dense pd) || pd.bias() != null || pd.weight().dim(0) != h || pd.weight().dim(1) != hc) {
                        throw refuse("h has " + h + " units and c " + hc + ", but the new h is not a projection [" + h + ", " + hc + "] of o·act(c)");
                    }
                    projection = pd.weight();
                    hn = strip(pd.input());
                }
                this.projection = projection;
                String cn = strip(next.get(1));
                String cPrev = stateNames.get(1);
                Layer.Lstm blockCell = blockCell(hn, cn, dir, base, xsName, h0, init, states, y, yh);
                if (blockCell != null) {
                    return blockCell;
                }
                // TF1's LSTMCell(cell_clip): c' = clip_by_value(f·c + i·g, -clip, clip), the IR's cell clip
                Float cellClip = null;
                String cSum = cn;
                TfSymbolic.ClipOf clip = n.in.clips.get(cn);
                if (clip != null) {
                    if (clip.lo() != -clip.hi()) {
                        throw refuse("it clips the cell state to [" + clip.lo() + ", " + clip.hi() + "]; the IR's cell clip is symmetric, [-clip, clip]");
                    }
                    cellClip = clip.hi();
                    cSum = strip(clip.input());
                }
                cNew = cn;
                String[][] sum = operands(cSum, Layer.Binary.Op.ADD);
                if (sum == null) {
                    throw refuse("the new c is not a sum f·c + i·g");
                }
                for (String[] pq : sum) {
                    String[][] fc = operands(pq[0], Layer.Binary.Op.MUL);
                    String[][] ig = operands(pq[1], Layer.Binary.Op.MUL);
                    if (fc == null || ig == null) {
                        continue;
                    }
                    for (String[] fcs : fc) {
                        if (!fcs[1].equals(cPrev)) {
                            continue;
                        }
                        for (String[] igs : ig) {
                            Layer.Lstm l = lstm(fcs[0], igs[0], igs[1], hn, cn, cellClip, in, hc, dir, base, xsName, h0, init, states, y, yh);
                            if (l != null) {
                                return l;
                            }
                        }
                    }
                }
                throw refuse("its c and h updates do not match c = f·c + i·g, h = o·act(c) with gates from one affine map of x_t and h");
            }
            String[][] gruSum = operands(hn, Layer.Binary.Op.ADD);
            if (gruSum != null) {
                for (String[] pq : gruSum) {
                    Layer.Gru g = gru(pq[0], pq[1], in, h, dir, base, xsName, h0, y, yh);
                    if (g != null) {
                        return g;
                    }
                }
            }
            Act a = act(hn);
            if (a == null || a.aff == null || a.aff.rGated != null || a.aff.rows != h) {
                throw refuse("its new h is neither an RNN step f(W x + R h + b) nor a GRU update (1 - z)·n + z·h");
            }
            RecurrentWeights w = new RecurrentWeights(full(a.aff, true, h, in), full(a.aff, false, h, h), bias(a.aff, h), Tensor.zeros(h));
            RecurrentSpec spec = new RecurrentSpec(in, h, dir, Layout.TIME_MAJOR, null, false, List.of(a.fn));
            return new Layer.Rnn(base, RecurrentPorts.withoutCell(xsName, null, h0, y, yh), spec, List.of(w));
        }

        /**
         * The body's cell is one LSTMBlockCell (read as a one-step LSTM layer on x_t unsqueezed, from
         * h_prev and c_prev unsqueezed, whose squeezed Y_h and Y_c are the new h and c): the loop is
         * that layer over the whole sequence. Null when the body is not that.
         */
        private Layer.Lstm blockCell(String hn, String cn, Direction dir, String base, String xsName, String h0, List<Object> init,
                                     List<Integer> states, String y, String yh) {
            if (!(prod(hn) instanceof Layer.Squeeze sh) || !sh.axes().equals(List.of(0)) || !(prod(cn) instanceof Layer.Squeeze sc)
                    || !sc.axes().equals(List.of(0)) || !(prod(sh.input()) instanceof Layer.Lstm p) || prod(sc.input()) != p
                    || !strip(sh.input()).equals(p.outputH()) || !strip(sc.input()).equals(p.outputC())) {
                return null;
            }
            if (!unsqueezed(p.input(), x) || !unsqueezed(p.initialH(), stateNames.get(0)) || !unsqueezed(p.initialC(), stateNames.get(1))
                    || p.weights().size() != 1 || p.spec().direction() != Direction.FORWARD) {
                throw refuse("its LSTMBlockCell does not read x_t, h_prev and c_prev and give the new h and c");
            }
            LstmSpec sp = p.spec();
            LstmSpec spec = new LstmSpec(sp.inputSize(), sp.hiddenSize(), sp.projSize(), dir, Layout.TIME_MAJOR, sp.clip(), sp.inputForget(),
                    sp.activations(), sp.cellClip(), sp.forgetBias());
            String c0 = KerasRecurrent.initial(init.get(states.get(1)), n, Layout.TIME_MAJOR, "c0");
            String yc = n.in.names.fresh(base + "/Y_c");
            return new Layer.Lstm(base, new RecurrentPorts(xsName, null, h0, c0, y, yh, yc), spec, p.weights(), p.sourceGateOrder());
        }

        /** Whether {@code v} is {@code of} unsqueezed on axis 0. */
        private boolean unsqueezed(String v, String of) {
            return v != null && prod(v) instanceof Layer.Unsqueeze u && u.axes().equals(List.of(0)) && strip(u.input()).equals(of);
        }

        private Layer.Lstm lstm(String fName, String iName, String gName, String hn, String cn, Float cellClip, int in, int h, Direction dir, String base,
                                String xsName, String h0, List<Object> init, List<Integer> states, String y, String yh) {
            Act i = act(iName);
            Act g = act(gName);
            if (i == null || g == null || i.aff == null || g.aff == null) {
                return null;
            }
            boolean coupled = false;
            Act f = act(fName);
            if (f == null) {
                String[][] sub = operands(fName, Layer.Binary.Op.SUB);
                if (sub == null || !isOne(sub[0][0]) || !strip(sub[0][1]).equals(strip(iName))) {
                    return null;
                }
                coupled = true;
            } else if (f.aff == null || !f.fn.equals(i.fn)) {
                return null;
            }
            String[][] oh = operands(hn, Layer.Binary.Op.MUL);
            if (oh == null) {
                return null;
            }
            for (String[] p : oh) {
                Act o = act(p[0]);
                if (o == null || o.aff == null || !o.fn.equals(i.fn) || !(prod(p[1]) instanceof Layer.Activation ha) || !strip(ha.input()).equals(cn)) {
                    continue;
                }
                for (Act a : List.of(i, g, o)) {
                    if (a.aff.rGated != null || a.aff.rows != h) {
                        return null;
                    }
                }
                if (!coupled && (f.aff.rGated != null || f.aff.rows != h)) {
                    return null;
                }
                // peepholes: i and f read the previous c, o the new one; the candidate g none
                String cPrev = stateNames.get(1);
                if (g.aff.p != null || (i.aff.p != null && !i.aff.pOn.equals(cPrev)) || (o.aff.p != null && !o.aff.pOn.equals(cn))
                        || (!coupled && f.aff.p != null && !f.aff.pOn.equals(cPrev))) {
                    return null;
                }
                Tensor peephole = null;
                if (i.aff.p != null || o.aff.p != null || (!coupled && f.aff.p != null)) {
                    Tensor z = Tensor.zeros(h);
                    peephole = cat(List.of(i.aff.p != null ? i.aff.p : z, !coupled && f.aff.p != null ? f.aff.p : z, o.aff.p != null ? o.aff.p : z));
                }
                Aff fa = coupled ? new Aff(null, null, null, null, null, h) : f.aff;
                Tensor w = cat(List.of(full(i.aff, true, h, in), full(fa, true, h, in), full(g.aff, true, h, in), full(o.aff, true, h, in)));
                int pw = hSize;
                Tensor r = cat(List.of(full(i.aff, false, h, pw), full(fa, false, h, pw), full(g.aff, false, h, pw), full(o.aff, false, h, pw)));
                Tensor b = cat(List.of(bias(i.aff, h), bias(fa, h), bias(g.aff, h), bias(o.aff, h)));
                List<ActivationFn> acts = List.of(i.fn, g.fn, ha.fn());
                LstmSpec spec = new LstmSpec(in, h, projection == null ? 0 : hSize, dir, Layout.TIME_MAJOR, null, coupled, acts, cellClip, 0f);
                LstmWeights lw = new LstmWeights(w, r, b, Tensor.zeros(4 * h), peephole, projection);
                String c0 = KerasRecurrent.initial(init.get(states.get(1)), n, Layout.TIME_MAJOR, "c0");
                String yc = n.in.names.fresh(base + "/Y_c");
                return new Layer.Lstm(base, new RecurrentPorts(xsName, null, h0, c0, y, yh, yc), spec, List.of(lw), GateOrder.CANONICAL);
            }
            return null;
        }

        private Layer.Gru gru(String p, String q, int in, int h, Direction dir, String base, String xsName, String h0, String y, String yh) {
            String hPrev = stateNames.get(0);
            // q = z·h, p = (1 - z)·n
            String[][] zh = operands(q, Layer.Binary.Op.MUL);
            String[][] zn = operands(p, Layer.Binary.Op.MUL);
            if (zh == null || zn == null) {
                return null;
            }
            for (String[] a : zh) {
                if (!a[1].equals(hPrev)) {
                    continue;
                }
                String zName = a[0];
                for (String[] b : zn) {
                    String[][] sub = operands(b[0], Layer.Binary.Op.SUB);
                    if (sub == null || !isOne(sub[0][0]) || !strip(sub[0][1]).equals(zName)) {
                        continue;
                    }
                    Act z = act(zName);
                    Act nn = act(b[1]);
                    if (z == null || z.aff == null || nn == null || z.aff.rGated != null || z.aff.rows != h) {
                        continue;
                    }
                    // n's pre-activation: affine with R on r ⊙ h (reset before), or A(x) + r ⊙ B(h) (reset after)
                    String rName;
                    Tensor wn;
                    Tensor rn;
                    Tensor wbn;
                    Tensor rbn;
                    boolean lbr;
                    if (nn.aff != null && nn.aff.rGated != null && nn.aff.r == null && nn.aff.rows == h) {
                        rName = nn.aff.gate;
                        wn = full(nn.aff, true, h, in);
                        rn = nn.aff.rGated;
                        wbn = bias(nn.aff, h);
                        rbn = Tensor.zeros(h);
                        lbr = false;
                    } else {
                        String[][] parts = operands(nn.input, Layer.Binary.Op.ADD);
                        if (parts == null) {
                            continue;
                        }
                        rName = null;
                        wn = rn = wbn = rbn = null;
                        for (String[] ab : parts) {
                            Aff xa = affine(ab[0]);
                            String[][] rb = operands(ab[1], Layer.Binary.Op.MUL);
                            if (xa == null || xa.r != null || xa.rGated != null || xa.rows != h || rb == null) {
                                continue;
                            }
                            for (String[] rr : rb) {
                                Aff ha = affine(rr[1]);
                                if (ha != null && ha.w == null && ha.rGated == null && ha.rows == h) {
                                    rName = rr[0];
                                    wn = full(xa, true, h, in);
                                    wbn = bias(xa, h);
                                    rn = full(ha, false, h, h);
                                    rbn = bias(ha, h);
                                    break;
                                }
                            }
                            if (rName != null) {
                                break;
                            }
                        }
                        if (rName == null) {
                            continue;
                        }
                        lbr = true;
                    }
                    Act r = act(rName);
                    if (r == null || r.aff == null || r.aff.rGated != null || r.aff.rows != h || !r.fn.equals(z.fn)) {
                        continue;
                    }
                    Tensor w = cat(List.of(full(r.aff, true, h, in), full(z.aff, true, h, in), wn));
                    Tensor rr = cat(List.of(full(r.aff, false, h, h), full(z.aff, false, h, h), rn));
                    Tensor wb = cat(List.of(bias(r.aff, h), bias(z.aff, h), wbn));
                    Tensor rb = cat(List.of(Tensor.zeros(h), Tensor.zeros(h), rbn));
                    RecurrentSpec spec = new RecurrentSpec(in, h, dir, Layout.TIME_MAJOR, null, lbr, List.of(z.fn, nn.fn));
                    return new Layer.Gru(base, RecurrentPorts.withoutCell(xsName, null, h0, y, yh), spec,
                            List.of(new RecurrentWeights(w, rr, wb, rb)), GateOrder.Gru.CANONICAL);
                }
            }
            return null;
        }

        /** Runs the body's layers and the matched layer for one step on random inputs; refuses when they differ. */
        void verify(Layer.Recurrent layer) {
            Random rnd = new Random(20240607L);
            int batch = 3;
            int in = layer.inputSize();
            int h = layer.hiddenSize();
            boolean lstm = layer instanceof Layer.Lstm;
            Tensor xt = random(rnd, batch, in);
            int ho = layer.outputSize();
            Tensor h0 = random(rnd, batch, ho);
            Tensor c0 = lstm ? random(rnd, batch, h) : null;
            Map<String, Tensor> env = new HashMap<>();
            env.put(x, xt);
            env.put(stateNames.get(0), h0);
            if (lstm) {
                env.put(stateNames.get(1), c0);
            }
            try {
                NativeRuntime.evaluateReady(layers, env);
            } catch (LstmxException e) {
                throw refuse("its layers cannot be evaluated on a test step (" + e.getMessage() + ")");
            }
            Tensor hExpect = env.get(strip(next.get(0)));
            Tensor cExpect = lstm ? env.get(strip(next.get(1))) : null;
            if (hExpect == null || (lstm && cExpect == null)) {
                throw refuse("its new state depends on values other than x_t and the state");
            }
            // one step of the matched layer: forward on [x_t], inputs named as its ports
            Layer.Recurrent probe = retarget(layer);
            Map<String, Tensor> pin = new HashMap<>();
            pin.put("x", xt.reshape(1, batch, in));
            pin.put("h0", h0.reshape(1, batch, ho));
            if (lstm) {
                pin.put("c0", c0.reshape(1, batch, h));
            }
            Map<String, Tensor> got = NativeRuntime.evaluate(probe, pin);
            compare(got.get("yh").reshape(batch, ho), hExpect, "h");
            if (lstm) {
                compare(got.get("yc").reshape(batch, h), cExpect, "c");
            }
        }

        private Layer.Recurrent retarget(Layer.Recurrent l) {
            if (l instanceof Layer.Lstm s) {
                LstmSpec sp = s.spec();
                LstmSpec fw = new LstmSpec(sp.inputSize(), sp.hiddenSize(), sp.projSize(), Direction.FORWARD, Layout.TIME_MAJOR, sp.clip(),
                        sp.inputForget(), sp.activations(), sp.cellClip(), sp.forgetBias());
                return new Layer.Lstm("probe", new RecurrentPorts("x", null, "h0", "c0", "y", "yh", "yc"), fw, s.weights(), s.sourceGateOrder());
            }
            if (l instanceof Layer.Gru g) {
                RecurrentSpec sp = g.spec();
                RecurrentSpec fw = new RecurrentSpec(sp.inputSize(), sp.hiddenSize(), Direction.FORWARD, Layout.TIME_MAJOR, sp.clip(),
                        sp.linearBeforeReset(), sp.activations());
                return new Layer.Gru("probe", RecurrentPorts.withoutCell("x", null, "h0", "y", "yh"), fw, g.weights(), g.sourceGateOrder());
            }
            Layer.Rnn r = (Layer.Rnn) l;
            RecurrentSpec sp = r.spec();
            RecurrentSpec fw = new RecurrentSpec(sp.inputSize(), sp.hiddenSize(), Direction.FORWARD, Layout.TIME_MAJOR, sp.clip(),
                    sp.linearBeforeReset(), sp.activations());
            return new Layer.Rnn("probe", RecurrentPorts.withoutCell("x", null, "h0", "y", "yh"), fw, r.weights());
        }

        private void compare(Tensor got, Tensor want, String what) {
            float[] a = got.toFloatArray();
            float[] b = want.toFloatArray();
            if (a.length != b.length) {
                throw refuse("the matched cell's new " + what + " has " + a.length + " elements, the body's " + b.length);
            }
            for (int i = 0; i < a.length; i++) {
                if (!(Math.abs(a[i] - b[i]) <= 1e-4f + 1e-4f * Math.abs(b[i]))) {
                    throw refuse("the matched cell's new " + what + " differs from the body's on a test step (" + a[i] + " vs " + b[i] + ")");
                }
            }
        }

        private static Tensor random(Random rnd, int rows, int cols) {
            float[] f = new float[rows * cols];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) (rnd.nextDouble() * 2 - 1);
            }
            return Tensor.ofFloats(new int[] {rows, cols}, f);
        }
    }
}
