package io.lstmx.importers.keras;

import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatReader;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.Recognition;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/**
 * Reader plug-in for Keras 3 archives (.keras: a zip of config.json, metadata.json and
 * model.weights.h5), read in pure Java. See {@link KerasImporter} for the layout and
 * {@link Converters} for the layers.
 */
public final class KerasReader implements FormatReader {
    /** Reads keras files. */
    public KerasReader() {
    }

    @Override
    public Format format() {
        return Format.KERAS;
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        if (!probe.isRegularFile()) {
            return Recognition.NO;
        }
        // Keras 3 archives: a zip with config.json and model.weights.h5 (and metadata.json).
        if (probe.isZip()) {
            var names = probe.zipEntryNames();
            return names.contains("config.json") && !names.stream().anyMatch(n -> n.endsWith("data.pkl"))
                    ? Recognition.BY_CONTENT : Recognition.NO;
        }
        return probe.extension().equals("keras") ? Recognition.BY_NAME : Recognition.NO;
    }

    @Override
    public Model read(Path path, ReadOptions options) {
        return KerasImporter.readKeras(path);
    }
}
