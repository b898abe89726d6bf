package io.lstmx.importers.onnx;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.OperatorSetIdProto;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx.StringStringEntryProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.onnx.proto.Onnx.TensorProto.DataType;
import io.lstmx.onnx.proto.Onnx.TensorShapeProto;
import io.lstmx.onnx.proto.Onnx.TypeProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OnnxReaderTest {
    @TempDir
    Path dir;

    /** A valid one-node model: y = relu(x). */
    static byte[] reluModel() {
        ValueInfoProto x = ValueInfoProto.newBuilder().setName("x")
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(1))).build();
        GraphProto g = GraphProto.newBuilder().setName("relu").addInput(x)
                .addNode(NodeProto.newBuilder().setOpType("Relu").addInput("x").addOutput("y"))
                .addOutput(ValueInfoProto.newBuilder().setName("y"))
                .setDocString("padding so that truncation cuts inside the graph message ".repeat(4)).build();
        return ModelProto.newBuilder().setIrVersion(7).addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13))
                .setProducerName("test").setGraph(g).build().toByteArray();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static void assertNotOnnx(Path p) {
        LstmxException e = assertThrows(LstmxException.class, () -> OnnxImporter.load(p, java.util.Map.of()));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertTrue(e.getMessage().startsWith(p + ": not a valid ONNX model: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    @Test
    void loadsAValidFile() throws IOException {
        Model m = read(write("m.onnx", reluModel()), null);
        assertEquals("relu", m.name());
        assertTrue(m.layers().get(0) instanceof Layer.Activation);
    }

    @Test
    void truncatedFileIsBadInput() throws IOException {
        byte[] full = reluModel();
        for (int cut : new int[] {full.length / 2, full.length - 3, 5}) {
            assertNotOnnx(write("cut" + cut + ".onnx", Arrays.copyOf(full, cut)));
        }
    }

    @Test
    void randomBytesAreBadInput() throws IOException {
        Random r = new Random(42);
        for (int i = 0; i < 5; i++) {
            byte[] b = new byte[200 + i * 300];
            r.nextBytes(b);
            assertNotOnnx(write("random" + i + ".onnx", b));
        }
    }

    @Test
    void emptyAndTextFilesAreBadInput() throws IOException {
        assertNotOnnx(write("empty.onnx", new byte[0]));
        assertNotOnnx(write("notes.onnx", "This is a README, not a model.\nSecond line.\n".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void missingFileIsBadInput() {
        LstmxException e = assertThrows(LstmxException.class, () -> OnnxImporter.load(dir.resolve("nothing.onnx"), java.util.Map.of()));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("nothing.onnx"), e.getMessage());
    }

    /** y = x + c with c stored as the given TensorProto. */
    private static byte[] addModel(TensorProto c) {
        ValueInfoProto x = ValueInfoProto.newBuilder().setName("x")
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(1)
                        .setShape(TensorShapeProto.newBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(2))))).build();
        GraphProto g = GraphProto.newBuilder().setName("add").addInput(x).addInitializer(c)
                .addNode(NodeProto.newBuilder().setOpType("Add").addInput("x").addInput("c").addOutput("y"))
                .addOutput(ValueInfoProto.newBuilder().setName("y")).build();
        return ModelProto.newBuilder().setIrVersion(7).addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(13))
                .setGraph(g).build().toByteArray();
    }

    private static Tensor constantOf(Model m) {
        return m.layers().stream().filter(l -> l instanceof Layer.Constant).map(l -> ((Layer.Constant) l).value()).findFirst().orElseThrow();
    }

    @Test
    void externalDataIsReadFromTheModelFolderOnly() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f);
        write("weights.bin", b.array());
        TensorProto.Builder c = TensorProto.newBuilder().setName("c").addDims(2).setDataType(DataType.FLOAT_VALUE)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("weights.bin"));
        Model m = OnnxImporter.load(write("ext.onnx", addModel(c.build())), java.util.Map.of());
        assertArrayEquals(new float[] {1.5f, -2f}, constantOf(m).toFloatArray());

        Path sub = Files.createDirectory(dir.resolve("sub"));
        c.setExternalData(0, StringStringEntryProto.newBuilder().setKey("location").setValue("../weights.bin"));
        Path escaping = sub.resolve("escape.onnx");
        Files.write(escaping, addModel(c.build()));
        LstmxException e = assertThrows(LstmxException.class, () -> OnnxImporter.load(escaping, java.util.Map.of()));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("leaves the model's folder"), e.getMessage());
    }

    private LstmxException refusedExternal(String name, String location, String... more) throws IOException {
        TensorProto.Builder c = TensorProto.newBuilder().setName("c").addDims(2).setDataType(DataType.FLOAT_VALUE)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location));
        for (int i = 0; i < more.length; i += 2) {
            c.addExternalData(StringStringEntryProto.newBuilder().setKey(more[i]).setValue(more[i + 1]));
        }
        Path p = write(name, addModel(c.build()));
        LstmxException e = assertThrows(LstmxException.class, () -> OnnxImporter.load(p, java.util.Map.of()));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertTrue(e.getMessage().startsWith(p + ": tensor 'c'"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    @Test
    void hostileExternalDataLocationsAreBadInput() throws IOException {
        write("weights.bin", new byte[8]);
        // A NUL in the location once escaped as java.nio.file.InvalidPathException.
        assertTrue(refusedExternal("nul.onnx", "weights\u0000.bin").getMessage().contains("not a valid path"));
        assertTrue(refusedExternal("abs.onnx", "/etc/passwd").getMessage().contains("leaves the model's folder"));
        assertTrue(refusedExternal("empty.onnx", "").getMessage().contains("leaves the model's folder"));
        assertTrue(refusedExternal("dot.onnx", ".").getMessage().contains("does not exist"));
        // offset + length overflowed a long and passed the size check before.
        assertTrue(refusedExternal("offset.onnx", "weights.bin", "offset", "9223372036854775807").getMessage().contains("at offset"));
        assertTrue(refusedExternal("length.onnx", "weights.bin", "length", "-5").getMessage().contains("length -5"));
    }

    @Test
    void externalDataMayNotLinkOutOfTheFolder() throws IOException {
        Path outside = Files.createDirectory(dir.resolve("outside"));
        Files.write(outside.resolve("secret.bin"), new byte[8]);
        Path models = Files.createDirectory(dir.resolve("models"));
        try {
            Files.createSymbolicLink(models.resolve("link.bin"), outside.resolve("secret.bin"));
        } catch (UnsupportedOperationException | IOException e) {
            Assumptions.abort("no symbolic links on this file system (" + e + "): nothing to check");
        }
        TensorProto c = TensorProto.newBuilder().setName("c").addDims(2).setDataType(DataType.FLOAT_VALUE)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("link.bin")).build();
        Path p = Files.write(models.resolve("m.onnx"), addModel(c));
        LstmxException e = assertThrows(LstmxException.class, () -> OnnxImporter.load(p, java.util.Map.of()));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("links outside the model's folder"), e.getMessage());
    }

    @Test
    void dimsClaimingBillionsOfElementsAreRefusedBeforeAllocating() throws IOException {
        // [2^30] floats without data: the float[2^30] (4 GiB) was allocated before the count was checked.
        for (int type : new int[] {DataType.FLOAT_VALUE, DataType.INT64_VALUE, DataType.FLOAT16_VALUE}) {
            TensorProto c = TensorProto.newBuilder().setName("c").addDims(1L << 30).setDataType(type).build();
            Path p = write("huge" + type + ".onnx", addModel(c));
            long before = allocated();
            LstmxException e = assertThrows(LstmxException.class, () -> OnnxImporter.load(p, java.util.Map.of()));
            assertTrue(allocated() - before < (64L << 20), "allocated " + (allocated() - before) + " bytes");
            assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains(p + ": tensor 'c' holds 0 values, expected 1073741824"), e.getMessage());
        }
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    void doubleAndFloat16InitializersBecomeFloat32() throws IOException {
        TensorProto d = TensorProto.newBuilder().setName("c").addDims(2).setDataType(DataType.DOUBLE_VALUE)
                .addDoubleData(0.25).addDoubleData(-3).build();
        assertArrayEquals(new float[] {0.25f, -3f}, constantOf(OnnxImporter.load(write("d.onnx", addModel(d)), java.util.Map.of())).toFloatArray());
        // float16 1.0 = 0x3c00, -2.0 = 0xc000
        TensorProto h = TensorProto.newBuilder().setName("c").addDims(2).setDataType(DataType.FLOAT16_VALUE)
                .addInt32Data(0x3c00).addInt32Data(0xc000).build();
        assertArrayEquals(new float[] {1f, -2f}, constantOf(OnnxImporter.load(write("h.onnx", addModel(h)), java.util.Map.of())).toFloatArray());
    }

    private static Model read(Path p, Object ignored) {
        return new OnnxReader().read(p, io.lstmx.formats.ReadOptions.DEFAULT);
    }

    @Test
    void recognisesOnnxByItsFirstFieldWhateverTheName() throws IOException {
        assertEquals(io.lstmx.formats.Recognition.BY_CONTENT,
                new OnnxReader().recognise(new io.lstmx.formats.FileProbe(write("model.bin", reluModel()))));
        assertEquals(io.lstmx.formats.Recognition.BY_NAME,
                new OnnxReader().recognise(new io.lstmx.formats.FileProbe(write("a.onnx", new byte[] {1}))));
        assertEquals(io.lstmx.formats.Recognition.NO,
                new OnnxReader().recognise(new io.lstmx.formats.FileProbe(write("readme.txt", "hello".getBytes(StandardCharsets.UTF_8)))));
    }
    /**
     * The file is mapped and parsed with aliasing: an initializer's raw_data is a view of the
     * mapping, not a copy in the heap (issue 9; protobuf copies unless told the buffer is immutable).
     */
    @Test
    void rawDataIsAViewOfTheMappedFileNotAHeapCopy() throws IOException {
        TensorProto w = io.lstmx.onnx.OnnxTensors.fromTensor("w", Tensor.ofFloats(new int[] {64}, new float[64]));
        ModelProto m = ModelProto.parseFrom(reluModel());
        m = m.toBuilder().setGraph(m.getGraph().toBuilder().addInitializer(w)).build();
        ModelProto parsed = OnnxImporter.parse(write("m.onnx", m.toByteArray()));
        ByteBuffer raw = parsed.getGraph().getInitializer(0).getRawData().asReadOnlyByteBuffer();
        assertTrue(raw.isDirect(), "raw_data aliases the mapped file");
        assertEquals(w.getRawData(), parsed.getGraph().getInitializer(0).getRawData());
    }
}
