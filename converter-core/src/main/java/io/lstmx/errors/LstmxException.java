package io.lstmx.errors;

/**
 * The one exception root of lstmx. Every message should name the file, the node or tensor,
 * and what was expected, so that it can be printed as one line.
 */
public class LstmxException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public LstmxException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public LstmxException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
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
