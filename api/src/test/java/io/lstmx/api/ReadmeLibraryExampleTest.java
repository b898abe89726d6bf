package io.lstmx.api;

import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The README's library example is code that compiles and runs as printed. The ```java block under
 * "## The library" becomes the body of a main method (its import lines go above the class), is
 * compiled against this module's test class path (lstmx-api with only the ONNX plug-ins, what an
 * ONNX-only user puts on theirs) and run in its own JVM in a folder holding the README's sample
 * model as model.onnx and its input as x.npy, so that the snippet's relative paths mean what they say.
 */
class ReadmeLibraryExampleTest {
    private static final String CLASS_NAME = "ReadmeLibraryExample";

    @TempDir
    Path dir;

    private static Path root() {
        return Path.of(System.getProperty("lstmx.root", "..")).toAbsolutePath().normalize();
    }

    /** The lines of the first ```java block after the heading "## The library", before the next heading. */
    static List<String> snippet(List<String> readme) {
        int heading = readme.indexOf("## The library");
        assertTrue(heading >= 0, "README.md has no '## The library' section");
        List<String> block = null;
        for (String line : readme.subList(heading + 1, readme.size())) {
            if (block == null) {
                if (line.startsWith("## ")) {
                    break;
                }
                if (line.strip().equals("```java")) {
                    block = new ArrayList<>();
                }
            } else if (line.strip().equals("```")) {
                return block;
            } else {
                block.add(line);
            }
        }
        return fail("no complete ```java block under '## The library' in README.md");
    }

    /** The snippet as a class: its imports on top, everything else in main. */
    static String asClass(List<String> snippet) {
        String imports = snippet.stream().filter(l -> l.startsWith("import ")).collect(Collectors.joining("\n"));
        String body = snippet.stream().filter(l -> !l.startsWith("import ")).collect(Collectors.joining("\n"));
        return imports + "\n\npublic class " + CLASS_NAME + " {\n    public static void main(String[] args) throws Exception {\n"
                + body + "\n    }\n}\n";
    }

    private static String classPath() {
        // Surefire may start the JVM from a manifest-only jar; it names the real test class path here.
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    private static void compile(String source, Path out) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no Java compiler in this runtime (a JDK is needed to build lstmx anyway)");
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        JavaFileObject file = new SimpleJavaFileObject(URI.create("string:///" + CLASS_NAME + ".java"), JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return source;
            }
        };
        List<String> options = List.of("-classpath", classPath(), "-d", out.toString(), "--release", "17", "-Xlint:all", "-Werror");
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            boolean ok = javac.getTask(null, files, diagnostics, options, null, List.of(file)).call();
            if (!ok) {
                String why = diagnostics.getDiagnostics().stream()
                        .filter(d -> d.getKind() == Diagnostic.Kind.ERROR || d.getKind() == Diagnostic.Kind.WARNING
                                || d.getKind() == Diagnostic.Kind.MANDATORY_WARNING)
                        .map(d -> "line " + d.getLineNumber() + ": " + d.getMessage(null))
                        .collect(Collectors.joining("\n"));
                fail("the README's library example does not compile:\n" + why + "\n--- as compiled:\n" + source);
            }
        }
    }

    @Test
    void theReadmeLibraryExampleCompilesAndRunsOnTheSampleModel() throws Exception {
        List<String> snippet = snippet(Files.readAllLines(root().resolve("README.md")));
        String text = String.join("\n", snippet);
        // The example is the library's tour: it must keep showing each of these calls.
        for (String call : List.of("Lstmx.load(", ".run(", ".openSession()", ".feed(", ".reset()", "Lstmx.save(", "Format.ONNX",
                "Lstmx.formats()")) {
            assertTrue(text.contains(call), "the README's library example no longer shows " + call);
        }

        Path classes = Files.createDirectory(dir.resolve("classes"));
        compile(asClass(snippet), classes);

        Path sample = root().resolve("fixtures/onnx/pytorch/sample_classifier");
        Path work = Files.createDirectory(dir.resolve("work"));
        Files.copy(sample.resolve("model.onnx"), work.resolve("model.onnx"));
        Files.copy(sample.resolve("input_0.npy"), work.resolve("x.npy"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-cp", classes + File.pathSeparator + classPath(), CLASS_NAME)
                .directory(work.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("output.txt").toFile())
                .start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("the README's library example did not finish within 120 s");
        }
        String output = Files.readString(dir.resolve("output.txt"));
        assertEquals(0, p.exitValue(), "the README's library example failed:\n" + output);

        // What it printed is what the model computes on x, and the copy it saved computes the same.
        LoadedModel m = Lstmx.load(work.resolve("model.onnx"));
        Tensor x = Npy.read(work.resolve("x.npy"));
        Tensor probs = m.run(Map.of("x", x)).get("probs");
        List<String> lines = output.lines().toList();
        assertTrue(lines.contains(Arrays.toString(probs.toFloatArray())), "prints the probabilities:\n" + output);
        assertTrue(lines.contains(Lstmx.formats().toString()), "prints the formats present:\n" + output);
        assertTrue(Lstmx.load(work.resolve("copy.onnx")).run(Map.of("x", x)).get("probs").bitEquals(probs),
                "copy.onnx computes what model.onnx computes");
    }
}
