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

    /**
     * True when models can be written as {@code format}; callers check it before doing work that only
     * a save would finish (save itself refuses the others with UNSUPPORTED).
     */
    public static boolean isAvailable(Format format) {
        return format == Format.ONNX;
    }

    /**
     * Checks {@code options} for {@code format} before any work is done: an ONNX opset outside the
     * exporter's range is UNSUPPORTED, a negative one BAD_INPUT (the same errors {@link #save} raises).
     */
    public static void checkOptions(Format format, ExportOptions options) {
        if (format == Format.ONNX && options != null) {
            OnnxExporter.resolveOpset(options.opset());
        }
    }

    /** Writes {@code model} as {@code format} to {@code path} (overwriting: the caller checks --force). */
    public static void save(Model model, Path path, Format format, ExportOptions options) {
        ExportOptions opts = options == null ? ExportOptions.DEFAULT : options;
        if (!isAvailable(format)) {
            throw LstmxException.unsupported(path + ": " + format.id() + " exporter not available yet");
        }
        // ONNX is the only available format so far (see isAvailable).
        OnnxExporter.save(model, path, opts.opset(), opts.lstmLayoutAttribute());
    }
}
