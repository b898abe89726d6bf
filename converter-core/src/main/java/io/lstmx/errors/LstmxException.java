package io.lstmx.errors;

import io.lstmx.util.SafeText;

/**
 * The one exception root of lstmx. Every message should name the file, the node or tensor,
 * and what was expected, so that it can be printed as one line. Messages quote names read from model
 * files, so they pass through {@link SafeText#oneLine}: a hostile name cannot break the one-line
 * report, forge extra lines or reach the terminal as an escape sequence.
 */
public class LstmxException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public LstmxException(ErrorCode code, String message) {
        super(SafeText.oneLine(message));
        this.code = code;
    }

    public LstmxException(ErrorCode code, String message, Throwable cause) {
        super(SafeText.oneLine(message), cause);
        this.code = code;
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
