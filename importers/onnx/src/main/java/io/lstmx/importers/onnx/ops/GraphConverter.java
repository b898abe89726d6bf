package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.PartialModelException;
import io.lstmx.importers.kit.Fold;
import io.lstmx.importers.kit.FoldBudget;
import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.OperatorSetIdProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.onnx.proto.Onnx.TensorShapeProto;
import io.lstmx.onnx.proto.Onnx.TypeProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;
import io.lstmx.passes.DeadLayerRemoval;
import io.lstmx.util.SafeText;
import io.lstmx.util.UniqueNames;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a parsed ONNX model into the IR. Nodes are visited in file order (ONNX requires topological
 * order); each gets the converter registered for its operator and opset. Problems that make the
 * model inexpressible (unknown operators, unsupported attribute values) are collected over the whole
 * graph and reported in one UNSUPPORTED error, a {@link PartialModelException} that also carries
 * what did convert; malformed models fail at once with BAD_INPUT.
 */
public final class GraphConverter {
    private final String file;
    private final Path baseDir;
    private final long opset;
    private final Map<String, Value> values = new HashMap<>();
    private final Map<String, Integer> uses = new HashMap<>();
    /**
     * Reads by nodes not yet converted, per value: a constant nobody reads any more (and that is no
     * graph output) is dropped from {@link #values}, so that an initializer's tensor is not kept
     * alive beside the canonical copy its LSTM made (issue 9: converting a model holds its weights
     * about once, not twice).
     */
    private final Map<String, Integer> unread = new HashMap<>();
    /** Constants dropped after their last read (see {@link #unread}); reading one again is a bug. */
    private final Set<String> released = new HashSet<>();
    private final Set<String> graphOutputs = new HashSet<>();
    private final UniqueNames valueNames = new UniqueNames();
    private final UniqueNames layerNames = new UniqueNames();
    private final Map<String, String> materialized = new HashMap<>();
    private final List<Layer> layers = new ArrayList<>();
    private final Map<String, Integer> producer = new HashMap<>();
    private final List<String> problems = new ArrayList<>();
    /** The problems again, by node, for the partial result. */
    private final List<PartialModelException.Unsupported> unsupported = new ArrayList<>();
    /** Nodes left out because an input comes from an unsupported node. */
    private final List<String> dependents = new ArrayList<>();
    /** ONNX values that unsupported or left-out nodes read: where the convertible part ends. */
    private final Set<String> frontier = new LinkedHashSet<>();
    private final Set<String> nodeNamesSeen = new HashSet<>();
    /** IR layer / value name -> ONNX name, where they differ (see ModelInfo.SourceNames). */
    private final Map<String, String> sourceLayerNames = new HashMap<>();
    private final Map<String, String> sourceValueNames = new HashMap<>();
    /** Name of the ONNX node being converted ("" when unnamed or between nodes): the source of the layers it emits. */
    private String currentNode = "";
    private int anonymousDims;
    /** What the conversion may fold and copy: a few times what the file holds. */
    private final FoldBudget budget;

    private GraphConverter(String file, Path baseDir, long opset, long serializedBytes) {
        this.file = file;
        this.baseDir = baseDir;
        this.opset = opset;
        this.budget = new FoldBudget(file, serializedBytes);
    }

    /**
     * Converts {@code model}.
     *
     * @param file           names the source in messages
     * @param baseDir        folder that external tensor data must stay inside; may be null
     * @param constantInputs graph inputs to treat as constants with these values (may be empty)
     */
    public static Model convert(ModelProto model, String file, Path baseDir, Map<String, Tensor> constantInputs) {
        long opset = defaultOpset(model, file);
        GraphConverter g = new GraphConverter(file, baseDir, opset, model.getSerializedSize());
        String producerText = (model.getProducerName() + " " + model.getProducerVersion()).trim();
        ModelInfo info = new ModelInfo("onnx", producerText, "opset " + opset + ", ir_version " + model.getIrVersion());
        // PyTorch's packed-sequence export sorts the batch around its LSTMs; the sort cancels out.
        GraphProto graph = PackedSequenceRewrite.apply(model.getGraph());
        String name = graph.getName().isEmpty() ? stem(file) : graph.getName();
        return g.run(graph, name, info, constantInputs);
    }

    private static long defaultOpset(ModelProto model, String file) {
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                if (o.getVersion() < 1) {
                    throw LstmxException.badInput(file + ": opset_import gives the default domain version " + o.getVersion()
                            + "; opset versions start at 1");
                }
                return o.getVersion();
            }
        }
        // Models from before opset_import existed (IR version 1 and 2) use opset 1.
        return 1;
    }

    private static String stem(String file) {
        String f = Path.of(file).getFileName() == null ? file : Path.of(file).getFileName().toString();
        int dot = f.lastIndexOf('.');
        return dot > 0 ? f.substring(0, dot) : f;
    }

    private Model run(GraphProto graph, String modelName, ModelInfo info, Map<String, Tensor> constantInputs) {
        collectNames(graph);
        Map<String, TensorProto> initializers = new LinkedHashMap<>();
        for (TensorProto t : graph.getInitializerList()) {
            if (initializers.put(t.getName(), t) != null) {
                throw LstmxException.badInput(file + ": initializer '" + t.getName() + "' is defined twice");
            }
        }
        if (graph.getSparseInitializerCount() > 0) {
            graphProblem("sparse initializers (" + graph.getSparseInitializer(0).getValues().getName() + ", ...) are not supported");
            for (var s : graph.getSparseInitializerList()) {
                values.put(s.getValues().getName(), new Value.Poisoned());
            }
        }
        for (TensorProto t : initializers.values()) {
            Tensor tensor = OnnxTensors.toTensor(t, baseDir, file);
            budget.fromFile(tensor);
            values.put(t.getName(), new Value.Const(tensor));
        }
        Set<String> inputNames = new HashSet<>();
        for (ValueInfoProto vi : graph.getInputList()) {
            inputNames.add(vi.getName());
        }
        for (String c : constantInputs.keySet()) {
            if (!inputNames.contains(c)) {
                throw LstmxException.badInput(file + ": constant input '" + c + "' is not a graph input; inputs are " + SafeText.list(inputNames));
            }
        }
        List<ValueInfo> irInputs = new ArrayList<>();
        for (ValueInfoProto vi : graph.getInputList()) {
            if (initializers.containsKey(vi.getName())) {
                continue; // ir_version < 4 style: weights are listed as inputs too; they are constants
            }
            String where = file + ": graph input '" + vi.getName() + "'";
            if (values.containsKey(vi.getName())) {
                throw LstmxException.badInput(where + " is declared twice");
            }
            DType dtype = elemType(vi, where);
            List<SDim> shape = declaredShape(vi, true);
            Tensor given = constantInputs.get(vi.getName());
            if (given != null) {
                Shape declared = Shapes.toIr(shape);
                if (!declared.accepts(given.shape())) {
                    throw LstmxException.badInput(where + ": constant value has shape " + Arrays.toString(given.shape())
                            + ", declared " + declared);
                }
                if (given.dtype().isFloating() != dtype.isFloating()) {
                    throw LstmxException.badInput(where + ": constant value is " + given.dtype() + ", declared " + dtype);
                }
                Tensor value = given.withDType(dtype);
                budget.fromFile(value); // given by the caller: as good as read from the file
                values.put(vi.getName(), new Value.Const(value));
                continue;
            }
            values.put(vi.getName(), new Value.Run(vi.getName(), dtype, shape));
            irInputs.add(new ValueInfo(vi.getName(), dtype, Shapes.toIr(shape)));
        }
        int index = 0;
        for (NodeProto n : graph.getNodeList()) {
            convertNode(n, index++);
            releaseAfter(n);
        }
        List<ValueInfo> irOutputs = new ArrayList<>();
        for (ValueInfoProto vi : graph.getOutputList()) {
            ValueInfo out = output(vi);
            if (out != null) {
                irOutputs.add(out);
            }
        }
        if (!problems.isEmpty()) {
            // The line names the first few problems: a graph of 50,000 unknown nodes must not print 50,000 of them
            // (inspect lists them all from the partial result).
            String shown = SafeText.join(problems, "; ");
            throw new PartialModelException(file + ": cannot convert " + problems.size() + " node" + (problems.size() == 1 ? "" : "s")
                    + " (" + shown + ")", partial(graph, modelName, info, irInputs, irOutputs));
        }
        try {
            // A dead branch of the ONNX graph is dropped before the check below: it need not even be consistent.
            Model live = new DeadLayerRemoval().apply(new Model(modelName, info, irInputs, irOutputs, layers));
            Model m = new Model(modelName, info.withSourceNames(sourceNames(live.layers())), irInputs, irOutputs, live.layers());
            // The converters check each node locally; this checks the whole IR graph statically
            // (layer against layer, declared outputs against what their layers produce).
            ShapeInference.infer(m);
            return m;
        } catch (LstmxException e) {
            throw e.withContext(file);
        }
    }

    /**
     * Records that {@code node} (IR layer name {@code layerName}) cannot be converted: {@code text}
     * for the one-line report, {@code reason} (the same without the node) for the partial result.
     */
    private void problem(NodeProto node, String layerName, String reason, String text) {
        problems.add(text);
        unsupported.add(new PartialModelException.Unsupported(node.getName().isEmpty() ? layerName : node.getName(), node.getOpType(),
                OpRegistry.normalizeDomain(node.getDomain()), reason));
        frontier.addAll(node.getInputList());
    }

    /** Records a problem of the graph as a whole. */
    private void graphProblem(String reason) {
        problems.add(reason);
        unsupported.add(new PartialModelException.Unsupported(null, null, "", reason));
    }

    /**
     * What did convert: the inputs, the layers feeding the graph outputs that converted and the
     * values the unconverted nodes read (which become the partial model's outputs, so that their
     * shapes are known). Best effort: when that part is not a consistent model by itself, only
     * the list of problems is given.
     */
    private PartialModelException.Partial partial(GraphProto graph, String modelName, ModelInfo info, List<ValueInfo> irInputs,
                                                  List<ValueInfo> irOutputs) {
        List<String> declared = new ArrayList<>();
        for (ValueInfoProto vi : graph.getOutputList()) {
            declared.add(vi.getName());
        }
        Map<String, ValueInfo> outs = new LinkedHashMap<>();
        for (ValueInfo o : irOutputs) {
            outs.put(o.name(), o);
        }
        for (String onnxName : frontier) {
            if (!onnxName.isEmpty() && values.get(onnxName) instanceof Value.Run r && !outs.containsKey(r.name())) {
                outs.put(r.name(), new ValueInfo(r.name(), r.dtype(), Shapes.toIr(r.shape())));
            }
        }
        Model model = null;
        try {
            List<ValueInfo> o = new ArrayList<>(outs.values());
            model = new DeadLayerRemoval().apply(new Model(modelName, info, irInputs, o, layers));
            ShapeInference.infer(model);
        } catch (LstmxException | IllegalArgumentException e) {
            model = null; // the part is not a model by itself (e.g. nothing converted): the problems alone are reported
        }
        return new PartialModelException.Partial(model, declared, unsupported, dependents);
    }

    /** Counts uses of every value and reserves every ONNX value name so generated names never clash. */
    private void collectNames(GraphProto graph) {
        for (ValueInfoProto vi : graph.getInputList()) {
            valueNames.reserve(vi.getName());
        }
        for (TensorProto t : graph.getInitializerList()) {
            valueNames.reserve(t.getName());
        }
        Set<String> produced = new HashSet<>();
        for (NodeProto n : graph.getNodeList()) {
            for (String in : n.getInputList()) {
                if (!in.isEmpty()) {
                    uses.merge(in, 1, Integer::sum);
                    unread.merge(in, 1, Integer::sum);
                }
            }
            for (String out : n.getOutputList()) {
                if (!out.isEmpty() && !produced.add(out)) {
                    throw LstmxException.badInput(file + ": value '" + out + "' is produced by more than one node");
                }
                // ONNX graphs assign every value once: a node may not overwrite an input or initializer.
                if (!out.isEmpty() && valueNames.isTaken(out)) {
                    throw LstmxException.badInput(file + ": node '" + n.getName() + "' (" + n.getOpType() + ") writes '" + out
                            + "', which is already a graph input or initializer");
                }
            }
            for (String out : n.getOutputList()) {
                valueNames.reserve(out);
            }
            if (!n.getName().isEmpty()) {
                layerNames.reserve(n.getName());
            }
        }
        for (ValueInfoProto vi : graph.getOutputList()) {
            graphOutputs.add(vi.getName());
            uses.merge(vi.getName(), 1, Integer::sum);
        }
    }

    private void convertNode(NodeProto n, int index) {
        // Node names are optional and not always unique; IR layer names must be both.
        String layerName = n.getName().isEmpty() || !nodeNamesSeen.add(n.getName())
                ? uniqueLayerName((n.getName().isEmpty() ? n.getOpType() : n.getName()) + "_" + index) : n.getName();
        OnnxNode node = new OnnxNode(this, n, layerName);
        for (String in : n.getInputList()) {
            if (!in.isEmpty() && !values.containsKey(in)) {
                if (released.contains(in)) {
                    throw LstmxException.internal(file + ": " + node.label() + " reads constant '" + in + "' after its last reader");
                }
                throw LstmxException.badInput(file + ": " + node.label() + " reads '" + in
                        + "', which no graph input, initializer or earlier node defines (nodes must be in topological order)");
            }
        }
        String domain = OpRegistry.normalizeDomain(n.getDomain());
        long domainOpset = domain.isEmpty() ? opset : -1;
        OpConverter c = domain.isEmpty() ? OpRegistry.STANDARD.find(domain, n.getOpType(), domainOpset) : null;
        if (c == null) {
            String reason = "operator " + (domain.isEmpty() ? "" : domain + "::") + n.getOpType()
                    + " is not supported" + (domain.isEmpty() ? " at opset " + opset : "");
            problem(n, layerName, reason, node.label() + ": " + reason);
            poison(n);
            return;
        }
        if (n.getInputCount() > c.maxInputs()) {
            throw LstmxException.badInput(file + ": " + node.label() + " has " + n.getInputCount() + " inputs " + SafeText.list(n.getInputList())
                    + ", but " + n.getOpType() + " takes " + (c.maxInputs() == 0 ? "none" : "at most " + c.maxInputs()));
        }
        Set<String> attributeNames = new HashSet<>();
        for (var a : n.getAttributeList()) {
            if (!attributeNames.add(a.getName())) {
                throw LstmxException.badInput(file + ": " + node.label() + " has attribute '" + a.getName() + "' twice");
            }
        }
        // Converters define exactly the outputs their operator has; a node declaring others is malformed.
        if (n.getOutputCount() > c.maxOutputs()) {
            throw LstmxException.badInput(file + ": " + node.label() + " declares " + n.getOutputCount() + " outputs " + SafeText.list(n.getOutputList())
                    + ", but " + n.getOpType() + " has " + (c.maxOutputs() == 1 ? "one output" : "at most " + c.maxOutputs() + " outputs"));
        }
        if (!c.firstOutputOptional() && (n.getOutputCount() == 0 || n.getOutput(0).isEmpty())) {
            throw LstmxException.badInput(file + ": " + node.label() + " has no output; " + n.getOpType() + " must name its output 0");
        }
        for (String in : n.getInputList()) {
            if (!in.isEmpty() && values.get(in) instanceof Value.Poisoned) {
                dependents.add(n.getName().isEmpty() ? layerName : n.getName());
                frontier.addAll(n.getInputList());
                poison(n);
                return;
            }
        }
        currentNode = n.getName();
        try {
            c.convert(node);
        } catch (LstmxException e) {
            if (e.code() != ErrorCode.UNSUPPORTED) {
                throw e;
            }
            String m = e.getMessage();
            if (m.startsWith(file + ": ")) {
                m = m.substring(file.length() + 2); // the collected report names the file once
            }
            String reason = m.startsWith(node.label() + ": ") ? m.substring(node.label().length() + 2) : m;
            problem(n, layerName, reason, m.startsWith(node.label()) ? m : node.label() + ": " + m);
            poison(n);
            return;
        } finally {
            currentNode = "";
        }
        for (String out : n.getOutputList()) {
            if (!out.isEmpty() && !values.containsKey(out)) {
                throw LstmxException.internal(file + ": " + node.label() + ": converter did not define output '" + out + "'");
            }
        }
    }

    /**
     * Drops the constants that {@code n} was the last node to read (graph outputs are kept): the
     * layers hold what they need of them, and the tensor of an initializer would otherwise stay in
     * memory until the whole graph is converted.
     */
    private void releaseAfter(NodeProto n) {
        for (String in : n.getInputList()) {
            if (in.isEmpty()) {
                continue;
            }
            int left = unread.merge(in, -1, Integer::sum);
            if (left <= 0 && !graphOutputs.contains(in) && values.get(in) instanceof Value.Const) {
                values.remove(in);
                released.add(in);
            }
        }
    }

    private void poison(NodeProto n) {
        for (String out : n.getOutputList()) {
            if (!out.isEmpty()) {
                values.put(out, new Value.Poisoned());
            }
        }
    }

    private ValueInfo output(ValueInfoProto vi) {
        String name = vi.getName();
        String where = file + ": graph output '" + name + "'";
        Value v = values.get(name);
        if (v == null) {
            throw LstmxException.badInput(where + " is not produced by any node, input or initializer");
        }
        if (v instanceof Value.Poisoned) {
            return null;
        }
        DType dtype;
        try {
            boolean typed = vi.hasType() && vi.getType().getValueCase() != TypeProto.ValueCase.VALUE_NOT_SET;
            dtype = typed ? elemType(vi, where) : Value.dtypeOf(v);
        } catch (LstmxException e) {
            String m = e.getMessage();
            graphProblem(m.startsWith(file + ": ") ? m.substring(file.length() + 2) : m); // the collected report names the file once
            return null;
        }
        if (v instanceof Value.Run r) {
            if (!r.name().equals(name)) {
                // A pass-through (Identity, no-op Expand ...) made this output an alias of another value.
                emit(new Layer.Identity(uniqueLayerName(name + "/identity"), r.name(), name));
            }
        } else {
            Tensor t = asConst(v, name);
            if (t == null) {
                graphProblem("graph output '" + name + "' is " + Value.describe(v) + ", which lstmx cannot produce without a run-time layer");
                return null;
            }
            if (!producer.containsKey(name)) {
                emit(new Layer.Constant(uniqueLayerName(name + "/constant"), name, t));
            }
        }
        List<SDim> declared = declaredShape(vi, false);
        Shape shape = declared != null ? Shapes.toIr(declared) : Shapes.toIr(Value.shapeOf(v));
        return new ValueInfo(name, dtype, shape);
    }

    /** The ONNX names of the live layers and values whose IR names differ from them. */
    private ModelInfo.SourceNames sourceNames(List<Layer> live) {
        Map<String, String> layerNames = new LinkedHashMap<>();
        Map<String, String> valueNames = new LinkedHashMap<>();
        for (Layer l : live) {
            String src = sourceLayerNames.get(l.name());
            if (src != null) {
                layerNames.put(l.name(), src);
            }
            for (String v : l.outputs()) {
                String vs = sourceValueNames.get(v);
                if (vs != null) {
                    valueNames.put(v, vs);
                }
            }
        }
        return new ModelInfo.SourceNames(layerNames, valueNames);
    }

    // ---- declared types

    private DType elemType(ValueInfoProto vi, String where) {
        TypeProto t = vi.getType();
        if (!t.hasTensorType()) {
            throw LstmxException.unsupported(where + " is not a tensor (type " + t.getValueCase() + ")");
        }
        return OnnxTensors.irType(t.getTensorType().getElemType(), where);
    }

    /** Declared shape, null when there is none; unnamed dims become fresh anonymous symbols when {@code anonymous}. */
    private List<SDim> declaredShape(ValueInfoProto vi, boolean anonymous) {
        if (!vi.getType().hasTensorType() || !vi.getType().getTensorType().hasShape()) {
            return null;
        }
        List<SDim> l = new ArrayList<>();
        for (TensorShapeProto.Dimension d : vi.getType().getTensorType().getShape().getDimList()) {
            if (d.hasDimValue() && d.getDimValue() >= 0) {
                l.add(SDim.known(d.getDimValue()));
            } else if (d.hasDimParam() && !d.getDimParam().isEmpty()) {
                l.add(SDim.symbolic(d.getDimParam()));
            } else {
                l.add(anonymous ? freshDim() : SDim.symbolic(SDim.ANONYMOUS));
            }
        }
        return l;
    }

    // ---- services for node converters

    String file() {
        return file;
    }

    Path baseDir() {
        return baseDir;
    }

    long opset() {
        return opset;
    }

    Value value(String onnxName) {
        Value v = values.get(onnxName);
        if (v == null && released.contains(onnxName)) {
            throw LstmxException.internal(file + ": constant '" + onnxName + "' was read after its last reader");
        }
        return v;
    }

    void define(String onnxName, Value v) {
        if (v instanceof Value.Const c) {
            budget.hold(c.tensor(), "value '" + onnxName + "'");
        }
        values.put(onnxName, Value.simplify(v));
    }

    boolean isUsed(String onnxName) {
        return uses.getOrDefault(onnxName, 0) > 0;
    }

    int useCount(String onnxName) {
        return uses.getOrDefault(onnxName, 0);
    }

    boolean isGraphOutput(String onnxName) {
        return graphOutputs.contains(onnxName);
    }

    SDim freshDim() {
        return SDim.anonymous(++anonymousDims);
    }

    String uniqueValueName(String base) {
        return valueNames.fresh(base);
    }

    String uniqueLayerName(String base) {
        return layerNames.fresh(base);
    }

    void emit(Layer layer) {
        budget.holdLayer(layer);
        layerNames.reserve(layer.name());
        if (!currentNode.isEmpty() && !currentNode.equals(layer.name())) {
            // a twice-used node name made unique, or an extra layer split off the node
            sourceLayerNames.putIfAbsent(layer.name(), currentNode);
        }
        for (String out : layer.outputs()) {
            producer.put(out, layers.size());
        }
        layers.add(layer);
    }

    /** Largest tensor folding may still create, in elements. */
    long foldRoom() {
        return budget.room();
    }

    /** The layer that writes IR value {@code irName}, or null for inputs. */
    Layer producerOf(String irName) {
        Integer i = producer.get(irName);
        return i == null ? null : layers.get(i);
    }

    /** Replaces the layer writing {@code irName} (used to fuse a bias Add into a Dense). */
    void replaceProducer(String irName, Layer replacement) {
        int i = producer.remove(irName);
        layers.set(i, replacement);
        for (String out : replacement.outputs()) {
            producer.put(out, i);
        }
    }

    /** The value as a constant tensor if it is one or can be materialised, else null. */
    Tensor asConst(Value v, String onnxName) {
        return Fold.constant(v, onnxName, budget);
    }

    /** IR value name of an input, emitting a Constant layer (once per ONNX value) for constants. */
    String materialize(String onnxName, Value v, OnnxNode node) {
        if (v instanceof Value.Run r) {
            return r.name();
        }
        String done = materialized.get(onnxName);
        if (done != null) {
            return done;
        }
        Tensor t = asConst(v, onnxName);
        if (t == null) {
            throw node.unsupported("input '" + onnxName + "' is " + Value.describe(v)
                    + "; lstmx can only use it as a run-time tensor when its shape is known");
        }
        String irName = uniqueValueName(onnxName + "/const");
        String layerName = uniqueLayerName(onnxName + "/constant");
        // the layer holds the ONNX value (an initializer or a folded constant), not the node reading it
        sourceValueNames.put(irName, onnxName);
        sourceLayerNames.put(layerName, onnxName);
        emit(new Layer.Constant(layerName, irName, t));
        materialized.put(onnxName, irName);
        return irName;
    }
}
