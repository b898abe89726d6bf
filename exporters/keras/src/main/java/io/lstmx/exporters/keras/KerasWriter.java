package io.lstmx.exporters.keras;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;
import io.lstmx.passes.BatchMajorInterface;
import io.lstmx.util.AtomicFiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writer plug-in for Keras 3 archives (.keras): config.json, metadata.json and model.weights.h5
 * as Keras 3.8 saves them (see {@link KerasFiles}), from the IR through {@link KerasBuilder}.
 * Inputs and outputs whose batch axis is not first (time-major sequences, PyTorch's h_n / c_n) are
 * written batch-major (see {@link #build}); each such relayout is a note returned by
 * {@link #writeWithNotes}. What Keras cannot express is refused with UNSUPPORTED naming the layer
 * and the feature; nothing is written then. The file goes to a temporary file beside the target, moved into place when complete.
 */
public final class KerasWriter implements FormatWriter {
    /** Writes .keras archives. */
    public KerasWriter() {
    }

    @Override
    public Format format() {
        return Format.KERAS;
    }

    @Override
    public String defaultFileName() {
        return "model.keras";
    }

    @Override
    public void write(Model model, Path path, WriteOptions options) {
        writeWithNotes(model, path, options);
    }

    /** Writes and returns the notes: each relayouted input or output first (see {@link #build}). */
    @Override
    public List<String> writeWithNotes(Model model, Path path, WriteOptions options) {
        List<String> notes = new ArrayList<>();
        KerasModel m = build(model, path, notes);
        AtomicFiles.writeChannel(path, ch -> KerasFiles.writeKeras(m, ch));
        return notes;
    }

    /**
     * The Keras model of {@code model}. Keras holds the batch on axis 0 of every tensor, so inputs and
     * outputs whose batch axis is elsewhere (time-major sequences [T, B, F], PyTorch's h_n / c_n
     * [layers*directions, B, H]) are first given a batch-major layout by {@link BatchMajorInterface}
     * (batch moved to the front, the other axes in order: [B, T, F], [B, layers*directions, H]); each
     * such relayout is added to {@code notes}, followed by the translation's own notes.
     */
    static KerasModel build(Model model, Path path, List<String> notes) {
        try {
            BatchMajorInterface.Result r = BatchMajorInterface.relayout(model);
            KerasModel m = KerasBuilder.build(r.model(), path.toString(), notes);
            List<String> all = new ArrayList<>();
            for (BatchMajorInterface.Relayout x : r.relayouts()) {
                all.add(x.describe() + "; Keras holds the batch first");
            }
            all.addAll(notes);
            notes.clear();
            notes.addAll(all);
            return m;
        } catch (LstmxException e) {
            throw e.getMessage() != null && e.getMessage().contains(path.toString()) ? e : e.withContext(path.toString());
        }
    }
}
