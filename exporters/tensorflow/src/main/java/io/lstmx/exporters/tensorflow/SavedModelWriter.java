package io.lstmx.exporters.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;
import io.lstmx.util.SafeText;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes the IR as a TensorFlow SavedModel folder (TensorFlow Java 1.1.0, TensorFlow 2.18): tag
 * {@code serve}, one signature {@code serving_default} whose inputs are the model's inputs (keys
 * as named in the IR, placeholders of the IR's dtypes and declared shapes) and whose outputs are
 * {@code output_0}, {@code output_1}, ... in model order. Weights are constants of the graph.
 * How each layer is written is described on {@link TfGraphBuilder}: LSTMs as one {@code BlockLSTM}
 * op per direction where it computes the IR's equations, else (and GRU, RNN) one
 * {@code StatelessWhile} loop per direction; never unrolled over time.
 *
 * <p>A model TensorFlow cannot express is refused with UNSUPPORTED naming the layer and the
 * feature, and nothing is left at {@code path}. The caller ({@code Lstmx.save}) stages the folder
 * and moves it into place.
 */
public final class SavedModelWriter implements FormatWriter {
    /** The writer; TensorFlow's native library loads on the first write. */
    public SavedModelWriter() {
    }

    @Override
    public Format format() {
        return Format.SAVEDMODEL;
    }

    @Override
    public String defaultFileName() {
        return "saved_model";
    }

    @Override
    public Map<String, Object> details() {
        TfLogging.quiet();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("signature", Signature.DEFAULT_KEY);
        m.put("tags", SavedModelBundle.DEFAULT_TAG);
        m.put("lstm", "BlockLSTM, else a While loop");
        return m;
    }

    @Override
    public void write(Model model, Path path, WriteOptions options) {
        TfLogging.quiet();
        boolean existed = Files.exists(path);
        try (Graph g = new Graph()) {
            Signature sig = new TfGraphBuilder(Ops.create(g), model).build();
            try (Session s = new Session(g)) {
                Files.createDirectories(path);
                SavedModelBundle.exporter(path.toString())
                        .withTags(SavedModelBundle.DEFAULT_TAG)
                        .withFunction(SessionFunction.create(sig, s))
                        .export();
            }
        } catch (IOException e) {
            cleanUp(path, existed);
            throw LstmxException.badInput(path + ": cannot write the SavedModel: " + SafeText.message(String.valueOf(e.getMessage())));
        } catch (LstmxException e) {
            cleanUp(path, existed);
            throw e;
        } catch (RuntimeException | LinkageError e) {
            cleanUp(path, existed);
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip().split("\\R")[0];
            throw LstmxException.unsupported(path + ": TensorFlow cannot write this model as a SavedModel: " + SafeText.message(why));
        }
    }

    /** Removes what this write created at {@code path} (never a folder that was there before). */
    private static void cleanUp(Path path, boolean existed) {
        if (existed || !Files.exists(path)) {
            return;
        }
        try (Stream<Path> s = Files.walk(path)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort: the caller's staging folder is swept anyway
                }
            });
        } catch (IOException e) {
            // best effort
        }
    }
}
