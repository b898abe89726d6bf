package io.lstmx.exporters.tensorflow;

import io.lstmx.formats.Format;
import io.lstmx.formats.PendingWriter;

/** Writer plug-in for frozen TensorFlow GraphDefs (.pb). Known but not written yet: {@link #write} refuses with UNSUPPORTED until the exporter lands here. */
public final class GraphDefWriter extends PendingWriter {
    /** Names the format and its default file name. */
    public GraphDefWriter() {
        super(Format.TF_GRAPHDEF, "model.pb");
    }
}
