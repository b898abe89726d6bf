package io.lstmx.exporters.tensorflow;

import io.lstmx.formats.Format;
import io.lstmx.formats.PendingWriter;

/** Writer plug-in for TensorFlow SavedModel folders. Known but not written yet: {@link #write} refuses with UNSUPPORTED until the exporter lands here. */
public final class SavedModelWriter extends PendingWriter {
    /** Names the format and its default file name. */
    public SavedModelWriter() {
        super(Format.SAVEDMODEL, "saved_model");
    }
}
