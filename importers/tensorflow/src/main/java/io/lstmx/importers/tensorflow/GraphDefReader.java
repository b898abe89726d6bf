package io.lstmx.importers.tensorflow;

import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.PendingReader;
import io.lstmx.formats.Recognition;

/**
 * Reader plug-in for frozen TensorFlow GraphDefs (.pb). The format is recognised (so that users learn what their file is) but not read
 * yet: {@link #read} refuses with UNSUPPORTED until the importer lands in this module.
 */
public final class GraphDefReader extends PendingReader {
    /** Recognises tf-graphdef files. */
    public GraphDefReader() {
        super(Format.TF_GRAPHDEF);
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        // A GraphDef has no signature of its own: only the .pb extension tells it.
        return probe.isRegularFile() && probe.extension().equals("pb") && !probe.fileName().equals("saved_model.pb")
                ? Recognition.BY_NAME : Recognition.NO;
    }
}
