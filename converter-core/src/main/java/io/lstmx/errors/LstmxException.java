package io.lstmx.errors;

/**
 * The one exception root of lstmx. Every message should name the file, the node or tensor,
 * and what was expected, so that it can be printed as one line.
 */
public class LstmxException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public LstmxException(ErrorCode code, String message) {
        super(oneLine(message));
        this.code = code;
    }

    public LstmxException(ErrorCode code, String message, Throwable cause) {
        super(oneLine(message), cause);
        this.code = code;
    }

    /**
     * Keeps messages on one line: messages quote names read from model files, and a hostile name must
     * not break the one-line report or forge extra lines. Line breaks (with the blanks around them)
     * become one space, as the CLI prints multi-line text; other control characters (such as the
     * terminal's escape) are shown as backslash-u and four hex digits.
     */
    static String oneLine(String message) {
        if (message == null) {
            return null;
        }
        boolean plain = true;
        for (int i = 0; i < message.length() && plain; i++) {
            char c = message.charAt(i);
            plain = c == '\t' || !(Character.isISOControl(c) || isLineBreak(c));
        }
        if (plain) {
            return message;
        }
        StringBuilder sb = new StringBuilder(message.length() + 16);
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            if (isLineBreak(c)) {
                while (sb.length() > 0 && isBlank(sb.charAt(sb.length() - 1))) {
                    sb.setLength(sb.length() - 1);
                }
                while (i + 1 < message.length() && (isLineBreak(message.charAt(i + 1)) || isBlank(message.charAt(i + 1)))) {
                    i++;
                }
                sb.append(' ');
            } else if (c != '\t' && Character.isISOControl(c)) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static boolean isLineBreak(char c) {
        return c == '\n' || c == '\r' || c == '\u000b' || c == '\f' || c == '\u0085' || c == '\u2028' || c == '\u2029';
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    public ErrorCode code() {
        return code;
    }

    public static LstmxException badInput(String message) {
        return new LstmxException(ErrorCode.BAD_INPUT, message);
    }

    public static LstmxException unsupported(String message) {
        return new LstmxException(ErrorCode.UNSUPPORTED, message);
    }

    public static LstmxException internal(String message) {
        return new LstmxException(ErrorCode.INTERNAL, message);
    }

    /** Returns a copy of this exception whose message is prefixed with {@code context: }. */
    public LstmxException withContext(String context) {
        LstmxException e = new LstmxException(code, context + ": " + getMessage(), this);
        return e;
    }
}
