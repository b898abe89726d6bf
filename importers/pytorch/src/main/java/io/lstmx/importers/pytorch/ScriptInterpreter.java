package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.importers.pytorch.ScriptValues.Method;
import io.lstmx.importers.pytorch.ScriptValues.ModuleRef;
import io.lstmx.importers.pytorch.ScriptValues.Opaque;
import io.lstmx.importers.pytorch.ScriptValues.Poison;
import io.lstmx.importers.pytorch.ScriptValues.STensor;
import io.lstmx.importers.pytorch.ScriptValues.Sym;
import io.lstmx.importers.pytorch.script.Ast;
import io.lstmx.importers.pytorch.script.Ast.*;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;
import io.lstmx.util.UniqueNames;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs a TorchScript module's {@code forward} symbolically and writes down, as IR layers, what it
 * does to its inputs. Python values the code computes from constants (ints, bools, strings, lists,
 * the checks nn modules make) are computed as Python would; tensors are IR values, or constants
 * when they come from the module's parameters; sizes of the inputs are symbols ({@link Sym}).
 * Operators are {@link TorchOps}'. Branches must be decidable without the inputs' values; a loop
 * over time steps that calls one recurrent cell becomes one IR layer ({@link CellLoop}).
 *
 * <p>Every statement, call and loop iteration counts against {@link #MAX_STEPS}; calls nest at
 * most {@link #MAX_CALL_DEPTH} deep. Operators lstmx does not know are collected and reported
 * together (exit 3) with the code line of each.
 */
final class ScriptInterpreter implements TorchRecurrent.Graph {
    static final long MAX_STEPS = 2_000_000;
    static final int MAX_CALL_DEPTH = 64;
    /** Iterations a loop with a known count may run, all loops together. */
    static final long MAX_ITERATIONS = 100_000;
    /** Expressions, statements and calls nested inside one another, all together (see {@link #enter}). */
    static final int MAX_NESTING = 500;

    /** A name the code refers to that is not a local: torch, ops.prim, __torch__.x.y, CONSTANTS, builtins. */
    record Dotted(String path) {
    }

    /** An input's guessed rank (0: not pinned, taken as 3) and element type (see {@link TorchScriptReader}). */
    record Guess(int rank, DType dtype) {
    }

    /** Thrown to start over with another guess for one input. */
    static final class Retry extends RuntimeException {
        final String input;
        final Guess guess;

        Retry(String input, Guess guess) {
            super(null, null, false, false);
            this.input = input;
            this.guess = guess;
        }
    }

    /** How a block ended. */
    enum FlowResult { NORMAL, RETURN, BREAK, CONTINUE }

    /** Local variables of one call, and where it is. */
    static final class Frame {
        final Map<String, Object> vars = new HashMap<>();
        final String file;
        final String scope;
        Object returned;
        int line;

        Frame(String file, String scope) {
            this.file = file;
            this.scope = scope;
        }
    }

    final TorchFile file;
    final ScriptCode code;
    final Py.Tuple constants;
    final Map<String, Guess> guesses;
    final List<Layer> layers = new ArrayList<>();
    final UniqueNames layerNames = new UniqueNames();
    final UniqueNames valueNames = new UniqueNames();
    /** Unknown operators met, each with its place; reported together. */
    final Set<String> unknown = new LinkedHashSet<>();
    private final Map<TensorRef, STensor> tensorCache = new IdentityHashMap<>();
    private final TorchOps ops = new TorchOps(this);
    private long steps;
    private long iterations;
    private int callDepth;
    private int nesting;
    /** The frame running now (for messages and for value names). */
    Frame frame;
    /** Set while a loop over time steps is being read. */
    CellLoop loop;

    ScriptInterpreter(TorchFile file, ScriptCode code, Py.Tuple constants, Map<String, Guess> guesses) {
        this.file = file;
        this.code = code;
        this.constants = constants;
        this.guesses = guesses;
    }

    // ---- the graph

    @Override
    public String value(String base) {
        return valueNames.fresh(base);
    }

    @Override
    public String layerName(String base) {
        return layerNames.fresh(base);
    }

    /** Values made by torch.flip on axis 0 (by IR value name), and what they flip. */
    final Map<String, ScriptValues.STensor> flipped = new HashMap<>();

    @Override
    public void add(Layer l) {
        if (loop != null && loop.record(l)) {
            return; // a layer of the step's values: part of the loop's body, matched as a cell when the loop ends
        }
        layers.add(l);
    }

    /** A base name for what the running code makes: the module's path, or "model" at the top. */
    String scope() {
        return frame == null || frame.scope.isEmpty() ? "model" : frame.scope;
    }

    /** "file line N" of the running code. */
    String where() {
        return frame == null ? file.path().toString() : file.path() + ": " + frame.file + " line " + frame.line;
    }

    LstmxException unsupported(String what) {
        return LstmxException.unsupported(where() + ": " + what);
    }

    LstmxException bad(String what) {
        return LstmxException.badInput(where() + ": " + what);
    }

    /** A tensor as a run-time value (constants get a Constant layer). */
    STensor runtimeOf(STensor t) {
        return ops.runtime(t);
    }

    // ---- entry

    /** Runs {@code root.forward} on fresh inputs; returns what it returns. */
    Object runForward(ModuleRef root) {
        Def forward = root.cls().methods().get("forward");
        if (forward == null) {
            throw LstmxException.unsupported(file.path() + ": class " + root.cls().qualified() + " has no forward method");
        }
        List<Object> args = new ArrayList<>();
        List<Param> params = forward.params();
        for (int i = 1; i < params.size(); i++) {
            Param p = params.get(i);
            args.add(input(p));
        }
        return call(forward, root.cls().file(), root, args, Map.of(), "");
    }

    /** A model input for parameter p of forward: a tensor of the guessed rank, a tuple of them, or the default. */
    private Object input(Param p) {
        String type = p.type() == null ? "Tensor" : typeText(p.type());
        if (type.equals("Tensor")) {
            return inputTensor(p.name());
        }
        if (type.matches("Tuple\\[Tensor(, Tensor)*\\]")) {
            int n = type.split(",").length;
            List<Object> items = new ArrayList<>();
            for (int k = 0; k < n; k++) {
                items.add(inputTensor(p.name() + "_" + k));
            }
            return new Py.Tuple(items);
        }
        if (p.defaultValue() != null) {
            frame = null;
            return evalConstant(p.defaultValue());
        }
        throw LstmxException.unsupported(file.path() + ": forward's parameter '" + p.name() + "' is a " + type
                + "; lstmx reads models whose inputs are tensors or tuples of tensors");
    }

    private STensor inputTensor(String name) {
        Guess g = guesses.getOrDefault(name, new Guess(0, DType.FLOAT32));
        int rank = g.rank() <= 0 ? 3 : g.rank();
        List<Object> shape = new ArrayList<>();
        for (int k = 0; k < rank; k++) {
            shape.add(new Sym(name + "_d" + k));
        }
        valueNames.reserve(name);
        STensor t = STensor.input(name, shape, g.dtype());
        inputTensors.add(t);
        return t;
    }

    final List<STensor> inputTensors = new ArrayList<>();
    /** Inputs only reshaped to sizes all known (their rank is free) and inputs some operator relies on the rank of. */
    final Set<String> rankFree = new LinkedHashSet<>();
    final Set<String> rankPinned = new LinkedHashSet<>();

    static String typeText(Expr e) {
        if (e instanceof Name n) {
            return n.id();
        }
        if (e instanceof Attr a) {
            return typeText(a.value()) + "." + a.attr();
        }
        if (e instanceof Index i) {
            String inner = i.index() instanceof TupleExpr t
                    ? String.join(", ", t.items().stream().map(ScriptInterpreter::typeText).toList()) : typeText(i.index());
            return typeText(i.value()) + "[" + inner + "]";
        }
        if (e instanceof Const c && c.value() == null) {
            return "None";
        }
        return "?";
    }

    // ---- calls

    Object call(Def def, String file, ModuleRef self, List<Object> args, Map<String, Object> kwargs, String scope) {
        if (++callDepth > MAX_CALL_DEPTH) {
            throw bad("calls nested more than " + MAX_CALL_DEPTH + " deep");
        }
        Frame caller = frame;
        Frame f = new Frame(file, scope);
        f.line = def.line();
        List<Param> params = def.params();
        int first = 0;
        if (self != null) {
            if (params.isEmpty()) {
                throw bad("method " + def.name() + " takes no self");
            }
            f.vars.put(params.get(0).name(), self);
            first = 1;
        }
        if (args.size() > params.size() - first) {
            throw bad(def.name() + " takes " + (params.size() - first) + " arguments, got " + args.size());
        }
        for (int i = first; i < params.size(); i++) {
            Param p = params.get(i);
            int at = i - first;
            Object v;
            if (at < args.size()) {
                v = args.get(at);
            } else if (kwargs.containsKey(p.name())) {
                v = kwargs.get(p.name());
            } else if (p.defaultValue() != null) {
                frame = f;
                v = eval(p.defaultValue(), f);
            } else {
                frame = caller;
                throw bad(def.name() + " called without its argument '" + p.name() + "'");
            }
            f.vars.put(p.name(), v);
        }
        frame = f;
        try {
            FlowResult flow = exec(def.body(), f);
            if (flow == FlowResult.BREAK || flow == FlowResult.CONTINUE) {
                throw bad("'break' or 'continue' outside a loop");
            }
            return flow == FlowResult.RETURN ? f.returned : null;
        } finally {
            frame = caller;
            callDepth--;
        }
    }

    private void step() {
        if (++steps > MAX_STEPS) {
            throw bad("the code runs more than " + MAX_STEPS + " steps");
        }
    }

    // ---- statements

    /** Runs a block (used by {@link CellLoop} for a loop's body). */
    FlowResult execBody(List<Stmt> body, Frame f) {
        return exec(body, f);
    }

    private FlowResult exec(List<Stmt> body, Frame f) {
        for (Stmt s : body) {
            step();
            f.line = s.line();
            FlowResult flow = exec(s, f);
            if (flow != FlowResult.NORMAL) {
                return flow;
            }
        }
        return FlowResult.NORMAL;
    }

    private FlowResult exec(Stmt s, Frame f) {
        enter();
        try {
            return execNode(s, f);
        } finally {
            nesting--;
        }
    }

    private FlowResult execNode(Stmt s, Frame f) {
        if (s instanceof Assign a) {
            Object v = eval(a.value(), f);
            for (Expr t : a.targets()) {
                assign(t, v, f);
            }
            return FlowResult.NORMAL;
        }
        if (s instanceof AugAssign a) {
            Object v = ops.binary(a.op(), eval(a.target(), f), eval(a.value(), f));
            assign(a.target(), v, f);
            return FlowResult.NORMAL;
        }
        if (s instanceof ExprStmt e) {
            eval(e.value(), f);
            return FlowResult.NORMAL;
        }
        if (s instanceof Return r) {
            f.returned = r.value() == null ? null : eval(r.value(), f);
            return FlowResult.RETURN;
        }
        if (s instanceof If i) {
            Object c = eval(i.cond(), f);
            Boolean b = truth(c);
            if (b == null) {
                if (c == Poison.VALUE) {
                    throw reportUnknown();
                }
                throw unsupported("the branch 'if' depends on the input's values or sizes (" + describe(c) + ")");
            }
            return exec(b ? i.body() : i.orelse(), f);
        }
        if (s instanceof For fo) {
            return forLoop(fo, f);
        }
        if (s instanceof While w) {
            while (true) {
                f.line = w.line();
                Boolean b = truth(eval(w.cond(), f));
                if (b == null) {
                    throw unsupported("the 'while' condition depends on the input's values or sizes");
                }
                if (!b) {
                    return FlowResult.NORMAL;
                }
                iterate();
                FlowResult flow = exec(w.body(), f);
                if (flow == FlowResult.BREAK) {
                    return FlowResult.NORMAL;
                }
                if (flow == FlowResult.RETURN) {
                    return flow;
                }
            }
        }
        if (s instanceof Pass) {
            return FlowResult.NORMAL;
        }
        if (s instanceof Break) {
            return FlowResult.BREAK;
        }
        if (s instanceof Continue) {
            return FlowResult.CONTINUE;
        }
        if (s instanceof AnnAssign a) {
            if (a.value() != null) {
                f.vars.put(a.name(), eval(a.value(), f));
            }
            return FlowResult.NORMAL;
        }
        throw unsupported("a " + (s instanceof Def ? "def" : "class") + " inside a function is not read");
    }

    private void iterate() {
        if (++iterations > MAX_ITERATIONS) {
            throw bad("loops run more than " + MAX_ITERATIONS + " iterations");
        }
        step();
    }

    private FlowResult forLoop(For fo, Frame f) {
        Object it = eval(fo.iter(), f);
        List<Object> items;
        if (it instanceof Range r) {
            Object n = ScriptValues.resolve(r.stop);
            if (n instanceof Sym sym) {
                if (r.start != 0 || r.step != 1) {
                    throw unsupported("a loop over range(" + r.start + ", " + sym + ", " + r.step + ") (lstmx reads loops over every time step)");
                }
                return CellLoop.run(this, fo, f, sym);
            }
            items = new ArrayList<>();
            long stop = (Long) n;
            if (r.step == 0) {
                throw bad("range() step is 0");
            }
            for (long i = r.start; r.step > 0 ? i < stop : i > stop; i += r.step) {
                items.add(i);
                if (items.size() > MAX_ITERATIONS) {
                    throw bad("loops run more than " + MAX_ITERATIONS + " iterations");
                }
            }
        } else if (it instanceof Py.PyList l) {
            items = new ArrayList<>(l.items);
        } else if (it instanceof Py.Tuple t) {
            items = new ArrayList<>(t.items);
        } else {
            throw unsupported("a loop over " + describe(it));
        }
        for (Object item : items) {
            iterate();
            assign(fo.target(), item, f);
            FlowResult flow = exec(fo.body(), f);
            if (flow == FlowResult.BREAK) {
                break;
            }
            if (flow == FlowResult.RETURN) {
                return flow;
            }
        }
        return FlowResult.NORMAL;
    }

    /** range(start, stop, step); stop may be a symbol. */
    record Range(long start, Object stop, long step) {
    }

    void assign(Expr target, Object v, Frame f) {
        if (target instanceof Name n) {
            f.vars.put(n.id(), v);
        } else if (target instanceof TupleExpr || target instanceof ListExpr) {
            List<Expr> targets = target instanceof TupleExpr t ? t.items() : ((ListExpr) target).items();
            List<Object> items = items(v);
            if (items == null || items.size() != targets.size()) {
                throw bad("cannot unpack " + describe(v) + " into " + targets.size() + " names");
            }
            for (int i = 0; i < items.size(); i++) {
                assign(targets.get(i), items.get(i), f);
            }
        } else if (target instanceof Index ix) {
            Object container = eval(ix.value(), f);
            Object key = eval(ix.index(), f);
            if (container instanceof Py.PyList l && ScriptValues.resolve(key) instanceof Long i) {
                int at = (int) (i < 0 ? i + l.items.size() : i);
                if (at < 0 || at >= l.items.size()) {
                    throw bad("list index " + i + " out of range");
                }
                l.items.set(at, v);
            } else if (container instanceof Py.Dict d) {
                d.put(key, v);
            } else {
                throw unsupported("assignment into " + describe(container));
            }
        } else {
            throw unsupported("assignment to " + target.getClass().getSimpleName());
        }
    }

    /** The items of a tuple or list, else null. */
    static List<Object> items(Object v) {
        if (v instanceof Py.Tuple t) {
            return t.items;
        }
        if (v instanceof Py.PyList l) {
            return l.items;
        }
        return null;
    }

    /** Python truth of a known value; null when it depends on the inputs. */
    static Boolean truth(Object v) {
        v = ScriptValues.resolve(v);
        if (v instanceof Boolean b) {
            return b;
        }
        if (v == null) {
            return false;
        }
        if (v instanceof Long l) {
            return l != 0;
        }
        if (v instanceof Double d) {
            return d != 0;
        }
        if (v instanceof String s) {
            return !s.isEmpty();
        }
        List<Object> items = items(v);
        if (items != null) {
            return !items.isEmpty();
        }
        return null;
    }

    // ---- expressions

    /** A default value or class constant: literals only, no frame. */
    Object evalConstant(Expr e) {
        return eval(e, new Frame("", ""));
    }

    Object eval(Expr e, Frame f) {
        enter();
        try {
            return evalNode(e, f);
        } finally {
            nesting--;
        }
    }

    /**
     * Counts one more level of expressions, statements and calls being evaluated inside one
     * another. Each is bounded on its own (expression height, block depth, call depth), but their
     * product is not: 64 calls each under an expression 200 deep would overflow the Java stack.
     */
    private void enter() {
        if (++nesting > MAX_NESTING) {
            nesting--;
            throw bad("expressions, blocks and calls nested more than " + MAX_NESTING + " deep, all together");
        }
    }

    private Object evalNode(Expr e, Frame f) {
        if (e instanceof Num n) {
            return n.value();
        }
        if (e instanceof Str s) {
            return s.value();
        }
        if (e instanceof Const c) {
            return c.value();
        }
        if (e instanceof Name n) {
            if (f.vars.containsKey(n.id())) {
                return f.vars.get(n.id());
            }
            return new Dotted(n.id());
        }
        if (e instanceof Attr a) {
            return attribute(eval(a.value(), f), a.attr());
        }
        if (e instanceof TupleExpr t) {
            List<Object> items = new ArrayList<>();
            for (Expr x : t.items()) {
                items.add(eval(x, f));
            }
            return new Py.Tuple(items);
        }
        if (e instanceof ListExpr l) {
            Py.PyList out = new Py.PyList();
            for (Expr x : l.items()) {
                out.add(eval(x, f));
            }
            return out;
        }
        if (e instanceof DictExpr d) {
            Py.Dict out = new Py.Dict(false);
            for (int i = 0; i < d.keys().size(); i++) {
                out.put(eval(d.keys().get(i), f), eval(d.values().get(i), f));
            }
            return out;
        }
        if (e instanceof Index ix) {
            Object v = eval(ix.value(), f);
            if (v instanceof Dotted) {
                // A type such as List[Tensor] in annotate(...) / unchecked_cast(...).
                return new Opaque(typeText(ix));
            }
            return ops.index(v, eval(ix.index(), f));
        }
        if (e instanceof Ast.Slice s) {
            return new SliceValue(s.lower() == null ? null : eval(s.lower(), f), s.upper() == null ? null : eval(s.upper(), f),
                    s.step() == null ? null : eval(s.step(), f));
        }
        if (e instanceof Unary u) {
            return ops.unary(u.op(), eval(u.operand(), f));
        }
        if (e instanceof BinOp b) {
            return ops.binary(b.op(), eval(b.left(), f), eval(b.right(), f));
        }
        if (e instanceof Compare c) {
            return ops.compare(c.op(), eval(c.left(), f), eval(c.right(), f));
        }
        if (e instanceof BoolOp b) {
            Object l = eval(b.left(), f);
            Boolean lt = truth(l);
            if (lt == null) {
                throw unsupported("'" + b.op() + "' of a value that depends on the inputs");
            }
            if (b.op().equals("and") ? !lt : lt) {
                return l;
            }
            return eval(b.right(), f);
        }
        if (e instanceof IfExp i) {
            Boolean c = truth(eval(i.cond(), f));
            if (c == null) {
                throw unsupported("a conditional expression depends on the input's values or sizes");
            }
            return eval(c ? i.then() : i.otherwise(), f);
        }
        return callExpr((Call) e, f);
    }

    /** {@code tensor.name}, called: {@code torch.name(tensor, ...)}. */
    record TensorMethod(Object self, String name) {
    }

    /** A slice written in a subscript. */
    record SliceValue(Object lower, Object upper, Object step) {
    }

    private Object attribute(Object base, String attr) {
        if (base instanceof Dotted d) {
            if (d.path().equals("CONSTANTS")) {
                if (!attr.matches("c[0-9]{1,6}")) {
                    throw bad("CONSTANTS." + attr + " is not a constant's name (c0, c1, ...)");
                }
                int i = Integer.parseInt(attr.substring(1));
                if (i >= constants.size()) {
                    throw bad("CONSTANTS." + attr + " but constants.pkl holds " + constants.size());
                }
                return fromPickle(constants.get(i), "CONSTANTS." + attr);
            }
            return new Dotted(d.path() + "." + attr);
        }
        if (base instanceof ModuleRef m) {
            if (m.obj().attributes.containsKey(attr)) {
                return fromPickle(m.obj().attributes.get(attr), m.path().isEmpty() ? attr : m.path() + "." + attr);
            }
            if (m.cls() != null && m.cls().constants().containsKey(attr)) {
                return evalConstant(m.cls().constants().get(attr));
            }
            if (m.cls() != null && m.cls().methods().containsKey(attr)) {
                return new Method(m, attr);
            }
            throw bad("module " + (m.path().isEmpty() ? "(the model)" : "'" + m.path() + "'") + " of class " + m.obj().cls.qualified()
                    + " has no attribute '" + attr + "'");
        }
        if (base == Poison.VALUE) {
            return Poison.VALUE;
        }
        if (base instanceof TorchOps.NotEqualOf && attr.equals("to")) {
            return new TensorMethod(base, attr); // (x != v).to(float): a step mask
        }
        if (base instanceof STensor t) {
            // Source-style code (x.size(0), x.to(...)): a method is the torch function of the same name.
            switch (attr) {
                case "shape" -> {
                    Py.PyList l = new Py.PyList();
                    t.shape.forEach(l::add);
                    return l;
                }
                case "dtype" -> {
                    return TorchOps.dtypeCode(t.dtype);
                }
                case "device" -> {
                    return new Opaque("device");
                }
                default -> {
                    return new TensorMethod(t, attr);
                }
            }
        }
        throw unsupported("attribute '" + attr + "' of " + describe(base));
    }

    /** Values of data.pkl or constants.pkl converted by one {@link #fromPickle} call, at most. */
    static final int MAX_CONVERTED = 1 << 20;

    /** A value of data.pkl or constants.pkl as the interpreter's: tensors become constants, modules ModuleRefs. */
    Object fromPickle(Object o, String path) {
        return fromPickle(o, path, 0, new int[1]);
    }

    /** Values fromPickle returns as they are (no path needed). */
    private static boolean plain(Object o) {
        return !(o instanceof TensorRef || o instanceof Py.Obj || o instanceof Py.PyList || o instanceof Py.Tuple);
    }

    /**
     * Pickles may hold lists that hold themselves (memo references) and lists shared many times
     * over (a DAG as wide as 2^depth): both are refused rather than recursed into forever. Every
     * item converted is a step: each attribute access converts again, so a long list read in a
     * loop costs what the steps allow.
     */
    private Object fromPickle(Object o, String path, int depth, int[] converted) {
        if (depth > Py.MAX_DEPTH || ++converted[0] > MAX_CONVERTED) {
            throw bad("'" + SafeText.name(path.length() > 200 ? path.substring(0, 200) + "..." : path) + "' holds lists or tuples nested"
                    + " more than " + Py.MAX_DEPTH + " deep, or more than " + MAX_CONVERTED + " values (a list that holds itself?)");
        }
        if (o instanceof TensorRef t) {
            STensor s = tensorCache.get(t);
            if (s == null) {
                s = STensor.constant(Storages.materialize(file, t, path));
                tensorCache.put(t, s);
            }
            return s;
        }
        if (o instanceof Py.Obj obj) {
            ScriptCode.ClassInfo cls = code.classes.get(obj.cls.qualified());
            return new ModuleRef(obj, cls, path);
        }
        if (o instanceof Py.PyList l) {
            Py.PyList out = new Py.PyList();
            for (int i = 0; i < l.items.size(); i++) {
                step();
                Object item = l.items.get(i);
                out.add(plain(item) ? item : fromPickle(item, path + "[" + i + "]", depth + 1, converted));
            }
            return out;
        }
        if (o instanceof Py.Tuple t) {
            List<Object> items = new ArrayList<>();
            for (int i = 0; i < t.size(); i++) {
                step();
                Object item = t.get(i);
                items.add(plain(item) ? item : fromPickle(item, path + "[" + i + "]", depth + 1, converted));
            }
            return new Py.Tuple(items);
        }
        return o;
    }

    private Object callExpr(Call c, Frame f) {
        Object fn = eval(c.func(), f);
        List<Object> args = new ArrayList<>();
        for (Expr a : c.args()) {
            args.add(eval(a, f));
        }
        Map<String, Object> kw = new LinkedHashMap<>();
        for (Keyword k : c.keywords()) {
            kw.put(k.name(), eval(k.value(), f));
        }
        f.line = c.line();
        if (fn instanceof Method m) {
            Def d = m.self().cls().methods().get(m.name());
            step();
            return call(d, m.self().cls().file(), m.self(), args, kw, m.self().path());
        }
        if (fn instanceof Dotted d) {
            ScriptCode.FunctionInfo fi = code.functions.get(d.path());
            if (fi != null) {
                step();
                return call(fi.def(), fi.file(), null, args, kw, f.scope);
            }
            if (d.path().startsWith("__torch__.")) {
                throw unsupported("'" + SafeText.name(d.path()) + "' (a class or function of the model's code that lstmx does not read)");
            }
            if (args.contains(Poison.VALUE) || kw.containsValue(Poison.VALUE)) {
                // Applied to an unknown operator's result: unknown too unless lstmx reads it, so
                // that one message names every unknown operator, not only the first of a chain.
                return ops.knows(d.path()) ? Poison.VALUE : unknownOperator(d.path());
            }
            return ops.call(d.path(), args, kw);
        }
        if (fn instanceof TensorMethod tm) {
            List<Object> all = new ArrayList<>();
            all.add(tm.self());
            all.addAll(args);
            return ops.call("torch." + tm.name(), all, kw);
        }
        if (fn == Poison.VALUE) {
            return Poison.VALUE;
        }
        throw unsupported("calling " + describe(fn));
    }

    /** Records an unknown operator and returns the stand-in value. */
    Object unknownOperator(String name) {
        unknown.add("'" + SafeText.name(name) + "' (" + (frame == null ? "" : frame.file + " line " + frame.line) + ")");
        return Poison.VALUE;
    }

    LstmxException reportUnknown() {
        return LstmxException.unsupported(file.path() + ": TorchScript operator(s) lstmx does not read: " + SafeText.join(unknown, ", "));
    }

    static String describe(Object v) {
        v = ScriptValues.resolve(v);
        if (v == null) {
            return "None";
        }
        if (v instanceof STensor t) {
            return t.toString();
        }
        if (v instanceof Sym s) {
            return "the size '" + s.label() + "' known only when the model runs";
        }
        if (v instanceof ModuleRef m) {
            return "module " + m.obj().cls.qualified();
        }
        if (v instanceof Dotted d) {
            return "'" + SafeText.name(d.path()) + "'";
        }
        if (v == Poison.VALUE) {
            return "the result of an unknown operator";
        }
        return Py.typeName(v) + (v instanceof Long || v instanceof Double || v instanceof Boolean ? " " + v : "");
    }
}
