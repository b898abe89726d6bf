package io.lstmx.exporters.keras;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;
import io.lstmx.util.AtomicFiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writer plug-in for Keras 3 archives (.keras): config.json, metadata.json and model.weights.h5
 * as Keras 3.8 saves them (see {@link KerasFiles}), from the IR through {@link KerasBuilder}.
 * What Keras cannot express is refused with UNSUPPORTED naming the layer and the feature; nothing
 * is written then. The file goes to a temporary file beside the target, moved into place when complete.
 */
public final class KerasWriter implements FormatWriter {
    /** Writes .keras archives. */
    public KerasWriter() {
    }

    @Override
    public Format format() {
        return Format.KERAS;
    }

    @Override
    public String defaultFileName() {
        return "model.keras";
    }

    @Override
    public void write(Model model, Path path, WriteOptions options) {
        KerasModel m = build(model, path);
        AtomicFiles.write(path, os -> KerasFiles.writeKeras(m, os));
    }

    static KerasModel build(Model model, Path path) {
        List<String> notes = new ArrayList<>();
        try {
            return KerasBuilder.build(model, path.toString(), notes);
        } catch (LstmxException e) {
            throw e.getMessage() != null && e.getMessage().contains(path.toString()) ? e : e.withContext(path.toString());
        }
    }
}
