package io.lstmx.exporters.keras;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.importers.keras.KerasH5Reader;
import io.lstmx.importers.keras.KerasReader;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The ONNX models exported by PyTorch (fixtures/onnx/pytorch) and the TorchScript archives
 * (fixtures/pytorch/torchscript), read by lstmx, written as .keras and .h5, read back by lstmx's
 * Keras reader and run in the native runtime: the same outputs as the source model on the
 * fixture inputs; or refused with UNSUPPORTED naming the layer or value and the feature, nothing
 * written. The list of what converts and what is refused (and why) goes to
 * target/keras-fixture-conversions.txt.
 */
class FixtureConversionTest {
    @TempDir
    Path dir;

    /** The fixtures that must convert (the others must be refused precisely). */
    static final List<String> MUST_CONVERT = List.of("classifier", "classifier_opset9", "embedding_lm", "sample_classifier",
            "embedding_classifier_scripted", "embedding_classifier_traced");

    @Test
    void fixturesConvertOrAreRefusedPrecisely() throws Exception {
        StringBuilder report = new StringBuilder();
        List<String> converted = new ArrayList<>();
        for (String sub : new String[] {"fixtures/onnx/pytorch", "fixtures/pytorch/torchscript"}) {
            try (Stream<Path> s = Files.list(Check.root().resolve(sub))) {
                for (Path c : s.sorted().toList()) {
                    boolean onnx = sub.contains("onnx");
                    Path f = c.resolve(onnx ? "model.onnx" : "model.pt");
                    if (!Files.exists(f)) {
                        continue;
                    }
                    String name = c.getFileName().toString();
                    Model src = onnx ? new io.lstmx.importers.onnx.OnnxReader().read(f, ReadOptions.DEFAULT)
                            : new io.lstmx.importers.pytorch.TorchScriptReader().read(f, ReadOptions.DEFAULT);
                    Map<String, Tensor> in = Fixtures.inputs(c, src);
                    Map<String, Tensor> expected = NativeRuntime.compile(src).run(in);
                    for (String ext : new String[] {"keras", "h5"}) {
                        Path out = dir.resolve(name + "." + ext);
                        try {
                            if (ext.equals("keras")) {
                                new KerasWriter().write(src, out, WriteOptions.DEFAULT);
                            } else {
                                new KerasH5Writer().write(src, out, WriteOptions.DEFAULT);
                            }
                        } catch (LstmxException e) {
                            assertEquals(ErrorCode.UNSUPPORTED, e.code(), name + ": " + e.getMessage());
                            assertTrue(e.getMessage().contains(out.toString()), e.getMessage());
                            assertFalse(Files.exists(out), name + ": refused, yet written");
                            report.append(name).append(" .").append(ext).append(": refused: ").append(e.getMessage().replace(out.toString(), "OUT"))
                                    .append('\n');
                            continue;
                        }
                        Model back = ext.equals("keras") ? new KerasReader().read(out, ReadOptions.DEFAULT)
                                : new KerasH5Reader().read(out, ReadOptions.DEFAULT);
                        assertEquals(src.inputs().size(), back.inputs().size(), name);
                        assertEquals(src.outputs().size(), back.outputs().size(), name);
                        Map<String, Tensor> bin = new java.util.LinkedHashMap<>();
                        for (int k = 0; k < src.inputs().size(); k++) {
                            bin.put(back.inputs().get(k).name(), in.get(src.inputs().get(k).name()));
                        }
                        Map<String, Tensor> got = NativeRuntime.compile(back).run(bin);
                        for (int k = 0; k < src.outputs().size(); k++) {
                            Check.close(expected.get(src.outputs().get(k).name()), got.get(back.outputs().get(k).name()),
                                    name + "." + ext + " output " + k);
                        }
                        converted.add(name + "." + ext);
                        report.append(name).append(" .").append(ext).append(": converted, outputs equal\n");
                    }
                }
            }
        }
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/keras-fixture-conversions.txt"), report);
        for (String m : MUST_CONVERT) {
            if (!converted.contains(m + ".keras") || !converted.contains(m + ".h5")) {
                fail(m + " did not convert:\n" + report);
            }
        }
    }
}
