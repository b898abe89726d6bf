package io.lstmx.exporters.pytorch;

import io.lstmx.formats.Format;
import io.lstmx.formats.PendingWriter;

/** Writer plug-in for state_dict files with a model.py beside them. Known but not written yet: {@link #write} refuses with UNSUPPORTED until the exporter lands here. */
public final class StateDictWriter extends PendingWriter {
    /** Names the format and its default file name. */
    public StateDictWriter() {
        super(Format.PYTORCH_STATE_DICT, "model.pth");
    }
}
