package io.lstmx.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressTest {
    @TempDir
    Path dir;

    private Object[] runArgs(String... extra) {
        Path c = Cli.fixture("uni_1layer");
        List<Object> a = new java.util.ArrayList<>(List.of("run", c.resolve("model.onnx"), c.resolve("input_0.npy"), "-o", dir.resolve("o"), "--force"));
        a.addAll(List.of(extra));
        return a.toArray();
    }

    @Test
    void progressLinesWithElapsedTimeGoToStderrWhenShown() {
        Cli.Result r = Cli.run(runArgs("--progress"));
        assertEquals(0, r.exit(), r.err());
        List<String> lines = r.errLines();
        assertTrue(lines.stream().allMatch(l -> l.matches("lstmx: \\[ *\\d+\\.\\ds\\] .*")), r.err());
        for (String step : List.of("loading ", "reading inputs", "running", "writing ")) {
            assertTrue(lines.stream().anyMatch(l -> l.contains("] " + step) && l.endsWith(" ...")), step + " announced:\n" + r.err());
            assertTrue(lines.stream().anyMatch(l -> l.contains("] " + step) && l.matches(".*: done in \\d+\\.\\ds")), step + " timed:\n" + r.err());
        }
        assertTrue(lines.get(lines.size() - 1).endsWith("] finished"), r.err());
        assertTrue(r.out().startsWith("output_0.npy <- "), "results stay on stdout: " + r.out());
    }

    @Test
    void quietSilencesProgressBeforeOrAfterTheSubcommand() {
        Cli.Result after = Cli.run(runArgs("--progress", "-q"));
        assertEquals(0, after.exit());
        assertEquals("", after.err());
        Object[] args = runArgs("--progress");
        Object[] before = new Object[args.length + 1];
        before[0] = "--quiet";
        System.arraycopy(args, 0, before, 1, args.length);
        Cli.Result r = Cli.run(before);
        assertEquals(0, r.exit());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("output_0.npy <- "), r.out());
    }

    @Test
    void everySubcommandTakesTheQuietOption() {
        Path m = Cli.fixture("uni_1layer").resolve("model.onnx");
        Cli.run("inspect", m, "-q").expect(0);
        Cli.run("formats", "--quiet").expect(0);
        Cli.run("convert", m, dir.resolve("c.onnx"), "-q").expect(0);
        Cli.run("verify", m, "-q", "--batch", "1", "--time", "1").expect(0);
    }

    @Test
    void withoutATerminalNothingIsShown() {
        Cli.Result r = Cli.run(runArgs());
        assertEquals(0, r.exit());
        assertEquals("", r.err());
    }

    /** On a terminal a step is announced only once it has taken a while, then with its time. */
    @Test
    void onATerminalOnlySlowStepsAreAnnounced() throws InterruptedException {
        StringWriter sw = new StringWriter();
        try (Progress p = Progress.of(new PrintWriter(sw), false, false, true)) {
            try (Progress.Step quick = p.begin("quick step")) {
                quick.done(null);
            }
            assertEquals("", sw.toString(), "a quick step stays silent");
            try (Progress.Step slow = p.begin("slow step")) {
                Thread.sleep(Progress.TERMINAL_DELAY_MS + 400);
                assertTrue(sw.toString().contains("] slow step ..."), "announced while it runs: " + sw);
                slow.done("3 layers");
            }
            try (Progress.Step next = p.begin("next step")) {
                assertTrue(sw.toString().contains("] next step ..."), "once something showed, every step shows at once: " + sw);
                next.done(null);
            }
            p.finish();
        }
        String out = sw.toString();
        assertTrue(out.lines().anyMatch(l -> l.matches("lstmx: \\[ *\\d+\\.\\ds\\] slow step: 3 layers: done in \\d+\\.\\ds")), out);
        assertTrue(out.strip().endsWith("] finished"), out);
        assertTrue(!out.contains("quick step"), out);
    }

    @Test
    void onATerminalAQuickCommandPrintsOnlyItsResults() {
        Path c = Cli.fixture("uni_1layer");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.execute(new String[] {"inspect", c.resolve("model.onnx").toString()}, new PrintWriter(out), new PrintWriter(err), true);
        assertEquals(0, exit);
        assertEquals("", err.toString());
    }
}
