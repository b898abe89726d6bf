package io.lstmx.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Broken model files: every command exits 2 with one error line naming the file, and writes nothing. */
class BadFilesTest {
    @TempDir
    static Path dir;

    static List<Path> bad = new ArrayList<>();

    @BeforeAll
    static void makeFiles() throws IOException {
        byte[] real = Files.readAllBytes(Cli.realOnnx());
        bad.add(Files.write(dir.resolve("truncated.onnx"), Arrays.copyOf(real, real.length / 2)));
        bad.add(Files.write(dir.resolve("cut-in-header.onnx"), Arrays.copyOf(real, 40)));
        byte[] noise = new byte[4096];
        new Random(99).nextBytes(noise);
        bad.add(Files.write(dir.resolve("noise.onnx"), noise));
        bad.add(Files.write(dir.resolve("noise.bin"), noise));
        bad.add(Files.write(dir.resolve("notes.onnx"), "This is a text file, not a model.\n".getBytes(StandardCharsets.UTF_8)));
        bad.add(Files.write(dir.resolve("empty.onnx"), new byte[0]));
        bad.add(dir.resolve("missing.onnx"));
    }

    @TestFactory
    List<DynamicTest> everyCommandRefusesBadFiles() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path f : bad) {
            for (String cmd : new String[] {"inspect", "run", "convert", "verify"}) {
                tests.add(DynamicTest.dynamicTest(cmd + " " + f.getFileName(), () -> {
                    Path out = dir.resolve("out-" + cmd + "-" + f.getFileName());
                    Cli.Result r = switch (cmd) {
                        case "run" -> Cli.run(cmd, f, "--output-dir", out);
                        case "convert" -> Cli.run(cmd, f, out.resolveSibling(out.getFileName() + ".onnx"));
                        default -> Cli.run(cmd, f);
                    };
                    r.expect(2);
                    assertTrue(r.err().contains(f.toString()), "names the file: " + r.err());
                    assertEquals(List.of(), Cli.list(dir).stream().filter(n -> n.startsWith("out-") || n.startsWith(".lstmx")).toList());
                }));
            }
        }
        return tests;
    }
}
