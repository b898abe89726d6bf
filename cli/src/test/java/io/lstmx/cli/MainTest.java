package io.lstmx.cli;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    @Test
    void helpListsEveryCommandAndExitsZero() {
        Cli.Result r = Cli.run("--help").expect(0);
        for (String c : new String[] {"inspect", "run", "convert", "verify"}) {
            assertTrue(r.out().contains(c), "help mentions " + c + ":\n" + r.out());
        }
        assertTrue(r.err().isEmpty(), r.err());
    }

    @Test
    void subcommandHelpAndVersion() {
        assertTrue(Cli.run("run", "--help").expect(0).out().contains("--output-dir"));
        assertTrue(Cli.run("--version").expect(0).out().startsWith("lstmx "));
        assertTrue(Cli.run("help", "convert").expect(0).out().contains("--force"));
    }

    @Test
    void noCommandIsAUsageError() {
        Cli.Result r = Cli.run().expect(2);
        assertTrue(r.err().contains("missing command"), r.err());
    }

    @Test
    void usageErrorsExitTwoWithOneLine() {
        Cli.Result r = Cli.run("frobnicate").expect(2);
        assertTrue(r.err().contains("frobnicate"), r.err());
        Cli.run("run", "--no-such-option", "x.onnx").expect(2);
        Cli.run("run", "x.onnx").expect(2); // --output-dir is required
        Cli.run("convert", "only-one-arg.onnx").expect(2);
        r = Cli.run("convert", "a.onnx", "b.onnx", "--to", "matlab").expect(2);
        assertTrue(r.err().contains("matlab"), r.err());
        r = Cli.run("verify", "m.onnx", "--atol", "abc").expect(2);
        assertTrue(r.err().contains("--atol"), r.err());
        assertTrue(r.err().contains("lstmx verify --help"), r.err());
    }

    @Test
    void missingModelIsBadInputNamingTheFile(@TempDir Path dir) {
        Path missing = dir.resolve("nothing-here.onnx");
        for (String cmd : new String[] {"inspect", "verify"}) {
            Cli.Result r = Cli.run(cmd, missing).expect(2);
            assertTrue(r.err().contains(missing.toString()), r.err());
        }
        Cli.Result r = Cli.run("run", missing, "--output-dir", dir.resolve("out")).expect(2);
        assertTrue(r.err().contains(missing.toString()), r.err());
        r = Cli.run("convert", missing, dir.resolve("out.onnx")).expect(2);
        assertTrue(r.err().contains(missing.toString()), r.err());
        assertFalse(Files.exists(dir.resolve("out.onnx")));
    }

    @Test
    void unsupportedExitsThree(@TempDir Path dir) {
        // ONNX has no LSTM operator before opset 7: refused before anything is read or written.
        Cli.Result r = Cli.run("convert", Cli.realOnnx(), dir.resolve("old.onnx"), "--opset", "5").expect(3);
        assertTrue(r.err().contains("opset"), r.err());
        assertEquals(0, Cli.list(dir).size());
    }

    @Test
    void eachErrorCategoryMapsToItsExitStatus() {
        assertEquals(1, status(new LstmxException(ErrorCode.MISMATCH, "m")));
        assertEquals(2, status(LstmxException.badInput("b")));
        assertEquals(3, status(LstmxException.unsupported("u")));
        assertEquals(4, status(LstmxException.internal("i")));
        assertEquals(4, status(new IllegalStateException("bug")));
        assertEquals(3, status(new OutOfMemoryError("heap")), "a heap too small for the model is no bug (BudgetsTest)");
    }

    @Test
    void errorsAreOneLineWithoutStackTraceUnlessDebug() {
        StringWriter sw = new StringWriter();
        Main.report(LstmxException.badInput("model.onnx: node 'x'\nexpected A\r\n  found B"), new PrintWriter(sw), false);
        assertEquals("lstmx: error: model.onnx: node 'x' expected A found B", sw.toString().strip());

        sw = new StringWriter();
        Main.report(new IllegalStateException("boom"), new PrintWriter(sw), false);
        assertEquals(1, sw.toString().strip().lines().count(), sw.toString());
        assertTrue(sw.toString().startsWith("lstmx: error: internal error: java.lang.IllegalStateException: boom"), sw.toString());

        sw = new StringWriter();
        Main.report(new IllegalStateException("boom"), new PrintWriter(sw), true);
        assertTrue(sw.toString().lines().count() > 2, "--debug prints the stack trace");
        assertTrue(sw.toString().contains("at io.lstmx.cli.MainTest"), sw.toString());
    }

    @Test
    void debugFlagIsAcceptedByEveryCommand(@TempDir Path dir) {
        Cli.Result r = Cli.run("inspect", dir.resolve("missing.onnx"), "--debug");
        assertEquals(2, r.exit());
        assertTrue(r.err().startsWith(Main.ERROR_PREFIX), r.err());
        assertTrue(r.err().lines().count() > 1, "stack trace follows with --debug:\n" + r.err());
    }

    private static int status(Throwable t) {
        return Main.report(t, new PrintWriter(new StringWriter()), false);
    }
}
