package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Every global a pickle may call or instantiate, and what lstmx makes of it instead: no global is
 * ever imported, resolved or run. A pickle names a global (GLOBAL, STACK_GLOBAL) and then calls it
 * (REDUCE, INST, OBJ) or makes an instance of it (NEWOBJ, NEWOBJ_EX); naming alone is harmless, so
 * the checks are made where it is used.
 *
 * <p>Calls (REDUCE, INST, OBJ) are answered for these only:
 * <ul>
 *   <li>{@code collections.OrderedDict}, {@code builtins.set}, {@code builtins.frozenset} (also as
 *       {@code __builtin__.*}, Python 2's name): an empty container, or one filled from a list;</li>
 *   <li>{@code torch._utils._rebuild_tensor}, {@code _rebuild_tensor_v2}, {@code _rebuild_tensor_v3}:
 *       a {@link TensorRef} (a strided view of a storage; nothing is read yet);</li>
 *   <li>{@code torch._utils._rebuild_parameter}, {@code _rebuild_parameter_with_state}: the tensor
 *       itself (requires_grad, hooks and state are dropped); {@code _rebuild_from_type_v2} when the
 *       function it names is one of these and the type is {@code torch.Tensor} or
 *       {@code torch.nn.parameter.Parameter};</li>
 *   <li>{@code torch.device} (a {@link Py.Device}), {@code torch.Size} (a tuple);</li>
 *   <li>{@code copyreg._reconstructor(cls, object, None)} (protocols 0 and 1): an attribute bag of cls;</li>
 *   <li>TorchScript's typed containers, {@code torch.jit._pickle.build_tensorlist},
 *       {@code build_intlist}, {@code build_doublelist}, {@code build_boollist} (the list itself) and
 *       {@code restore_type_tag(value, type)} (the value).</li>
 * </ul>
 * Instances (NEWOBJ, NEWOBJ_EX, INST and OBJ of a class without arguments) are made for
 * {@code collections.OrderedDict} and for <em>attribute bag</em> classes: a pickled nn.Module is
 * {@code NEWOBJ(cls, ())} then {@code BUILD(__dict__)}, so its instance is read as the class's name
 * and the attributes BUILD sets ({@link Py.Obj}). A bag class is named like a class ({@code
 * module.Name}: identifiers, capitalised name), lives under {@code torch.nn} if it is torch's, and
 * is not from a module of the Python runtime (TorchScript's {@code __torch__.*} classes are bags too) or of pickling libraries (builtins, os, posix,
 * subprocess, sys, importlib, pickle, functools, numpy, ...; any {@code _private} top-level module
 * but {@code __main__}). Bags are inert either way; the rules exist so that a pickle naming a
 * callable such as {@code posix.system} or {@code builtins.eval} is refused instead of becoming a
 * bag. Any other call or instance is refused with BAD_INPUT naming the global (torch's rebuilders of
 * quantized, sparse or nested tensors: UNSUPPORTED).
 */
final class AllowList {
    private AllowList() {
    }

    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern MODULE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*");

    /** Top-level modules whose classes are never taken for attribute bags. */
    private static final Set<String> NOT_BAGS = Set.of("builtins", "__builtin__", "os", "posix", "nt", "sys", "subprocess",
            "shutil", "socket", "io", "importlib", "pickle", "cPickle", "marshal", "types", "ctypes", "code", "codeop", "runpy",
            "pty", "commands", "webbrowser", "multiprocessing", "threading", "signal", "tempfile", "pathlib", "glob", "functools",
            "operator", "copyreg", "copy_reg", "pydoc", "timeit", "trace", "pdb", "bdb", "platform", "asyncio", "urllib", "http",
            "ftplib", "smtplib", "telnetlib", "zipimport", "pkgutil", "site", "sysconfig", "distutils", "setuptools", "inspect",
            "numpy", "pandas", "dill", "joblib", "cloudpickle", "collections", "typing", "weakref", "gc", "ast", "dis", "imp");

    static boolean isIdentifier(String s) {
        return s.length() <= 256 && IDENTIFIER.matcher(s).matches();
    }

    static boolean isModuleName(String s) {
        return s.length() <= 512 && MODULE.matcher(s).matches();
    }

    /** Whether instances of {@code g} are read as attribute bags (see the class comment). */
    static boolean isBagClass(Py.Global g) {
        String m = g.module();
        String root = m.contains(".") ? m.substring(0, m.indexOf('.')) : m;
        if (root.equals("__torch__") && isModuleName(m) && isIdentifier(g.name())) {
            // TorchScript archives name their module classes __torch__.<path>, in any case; any name is inert.
            return true;
        }
        if (!isModuleName(m) || !isIdentifier(g.name()) || !Character.isUpperCase(g.name().charAt(0))) {
            return false;
        }
        if (root.equals("torch")) {
            return m.startsWith("torch.nn.");
        }
        if (root.startsWith("_") && !root.equals("__main__")) {
            return false;
        }
        return !NOT_BAGS.contains(root);
    }

    private static boolean is(Py.Global g, String module, String name) {
        return g.module().equals(module) && g.name().equals(name);
    }

    private static boolean isBuiltin(Py.Global g, String name) {
        return (g.module().equals("builtins") || g.module().equals("__builtin__")) && g.name().equals(name);
    }

    private static LstmxException refused(Py.Global g, String op) {
        if (g.module().equals("torch._utils") && g.name().startsWith("_rebuild_")) {
            return LstmxException.unsupported("global '" + g.qualified() + "' (" + op + ") rebuilds a kind of tensor lstmx does not read"
                    + " (quantized, sparse, nested or subclass tensors)");
        }
        return LstmxException.badInput("global '" + g.qualified() + "' (" + op + ") is not on lstmx's allow-list of torch.save globals;"
                + " refused, nothing from the file was run");
    }

    /** REDUCE (and INST/OBJ of a callable): {@code f(*args)} for the callables above, else refused. */
    static Object call(Py.Global f, Py.Tuple args, String op) {
        if (is(f, "collections", "OrderedDict")) {
            Py.Dict d = new Py.Dict(true);
            if (args.size() == 1 && args.get(0) != null) {
                for (Object pair : items(args.get(0), f)) {
                    List<Object> kv = items(pair, f);
                    if (kv.size() != 2) {
                        throw LstmxException.badInput(f.qualified() + " from an item of " + kv.size() + " values, not a key and a value");
                    }
                    d.put(kv.get(0), kv.get(1));
                }
            } else {
                arity(f, args, 0);
            }
            return d;
        }
        if (isBuiltin(f, "set") || isBuiltin(f, "frozenset")) {
            Py.PySet s = new Py.PySet();
            if (args.size() == 1) {
                items(args.get(0), f).forEach(s::add);
            } else {
                arity(f, args, 0);
            }
            return s;
        }
        if (f.module().equals("torch._utils")) {
            switch (f.name()) {
                case "_rebuild_tensor" -> {
                    arity(f, args, 4);
                    return tensor(f, args, null);
                }
                case "_rebuild_tensor_v2" -> {
                    if (args.size() < 6 || args.size() > 7) {
                        arity(f, args, 6);
                    }
                    return tensor(f, args, null);
                }
                case "_rebuild_tensor_v3" -> {
                    if (args.size() < 7 || args.size() > 8) {
                        arity(f, args, 7);
                    }
                    if (!(args.get(6) instanceof Py.Global dt) || StorageType.ofDtype(dt) == null) {
                        throw LstmxException.unsupported(f.qualified() + " with dtype " + describe(args.get(6)) + ", which lstmx does not read");
                    }
                    return tensor(f, args, StorageType.ofDtype(dt));
                }
                case "_rebuild_parameter", "_rebuild_parameter_with_state" -> {
                    if (args.size() < 3 || args.size() > 4) {
                        arity(f, args, 3);
                    }
                    if (!(args.get(0) instanceof TensorRef t)) {
                        throw LstmxException.badInput(f.qualified() + " of a " + Py.typeName(args.get(0)) + ", not a tensor");
                    }
                    return t;
                }
                case "_rebuild_from_type_v2" -> {
                    arity(f, args, 4);
                    if (!(args.get(0) instanceof Py.Global inner) || !inner.module().equals("torch._utils")
                            || !inner.name().startsWith("_rebuild_tensor")) {
                        throw LstmxException.badInput(f.qualified() + " calling " + describe(args.get(0)) + ", which is not a torch tensor rebuilder");
                    }
                    if (!(args.get(1) instanceof Py.Global type) || !(is(type, "torch", "Tensor") || is(type, "torch._tensor", "Tensor")
                            || is(type, "torch.nn.parameter", "Parameter"))) {
                        throw LstmxException.unsupported(f.qualified() + " of type " + describe(args.get(1))
                                + " (tensor subclasses are not read)");
                    }
                    if (!(args.get(2) instanceof Py.Tuple inner2)) {
                        throw LstmxException.badInput(f.qualified() + " with arguments " + describe(args.get(2)) + ", not a tuple");
                    }
                    return call(inner, inner2, op);
                }
                default -> throw refused(f, op);
            }
        }
        if (f.module().equals("torch.jit._pickle")) {
            switch (f.name()) {
                case "build_tensorlist", "build_intlist", "build_doublelist", "build_boollist" -> {
                    arity(f, args, 1);
                    if (!(args.get(0) instanceof Py.PyList)) {
                        throw LstmxException.badInput(f.qualified() + " of a " + Py.typeName(args.get(0)) + ", not a list");
                    }
                    return args.get(0);
                }
                case "restore_type_tag" -> {
                    arity(f, args, 2);
                    return args.get(0);
                }
                default -> throw refused(f, op);
            }
        }
        if (is(f, "torch", "device")) {
            if (args.size() < 1 || args.size() > 2 || !(args.get(0) instanceof String type)
                    || (args.size() == 2 && !(args.get(1) instanceof Long))) {
                throw LstmxException.badInput("torch.device with arguments that are not a str and an optional int");
            }
            return new Py.Device(type, args.size() == 2 ? (Long) args.get(1) : null);
        }
        if (is(f, "torch", "Size")) {
            arity(f, args, 1);
            return new Py.Tuple(items(args.get(0), f));
        }
        if (is(f, "copyreg", "_reconstructor") || is(f, "copy_reg", "_reconstructor")) {
            arity(f, args, 3);
            if (!(args.get(0) instanceof Py.Global cls) || !(args.get(1) instanceof Py.Global base) || !isBuiltin(base, "object")
                    || args.get(2) != null) {
                throw LstmxException.badInput(f.qualified() + " other than (class, object, None): refused, nothing from the file was run");
            }
            return newObject(cls, new Py.Tuple(List.of()), null, op);
        }
        throw refused(f, op);
    }

    /** NEWOBJ / NEWOBJ_EX: {@code cls.__new__(cls, *args, **kwargs)}; an empty OrderedDict or an attribute bag, else refused. */
    static Object newObject(Py.Global cls, Py.Tuple args, Py.Dict kwargs, String op) {
        boolean noArgs = args.size() == 0 && (kwargs == null || kwargs.map.isEmpty());
        if (is(cls, "collections", "OrderedDict") && noArgs) {
            return new Py.Dict(true);
        }
        if (isBagClass(cls)) {
            if (!noArgs) {
                throw LstmxException.badInput(op + " of '" + cls.qualified() + "' with arguments; an nn.Module is pickled without any,"
                        + " and nothing else is rebuilt");
            }
            return new Py.Obj(cls);
        }
        throw refused(cls, op);
    }

    /**
     * INST and OBJ (protocols 0 and 1): {@code cls(*args)}. A class without arguments is made as
     * NEWOBJ makes it; anything else is a call.
     */
    static Object instantiate(Py.Global g, Py.Tuple args, String op) {
        if (args.size() == 0 && (isBagClass(g) || is(g, "collections", "OrderedDict"))) {
            return newObject(g, args, null, op);
        }
        return call(g, args, op);
    }

    /**
     * BUILD: an attribute bag gets the state's entries as attributes (a dict, or a
     * (dict, slots) pair); an OrderedDict keeps them as attributes too (a state_dict's
     * {@code _metadata}). Anything else has no state lstmx reads.
     */
    static void build(Object obj, Object state) {
        if (obj instanceof Py.Obj bag) {
            if (state instanceof Py.Tuple t && t.size() == 2) {
                setAll(bag, t.get(0));
                setAll(bag, t.get(1));
            } else {
                setAll(bag, state);
            }
            return;
        }
        if (obj instanceof Py.Dict d && state instanceof Py.Dict s) {
            for (var e : s.map.entrySet()) {
                d.setAttribute(attributeName(e.getKey()), e.getValue());
            }
            return;
        }
        throw LstmxException.badInput("BUILD of a " + Py.typeName(obj) + " with a " + Py.typeName(state) + " (only modules and dicts take state)");
    }

    private static void setAll(Py.Obj bag, Object state) {
        if (state == null) {
            return;
        }
        if (!(state instanceof Py.Dict d)) {
            throw LstmxException.badInput("BUILD of '" + bag.cls.qualified() + "' with a " + Py.typeName(state) + ", not a dict of attributes");
        }
        for (var e : d.map.entrySet()) {
            bag.set(attributeName(e.getKey()), e.getValue());
        }
    }

    private static String attributeName(Object key) {
        if (key instanceof String s) {
            return s;
        }
        throw LstmxException.badInput("an attribute named by a " + Py.typeName(key) + ", not a str");
    }

    /** The rebuilt tensor: arguments (storage, offset, size, stride, ...), all checked for type and sign. */
    private static TensorRef tensor(Py.Global f, Py.Tuple args, StorageType dtype) {
        if (!(args.get(0) instanceof StorageRef s)) {
            throw LstmxException.badInput(f.qualified() + " of a " + Py.typeName(args.get(0)) + ", not a storage");
        }
        long offset = nonNegative(args.get(1), f, "storage offset");
        long[] size = longs(args.get(2), f, "size");
        long[] stride = longs(args.get(3), f, "stride");
        if (size.length != stride.length) {
            throw LstmxException.badInput(f.qualified() + " with " + size.length + " sizes but " + stride.length + " strides");
        }
        StorageType type = dtype != null ? dtype : s.type();
        if (dtype != null && s.type() != StorageType.BYTE && s.type() != dtype) {
            throw LstmxException.badInput(f.qualified() + " of a " + dtype.dtypeName() + " tensor over a " + s.type().dtypeName() + " storage");
        }
        return new TensorRef(s, type, offset, size, stride);
    }

    private static long[] longs(Object o, Py.Global f, String what) {
        List<Object> items = o instanceof Py.Tuple t ? t.items : null;
        if (items == null) {
            throw LstmxException.badInput(f.qualified() + " " + what + " is a " + Py.typeName(o) + ", not a tuple");
        }
        if (items.size() > 32) {
            throw LstmxException.badInput(f.qualified() + " " + what + " of rank " + items.size() + " (at most 32)");
        }
        long[] l = new long[items.size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = nonNegative(items.get(i), f, what);
        }
        return l;
    }

    private static long nonNegative(Object o, Py.Global f, String what) {
        if (o instanceof Long v && v >= 0) {
            return v;
        }
        throw LstmxException.badInput(f.qualified() + " " + what + " " + describe(o) + " is not a non-negative int");
    }

    private static List<Object> items(Object o, Py.Global f) {
        if (o instanceof Py.PyList l) {
            return new ArrayList<>(l.items);
        }
        if (o instanceof Py.Tuple t) {
            return t.items;
        }
        if (o instanceof Py.PySet s) {
            return new ArrayList<>(s.items);
        }
        throw LstmxException.badInput(f.qualified() + " from a " + Py.typeName(o) + ", not a list or tuple");
    }

    private static void arity(Py.Global f, Py.Tuple args, int n) {
        if (args.size() != n) {
            throw LstmxException.badInput(f.qualified() + " with " + args.size() + " arguments, expected " + n);
        }
    }

    /** A value for a message: small atoms as they are, anything else by its type. */
    static String describe(Object o) {
        if (o instanceof Long || o instanceof Boolean || o instanceof Double) {
            return String.valueOf(o);
        }
        if (o instanceof String s) {
            return "'" + (s.length() > 64 ? s.substring(0, 64) + "..." : s) + "'";
        }
        if (o instanceof Py.Global g) {
            return "'" + g.qualified() + "'";
        }
        return "a " + Py.typeName(o);
    }
}
