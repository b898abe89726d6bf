package io.lstmx.formats;

import io.lstmx.ir.Model;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes the canonical IR as one model format. Implementations are found through
 * {@link java.util.ServiceLoader} ({@code META-INF/services/io.lstmx.formats.FormatWriter}).
 * A writer writes where it is told; placing the result safely (staging, backups, atomic moves) is
 * the caller's job (see {@code io.lstmx.api.Lstmx#save}).
 */
public interface FormatWriter {
    /**
     * The format written.
     *
     * @return one of {@link Format#KNOWN}, or a format of the plug-in's own
     */
    Format format();

    /**
     * Whether models can be written now.
     *
     * @return false while the format is known but its writer is still to be written ({@link #write}
     *         then refuses with UNSUPPORTED)
     */
    default boolean available() {
        return true;
    }

    /**
     * What this writer supports beyond the format itself, for listings such as {@code lstmx formats}
     * and its JSON: names in lowerCamelCase to strings, numbers or booleans, in the order to show
     * them (ONNX: minOpset, maxOpset, defaultOpset). Empty by default.
     *
     * @return the details, in order
     */
    default Map<String, Object> details() {
        return Map.of();
    }

    /**
     * A file or folder name for a model of this format when the caller has none.
     *
     * @return e.g. "model.onnx"
     */
    String defaultFileName();

    /**
     * Checks {@code options} before any work is done: values out of this format's range are
     * UNSUPPORTED (a feature it lacks) or BAD_INPUT (nonsense), the same errors {@link #write} raises.
     * Options this format does not use but the caller set on purpose are refused by the caller.
     *
     * @param options the options {@link #write} will get
     */
    default void checkOptions(WriteOptions options) {
    }

    /**
     * Writes {@code model} to {@code path}, replacing what is there; side files (such as ONNX external
     * data) go beside it. A feature the format cannot express is refused with UNSUPPORTED naming the
     * layer and the feature, never dropped.
     *
     * @param model   the model to write
     * @param path    where to write it: the final path, or a staging path when the caller places the result
     * @param options checked before by {@link #checkOptions}
     */
    void write(Model model, Path path, WriteOptions options);

    /**
     * Writes like {@link #write} and returns what the user of the written file must be told: each
     * way the file's interface differs from the IR model's on purpose (such as an input or output
     * written with its axes in another order because the format holds the batch first), one line
     * each naming the value. {@code lstmx convert} prints them after its "wrote" line and
     * {@code Lstmx.save} returns them; a writer that changes nothing visible returns none. The
     * default writes and returns an empty list.
     *
     * @param model   the model to write
     * @param path    where to write it (see {@link #write})
     * @param options checked before by {@link #checkOptions}
     * @return the notes, in order; empty when the file's interface is the model's
     */
    default List<String> writeWithNotes(Model model, Path path, WriteOptions options) {
        write(model, path, options);
        return List.of();
    }
}
