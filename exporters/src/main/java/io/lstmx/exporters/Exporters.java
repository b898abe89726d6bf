package io.lstmx.exporters;

import io.lstmx.errors.LstmxException;
import io.lstmx.exporters.onnx.OnnxExporter;
import io.lstmx.ir.Format;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/** Writes IR models to files; every write goes to a temporary file first, then is moved into place. */
public final class Exporters {
    private Exporters() {
    }

    /** Writes {@code model} as {@code format} to {@code path} (overwriting: the caller checks --force). */
    public static void save(Model model, Path path, Format format, ExportOptions options) {
        ExportOptions opts = options == null ? ExportOptions.DEFAULT : options;
        switch (format) {
            case ONNX -> OnnxExporter.save(model, path, opts.opset(), opts.lstmLayoutAttribute());
            default -> throw LstmxException.unsupported(path + ": " + format.id() + " exporter not available yet");
        }
    }
}
