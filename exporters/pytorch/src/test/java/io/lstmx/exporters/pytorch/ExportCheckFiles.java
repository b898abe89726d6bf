package io.lstmx.exporters.pytorch;

import io.lstmx.ir.samples.Npy;
import io.lstmx.ir.samples.Golden;

import io.lstmx.ir.samples.Samples;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.importers.onnx.OnnxReader;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes the files fixtures/pytorch/check_exports.py checks with PyTorch 1.13: one folder per case
 * with model.pt, model.pth + model.py (when the state_dict writer takes the model), the inputs and
 * the native runtime's outputs. Runs only when asked:
 * {@code mvn -o -q -pl exporters/pytorch test -Dtest=ExportCheckFiles -Dlstmx.exportCheckDir=/tmp/x}.
 */
class ExportCheckFiles {
    @Test
    @EnabledIfSystemProperty(named = "lstmx.exportCheckDir", matches = ".+")
    void writesTheExportCheckCases() throws Exception {
        Path out = Path.of(System.getProperty("lstmx.exportCheckDir"));
        int k = 0;
        for (Samples.Sample s : TorchScriptLibtorchTest.irSamples()) {
            write(out.resolve(String.format("ir%03d_%s", k++, TorchCode.identifier(s.description()))), s.model(), s.inputs());
        }
        for (Samples.Sample s : LstmLoopTest.samples()) {
            write(out.resolve(String.format("ir%03d_%s", k++, TorchCode.identifier(s.description()))), s.model(), s.inputs());
        }
        for (Samples.Sample s : LstmLoopTest.forgetBiasOnly()) {
            write(out.resolve(String.format("ir%03d_%s", k++, TorchCode.identifier(s.description()))), s.model(), s.inputs());
        }
        for (Samples.Sample s : StackTest.fused()) {
            write(out.resolve(String.format("ir%03d_%s", k++, TorchCode.identifier(s.description()))), s.model(), s.inputs());
        }
        for (Samples.Sample s : EveryLayerKindTest.samples()) {
            write(out.resolve(String.format("ir%03d_%s", k++, TorchCode.identifier(s.description()))), s.model(), s.inputs());
        }
        try (Stream<Path> cases = Files.list(Golden.root().resolve("fixtures/onnx/pytorch"))) {
            for (Path c : cases.sorted().toList()) {
                if (Files.exists(c.resolve("model.onnx"))) {
                    Model m = new OnnxReader().read(c.resolve("model.onnx"), ReadOptions.DEFAULT);
                    write(out.resolve("onnx_" + c.getFileName()), m, Npy.inputs(c, m));
                }
            }
        }
    }

    static void write(Path dir, Model m, Map<String, Tensor> inputs) throws Exception {
        Files.createDirectories(dir);
        boolean any = false;
        try {
            new TorchScriptWriter().write(m, dir.resolve("model.pt"), WriteOptions.DEFAULT);
            any = true;
        } catch (LstmxException e) {
            Files.writeString(dir.resolve("torchscript-refused.txt"), e.getMessage());
        }
        try {
            new StateDictWriter().write(m, dir.resolve("model.pth"), WriteOptions.DEFAULT);
            any = true;
        } catch (LstmxException e) {
            Files.writeString(dir.resolve("state-dict-refused.txt"), e.getMessage());
        }
        if (!any) {
            return;
        }
        int i = 0;
        for (String name : m.inputNames()) {
            Npy.write(inputs.get(name), dir.resolve("in_" + i++ + ".npy"));
        }
        Map<String, Tensor> out = NativeRuntime.compile(m).run(inputs);
        i = 0;
        for (String name : m.outputNames()) {
            Npy.write(out.get(name), dir.resolve("out_" + i++ + ".npy"));
        }
    }
}
