package io.lstmx.importers.tensorflow;

import com.google.protobuf.CodedInputStream;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatReader;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.Recognition;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Reader plug-in for TensorFlow SavedModel folders: saved_model.pb (a {@link SavedModel} read with
 * TensorFlow's generated protobuf classes; no native code is loaded) and the variables/ tensor
 * bundle. The MetaGraphDef tagged "serve" (else the first) is read; its {@code serving_default}
 * signature (else its only one) names the inputs and outputs, which keep those names, in the
 * signature keys' sorted order. The graph is interpreted from the outputs back
 * ({@link TfInterpreter}): Keras models live in the function library (serving_default calls
 * StatefulPartitionedCall, which calls the __inference_ functions). Variables are VarHandleOps whose
 * checkpoint key comes from the object graph (TF2) or is the variable's name (TF1).
 */
public final class SavedModelReader implements FormatReader {
    /** Largest saved_model.pb read (protobuf's own limit). */
    static final long MAX_PB_BYTES = Integer.MAX_VALUE;

    @Override
    public Format format() {
        return Format.SAVEDMODEL;
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        // A SavedModel is a folder with saved_model.pb (or .pbtxt); the file itself names it too.
        if (probe.hasChild("saved_model.pb") || probe.hasChild("saved_model.pbtxt")) {
            return Recognition.BY_CONTENT;
        }
        return probe.isRegularFile() && probe.fileName().equals("saved_model.pb") ? Recognition.BY_CONTENT : Recognition.NO;
    }

    @Override
    public Model read(Path path, ReadOptions options) {
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        Path pb = dir.resolve("saved_model.pb");
        if (!Files.isRegularFile(pb)) {
            if (Files.exists(dir.resolve("saved_model.pbtxt"))) {
                throw LstmxException.unsupported(path + ": saved_model.pbtxt (text format) is not read; save the model in binary form");
            }
            throw LstmxException.badInput(path + ": no saved_model.pb");
        }
        confined(dir);
        String file = pb.toString();
        SavedModel sm = parse(pb);
        if (sm.getMetaGraphsCount() == 0) {
            throw LstmxException.badInput(file + ": the SavedModel holds no MetaGraphDef");
        }
        MetaGraphDef mg = sm.getMetaGraphs(0);
        for (MetaGraphDef g : sm.getMetaGraphsList()) {
            if (g.getMetaInfoDef().getTagsList().contains("serve")) {
                mg = g;
                break;
            }
        }
        String sigName = "serving_default";
        SignatureDef sig = mg.getSignatureDefMap().get(sigName);
        if (sig == null) {
            List<String> names = mg.getSignatureDefMap().keySet().stream().filter(k -> !k.startsWith("__")).sorted().toList();
            if (names.size() != 1) {
                throw LstmxException.unsupported(file + ": no serving_default signature, and " + names.size() + " others "
                        + SafeText.list(names) + "; lstmx reads the one to serve");
            }
            sigName = names.get(0);
            sig = mg.getSignatureDefMap().get(sigName);
        }
        List<TfModelBuilder.Input> inputs = new ArrayList<>();
        for (Map.Entry<String, TensorInfo> e : new TreeMap<>(sig.getInputsMap()).entrySet()) {
            TensorInfo t = e.getValue();
            if (!t.hasName()) {
                throw LstmxException.unsupported(file + ": signature input '" + SafeText.name(e.getKey()) + "' is not a plain tensor (sparse or composite)");
            }
            String node = t.getName().contains(":") ? t.getName().substring(0, t.getName().lastIndexOf(':')) : t.getName();
            inputs.add(new TfModelBuilder.Input(node, e.getKey(), t.getDtype(), t.hasTensorShape() ? t.getTensorShape() : null));
        }
        List<TfModelBuilder.Output> outputs = new ArrayList<>();
        for (Map.Entry<String, TensorInfo> e : new TreeMap<>(sig.getOutputsMap()).entrySet()) {
            if (!e.getValue().hasName()) {
                throw LstmxException.unsupported(file + ": signature output '" + SafeText.name(e.getKey()) + "' is not a plain tensor");
            }
            outputs.add(new TfModelBuilder.Output(e.getValue().getName(), e.getKey()));
        }
        if (outputs.isEmpty()) {
            throw LstmxException.badInput(file + ": signature '" + SafeText.name(sigName) + "' has no outputs");
        }
        Function<String, Tensor> variables = variables(dir, mg);
        String name = dir.getFileName() == null ? "model" : dir.getFileName().toString();
        ModelInfo info = new ModelInfo("savedmodel", "tensorflow " + mg.getMetaInfoDef().getTensorflowVersion(),
                "SavedModel; tags " + mg.getMetaInfoDef().getTagsList() + "; signature " + sigName);
        long size;
        try {
            size = Files.size(pb);
        } catch (IOException e) {
            size = 0;
        }
        return TfModelBuilder.build(file, name, info, mg.getGraphDef(), inputs, outputs, variables, size);
    }

    static SavedModel parse(Path pb) {
        try {
            long size = Files.size(pb);
            if (size > MAX_PB_BYTES) {
                throw LstmxException.unsupported(pb + ": " + size + " bytes, over protobuf's 2 GiB limit");
            }
            io.lstmx.util.Heap.require(size * 4, pb.toString());
            CodedInputStream in = CodedInputStream.newInstance(Files.readAllBytes(pb));
            in.setSizeLimit(Integer.MAX_VALUE);
            return SavedModel.parseFrom(in);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw LstmxException.badInput(pb + ": not a SavedModel protobuf (" + SafeText.oneLine(String.valueOf(e.getMessage())) + ")");
        } catch (IOException e) {
            throw LstmxException.badInput(pb + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /** Most entries of variables/ looked at for links. */
    static final int MAX_VARIABLE_FILES = 10_000;

    /**
     * Refuses a SavedModel whose saved_model.pb, variables/ folder or files in it are symbolic links
     * that lead out of the SavedModel's folder: reading a model must not read files elsewhere
     * (a shared folder's model could otherwise make lstmx read, and report on, any file).
     */
    static void confined(Path dir) {
        Path root;
        try {
            root = dir.toRealPath();
        } catch (IOException e) {
            throw LstmxException.badInput(dir + ": cannot resolve the folder: " + e.getMessage());
        }
        List<Path> check = new ArrayList<>(List.of(dir.resolve("saved_model.pb"), dir.resolve("variables")));
        Path vars = dir.resolve("variables");
        if (Files.isDirectory(vars)) {
            try (var files = Files.list(vars)) {
                files.limit(MAX_VARIABLE_FILES + 1L).forEach(check::add);
            } catch (IOException e) {
                throw LstmxException.badInput(vars + ": cannot list: " + e.getMessage());
            }
            if (check.size() > MAX_VARIABLE_FILES + 2) {
                throw LstmxException.badInput(vars + ": more than " + MAX_VARIABLE_FILES + " entries");
            }
        }
        for (Path p : check) {
            if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            Path real;
            try {
                real = p.toRealPath();
            } catch (IOException e) {
                throw LstmxException.badInput(p + ": a link that leads nowhere (" + e.getMessage() + ")");
            }
            if (!real.startsWith(root)) {
                throw LstmxException.badInput(p + ": a symbolic link leaving the SavedModel folder (to " + SafeText.oneLine(real.toString())
                        + "); refused");
            }
        }
    }

    /**
     * Variable values by name: through the checkpoint's object graph (the SavedModel's objects and
     * the bundle's TrackableObjectGraph list the same objects in the same order), else the name
     * itself as the checkpoint key (TF1 savers).
     */
    static Function<String, Tensor> variables(Path dir, MetaGraphDef mg) {
        Path prefix = dir.resolve("variables").resolve("variables");
        Map<String, Tensor> cache = new HashMap<>();
        TensorBundle[] bundle = {null};
        Map<String, String> keys = new HashMap<>();
        return name -> cache.computeIfAbsent(name, n -> {
            if (bundle[0] == null) {
                if (!Files.isRegularFile(prefix.resolveSibling("variables.index"))) {
                    throw LstmxException.badInput(dir + ": the graph reads variable '" + SafeText.name(n) + "' but there is no variables/variables.index");
                }
                bundle[0] = TensorBundle.open(prefix);
                objectKeys(bundle[0], mg, keys, prefix.resolveSibling("variables.index").toString());
            }
            TensorBundle b = bundle[0];
            String key = keys.get(n);
            if (key == null) {
                key = b.has(n) ? n : n + "/.ATTRIBUTES/VARIABLE_VALUE";
            }
            if (!b.has(key)) {
                throw LstmxException.badInput(prefix + ".index: no checkpoint entry for variable '" + SafeText.name(n) + "'");
            }
            return b.tensor(key);
        });
    }

    private static void objectKeys(TensorBundle b, MetaGraphDef mg, Map<String, String> keys, String where) {
        byte[] raw = b.scalarString("_CHECKPOINTABLE_OBJECT_GRAPH");
        if (raw == null || !mg.hasObjectGraphDef()) {
            return;
        }
        TrackableObjectGraph tog;
        try {
            tog = TrackableObjectGraph.parseFrom(raw);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw LstmxException.badInput(where + ": damaged object graph (" + SafeText.oneLine(String.valueOf(e.getMessage())) + ")");
        }
        List<SavedObject> nodes = mg.getObjectGraphDef().getNodesList();
        for (int i = 0; i < nodes.size() && i < tog.getNodesCount(); i++) {
            if (!nodes.get(i).hasVariable()) {
                continue;
            }
            for (var a : tog.getNodes(i).getAttributesList()) {
                if (a.getName().equals("VARIABLE_VALUE")) {
                    keys.putIfAbsent(nodes.get(i).getVariable().getName(), a.getCheckpointKey());
                }
            }
        }
    }
}
