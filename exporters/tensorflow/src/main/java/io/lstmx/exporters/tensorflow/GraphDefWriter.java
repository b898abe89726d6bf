package io.lstmx.exporters.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;
import io.lstmx.ir.ValueInfo;
import io.lstmx.util.AtomicFiles;
import io.lstmx.util.SafeText;
import java.nio.file.Path;
import org.tensorflow.Graph;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes the IR as a frozen TensorFlow GraphDef ({@code .pb}): the graph {@link TfGraphBuilder}
 * builds for a SavedModel (weights are constants already, loops are functions of the graph's
 * library), without a signature. A GraphDef names its inputs and outputs only by its nodes, so
 * the inputs are the Placeholder nodes, named as the model's inputs, and the outputs are Identity
 * nodes {@code output_0}, {@code output_1}, ... in model order, the only nodes nothing reads: the
 * graph is pruned to what they need (a node nothing reads would be taken for an output by the
 * readers of frozen graphs, lstmx's and TensorFlow's conventions alike). An input whose name
 * TensorFlow does not allow for a node is renamed, with a note. The pruning is done on the graph
 * TensorFlow built with stand-ins for the weights, and the weights go from the IR into the file as
 * it is written ({@link TfWeights}, {@link TfGraphDefStream}): no copy of them is ever whole in
 * memory.
 */
public final class GraphDefWriter implements FormatWriter {
    /** The writer; TensorFlow's native library loads on the first write. */
    public GraphDefWriter() {
    }

    @Override
    public Format format() {
        return Format.TF_GRAPHDEF;
    }

    @Override
    public String defaultFileName() {
        return "model.pb";
    }

    @Override
    public Map<String, Object> details() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("inputs", "Placeholder nodes named as the model's inputs");
        m.put("outputs", "Identity nodes output_0, output_1, ...");
        m.put("lstm", "BlockLSTM, else a While loop");
        return m;
    }

    @Override
    public void write(Model model, Path path, WriteOptions options) {
        writeWithNotes(model, path, options);
    }

    @Override
    public List<String> writeWithNotes(Model model, java.nio.file.Path path, WriteOptions options) {
        TfLogging.quiet();
        TfGraphDefStream graph;
        List<String> notes = new ArrayList<>();
        try (Graph g = new Graph()) {
            TfWeights weights = TfWeights.streamed();
            var sig = new TfGraphBuilder(Ops.create(g), model, weights).build();
            GraphDef def = pruned(g.toGraphDef(), model.outputNames().size(), sig.getInputs().values().stream()
                    .map(d -> d.name.replaceFirst(":0$", "")).toList());
            graph = new TfGraphDefStream(def, weights.standIns(), path.toString());
            for (ValueInfo v : model.inputs()) {
                String node = sig.getInputs().get(v.name()).name.replaceFirst(":0$", "");
                if (!node.equals(v.name())) {
                    notes.add("input '" + SafeText.name(v.name()) + "' is the Placeholder node '" + node
                            + "' (TensorFlow does not allow that name for a node)");
                }
            }
        } catch (LstmxException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip().split("\\R")[0];
            throw LstmxException.unsupported(path + ": TensorFlow cannot write this model as a GraphDef: " + SafeText.message(why));
        }
        try {
            // AtomicFiles: nothing is left at path unless the whole file was written
            AtomicFiles.write(path, out -> {
                try (TfWeights.Sink sink = TfWeights.Sink.onto(out, 1 << 20)) {
                    graph.writeTo(sink);
                    sink.finish();
                }
            });
        } catch (LstmxException e) {
            throw e;
        } catch (RuntimeException e) {
            throw LstmxException.internal(path + ": the GraphDef could not be written: " + SafeText.message(String.valueOf(e.getMessage())));
        }
        return notes;
    }

    /** The nodes output_0 .. output_{n-1} need, the input placeholders, and the function library. */
    static GraphDef pruned(GraphDef g, int outputs, List<String> inputs) {
        Map<String, NodeDef> byName = new HashMap<>();
        for (NodeDef n : g.getNodeList()) {
            byName.put(n.getName(), n);
        }
        Set<String> keep = new HashSet<>(inputs);
        Deque<String> todo = new ArrayDeque<>();
        for (int k = 0; k < outputs; k++) {
            String o = "output_" + k;
            if (!byName.containsKey(o)) {
                throw LstmxException.internal("GraphDef export: no node '" + o + "'");
            }
            todo.add(o);
        }
        while (!todo.isEmpty()) {
            String n = todo.pop();
            if (!keep.add(n) && !n.startsWith("output_")) {
                continue;
            }
            NodeDef d = byName.get(n);
            if (d == null) {
                continue;
            }
            for (String in : d.getInputList()) {
                String r = in.startsWith("^") ? in.substring(1) : in;
                int c = r.indexOf(':');
                String src = c < 0 ? r : r.substring(0, c);
                if (!keep.contains(src)) {
                    todo.add(src);
                }
            }
        }
        GraphDef.Builder b = g.toBuilder().clearNode();
        for (NodeDef n : g.getNodeList()) {
            if (keep.contains(n.getName())) {
                b.addNode(n);
            }
        }
        return b.build();
    }
}
