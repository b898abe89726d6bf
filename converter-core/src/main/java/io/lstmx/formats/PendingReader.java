package io.lstmx.formats;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Model;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A reader for a format lstmx knows but does not read yet: it recognises the format's files (so
 * that users learn what they have) and refuses to read them with UNSUPPORTED. A format's module
 * starts as one of these and replaces it with a real reader.
 */
public abstract class PendingReader implements FormatReader {
    private final Format format;

    /**
     * A pending reader for {@code format}.
     *
     * @param format the format recognised
     */
    protected PendingReader(Format format) {
        this.format = Objects.requireNonNull(format, "format");
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
    public final Model read(Path path, ReadOptions options) {
        throw LstmxException.unsupported(path + ": reading " + format.id() + " is not available yet");
    }
}
