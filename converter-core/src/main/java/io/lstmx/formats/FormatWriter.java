package io.lstmx.formats;

import io.lstmx.ir.Model;

import java.nio.file.Path;
import java.util.Map;

/**
 * Writes the canonical IR as one model format. Implementations are found through
 * {@link java.util.ServiceLoader} ({@code META-INF/services/io.lstmx.formats.FormatWriter}).
 * A writer writes where it is told; placing the result safely (staging, backups, atomic moves) is
 * the caller's job (see {@code io.lstmx.api.Lstmx#save}).
 */
public interface FormatWriter {
    /** The format written. */
    Format format();

    /** False while the format is known but its writer is still to be written. */
    default boolean available() {
        return true;
    }

    /**
     * What this writer supports beyond the format itself, for listings such as {@code lstmx formats}
     * and its JSON: names in lowerCamelCase to strings, numbers or booleans, in the order to show
     * them (ONNX: minOpset, maxOpset, defaultOpset). Empty by default.
     */
    default Map<String, Object> details() {
        return Map.of();
    }

    /** A file or folder name for a model of this format when the caller has none, e.g. "model.onnx". */
    String defaultFileName();

    /**
     * Checks {@code options} before any work is done: values out of this format's range are
     * UNSUPPORTED (a feature it lacks) or BAD_INPUT (nonsense), the same errors {@link #write} raises.
     * Options this format does not use but the caller set on purpose are refused by the caller.
     */
    default void checkOptions(WriteOptions options) {
    }

    /**
     * Writes {@code model} to {@code path}, replacing what is there; side files (such as ONNX external
     * data) go beside it. A feature the format cannot express is refused with UNSUPPORTED naming the
     * layer and the feature, never dropped.
     */
    void write(Model model, Path path, WriteOptions options);
}
