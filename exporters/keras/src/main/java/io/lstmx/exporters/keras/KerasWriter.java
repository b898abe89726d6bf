package io.lstmx.exporters.keras;

import io.lstmx.formats.Format;
import io.lstmx.formats.PendingWriter;

/** Writer plug-in for Keras 3 archives (.keras). Known but not written yet: {@link #write} refuses with UNSUPPORTED until the exporter lands here. */
public final class KerasWriter extends PendingWriter {
    /** Names the format and its default file name. */
    public KerasWriter() {
        super(Format.KERAS, "model.keras");
    }
}
