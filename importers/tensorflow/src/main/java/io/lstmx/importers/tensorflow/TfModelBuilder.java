package io.lstmx.importers.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.importers.kit.FoldBudget;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.passes.DeadLayerRemoval;
import io.lstmx.passes.LayerNormAffineFusion;
import io.lstmx.util.SafeText;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.TensorShapeProto;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Runs the interpreter on a graph for named inputs and outputs and assembles the IR model. */
final class TfModelBuilder {
    /** A graph input: the placeholder node it feeds, and its name, dtype and shape in the IR. */
    record Input(String node, String name, DataType dtype, TensorShapeProto shape) {
    }

    /** A graph output: the tensor reference ("node:k") and its name in the IR. */
    record Output(String ref, String name) {
    }

    private TfModelBuilder() {
    }

    static Model build(String file, String modelName, ModelInfo info, GraphDef graph, List<Input> inputs, List<Output> outputs,
                       Function<String, Tensor> variables, long fileBytes) {
        Map<String, FunctionDef> functions = new HashMap<>();
        for (FunctionDef f : graph.getLibrary().getFunctionList()) {
            functions.put(f.getSignature().getName(), f);
        }
        TfInterpreter in = new TfInterpreter(file, functions, variables, new FoldBudget(file, fileBytes));
        for (Input i : inputs) {
            in.names.reserve(i.name());
        }
        for (Output o : outputs) {
            in.names.reserve(o.name());
        }
        Map<String, Object> bound = new LinkedHashMap<>();
        List<ValueInfo> irInputs = new ArrayList<>();
        for (Input i : inputs) {
            DType t = TfTensors.irType(i.dtype());
            if (t == null) {
                throw LstmxException.unsupported(file + ": input '" + SafeText.name(i.name()) + "' has dtype " + i.dtype());
            }
            List<SDim> shape = null;
            if (i.shape() != null && !i.shape().getUnknownRank()) {
                shape = new ArrayList<>();
                for (int k = 0; k < i.shape().getDimCount(); k++) {
                    long d = i.shape().getDim(k).getSize();
                    // "batch" only for the one input of a single-input model: with several inputs (x, h0, c0) dimension 0
                    // is not the batch of each, and equal symbols would claim equal sizes
                    shape.add(d >= 0 ? SDim.known(d) : SDim.symbolic(k == 0 && inputs.size() == 1 ? "batch" : i.name() + "_" + k));
                }
            }
            bound.put(i.node(), new Value.Run(i.name(), t, shape));
            irInputs.add(new ValueInfo(i.name(), t, Shapes.toIr(shape)));
        }
        List<Object> results = in.evaluate(graph.getNodeList(), Map.of(), false, outputs.stream().map(Output::ref).toList(), "", 0, bound);
        if (!in.unknown.isEmpty()) {
            throw unknown(file, in.unknown);
        }
        List<ValueInfo> irOutputs = new ArrayList<>();
        for (int k = 0; k < outputs.size(); k++) {
            Object r = results.get(k);
            Output o = outputs.get(k);
            if (!(r instanceof Value v)) {
                throw LstmxException.unsupported(file + ": output '" + SafeText.name(o.name()) + "' is " + TfInterpreter.describe(r) + ", not a tensor");
            }
            TfNode at = new TfNode(in, org.tensorflow.proto.NodeDef.newBuilder().setName(o.name()).setOp("Output").build(), "", List.of(), 0);
            String src = in.materialize(v, at);
            in.add(new Layer.Identity(in.names.fresh(o.name() + "/output"), src, o.name()));
            irOutputs.add(new ValueInfo(o.name(), Value.dtypeOf(v).computeType(), Shapes.toIr(Value.shapeOf(Value.simplify(v)))));
        }
        // cells unrolled over every step become one layer each: chains of LSTMBlockCell, then cells spelt out in arithmetic
        java.util.Set<String> inNames = new java.util.HashSet<>(irInputs.stream().map(ValueInfo::name).toList());
        java.util.Set<String> outNames = new java.util.HashSet<>(irOutputs.stream().map(ValueInfo::name).toList());
        List<Layer> layers = TfUnrolled.fold(in.layers, inNames, outNames, in.names);
        TfNode at = new TfNode(in, org.tensorflow.proto.NodeDef.newBuilder().setName("unrolled cell").setOp("(unrolled)").build(), "", List.of(), 0);
        for (int guard = 0; guard < 64; guard++) {
            List<Layer> folded = TfUnrolled.foldCells(layers, inNames, outNames, at);
            if (folded == null || !sameFunction(modelName, info, irInputs, irOutputs, layers, folded)) {
                break;
            }
            layers = folded;
        }
        // a spelt-out layer norm's gamma and beta (a Mul and an Add of constants) folded back into it
        Model m = new DeadLayerRemoval().apply(new LayerNormAffineFusion().apply(new Model(modelName, info, irInputs, irOutputs, layers)));
        for (Layer l : m.layers()) {
            for (String o : l.outputs()) {
                TfSymbolic.ClipOf clip = in.clips.get(o);
                if (clip != null) {
                    throw LstmxException.unsupported(clip.where() + ": clips a value to [" + clip.lo() + ", " + clip.hi() + "]; lstmx reads"
                            + " clip_by_value only as the cell clip of an LSTM cell (in a While loop body or a cell unrolled over every step)"
                            + ": the IR has no clip layer");
                }
            }
        }
        return m;
    }

    /**
     * Whether two layer lists compute the same outputs (within 1e-4 + 1e-4·|v|) on random inputs of
     * the declared shapes (unknown sizes taken as 2): the check that keeps a fold of an unrolled cell.
     */
    static boolean sameFunction(String name, ModelInfo info, List<ValueInfo> inputs, List<ValueInfo> outputs, List<Layer> a, List<Layer> b) {
        java.util.Random rnd = new java.util.Random(20261207L);
        Map<String, Tensor> feed = new HashMap<>();
        for (ValueInfo v : inputs) {
            if (!v.dtype().isFloating() || !v.shape().rankKnown()) {
                return false;
            }
            int[] shape = new int[v.shape().rank()];
            long size = 1;
            for (int i = 0; i < shape.length; i++) {
                long dim = v.shape().dim(i) instanceof io.lstmx.ir.Dim.Fixed f ? f.size() : 2;
                // declared sizes come from the file: a huge one ends the check before any product can overflow
                if (dim < 0 || dim > 1 << 16) {
                    return false;
                }
                shape[i] = (int) dim;
                size *= dim;
                if (size > 1 << 16) {
                    return false; // large declared inputs: not worth a test run, the steps stay unrolled
                }
            }
            float[] d = new float[(int) size];
            for (int i = 0; i < d.length; i++) {
                d[i] = (float) rnd.nextGaussian();
            }
            feed.put(v.name(), Tensor.ofFloats(shape, d));
        }
        try {
            Map<String, Tensor> x = io.lstmx.runtime.NativeRuntime.compile(new Model(name, info, inputs, outputs, a)).run(feed);
            Map<String, Tensor> y = io.lstmx.runtime.NativeRuntime.compile(new Model(name, info, inputs, outputs, b)).run(feed);
            for (ValueInfo o : outputs) {
                float[] p = x.get(o.name()).toFloatArray();
                float[] q = y.get(o.name()).toFloatArray();
                if (p.length != q.length) {
                    return false;
                }
                for (int i = 0; i < p.length; i++) {
                    if (!(Math.abs(p[i] - q[i]) <= 1e-4f + 1e-4f * Math.abs(p[i]))) {
                        return false;
                    }
                }
            }
            return true;
        } catch (RuntimeException e) {
            // a fold that cannot even be run on test inputs is not kept; the unfolded layers compute the model as read
            return false;
        }
    }

    /** One UNSUPPORTED error naming every unknown op with the nodes that use it. */
    static LstmxException unknown(String file, List<String> unknown) {
        Map<String, List<String>> byOp = new LinkedHashMap<>();
        for (String u : unknown) {
            int p = u.indexOf(" (node ");
            byOp.computeIfAbsent(u.substring(0, p), k -> new ArrayList<>()).add(u.substring(p + 7, u.length() - 1));
        }
        StringBuilder sb = new StringBuilder(file + ": unsupported TensorFlow ops: ");
        int i = 0;
        for (Map.Entry<String, List<String>> e : byOp.entrySet()) {
            if (i++ > 0) {
                sb.append("; ");
            }
            List<String> nodes = e.getValue();
            sb.append(e.getKey()).append(nodes.size() == 1 ? " (node " : " (" + nodes.size() + " nodes: ")
                    .append(String.join(", ", nodes.subList(0, Math.min(3, nodes.size()))))
                    .append(nodes.size() > 3 ? ", ..." : "").append(")");
            if (sb.length() > 1800) {
                sb.append("; and more");
                break;
            }
        }
        return LstmxException.unsupported(sb.toString());
    }
}
