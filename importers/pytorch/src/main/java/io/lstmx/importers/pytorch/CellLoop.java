package io.lstmx.importers.pytorch;

import io.lstmx.importers.pytorch.ScriptValues.STensor;
import io.lstmx.importers.pytorch.ScriptValues.Sym;
import io.lstmx.importers.pytorch.script.Ast;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A loop over every time step whose body is one recurrent cell, read as one IR layer:
 * <pre>
 * for t in range(torch.size(x, 0)):
 *     h1, c1 = torch.lstm_cell(torch.select(x, 0, t), [h0, c0], w_ih, w_hh, b_ih, b_hh)
 *     _ = torch.append(outs, h1)
 *     h0, c0 = h1, c1
 * </pre>
 * The body runs once with stand-ins: the step's input {@code x[t]}, the states carried from one
 * step to the next, the cell's outputs. Afterwards the carried variables hold the last states
 * (Y_h, Y_c) and the list the outputs were appended to holds the sequence (Y), which
 * {@code torch.stack} gives back. The same for {@code gru_cell}, {@code rnn_tanh_cell} and
 * {@code rnn_relu_cell}; time may be axis 0 (time-major) or 1 (batch-major). Anything else in the
 * body that touches the step's values is UNSUPPORTED naming its line: lstmx does not unroll loops.
 */
final class CellLoop {
    /** The loop variable: "the current step". */
    record StepIndex(Sym steps) {
    }

    /** A list the loop appended each step's output to: the whole output sequence ({@code reversed}: in the reverse direction's order). */
    record Sequence(STensor y, boolean batchMajor, boolean reversed) {
        Sequence(STensor y, boolean batchMajor) {
            this(y, batchMajor, false);
        }
    }

    /** The outputs of a loop over the time-flipped input, stacked in loop order: torch.flip on axis 0 gives {@code y}, in order. */
    record FlippedSequence(STensor y) {
        @Override
        public String toString() {
            return "a reverse loop's outputs in loop order (read only flipped back with torch.flip on axis 0)";
        }
    }

    /** A value the IR does not give after the loop (a masked loop's previous output). */
    record Unavailable(String what) {
        @Override
        public String toString() {
            return what;
        }
    }

    /** {@code torch.where(mask[t] != 0, kept, otherwise)} in a masked loop (otherwise null: zeros). */
    private record Sel(STensor kept, STensor otherwise, STensor maskStep) {
    }

    private record Cell(TorchRecurrent.Kind kind, STensor x, int axis, List<STensor> states, List<Tensor> weights, boolean bias,
                        List<STensor> outputs, int line) {
    }

    private static final String MARK = "\u0000loop:";

    private final ScriptInterpreter in;
    private final Sym steps;
    private final int line;
    private final Map<STensor, String> carried = new IdentityHashMap<>();
    private final Map<String, STensor> original = new HashMap<>();
    private final Map<STensor, Object[]> stepInputs = new IdentityHashMap<>();
    private final Map<Py.PyList, Object> appends = new IdentityHashMap<>();
    private Cell cell;
    /** Layers made while the body ran, in order; those reading the step's values are the body (not in the model). */
    private final List<Layer> seen = new ArrayList<>();
    private final List<Layer> body = new ArrayList<>();
    private final Set<String> tainted = new java.util.HashSet<>();
    private final Map<STensor, Sel> selects = new IdentityHashMap<>();

    private CellLoop(ScriptInterpreter in, Sym steps, int line) {
        this.in = in;
        this.steps = steps;
        this.line = line;
    }

    static ScriptInterpreter.FlowResult run(ScriptInterpreter in, Ast.For fo, ScriptInterpreter.Frame f, Sym steps) {
        if (in.loop != null) {
            throw in.unsupported("a loop over time steps inside another");
        }
        CellLoop loop = new CellLoop(in, steps, fo.line());
        Set<String> assigned = new LinkedHashSet<>();
        assignedNames(fo.body(), assigned);
        Map<String, Object> before = new HashMap<>();
        for (String name : assigned) {
            if (f.vars.containsKey(name)) {
                Object v = f.vars.get(name);
                before.put(name, v);
                if (v instanceof STensor t) {
                    loop.original.put(name, t);
                    STensor stand = STensor.runtime(MARK + "carry:" + name, t.shape, t.dtype);
                    loop.carried.put(stand, name);
                    f.vars.put(name, stand);
                }
            }
        }
        in.assign(fo.target(), new StepIndex(steps), f);
        in.loop = loop;
        ScriptInterpreter.FlowResult flow;
        try {
            flow = in.execBody(fo.body(), f);
        } finally {
            in.loop = null;
        }
        f.line = fo.line();
        if (flow != ScriptInterpreter.FlowResult.NORMAL) {
            throw in.unsupported("'break', 'continue' or 'return' inside the loop over time steps");
        }
        loop.finish(f, before);
        return ScriptInterpreter.FlowResult.NORMAL;
    }

    private static void assignedNames(List<Ast.Stmt> body, Set<String> out) {
        for (Ast.Stmt s : body) {
            if (s instanceof Ast.Assign a) {
                a.targets().forEach(t -> targetNames(t, out));
            } else if (s instanceof Ast.AugAssign a) {
                targetNames(a.target(), out);
            } else if (s instanceof Ast.If i) {
                assignedNames(i.body(), out);
                assignedNames(i.orelse(), out);
            } else if (s instanceof Ast.For fo) {
                targetNames(fo.target(), out);
                assignedNames(fo.body(), out);
            } else if (s instanceof Ast.While w) {
                assignedNames(w.body(), out);
            }
        }
    }

    private static void targetNames(Ast.Expr t, Set<String> out) {
        if (t instanceof Ast.Name n) {
            out.add(n.id());
        } else if (t instanceof Ast.TupleExpr te) {
            te.items().forEach(x -> targetNames(x, out));
        } else if (t instanceof Ast.ListExpr le) {
            le.items().forEach(x -> targetNames(x, out));
        }
    }

    /** Whether a value is one of the loop's stand-ins or computed from them (used only by the cell or the body). */
    boolean isStep(STensor t) {
        return t.value != null && (t.value.startsWith(MARK) || tainted.contains(t.value));
    }

    /**
     * A layer made while the body runs: true (and kept out of the model) when it reads the step's
     * values, which makes it part of the body that {@link #finish} matches as one cell.
     */
    boolean record(Layer l) {
        seen.add(l);
        boolean step = false;
        for (String v : l.inputs()) {
            step |= v.startsWith(MARK) || tainted.contains(v);
        }
        if (step) {
            tainted.addAll(l.outputs());
            body.add(l);
        }
        return step;
    }

    /**
     * A loop's states are [B, H]: a carried state of another rank computed from inputs whose rank
     * was guessed (TorchScript declares none) has the input it comes from guessed again, that
     * many ranks lower.
     */
    void demandStateRanks() {
        Map<String, Layer> producer = new HashMap<>();
        for (Layer l : in.layers) {
            for (String o : l.outputs()) {
                producer.put(o, l);
            }
        }
        for (STensor t : original.values()) {
            if (!t.isRuntime() || t.rank() == 2) {
                continue;
            }
            Set<String> seenValues = new java.util.HashSet<>();
            java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(List.of(t.value));
            while (!todo.isEmpty() && seenValues.size() < 100_000) {
                String v = todo.pop();
                if (!seenValues.add(v)) {
                    continue;
                }
                for (STensor i : in.inputTensors) {
                    if (i.value.equals(v) && i.rank() - (t.rank() - 2) >= 1) {
                        throw new ScriptInterpreter.Retry(i.value, new ScriptInterpreter.Guess(i.rank() - (t.rank() - 2), i.dtype));
                    }
                }
                Layer l = producer.get(v);
                if (l != null) {
                    todo.addAll(l.inputs());
                }
            }
        }
    }

    /** torch.where(mask[t] != 0 as a [B, 1] column, kept, otherwise) in the body: a masked loop's step. */
    Object where(TorchOps.NotEqualOf cond, Object x, Object y) {
        STensor col = cond.x();
        Layer u = null;
        for (Layer l : body) {
            if (l.outputs().contains(col.value)) {
                u = l;
            }
        }
        STensor maskStep = null;
        if (u instanceof Layer.Unsqueeze un && un.axes().equals(List.of(1)) && !cond.any()) {
            for (STensor st : stepInputs.keySet()) {
                if (st.value.equals(un.input()) && ((STensor) stepInputs.get(st)[0]).rank() == 2) {
                    maskStep = st;
                }
            }
        }
        if (maskStep == null || cond.value() != 0f) {
            throw in.unsupported("torch.where inside the loop over time steps by " + cond.x() + " != " + cond.value()
                    + "; lstmx reads torch.where(torch.unsqueeze(mask[t], 1) != 0, new, old) of a masked loop");
        }
        if (x instanceof STensor k0 && k0.isRuntime() && k0.rank() != 2) {
            demandStateRanks();
        }
        if (!(x instanceof STensor k) || !k.isRuntime() || k.rank() != 2) {
            throw in.unsupported("a masked loop's torch.where keeps " + ScriptInterpreter.describe(x) + " at counted steps; lstmx reads a [B, H] step value");
        }
        STensor other;
        if (y instanceof STensor o && o.zeros) {
            other = null;
        } else if (y instanceof STensor o && o.isRuntime() && o.rank() == 2) {
            other = o;
        } else {
            throw in.unsupported("a masked loop's torch.where gives " + ScriptInterpreter.describe(y) + " at masked steps; lstmx reads a carried [B, H] value or zeros");
        }
        STensor stand = STensor.runtime(MARK + "where:" + selects.size(), k.shape, k.dtype);
        selects.put(stand, new Sel(k, other, maskStep));
        return stand;
    }

    static boolean isLoopValue(String value) {
        return value != null && value.startsWith(MARK);
    }

    /** x[t]: the step's input. */
    Object select(STensor x, int axis, Object index) {
        if (!(index instanceof StepIndex)) {
            throw in.unsupported("selecting from " + x + " inside the loop over time steps other than by the loop's step");
        }
        if (isStep(x) || !(x.dim(axis) instanceof Sym s) || !s.same(steps)) {
            throw in.unsupported("the loop over time steps runs over " + steps + " steps but selects step t of " + x + " on axis " + axis);
        }
        if (axis > 1) {
            throw in.unsupported("the loop over time steps selects axis " + axis + " (time must be axis 0 or 1)");
        }
        List<Object> shape = new ArrayList<>(x.shape);
        shape.remove(axis);
        STensor stand = STensor.runtime(MARK + "step:" + x.value + ":" + axis, shape, x.dtype);
        stepInputs.put(stand, new Object[] {x, axis});
        return stand;
    }

    /** One cell call of the loop's body. */
    Object cell(TorchRecurrent.Kind kind, TorchOps.Args a) {
        if (cell != null) {
            throw in.unsupported("a second recurrent cell in the loop over time steps (line " + cell.line + " has the first)");
        }
        STensor x = a.tensor("input");
        Object[] step = stepInputs.get(x);
        if (step == null) {
            throw in.unsupported("torch." + kind.op + "_cell reads " + x + ", not the loop's step of the input (x[t])");
        }
        List<STensor> states = new ArrayList<>();
        Object hx = a.get("hx");
        List<Object> items = kind == TorchRecurrent.Kind.LSTM ? ScriptInterpreter.items(hx) : List.of(hx);
        if (items == null || items.size() != (kind == TorchRecurrent.Kind.LSTM ? 2 : 1)) {
            throw in.bad("torch." + kind.op + "_cell states " + ScriptInterpreter.describe(hx));
        }
        for (Object o : items) {
            if (!(o instanceof STensor t) || !carried.containsKey(t)) {
                throw in.unsupported("torch." + kind.op + "_cell state " + ScriptInterpreter.describe(o)
                        + " is not a variable carried from one step to the next");
            }
            // A cell's states are [B, H]: an input given as the initial state has that rank.
            STensor before = original.get(carried.get(t));
            if (before != null && before.input != null && before.rank() != 2) {
                throw new ScriptInterpreter.Retry(before.input, new ScriptInterpreter.Guess(2, before.dtype));
            }
            states.add(t);
        }
        List<Tensor> weights = new ArrayList<>();
        for (String p : List.of("w_ih", "w_hh", "b_ih", "b_hh")) {
            Object v = a.get(p);
            if (v == null) {
                continue;
            }
            if (!(v instanceof STensor t) || t.constant == null) {
                throw in.unsupported("torch." + kind.op + "_cell " + p + " computed from the inputs");
            }
            weights.add(t.constant);
        }
        boolean bias = weights.size() == 4;
        if (weights.size() != 2 && !bias) {
            throw in.unsupported("torch." + kind.op + "_cell with only one of b_ih and b_hh");
        }
        STensor x0 = (STensor) step[0];
        int hidden = weights.get(1).dim(1);
        Object batch = x.dim(0);
        List<STensor> outs = new ArrayList<>();
        outs.add(STensor.runtime(MARK + "cell:h", List.of(batch, (long) hidden), DType.FLOAT32));
        if (kind == TorchRecurrent.Kind.LSTM) {
            outs.add(STensor.runtime(MARK + "cell:c", List.of(batch, (long) hidden), DType.FLOAT32));
        }
        cell = new Cell(kind, x0, (Integer) step[1], states, weights, bias, outs, in.frame.line);
        return kind == TorchRecurrent.Kind.LSTM ? new Py.Tuple(new ArrayList<>(outs)) : outs.get(0);
    }

    /** {@code outs.append(v)} inside the loop. */
    void appended(Py.PyList list, Object v) {
        if (appends.containsKey(list)) {
            throw in.unsupported("two appends to one list in the loop over time steps");
        }
        appends.put(list, v);
    }

    /** torch.cat of the loop's output list: [T*B, H] is not a sequence lstmx writes. */
    void refuseSequenceList(List<Object> items) {
        for (Object o : items) {
            if (o instanceof STensor t && isStep(t)) {
                throw in.unsupported("torch.cat of a step's values inside the loop over time steps");
            }
        }
    }

    static boolean isSequence(List<Object> items) {
        return items.size() == 1 && items.get(0) instanceof Sequence;
    }

    /** torch.stack of the list the loop appended its outputs to: the sequence. */
    static Object stack(ScriptInterpreter in, List<Object> items, long dim) {
        if (in.loop != null) {
            for (Object o : items) {
                if (o instanceof STensor t && in.loop.isStep(t)) {
                    throw in.unsupported("torch.stack of a step's values inside the loop over time steps");
                }
            }
            return null;
        }
        if (!isSequence(items)) {
            return null;
        }
        Sequence s = (Sequence) items.get(0);
        int time = s.batchMajor() ? 1 : 0;
        long d = dim < 0 ? dim + 3 : dim;
        if (s.reversed()) {
            if (d != 0 || s.batchMajor()) {
                throw in.unsupported("torch.stack of a reverse loop's outputs along axis " + dim + " (lstmx reads axis 0, then torch.flip on axis 0)");
            }
            return new FlippedSequence(s.y());
        }
        if (d == time) {
            return s.y();
        }
        if (d == 1 - time) {
            String out = in.value(s.y().value + "_t");
            in.add(new Layer.Transpose(in.layerName(s.y().value + ".transpose"), s.y().value, out, List.of(1, 0, 2)));
            List<Object> shape = List.of(s.y().shape.get(1), s.y().shape.get(0), s.y().shape.get(2));
            return STensor.runtime(out, shape, DType.FLOAT32);
        }
        throw in.unsupported("torch.stack of the loop's outputs along axis " + dim);
    }

    private void finish(ScriptInterpreter.Frame f, Map<String, Object> before) {
        if (cell == null) {
            if (body.isEmpty()) {
                throw in.unsupported("a loop over " + steps + " steps (known only when the model runs) without a recurrent cell;"
                        + " lstmx reads loops over time steps whose body is one lstm_cell, gru_cell or rnn_*_cell, or a cell's arithmetic");
            }
            ArithmeticCell.finish(in, this, f, before);
            return;
        }
        if (!body.isEmpty() || !selects.isEmpty()) {
            throw in.unsupported(body.isEmpty() ? "torch.where" : body.get(0).kind() + " of a step's values beside torch." + cell.kind.op
                    + "_cell inside the loop over time steps; lstmx reads loops whose body is one recurrent cell (it does not unroll loops)");
        }
        // Each carried state must be replaced by the cell's matching output.
        List<String> stateVars = new ArrayList<>();
        for (int k = 0; k < cell.states.size(); k++) {
            String var = carried.get(cell.states.get(k));
            if (!(f.vars.get(var) instanceof STensor t) || t != cell.outputs.get(k)) {
                throw in.unsupported("the loop over time steps does not carry the cell's " + (k == 0 ? "h" : "c") + " into '" + var
                        + "' for the next step");
            }
            stateVars.add(var);
        }
        // Everything else assigned in the body must not be carried: ints and other values are not unrolled.
        for (Map.Entry<String, Object> e : before.entrySet()) {
            if (!stateVars.contains(e.getKey()) && f.vars.get(e.getKey()) != e.getValue()
                    && !(e.getValue() instanceof STensor && f.vars.get(e.getKey()) instanceof STensor at && carriedVar(at, e.getKey()))) {
                throw in.unsupported("the loop over time steps changes '" + e.getKey() + "' from one step to the next beside the cell's"
                        + " states (lstmx does not unroll loops)");
            }
        }
        STensor x = cell.x;
        boolean batchMajor = cell.axis == 1;
        // Initial states: zeros are absent, else [B, H] becomes [1, B, H].
        List<String> init = new ArrayList<>();
        for (String var : stateVars) {
            Object b = before.get(var);
            if (!(b instanceof STensor t)) {
                throw in.bad("the loop's state '" + var + "' is " + ScriptInterpreter.describe(b) + " before the loop");
            }
            if (t.zeros) {
                init.add(null);
                continue;
            }
            String out = in.value(var + "/initial");
            in.add(new Layer.Unsqueeze(in.layerName(in.scope() + "." + var + "_unsqueeze"), t.value, out, List.of(0)));
            init.add(out);
        }
        Tensor wih = cell.weights.get(0);
        if (wih.rank() != 2) {
            throw in.bad("torch." + cell.kind.op + "_cell w_ih is not a matrix");
        }
        if (x.dim(2) instanceof Sym s) {
            s.bind(wih.dim(1));
        }
        if (x.dim(1 - cell.axis) instanceof Sym s) {
            s.name("batch");
        }
        steps.name("time");
        String base = in.scope().equals("model") ? cell.kind.op : in.scope() + "." + cell.kind.op;
        TorchRecurrent.Outputs o = TorchRecurrent.emit(in, cell.kind, base, x.value, init.get(0), init.size() > 1 ? init.get(1) : null,
                cell.weights, cell.bias, 1, false, batchMajor, wih.dim(1), in.where());
        Object batch = x.dim(1 - cell.axis);
        long hidden = o.hidden();
        List<Object> yShape = batchMajor ? List.of(batch, steps, hidden) : List.of(steps, batch, hidden);
        STensor y = STensor.runtime(o.y(), yShape, DType.FLOAT32);
        String[] last = {o.h(), o.c()};
        for (int k = 0; k < stateVars.size(); k++) {
            String out = in.value(stateVars.get(k) + "/last");
            in.add(new Layer.Squeeze(in.layerName(base + ".last_" + (k == 0 ? "h" : "c")), last[k], out, List.of(0)));
            f.vars.put(stateVars.get(k), STensor.runtime(out, List.of(batch, hidden), DType.FLOAT32));
        }
        for (Map.Entry<Py.PyList, Object> e : appends.entrySet()) {
            Py.PyList list = e.getKey();
            if (e.getValue() != cell.outputs.get(0)) {
                throw in.unsupported("the loop over time steps appends " + ScriptInterpreter.describe(e.getValue())
                        + " to a list; lstmx reads loops that collect the cell's h");
            }
            if (list.items.size() != 1) {
                throw in.unsupported("the list the loop appends its outputs to is not empty before the loop");
            }
            list.items.set(0, new Sequence(y, batchMajor));
        }
    }

    private boolean carriedVar(STensor t, String name) {
        return name.equals(carried.get(t));
    }

    // ---- for ArithmeticCell

    Sym steps() {
        return steps;
    }

    Map<STensor, String> carried() {
        return carried;
    }

    Map<STensor, Object[]> stepInputs() {
        return stepInputs;
    }

    Map<Py.PyList, Object> appends() {
        return appends;
    }

    List<Layer> seen() {
        return seen;
    }

    List<Layer> body() {
        return body;
    }

    /** The select {@code v} is (kept, otherwise, mask step), or null. */
    STensor[] select(STensor v) {
        Sel s = selects.get(v);
        return s == null ? null : new STensor[] {s.kept(), s.otherwise(), s.maskStep()};
    }

    boolean masked() {
        return !selects.isEmpty();
    }
}
