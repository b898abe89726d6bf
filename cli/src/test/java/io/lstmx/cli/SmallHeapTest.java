package io.lstmx.cli;

import io.lstmx.onnx.proto.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Models too large for the heap are refused before the allocation, with the hint that says how to
 * give Java more memory: run in a child JVM with -Xmx256m, as a user with a small default heap would.
 */
class SmallHeapTest {
    @TempDir
    Path dir;

    private record Outcome(int status, String err) {
    }

    private Outcome lstmx(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectOutput(dir.resolve("out.txt").toFile()).redirectError(dir.resolve("err.txt").toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("lstmx did not finish within 120 s");
        }
        return new Outcome(p.exitValue(), Files.readString(dir.resolve("err.txt")));
    }

    private static void sparse(Path p, long bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(bytes); // no disk blocks: cheap to make, as an attacker would
        }
    }

    @Test
    void aFourHundredMegabyteModelUnderTwoHundredFiftySixMegabytesIsRefusedWithTheHint() throws Exception {
        Path big = dir.resolve("big.onnx");
        sparse(big, 400L << 20);
        Outcome o = lstmx("inspect", big.toString(), "--from", "onnx");
        assertEquals(3, o.status(), o.err());
        assertTrue(o.err().contains("JAVA_TOOL_OPTIONS=-Xmx"), o.err());
        assertEquals(1, o.err().lines().count(), "one line: " + o.err());
    }

    @Test
    void aSparseTwoGigabyteExternalTensorIsRefusedBeforeItIsRead() throws Exception {
        long n = (Integer.MAX_VALUE - 64L) / 4; // float elements: just under what one tensor may hold
        Onnx.TensorProto w = Onnx.TensorProto.newBuilder().setName("w").addDims(n).setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE)
                .setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin"))
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("length").setValue(Long.toString(4 * n))).build();
        Onnx.GraphProto g = Onnx.GraphProto.newBuilder().setName("g").addInitializer(w)
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Relu").addInput("w").addOutput("y"))
                .addOutput(Onnx.ValueInfoProto.newBuilder().setName("y")).build();
        Path model = Files.write(dir.resolve("m.onnx"), Onnx.ModelProto.newBuilder().setIrVersion(8)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(14)).setGraph(g).build().toByteArray());
        sparse(dir.resolve("w.bin"), 4 * n);
        Outcome o = lstmx("inspect", model.toString());
        assertEquals(3, o.status(), o.err());
        assertTrue(o.err().contains("external data") && o.err().contains("JAVA_TOOL_OPTIONS=-Xmx"), o.err());
        assertTrue(!o.err().contains("internal error"), o.err());
    }
}
