package io.lstmx.exporters.keras;

import io.lstmx.ir.samples.Npy;
import io.lstmx.ir.samples.Golden;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.importers.keras.KerasH5Reader;
import io.lstmx.importers.keras.KerasReader;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.passes.BatchMajorInterface;
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
 * Keras reader and run in the native runtime on the fixture inputs, made batch-major where the
 * writer relayouts them: PyTorch's own outputs (output_K.npy), relayouted the same way, within atol
 * 1e-5 + rtol 1e-4. Every relayout is in the writer's notes. What Keras cannot express is refused
 * with UNSUPPORTED naming the layer or value and the feature, nothing written; {@link #REFUSED} lists
 * those fixtures and why. The list of what converts, how, and what is refused goes to
 * target/keras-fixture-conversions.txt.
 */
class FixtureConversionTest {
    @TempDir
    Path dir;

    /** The fixtures that must be refused, each with a part of its message (the others must convert, both as .keras and .h5). */
    static final Map<String, String> REFUSED = refused();

    private static Map<String, String> refused() {
        Map<String, String> m = new java.util.TreeMap<>();
        // h0 / c0 inputs [layers*directions, batch, hidden] are cut per layer and direction by Cropping1D (written batch-major)
        m.put("lstm_cell_loop_traced", "selects index 0 of axis 0");
        m.put("lstm_proj_scripted", "projection to 4");
        m.put("lstm_proj_traced", "projection to 4");
        // the last step of a computed sequence (not a recurrent layer's own): Keras has no slicing layer
        m.put("ops_around_lstm_scripted", "slices axis 1");
        m.put("ops_around_lstm_traced", "slices axis 1");
        return m;
    }

    @Test
    void fixturesConvertOrAreRefusedPrecisely() throws Exception {
        StringBuilder report = new StringBuilder();
        List<String> converted = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        int relayouted = 0;
        for (String sub : new String[] {"fixtures/onnx/pytorch", "fixtures/pytorch/torchscript"}) {
            try (Stream<Path> s = Files.list(Golden.root().resolve(sub))) {
                for (Path c : s.sorted().toList()) {
                    boolean onnx = sub.contains("onnx");
                    Path f = c.resolve(onnx ? "model.onnx" : "model.pt");
                    if (!Files.exists(f)) {
                        continue;
                    }
                    String name = c.getFileName().toString();
                    Model src = onnx ? new io.lstmx.importers.onnx.OnnxReader().read(f, ReadOptions.DEFAULT)
                            : new io.lstmx.importers.pytorch.TorchScriptReader().read(f, ReadOptions.DEFAULT);
                    BatchMajorInterface.Result relayout = BatchMajorInterface.relayout(src);
                    Map<String, List<Integer>> perms = new java.util.HashMap<>();
                    for (BatchMajorInterface.Relayout r : relayout.relayouts()) {
                        perms.put((r.input() ? "in:" : "out:") + r.name(), r.perm());
                    }
                    Map<String, Tensor> in = Npy.inputs(c, src);
                    for (String ext : new String[] {"keras", "h5"}) {
                        Path out = dir.resolve(name + "." + ext);
                        List<String> notes;
                        try {
                            notes = ext.equals("keras") ? new KerasWriter().writeWithNotes(src, out, WriteOptions.DEFAULT)
                                    : new KerasH5Writer().writeWithNotes(src, out, WriteOptions.DEFAULT);
                        } catch (LstmxException e) {
                            assertEquals(ErrorCode.UNSUPPORTED, e.code(), name + ": " + e.getMessage());
                            assertTrue(e.getMessage().contains(out.toString()), e.getMessage());
                            assertFalse(Files.exists(out), name + ": refused, yet written");
                            String msg = e.getMessage().replace(out.toString(), "OUT");
                            report.append(name).append(" .").append(ext).append(": refused: ").append(msg).append('\n');
                            if (!REFUSED.containsKey(name)) {
                                problems.add(name + "." + ext + " was refused: " + msg);
                            } else if (!msg.contains(REFUSED.get(name))) {
                                problems.add(name + "." + ext + " was refused for another reason than '" + REFUSED.get(name) + "': " + msg);
                            }
                            continue;
                        }
                        if (REFUSED.containsKey(name)) {
                            problems.add(name + "." + ext + " converted, but is listed as refused");
                        }
                        for (BatchMajorInterface.Relayout r : relayout.relayouts()) {
                            assertTrue(notes.stream().anyMatch(n -> n.contains(r.describe())), name + ": no note on " + r.describe() + " in " + notes);
                        }
                        Model back = ext.equals("keras") ? new KerasReader().read(out, ReadOptions.DEFAULT)
                                : new KerasH5Reader().read(out, ReadOptions.DEFAULT);
                        assertEquals(src.inputs().size(), back.inputs().size(), name);
                        assertEquals(src.outputs().size(), back.outputs().size(), name);
                        Map<String, Tensor> bin = new java.util.LinkedHashMap<>();
                        for (int k = 0; k < src.inputs().size(); k++) {
                            String n = src.inputs().get(k).name();
                            bin.put(back.inputs().get(k).name(), Fixtures.permute(in.get(n), perms.get("in:" + n)));
                        }
                        Map<String, Tensor> got = NativeRuntime.compile(back).run(bin);
                        for (int k = 0; k < src.outputs().size(); k++) {
                            Tensor expected = Npy.read(c.resolve("output_" + k + ".npy"));
                            String n = src.outputs().get(k).name();
                            Golden.close(Fixtures.permute(expected, perms.get("out:" + n)), got.get(back.outputs().get(k).name()),
                                    name + "." + ext + " output " + k);
                        }
                        converted.add(name + "." + ext);
                        relayouted += relayout.relayouts().size();
                        report.append(name).append(" .").append(ext).append(": converted, PyTorch's outputs equal").append(notes.isEmpty() ? "" : "; ")
                                .append(String.join("; ", notes)).append('\n');
                    }
                }
            }
        }
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/keras-fixture-conversions.txt"), report);
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems) + "\n\n" + report);
        }
        assertTrue(converted.size() >= 2 * 30, "converted only " + converted);
        assertTrue(relayouted > 0, "no relayout");
    }
}
