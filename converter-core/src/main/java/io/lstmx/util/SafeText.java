package io.lstmx.util;

import java.util.Collection;

/**
 * The one sanitiser for text that came from a model file (graph, node, layer and value names,
 * producer strings, messages quoting them) before it is printed as part of a line: a hostile name
 * must neither break the line, forge extra lines, nor send the terminal escape sequences. JSON
 * output does not use this: it escapes such characters its own way and keeps names exact.
 */
public final class SafeText {
    private SafeText() {
    }

    /**
     * {@code text} on one line: each line break, with the blanks around it, becomes one space;
     * other control characters (ESC, BEL, backspace, DEL, C1 controls such as CSI) and the
     * invisible bidirectional-text controls, which can make a terminal show text in another order,
     * become backslash-u and four hex digits. Tabs are kept. Null stays null.
     */
    public static String oneLine(String text) {
        if (text == null) {
            return null;
        }
        boolean plain = true;
        for (int i = 0; i < text.length() && plain; i++) {
            char c = text.charAt(i);
            plain = !isLineBreak(c) && !mustEscape(c);
        }
        if (plain) {
            return text;
        }
        StringBuilder sb = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (isLineBreak(c)) {
                while (sb.length() > 0 && isBlank(sb.charAt(sb.length() - 1))) {
                    sb.setLength(sb.length() - 1);
                }
                while (i + 1 < text.length() && (isLineBreak(text.charAt(i + 1)) || isBlank(text.charAt(i + 1)))) {
                    i++;
                }
                sb.append(' ');
            } else if (mustEscape(c)) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Longest name printed whole; longer ones are cut (see {@link #name}). */
    public static final int MAX_NAME = 200;
    /** Longest message line printed whole (see {@link #message}). */
    public static final int MAX_LINE = 2000;

    /**
     * A name from a model file for a message: on one line ({@link #oneLine}) and, when longer than
     * {@link #MAX_NAME} characters, cut to its head and tail around an ellipsis that says how much
     * was left out, so a 10 MB node name costs a line, not 10 MB of output.
     */
    public static String name(String text) {
        if (text == null) {
            return null;
        }
        return cut(oneLine(text), MAX_NAME);
    }

    /**
     * A whole message line: {@link #oneLine}, every run of more than {@link #MAX_NAME} characters
     * without a blank cut as in {@link #name} (messages quote names from files), and the line cut to
     * {@link #MAX_LINE} characters the same way.
     */
    public static String message(String text) {
        if (text == null) {
            return null;
        }
        String one = oneLine(text);
        StringBuilder sb = new StringBuilder(Math.min(one.length(), 4 * MAX_LINE));
        int i = 0;
        while (i < one.length()) {
            int j = i;
            while (j < one.length() && !isBlank(one.charAt(j))) {
                j++;
            }
            sb.append(cut(one.substring(i, j), MAX_NAME));
            while (j < one.length() && isBlank(one.charAt(j))) {
                sb.append(one.charAt(j++));
            }
            i = j;
        }
        return cut(sb.toString(), MAX_LINE);
    }

    /** Most items of a list that a message names (see {@link #list}). */
    public static final int MAX_LISTED = 10;

    /**
     * A list for a message, as {@code List.toString} writes it ("[a, b, c]") when it has at most
     * {@link #MAX_LISTED} items, else its first {@link #MAX_LISTED} and how many more there are
     * ("[a, b, ..., j, and 90 more]"): a model of 100,000 inputs must not make an error line of
     * 100,000 names, nor cost the time and memory of building one. Items are not sanitised here;
     * {@link #message} does that when the line is printed.
     */
    public static String list(Collection<?> items) {
        return items == null ? "null" : "[" + join(items, ", ") + "]";
    }

    /**
     * The items joined by {@code separator}, at most {@link #MAX_LISTED} of them, then how many
     * more there are ("a; b; ...; j; and 90 more" with "; "), as {@link #list} but without brackets.
     */
    public static String join(Collection<?> items, String separator) {
        StringBuilder sb = new StringBuilder();
        int shown = 0;
        for (Object item : items) {
            if (shown == MAX_LISTED) {
                break;
            }
            sb.append(shown == 0 ? "" : separator).append(item);
            shown++;
        }
        if (items.size() > shown) {
            sb.append(separator).append("and ").append(items.size() - shown).append(" more");
        }
        return sb.toString();
    }

    /** {@code s} when at most {@code max} characters, else its head and tail around "…(N characters)…". */
    private static String cut(String s, int max) {
        if (s.length() <= max) {
            return s;
        }
        int tail = max / 5;
        int head = max - tail;
        // Do not split a surrogate pair: a half character would print as garbage.
        if (Character.isHighSurrogate(s.charAt(head - 1))) {
            head--;
        }
        int tailStart = s.length() - tail;
        if (Character.isLowSurrogate(s.charAt(tailStart))) {
            tailStart++;
        }
        return s.substring(0, head) + "…(" + (tailStart - head) + " characters)…" + s.substring(tailStart);
    }

    private static boolean mustEscape(char c) {
        return (c != '\t' && Character.isISOControl(c)) || isBidiControl(c);
    }

    private static boolean isBidiControl(char c) {
        return c == '\u061c' || c == '\u200e' || c == '\u200f' || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069');
    }

    private static boolean isLineBreak(char c) {
        return c == '\n' || c == '\r' || c == '\u000b' || c == '\f' || c == '\u0085' || c == '\u2028' || c == '\u2029';
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }
}
