package io.lstmx.errors;

/** Error categories; the CLI maps each to an exit status. */
public enum ErrorCode {
    /** The input file or arguments are malformed, inconsistent or of the wrong shape. */
    BAD_INPUT(2),
    /** The input is valid but uses a feature lstmx (or the target format) cannot express. */
    UNSUPPORTED(3),
    /** A bug in lstmx. */
    INTERNAL(4),
    /** Numerical verification found a mismatch. */
    MISMATCH(1);

    private final int exitStatus;

    ErrorCode(int exitStatus) {
        this.exitStatus = exitStatus;
    }

    /**
     * The exit status of the {@code lstmx} command for this kind of error.
     *
     * @return 1 for MISMATCH, 2 for BAD_INPUT, 3 for UNSUPPORTED, 4 for INTERNAL
     */
    public int exitStatus() {
        return exitStatus;
    }
}
