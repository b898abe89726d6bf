package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.importers.pytorch.ScriptInterpreter.Range;
import io.lstmx.importers.pytorch.ScriptInterpreter.SliceValue;
import io.lstmx.importers.pytorch.ScriptValues.Opaque;
import io.lstmx.importers.pytorch.ScriptValues.Poison;
import io.lstmx.importers.pytorch.ScriptValues.STensor;
import io.lstmx.importers.pytorch.ScriptValues.Sym;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The TorchScript operators lstmx reads, each declared with its parameter list (as in
 * {@code native_functions.yaml}, so that keyword arguments land where they belong) and what it makes:
 * Python values for the code's own bookkeeping, IR layers for tensors that depend on the inputs,
 * and constants folded here for tensors that do not. An operator missing from the table is
 * reported, with all others missing, by the interpreter.
 */
final class TorchOps {
    /** An operator's implementation. */
    private interface Impl {
        Object apply(Args a);
    }

    /** A declared operator: parameter names, defaults marked by a trailing '=' (default None/the given literal). */
    private record Op(String name, List<String> params, Map<String, Object> defaults, boolean varargs, Impl impl) {
    }

    /** The arguments of one call, by parameter name. */
    final class Args {
        final Op op;
        final Object[] values;
        final boolean[] given;
        final List<Object> extra;

        Args(Op op, Object[] values, boolean[] given, List<Object> extra) {
            this.op = op;
            this.values = values;
            this.given = given;
            this.extra = extra;
        }

        Object get(String name) {
            int i = op.params.indexOf(name);
            if (i < 0) {
                throw LstmxException.internal("operator " + op.name + " has no parameter " + name);
            }
            return ScriptValues.resolve(values[i]);
        }

        Object raw(String name) {
            return values[op.params.indexOf(name)];
        }

        boolean given(String name) {
            return given[op.params.indexOf(name)];
        }

        STensor tensor(String name) {
            Object v = get(name);
            if (v instanceof STensor t) {
                if (t.input != null && !RANK_FREE_OPS.contains(op.name)) {
                    in.rankPinned.add(t.input);
                }
                return t;
            }
            throw in.bad(op.name + " argument '" + name + "' is " + ScriptInterpreter.describe(v) + ", not a tensor");
        }

        long integer(String name) {
            Object v = get(name);
            if (v instanceof Long l) {
                return l;
            }
            if (v instanceof Boolean b) {
                return b ? 1 : 0;
            }
            throw in.unsupported(op.name + " argument '" + name + "' is " + ScriptInterpreter.describe(v) + ", not an int known before the model runs");
        }

        Long optInteger(String name) {
            return get(name) == null ? null : integer(name);
        }

        double number(String name) {
            Object v = get(name);
            if (v instanceof Long l) {
                return l;
            }
            if (v instanceof Double d) {
                return d;
            }
            if (v instanceof Boolean b) {
                return b ? 1 : 0;
            }
            throw in.unsupported(op.name + " argument '" + name + "' is " + ScriptInterpreter.describe(v) + ", not a number");
        }

        boolean flag(String name) {
            Object v = get(name);
            if (v instanceof Boolean b) {
                return b;
            }
            if (v instanceof Long l) {
                return l != 0;
            }
            throw in.unsupported(op.name + " argument '" + name + "' is " + ScriptInterpreter.describe(v) + ", not a bool");
        }

        List<Object> list(String name) {
            Object v = get(name);
            List<Object> items = ScriptInterpreter.items(v);
            if (items == null) {
                throw in.bad(op.name + " argument '" + name + "' is " + ScriptInterpreter.describe(v) + ", not a list");
            }
            List<Object> out = new ArrayList<>();
            for (Object o : items) {
                out.add(ScriptValues.resolve(o));
            }
            return out;
        }
    }

    /** Operators that do not depend on their input's rank (a reshape to a shape of known sizes, casts, copies). */
    private static final java.util.Set<String> RANK_FREE_OPS = java.util.Set.of("torch.view", "torch.reshape", "torch.to",
            "torch.contiguous", "torch.detach", "torch.float", "torch.clone");

    private final ScriptInterpreter in;
    private final Map<String, Op> table = new HashMap<>();
    private final Map<String, String> aliases = new HashMap<>();
    private final Map<STensor, STensor> materialized = new IdentityHashMap<>();

    TorchOps(ScriptInterpreter in) {
        this.in = in;
        register();
    }

    private void def(String name, String params, Impl impl) {
        List<String> names = new ArrayList<>();
        Map<String, Object> defaults = new HashMap<>();
        boolean varargs = false;
        if (!params.isBlank()) {
            for (String p : params.split(",")) {
                p = p.strip();
                if (p.equals("*")) {
                    varargs = true;
                    continue;
                }
                int eq = p.indexOf('=');
                if (eq < 0) {
                    names.add(p);
                } else {
                    String n = p.substring(0, eq);
                    names.add(n);
                    defaults.put(n, literal(p.substring(eq + 1)));
                }
            }
        }
        table.put(name, new Op(name, names, defaults, varargs, impl));
    }

    private static Object literal(String s) {
        return switch (s) {
            case "None" -> null;
            case "True" -> Boolean.TRUE;
            case "False" -> Boolean.FALSE;
            default -> s.matches("-?[0-9]+") ? (Object) Long.parseLong(s) : (Object) Double.parseDouble(s);
        };
    }

    /** Whether {@code name} is an operator lstmx reads. */
    boolean knows(String name) {
        return table.containsKey(aliases.getOrDefault(name, name));
    }

    /** Calls operator {@code name}; an unknown one is recorded and a stand-in returned. */
    Object call(String name, List<Object> args, Map<String, Object> kwargs) {
        Op op = table.get(aliases.getOrDefault(name, name));
        if (op == null) {
            return in.unknownOperator(name);
        }
        Object[] values = new Object[op.params.size()];
        boolean[] given = new boolean[values.length];
        List<Object> extra = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            if (i < values.length) {
                values[i] = args.get(i);
                given[i] = true;
            } else if (op.varargs) {
                extra.add(args.get(i));
            } else {
                throw in.bad(name + " takes " + values.length + " arguments, got " + args.size());
            }
        }
        for (Map.Entry<String, Object> e : kwargs.entrySet()) {
            int i = op.params.indexOf(e.getKey());
            if (i < 0) {
                throw in.unsupported(name + " with argument '" + e.getKey() + "', which lstmx does not read");
            }
            values[i] = e.getValue();
            given[i] = true;
        }
        for (int i = 0; i < values.length; i++) {
            if (!given[i]) {
                String p = op.params.get(i);
                if (!op.defaults.containsKey(p)) {
                    throw in.bad(name + " called without its argument '" + p + "'");
                }
                values[i] = op.defaults.get(p);
            }
        }
        return op.impl.apply(new Args(op, values, given, extra));
    }

    // ---- the table

    private void register() {
        // Python builtins and TorchScript's bookkeeping.
        def("range", "a, b=None, c=None", a -> a.given("b")
                ? new Range(a.integer("a"), a.get("b"), a.get("c") == null ? 1 : a.integer("c")) : new Range(0, a.get("a"), 1));
        def("int", "x", a -> toInt(a.get("x")));
        def("float", "x", a -> a.get("x") instanceof Sym ? a.get("x") : (Object) a.number("x"));
        def("bool", "x", a -> {
            Boolean b = ScriptInterpreter.truth(a.get("x"));
            if (b == null) {
                throw in.unsupported("bool() of " + ScriptInterpreter.describe(a.get("x")));
            }
            return b;
        });
        def("len", "x", a -> length(a.get("x")));
        def("torch.len", "x", a -> length(a.get("x")));
        def("annotate", "type, value", a -> a.raw("value"));
        def("unchecked_cast", "type, value", a -> a.raw("value"));
        def("uninitialized", "type", a -> null);
        def("torch.device", "type, index=None", a -> new Opaque("device"));
        def("ops.prim.device", "x", a -> new Opaque("device"));
        def("ops.prim.dtype", "x", a -> dtypeCode(a.tensor("x").dtype));
        def("ops.prim.NumToTensor", "x", a -> a.raw("x"));
        def("ops.prim.data", "x", a -> a.raw("x"));
        def("ops.prim.RaiseException", "message, cls=None", a -> {
            throw in.unsupported("the model raises " + Objects.toString(a.get("cls"), "an exception") + ": "
                    + io.lstmx.util.SafeText.oneLine(String.valueOf(a.get("message"))));
        });
        def("torch.warn", "message, stacklevel=2", a -> null);
        def("torch.format", "fmt, *", a -> format(String.valueOf(a.get("fmt")), a.extra));
        def("torch.__not__", "x", a -> {
            Boolean b = ScriptInterpreter.truth(a.get("x"));
            if (b == null) {
                throw in.unsupported("'not' of " + ScriptInterpreter.describe(a.get("x")));
            }
            return !b;
        });
        def("torch.__is__", "a, b", a -> identical(a.get("a"), a.get("b")));
        def("torch.__isnot__", "a, b", a -> !identical(a.get("a"), a.get("b")));
        for (String c : List.of("eq", "ne", "lt", "le", "gt", "ge")) {
            String py = switch (c) {
                case "eq" -> "==";
                case "ne" -> "!=";
                case "lt" -> "<";
                case "le" -> "<=";
                case "gt" -> ">";
                default -> ">=";
            };
            def("torch." + c, "a, b", a -> compare(py, a.raw("a"), a.raw("b")));
        }
        def("torch.where", "condition, x, y", a -> {
            // where(ids < 0, ids + n, ids): Python's wrap of negative indices, which the IR's Embedding
            // and Take apply themselves (lstmx's own TorchScript writes it for them).
            if (a.get("condition") instanceof NegativeIds n && a.get("y") == n.ids()) {
                return n.ids();
            }
            if (in.loop != null && a.get("condition") instanceof NotEqualOf ne) {
                // where(mask[t] != 0, new, old): a masked loop keeping its states at masked steps
                return in.loop.where(ne, a.get("x"), a.get("y"));
            }
            throw in.unsupported("torch.where, which depends on the input's values");
        });
        def("torch.any", "x, dim, keepdim=False", a -> {
            if (a.get("x") instanceof NotEqualOf ne && !ne.any() && !a.flag("keepdim")) {
                long d = a.integer("dim");
                if (d == -1 || d == ne.x().rank() - 1) {
                    return new NotEqualOf(ne.x(), ne.value(), true);
                }
            }
            throw in.unsupported("torch.any of " + ScriptInterpreter.describe(a.get("x")) + " (lstmx reads torch.any(x != value, -1),"
                    + " a step mask over the last axis)");
        });
        def("torch.flip", "x, dims", a -> flip(a.get("x"), a.list("dims")));
        def("torch.dim", "x", a -> (long) a.tensor("x").rank());
        def("torch.size", "x, dim=None", a -> {
            STensor t = a.tensor("x");
            if (a.get("dim") == null) {
                Py.PyList l = new Py.PyList();
                t.shape.forEach(l::add);
                return l;
            }
            return t.shape.get(axis(a.integer("dim"), t.rank()));
        });
        def("torch.list", "x", a -> {
            Py.PyList l = new Py.PyList();
            a.list("x").forEach(l::add);
            return l;
        });
        def("torch.append", "list, x", a -> {
            if (!(a.get("list") instanceof Py.PyList l)) {
                throw in.bad("append to " + ScriptInterpreter.describe(a.get("list")));
            }
            if (in.loop != null) {
                in.loop.appended(l, a.raw("x"));
            }
            l.add(a.raw("x"));
            return l;
        });
        def("torch.__getitem__", "x, i", a -> index(a.get("x"), a.get("i")));
        def("torch.add", "a, b, alpha=1", a -> {
            if (a.given("alpha") && a.number("alpha") != 1) {
                if (a.get("b") instanceof STensor) {
                    throw in.unsupported("torch.add with alpha " + a.get("alpha"));
                }
                return binary("+", a.raw("a"), binary("*", a.raw("b"), a.raw("alpha")));
            }
            return binary("+", a.raw("a"), a.raw("b"));
        });
        def("torch.sub", "a, b, alpha=1", a -> {
            if (a.given("alpha") && a.number("alpha") != 1) {
                return binary("-", a.raw("a"), binary("*", a.raw("b"), a.raw("alpha")));
            }
            return binary("-", a.raw("a"), a.raw("b"));
        });
        def("torch.rsub", "a, b, alpha=1", a -> binary("-", a.raw("b"), a.raw("a")));
        def("torch.mul", "a, b", a -> binary("*", a.raw("a"), a.raw("b")));
        def("torch.div", "a, b, rounding_mode=None", a -> {
            if (a.get("rounding_mode") != null) {
                if ("floor".equals(a.get("rounding_mode")) && !(a.get("a") instanceof STensor)) {
                    return binary("//", a.raw("a"), a.raw("b"));
                }
                throw in.unsupported("torch.div with rounding_mode '" + a.get("rounding_mode") + "'");
            }
            return binary("/", a.raw("a"), a.raw("b"));
        });
        def("torch.floordiv", "a, b", a -> binary("//", a.raw("a"), a.raw("b")));
        def("torch.remainder", "a, b", a -> binary("%", a.raw("a"), a.raw("b")));
        def("torch.neg", "x", a -> unary("-", a.raw("x")));
        // In-place variants: their result is what the code goes on with (printed code assigns it).
        for (String op : List.of("add", "sub", "mul", "div", "relu", "tanh", "sigmoid")) {
            aliases.put("torch." + op + "_", "torch." + op);
        }

        // Tensors made by the code.
        def("torch.zeros", "size, dtype=None, layout=None, device=None, pin_memory=None", a -> {
            List<Object> shape = a.list("size");
            return STensor.zeros(shape, a.get("dtype") == null ? DType.FLOAT32 : dtype(a.integer("dtype")));
        });
        def("torch.zeros_like", "x, dtype=None, layout=None, device=None, pin_memory=None, memory_format=None", a ->
                STensor.zeros(a.tensor("x").shape, a.tensor("x").dtype));
        def("torch.tensor", "data, dtype=None, device=None, requires_grad=False", a -> {
            Object d = a.get("data");
            if (d instanceof Long || d instanceof Double) {
                return STensor.constant(Tensor.scalar((float) a.number("data")));
            }
            throw in.unsupported("torch.tensor of " + ScriptInterpreter.describe(d));
        });

        // Recurrent operators.
        for (TorchRecurrent.Kind k : TorchRecurrent.Kind.values()) {
            def("torch." + k.op, "input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first",
                    a -> recurrent(k, a));
        }
        def("torch.lstm_cell", "input, hx, w_ih, w_hh, b_ih=None, b_hh=None", a -> cell(TorchRecurrent.Kind.LSTM, a));
        def("torch.gru_cell", "input, hx, w_ih, w_hh, b_ih=None, b_hh=None", a -> cell(TorchRecurrent.Kind.GRU, a));
        def("torch.rnn_tanh_cell", "input, hx, w_ih, w_hh, b_ih=None, b_hh=None", a -> cell(TorchRecurrent.Kind.RNN_TANH, a));
        def("torch.rnn_relu_cell", "input, hx, w_ih, w_hh, b_ih=None, b_hh=None", a -> cell(TorchRecurrent.Kind.RNN_RELU, a));

        // Dense layers.
        def("torch.linear", "input, weight, bias=None", a -> linear(a.tensor("input"), a.tensor("weight"),
                a.get("bias") == null ? null : a.tensor("bias")));
        def("torch.addmm", "self, mat1, mat2, beta=1, alpha=1", a -> {
            if (a.number("beta") != 1 || a.number("alpha") != 1) {
                throw in.unsupported("torch.addmm with beta " + a.get("beta") + " and alpha " + a.get("alpha"));
            }
            STensor w = a.tensor("mat2");
            if (w.isRuntime() || w.rank() != 2) {
                throw in.unsupported("torch.addmm with a weight computed from the inputs");
            }
            return linear(a.tensor("mat1"), STensor.constant(permute(w.constant, 1, 0)), a.tensor("self"));
        });
        def("torch.matmul", "a, b", a -> matmul(a.tensor("a"), a.tensor("b")));
        def("torch.mm", "a, b", a -> matmul(a.tensor("a"), a.tensor("b")));
        def("torch.embedding", "weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False", a -> embedding(a));

        // Shapes.
        def("torch.select", "x, dim, index", a -> select(a.tensor("x"), a.integer("dim"), a.raw("index")));
        def("torch.slice", "x, dim=0, start=None, end=None, step=1", a -> slice(a.tensor("x"), a.integer("dim"), a.get("start"),
                a.get("end"), a.integer("step")));
        def("torch.narrow", "x, dim, start, length", a -> {
            long s = a.integer("start");
            return slice(a.tensor("x"), a.integer("dim"), s, s + a.integer("length"), 1);
        });
        def("torch.permute", "x, dims", a -> permute(a.tensor("x"), ints(a.list("dims"))));
        def("torch.transpose", "x, dim0, dim1", a -> {
            STensor t = a.tensor("x");
            int[] p = identityPerm(t.rank());
            int d0 = axis(a.integer("dim0"), t.rank());
            int d1 = axis(a.integer("dim1"), t.rank());
            p[d0] = d1;
            p[d1] = d0;
            return permute(t, p);
        });
        def("torch.t", "x", a -> {
            STensor t = a.tensor("x");
            return t.rank() < 2 ? t : permute(t, new int[] {1, 0});
        });
        def("torch.reshape", "x, shape", a -> reshape(a.tensor("x"), a.list("shape")));
        def("torch.view", "x, size", a -> reshape(a.tensor("x"), a.list("size")));
        def("torch.flatten", "x, start_dim=0, end_dim=-1", a -> flatten(a.tensor("x"), a.integer("start_dim"), a.integer("end_dim")));
        def("torch.squeeze", "x, dim=None", a -> squeeze(a.tensor("x"), a.optInteger("dim")));
        def("torch.unsqueeze", "x, dim", a -> unsqueeze(a.tensor("x"), a.integer("dim")));
        def("torch.chunk", "x, chunks, dim=0", a -> chunk(a.tensor("x"), a.integer("chunks"), a.integer("dim")));
        def("torch.unsafe_chunk", "x, chunks, dim=0", a -> chunk(a.tensor("x"), a.integer("chunks"), a.integer("dim")));
        def("torch.cat", "tensors, dim=0", a -> cat(a.list("tensors"), a.integer("dim")));
        def("torch.concat", "tensors, dim=0", a -> cat(a.list("tensors"), a.integer("dim")));
        def("torch.stack", "tensors, dim=0", a -> stack(a.list("tensors"), a.integer("dim")));
        def("torch.contiguous", "x, memory_format=0", a -> a.tensor("x"));
        def("torch.detach", "x", a -> a.tensor("x"));
        def("torch.clone", "x, memory_format=None", a -> a.tensor("x"));
        def("torch.to", "x, a=None, b=None, c=False, d=False, e=None", a -> to(a));
        def("torch.float", "x, memory_format=None", a -> cast(a.tensor("x"), DType.FLOAT32));

        // Element-wise and reductions along an axis.
        def("torch.relu", "x", a -> activation(a.tensor("x"), ActivationFn.RELU, "relu"));
        def("torch.tanh", "x", a -> activation(a.tensor("x"), ActivationFn.TANH, "tanh"));
        def("torch.sigmoid", "x", a -> activation(a.tensor("x"), ActivationFn.SIGMOID, "sigmoid"));
        def("torch.leaky_relu", "x, negative_slope=0.01", a -> activation(a.tensor("x"),
                ActivationFn.of(ActivationFn.Kind.LEAKY_RELU, (float) a.number("negative_slope"), 0f), "leaky_relu"));
        def("torch.elu", "x, alpha=1.0, scale=1.0, input_scale=1.0", a -> {
            if (a.number("scale") != 1 || a.number("input_scale") != 1) {
                throw in.unsupported("torch.elu with scale " + a.get("scale") + " and input_scale " + a.get("input_scale"));
            }
            return activation(a.tensor("x"), ActivationFn.of(ActivationFn.Kind.ELU, (float) a.number("alpha"), 0f), "elu");
        });
        def("torch.softplus", "x, beta=1, threshold=20", a -> {
            if (a.number("beta") != 1) {
                throw in.unsupported("torch.softplus with beta " + a.get("beta"));
            }
            return activation(a.tensor("x"), ActivationFn.of(ActivationFn.Kind.SOFTPLUS), "softplus");
        });
        def("torch.softmax", "x, dim, dtype=None", a -> softmax(a.tensor("x"), a.integer("dim"), false));
        def("torch.log_softmax", "x, dim, dtype=None", a -> softmax(a.tensor("x"), a.integer("dim"), true));
        for (String d : List.of("dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout")) {
            def("torch." + d, "x, p, train", a -> {
                if (a.flag("train") && a.number("p") != 0) {
                    throw in.unsupported("torch." + d + " in training mode (lstmx reads models for inference; save the model after eval())");
                }
                STensor t = a.tensor("x");
                if (!t.isRuntime()) {
                    return t;
                }
                String out = in.value(in.scope() + "/dropout");
                in.add(new Layer.Dropout(in.layerName(in.scope() + ".dropout"), t.value, out, (float) a.number("p")));
                return STensor.runtime(out, t.shape, t.dtype);
            });
        }
        def("torch.batch_norm", "input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled",
                this::batchNorm);
        // nn.LayerNorm's forward (traced and scripted), and what lstmx's TorchScript writer writes
        def("torch.layer_norm", "input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True", this::layerNorm);
    }

    // ---- Python values

    private Object toInt(Object v) {
        v = ScriptValues.resolve(v);
        if (v instanceof Long || v instanceof Sym) {
            return v;
        }
        if (v instanceof Double d) {
            return (long) (double) d;
        }
        if (v instanceof Boolean b) {
            return b ? 1L : 0L;
        }
        if (v instanceof STensor t && t.constant != null && t.constant.size() == 1) {
            return t.constant.dtype().isFloating() ? (long) t.constant.getFloat(0) : t.constant.getLong(0);
        }
        throw in.unsupported("int() of " + ScriptInterpreter.describe(v));
    }

    private Object length(Object v) {
        List<Object> items = ScriptInterpreter.items(v);
        if (items != null) {
            return (long) items.size();
        }
        if (v instanceof String s) {
            return (long) s.length();
        }
        if (v instanceof STensor t && t.rank() > 0) {
            return t.shape.get(0);
        }
        throw in.unsupported("len() of " + ScriptInterpreter.describe(v));
    }

    private static String format(String fmt, List<Object> args) {
        StringBuilder sb = new StringBuilder();
        int k = 0;
        for (int i = 0; i < fmt.length() && sb.length() < 4096; i++) {
            if (fmt.startsWith("{}", i)) {
                sb.append(k < args.size() ? String.valueOf(ScriptValues.resolve(args.get(k++))) : "{}");
                i++;
            } else {
                sb.append(fmt.charAt(i));
            }
        }
        return sb.toString();
    }

    private static boolean identical(Object a, Object b) {
        if (a == null || b == null) {
            return a == b;
        }
        return a == b || (a instanceof Boolean && a.equals(b));
    }

    Object index(Object v, Object key) {
        v = ScriptValues.resolve(v);
        key = ScriptValues.resolve(key);
        if (v == Poison.VALUE || key == Poison.VALUE) {
            return Poison.VALUE;
        }
        List<Object> items = ScriptInterpreter.items(v);
        if (items != null) {
            if (key instanceof Long i) {
                long at = i < 0 ? i + items.size() : i;
                if (at < 0 || at >= items.size()) {
                    throw in.bad("index " + i + " out of range of " + ScriptInterpreter.describe(v));
                }
                return items.get((int) at);
            }
            if (key instanceof SliceValue s) {
                int n = items.size();
                long lo = s.lower() == null ? 0 : clamp((Long) toInt(s.lower()), n);
                long hi = s.upper() == null ? n : clamp((Long) toInt(s.upper()), n);
                List<Object> out = new ArrayList<>(items.subList((int) lo, (int) Math.max(lo, hi)));
                if (v instanceof Py.Tuple) {
                    return new Py.Tuple(out);
                }
                Py.PyList l = new Py.PyList();
                out.forEach(l::add);
                return l;
            }
        }
        if (v instanceof Py.Dict d) {
            Object r = d.map.get(key);
            if (r == null && !d.map.containsKey(key)) {
                throw in.bad("key " + ScriptInterpreter.describe(key) + " is not in the dict");
            }
            return r;
        }
        if (v instanceof STensor t) {
            return tensorIndex(t, key);
        }
        throw in.unsupported("indexing " + ScriptInterpreter.describe(v) + " with " + ScriptInterpreter.describe(key));
    }

    /** {@code t[k]}, {@code t[a:b]}, {@code t[:, -1, :]}, {@code t[None]}: selects, slices and new axes, left to right. */
    private Object tensorIndex(STensor t, Object key) {
        List<Object> keys = key instanceof Py.Tuple tu ? tu.items : List.of(key == null ? NEW_AXIS : key);
        Object cur = t;
        int axis = 0;
        for (Object k0 : keys) {
            Object k = k0 == null ? NEW_AXIS : ScriptValues.resolve(k0);
            STensor c = (STensor) cur;
            if (k == NEW_AXIS) {
                cur = unsqueeze(c, axis);
                axis++;
            } else if (k instanceof SliceValue sv) {
                long step = sv.step() == null ? 1 : (Long) toInt(sv.step());
                cur = slice(c, axis, sv.lower(), sv.upper(), step);
                axis++;
            } else if (k instanceof Long || k instanceof Sym || k instanceof CellLoop.StepIndex) {
                cur = select(c, axis, k);
            } else {
                throw in.unsupported("indexing " + t + " with " + ScriptInterpreter.describe(k));
            }
        }
        return cur;
    }

    /** {@code ids < 0} of integer ids: only {@code torch.where} reads it. */
    record NegativeIds(STensor ids) {
    }

    /**
     * {@code x != value} of a run-time tensor and a number, reduced over the last axis by
     * {@code torch.any} when {@code any}: a boolean that {@code .to(float32)} makes the IR's
     * StepMask (1 where x differs from value, or some element of its last axis does; 0 elsewhere),
     * and the condition of a masked loop's {@code torch.where}.
     */
    record NotEqualOf(STensor x, float value, boolean any) {
        @Override
        public String toString() {
            return "a comparison (x != " + value + ") of run-time values, read only as a step mask (.to(float32), torch.any over the last axis)"
                    + " or a masked loop's torch.where condition";
        }
    }

    /** None in a subscript: a new axis of size 1. */
    private static final Object NEW_AXIS = new Object();

    private static long clamp(long i, int n) {
        long at = i < 0 ? i + n : i;
        return Math.max(0, Math.min(n, at));
    }

    Object unary(String op, Object v) {
        v = ScriptValues.resolve(v);
        if (v == Poison.VALUE) {
            return v;
        }
        switch (op) {
            case "not" -> {
                Boolean b = ScriptInterpreter.truth(v);
                if (b == null) {
                    throw in.unsupported("'not' of " + ScriptInterpreter.describe(v));
                }
                return !b;
            }
            case "-" -> {
                if (v instanceof Long l) {
                    if (l == Long.MIN_VALUE) {
                        throw in.bad("int -(" + l + ") overflows int64");
                    }
                    return -l;
                }
                if (v instanceof Double d) {
                    return -d;
                }
                if (v instanceof STensor t) {
                    return binary("*", t, -1.0);
                }
            }
            case "+" -> {
                return v;
            }
            default -> {
            }
        }
        throw in.unsupported("'" + op + "' of " + ScriptInterpreter.describe(v));
    }

    Object binary(String op, Object a, Object b) {
        a = ScriptValues.resolve(a);
        b = ScriptValues.resolve(b);
        if (a == Poison.VALUE || b == Poison.VALUE) {
            return Poison.VALUE;
        }
        if (a instanceof STensor || b instanceof STensor) {
            return tensorBinary(op, a, b);
        }
        if (a instanceof Long x && b instanceof Long y) {
            try {
                return intBinary(op, x, y);
            } catch (ArithmeticException e) {
                throw in.bad("int " + x + " " + op + " " + y + " overflows int64");
            }
        }
        if ((a instanceof Long || a instanceof Double) && (b instanceof Long || b instanceof Double)) {
            double x = ((Number) a).doubleValue();
            double y = ((Number) b).doubleValue();
            return switch (op) {
                case "+" -> x + y;
                case "-" -> x - y;
                case "*" -> x * y;
                case "/" -> x / y;
                case "//" -> Math.floor(x / y);
                default -> throw in.unsupported("float operator '" + op + "'");
            };
        }
        if (op.equals("+") && ScriptInterpreter.items(a) != null && ScriptInterpreter.items(b) != null) {
            long n = (long) ScriptInterpreter.items(a).size() + ScriptInterpreter.items(b).size();
            if (n > MAX_SEQUENCE) {
                throw in.bad("a list or tuple of more than " + MAX_SEQUENCE + " items");
            }
            Py.PyList l = new Py.PyList();
            ScriptInterpreter.items(a).forEach(l::add);
            ScriptInterpreter.items(b).forEach(l::add);
            return a instanceof Py.Tuple ? new Py.Tuple(l.items) : l;
        }
        if (op.equals("+") && a instanceof String x && b instanceof String y) {
            if ((long) x.length() + y.length() > MAX_SEQUENCE) {
                throw in.bad("a string of more than " + MAX_SEQUENCE + " characters");
            }
            return x + y;
        }
        throw in.unsupported("'" + op + "' of " + ScriptInterpreter.describe(a) + " and " + ScriptInterpreter.describe(b));
    }

    /** Most elements of constant zeros the code may make (they have no storage in the file). */
    static final long MAX_ZEROS = 1 << 24;

    /** Most items of a list or tuple, and characters of a string, the code may build by concatenation. */
    static final int MAX_SEQUENCE = 1 << 20;

    /** Python's int arithmetic within int64 (ArithmeticException on overflow). */
    private Object intBinary(String op, long x, long y) {
        return switch (op) {
            case "+" -> Math.addExact(x, y);
            case "-" -> Math.subtractExact(x, y);
            case "*" -> Math.multiplyExact(x, y);
            case "/" -> (double) x / y;
            case "//" -> {
                if (y == 0) {
                    throw in.bad("integer division by zero");
                }
                if (x == Long.MIN_VALUE && y == -1) {
                    throw new ArithmeticException("long overflow");
                }
                yield Math.floorDiv(x, y);
            }
            case "%" -> {
                if (y == 0) {
                    throw in.bad("integer modulo by zero");
                }
                yield Math.floorMod(x, y);
            }
            default -> throw in.unsupported("int operator '" + op + "'");
        };
    }

    /**
     * A comparison of Python values. Sizes known only at run time compare equal to what the code
     * checks them against (the symbol is bound or unified; see {@link Sym}).
     */
    Object compare(String op, Object a, Object b) {
        a = ScriptValues.resolve(a);
        b = ScriptValues.resolve(b);
        if (a == Poison.VALUE || b == Poison.VALUE) {
            return Poison.VALUE;
        }
        switch (op) {
            case "is" -> {
                return identical(a, b);
            }
            case "is not" -> {
                return !identical(a, b);
            }
            case "in", "not in" -> {
                List<Object> items = ScriptInterpreter.items(b);
                if (items == null) {
                    throw in.unsupported("'in' of " + ScriptInterpreter.describe(b));
                }
                boolean found = false;
                for (Object o : items) {
                    found |= Boolean.TRUE.equals(compare("==", a, o));
                }
                return op.equals("in") == found;
            }
            default -> {
            }
        }
        if (a instanceof STensor t && !t.dtype.isFloating() && op.equals("<") && Long.valueOf(0).equals(b)) {
            return new NegativeIds(t);
        }
        if (op.equals("!=") && a instanceof STensor t && t.isRuntime() && (b instanceof Long || b instanceof Double)) {
            // x != value: a step mask once cast to float (or reduced by torch.any first); the where of a masked loop
            double v = ((Number) b).doubleValue();
            if ((float) v != v) {
                throw in.unsupported("comparing a tensor with " + b + ", which a step mask's float value cannot hold exactly");
            }
            return new NotEqualOf(t, (float) v, false);
        }
        if (a instanceof STensor || b instanceof STensor) {
            throw in.unsupported("comparing tensors ('" + op + "'), which depends on the input's values");
        }
        if (op.equals("==") || op.equals("!=")) {
            Boolean eq = equal(a, b);
            if (eq == null) {
                throw in.unsupported("comparing " + ScriptInterpreter.describe(a) + " and " + ScriptInterpreter.describe(b));
            }
            return op.equals("==") == eq;
        }
        if (a instanceof Sym || b instanceof Sym) {
            throw in.unsupported("'" + op + "' of " + ScriptInterpreter.describe(a) + " and " + ScriptInterpreter.describe(b)
                    + " depends on the input's sizes");
        }
        if (a instanceof Number x && b instanceof Number y) {
            int c = Double.compare(x.doubleValue(), y.doubleValue());
            return switch (op) {
                case "<" -> c < 0;
                case "<=" -> c <= 0;
                case ">" -> c > 0;
                default -> c >= 0;
            };
        }
        throw in.unsupported("'" + op + "' of " + ScriptInterpreter.describe(a) + " and " + ScriptInterpreter.describe(b));
    }

    /** Python equality; symbols are unified or bound (see {@link #compare}); null when undecidable. */
    private Boolean equal(Object a, Object b) {
        return equal(a, b, 0);
    }

    private Boolean equal(Object a, Object b, int depth) {
        if (depth > Py.MAX_DEPTH) {
            // A list the code made hold itself (torch.append(l, l)) would recurse forever.
            throw in.bad("comparing values nested more than " + Py.MAX_DEPTH + " deep");
        }
        a = ScriptValues.resolve(a);
        b = ScriptValues.resolve(b);
        if (a instanceof Sym x && b instanceof Sym y) {
            x.unify(y);
            return true;
        }
        if (a instanceof Sym x && b instanceof Long y) {
            x.bind(y);
            return true;
        }
        if (b instanceof Sym y && a instanceof Long x) {
            y.bind(x);
            return true;
        }
        List<Object> la = ScriptInterpreter.items(a);
        List<Object> lb = ScriptInterpreter.items(b);
        if (la != null && lb != null) {
            if (la.size() != lb.size()) {
                return false;
            }
            for (int i = 0; i < la.size(); i++) {
                Boolean e = equal(la.get(i), lb.get(i), depth + 1);
                if (e == null || !e) {
                    return e;
                }
            }
            return true;
        }
        if (a instanceof Number x && b instanceof Number y) {
            return x.doubleValue() == y.doubleValue();
        }
        if (a == null || b == null || a instanceof String || a instanceof Boolean) {
            return Objects.equals(a, b);
        }
        return null;
    }

    // ---- dtypes

    static long dtypeCode(DType t) {
        return switch (t) {
            case FLOAT32 -> 6;
            case INT64 -> 4;
            case INT32 -> 3;
            case FLOAT16 -> 5;
            case BFLOAT16 -> 15;
        };
    }

    private DType dtype(long code) {
        return switch ((int) code) {
            case 6, 7 -> DType.FLOAT32;
            case 4 -> DType.INT64;
            case 3 -> DType.INT32;
            case 5 -> DType.FLOAT16;
            case 15 -> DType.BFLOAT16;
            default -> throw in.unsupported("tensor dtype code " + code + " (lstmx reads float, int32 and int64 tensors)");
        };
    }

    // ---- tensors

    /** A tensor as a run-time value: constants get a Constant layer (once), zeros of a symbolic shape cannot. */
    STensor runtime(STensor t) {
        if (t.isRuntime()) {
            return t;
        }
        STensor m = materialized.get(t);
        if (m != null) {
            return m;
        }
        Tensor c = t.constant;
        if (t.zeros) {
            int[] shape = new int[t.rank()];
            long n = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!(t.dim(i) instanceof Long l) || l > Integer.MAX_VALUE) {
                    throw in.unsupported("zeros of shape " + t.shape + ", known only when the model runs, used as a tensor"
                            + " (lstmx reads zeros as initial states)");
                }
                shape[i] = (int) (long) l;
                n = l < 0 ? n : Math.min(n * Math.max(l, 1), Long.MAX_VALUE / Integer.MAX_VALUE);
            }
            if (n > MAX_ZEROS) {
                // The file holds no data for them: a few bytes of code must not cost gigabytes.
                throw in.unsupported("zeros of shape " + t.shape + " used as a constant tensor (lstmx makes constant zeros of at most "
                        + MAX_ZEROS + " elements)");
            }
            c = Tensor.zeros(shape);
        }
        String out = in.value(in.scope() + "/const");
        in.add(new Layer.Constant(in.layerName(in.scope() + ".const"), out, c));
        m = STensor.runtime(out, t.shape, c.dtype());
        materialized.put(t, m);
        return m;
    }

    /** Demands rank {@code r} of a tensor; an input of another rank is guessed again. */
    void requireRank(STensor t, int r, String what) {
        if (t.rank() == r) {
            return;
        }
        if (t.input != null) {
            throw new ScriptInterpreter.Retry(t.input, new ScriptInterpreter.Guess(r, t.dtype));
        }
        throw in.bad(what + " needs a " + r + "-D tensor, got " + t);
    }

    /** Binds or checks that dimension {@code axis} of t is {@code size}. */
    void requireDim(STensor t, int axis, long size, String what) {
        Object d = t.dim(axis);
        if (d instanceof Sym s) {
            s.bind(size);
        } else if ((Long) d != size) {
            throw in.bad(what + " needs size " + size + " on axis " + axis + " of its input, got " + t);
        }
    }

    private static int axis(long a, int rank) {
        long r = a < 0 ? a + rank : a;
        if (r < 0 || r >= Math.max(rank, 1)) {
            throw LstmxException.badInput("axis " + a + " out of range for rank " + rank);
        }
        return (int) r;
    }

    private static int[] identityPerm(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        return p;
    }

    private static int[] ints(List<Object> l) {
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(l.get(i) instanceof Long v)) {
                throw LstmxException.unsupported("axis list " + l + " holds something other than ints");
            }
            out[i] = (int) (long) v;
        }
        return out;
    }

    private STensor emit(String kind, List<Object> shape, DType dtype, java.util.function.BiFunction<String, String, Layer> make) {
        String out = in.value(in.scope() + "/" + kind);
        in.add(make.apply(in.layerName(in.scope() + "." + kind), out));
        return STensor.runtime(out, shape, dtype);
    }

    private Object tensorBinary(String op, Object a, Object b) {
        Layer.Binary.Op bop = switch (op) {
            case "+" -> Layer.Binary.Op.ADD;
            case "-" -> Layer.Binary.Op.SUB;
            case "*" -> Layer.Binary.Op.MUL;
            case "/" -> Layer.Binary.Op.DIV;
            default -> throw in.unsupported("tensor operator '" + op + "'");
        };
        STensor x = operand(a);
        STensor y = operand(b);
        if (!x.isRuntime() && !y.isRuntime() && !x.zeros && !y.zeros) {
            throw in.unsupported("arithmetic on two constant tensors");
        }
        if (x.zeros && op.equals("+")) {
            return y;
        }
        if (y.zeros && (op.equals("+") || op.equals("-"))) {
            return x;
        }
        STensor rx = runtime(x);
        STensor ry = runtime(y);
        List<Object> shape = broadcast(rx.shape, ry.shape);
        return emit(bop.toString().toLowerCase(), shape, rx.dtype.isFloating() ? rx.dtype : ry.dtype,
                (n, o) -> new Layer.Binary(n, bop, rx.value, ry.value, o));
    }

    private STensor operand(Object v) {
        if (v instanceof STensor t) {
            if (t.input != null) {
                in.rankPinned.add(t.input);
            }
            return t;
        }
        if (v instanceof Long || v instanceof Double) {
            return STensor.constant(Tensor.scalar(((Number) v).floatValue()));
        }
        if (v instanceof Boolean bo) {
            return STensor.constant(Tensor.scalar(bo ? 1f : 0f));
        }
        throw in.unsupported("arithmetic with " + ScriptInterpreter.describe(v));
    }

    private List<Object> broadcast(List<Object> a, List<Object> b) {
        int n = Math.max(a.size(), b.size());
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Object da = i < n - a.size() ? 1L : ScriptValues.resolve(a.get(i - (n - a.size())));
            Object db = i < n - b.size() ? 1L : ScriptValues.resolve(b.get(i - (n - b.size())));
            if (Long.valueOf(1).equals(da)) {
                out.add(db);
            } else if (Long.valueOf(1).equals(db)) {
                out.add(da);
            } else {
                if (da instanceof Sym s && db instanceof Sym s2) {
                    s.unify(s2);
                } else if (da instanceof Sym s) {
                    s.bind((Long) db);
                } else if (db instanceof Sym s) {
                    s.bind((Long) da);
                } else if (!da.equals(db)) {
                    throw in.bad("shapes " + a + " and " + b + " do not broadcast");
                }
                out.add(da);
            }
        }
        return out;
    }

    private STensor linear(STensor x, STensor w, STensor b) {
        if (w.isRuntime() || (b != null && b.isRuntime())) {
            throw in.unsupported("torch.linear with weights computed from the inputs");
        }
        if (w.rank() != 2) {
            throw in.bad("torch.linear weight " + w.shape + " is not a matrix");
        }
        long outF = w.constant.dim(0);
        long inF = w.constant.dim(1);
        if (x.input != null && x.rank() == 3 && !x.dtype.isFloating()) {
            throw new ScriptInterpreter.Retry(x.input, new ScriptInterpreter.Guess(x.rank(), DType.FLOAT32));
        }
        requireDim(x, -1, inF, "torch.linear");
        STensor rx = runtime(x);
        List<Object> shape = new ArrayList<>(x.shape.subList(0, x.rank() - 1));
        shape.add(outF);
        Tensor bias = b == null ? null : b.constant.rank() == 1 ? b.constant : null;
        if (b != null && bias == null) {
            throw in.unsupported("torch.linear bias of shape " + b.shape);
        }
        String base = in.scope().equals("model") ? "linear" : in.scope();
        String out = in.value(base + "/out");
        in.add(new Layer.Dense(in.layerName(base), rx.value, out, w.constant, bias));
        return STensor.runtime(out, shape, DType.FLOAT32);
    }

    private STensor matmul(STensor a, STensor b) {
        if (!b.isRuntime() && b.rank() == 2 && a.isRuntime()) {
            return linear(a, STensor.constant(permute(b.constant, 1, 0)), null);
        }
        STensor ra = runtime(a);
        STensor rb = runtime(b);
        if (ra.rank() < 2 || rb.rank() < 2) {
            throw in.unsupported("torch.matmul of vectors");
        }
        List<Object> batch = broadcast(ra.shape.subList(0, ra.rank() - 2), rb.shape.subList(0, rb.rank() - 2));
        Object k1 = ra.dim(-1);
        Object k2 = rb.dim(-2);
        if (k1 instanceof Long l1 && k2 instanceof Long l2 && !l1.equals(l2)) {
            throw in.bad("torch.matmul of " + ra.shape + " and " + rb.shape);
        }
        List<Object> shape = new ArrayList<>(batch);
        shape.add(ra.dim(-2));
        shape.add(rb.dim(-1));
        return emit("matmul", shape, DType.FLOAT32, (n, o) -> new Layer.MatMul(n, ra.value, rb.value, o));
    }

    private Object embedding(Args a) {
        STensor w = a.tensor("weight");
        STensor idx = a.tensor("indices");
        if (w.isRuntime() || w.rank() != 2) {
            throw in.unsupported("torch.embedding with a table computed from the inputs");
        }
        ScriptInterpreter.Guess g = idx.input == null ? null : in.guesses.get(idx.input);
        boolean rankGuessed = g == null || g.rank() <= 0;
        if (idx.input != null && (idx.dtype.isFloating() || (rankGuessed && idx.rank() != 2))) {
            // Token ids: [batch, time] (or [time, batch]) integers, unless an operator said otherwise.
            throw new ScriptInterpreter.Retry(idx.input, new ScriptInterpreter.Guess(rankGuessed ? 2 : g.rank(), DType.INT64));
        }
        if (idx.dtype.isFloating()) {
            throw in.bad("torch.embedding indices are " + idx.dtype + " values, not integers");
        }
        STensor r = runtime(idx);
        List<Object> shape = new ArrayList<>(idx.shape);
        shape.add((long) w.constant.dim(1));
        String base = in.scope().equals("model") ? "embedding" : in.scope();
        String out = in.value(base + "/out");
        in.add(new Layer.Embedding(in.layerName(base), r.value, out, w.constant));
        return STensor.runtime(out, shape, DType.FLOAT32);
    }

    Object select(STensor t, long dim, Object index) {
        index = ScriptValues.resolve(index);
        int ax = axis(dim, t.rank());
        if (in.loop != null && (index instanceof CellLoop.StepIndex || t.isRuntime() && in.loop.isStep(t))) {
            return in.loop.select(t, ax, index);
        }
        if (!(index instanceof Long i)) {
            throw in.unsupported("selecting position " + ScriptInterpreter.describe(index) + " of a tensor");
        }
        List<Object> shape = new ArrayList<>(t.shape);
        shape.remove(ax);
        if (t.constant != null) {
            Tensor s = sliceConstant(t.constant, ax, i, i + 1, 1);
            int[] dims = Arrays.stream(s.shape()).toArray();
            int[] nd = new int[dims.length - 1];
            for (int k = 0, j = 0; k < dims.length; k++) {
                if (k != ax) {
                    nd[j++] = dims[k];
                }
            }
            return STensor.constant(s.reshape(nd));
        }
        if (t.zeros) {
            return STensor.zeros(shape, t.dtype);
        }
        return emit("select", shape, t.dtype, (n, o) -> new Layer.Select(n, t.value, o, ax, i));
    }

    private Object slice(STensor t, long dim, Object start, Object end, long step) {
        int ax = axis(dim, t.rank());
        long s = start == null ? 0 : (Long) toInt(start);
        Object e0 = end == null ? Long.MAX_VALUE : toInt(end);
        if (!(e0 instanceof Long e)) {
            throw in.unsupported("slicing to " + ScriptInterpreter.describe(e0));
        }
        if (step <= 0) {
            throw in.unsupported("slice step " + step);
        }
        Object size = t.dim(ax);
        if (s == 0 && e >= Long.MAX_VALUE / 2 && step == 1) {
            return t;
        }
        if (size instanceof Long n && s == 0 && e >= n && step == 1) {
            return t;
        }
        List<Object> shape = new ArrayList<>(t.shape);
        if (size instanceof Long n) {
            long lo = clampL(s, n);
            long hi = clampL(e, n);
            shape.set(ax, Math.max(0, (hi - lo + step - 1) / step));
        } else if (s < 0 && e >= Long.MAX_VALUE / 2) {
            // x[..., -k:]: the last k positions (a shorter axis would give fewer; inputs are taken to be long enough).
            shape.set(ax, (-s + step - 1) / step);
        } else if (s >= 0 && e >= 0 && e < Long.MAX_VALUE / 2) {
            shape.set(ax, Math.max(0, (e - s + step - 1) / step));
        } else {
            shape.set(ax, new Sym(in.scope() + "_slice_d" + ax));
        }
        if (t.constant != null) {
            return STensor.constant(sliceConstant(t.constant, ax, s, e, step));
        }
        STensor r = runtime(t);
        return emit("slice", shape, t.dtype, (n, o) -> new Layer.Slice(n, r.value, o, ax, s, e, step));
    }

    private static long clampL(long i, long n) {
        long at = i < 0 ? i + n : i;
        return Math.max(0, Math.min(n, at));
    }

    private STensor permute(STensor t, int[] perm) {
        if (perm.length != t.rank()) {
            if (t.input != null) {
                throw new ScriptInterpreter.Retry(t.input, new ScriptInterpreter.Guess(perm.length, t.dtype));
            }
            throw in.bad("permute " + Arrays.toString(perm) + " of " + t);
        }
        List<Object> shape = new ArrayList<>();
        List<Integer> p = new ArrayList<>();
        for (int a : perm) {
            int ax = axis(a, t.rank());
            shape.add(t.shape.get(ax));
            p.add(ax);
        }
        if (t.constant != null) {
            return STensor.constant(permute(t.constant, p.stream().mapToInt(Integer::intValue).toArray()));
        }
        if (t.zeros) {
            return STensor.zeros(shape, t.dtype);
        }
        boolean identity = true;
        for (int i = 0; i < p.size(); i++) {
            identity &= p.get(i) == i;
        }
        if (identity) {
            return t;
        }
        return emit("transpose", shape, t.dtype, (n, o) -> new Layer.Transpose(n, t.value, o, p));
    }

    private STensor reshape(STensor t, List<Object> target) {
        List<Long> spec = new ArrayList<>();
        List<Object> shape = new ArrayList<>();
        int unknown = 0;
        for (int i = 0; i < target.size(); i++) {
            Object d = ScriptValues.resolve(target.get(i));
            if (d instanceof Long l && l >= 0) {
                spec.add(l);
                shape.add(l);
                if (l == 0) {
                    throw in.unsupported("reshape to a size-0 axis");
                }
            } else if (d instanceof Long l && l == -1) {
                spec.add(-1L);
                unknown++;
                shape.add(null);
            } else if (d instanceof Sym s && i < t.rank() && t.dim(i) instanceof Sym s2 && s.same(s2)) {
                spec.add(0L);
                shape.add(s);
            } else if (d instanceof Sym s) {
                spec.add(-1L);
                unknown++;
                shape.add(s);
            } else {
                throw in.unsupported("reshape to " + target);
            }
        }
        if (unknown > 1) {
            throw in.unsupported("reshape to " + target + ": more than one size known only when the model runs");
        }
        if (t.input != null && unknown == 0 && !spec.contains(0L)) {
            // A reshape to sizes all known takes an input of any rank with that many elements.
            in.rankFree.add(t.input);
        } else if (t.input != null) {
            in.rankPinned.add(t.input);
        }
        // The one unknown size: the remaining elements when everything else is known.
        for (int i = 0; i < shape.size(); i++) {
            if (shape.get(i) == null) {
                shape.set(i, remaining(t.shape, shape));
            }
        }
        if (t.constant != null) {
            int[] dims = new int[shape.size()];
            for (int i = 0; i < dims.length; i++) {
                if (!(shape.get(i) instanceof Long l)) {
                    throw in.unsupported("reshape of a constant to " + target);
                }
                dims[i] = (int) (long) l;
            }
            return STensor.constant(t.constant.reshape(dims));
        }
        STensor r = runtime(t);
        return emit("reshape", shape, t.dtype, (n, o) -> new Layer.Reshape(n, r.value, o, spec));
    }

    /** The size left for one -1 entry: product(from) / product(known of to), symbolic unless all known. */
    private Object remaining(List<Object> from, List<Object> to) {
        long total = 1;
        List<Sym> syms = new ArrayList<>();
        for (Object d : from) {
            Object r = ScriptValues.resolve(d);
            if (r instanceof Long l) {
                total *= l;
            } else {
                syms.add((Sym) r);
            }
        }
        long known = 1;
        for (Object d : to) {
            Object r = ScriptValues.resolve(d);
            if (r instanceof Long l) {
                known *= l;
            } else if (r instanceof Sym s) {
                syms.removeIf(x -> x.same(s));
            }
        }
        if (syms.isEmpty() && known != 0 && total % known == 0) {
            return total / known;
        }
        if (syms.size() == 1 && total == known) {
            return syms.get(0);
        }
        return new Sym(in.scope() + "_reshape_d");
    }

    private STensor flatten(STensor t, long start, long end) {
        if (t.rank() == 0) {
            return t;
        }
        int s = axis(start, t.rank());
        int e = axis(end, t.rank());
        if (s == e) {
            return t;
        }
        List<Object> target = new ArrayList<>();
        for (int i = 0; i < s; i++) {
            target.add(t.shape.get(i));
        }
        target.add(-1L);
        for (int i = e + 1; i < t.rank(); i++) {
            target.add(t.shape.get(i));
        }
        return reshape(t, target);
    }

    private STensor squeeze(STensor t, Long dim) {
        List<Integer> axes = new ArrayList<>();
        if (dim == null) {
            for (int i = 0; i < t.rank(); i++) {
                if (Long.valueOf(1).equals(t.dim(i))) {
                    axes.add(i);
                }
            }
        } else {
            int ax = axis(dim, t.rank());
            Object d = t.dim(ax);
            if (Long.valueOf(1).equals(d)) {
                axes.add(ax);
            } else if (d instanceof Sym) {
                throw in.unsupported("squeeze of axis " + ax + " of " + t + ", whose size is known only when the model runs");
            }
        }
        if (axes.isEmpty()) {
            return t;
        }
        List<Object> shape = new ArrayList<>();
        for (int i = 0; i < t.rank(); i++) {
            if (!axes.contains(i)) {
                shape.add(t.shape.get(i));
            }
        }
        if (t.zeros) {
            return STensor.zeros(shape, t.dtype);
        }
        if (t.constant != null) {
            return STensor.constant(t.constant.reshape(shape.stream().mapToInt(o -> (int) (long) (Long) o).toArray()));
        }
        if (in.loop != null && in.loop.isStep(t)) {
            throw in.unsupported("squeeze inside a loop over time steps");
        }
        return emit("squeeze", shape, t.dtype, (n, o) -> new Layer.Squeeze(n, t.value, o, axes));
    }

    private STensor unsqueeze(STensor t, long dim) {
        int ax = (int) (dim < 0 ? dim + t.rank() + 1 : dim);
        if (ax < 0 || ax > t.rank()) {
            throw in.bad("unsqueeze at " + dim + " of " + t);
        }
        List<Object> shape = new ArrayList<>(t.shape);
        shape.add(ax, 1L);
        if (t.zeros) {
            return STensor.zeros(shape, t.dtype);
        }
        if (t.constant != null) {
            return STensor.constant(t.constant.reshape(shape.stream().mapToInt(o -> (int) (long) (Long) o).toArray()));
        }
        return emit("unsqueeze", shape, t.dtype, (n, o) -> new Layer.Unsqueeze(n, t.value, o, List.of(ax)));
    }

    /** torch.chunk: equal parts along an axis of known size (the last may be smaller). */
    private Object chunk(STensor t, long chunks, long dim) {
        int ax = axis(dim, t.rank());
        if (!(t.dim(ax) instanceof Long n)) {
            throw in.unsupported("torch.chunk of axis " + ax + " of " + t + ", whose size is known only when the model runs");
        }
        if (chunks <= 0 || chunks > 65_536) {
            throw in.bad("torch.chunk into " + chunks + " parts");
        }
        long size = (n + chunks - 1) / chunks;
        List<Object> parts = new ArrayList<>();
        for (long start = 0; start < n; start += size) {
            parts.add(slice(t, ax, start, Math.min(n, start + size), 1));
        }
        return new Py.Tuple(parts);
    }

    private Object cat(List<Object> items, long dim) {
        if (in.loop != null) {
            in.loop.refuseSequenceList(items);
        }
        List<STensor> ts = new ArrayList<>();
        for (Object o : items) {
            if (!(o instanceof STensor t)) {
                throw in.bad("torch.cat of " + ScriptInterpreter.describe(o));
            }
            ts.add(t);
        }
        if (ts.isEmpty()) {
            throw in.bad("torch.cat of no tensors");
        }
        if (ts.size() == 1) {
            return ts.get(0);
        }
        int ax = axis(dim, ts.get(0).rank());
        List<Object> shape = new ArrayList<>(ts.get(0).shape);
        Object total = 0L;
        List<String> names = new ArrayList<>();
        for (STensor t : ts) {
            if (t.rank() != shape.size()) {
                throw in.bad("torch.cat of tensors of ranks " + shape.size() + " and " + t.rank());
            }
            Object d = t.dim(ax);
            total = total instanceof Long a && d instanceof Long b ? (Object) (a + b) : new Sym(in.scope() + "_cat_d");
            names.add(runtime(t).value);
        }
        shape.set(ax, total);
        return emit("concat", shape, ts.get(0).dtype, (n, o) -> new Layer.Concat(n, names, o, ax));
    }

    private Object stack(List<Object> items, long dim) {
        if (in.loop != null || CellLoop.isSequence(items)) {
            Object s = CellLoop.stack(in, items, dim);
            if (s != null) {
                return s;
            }
        }
        List<Object> unsq = new ArrayList<>();
        for (Object o : items) {
            if (!(o instanceof STensor t)) {
                throw in.bad("torch.stack of " + ScriptInterpreter.describe(o));
            }
            unsq.add(unsqueeze(t, dim < 0 ? dim + t.rank() + 1 : dim));
        }
        return cat(unsq, dim < 0 ? dim : dim);
    }

    private Object to(Args a) {
        if (a.get("x") instanceof NotEqualOf ne) {
            for (String p : List.of("a", "b")) {
                if (a.get(p) instanceof Long code) {
                    DType to = dtype(code);
                    if (to != DType.FLOAT32 || code != 6) {
                        throw in.unsupported("a step mask (x != value) cast to " + to + " (code " + code + "); lstmx reads it cast to float32");
                    }
                    STensor x = ne.x();
                    List<Object> shape = new ArrayList<>(x.shape);
                    if (ne.any()) {
                        shape.remove(shape.size() - 1);
                    }
                    return emit("mask", shape, DType.FLOAT32, (n, o) -> new Layer.StepMask(n, x.value, o, ne.value(), ne.any()));
                }
            }
            throw in.unsupported("a step mask (x != value) used as a tensor without .to(float32)");
        }
        STensor t = a.tensor("x");
        for (String p : List.of("a", "b")) {
            if (a.get(p) instanceof Long code) {
                return cast(t, dtype(code));
            }
        }
        return t;
    }

    /**
     * torch.flip on axis 0 of a run-time tensor (a reverse direction's sequence, or its mask): the
     * IR's Slice(start -1, step -1), remembered so that a loop over the flipped steps is read as a
     * reverse recurrent layer over the original; flipping a loop's reversed outputs gives them back
     * in order.
     */
    private Object flip(Object x, List<Object> dims) {
        if (x instanceof CellLoop.FlippedSequence fs) {
            if (dims.size() != 1 || !Long.valueOf(0).equals(dims.get(0))) {
                throw in.unsupported("torch.flip of a reverse loop's outputs on dims " + dims + " (lstmx reads a flip of the time axis, 0)");
            }
            return fs.y();
        }
        if (!(x instanceof STensor t) || !t.isRuntime()) {
            throw in.unsupported("torch.flip of " + ScriptInterpreter.describe(x) + " (lstmx reads a flip of a run-time tensor's axis 0)");
        }
        if (dims.size() != 1 || !(dims.get(0) instanceof Long d)) {
            throw in.unsupported("torch.flip on dims " + dims + " (lstmx reads a flip of one axis)");
        }
        int ax = axis(d, t.rank());
        if (in.loop != null && in.loop.isStep(t)) {
            throw in.unsupported("torch.flip of a step's values inside the loop over time steps");
        }
        STensor out = emit("flip", t.shape, t.dtype, (n, o) -> new Layer.Slice(n, t.value, o, ax, -1, Long.MIN_VALUE, -1));
        if (ax == 0) {
            in.flipped.put(out.value, t);
        }
        return out;
    }

    private STensor cast(STensor t, DType to) {
        if (t.dtype == to || (t.dtype.isFloating() && to.isFloating())) {
            return t;
        }
        if (t.input != null) {
            // The input's type, not its rank: keep what was guessed (0 = not pinned yet).
            ScriptInterpreter.Guess g = in.guesses.get(t.input);
            throw new ScriptInterpreter.Retry(t.input, new ScriptInterpreter.Guess(g == null ? 0 : g.rank(), to));
        }
        STensor r = runtime(t);
        return emit("cast", t.shape, to, (n, o) -> new Layer.Cast(n, r.value, o, to));
    }

    private STensor activation(STensor t, ActivationFn fn, String kind) {
        STensor r = runtime(t);
        return emit(kind, t.shape, t.dtype, (n, o) -> new Layer.Activation(n, r.value, o, fn));
    }

    private STensor softmax(STensor t, long dim, boolean log) {
        STensor r = runtime(t);
        int ax = axis(dim, t.rank());
        return emit(log ? "log_softmax" : "softmax", t.shape, t.dtype, (n, o) -> new Layer.Softmax(n, r.value, o, ax, log));
    }

    private Object batchNorm(Args a) {
        if (a.flag("training")) {
            throw in.unsupported("torch.batch_norm in training mode (save the model after eval())");
        }
        STensor x = a.tensor("input");
        STensor mean = a.tensor("running_mean");
        STensor var = a.tensor("running_var");
        if (mean.constant == null || var.constant == null) {
            throw in.unsupported("torch.batch_norm without running statistics");
        }
        float[] m = mean.constant.toFloatArray();
        float[] v = var.constant.toFloatArray();
        float[] w = a.get("weight") == null ? null : a.tensor("weight").constant.toFloatArray();
        float[] b = a.get("bias") == null ? null : a.tensor("bias").constant.toFloatArray();
        double eps = a.number("eps");
        float[] scale = new float[m.length];
        float[] shift = new float[m.length];
        for (int i = 0; i < m.length; i++) {
            double s = (w == null ? 1.0 : w[i]) / Math.sqrt(v[i] + eps);
            scale[i] = (float) s;
            shift[i] = (float) ((b == null ? 0.0 : b[i]) - m[i] * s);
        }
        requireDim(x, 1, m.length, "torch.batch_norm");
        // Channels are axis 1: [N, C] broadcasts [C]; [N, C, L] needs [C, 1].
        int[] cshape = x.rank() == 2 ? new int[] {m.length} : new int[] {m.length, 1};
        if (x.rank() != 2 && x.rank() != 3) {
            throw in.unsupported("torch.batch_norm of a " + x.rank() + "-D tensor");
        }
        Object scaled = binary("*", x, STensor.constant(Tensor.ofFloats(cshape, scale)));
        return binary("+", scaled, STensor.constant(Tensor.ofFloats(cshape, shift)));
    }

    /**
     * torch.layer_norm over the last axis (the IR's LayerNorm): normalized_shape of one size, the
     * input's last; weight and bias constants of that size, or None (1 and 0). Statistics over
     * several trailing axes are refused.
     */
    private Object layerNorm(Args a) {
        STensor x = a.tensor("input");
        List<Object> dims = a.list("normalized_shape");
        if (dims.size() != 1 || !(dims.get(0) instanceof Long)) {
            throw in.unsupported("torch.layer_norm over " + dims.size() + " trailing axes " + dims
                    + " (lstmx's LayerNorm normalises the last axis only)");
        }
        long f = (Long) dims.get(0);
        if (x.rank() < 1) {
            throw in.bad("torch.layer_norm of a scalar");
        }
        requireDim(x, x.rank() - 1, f, "torch.layer_norm");
        Tensor given = layerNormParam(a, "weight", f);
        Tensor gamma = given != null ? given : Layer.LayerNorm.unitScale((int) f); // elementwise_affine=False
        Tensor beta = layerNormParam(a, "bias", f);
        double eps = a.number("eps");
        STensor r = runtime(x);
        return emit("layer_norm", x.shape, x.dtype, (n, o) -> new Layer.LayerNorm(n, r.value, o, (float) eps, gamma, beta));
    }

    /** A layer norm's weight or bias: a constant [f], or null for None. */
    private Tensor layerNormParam(Args a, String name, long f) {
        if (a.get(name) == null) {
            return null;
        }
        STensor t = a.tensor(name);
        if (t.constant == null) {
            throw in.unsupported("torch.layer_norm with a " + name + " computed from the inputs");
        }
        if (t.constant.rank() != 1 || t.constant.dim(0) != f) {
            throw in.bad("torch.layer_norm " + name + " " + java.util.Arrays.toString(t.constant.shape()) + " is not [" + f + "]");
        }
        return t.constant.dtype().isFloating() ? t.constant.withDType(DType.FLOAT32) : t.constant;
    }

    // ---- recurrent

    private Object recurrent(TorchRecurrent.Kind kind, Args a) {
        STensor x = a.tensor("input");
        Object hx = a.get("hx");
        // The packed overload is (data, batch_sizes, hx, params, ...): a tensor where the padded one has its states or weights.
        boolean packed = kind == TorchRecurrent.Kind.LSTM ? hx instanceof STensor : a.get("params") instanceof STensor;
        if (packed) {
            throw in.unsupported("torch." + kind.op + " on a PackedSequence (pack_padded_sequence); lstmx reads padded tensors");
        }
        List<Object> states = kind == TorchRecurrent.Kind.LSTM ? a.list("hx") : List.of(hx);
        List<Object> ps = a.list("params");
        List<Tensor> params = new ArrayList<>();
        for (Object o : ps) {
            if (!(o instanceof STensor t) || t.constant == null) {
                throw in.unsupported("torch." + kind.op + " with weights computed from the inputs");
            }
            params.add(t.constant);
        }
        boolean batchFirst = a.flag("batch_first");
        int layers = (int) a.integer("num_layers");
        // Training mode differs from eval only by the dropout between stacked layers.
        if (a.flag("train") && layers > 1 && a.number("dropout") != 0) {
            throw in.unsupported("torch." + kind.op + " in training mode with dropout " + a.get("dropout")
                    + " between its layers (save the model after eval())");
        }
        boolean bidi = a.flag("bidirectional");
        boolean bias = a.flag("has_biases");
        requireRank(x, 3, "torch." + kind.op);
        if (x.input != null && !x.dtype.isFloating()) {
            throw new ScriptInterpreter.Retry(x.input, new ScriptInterpreter.Guess(3, DType.FLOAT32));
        }
        if (params.size() < 2 || params.get(0).rank() != 2) {
            throw in.bad("torch." + kind.op + " weights are not [gates*H, I] matrices");
        }
        int inputSize = params.get(0).dim(1);
        requireDim(x, 2, inputSize, "torch." + kind.op);
        Object batch = x.dim(batchFirst ? 0 : 1);
        Object time = x.dim(batchFirst ? 1 : 0);
        if (batch instanceof Sym s) {
            s.name("batch");
        }
        if (time instanceof Sym s) {
            s.name("time");
        }
        STensor rx = runtime(x);
        long stack = (long) layers * (bidi ? 2 : 1);
        String h0 = state(states, 0, kind, stack);
        String c0 = kind == TorchRecurrent.Kind.LSTM ? state(states, 1, kind, stack) : null;
        String base = in.scope().equals("model") ? kind.op : in.scope();
        TorchRecurrent.Outputs o = TorchRecurrent.emit(in, kind, base, rx.value, h0, c0, params, bias, layers, bidi, batchFirst,
                inputSize, in.where());
        int width = o.width();
        int hidden = o.hidden();
        int dirs = bidi ? 2 : 1;
        // PyTorch also refuses initial states of another width: h is [L D, B, proj or H], c [L D, B, H]
        bindStateWidth(states, 0, width, kind);
        if (kind == TorchRecurrent.Kind.LSTM) {
            bindStateWidth(states, 1, hidden, kind);
        }
        List<Object> yShape = batchFirst ? List.of(batch, time, (long) dirs * width) : List.of(time, batch, (long) dirs * width);
        STensor y = STensor.runtime(o.y(), yShape, DType.FLOAT32);
        STensor h = STensor.runtime(o.h(), List.of((long) layers * dirs, batch, (long) width), DType.FLOAT32);
        if (kind == TorchRecurrent.Kind.LSTM) {
            STensor c = STensor.runtime(o.c(), List.of((long) layers * dirs, batch, (long) hidden), DType.FLOAT32);
            return new Py.Tuple(List.of(y, h, c));
        }
        return new Py.Tuple(List.of(y, h));
    }

    /**
     * Initial state k of a recurrent operator: null for zeros, else its run-time value, whose first
     * axis is bound to {@code stack} (layers x directions: PyTorch refuses any other size), so that
     * a traced module's h0 input gets that size as its scripted twin does (writers cut it per layer).
     */
    private String state(List<Object> states, int k, TorchRecurrent.Kind kind, long stack) {
        if (k >= states.size()) {
            throw in.bad("torch." + kind.op + " without initial state " + k);
        }
        if (!(states.get(k) instanceof STensor t)) {
            throw in.bad("torch." + kind.op + " initial state " + ScriptInterpreter.describe(states.get(k)));
        }
        if (t.zeros) {
            return null;
        }
        requireRank(t, 3, "torch." + kind.op + " initial state");
        requireDim(t, 0, stack, "torch." + kind.op + " initial state");
        return runtime(t).value;
    }

    /** Binds (or checks) the last axis of initial state k, when it is given, to {@code width}. */
    private void bindStateWidth(List<Object> states, int k, int width, TorchRecurrent.Kind kind) {
        if (states.get(k) instanceof STensor t && !t.zeros) {
            requireDim(t, 2, width, "torch." + kind.op + " initial state");
        }
    }

    private Object cell(TorchRecurrent.Kind kind, Args a) {
        if (in.loop != null) {
            return in.loop.cell(kind, a);
        }
        throw in.unsupported("torch." + kind.op + "_cell outside a loop over time steps (lstmx reads cells in such loops)");
    }

    // ---- constant folding

    /** A constant tensor's axes permuted (float or integer data). */
    static Tensor permute(Tensor t, int... perm) {
        int[] shape = t.shape();
        int rank = shape.length;
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            out[i] = shape[perm[i]];
        }
        int[] strides = new int[rank];
        int s = 1;
        for (int i = rank - 1; i >= 0; i--) {
            strides[i] = s;
            s *= shape[i];
        }
        int n = t.size();
        boolean floats = t.dtype().isFloating();
        float[] fsrc = floats ? t.toFloatArray() : null;
        long[] lsrc = floats ? null : t.toLongArray();
        float[] f = floats ? new float[n] : null;
        long[] l = floats ? null : new long[n];
        int[] idx = new int[rank];
        for (int o = 0; o < n; o++) {
            int src = 0;
            for (int i = 0; i < rank; i++) {
                src += idx[i] * strides[perm[i]];
            }
            if (floats) {
                f[o] = fsrc[src];
            } else {
                l[o] = lsrc[src];
            }
            for (int i = rank - 1; i >= 0; i--) {
                if (++idx[i] < out[i]) {
                    break;
                }
                idx[i] = 0;
            }
        }
        return floats ? Tensor.ofFloats(out, f) : Tensor.ofLongs(t.dtype(), out, l);
    }

    /** A constant tensor sliced along one axis (ONNX clamping). */
    static Tensor sliceConstant(Tensor t, int axis, long start, long end, long step) {
        int[] shape = t.shape();
        long n = shape[axis];
        long lo = clampL(start, n);
        long hi = clampL(end, n);
        int count = (int) Math.max(0, (hi - lo + step - 1) / step);
        int outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= shape[i];
        }
        int inner = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        int[] out = shape.clone();
        out[axis] = count;
        boolean floats = t.dtype().isFloating();
        float[] fsrc = floats ? t.toFloatArray() : null;
        long[] lsrc = floats ? null : t.toLongArray();
        float[] f = floats ? new float[outer * count * inner] : null;
        long[] l = floats ? null : new long[outer * count * inner];
        int o = 0;
        for (int a = 0; a < outer; a++) {
            for (int c = 0; c < count; c++) {
                int src = (int) ((a * n + lo + c * step) * inner);
                for (int k = 0; k < inner; k++, o++) {
                    if (floats) {
                        f[o] = fsrc[src + k];
                    } else {
                        l[o] = lsrc[src + k];
                    }
                }
            }
        }
        return floats ? Tensor.ofFloats(out, f) : Tensor.ofLongs(t.dtype(), out, l);
    }
}
