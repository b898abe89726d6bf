package io.lstmx.exporters.keras;

import io.lstmx.formats.Format;
import io.lstmx.formats.PendingWriter;

/** Writer plug-in for Keras HDF5 files (.h5). Known but not written yet: {@link #write} refuses with UNSUPPORTED until the exporter lands here. */
public final class KerasH5Writer extends PendingWriter {
    /** Names the format and its default file name. */
    public KerasH5Writer() {
        super(Format.KERAS_H5, "model.h5");
    }
}
