package io.lstmx.exporters.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;
import io.lstmx.util.SafeText;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Identity;
import org.tensorflow.op.core.NoOp;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.MetaGraphDef.MetaInfoDef;
import org.tensorflow.proto.SaverDef;
import org.tensorflow.types.TString;

import java.io.IOException;
import java.io.OutputStream;
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
 * <p>The folder is what TensorFlow Java's {@code SavedModelBundle.exporter} writes for the graph
 * (saved_model.pb with the graph, the {@code save/} nodes and their SaverDef, the tag and the
 * signature; an empty {@code variables} folder), but written by lstmx: TensorFlow builds the graph
 * with stand-ins for its weights and never holds their values, and the weights go from the IR into
 * saved_model.pb as it is written ({@link TfWeights}, {@link TfGraphDefStream}), so that a model
 * needs no second copy of its weights in memory (the exporter needed two: TensorFlow's, and the
 * GraphDef it parses into the Java heap).
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
        try {
            TfGraphDefStream graph;
            MetaGraphDef meta;
            try (Graph g = new Graph()) {
                TfWeights weights = TfWeights.streamed();
                TfGraphBuilder b = new TfGraphBuilder(Ops.create(g), model, weights);
                b.build();
                SaverDef saver = saver(g); // before the GraphDef, as the exporter does: it adds nodes
                graph = new TfGraphDefStream(g.toGraphDef(), weights.standIns(), path.toString());
                meta = MetaGraphDef.newBuilder()
                        .setMetaInfoDef(MetaInfoDef.newBuilder().addTags(SavedModelBundle.DEFAULT_TAG))
                        .setSaverDef(saver)
                        .putSignatureDef(Signature.DEFAULT_KEY, b.signatureDef())
                        .build();
            }
            // the exporter's layout: an empty variables folder (the weights are constants) beside saved_model.pb
            Files.createDirectories(path.resolve("variables"));
            try (OutputStream out = Files.newOutputStream(path.resolve("saved_model.pb"));
                    TfWeights.Sink sink = TfWeights.Sink.onto(out, 1 << 20)) {
                graph.writeSavedModel(meta, sink);
                sink.finish();
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

    /**
     * The save and restore nodes TensorFlow Java's exporter adds to a graph before exporting it
     * ({@code Graph.saverDef()}, package-private there) and the SaverDef naming them. A graph without
     * variables (lstmx's weights are constants) gets a {@code filename} placeholder, an Identity of it
     * as the save op and a NoOp as the restore op, in a {@code save} name scope. Made the same way
     * here, so that the file is the one the exporter wrote (readers of TF1-style SavedModels take the
     * saver from it; with an empty variables folder, TensorFlow's loader restores nothing).
     */
    static SaverDef saver(Graph g) {
        Ops tf = Ops.create(g).withSubScope("save");
        Placeholder<TString> filename = tf.withName("filename").placeholder(TString.class);
        Identity<TString> save = tf.withName("control_dependency").identity(filename);
        NoOp restore = tf.withName("restore_all").noOp();
        return SaverDef.newBuilder()
                .setFilenameTensorName(filename.output().name())
                .setSaveTensorName(save.op().name())
                .setRestoreOpName(restore.op().name())
                .build();
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
