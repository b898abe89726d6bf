package io.lstmx.importers.pytorch.script;

/** Code that is not the Python subset TorchScript prints, with the line it was found on. */
public final class ScriptSyntaxException extends RuntimeException {
    private final int line;

    /** @param line the 1-based line; @param message what was wrong */
    public ScriptSyntaxException(int line, String message) {
        super("line " + line + ": " + message);
        this.line = line;
    }

    /** The 1-based line of the error. */
    public int line() {
        return line;
    }
}
