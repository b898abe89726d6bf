package io.lstmx.cli;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Writes maps, lists, strings, numbers, booleans and null as indented JSON (RFC 8259). Non-finite
 * numbers, which JSON cannot hold, are written as null.
 */
final class Json {
    private Json() {
    }

    static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.append('\n').toString();
    }

    private static void write(StringBuilder sb, Object v, int depth) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof String s) {
            string(sb, s);
        } else if (v instanceof Boolean b) {
            sb.append(b);
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            sb.append(Double.isFinite(d) ? Double.toString(d) : "null");
        } else if (v instanceof Number n) {
            sb.append(n.longValue());
        } else if (v instanceof Map<?, ?> m) {
            container(sb, '{', '}', m.entrySet().iterator(), m.isEmpty(), depth, (e, d) -> {
                Map.Entry<?, ?> en = (Map.Entry<?, ?>) e;
                string(sb, String.valueOf(en.getKey()));
                sb.append(": ");
                write(sb, en.getValue(), d);
            });
        } else if (v instanceof List<?> l) {
            container(sb, '[', ']', l.iterator(), l.isEmpty(), depth, (e, d) -> write(sb, e, d));
        } else {
            string(sb, v.toString());
        }
    }

    private interface Item {
        void write(Object element, int depth);
    }

    private static void container(StringBuilder sb, char open, char close, Iterator<?> it, boolean empty, int depth, Item item) {
        sb.append(open);
        if (empty) {
            sb.append(close);
            return;
        }
        String inner = "  ".repeat(depth + 1);
        boolean first = true;
        while (it.hasNext()) {
            sb.append(first ? "\n" : ",\n").append(inner);
            item.write(it.next(), depth + 1);
            first = false;
        }
        sb.append('\n').append("  ".repeat(depth)).append(close);
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    // Control characters (C0 must be escaped; DEL, C1 such as CSI, the JavaScript line
                    // separators and bidi controls may be) are escaped so that printed JSON cannot act
                    // on a terminal; a parser still gets the exact name back.
                    if (c < 0x20 || Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || c == '\u061c'
                            || c == '\u200e' || c == '\u200f' || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069')) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
