package io.lstmx.formats;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Model;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A writer for a format lstmx knows but does not write yet: it names the format and its default
 * file name, and refuses to write with UNSUPPORTED. A format's module starts as one of these.
 */
public abstract class PendingWriter implements FormatWriter {
    private final Format format;
    private final String defaultFileName;

    /**
     * A pending writer for {@code format}.
     *
     * @param format          the format
     * @param defaultFileName a file or folder name for a model of the format, e.g. "model.keras"
     */
    protected PendingWriter(Format format, String defaultFileName) {
        this.format = Objects.requireNonNull(format, "format");
        this.defaultFileName = Objects.requireNonNull(defaultFileName, "defaultFileName");
    }

    @Override
    public final Format format() {
        return format;
    }

    @Override
    public final boolean available() {
        return false;
    }

    @Override
    public final String defaultFileName() {
        return defaultFileName;
    }

    @Override
    public final void write(Model model, Path path, WriteOptions options) {
        throw LstmxException.unsupported(path + ": writing " + format.id() + " is not available yet");
    }
}
