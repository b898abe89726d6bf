package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.importers.pytorch.ScriptValues.STensor;
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

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A loop over time steps whose body spells a recurrent cell out in arithmetic, as lstmx's own
 * TorchScript writer does for what torch.lstm / gru / rnn_* cannot compute (per-step masks among
 * it), read as ONE IR layer:
 * <pre>
 * xw = torch.linear(x, w_ih, b_ih)                      (x time-major, or torch.flip(x, [0]): reverse)
 * for t in range(torch.size(xw, 0)):
 *     gates = torch.add(torch.select(xw, 0, t), torch.linear(h, w_hh, b_hh))
 *     ... the cell's gate arithmetic: h', c' ...
 *     m = torch.ne(torch.unsqueeze(torch.select(mask, 0, t), 1), 0.0)       (masked loops)
 *     y = torch.where(m, h', prev)   or   torch.where(m, h', torch.zeros_like(h'))
 *     prev = y; outs.append(y)
 *     c, h = torch.where(m, c', c), torch.where(m, h', h)
 * </pre>
 * The states are what the body carries; the output is what it appends; a carried value equal to
 * the appended one is the masked loop's previous output (starting at zeros). The kind follows from
 * the states and the gate rows G·H of w_hh (LSTM: h and c, G = 4; GRU: G = 3; RNN: G = 1), the
 * activations from the body's (LSTM i, f, g, o, act(c'); GRU r, z, n; RNN one). The layer the
 * weights make (IR equations, PyTorch gate orders i, f, g, o and r, z, n; a GRU's reset before or
 * after the recurrent product, whichever the body computes) is then run for one step on random
 * values against the body itself, and refused (naming the loop's line) when they differ:
 * peepholes, clips, projections and other activations are not read from arithmetic.
 */
final class ArithmeticCell {
    private ArithmeticCell() {
    }

    static void finish(ScriptInterpreter in, CellLoop loop, ScriptInterpreter.Frame f, Map<String, Object> before) {
        if (!in.unknown.isEmpty()) {
            throw in.reportUnknown(); // an operator lstmx does not know left its values unknown: say which, not what followed
        }
        // the step's input xw[t] and, for a masked loop, mask[t]
        STensor xw = null;
        STensor xStand = null;
        int axis = -1;
        STensor mask = null;
        STensor maskStand = null;
        for (Map.Entry<STensor, Object[]> e : loop.stepInputs().entrySet()) {
            STensor src = (STensor) e.getValue()[0];
            if (src.rank() == 3 && xw == null) {
                xw = src;
                xStand = e.getKey();
                axis = (Integer) e.getValue()[1];
            } else if (src.rank() == 2 && mask == null) {
                mask = src;
                maskStand = e.getKey();
            } else {
                throw in.unsupported("the loop over time steps reads " + src + " at step t beside its input sequence and mask");
            }
        }
        if (xw == null) {
            throw in.unsupported("the loop over time steps reads no [T, B, F] sequence at step t");
        }
        if (mask != null && (Integer) loop.stepInputs().get(maskStand)[1] != axis) {
            throw in.unsupported("the loop reads its mask at step t on another axis than its sequence");
        }
        Map<String, STensor> stand = new HashMap<>();
        loop.carried().forEach((t, name) -> stand.put(name, t));
        // what the body carries to the next step
        List<String> changed = new ArrayList<>();
        for (Map.Entry<String, Object> e : before.entrySet()) {
            Object now = f.vars.get(e.getKey());
            if (now == stand.get(e.getKey()) || now == e.getValue()) {
                continue;
            }
            if (!(now instanceof STensor) || !stand.containsKey(e.getKey())) {
                throw in.unsupported("the loop over time steps changes '" + e.getKey() + "' from one step to the next beside the cell's"
                        + " states (lstmx does not unroll loops)");
            }
            changed.add(e.getKey());
        }
        if (loop.appends().size() != 1) {
            throw in.unsupported("the loop over time steps appends to " + loop.appends().size() + " lists; lstmx reads loops that collect each step's output in one");
        }
        Py.PyList outList = loop.appends().keySet().iterator().next();
        if (!(loop.appends().get(outList) instanceof STensor ya)) {
            throw in.unsupported("the loop over time steps appends " + ScriptInterpreter.describe(loop.appends().get(outList)) + ", not a tensor");
        }
        boolean masked = loop.masked();
        String prevVar = null;
        boolean zeroMasked = false;
        STensor hOut = ya;
        if (masked) {
            STensor[] ys = loop.select(ya);
            if (ys == null) {
                throw in.unsupported("the masked loop appends " + ya + ", not torch.where(mask[t] != 0, h', previous output or zeros)");
            }
            for (String v : changed) {
                if (f.vars.get(v) == ya) {
                    prevVar = v;
                }
            }
            if (prevVar == null) {
                throw in.unsupported("the masked loop does not carry its output to the next step (Keras's masked step repeats the previous output)");
            }
            if (ys[1] == null) {
                zeroMasked = true;
            } else if (ys[1] != stand.get(prevVar)) {
                throw in.unsupported("the masked loop's output at a masked step is " + ys[1] + ", neither the previous output '" + prevVar + "' nor zeros");
            }
            if (!(before.get(prevVar) instanceof STensor p0) || !p0.zeros) {
                throw in.unsupported("the masked loop's previous output '" + prevVar + "' starts at " + ScriptInterpreter.describe(before.get(prevVar))
                        + "; Keras's rule repeats zeros before a row's first counted step");
            }
            if (ys[2] != maskStand) {
                throw in.unsupported("the masked loop's output selects by another mask");
            }
            hOut = ys[0];
        }
        // the states: each carried value kept at masked steps, h the one appended
        List<String> states = new ArrayList<>();
        Map<String, STensor> next = new HashMap<>();
        for (String v : changed) {
            if (v.equals(prevVar)) {
                continue;
            }
            STensor now = (STensor) f.vars.get(v);
            if (masked) {
                STensor[] s = loop.select(now);
                if (s == null || s[1] != stand.get(v) || s[2] != maskStand) {
                    throw in.unsupported("the masked loop's state '" + v + "' is not torch.where(mask[t] != 0, new, '" + v + "'):"
                            + " a masked step must keep it");
                }
                now = s[0];
            } else if (loop.select(now) != null) {
                throw in.unsupported("the loop selects its state '" + v + "' by a mask it does not read");
            }
            states.add(v);
            next.put(v, now);
        }
        String hVar = null;
        for (String v : states) {
            if (next.get(v) == hOut) {
                hVar = v;
            }
        }
        if (hVar == null || states.size() > 2) {
            throw in.unsupported("the loop over time steps carries " + states + " and appends " + hOut
                    + "; lstmx reads loops carrying h (and c) that append the new h");
        }
        String cVar = null;
        for (String v : states) {
            if (!v.equals(hVar)) {
                cVar = v;
            }
        }
        STensor hStand = stand.get(hVar);
        STensor cStand = cVar == null ? null : stand.get(cVar);
        // w_ih, b_ih: the linear map of the sequence before the loop; w_hh, b_hh: of h in the body
        Layer.Dense inDense = null;
        for (Layer l : in.layers) {
            if (l instanceof Layer.Dense d && d.output().equals(xw.value)) {
                inDense = d;
            }
        }
        Layer.Dense hDense = null;
        Layer.Dense other = null;
        for (Layer l : loop.body()) {
            if (l instanceof Layer.Dense d) {
                if (d.input().equals(hStand.value) && hDense == null) {
                    hDense = d;
                } else {
                    other = d;
                }
            }
        }
        if (inDense == null || hDense == null) {
            throw in.unsupported("the loop's cell is not gates = torch.linear(x, w_ih, b_ih)[t] + torch.linear(h, w_hh, b_hh)"
                    + (inDense == null ? " (its step input is not torch.linear of the sequence)" : " (no torch.linear of h)"));
        }
        Tensor wh = hDense.weight();
        int hidden = wh.dim(1);
        int rows = wh.dim(0);
        Tensor wi = inDense.weight();
        if (wi.dim(0) != rows) {
            throw in.bad("the loop's w_ih has " + wi.dim(0) + " rows and w_hh " + rows);
        }
        int gates = rows / hidden;
        boolean lstm = cVar != null;
        if (rows % hidden != 0 || (lstm ? gates != 4 : gates != 3 && gates != 1)) {
            throw in.unsupported("the loop carries " + states.size() + " state(s) of " + hidden + " units with " + rows
                    + " gate rows; lstmx reads an LSTM (h, c; 4 gates), a GRU (h; 3) or an RNN (h; 1)");
        }
        List<ActivationFn> acts = new ArrayList<>();
        for (Layer l : loop.body()) {
            if (l instanceof Layer.Activation a) {
                acts.add(a.fn());
            }
        }
        Tensor bi = inDense.bias() == null ? Tensor.zeros(rows) : inDense.bias();
        Tensor bh = hDense.bias() == null ? Tensor.zeros(rows) : hDense.bias();
        List<Layer.Recurrent> candidates = new ArrayList<>();
        if (lstm) {
            List<ActivationFn> a = acts.size() == 5 ? List.of(acts.get(0), acts.get(2), acts.get(4)) : LstmSpec.DEFAULT_ACTIVATIONS;
            candidates.add(lstm(rows, hidden, a, identity(rows), Tensor.zeros(rows), wh, bh, Direction.FORWARD, Layout.TIME_MAJOR,
                    new RecurrentPorts("x", null, "h0", "c0", "y", "yh", "yc")));
        } else if (gates == 3) {
            List<ActivationFn> a = acts.size() == 3 ? List.of(acts.get(0), acts.get(2)) : List.of(ActivationFn.SIGMOID, ActivationFn.TANH);
            // a second linear map in the body is R_n applied to r ⊙ h: the reset before the product
            for (boolean lbr : other != null ? List.of(false, true) : List.of(true, false)) {
                candidates.add(gru(rows, hidden, a, lbr, identity(rows), Tensor.zeros(rows), wh, bh, Direction.FORWARD, Layout.TIME_MAJOR,
                        RecurrentPorts.withoutCell("x", null, "h0", "y", "yh")));
            }
        } else {
            List<ActivationFn> a = acts.size() == 1 ? acts : List.of(ActivationFn.TANH);
            candidates.add(rnn(rows, hidden, a, identity(rows), Tensor.zeros(rows), wh, bh, Direction.FORWARD, Layout.TIME_MAJOR,
                    RecurrentPorts.withoutCell("x", null, "h0", "y", "yh")));
        }
        Layer.Recurrent probe = null;
        String why = null;
        for (Layer.Recurrent c : candidates) {
            why = differs(in, loop, c, xStand, hStand, cStand, next.get(hVar), cVar == null ? null : next.get(cVar));
            if (why == null) {
                probe = c;
                break;
            }
        }
        if (probe == null) {
            throw in.unsupported("the loop's body is not the " + (lstm ? "LSTM" : gates == 3 ? "GRU" : "RNN") + " cell its weights make: " + why
                    + " (lstmx reads loops computing the IR's cell; peepholes, clips and projections are not read from arithmetic)");
        }
        // the layer over the whole sequence: x (flipped back for a reverse loop), the mask likewise
        boolean batchMajor = axis == 1;
        Layout layout = batchMajor ? Layout.BATCH_MAJOR : Layout.TIME_MAJOR;
        String xin = inDense.input();
        Direction dir = Direction.FORWARD;
        STensor flippedX = in.flipped.get(xin);
        if (flippedX != null) {
            if (batchMajor) {
                throw in.unsupported("a batch-major loop over a sequence flipped on axis 0");
            }
            dir = Direction.REVERSE;
            xin = flippedX.value;
        }
        String maskName = null;
        if (masked) {
            STensor flippedM = in.flipped.get(mask.value);
            if ((flippedM != null) != (dir == Direction.REVERSE)) {
                throw in.unsupported("the loop reads its sequence " + (dir == Direction.REVERSE ? "flipped" : "in order") + " but its mask "
                        + (flippedM != null ? "flipped" : "in order") + "; lstmx reads a mask in the sequence's order");
            }
            maskName = flippedM != null ? flippedM.value : mask.value;
        }
        int inSize = wi.dim(1);
        String kind = lstm ? "lstm" : gates == 3 ? "gru" : "rnn";
        String base = in.layerName(in.scope().equals("model") ? kind : in.scope() + "." + kind);
        String h0 = initial(in, before.get(hVar), hVar, base, batchMajor);
        String c0 = lstm ? initial(in, before.get(cVar), cVar, base, batchMajor) : null;
        String y = in.value(base + "/Y");
        String yh = in.value(base + "/Y_h");
        String yc = lstm ? in.value(base + "/Y_c") : null;
        RecurrentPorts ports = new RecurrentPorts(xin, null, h0, c0, y, yh, yc).withMask(maskName, zeroMasked);
        Layer.Recurrent layer;
        if (probe instanceof Layer.Lstm p) {
            layer = lstm(inSize, hidden, p.spec().activations(), wi, bi, wh, bh, dir, layout, ports);
        } else if (probe instanceof Layer.Gru g) {
            layer = gru(inSize, hidden, g.spec().activations(), g.spec().linearBeforeReset(), wi, bi, wh, bh, dir, layout, ports);
        } else {
            layer = rnn(inSize, hidden, probe.activations(), wi, bi, wh, bh, dir, layout, ports);
        }
        layer = rename(layer, base);
        // the linear map of the sequence (and its flips) now live in the layer: drop them unless something else reads them
        boolean xwRead = false;
        for (Layer l : in.layers) {
            xwRead |= l.inputs().contains(xw.value);
        }
        if (!xwRead) {
            in.layers.remove(inDense);
            dropUnread(in, inDense.input());
        }
        if (masked && !maskName.equals(mask.value)) {
            dropUnread(in, mask.value);
        }
        in.add(layer);
        Object batch = xw.dim(batchMajor ? 0 : 1);
        long h = hidden;
        String ySeq = in.value(base + "/outputs");
        in.add(new Layer.Squeeze(in.layerName(base + ".squeeze_y"), y, ySeq, List.of(batchMajor ? 2 : 1)));
        Object time = xw.dim(batchMajor ? 1 : 0);
        STensor ys = STensor.runtime(ySeq, batchMajor ? List.of(batch, time, h) : List.of(time, batch, h), DType.FLOAT32);
        String hl = in.value(hVar + "/last");
        in.add(new Layer.Squeeze(in.layerName(base + ".last_h"), yh, hl, List.of(batchMajor ? 1 : 0)));
        f.vars.put(hVar, STensor.runtime(hl, List.of(batch, h), DType.FLOAT32));
        if (lstm) {
            String cl = in.value(cVar + "/last");
            in.add(new Layer.Squeeze(in.layerName(base + ".last_c"), yc, cl, List.of(batchMajor ? 1 : 0)));
            f.vars.put(cVar, STensor.runtime(cl, List.of(batch, h), DType.FLOAT32));
        }
        if (prevVar != null) {
            f.vars.put(prevVar, new CellLoop.Unavailable("the previous output '" + prevVar + "' of the masked loop (lstmx reads the loop's outputs and states)"));
        }
        if (outList.items.size() != 1) {
            throw in.unsupported("the list the loop appends its outputs to is not empty before the loop");
        }
        outList.items.set(0, new CellLoop.Sequence(ys, batchMajor, dir == Direction.REVERSE));
    }

    /** Removes the layer making {@code value} when no layer of the model reads it (a flip folded into a reverse layer). */
    private static void dropUnread(ScriptInterpreter in, String value) {
        for (Layer l : in.layers) {
            if (l.inputs().contains(value)) {
                return;
            }
        }
        in.layers.removeIf(l -> l.outputs().contains(value) && l instanceof Layer.Slice && in.flipped.containsKey(value));
    }

    private static String initial(ScriptInterpreter in, Object b, String var, String base, boolean batchMajor) {
        if (!(b instanceof STensor t)) {
            throw in.bad("the loop's state '" + var + "' is " + ScriptInterpreter.describe(b) + " before the loop");
        }
        if (t.zeros) {
            return null;
        }
        STensor r = t.isRuntime() ? t : null;
        if (r == null || r.rank() != 2) {
            throw in.unsupported("the loop's state '" + var + "' starts at " + t + "; lstmx reads zeros or a run-time [B, H] value");
        }
        String out = in.value(var + "/initial");
        in.add(new Layer.Unsqueeze(in.layerName(base + "." + var + "_unsqueeze"), r.value, out, List.of(batchMajor ? 1 : 0)));
        return out;
    }

    private static Layer.Recurrent rename(Layer.Recurrent l, String name) {
        if (l instanceof Layer.Lstm s) {
            return new Layer.Lstm(name, s.ports(), s.spec(), s.weights(), s.sourceGateOrder());
        }
        if (l instanceof Layer.Gru g) {
            return new Layer.Gru(name, g.ports(), g.spec(), g.weights(), g.sourceGateOrder());
        }
        Layer.Rnn r = (Layer.Rnn) l;
        return new Layer.Rnn(name, r.ports(), r.spec(), r.weights());
    }

    private static Tensor identity(int n) {
        float[] f = new float[n * n];
        for (int i = 0; i < n; i++) {
            f[i * n + i] = 1f;
        }
        return Tensor.ofFloats(new int[] {n, n}, f);
    }

    private static Layer.Lstm lstm(int in, int h, List<ActivationFn> acts, Tensor w, Tensor wb, Tensor r, Tensor rb, Direction dir, Layout layout,
                                   RecurrentPorts ports) {
        LstmSpec spec = new LstmSpec(in, h, 0, dir, layout, null, false, acts, null, 0f);
        return new Layer.Lstm("probe", ports, spec, List.of(new LstmWeights(w, r, wb, rb, null, null)), GateOrder.CANONICAL);
    }

    private static Layer.Gru gru(int in, int h, List<ActivationFn> acts, boolean lbr, Tensor w, Tensor wb, Tensor r, Tensor rb, Direction dir,
                                 Layout layout, RecurrentPorts ports) {
        RecurrentSpec spec = new RecurrentSpec(in, h, dir, layout, null, lbr, acts);
        return new Layer.Gru("probe", ports, spec, List.of(new RecurrentWeights(w, r, wb, rb)), GateOrder.Gru.CANONICAL);
    }

    private static Layer.Rnn rnn(int in, int h, List<ActivationFn> acts, Tensor w, Tensor wb, Tensor r, Tensor rb, Direction dir, Layout layout,
                                 RecurrentPorts ports) {
        RecurrentSpec spec = new RecurrentSpec(in, h, dir, layout, null, false, acts);
        return new Layer.Rnn("probe", ports, spec, List.of(new RecurrentWeights(w, r, wb, rb)));
    }

    /**
     * Runs the body's layers and one step of {@code probe} (on xw[t] directly: W = I) on the same
     * random x_t, h and c; null when the new h and c agree within 1e-4 + 1e-4·|body|, else why not.
     */
    private static String differs(ScriptInterpreter in, CellLoop loop, Layer.Recurrent probe, STensor xStand, STensor hStand, STensor cStand,
                                  STensor hNext, STensor cNext) {
        Random rnd = new Random(20240607L);
        int batch = 3;
        int rows = probe.inputSize();
        int h = probe.hiddenSize();
        Tensor xt = random(rnd, batch, rows);
        Tensor h0 = random(rnd, batch, h);
        Tensor c0 = cStand == null ? null : random(rnd, batch, h);
        Map<String, Tensor> env = new HashMap<>();
        for (Layer l : in.layers) {
            if (l instanceof Layer.Constant c) {
                env.put(c.output(), c.value());
            }
        }
        env.put(xStand.value, xt);
        env.put(hStand.value, h0);
        if (cStand != null) {
            env.put(cStand.value, c0);
        }
        try {
            NativeRuntime.evaluateReady(loop.seen(), env);
        } catch (LstmxException e) {
            return "its layers cannot be evaluated on a test step (" + e.getMessage() + ")";
        }
        Tensor hWant = env.get(hNext.value);
        Tensor cWant = cNext == null ? null : env.get(cNext.value);
        if (hWant == null || (cNext != null && cWant == null)) {
            return "its new state depends on values other than x_t and the states";
        }
        Map<String, Tensor> pin = new HashMap<>();
        pin.put("x", xt.reshape(1, batch, rows));
        pin.put("h0", h0.reshape(1, batch, h));
        if (c0 != null) {
            pin.put("c0", c0.reshape(1, batch, h));
        }
        Map<String, Tensor> got = NativeRuntime.evaluate(probe, pin);
        String d = compare(got.get("yh").reshape(batch, h), hWant, "h");
        if (d == null && cWant != null) {
            d = compare(got.get("yc").reshape(batch, h), cWant, "c");
        }
        return d;
    }

    private static String compare(Tensor got, Tensor want, String what) {
        float[] a = got.toFloatArray();
        float[] b = want.toFloatArray();
        if (a.length != b.length) {
            return "the cell's new " + what + " has " + a.length + " elements, the body's " + b.length;
        }
        for (int i = 0; i < a.length; i++) {
            if (!(Math.abs(a[i] - b[i]) <= 1e-4f + 1e-4f * Math.abs(b[i]))) {
                return "the cell's new " + what + " differs from the body's on a test step (" + a[i] + " vs " + b[i] + ")";
            }
        }
        return null;
    }

    private static Tensor random(Random rnd, int rows, int cols) {
        float[] f = new float[rows * cols];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return Tensor.ofFloats(new int[] {rows, cols}, f);
    }
}
