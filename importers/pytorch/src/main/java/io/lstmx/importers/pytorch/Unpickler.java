package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A pickle reader that runs nothing: the opcodes of protocols 0-5 that torch.save and Python
 * write for data (PyTorch writes protocol 2 unless told otherwise) build the inert values of
 * {@link Py}; every global the pickle calls or instantiates goes through {@link AllowList}, which
 * refuses all but the few torch.save needs. Persistent ids (torch's storages) are handed to the
 * {@link Host}.
 *
 * <p>Bounded against hostile files: the stack, the memo and the nesting of marks and values have
 * limits; every length is checked against the bytes left before anything of that size is
 * allocated; text lines are capped; integers are capped at a few kilobytes. Each error names the
 * source and the byte offset of the opcode at fault.
 */
final class Unpickler {
    /** Values on the stack at once; a state_dict needs a few dozen. */
    static final int MAX_STACK = 1 << 20;
    /** Memo entries; torch.save memoizes each value once, a large state_dict has thousands. */
    static final int MAX_MEMO = 1 << 20;
    /** Open MARKs at once: their nesting follows the nesting of the values being built. */
    static final int MAX_MARKS = Py.MAX_DEPTH + 16;
    /** Longest text line (protocol 0 numbers, GLOBAL and INST names). */
    static final int MAX_LINE = 1 << 12;
    /** Largest integer, in bytes (LONG1 / LONG4): torch's magic number has 10. */
    static final int MAX_INT_BYTES = 1 << 10;

    /** What the pickle cannot say by itself: what a persistent id stands for. */
    interface Host {
        /**
         * The value a persistent id stands for (torch: a storage).
         *
         * @param pid the id as unpickled
         * @return the value put on the stack
         */
        Object persistentLoad(Object pid);
    }

    private final PickleSource in;
    private final Host host;
    private final List<Object> stack = new ArrayList<>();
    /** Stack sizes at each open MARK. */
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    /** Offset of the opcode being run, for messages. */
    private long opAt;

    Unpickler(PickleSource in, Host host) {
        this.in = in;
        this.host = host;
    }

    /** Reads one pickle, up to and including its STOP, and returns its value. */
    Object load() {
        while (true) {
            opAt = in.position();
            int op = in.read();
            try {
                if (op == '.') {
                    if (stack.isEmpty()) {
                        throw LstmxException.badInput("STOP with an empty stack");
                    }
                    return stack.get(stack.size() - 1);
                }
                step(op);
            } catch (LstmxException e) {
                if (String.valueOf(e.getMessage()).startsWith(in.where)) {
                    throw e;
                }
                throw e.withContext(in.where + ": pickle opcode 0x" + Integer.toHexString(op) + " at byte " + opAt);
            }
        }
    }

    private void step(int op) {
        switch (op) {
            case 0x80 -> { // PROTO
                int v = in.read();
                if (v > 5) {
                    throw LstmxException.badInput("pickle protocol " + v + " (lstmx reads 0 to 5)");
                }
            }
            case 0x95 -> { // FRAME: a length hint only
                long n = readLong8();
                if (n < 0 || n > in.remaining()) {
                    throw LstmxException.badInput("frame of " + n + " bytes, but " + in.remaining() + " remain");
                }
            }
            case '(' -> {
                if (marks.size() >= MAX_MARKS) {
                    throw LstmxException.badInput("more than " + MAX_MARKS + " nested MARKs (a recursion bomb?)");
                }
                marks.add(stack.size());
            }
            case '0' -> { // POP: a MARK on top is popped instead
                if (!marks.isEmpty() && marks.get(marks.size() - 1) == stack.size()) {
                    marks.remove(marks.size() - 1);
                } else {
                    pop();
                }
            }
            case '1' -> popMark(); // POP_MARK
            case '2' -> push(peek()); // DUP
            case 'N' -> push(null);
            case 0x88 -> push(Boolean.TRUE);
            case 0x89 -> push(Boolean.FALSE);
            case 'K' -> push((long) in.read());
            case 'M' -> push((long) (in.read() | in.read() << 8));
            case 'J' -> push((long) readInt4());
            case 0x8a -> push(readLong(in.read()));
            case 0x8b -> {
                int n = readInt4();
                if (n < 0) {
                    throw LstmxException.badInput("LONG4 with negative length " + n);
                }
                push(readLong(n));
            }
            case 'I' -> push(textInt(readLine()));
            case 'L' -> {
                String s = readLine();
                push(textInt(s.endsWith("L") ? s.substring(0, s.length() - 1) : s));
            }
            case 'G' -> push(Double.longBitsToDouble(readLongBigEndian()));
            case 'F' -> {
                String s = readLine();
                try {
                    push(Double.parseDouble(s));
                } catch (NumberFormatException e) {
                    throw LstmxException.badInput("FLOAT '" + s + "' is not a number");
                }
            }
            case 'S' -> push(quoted(readLine())); // protocol 0 str
            case 'V' -> push(escaped(readLine(), true)); // protocol 0 unicode (raw-unicode-escape)
            case 'X' -> push(utf8(in.read(readUint4())));
            case 0x8c -> push(utf8(in.read(in.read())));
            case 0x8d -> push(utf8(in.read(readLong8())));
            case 'T' -> push(py2String(in.read(readInt4Length())));
            case 'U' -> push(py2String(in.read(in.read())));
            case 'B' -> push(new Py.Bytes(in.read(readUint4())));
            case 'C' -> push(new Py.Bytes(in.read(in.read())));
            case 0x8e, 0x96 -> push(new Py.Bytes(in.read(readLong8()))); // BINBYTES8, BYTEARRAY8
            case ')' -> push(new Py.Tuple(List.of()));
            case 0x85 -> push(tuple(1));
            case 0x86 -> push(tuple(2));
            case 0x87 -> push(tuple(3));
            case 't' -> push(new Py.Tuple(popMark()));
            case ']' -> push(new Py.PyList());
            case 'l' -> {
                Py.PyList l = new Py.PyList();
                popMark().forEach(l::add);
                push(l);
            }
            case '}' -> push(new Py.Dict(false));
            case 'd' -> {
                Py.Dict d = new Py.Dict(false);
                putPairs(d, popMark());
                push(d);
            }
            case 0x8f -> push(new Py.PySet()); // EMPTY_SET
            case 0x91 -> { // FROZENSET
                Py.PySet s = new Py.PySet();
                popMark().forEach(s::add);
                push(s);
            }
            case 0x90 -> { // ADDITEMS
                List<Object> items = popMark();
                if (!(peek() instanceof Py.PySet s)) {
                    throw LstmxException.badInput("ADDITEMS to a " + Py.typeName(peek()) + ", not a set");
                }
                items.forEach(s::add);
            }
            case 'a' -> {
                Object v = pop();
                list(peek(), "APPEND").add(v);
            }
            case 'e' -> {
                List<Object> items = popMark();
                Py.PyList l = list(peek(), "APPENDS");
                items.forEach(l::add);
            }
            case 's' -> {
                Object v = pop();
                Object k = pop();
                dict(peek(), "SETITEM").put(k, v);
            }
            case 'u' -> {
                List<Object> items = popMark();
                putPairs(dict(peek(), "SETITEMS"), items);
            }
            case 'q' -> memoPut(in.read());
            case 'r' -> memoPut(readUint4());
            case 'p' -> memoPut(textIndex(readLine()));
            case 0x94 -> memoPut(memo.size()); // MEMOIZE
            case 'h' -> push(memoGet(in.read()));
            case 'j' -> push(memoGet(readUint4()));
            case 'g' -> push(memoGet(textIndex(readLine())));
            case 'c' -> push(global(readLine(), readLine()));
            case 0x93 -> { // STACK_GLOBAL
                Object name = pop();
                Object module = pop();
                if (!(module instanceof String m) || !(name instanceof String n)) {
                    throw LstmxException.badInput("STACK_GLOBAL of a " + Py.typeName(module) + " and a " + Py.typeName(name) + ", not two str");
                }
                push(global(m, n));
            }
            case 'R' -> { // REDUCE: callable(*args)
                Object args = pop();
                Object f = pop();
                push(AllowList.call(callee(f, "REDUCE"), tupleArg(args, "REDUCE"), "REDUCE"));
            }
            case 0x81 -> { // NEWOBJ: cls.__new__(cls, *args)
                Object args = pop();
                Object cls = pop();
                push(AllowList.newObject(callee(cls, "NEWOBJ"), tupleArg(args, "NEWOBJ"), null, "NEWOBJ"));
            }
            case 0x92 -> { // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs)
                Object kwargs = pop();
                Object args = pop();
                Object cls = pop();
                if (!(kwargs instanceof Py.Dict kw)) {
                    throw LstmxException.badInput("NEWOBJ_EX keyword arguments are a " + Py.typeName(kwargs) + ", not a dict");
                }
                push(AllowList.newObject(callee(cls, "NEWOBJ_EX"), tupleArg(args, "NEWOBJ_EX"), kw, "NEWOBJ_EX"));
            }
            case 'i' -> { // INST: module, name, then the arguments since the MARK
                Py.Global g = global(readLine(), readLine());
                push(AllowList.instantiate(g, new Py.Tuple(popMark()), "INST"));
            }
            case 'o' -> { // OBJ: the class and the arguments since the MARK
                List<Object> items = popMark();
                if (items.isEmpty()) {
                    throw LstmxException.badInput("OBJ without a class");
                }
                Py.Global g = callee(items.get(0), "OBJ");
                push(AllowList.instantiate(g, new Py.Tuple(items.subList(1, items.size())), "OBJ"));
            }
            case 'b' -> { // BUILD: obj.__setstate__(state), or its __dict__ updated
                Object state = pop();
                AllowList.build(peek(), state);
            }
            case 'Q' -> push(host.persistentLoad(pop())); // BINPERSID
            case 'P' -> push(host.persistentLoad(readLine())); // PERSID
            default -> throw LstmxException.badInput("unknown or unsupported pickle opcode 0x" + Integer.toHexString(op)
                    + (op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : "")
                    + (op == 0x82 || op == 0x83 || op == 0x84 ? " (extension registry codes are never followed)" : "")
                    + (op == 0x97 || op == 0x98 ? " (out-of-band buffers)" : ""));
        }
    }

    // ---- stack

    private void push(Object o) {
        if (stack.size() >= MAX_STACK) {
            throw LstmxException.badInput("more than " + MAX_STACK + " values on the pickle stack");
        }
        stack.add(o);
    }

    private Object pop() {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() <= floor) {
            throw LstmxException.badInput(stack.isEmpty() ? "pop from an empty stack" : "pop across a MARK");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek() {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() <= floor) {
            throw LstmxException.badInput(stack.isEmpty() ? "the stack is empty" : "no value above the MARK");
        }
        return stack.get(stack.size() - 1);
    }

    /** Everything above the innermost MARK, removed with the MARK. */
    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw LstmxException.badInput("no MARK to pop to");
        }
        int at = marks.remove(marks.size() - 1);
        List<Object> view = stack.subList(at, stack.size());
        List<Object> items = new ArrayList<>(view);
        view.clear();
        return items;
    }

    private Py.Tuple tuple(int n) {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) {
            items[i] = pop();
        }
        return new Py.Tuple(java.util.Arrays.asList(items));
    }

    private static void putPairs(Py.Dict d, List<Object> items) {
        if (items.size() % 2 != 0) {
            throw LstmxException.badInput("an odd number (" + items.size() + ") of keys and values for a dict");
        }
        for (int i = 0; i < items.size(); i += 2) {
            d.put(items.get(i), items.get(i + 1));
        }
    }

    private static Py.PyList list(Object o, String op) {
        if (o instanceof Py.PyList l) {
            return l;
        }
        throw LstmxException.badInput(op + " to a " + Py.typeName(o) + ", not a list");
    }

    private static Py.Dict dict(Object o, String op) {
        if (o instanceof Py.Dict d) {
            return d;
        }
        throw LstmxException.badInput(op + " on a " + Py.typeName(o) + ", not a dict");
    }

    private static Py.Global callee(Object o, String op) {
        if (o instanceof Py.Global g) {
            return g;
        }
        throw LstmxException.badInput(op + " of a " + Py.typeName(o) + ", which is no global (nothing else is ever called)");
    }

    private static Py.Tuple tupleArg(Object o, String op) {
        if (o instanceof Py.Tuple t) {
            return t;
        }
        throw LstmxException.badInput(op + " arguments are a " + Py.typeName(o) + ", not a tuple");
    }

    // ---- memo

    private void memoPut(long index) {
        if (!memo.containsKey(index) && memo.size() >= MAX_MEMO) {
            throw LstmxException.badInput("more than " + MAX_MEMO + " memo entries");
        }
        memo.put(index, peek());
    }

    private Object memoGet(long index) {
        if (!memo.containsKey(index)) {
            throw LstmxException.badInput("memo entry " + index + " was never stored");
        }
        return memo.get(index);
    }

    // ---- globals

    /** A name only: module and name must read as Python identifiers (no path, no spaces). */
    private static Py.Global global(String module, String name) {
        if (!AllowList.isModuleName(module) || !AllowList.isIdentifier(name)) {
            throw LstmxException.badInput("a global named '" + module + "' '" + name + "', which is no Python module and name");
        }
        return new Py.Global(module, name);
    }

    // ---- scalars

    private int readInt4() {
        return in.read() | in.read() << 8 | in.read() << 16 | in.read() << 24;
    }

    /** An unsigned 4-byte little-endian length or index. */
    private long readUint4() {
        return readInt4() & 0xffffffffL;
    }

    private long readInt4Length() {
        int n = readInt4();
        if (n < 0) {
            throw LstmxException.badInput("negative length " + n);
        }
        return n;
    }

    private long readLong8() {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v |= (long) in.read() << (8 * i);
        }
        if (v < 0) {
            throw LstmxException.badInput("length " + Long.toUnsignedString(v) + " does not fit a signed 64-bit integer");
        }
        return v;
    }

    private long readLongBigEndian() {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = v << 8 | in.read();
        }
        return v;
    }

    /** LONG1 / LONG4: n bytes of little-endian two's complement. */
    private Object readLong(long n) {
        if (n > MAX_INT_BYTES) {
            throw LstmxException.badInput("an integer of " + n + " bytes (at most " + MAX_INT_BYTES + " are read)");
        }
        byte[] le = in.read(n);
        if (le.length == 0) {
            return 0L;
        }
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
        }
        return normalise(new BigInteger(be));
    }

    private static Object normalise(BigInteger b) {
        return b.bitLength() < 64 ? (Object) b.longValue() : b;
    }

    /** Protocol 0 INT: "01" and "00" are True and False. */
    private static Object textInt(String s) {
        if (s.equals("01")) {
            return Boolean.TRUE;
        }
        if (s.equals("00")) {
            return Boolean.FALSE;
        }
        try {
            return normalise(new BigInteger(s.strip()));
        } catch (NumberFormatException e) {
            throw LstmxException.badInput("INT '" + s + "' is not an integer");
        }
    }

    private static long textIndex(String s) {
        try {
            long v = Long.parseLong(s.strip());
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw LstmxException.badInput("memo index '" + s + "' is no non-negative integer");
        }
    }

    /** A protocol 0 text line without its newline, at most {@link #MAX_LINE} bytes, ASCII. */
    private String readLine() {
        StringBuilder sb = new StringBuilder();
        while (true) {
            int b = in.read();
            if (b == '\n') {
                return sb.toString();
            }
            if (b >= 0x80 || (b < 0x20 && b != '\t' && b != '\r')) {
                throw LstmxException.badInput("byte 0x" + Integer.toHexString(b) + " in a text line");
            }
            if (sb.length() >= MAX_LINE) {
                throw LstmxException.badInput("a text line longer than " + MAX_LINE + " bytes");
            }
            sb.append((char) b);
        }
    }

    /** A protocol 0 STRING: a quoted Python literal. */
    private static String quoted(String line) {
        String s = line.strip();
        if (s.length() < 2 || (s.charAt(0) != '\'' && s.charAt(0) != '"') || s.charAt(s.length() - 1) != s.charAt(0)) {
            throw LstmxException.badInput("STRING argument is not quoted");
        }
        return escaped(s.substring(1, s.length() - 1), false);
    }

    /** Backslash escapes: those of Python 2's string_escape, and \\u / \\U of raw-unicode-escape. */
    private static String escaped(String s, boolean rawUnicode) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\' || i + 1 >= s.length()) {
                sb.append(c);
                continue;
            }
            char e = s.charAt(++i);
            int hex = e == 'x' && !rawUnicode ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
            if (hex > 0) {
                int cp;
                try {
                    cp = Integer.parseUnsignedInt(s.substring(i + 1, i + 1 + hex), 16);
                } catch (NumberFormatException | IndexOutOfBoundsException ex) {
                    throw LstmxException.badInput("escape \\" + e + " without " + hex + " hex digits");
                }
                if (!Character.isValidCodePoint(cp)) {
                    throw LstmxException.badInput("escape of code point " + cp);
                }
                sb.appendCodePoint(cp);
                i += hex;
                continue;
            }
            if (rawUnicode) {
                sb.append('\\').append(e);
                continue;
            }
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case '0' -> sb.append('\0');
                case '\\', '\'', '"' -> sb.append(e);
                default -> sb.append('\\').append(e);
            }
        }
        return sb.toString();
    }

    private static String utf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw LstmxException.badInput("a str of " + b.length + " bytes that is not UTF-8");
        }
    }

    /** A Python 2 str: torch.load decodes them as UTF-8; bytes that are not UTF-8 are read as Latin-1. */
    private static String py2String(byte[] b) {
        try {
            CharBuffer c = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b));
            return c.toString();
        } catch (CharacterCodingException e) {
            return new String(b, StandardCharsets.ISO_8859_1);
        }
    }
}
