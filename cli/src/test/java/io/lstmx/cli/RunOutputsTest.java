package io.lstmx.cli;

import io.lstmx.api.Npy;
import io.lstmx.api.SafeFiles;
import io.lstmx.ir.Tensor;
import io.lstmx.util.Staging;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** run's outputs land all together or not at all. */
class RunOutputsTest {
    @TempDir
    Path dir;

    private List<Path> targets() {
        return List.of(dir.resolve("output_0.npy"), dir.resolve("output_1.npy"), dir.resolve("output_2.npy"));
    }

    private static List<Tensor> values(float v) {
        return List.of(Tensor.ofFloats(new int[] {1}, new float[] {v}), Tensor.ofFloats(new int[] {1}, new float[] {v + 1}),
                Tensor.ofFloats(new int[] {1}, new float[] {v + 2}));
    }

    /** A mover that fails on output_1.npy: the file system refusing one of several moves. */
    private static final SafeFiles.Mover FAIL_ON_SECOND = (from, to, replace) -> {
        if (to.getFileName().toString().equals("output_1.npy")) {
            throw new IOException("disk full (simulated)");
        }
        SafeFiles.FILES.move(from, to, replace);
    };

    @Test
    void whenOneOutputCannotBePlacedNoneIs() {
        assertThrows(RuntimeException.class, () -> RunCommand.writeOutputs(targets(), values(0), false, FAIL_ON_SECOND));
        assertEquals(List.of(), Cli.list(dir), "neither output_0.npy nor staging is left");
    }

    @Test
    void whenReplacingFailsHalfWayTheEarlierRunsOutputsComeBack() {
        RunCommand.writeOutputs(targets(), values(10), false, SafeFiles.FILES);
        assertThrows(RuntimeException.class, () -> RunCommand.writeOutputs(targets(), values(20), true, FAIL_ON_SECOND));
        for (int k = 0; k < 3; k++) {
            assertArrayEquals(new float[] {10 + k}, Npy.read(targets().get(k)).toFloatArray(), "output_" + k + " is the old run's");
        }
        assertTrue(Cli.list(dir).stream().noneMatch(n -> n.startsWith(Staging.PREFIX)), "no staging or backup left: " + Cli.list(dir));
    }

    @Test
    void allOutputsArePlacedTogether() throws IOException {
        RunCommand.writeOutputs(targets(), values(1), false, SafeFiles.FILES);
        assertEquals(List.of("output_0.npy", "output_1.npy", "output_2.npy"), Cli.list(dir));
        assertArrayEquals(new float[] {3}, Npy.read(dir.resolve("output_2.npy")).toFloatArray());
        assertTrue(Files.size(dir.resolve("output_0.npy")) > 0);
    }
}
