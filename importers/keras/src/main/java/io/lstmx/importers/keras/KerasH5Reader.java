package io.lstmx.importers.keras;

import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.PendingReader;
import io.lstmx.formats.Recognition;

/**
 * Reader plug-in for Keras HDF5 files (.h5). The format is recognised (so that users learn what their file is) but not read
 * yet: {@link #read} refuses with UNSUPPORTED until the importer lands in this module.
 */
public final class KerasH5Reader extends PendingReader {
    /** Recognises keras-h5 files. */
    public KerasH5Reader() {
        super(Format.KERAS_H5);
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        if (probe.isRegularFile() && probe.startsWith(HDF5_MAGIC)) {
            return Recognition.BY_CONTENT;
        }
        return probe.isRegularFile() && Format.KERAS_H5.extensions().contains(probe.extension()) ? Recognition.BY_NAME : Recognition.NO;
    }

    private static final byte[] HDF5_MAGIC = {(byte) 0x89, (byte) 0x48, (byte) 0x44, (byte) 0x46, (byte) 0x0d, (byte) 0x0a, (byte) 0x1a, (byte) 0x0a};
}
