package io.lstmx.exporters.keras;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/** Writer plug-in for Keras HDF5 files (.h5). Known but not written yet: {@link #write} refuses with UNSUPPORTED until the exporter lands here. */
public final class KerasH5Writer implements FormatWriter {
    @Override
    public Format format() {
        return Format.KERAS_H5;
    }

    @Override
    public boolean available() {
        return false;
    }

    @Override
    public String defaultFileName() {
        return "model.h5";
    }

    @Override
    public void write(Model model, Path path, WriteOptions options) {
        throw LstmxException.unsupported(path + ": writing " + format().id() + " is not available yet");
    }
}
