package io.lstmx.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * The lstmx command run in-process from the tests module (Main.execute is package-private): the
 * exit status and what it printed, so that hostile files are checked through the CLI's error
 * mapping too, not only as library exceptions.
 */
public final class CliBridge {
    private CliBridge() {
    }

    /** Exit status and captured streams of one run. */
    public record Result(int exit, String out, String err) {
    }

    public static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.execute(args, new PrintWriter(out), new PrintWriter(err));
        return new Result(exit, out.toString(), err.toString());
    }

    /** The prefix of every error line. */
    public static String errorPrefix() {
        return Main.ERROR_PREFIX;
    }
}
