package io.lstmx.cli;

import com.google.protobuf.ByteString;
import io.lstmx.onnx.proto.Onnx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Well-formed protobuf that a hostile or careless writer made inconsistent (found by the tests
 * module's mutation test, CorruptFilesTest): convert exits 2 (BAD_INPUT) or 3 (UNSUPPORTED) with
 * one line naming the file and the node, and writes nothing.
 */
class HostileFileTest {
    @TempDir
    Path dir;

    private Path mutant(String name, UnaryOperator<Onnx.GraphProto.Builder> change) throws IOException {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(Cli.fixture("sample_classifier").resolve("model.onnx")));
        Onnx.GraphProto.Builder g = change.apply(m.getGraph().toBuilder());
        return Files.write(dir.resolve(name), m.toBuilder().setGraph(g).build().toByteArray());
    }

    private static Onnx.NodeProto.Builder node(Onnx.GraphProto.Builder g, String opType) {
        return g.getNodeBuilderList().stream().filter(n -> n.getOpType().equals(opType)).findFirst().orElseThrow();
    }

    private void refused(Path bad, int exit, String... fragments) {
        Path out = dir.resolve("out.onnx");
        Cli.Result r = Cli.run("convert", bad, out).expect(exit);
        assertTrue(r.err().contains(bad.toString()), "names the file: " + r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "'" + f + "' in: " + r.err());
        }
        assertEquals(List.of(bad.getFileName().toString()), Cli.list(dir), "nothing written");
    }

    @Test
    void attributeOfTheWrongType() throws IOException {
        Path bad = mutant("axis_floats.onnx", g -> {
            Onnx.NodeProto.Builder softmax = node(g, "Softmax");
            softmax.setAttribute(0, Onnx.AttributeProto.newBuilder().setName("axis").setType(Onnx.AttributeProto.AttributeType.FLOATS)
                    .addFloats(1.5f));
            return g;
        });
        refused(bad, 2, "node '/Softmax' (Softmax): attribute 'axis' is FLOATS, expected INT");
    }

    @Test
    void nodeWithAnOutputItsOperatorDoesNotHave() throws IOException {
        refused(mutant("extra_output.onnx", g -> {
            node(g, "Gemm").addOutput("extra");
            return g;
        }), 2, "node '/head/Gemm' (Gemm) declares 2 outputs");
    }

    @Test
    void nameWithALineBreak() throws IOException {
        refused(mutant("newline.onnx", g -> {
            node(g, "Gemm").setName("two\nlines").setInput(0, "no\nsuch value");
            return g;
        }), 2, "node 'two lines' (Gemm) reads 'no such value'");
    }

    @Test
    void externalDataOutsideTheModelFolder() throws IOException {
        refused(mutant("escape.onnx", g -> {
            g.getInitializerBuilder(0).clearRawData().setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("location").setValue("../../../etc/passwd"));
            return g;
        }), 2, "leaves the model's folder");
    }

    @Test
    void fewBytesThatWouldFoldIntoAHugeTensor() throws IOException {
        // Tile of a 2-element constant by 2^25, then Adds of the result: 64Mi-element tensors each.
        refused(mutant("amplify.onnx", g -> {
            ByteBuffer rep = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 25);
            ByteBuffer c = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1).putFloat(2);
            g.addInitializer(Onnx.TensorProto.newBuilder().setName("amp_c").addDims(2).setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE)
                    .setRawData(ByteString.copyFrom(c.array())));
            g.addInitializer(Onnx.TensorProto.newBuilder().setName("amp_rep").addDims(1).setDataType(Onnx.TensorProto.DataType.INT64_VALUE)
                    .setRawData(ByteString.copyFrom(rep.array())));
            g.addNode(Onnx.NodeProto.newBuilder().setName("amp_tile").setOpType("Tile").addInput("amp_c").addInput("amp_rep").addOutput("amp_t0"));
            for (int i = 1; i <= 8; i++) {
                g.addNode(Onnx.NodeProto.newBuilder().setName("amp_add" + i).setOpType("Add")
                        .addInput("amp_t" + (i - 1)).addInput("amp_t0").addOutput("amp_t" + i));
            }
            return g;
        }), 3, "node 'amp_tile' (Tile): folding would create a tensor of shape [67108864]");
    }
}
