package io.lstmx.formats;

import io.lstmx.ir.Model;

import java.nio.file.Path;

/**
 * Reads one model format into the canonical IR. Implementations are found through
 * {@link java.util.ServiceLoader} (listed in {@code META-INF/services/io.lstmx.formats.FormatReader}),
 * so a format is on offer exactly when its module is on the class path.
 */
public interface FormatReader {
    /**
     * The format read.
     *
     * @return one of {@link Format#KNOWN}, or a format of the plug-in's own
     */
    Format format();

    /**
     * Whether the file or folder is in this format. Must be cheap and bounded: use what the probe
     * has read (name, head bytes, zip entry names); never parse the whole file, and answer
     * {@link Recognition#NO} for anything the probe says is neither a regular file nor a folder.
     *
     * @param probe the file or folder, read lazily and shared by every reader
     * @return {@link Recognition#BY_CONTENT} when the bytes or layout show the format,
     *         {@link Recognition#BY_NAME} when only the name suggests it, else {@link Recognition#NO}
     */
    Recognition recognise(FileProbe probe);

    /**
     * Whether files can be read now. A placeholder plug-in recognises its format (so users learn
     * what their file is) but answers false until its reader is written.
     *
     * @return false while {@link #read} refuses every file with UNSUPPORTED
     */
    default boolean available() {
        return true;
    }

    /**
     * Reads {@code path}. Failures are {@link io.lstmx.errors.LstmxException}s that name the file and
     * the node, tensor or entry at fault; nothing from the file is executed.
     *
     * @param path    the model file or folder
     * @param options constant inputs and format-specific hints
     * @return the model in the canonical IR
     */
    Model read(Path path, ReadOptions options);
}
