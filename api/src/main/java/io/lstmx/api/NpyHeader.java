package io.lstmx.api;

import io.lstmx.errors.LstmxException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The header of a .npy file, parsed as what NumPy's format specification says it is: the repr of
 * a Python dict literal with exactly the keys {@code 'descr'}, {@code 'fortran_order'} and
 * {@code 'shape'}, in any order, with single- or double-quoted strings, optional trailing commas,
 * and blanks anywhere between tokens. A small tokenizer and recursive-descent parser, linear in the
 * header's length and bounded in depth, never a regular expression (which could be fooled by a
 * key inside a string or take exponential time).
 *
 * @param descr        the dtype string, e.g. "&lt;f4" (a structured dtype, a list, is refused)
 * @param fortranOrder whether the data is in column-major order
 * @param shape        the dimensions, each &ge; 0
 */
public record NpyHeader(String descr, boolean fortranOrder, long[] shape) {
    /** Longest header accepted (NumPy itself refuses headers over 10,000 bytes by default). */
    public static final int MAX_HEADER_BYTES = 1 << 16;
    /** Deepest nesting of brackets accepted. */
    static final int MAX_DEPTH = 32;

    /**
     * Parses the header text (already decoded: latin-1 for versions 1 and 2, UTF-8 for 3).
     * Malformed headers, missing or extra keys, and structured, object or sub-array dtypes
     * are BAD_INPUT naming {@code where}.
     *
     * @param text  the header between the length field and the data, padding and newline included
     * @param where the file, for messages
     * @return the three values
     */
    public static NpyHeader parse(String text, String where) {
        Object literal = new Parser(text, where).parseWhole();
        if (!(literal instanceof Map<?, ?> dict)) {
            throw bad(where, "the header is not a dict literal");
        }
        for (Object k : dict.keySet()) {
            if (!(k instanceof String s) || !(s.equals("descr") || s.equals("fortran_order") || s.equals("shape"))) {
                throw bad(where, "the header has an unexpected key " + show(k) + "; expected exactly 'descr', 'fortran_order' and 'shape'");
            }
        }
        for (String k : List.of("descr", "fortran_order", "shape")) {
            if (!dict.containsKey(k)) {
                throw bad(where, "the header has no '" + k + "'");
            }
        }
        Object descr = dict.get("descr");
        if (descr instanceof List<?>) {
            throw bad(where, "structured dtype " + show(descr) + " (record fields) is not a plain numeric array");
        }
        if (!(descr instanceof String d)) {
            throw bad(where, "'descr' must be a dtype string, got " + show(descr));
        }
        Object fortran = dict.get("fortran_order");
        if (!(fortran instanceof Boolean f)) {
            throw bad(where, "'fortran_order' must be True or False, got " + show(fortran));
        }
        Object shape = dict.get("shape");
        if (!(shape instanceof Tuple t)) {
            throw bad(where, "'shape' must be a tuple of sizes, got " + show(shape));
        }
        long[] dims = new long[t.items().size()];
        for (int i = 0; i < dims.length; i++) {
            Object e = t.items().get(i);
            if (!(e instanceof Long n) || n < 0) {
                throw bad(where, "'shape' entry " + i + " must be a size >= 0, got " + show(e));
            }
            dims[i] = n;
        }
        return new NpyHeader(d, f, dims);
    }

    private static LstmxException bad(String where, String what) {
        return LstmxException.badInput(where + ": bad .npy header: " + what);
    }

    /** A short rendering of a parsed value for messages. */
    private static String show(Object o) {
        String s = o instanceof String str ? "'" + str + "'" : String.valueOf(o);
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }

    /** A Python tuple (lists are kept as {@link List}s so the two can be told apart). */
    record Tuple(List<Object> items) {
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("(");
            for (int i = 0; i < items.size(); i++) {
                sb.append(i > 0 ? ", " : "").append(items.get(i) instanceof String s ? "'" + s + "'" : items.get(i));
            }
            return sb.append(items.size() == 1 ? ",)" : ")").toString();
        }
    }

    /** Recursive descent over the literal grammar NumPy's repr produces (and ast.literal_eval accepts for it). */
    private static final class Parser {
        private final String s;
        private final String where;
        private int pos;
        private int depth;

        Parser(String s, String where) {
            this.s = s;
            this.where = where;
        }

        Object parseWhole() {
            if (s.length() > MAX_HEADER_BYTES) {
                throw bad(where, "it is " + s.length() + " characters long, more than " + MAX_HEADER_BYTES);
            }
            Object v = value();
            skipBlanks();
            if (pos != s.length()) {
                throw error("unexpected text after the dict");
            }
            return v;
        }

        private LstmxException error(String what) {
            return bad(where, what + " at character " + pos);
        }

        private void skipBlanks() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                    pos++;
                } else {
                    break;
                }
            }
        }

        private Object value() {
            skipBlanks();
            if (pos >= s.length()) {
                throw error("the header ends early");
            }
            char c = s.charAt(pos);
            switch (c) {
                case '{':
                    return dict();
                case '(':
                    return sequence('(', ')', true);
                case '[':
                    return sequence('[', ']', false);
                case '\'':
                case '"':
                    return string(c);
                default:
                    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
                        return number();
                    }
                    if (Character.isLetter(c) || c == '_') {
                        return word();
                    }
                    throw error("unexpected character '" + printable(c) + "'");
            }
        }

        private void enter() {
            if (++depth > MAX_DEPTH) {
                throw error("brackets nested deeper than " + MAX_DEPTH);
            }
        }

        private Map<Object, Object> dict() {
            enter();
            pos++; // '{'
            Map<Object, Object> m = new LinkedHashMap<>();
            while (true) {
                skipBlanks();
                if (pos < s.length() && s.charAt(pos) == '}') {
                    pos++;
                    depth--;
                    return m;
                }
                Object key = value();
                if (!(key instanceof String) && !(key instanceof Long) && !(key instanceof Boolean)) {
                    throw error("a dict key must be a string or a number");
                }
                skipBlanks();
                expect(':');
                Object v = value();
                m.put(key, v); // as in Python, a repeated key keeps its last value
                skipBlanks();
                if (pos < s.length() && s.charAt(pos) == ',') {
                    pos++;
                } else if (pos >= s.length() || s.charAt(pos) != '}') {
                    throw error("expected ',' or '}'");
                }
            }
        }

        private Object sequence(char open, char close, boolean tuple) {
            enter();
            pos++; // open
            List<Object> items = new ArrayList<>();
            boolean sawComma = false;
            while (true) {
                skipBlanks();
                if (pos < s.length() && s.charAt(pos) == close) {
                    pos++;
                    depth--;
                    if (tuple && items.size() == 1 && !sawComma) {
                        return items.get(0); // (x) is x in Python; (x,) is a tuple
                    }
                    return tuple ? new Tuple(List.copyOf(items)) : List.copyOf(items);
                }
                items.add(value());
                skipBlanks();
                if (pos < s.length() && s.charAt(pos) == ',') {
                    pos++;
                    sawComma = true;
                } else if (pos >= s.length() || s.charAt(pos) != close) {
                    throw error("expected ',' or '" + close + "'");
                }
            }
        }

        private void expect(char c) {
            if (pos >= s.length() || s.charAt(pos) != c) {
                throw error("expected '" + c + "'");
            }
            pos++;
        }

        private String string(char quote) {
            pos++; // opening quote
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (pos >= s.length()) {
                    throw error("a string is not closed");
                }
                char c = s.charAt(pos++);
                if (c == quote) {
                    return sb.toString();
                }
                if (c == '\n') {
                    throw error("a string runs past the end of the line");
                }
                if (c == '\\') {
                    if (pos >= s.length()) {
                        throw error("a string ends in a backslash");
                    }
                    char e = s.charAt(pos++);
                    switch (e) {
                        case 'n' -> sb.append('\n');
                        case 't' -> sb.append('\t');
                        case 'r' -> sb.append('\r');
                        case '0' -> sb.append('\0');
                        case '\\', '\'', '"' -> sb.append(e);
                        case 'x' -> sb.append((char) hex(2));
                        case 'u' -> sb.append((char) hex(4));
                        default -> sb.append('\\').append(e); // Python keeps unknown escapes as written
                    }
                } else {
                    sb.append(c);
                }
            }
        }

        private int hex(int digits) {
            if (pos + digits > s.length()) {
                throw error("a \\x or \\u escape is cut short");
            }
            try {
                int v = Integer.parseInt(s.substring(pos, pos + digits), 16);
                pos += digits;
                return v;
            } catch (NumberFormatException e) {
                throw error("a \\x or \\u escape is not hexadecimal");
            }
        }

        private Long number() {
            int start = pos;
            if (s.charAt(pos) == '-' || s.charAt(pos) == '+') {
                pos++;
            }
            int digits = pos;
            while (pos < s.length() && ((s.charAt(pos) >= '0' && s.charAt(pos) <= '9') || s.charAt(pos) == '_')) {
                pos++;
            }
            if (pos == digits) {
                throw error("a sign without a number");
            }
            String text = s.substring(start, pos).replace("_", "");
            if (pos < s.length() && (s.charAt(pos) == 'L' || s.charAt(pos) == 'l')) {
                pos++; // Python 2 long, as old NumPy wrote shapes: (3L, 4L)
            }
            if (pos < s.length() && (s.charAt(pos) == '.' || s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                throw error("a size must be a whole number");
            }
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw error("the number " + (text.length() > 30 ? text.substring(0, 27) + "..." : text) + " is out of range");
            }
        }

        private Object word() {
            int start = pos;
            while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_')) {
                pos++;
            }
            String w = s.substring(start, pos);
            return switch (w) {
                case "True" -> Boolean.TRUE;
                case "False" -> Boolean.FALSE;
                case "None" -> NONE;
                default -> throw error("unexpected name '" + (w.length() > 30 ? w.substring(0, 27) + "..." : w) + "'");
            };
        }

        private static String printable(char c) {
            return c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c);
        }
    }

    /** Python's None (only ever an error here, but it parses). */
    private static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };
}
