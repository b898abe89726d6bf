package io.lstmx.exporters.onnx;

import io.lstmx.formats.Format;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/** The ONNX format's writer plug-in (see {@link OnnxExporter}). */
public final class OnnxWriter implements FormatWriter {
    @Override
    public Format format() {
        return Format.ONNX;
    }

    @Override
    public String defaultFileName() {
        return "model.onnx";
    }

    @Override
    public void checkOptions(WriteOptions options) {
        OnnxExporter.resolveOpset(options.opset());
    }

    @Override
    public void write(Model model, Path path, WriteOptions options) {
        OnnxExporter.save(model, path, options.opset(), options.lstmLayoutAttribute(),
                options.externalDataLimit() == 0 ? ExternalData.DEFAULT_LIMIT : options.externalDataLimit());
    }
}
