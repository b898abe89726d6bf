package io.lstmx.exporters.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/** Writer plug-in for TorchScript archives. Known but not written yet: {@link #write} refuses with UNSUPPORTED until the exporter lands here. */
public final class TorchScriptWriter implements FormatWriter {
    @Override
    public Format format() {
        return Format.TORCHSCRIPT;
    }

    @Override
    public boolean available() {
        return false;
    }

    @Override
    public String defaultFileName() {
        return "model.pt";
    }

    @Override
    public void write(Model model, Path path, WriteOptions options) {
        throw LstmxException.unsupported(path + ": writing " + format().id() + " is not available yet");
    }
}
