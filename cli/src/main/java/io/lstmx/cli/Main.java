package io.lstmx.cli;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.util.Heap;
import io.lstmx.util.SafeText;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * The {@code lstmx} command. Exit status: 0 success, 1 verification mismatch, 2 bad input or usage,
 * 3 unsupported, 4 internal error. Every error is one line on stderr, "lstmx: error: ...";
 * {@code --debug} adds the stack trace.
 */
@Command(name = "lstmx",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Converts LSTM networks between ONNX, TensorFlow/Keras and PyTorch, runs them in pure Java "
                + "and checks conversions numerically.",
        subcommands = {InspectCommand.class, RunCommand.class, ConvertCommand.class, VerifyCommand.class,
                FormatsCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:success", "1:verification found a mismatch", "2:bad input or usage",
                "3:unsupported model feature or format", "4:internal error"})
public final class Main implements Callable<Integer> {
    static final String ERROR_PREFIX = "lstmx: error: ";

    @Spec
    CommandSpec spec;

    // Read from the raw arguments by the exception handler; declared so that parsing accepts it everywhere.
    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Print stack traces of errors.")
    boolean debug;

    @Option(names = {"-q", "--quiet"}, scope = ScopeType.INHERIT,
            description = "Print no progress lines on stderr (results and errors still print).")
    boolean quiet;

    // Progress shows by itself only when stderr looks like a terminal; this shows it anywhere (tests, logs).
    @Option(names = "--progress", scope = ScopeType.INHERIT, hidden = true,
            description = "Show progress lines on stderr even when it is not a terminal.")
    boolean progress;

    /** Whether stderr is taken to be a terminal (set by {@link #main}; tests run as if it were not). */
    private boolean terminal;

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        // Java 17 cannot ask about stderr itself; a console exists when stdin and stdout are a
        // terminal, which is when a person is watching (and stderr is almost always that terminal).
        System.exit(execute(args, out, err, System.console() != null));
    }

    /** Runs the command line in-process, as if not on a terminal, and returns the exit status (tests call this). */
    static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return execute(args, out, err, false);
    }

    /** Runs the command line; {@code terminal} says whether a person watches stderr (progress lines). */
    static int execute(String[] args, PrintWriter out, PrintWriter err, boolean terminal) {
        boolean debug = hasDebugFlag(args);
        try {
            Main main = new Main();
            main.terminal = terminal;
            CommandLine cmd = new CommandLine(main);
            cmd.setOut(out);
            cmd.setErr(err);
            cmd.setParameterExceptionHandler((ex, a) -> {
                String sub = ex.getCommandLine().getCommandName();
                String help = "main".equals(sub) || "lstmx".equals(sub) ? "lstmx --help" : "lstmx " + sub + " --help";
                // picocli's messages may span lines and quote the arguments.
                err.println(ERROR_PREFIX + SafeText.message(Objects.toString(ex.getMessage(), "")).strip() + " (see '" + help + "')");
                if (debug) {
                    ex.printStackTrace(err);
                }
                return ErrorCode.BAD_INPUT.exitStatus();
            });
            cmd.setExecutionExceptionHandler((ex, c, parseResult) -> report(ex, err, debug));
            return cmd.execute(args);
        } catch (RuntimeException | Error e) {
            // Anything escaping picocli itself (e.g. OutOfMemoryError) still ends in one line.
            return report(e, err, debug);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** Prints one error line for {@code t} and returns the exit status its category maps to. */
    static int report(Throwable t, PrintWriter err, boolean debug) {
        int status;
        String message;
        if (t instanceof LstmxException e) {
            status = e.code().exitStatus();
            message = e.getMessage();
        } else if (t instanceof OutOfMemoryError) {
            // Not a bug in lstmx but a model or input too large for this heap: say so, and how to fix it.
            status = ErrorCode.UNSUPPORTED.exitStatus();
            message = "out of memory (" + Objects.toString(t.getMessage(), "Java heap") + "): the model or its inputs need more than the "
                    + (Runtime.getRuntime().maxMemory() >> 20) + " MiB this Java may use; " + Heap.hint();
        } else {
            status = ErrorCode.INTERNAL.exitStatus();
            message = "internal error: " + t.getClass().getName() + (t.getMessage() == null ? "" : ": " + t.getMessage())
                    + (debug ? "" : " (run with --debug for the stack trace)");
        }
        // One bounded line: names from model files are cut (a 10 MB node name costs a line, not 10 MB).
        err.println(ERROR_PREFIX + SafeText.message(Objects.toString(message, "")).strip());
        if (debug) {
            t.printStackTrace(err);
        }
        err.flush();
        return status;
    }

    private static boolean hasDebugFlag(String[] args) {
        for (String a : args) {
            if (a.equals("--")) {
                return false;
            }
            if (a.equals("--debug")) {
                return true;
            }
        }
        return false;
    }

    /** Progress reporting for a subcommand writing to {@code err}, per -q, --progress and the terminal. */
    Progress progress(PrintWriter err) {
        return Progress.of(err, quiet, progress, terminal);
    }

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing command: expected one of inspect, run, convert, verify, formats");
    }

    /** lstmx's version: from the jar manifest when there is one. */
    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-SNAPSHOT" : v;
    }

    /** The version, and where to learn what this build reads, writes and checks against. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"lstmx " + version() + " (Java " + Runtime.version() + ")",
                    "Formats read and written, ONNX opsets and reference engines: lstmx formats"};
        }
    }
}
