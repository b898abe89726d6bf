package io.lstmx.tests;

import io.lstmx.api.Tolerance;
import io.lstmx.ir.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Paths and assertions shared by the integration tests. */
final class TestFiles {
    private TestFiles() {
    }

    /** The repository root (surefire sets lstmx.root). */
    static Path root() {
        return Path.of(System.getProperty("lstmx.root", "..")).toAbsolutePath().normalize();
    }

    /** ../shared beside the repository. */
    static Path shared() {
        Path p = root().resolve("../shared").normalize();
        assertTrue(Files.isDirectory(p), "shared material missing at " + p);
        return p;
    }

    static Path fixtures() {
        return root().resolve("fixtures");
    }

    /** Files under {@code dir} whose name ends with {@code suffix}, sorted; fails when there are none. */
    static List<Path> find(Path dir, String suffix) {
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> l = s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
            assertTrue(!l.isEmpty(), "no *" + suffix + " files under " + dir);
            return l;
        } catch (IOException e) {
            throw new AssertionError("cannot list " + dir, e);
        }
    }

    /** Asserts {@code actual} matches {@code expected} within the default tolerance. */
    static void assertClose(Tensor actual, Tensor expected, String what) {
        assertClose(actual, expected, Tolerance.DEFAULT, what);
    }

    static void assertClose(Tensor actual, Tensor expected, Tolerance tol, String what) {
        Tolerance.Report r = tol.compare(actual, expected);
        if (!r.ok()) {
            fail(what + ": " + r.detail());
        }
    }
}
