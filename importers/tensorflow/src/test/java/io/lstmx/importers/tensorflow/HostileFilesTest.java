package io.lstmx.importers.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Damaged SavedModels, checkpoint indexes, data shards and GraphDefs give only one-line LstmxExceptions. */
class HostileFilesTest {
    static final Path SAVED = CommittedFixturesTest.ROOT.resolve("block_lstm_savedmodel/saved_model");

    @TempDir
    Path tmp;

    private Path copy() throws IOException {
        Path d = tmp.resolve("m" + System.nanoTime());
        Files.createDirectories(d.resolve("variables"));
        for (String f : new String[] {"saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"}) {
            Files.copy(SAVED.resolve(f), d.resolve(f));
        }
        return d;
    }

    private static void onlyLstmxErrors(Runnable r) {
        try {
            r.run();
        } catch (LstmxException e) {
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        } catch (RuntimeException | Error e) {
            fail("escaped: " + e, e);
        }
    }

    @Test
    void mutatedAndTruncatedFiles() throws IOException {
        Random rnd = new Random(1);
        for (String f : new String[] {"variables/variables.index", "variables/variables.data-00000-of-00001", "saved_model.pb"}) {
            byte[] orig = Files.readAllBytes(SAVED.resolve(f));
            for (int k = 0; k < 150; k++) {
                Path d = copy();
                byte[] b = orig.clone();
                if (k % 3 == 0) {
                    b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
                } else {
                    for (int j = 0; j <= k % 4; j++) {
                        b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                    }
                }
                Files.write(d.resolve(f), b);
                onlyLstmxErrors(() -> new SavedModelReader().read(d, ReadOptions.DEFAULT));
            }
        }
        byte[] g = Files.readAllBytes(CommittedFixturesTest.ROOT.resolve("block_lstm/model.pb"));
        for (int k = 0; k < 300; k++) {
            byte[] b = g.clone();
            if (k % 3 == 0) {
                b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            } else {
                b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
            }
            Path p = tmp.resolve("g" + k + ".pb");
            Files.write(p, b);
            onlyLstmxErrors(() -> new GraphDefReader().read(p, ReadOptions.DEFAULT));
        }
    }

    /** The cell forms (LSTMBlockCell chains and loops, TF1 cells in loops and unrolled, TensorList loops) damaged byte-wise. */
    @Test
    void mutatedCellFormGraphs() throws IOException {
        Random rnd = new Random(2);
        for (String name : new String[] {"lstm_block_cell_unrolled", "lstm_block_cell_while", "tf1_cell_while", "tf1_cell_peephole_clip_while",
                "tf1_cell_peephole_clip_unrolled", "tf1_cell_unrolled", "tensorlist_while"}) {
            byte[] g = Files.readAllBytes(CommittedFixturesTest.ROOT.resolve(name).resolve("model.pb"));
            for (int k = 0; k < 60; k++) {
                byte[] b = g.clone();
                if (k % 4 == 0) {
                    b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
                } else {
                    for (int j = 0; j < 1 + k % 3; j++) {
                        b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                    }
                }
                Path p = tmp.resolve(name + k + ".pb");
                Files.write(p, b);
                onlyLstmxErrors(() -> new GraphDefReader().read(p, ReadOptions.DEFAULT));
            }
        }
    }

    @Test
    void snappyBlocksAreRefusedPrecisely() throws IOException {
        Path d = copy();
        byte[] b = Files.readAllBytes(d.resolve("variables/variables.index"));
        int[] pos = {b.length - TensorBundle.FOOTER};
        TensorBundle.Varint.read64(b, pos, b.length, "");
        TensorBundle.Varint.read64(b, pos, b.length, "");
        long indexOffset = TensorBundle.Varint.read64(b, pos, b.length, "");
        long indexSize = TensorBundle.Varint.read64(b, pos, b.length, "");
        java.util.Map<String, byte[]> handles = new java.util.LinkedHashMap<>();
        TensorBundle.entries(java.util.Arrays.copyOfRange(b, (int) indexOffset, (int) (indexOffset + indexSize)), "", handles);
        byte[] h = handles.values().iterator().next();
        int[] hp = {0};
        long off = TensorBundle.Varint.read64(h, hp, h.length, "");
        long size = TensorBundle.Varint.read64(h, hp, h.length, "");
        b[(int) (off + size)] = 1; // the first data block's trailer: compression type snappy
        Files.write(d.resolve("variables/variables.index"), b);
        try {
            new SavedModelReader().read(d, ReadOptions.DEFAULT);
            fail("read a snappy block");
        } catch (LstmxException e) {
            assertTrue(e.getMessage().contains("Snappy-compressed"), e.getMessage());
        }
    }

    @Test
    void aSplatConstantOfAGibibyteIsRefusedBeforeItIsExpanded() throws IOException {
        // Found by tests/TensorflowCorruptFilesTest: TensorFlow repeats a constant's last value over
        // its shape, so a hundred bytes could declare 2^28 floats, allocated before the fold budget
        // refused them.
        org.tensorflow.proto.TensorProto big = org.tensorflow.proto.TensorProto.newBuilder()
                .setDtype(org.tensorflow.proto.DataType.DT_FLOAT).addFloatVal(1f)
                .setTensorShape(org.tensorflow.proto.TensorShapeProto.newBuilder()
                        .addDim(org.tensorflow.proto.TensorShapeProto.Dim.newBuilder().setSize(1 << 14))
                        .addDim(org.tensorflow.proto.TensorShapeProto.Dim.newBuilder().setSize(1 << 14)))
                .build();
        org.tensorflow.proto.GraphDef g = org.tensorflow.proto.GraphDef.newBuilder()
                .addNode(org.tensorflow.proto.NodeDef.newBuilder().setName("big").setOp("Const")
                        .putAttr("value", org.tensorflow.proto.AttrValue.newBuilder().setTensor(big).build())
                        .putAttr("dtype", org.tensorflow.proto.AttrValue.newBuilder().setType(org.tensorflow.proto.DataType.DT_FLOAT).build()))
                .addNode(org.tensorflow.proto.NodeDef.newBuilder().setName("out").setOp("Identity").addInput("big"))
                .build();
        Path p = tmp.resolve("splat.pb");
        Files.write(p, g.toByteArray());
        assertTrue(Files.size(p) < 200, "the file is " + Files.size(p) + " bytes");
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = mx.getCurrentThreadAllocatedBytes();
        try {
            new GraphDefReader().read(p, ReadOptions.DEFAULT);
            fail("read a constant of 2^28 elements from " + Files.size(p) + " bytes");
        } catch (LstmxException e) {
            assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("'big'") && !e.getMessage().contains("\n"),
                    e.getMessage());
        }
        long used = mx.getCurrentThreadAllocatedBytes() - before;
        assertTrue(used < 64L << 20, "allocated " + (used >> 20) + " MiB");
    }

    @Test
    void aDataShardThatIsAFifoIsRefusedWithoutWaitingForAWriter() throws Exception {
        // Found by tests/TensorflowCorruptFilesTest: opening a FIFO for reading blocks until some
        // process writes to it, so a SavedModel whose shard was one hung the read for ever.
        Path d = copy();
        Path shard = d.resolve("variables/variables.data-00000-of-00001");
        Files.delete(shard);
        assertTrue(new ProcessBuilder("mkfifo", shard.toString()).start().waitFor() == 0, "mkfifo");
        LstmxException e = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
                () -> org.junit.jupiter.api.Assertions.assertThrows(LstmxException.class, () -> new SavedModelReader().read(d, ReadOptions.DEFAULT)));
        assertTrue(e.getMessage().contains(shard.toString()) && e.getMessage().contains("not a regular file"), e.getMessage());
    }
}
