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
    /** What kind of failure this is (and so the command's exit status). */
    private final ErrorCode code;

    /**
     * An error of kind {@code code}.
     *
     * @param code    the kind of failure
     * @param message one line naming the file and what is wrong; made safe to print (see {@link SafeText#oneLine})
     */
    public LstmxException(ErrorCode code, String message) {
        super(SafeText.oneLine(message));
        this.code = code;
    }

    /**
     * An error of kind {@code code} caused by {@code cause}.
     *
     * @param code    the kind of failure
     * @param message one line naming the file and what is wrong; made safe to print (see {@link SafeText#oneLine})
     * @param cause   the underlying exception, kept for {@code --debug} stack traces
     */
    public LstmxException(ErrorCode code, String message, Throwable cause) {
        super(SafeText.oneLine(message), cause);
        this.code = code;
    }

    /**
     * The kind of failure.
     *
     * @return the error's code
     */
    public ErrorCode code() {
        return code;
    }

    /**
     * A malformed or inconsistent input file or argument.
     *
     * @param message one line naming the file and what is wrong
     * @return a BAD_INPUT error
     */
    public static LstmxException badInput(String message) {
        return new LstmxException(ErrorCode.BAD_INPUT, message);
    }

    /**
     * A valid input that uses a feature lstmx (or the target format) cannot express.
     *
     * @param message one line naming the file, the node or layer and the feature
     * @return an UNSUPPORTED error
     */
    public static LstmxException unsupported(String message) {
        return new LstmxException(ErrorCode.UNSUPPORTED, message);
    }

    /**
     * A bug in lstmx.
     *
     * @param message one line saying what should not have happened
     * @return an INTERNAL error
     */
    public static LstmxException internal(String message) {
        return new LstmxException(ErrorCode.INTERNAL, message);
    }

    /**
     * Returns a copy of this exception whose message is prefixed with {@code context: }.
     *
     * @param context what the message is about, typically the file's path
     * @return a new exception of the same code, caused by this one
     */
    public LstmxException withContext(String context) {
        LstmxException e = new LstmxException(code, context + ": " + getMessage(), this);
        return e;
    }
}
