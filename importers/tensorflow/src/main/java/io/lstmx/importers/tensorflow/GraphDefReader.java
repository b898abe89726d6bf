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
import io.lstmx.util.SafeText;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reader plug-in for frozen TensorFlow GraphDefs (.pb: variables folded into Const nodes). The
 * inputs are the Placeholder nodes, in graph order, named after them; the outputs are the nodes
 * nothing else reads (other than no-ops, constants, variables and placeholders), output 0 of each,
 * named after the node. The graph and its function library are interpreted as for SavedModels.
 */
public final class GraphDefReader implements FormatReader {
    private static final Set<String> NOT_OUTPUTS = Set.of("NoOp", "Const", "Placeholder", "PlaceholderWithDefault", "VarHandleOp",
            "VariableV2", "Variable", "Assign", "AssignVariableOp", "SaveV2", "RestoreV2", "MergeV2Checkpoints", "ShardedFilename",
            "StringJoin");

    @Override
    public Format format() {
        return Format.TF_GRAPHDEF;
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        // A GraphDef has no signature of its own: only the .pb extension tells it.
        return probe.isRegularFile() && probe.extension().equals("pb") && !probe.fileName().equals("saved_model.pb")
                ? Recognition.BY_NAME : Recognition.NO;
    }

    @Override
    public Model read(Path path, ReadOptions options) {
        String file = path.toString();
        GraphDef g;
        long size;
        try {
            size = Files.size(path);
            if (size > Integer.MAX_VALUE) {
                throw LstmxException.unsupported(file + ": " + size + " bytes, over protobuf's 2 GiB limit");
            }
            io.lstmx.util.Heap.require(size * 4, file);
            CodedInputStream in = CodedInputStream.newInstance(Files.readAllBytes(path));
            in.setSizeLimit(Integer.MAX_VALUE);
            g = GraphDef.parseFrom(in);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw LstmxException.badInput(file + ": not a GraphDef protobuf (" + SafeText.oneLine(String.valueOf(e.getMessage())) + ")");
        } catch (IOException e) {
            throw LstmxException.badInput(file + ": cannot read (" + e.getMessage() + ")");
        }
        if (g.getNodeCount() == 0) {
            throw LstmxException.badInput(file + ": the GraphDef has no nodes");
        }
        Set<String> read = new HashSet<>();
        for (NodeDef n : g.getNodeList()) {
            for (String s : n.getInputList()) {
                String r = s.startsWith("^") ? s.substring(1) : s;
                int c = r.lastIndexOf(':');
                read.add(c < 0 ? r : r.substring(0, c));
            }
        }
        List<TfModelBuilder.Input> inputs = new ArrayList<>();
        List<TfModelBuilder.Output> outputs = new ArrayList<>();
        for (NodeDef n : g.getNodeList()) {
            if (n.getOp().equals("Placeholder") && n.getInputCount() == 0) {
                var shape = n.getAttrMap().get("shape");
                var dtype = n.getAttrMap().get("dtype");
                inputs.add(new TfModelBuilder.Input(n.getName(), n.getName(), dtype == null ? DataType.DT_FLOAT : dtype.getType(),
                        shape == null ? null : shape.getShape()));
            } else if (!read.contains(n.getName()) && !NOT_OUTPUTS.contains(n.getOp())) {
                outputs.add(new TfModelBuilder.Output(n.getName() + ":0", n.getName()));
            }
        }
        if (outputs.isEmpty()) {
            throw LstmxException.badInput(file + ": no node computes an output (every node is read by another, or is a constant or no-op)");
        }
        String name = path.getFileName() == null ? "model" : path.getFileName().toString().replaceFirst("\\.pb$", "");
        ModelInfo info = new ModelInfo("tf-graphdef", "tensorflow", "frozen GraphDef; producer version " + g.getVersions().getProducer());
        return TfModelBuilder.build(file, name, info, g, inputs, outputs,
                v -> {
                    throw LstmxException.unsupported(file + ": the graph reads variable '" + SafeText.name(v)
                            + "'; a frozen GraphDef holds constants (freeze the graph, or read the SavedModel)");
                }, size);
    }
}
