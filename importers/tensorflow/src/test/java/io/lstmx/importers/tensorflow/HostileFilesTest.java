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
}
