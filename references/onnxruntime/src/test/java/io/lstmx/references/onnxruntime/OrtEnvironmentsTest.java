package io.lstmx.references.onnxruntime;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * onnxruntime's environment is created on a thread with a stack in proportion to the command line:
 * a JVM whose command line is 60 KB long (a long class path, many properties) can use onnxruntime,
 * where creating the environment on the main thread (1 MiB of stack) kills the process with SIGSEGV.
 */
class OrtEnvironmentsTest {
    /** Run in a child JVM: creates the environment one way or the other and prints its version. */
    public static void main(String[] args) {
        if (args[0].equals("helper")) {
            System.out.println("version " + OrtEnvironments.get().getVersion());
        } else {
            System.out.println("version " + ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion());
        }
    }

    private static Process child(String how) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xss1m"); // the main thread's stack, whatever JAVA_TOOL_OPTIONS or the JDK's default says
        cmd.add("-Dpad=" + "x".repeat(60_000));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(OrtEnvironmentsTest.class.getName());
        cmd.add(how);
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    private static String finish(Process p) throws Exception {
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void aLongCommandLineStillGetsAnEnvironment() throws Exception {
        Process p = child("helper");
        String out = finish(p);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("version 1."), out);
    }

    /**
     * The failure the helper avoids, where this machine shows it: the plain call dies. Not every machine
     * does (the CI machine's plain call lived with the same command line and stack), so a plain call that
     * lives skips this test instead of failing it; a plain call that fails any other way fails it.
     */
    @Test
    void theSameCommandLineKillsAPlainCallOnTheMainThread() throws Exception {
        Process p = child("plain");
        String out = finish(p);
        assumeTrue(p.exitValue() != 0, "onnxruntime's plain environment creation fits in 1 MiB of stack here\n" + out);
        // 128 + 11: killed by SIGSEGV (the JVM has no stack left to report it)
        assertEquals(139, p.exitValue(), out);
    }

    @Test
    void theStackGrowsWithTheCommandLine() {
        assertTrue(OrtEnvironments.stackBytes() >= 16L << 20);
    }
}
