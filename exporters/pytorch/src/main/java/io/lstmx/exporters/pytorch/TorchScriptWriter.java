package io.lstmx.exporters.pytorch;

import io.lstmx.formats.Format;
import io.lstmx.formats.PendingWriter;

/** Writer plug-in for TorchScript archives. Known but not written yet: {@link #write} refuses with UNSUPPORTED until the exporter lands here. */
public final class TorchScriptWriter extends PendingWriter {
    /** Names the format and its default file name. */
    public TorchScriptWriter() {
        super(Format.TORCHSCRIPT, "model.pt");
    }
}
