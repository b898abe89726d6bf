package io.lstmx.exporters.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/** Writer plug-in for TensorFlow SavedModel folders. Known but not written yet: {@link #write} refuses with UNSUPPORTED until the exporter lands here. */
public final class SavedModelWriter implements FormatWriter {
    @Override
    public Format format() {
        return Format.SAVEDMODEL;
    }

    @Override
    public boolean available() {
        return false;
    }

    @Override
    public String defaultFileName() {
        return "saved_model";
    }

    @Override
    public void write(Model model, Path path, WriteOptions options) {
        throw LstmxException.unsupported(path + ": writing " + format().id() + " is not available yet");
    }
}
