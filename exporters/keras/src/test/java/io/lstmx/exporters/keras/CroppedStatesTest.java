package io.lstmx.exporters.keras;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.importers.keras.KerasReader;
import io.lstmx.importers.pytorch.TorchScriptReader;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.samples.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PyTorch's stacked initial states (h0 [layers x directions, batch, hidden]) in Keras: the writer
 * cuts each layer's and direction's state out with Cropping1D (FixtureConversionTest checks the
 * outputs); here the layers it writes, the reader's forms of Cropping1D's argument, and its refusals.
 */
class CroppedStatesTest {
    @TempDir
    Path dir;

    private static Model traced(String name) {
        return new TorchScriptReader().read(Golden.root().resolve("fixtures/pytorch/torchscript/" + name + "/model.pt"), ReadOptions.DEFAULT);
    }

    private static String config(Path keras) throws IOException {
        try (ZipFile z = new ZipFile(keras.toFile())) {
            return new String(z.getInputStream(z.getEntry("config.json")).readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** A copy of the .keras archive with config.json's text replaced (entries stored, as Keras writes them). */
    private Path withConfig(Path keras, String name, String config) throws IOException {
        Path out = dir.resolve(name + ".keras");
        try (ZipFile z = new ZipFile(keras.toFile()); OutputStream os = Files.newOutputStream(out); ZipOutputStream zo = new ZipOutputStream(os)) {
            for (Enumeration<? extends ZipEntry> en = z.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                byte[] data = e.getName().equals("config.json") ? config.getBytes(StandardCharsets.UTF_8) : z.getInputStream(e).readAllBytes();
                ZipEntry n = new ZipEntry(e.getName());
                n.setMethod(ZipEntry.STORED);
                n.setSize(data.length);
                CRC32 crc = new CRC32();
                crc.update(data);
                n.setCrc(crc.getValue());
                zo.putNextEntry(n);
                zo.write(data);
                zo.closeEntry();
            }
        }
        return out;
    }

    private static List<Layer.Slice> slices(Model m) {
        List<Layer.Slice> out = new ArrayList<>();
        m.layers().forEach(l -> {
            if (l instanceof Layer.Slice s) {
                out.add(s);
            }
        });
        return out;
    }

    @Test
    void aTracedModulesH0GetsItsLayerCountAndWidthAndEachLayerItsOwnCrop() throws IOException {
        Model m = traced("gru_initial_state_traced");
        assertEquals(new Dim.Fixed(2), m.inputs().get(1).shape().dim(0), "torch.gru binds h0's first axis to layers x directions");
        assertEquals(new Dim.Fixed(10), m.inputs().get(1).shape().dim(2), "and its last to the hidden size");
        Path k = dir.resolve("gru.keras");
        new KerasWriter().write(m, k, WriteOptions.DEFAULT);
        String cfg = config(k);
        assertTrue(cfg.contains("\"Cropping1D\""), cfg);
        assertTrue(cfg.replace(" ", "").contains("\"cropping\":[0,1]") && cfg.replace(" ", "").contains("\"cropping\":[1,0]"), cfg);
        Model back = new KerasReader().read(k, ReadOptions.DEFAULT);
        List<Layer.Slice> s = slices(back);
        assertEquals(2, s.size(), back.layers().toString());
        assertEquals(List.of(0L, 1L), List.of(s.get(0).start(), s.get(0).end()));
        assertEquals(List.of(1L, 2L), List.of(s.get(1).start(), s.get(1).end()));
        assertTrue(s.stream().allMatch(x -> x.axis() == 1 && x.step() == 1));
    }

    @Test
    void croppingAsOneIntegerCropsBothEndsAndOverCroppingIsRefused() throws IOException {
        Path k = dir.resolve("gru.keras");
        new KerasWriter().write(traced("gru_initial_state_traced"), k, WriteOptions.DEFAULT);
        String cfg = config(k).replace(" ", "");
        // one integer for both ends: [batch, 2, H] cropped by 1 and 1 leaves nothing: refused, naming the layer
        Path both = withConfig(k, "both", cfg.replaceFirst("\"cropping\":\\[0,1\\]", "\"cropping\":1"));
        LstmxException e = assertThrows(LstmxException.class, () -> new KerasReader().read(both, ReadOptions.DEFAULT));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("cropping (1, 1) leaves nothing of 2 steps"), e.getMessage());
        Path negative = withConfig(k, "negative", cfg.replaceFirst("\"cropping\":\\[0,1\\]", "\"cropping\":[-1,2]"));
        LstmxException n = assertThrows(LstmxException.class, () -> new KerasReader().read(negative, ReadOptions.DEFAULT));
        assertEquals(ErrorCode.BAD_INPUT, n.code(), n.getMessage());
        assertTrue(n.getMessage().contains("cropping[0]"), n.getMessage());
        Path three = withConfig(k, "three", cfg.replaceFirst("\"cropping\":\\[0,1\\]", "\"cropping\":[0,1,2]"));
        LstmxException t = assertThrows(LstmxException.class, () -> new KerasReader().read(three, ReadOptions.DEFAULT));
        assertTrue(t.getMessage().contains("is not two integers"), t.getMessage());
    }
}
