package io.lstmx.api;

import io.lstmx.util.Staging;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class StagingSweepTest {
    @TempDir
    Path dir;

    /**
     * Run in a child JVM by {@link #stagingLeftByAKilledWriterIsSweptByTheNextWriteIntoTheFolder}: starts a
     * safe write whose writer puts 1 MiB into the staged file, announces it, and then hangs until killed.
     */
    public static final class HangingWriter {
        public static void main(String[] args) {
            Path dst = Path.of(args[0]);
            SafeFiles.writeSafely(dst, false, staged -> {
                try (OutputStream out = Files.newOutputStream(staged)) {
                    out.write(new byte[1 << 20]);
                    out.flush();
                    Files.writeString(dst.resolveSibling("ready"), "staged");
                    Thread.sleep(Long.MAX_VALUE);
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
        }
    }

    private List<String> stagingEntries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(Staging.PREFIX)).sorted().toList();
        }
    }

    @Test
    void stagingLeftByAKilledWriterIsSweptByTheNextWriteIntoTheFolder() throws Exception {
        Path dst = dir.resolve("model.onnx");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), HangingWriter.class.getName(), dst.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(dir.resolve("ready"))) {
                if (!child.isAlive() || System.nanoTime() > deadline) {
                    fail("the child never staged its write: " + Files.readString(dir.resolve("child.log")));
                }
                Thread.sleep(20);
            }
        } finally {
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no finally block runs in the child
            child.waitFor(30, TimeUnit.SECONDS);
        }
        List<String> left = stagingEntries();
        assertEquals(1, left.size(), "the killed write left its staging folder: " + left);
        assertTrue(left.get(0).startsWith(Staging.PREFIX + "stage-" + child.pid() + "-"), left.get(0));
        assertTrue(!Files.exists(dst), "nothing half-written at the destination");

        SafeFiles.writeSafely(dir.resolve("other.onnx"), false, staged -> write(staged, "new"));
        assertEquals(List.of(), stagingEntries(), "the next write into the folder swept it");
        assertEquals("new", Files.readString(dir.resolve("other.onnx")));
    }

    @Test
    void stagingOfARunningProcessIsNeverSwept() throws IOException {
        Path mine = Files.createDirectory(dir.resolve(Staging.newName("stage")));
        Files.writeString(mine.resolve("partial"), "in progress");
        SafeFiles.writeSafely(dir.resolve("m.onnx"), false, staged -> write(staged, "x"));
        assertTrue(Files.exists(mine.resolve("partial")), "this process is alive: its staging stays");
    }

    @Test
    void aDestinationNameNearTheFileSystemLimitStillGetsAStagingFolder() throws IOException {
        String name = "m".repeat(244) + ".onnx"; // 249 bytes: staging must not add to it
        Path dst = dir.resolve(name);
        SafeFiles.writeSafely(dst, false, staged -> write(staged, "long"));
        assertEquals("long", Files.readString(dst));
        assertEquals(List.of(), stagingEntries());
    }

    @Test
    void staleNamesAreShortWhateverTheDestination() {
        String n = Staging.newName("stage");
        assertTrue(n.length() < 64, n);
        assertTrue(n.startsWith(Staging.PREFIX + "stage-" + ProcessHandle.current().pid() + "-"), n);
    }

    private static void write(Path p, String s) {
        try {
            Files.writeString(p, s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
