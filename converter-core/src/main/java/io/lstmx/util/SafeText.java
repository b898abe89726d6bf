package io.lstmx.util;

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
