package io.lstmx.formats;

import io.lstmx.ir.Model;

import java.nio.file.Path;

/**
 * Reads one model format into the canonical IR. Implementations are found through
 * {@link java.util.ServiceLoader} (listed in {@code META-INF/services/io.lstmx.formats.FormatReader}),
 * so a format is on offer exactly when its module is on the class path.
 */
public interface FormatReader {
    /** The format read. */
    Format format();

    /**
     * Whether the file or folder is in this format. Must be cheap and bounded: use what the probe
     * has read (name, head bytes, zip entry names); never parse the whole file.
     */
    Recognition recognise(FileProbe probe);

    /**
     * False while the format is known but its reader is still to be written: {@link #read} then
     * refuses every file with UNSUPPORTED.
     */
    default boolean available() {
        return true;
    }

    /**
     * Reads {@code path}. Failures are {@link io.lstmx.errors.LstmxException}s that name the file and
     * the node, tensor or entry at fault; nothing from the file is executed.
     */
    Model read(Path path, ReadOptions options);
}
