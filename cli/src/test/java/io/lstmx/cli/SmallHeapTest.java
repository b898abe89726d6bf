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
    /**
     * Issue 9: converting holds a model's weights about once, not two or three times (the parse
     * aliases the mapped file, initializers are dropped once their canonical copies exist, the writer
     * streams the weights). Three LSTM layers of 1024 units, 96 MiB of weights, convert ONNX to ONNX
     * under -Xmx256m (twice the weights and 64 MiB for the JVM), every weight bit-identical.
     */
    @Test
    void aModelOfNinetySixMegabytesOfWeightsConvertsUnderTwiceItsWeights() throws Exception {
        int h = 1024;
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        List<io.lstmx.ir.Layer> layers = new ArrayList<>();
        String x = "X";
        for (int l = 0; l < 3; l++) {
            io.lstmx.ir.LstmWeights w = new io.lstmx.ir.LstmWeights(random(r, 4 * h, h), random(r, 4 * h, h), random(r, 4 * h), random(r, 4 * h),
                    null, null);
            layers.add(new io.lstmx.ir.Layer.Lstm("lstm" + l, new io.lstmx.ir.RecurrentPorts(x, null, null, null, "Y" + l, null, null),
                    io.lstmx.ir.LstmSpec.standard(h, h, io.lstmx.ir.Direction.FORWARD, io.lstmx.ir.Layout.TIME_MAJOR), List.of(w),
                    io.lstmx.ir.GateOrder.CANONICAL));
            layers.add(new io.lstmx.ir.Layer.Squeeze("sq" + l, "Y" + l, "X" + (l + 1), List.of(1)));
            x = "X" + (l + 1);
        }
        io.lstmx.ir.Model m = new io.lstmx.ir.Model("big", io.lstmx.ir.ModelInfo.NONE,
                List.of(new io.lstmx.ir.ValueInfo("X", io.lstmx.ir.DType.FLOAT32, io.lstmx.ir.Shape.of("T", "B", h))),
                List.of(new io.lstmx.ir.ValueInfo(x, io.lstmx.ir.DType.FLOAT32, io.lstmx.ir.Shape.of("T", "B", h))), layers);
        Path src = dir.resolve("big.onnx");
        io.lstmx.api.Lstmx.save(m, src, io.lstmx.formats.Format.ONNX);
        Path dst = dir.resolve("copy.onnx");
        Outcome o = lstmx("convert", src.toString(), dst.toString());
        assertEquals(0, o.status(), o.err());
        io.lstmx.ir.Model back = io.lstmx.api.Lstmx.read(dst, io.lstmx.formats.Format.ONNX);
        int compared = 0;
        for (io.lstmx.ir.Layer l : back.layers()) {
            if (l instanceof io.lstmx.ir.Layer.Lstm lstm) {
                io.lstmx.ir.LstmWeights want = ((io.lstmx.ir.Layer.Lstm) m.layers().get(2 * compared)).weights().get(0);
                io.lstmx.ir.LstmWeights got = lstm.weights().get(0);
                assertTrue(want.w().bitEquals(got.w()) && want.r().bitEquals(got.r()) && want.wb().bitEquals(got.wb())
                        && want.rb().bitEquals(got.rb()), lstm.name());
                compared++;
            }
        }
        assertEquals(3, compared);
    }

    private static io.lstmx.ir.Tensor random(java.util.SplittableRandom r, int... shape) {
        float[] v = new float[io.lstmx.ir.Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() - 0.5);
        }
        return io.lstmx.ir.Tensor.adoptFloats(shape, v);
    }
}
