package io.lstmx.importers.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatReader;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.Recognition;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/**
 * Reader plug-in for frozen TensorFlow GraphDefs (.pb). The format is recognised (so that users learn what their file is) but not read
 * yet: {@link #read} refuses with UNSUPPORTED until the importer lands in this module.
 */
public final class GraphDefReader implements FormatReader {
    @Override
    public Format format() {
        return Format.TF_GRAPHDEF;
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        // A GraphDef has no signature of its own: only the .pb extension tells it.
        return probe.isRegularFile() && probe.extension().equals("pb") && !probe.fileName().equals("saved_model.pb")
                ? Recognition.BY_NAME : Recognition.NO;
    }

    @Override
    public boolean available() {
        return false;
    }

    @Override
    public Model read(Path path, ReadOptions options) {
        throw LstmxException.unsupported(path + ": reading " + format().id() + " is not available yet");
    }
}
