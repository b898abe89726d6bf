package io.lstmx.importers.pytorch.script;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Splits TorchScript's printed code into tokens, with Python's INDENT / DEDENT / NEWLINE rules
 * (line breaks inside brackets are ignored). Every token count and nesting level is bounded, so a
 * hostile file costs time in proportion to its size.
 */
final class Lexer {
    enum Kind { NAME, NUMBER, STRING, OP, NEWLINE, INDENT, DEDENT, END }

    record Token(Kind kind, String text, int line) {
        boolean is(String s) {
            return (kind == Kind.OP || kind == Kind.NAME) && text.equals(s);
        }

        @Override
        public String toString() {
            return switch (kind) {
                case NEWLINE -> "end of line";
                case INDENT -> "indentation";
                case DEDENT -> "end of block";
                case END -> "end of file";
                case STRING -> "a string";
                default -> "'" + text + "'";
            };
        }
    }

    /** Most nested brackets and indentation levels accepted. */
    static final int MAX_NESTING = 100;
    /** Longest number token read: Python's repr of a float is at most 24 characters, an int64 20. */
    static final int MAX_NUMBER = 100;

    private static final String[] OPS = {"**=", "//=", ">>=", "<<=", "->", "**", "//", "==", "!=", "<=", ">=", "<<", ">>", "+=", "-=", "*=",
            "/=", "%=", "&=", "|=", "^=", "@=", "+", "-", "*", "/", "%", "@", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ":",
            ".", ";", "~", "&", "|", "^"};

    private Lexer() {
    }

    static List<Token> tokenize(String src) {
        List<Token> out = new ArrayList<>();
        Deque<Integer> indents = new ArrayDeque<>();
        indents.push(0);
        int i = 0;
        int n = src.length();
        int line = 1;
        int depth = 0;
        int openedOn = 0;
        boolean lineStart = true;
        while (i < n) {
            char ch = src.charAt(i);
            if (lineStart && depth == 0) {
                int col = 0;
                int j = i;
                while (j < n && (src.charAt(j) == ' ' || src.charAt(j) == '\t')) {
                    col += src.charAt(j) == '\t' ? 8 - col % 8 : 1;
                    j++;
                }
                if (j >= n) {
                    break;
                }
                char c2 = src.charAt(j);
                if (c2 == '\n' || c2 == '\r' || c2 == '#') {
                    // Blank or comment line: no indentation change.
                    i = j;
                    while (i < n && src.charAt(i) != '\n') {
                        i++;
                    }
                    if (i < n) {
                        i++;
                        line++;
                    }
                    continue;
                }
                if (col > indents.peek()) {
                    if (indents.size() > MAX_NESTING) {
                        throw new ScriptSyntaxException(line, "blocks nested more than " + MAX_NESTING + " deep");
                    }
                    indents.push(col);
                    out.add(new Token(Kind.INDENT, "", line));
                } else {
                    while (col < indents.peek()) {
                        indents.pop();
                        out.add(new Token(Kind.DEDENT, "", line));
                    }
                    if (col != indents.peek()) {
                        throw new ScriptSyntaxException(line, "indentation does not match any outer block");
                    }
                }
                i = j;
                lineStart = false;
                continue;
            }
            if (ch == '\n') {
                if (depth == 0) {
                    out.add(new Token(Kind.NEWLINE, "", line));
                    lineStart = true;
                }
                line++;
                i++;
                continue;
            }
            if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f') {
                i++;
                continue;
            }
            if (ch == '\\' && i + 1 < n && src.charAt(i + 1) == '\n') {
                i += 2;
                line++;
                continue;
            }
            if (ch == '#') {
                while (i < n && src.charAt(i) != '\n') {
                    i++;
                }
                continue;
            }
            if (Character.isLetter(ch) || ch == '_') {
                int j = i;
                while (j < n && (Character.isLetterOrDigit(src.charAt(j)) || src.charAt(j) == '_')) {
                    j++;
                }
                if (j < n && (src.charAt(j) == '"' || src.charAt(j) == '\'') && j - i <= 2
                        && src.substring(i, j).toLowerCase().matches("[rbuf]{1,2}")) {
                    // A prefixed string literal: r"..", b"..".
                    boolean raw = src.substring(i, j).toLowerCase().contains("r");
                    int[] end = new int[1];
                    int[] lines = new int[1];
                    String s = string(src, j, end, lines, raw, line);
                    out.add(new Token(Kind.STRING, s, line));
                    line += lines[0];
                    i = end[0];
                    continue;
                }
                out.add(new Token(Kind.NAME, src.substring(i, j), line));
                i = j;
                continue;
            }
            if (Character.isDigit(ch) || (ch == '.' && i + 1 < n && Character.isDigit(src.charAt(i + 1)))) {
                int j = i;
                boolean hex = src.startsWith("0x", i) || src.startsWith("0X", i);
                while (j < n && (Character.isLetterOrDigit(src.charAt(j)) || src.charAt(j) == '.' || src.charAt(j) == '_'
                        || ((src.charAt(j) == '-' || src.charAt(j) == '+') && (src.charAt(j - 1) == 'e' || src.charAt(j - 1) == 'E')
                        && !hex))) {
                    j++;
                    if (j - i > MAX_NUMBER) {
                        // Parsing a longer one (a regex, BigInteger) could cost far more than its length.
                        throw new ScriptSyntaxException(line, "a number of more than " + MAX_NUMBER + " characters");
                    }
                }
                out.add(new Token(Kind.NUMBER, src.substring(i, j), line));
                i = j;
                continue;
            }
            if (ch == '"' || ch == '\'') {
                int[] end = new int[1];
                int[] lines = new int[1];
                String s = string(src, i, end, lines, false, line);
                out.add(new Token(Kind.STRING, s, line));
                line += lines[0];
                i = end[0];
                continue;
            }
            String op = null;
            for (String o : OPS) {
                if (src.startsWith(o, i)) {
                    op = o;
                    break;
                }
            }
            if (op == null) {
                throw new ScriptSyntaxException(line, "unexpected character '" + (ch < 32 || ch > 126 ? String.format("\\u%04x", (int) ch) : ch) + "'");
            }
            if (op.equals("(") || op.equals("[") || op.equals("{")) {
                if (depth == 0) {
                    openedOn = line;
                }
                if (++depth > MAX_NESTING) {
                    throw new ScriptSyntaxException(line, "brackets nested more than " + MAX_NESTING + " deep");
                }
            } else if (op.equals(")") || op.equals("]") || op.equals("}")) {
                if (--depth < 0) {
                    throw new ScriptSyntaxException(line, "'" + op + "' closes nothing");
                }
            }
            out.add(new Token(Kind.OP, op, line));
            i += op.length();
        }
        if (depth > 0) {
            throw new ScriptSyntaxException(openedOn, "a bracket opened on this line is never closed");
        }
        if (!out.isEmpty() && out.get(out.size() - 1).kind() != Kind.NEWLINE) {
            out.add(new Token(Kind.NEWLINE, "", line));
        }
        while (indents.size() > 1) {
            indents.pop();
            out.add(new Token(Kind.DEDENT, "", line));
        }
        out.add(new Token(Kind.END, "", line));
        return out;
    }

    /** A string literal starting at {@code start} (the quote); {@code end[0]} receives the index after it. */
    private static String string(String src, int start, int[] end, int[] lines, boolean raw, int line) {
        char q = src.charAt(start);
        boolean triple = src.startsWith(String.valueOf(q).repeat(3), start);
        int i = start + (triple ? 3 : 1);
        StringBuilder sb = new StringBuilder();
        int n = src.length();
        while (true) {
            if (i >= n) {
                throw new ScriptSyntaxException(line, "a string is never closed");
            }
            char c = src.charAt(i);
            if (triple ? src.startsWith(String.valueOf(q).repeat(3), i) : c == q) {
                end[0] = i + (triple ? 3 : 1);
                return sb.toString();
            }
            if (c == '\n') {
                if (!triple) {
                    throw new ScriptSyntaxException(line, "a string is never closed on its line");
                }
                lines[0]++;
            }
            if (c == '\\' && !raw && i + 1 < n) {
                char e = src.charAt(i + 1);
                i += 2;
                switch (e) {
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    case 'r' -> sb.append('\r');
                    case '0' -> sb.append('\0');
                    case '\\', '\'', '"' -> sb.append(e);
                    case '\n' -> lines[0]++;
                    case 'x' -> {
                        if (i + 2 > n) {
                            throw new ScriptSyntaxException(line, "a \\x escape is cut short");
                        }
                        sb.append((char) hex(src.substring(i, i + 2), line));
                        i += 2;
                    }
                    case 'u' -> {
                        if (i + 4 > n) {
                            throw new ScriptSyntaxException(line, "a \\u escape is cut short");
                        }
                        sb.append((char) hex(src.substring(i, i + 4), line));
                        i += 4;
                    }
                    default -> sb.append('\\').append(e);
                }
                continue;
            }
            sb.append(c);
            i++;
        }
    }

    private static int hex(String s, int line) {
        try {
            return Integer.parseInt(s, 16);
        } catch (NumberFormatException e) {
            throw new ScriptSyntaxException(line, "bad escape \\x" + s);
        }
    }
}
