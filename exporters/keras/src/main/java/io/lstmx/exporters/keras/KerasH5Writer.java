package io.lstmx.exporters.keras;

import io.lstmx.formats.Format;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;
import io.lstmx.util.AtomicFiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writer plug-in for Keras HDF5 files (.h5) in the layout of Keras 3's legacy h5 writer
 * ({@code model.save("x.h5")}): root attributes keras_version, backend and model_config,
 * weights under /model_weights with weight_names (see {@link KerasFiles}). Same translation
 * and refusals as {@link KerasWriter}.
 */
public final class KerasH5Writer implements FormatWriter {
    /** Writes .h5 files. */
    public KerasH5Writer() {
    }

    @Override
    public Format format() {
        return Format.KERAS_H5;
    }

    @Override
    public String defaultFileName() {
        return "model.h5";
    }

    @Override
    public void write(Model model, Path path, WriteOptions options) {
        writeWithNotes(model, path, options);
    }

    /** Writes and returns the notes, as {@link KerasWriter#writeWithNotes}. */
    @Override
    public List<String> writeWithNotes(Model model, Path path, WriteOptions options) {
        List<String> notes = new ArrayList<>();
        KerasModel m = KerasWriter.build(model, path, notes);
        AtomicFiles.write(path, os -> KerasFiles.writeH5(m, os));
        return notes;
    }
}
