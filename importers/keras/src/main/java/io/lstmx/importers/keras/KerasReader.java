package io.lstmx.importers.keras;

import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.PendingReader;
import io.lstmx.formats.Recognition;

/**
 * Reader plug-in for Keras 3 archives (.keras). The format is recognised (so that users learn what their file is) but not read
 * yet: {@link #read} refuses with UNSUPPORTED until the importer lands in this module.
 */
public final class KerasReader extends PendingReader {
    /** Recognises keras files. */
    public KerasReader() {
        super(Format.KERAS);
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
}
