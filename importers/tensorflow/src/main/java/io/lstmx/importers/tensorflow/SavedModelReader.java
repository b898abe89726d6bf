package io.lstmx.importers.tensorflow;

import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.PendingReader;
import io.lstmx.formats.Recognition;

/**
 * Reader plug-in for TensorFlow SavedModel folders. The format is recognised (so that users learn what their file is) but not read
 * yet: {@link #read} refuses with UNSUPPORTED until the importer lands in this module.
 */
public final class SavedModelReader extends PendingReader {
    /** Recognises savedmodel files. */
    public SavedModelReader() {
        super(Format.SAVEDMODEL);
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        // A SavedModel is a folder with saved_model.pb (or .pbtxt); the file itself names it too.
        if (probe.hasChild("saved_model.pb") || probe.hasChild("saved_model.pbtxt")) {
            return Recognition.BY_CONTENT;
        }
        return probe.isRegularFile() && probe.fileName().equals("saved_model.pb") ? Recognition.BY_CONTENT : Recognition.NO;
    }
}
