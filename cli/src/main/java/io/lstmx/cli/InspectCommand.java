package io.lstmx.cli;

import io.lstmx.api.Lstmx;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Dim;
import io.lstmx.formats.Format;
import io.lstmx.formats.PartialModelException;
import io.lstmx.ir.Layer;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.ValueInfo;
import io.lstmx.runtime.NativeRuntime;
import io.lstmx.util.SafeText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code lstmx inspect MODEL [--json]}: what a model file holds, as lstmx reads it. A model using
 * something lstmx cannot handle is reported with what was found, and exit status 3.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Shows a model's format, inputs, outputs and layers (sizes, output shapes, direction, layout, gate order, parameters).")
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Model file or SavedModel directory.")
    Path model;

    @Option(names = "--from", paramLabel = "FORMAT", converter = Formats.Converter.class,
            description = "Read the model as this format (onnx, keras, tensorflow, pytorch) instead of detecting it.")
    Format from;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @picocli.CommandLine.Mixin
    ReadHints hints = new ReadHints();

    @Override
    public Integer call() {
        try (Progress progress = main.progress(spec.commandLine().getErr())) {
            inspect(progress);
            progress.finish();
        }
        return 0;
    }

    private void inspect(Progress progress) {
        PrintWriter out = spec.commandLine().getOut();
        Format format = from != null ? from : Lstmx.detect(model);
        Model m;
        PartialModelException partial = null;
        try (Progress.Step s = progress.begin("reading " + model)) {
            m = Lstmx.read(model, format, hints.options());
            s.done(Text.layerSummary(m));
        } catch (PartialModelException e) {
            // Some nodes have no IR equivalent: show everything else, then the error line.
            partial = e;
            m = e.partial().model();
        } catch (LstmxException e) {
            if (e.code() != ErrorCode.UNSUPPORTED) {
                throw e;
            }
            // Say what the file is before the error line: the format was recognised, a feature was not.
            List<String> problems = List.of(e.getMessage()); // already one safe line: LstmxException sees to it
            if (json) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("file", model.toString());
                j.put("format", format.id());
                j.put("supported", false);
                j.put("unsupported", problems);
                out.print(Json.write(j));
            } else {
                out.println("file:        " + SafeText.oneLine(model.toString()));
                out.println("format:      " + format.id());
                out.println("unsupported: " + problems.get(0));
            }
            out.flush();
            throw e;
        }
        if (partial != null && m == null) {
            // Nothing converted (e.g. the first node is unsupported): the problems by node are all there is.
            out.print(json ? Json.write(unconvertibleJson(format, partial.partial())) : unconvertibleText(format, partial.partial()));
            out.flush();
            throw partial;
        }
        Map<String, ValueInfo> shapes;
        try {
            shapes = ShapeInference.infer(m);
        } catch (LstmxException e) {
            throw e.withContext(model.toString());
        }
        List<String> problems = new ArrayList<>();
        LstmxException runtimeProblem = null;
        if (partial == null) {
            // The importer accepted the file; the runtime may still not execute every layer.
            try {
                NativeRuntime.compile(m);
            } catch (LstmxException e) {
                if (e.code() != ErrorCode.UNSUPPORTED) {
                    throw e.withContext(model.toString());
                }
                runtimeProblem = e;
                problems.add("native runtime: " + e.getMessage());
            }
        } else {
            problems.addAll(problemLines(partial.partial()));
        }
        PartialModelException.Partial p = partial == null ? null : partial.partial();
        out.print(json ? Json.write(toJson(m, shapes, format, problems, p)) : toText(m, shapes, format, problems, p));
        out.flush();
        if (partial != null) {
            throw partial;
        }
        if (runtimeProblem != null) {
            throw runtimeProblem.withContext(model.toString());
        }
    }

    /** "node 'n' (com.example::Foo): reason", or the reason alone for a graph-level problem. */
    private static List<String> problemLines(PartialModelException.Partial p) {
        List<String> l = new ArrayList<>();
        for (PartialModelException.Unsupported u : p.unsupported()) {
            l.add(u.node() == null ? u.reason() : "node '" + u.node() + "' (" + operator(u) + "): " + u.reason());
        }
        return l;
    }

    /** "Mod" for the default domain, "com.example::Foo" otherwise. */
    private static String operator(PartialModelException.Unsupported u) {
        return u.opType() == null ? "-" : u.domain().isEmpty() ? u.opType() : u.domain() + "::" + u.opType();
    }

    /** The unsupported nodes as a table, then the nodes left out because they depend on them. */
    private static String unsupportedText(PartialModelException.Partial p) {
        StringBuilder sb = new StringBuilder();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NODE", "OPERATOR", "WHY"});
        for (PartialModelException.Unsupported u : p.unsupported()) {
            rows.add(new String[] {u.node() == null ? "-" : u.node(), operator(u), u.reason()});
        }
        sb.append("unsupported (").append(p.unsupported().size()).append("):\n").append(Text.table(rows, "  "));
        if (!p.dependents().isEmpty()) {
            List<String> names = new ArrayList<>();
            p.dependents().forEach(d -> names.add(SafeText.oneLine(d)));
            sb.append("not converted, as they read what an unsupported node makes (").append(names.size()).append("): ")
                    .append(String.join(", ", names)).append('\n');
        }
        return sb.toString();
    }

    private static void unsupportedJson(Map<String, Object> j, PartialModelException.Partial p) {
        List<Object> nodes = new ArrayList<>();
        for (PartialModelException.Unsupported u : p.unsupported()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("node", u.node());
            o.put("opType", u.opType());
            o.put("domain", u.domain());
            o.put("reason", u.reason());
            nodes.add(o);
        }
        j.put("unsupportedNodes", nodes);
        j.put("notConverted", p.dependents());
    }

    private String unconvertibleText(Format format, PartialModelException.Partial p) {
        return "file:      " + SafeText.oneLine(model.toString()) + "\n" + "format:    " + format.id() + "\n"
                + "nothing converts before the first unsupported node\n" + unsupportedText(p);
    }

    private Map<String, Object> unconvertibleJson(Format format, PartialModelException.Partial p) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("file", model.toString());
        j.put("format", format.id());
        j.put("supported", false);
        j.put("unsupported", problemLines(p));
        unsupportedJson(j, p);
        return j;
    }

    /**
     * The text report. Every string that came from the file (names, producer, symbolic dims) goes
     * through {@link SafeText#oneLine} (the table does it per cell), so each item stays on its line.
     */
    private String toText(Model m, Map<String, ValueInfo> shapes, Format format, List<String> problems, PartialModelException.Partial partial) {
        StringBuilder sb = new StringBuilder();
        sb.append("file:      ").append(SafeText.oneLine(model.toString())).append('\n');
        sb.append("format:    ").append(format.id()).append('\n');
        sb.append("producer:  ").append(orDash(m.info().producer())).append('\n');
        if (!m.info().detail().isEmpty()) {
            sb.append("detail:    ").append(SafeText.oneLine(m.info().detail())).append('\n');
        }
        sb.append("name:      ").append(orDash(m.name())).append('\n');
        sb.append("inputs:\n").append(values(m.inputs()));
        sb.append("outputs:\n").append(partial == null ? values(m.outputs()) : declaredOutputs(m, partial));
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NAME", "TYPE", "SIZES", "OUTPUT SHAPES", "DIRECTION", "LAYOUT", "GATE ORDER", "PARAMS", "NOTES"});
        for (Layer l : m.layers()) {
            LayerRow r = row(l);
            List<String> outShapes = new ArrayList<>();
            for (String o : l.outputs()) {
                outShapes.add(shapes.get(o).shape().toString());
            }
            rows.add(new String[] {l.name(), l.kind(), r.sizes, String.join(" ", outShapes), r.direction, r.layout, r.gates,
                    Text.count(l.parameterCount()), r.notes});
        }
        sb.append(partial == null ? "layers (" : "layers converted (").append(m.layers().size()).append("):\n").append(Text.table(rows, "  "));
        sb.append("total parameters: ").append(Text.count(m.parameterCount())).append('\n');
        if (partial != null) {
            sb.append(unsupportedText(partial));
        } else {
            sb.append("unsupported: ").append(problems.isEmpty() ? "none" : SafeText.oneLine(String.join("; ", problems))).append('\n');
        }
        return sb.toString();
    }

    /** The outputs the file declares: those converted with type and shape, the others marked. */
    private static String declaredOutputs(Model m, PartialModelException.Partial partial) {
        List<String[]> rows = new ArrayList<>();
        Map<String, ValueInfo> converted = byName(m.outputs());
        for (String name : partial.graphOutputs()) {
            ValueInfo v = converted.get(name);
            rows.add(v == null ? new String[] {name, "-", "not converted"} : new String[] {v.name(), Text.dtype(v.dtype()), v.shape().toString()});
        }
        return rows.isEmpty() ? "  (none)\n" : Text.table(rows, "  ");
    }

    /** {@code vs} by name (the first of a name): looked up per declared output, a scan of the list would be quadratic. */
    private static Map<String, ValueInfo> byName(List<ValueInfo> vs) {
        Map<String, ValueInfo> m = new HashMap<>();
        for (ValueInfo v : vs) {
            m.putIfAbsent(v.name(), v);
        }
        return m;
    }

    private static String values(List<ValueInfo> vs) {
        List<String[]> rows = new ArrayList<>();
        for (ValueInfo v : vs) {
            rows.add(new String[] {v.name(), Text.dtype(v.dtype()), v.shape().toString()});
        }
        return rows.isEmpty() ? "  (none)\n" : Text.table(rows, "  ");
    }

    private static String orDash(String s) {
        return s == null || s.isEmpty() ? "-" : SafeText.oneLine(s);
    }

    /** Table cells of one layer; "-" where a column does not apply. */
    private record LayerRow(String sizes, String direction, String layout, String gates, String notes) {
    }

    private static LayerRow row(Layer l) {
        return l.accept(DETAILS).row();
    }

    /** A layer's table cells and the extra fields of its JSON object (kind-specific; insertion-ordered). */
    private record Detail(LayerRow row, Map<String, Object> json) {
    }

    private static final Detail PLAIN = new Detail(new LayerRow("-", "-", "-", "-", ""), Map.of());

    /** Per kind of layer: what the table and the JSON say beyond name, kind, ports, shapes and parameters. */
    private static final Layer.Visitor<Detail> DETAILS = new Layer.Visitor<>() {
        @Override
        public Detail visit(Layer.Lstm lstm) {
            LstmSpec s = lstm.spec();
            String gates = lstm.sourceGateOrder() == null ? "-"
                    : Text.lower(lstm.sourceGateOrder()) + " (" + lstm.sourceGateOrder().label() + ")";
            LayerRow row = new LayerRow("I=" + s.inputSize() + " H=" + s.hiddenSize() + (s.projSize() > 0 ? " P=" + s.projSize() : ""),
                    Text.lower(s.direction()), Text.lower(s.layout()), gates, String.join(", ", lstmNotes(lstm)));
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("inputSize", s.inputSize());
            o.put("hiddenSize", s.hiddenSize());
            o.put("projSize", s.projSize());
            o.put("direction", Text.lower(s.direction()));
            o.put("layout", Text.lower(s.layout()));
            o.put("sourceGateOrder", lstm.sourceGateOrder() == null ? null : Text.lower(lstm.sourceGateOrder()));
            o.put("sourceGateLabel", lstm.sourceGateOrder() == null ? null : lstm.sourceGateOrder().label());
            o.put("clip", s.clip() == null ? null : (double) s.clip());
            o.put("inputForget", s.inputForget());
            o.put("activations", activations(s.activations()));
            o.put("notes", lstmNotes(lstm));
            return new Detail(row, o);
        }

        @Override
        public Detail visit(Layer.Gru gru) {
            String gates = gru.sourceGateOrder() == null ? "-"
                    : Text.lower(gru.sourceGateOrder()) + " (" + gru.sourceGateOrder().label() + ")";
            List<String> notes = recurrentNotes(gru.spec(), GRU_DEFAULTS, gru.ports());
            Map<String, Object> o = new LinkedHashMap<>();
            recurrentJson(o, gru.spec());
            o.put("sourceGateOrder", gru.sourceGateOrder() == null ? null : Text.lower(gru.sourceGateOrder()));
            o.put("sourceGateLabel", gru.sourceGateOrder() == null ? null : gru.sourceGateOrder().label());
            o.put("linearBeforeReset", gru.spec().linearBeforeReset());
            o.put("notes", notes);
            return new Detail(recurrentRow(gru.spec(), gates, notes), o);
        }

        @Override
        public Detail visit(Layer.Rnn rnn) {
            List<String> notes = recurrentNotes(rnn.spec(), RNN_DEFAULTS, rnn.ports());
            Map<String, Object> o = new LinkedHashMap<>();
            recurrentJson(o, rnn.spec());
            o.put("notes", notes);
            return new Detail(recurrentRow(rnn.spec(), "-", notes), o);
        }

        @Override
        public Detail visit(Layer.Dense d) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("inFeatures", d.weight().dim(1));
            o.put("outFeatures", d.weight().dim(0));
            o.put("bias", d.bias() != null);
            return new Detail(new LayerRow(d.weight().dim(1) + " -> " + d.weight().dim(0), "-", "-", "-",
                    d.bias() == null ? "no bias" : ""), o);
        }

        @Override
        public Detail visit(Layer.Embedding e) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("vocabSize", e.table().dim(0));
            o.put("embeddingDim", e.table().dim(1));
            return new Detail(new LayerRow("vocab " + e.table().dim(0) + ", dim " + e.table().dim(1), "-", "-", "-", ""), o);
        }

        // the shape of their outputs says all there is
        @Override public Detail visit(Layer.Constant l) { return PLAIN; }
        @Override public Detail visit(Layer.Activation l) { return PLAIN; }
        @Override public Detail visit(Layer.Softmax l) { return PLAIN; }
        @Override public Detail visit(Layer.Dropout l) { return PLAIN; }
        @Override public Detail visit(Layer.Identity l) { return PLAIN; }
        @Override public Detail visit(Layer.Binary l) { return PLAIN; }
        @Override public Detail visit(Layer.MatMul l) { return PLAIN; }
        @Override public Detail visit(Layer.Concat l) { return PLAIN; }
        @Override public Detail visit(Layer.Transpose l) { return PLAIN; }
        @Override public Detail visit(Layer.Reshape l) { return PLAIN; }
        @Override public Detail visit(Layer.Flatten l) { return PLAIN; }
        @Override public Detail visit(Layer.Squeeze l) { return PLAIN; }
        @Override public Detail visit(Layer.Unsqueeze l) { return PLAIN; }
        @Override public Detail visit(Layer.Select l) { return PLAIN; }
        @Override public Detail visit(Layer.Take l) { return PLAIN; }
        @Override public Detail visit(Layer.Slice l) { return PLAIN; }
        @Override public Detail visit(Layer.Cast l) { return PLAIN; }

        @Override
        public Detail visit(Layer.LayerNorm n) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("epsilon", n.epsilon());
            o.put("features", n.features());
            return new Detail(new LayerRow(n.features() < 0 ? "-" : "F=" + n.features(), "-", "-", "-", "last axis, epsilon " + n.epsilon()), o);
        }

        @Override
        public Detail visit(Layer.StepMask m) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("maskValue", m.value());
            o.put("anyOverLastAxis", m.anyOverLastAxis());
            return new Detail(new LayerRow("-", "-", "-", "-", (m.anyOverLastAxis() ? "steps whose features are all " : "steps equal to ")
                    + m.value() + " masked"), o);
        }
    };

    private static final List<ActivationFn> GRU_DEFAULTS = List.of(ActivationFn.SIGMOID, ActivationFn.TANH);
    private static final List<ActivationFn> RNN_DEFAULTS = List.of(ActivationFn.TANH);

    private static LayerRow recurrentRow(RecurrentSpec s, String gates, List<String> notes) {
        return new LayerRow("I=" + s.inputSize() + " H=" + s.hiddenSize(), Text.lower(s.direction()), Text.lower(s.layout()), gates,
                String.join(", ", notes));
    }

    /** Notes of a GRU or RNN layer; {@code defaults} are the activations of one direction by default. */
    private static List<String> recurrentNotes(RecurrentSpec s, List<ActivationFn> defaults, io.lstmx.ir.RecurrentPorts ports) {
        String seqLens = ports.sequenceLengths();
        String initialH = ports.initialH();
        List<String> notes = new ArrayList<>();
        if (s.linearBeforeReset()) {
            notes.add("linear before reset");
        }
        if (s.clip() != null) {
            notes.add("clip " + s.clip());
        }
        boolean defaultActs = true;
        for (int d = 0; d < s.direction().count(); d++) {
            defaultActs &= s.activations().subList(d * defaults.size(), (d + 1) * defaults.size()).equals(defaults);
        }
        if (!defaultActs) {
            notes.add("activations " + activations(s.activations()));
        }
        if (seqLens != null) {
            notes.add("sequence lengths");
        }
        if (initialH != null) {
            notes.add("initial state");
        }
        maskNote(ports, notes);
        return notes;
    }

    private static void maskNote(io.lstmx.ir.RecurrentPorts p, List<String> notes) {
        if (p.hasMask()) {
            notes.add("per-step mask" + (p.zeroMaskedOutput() ? " (masked steps output zeros)" : " (masked steps repeat the last output)"));
        }
    }

    private static List<String> lstmNotes(Layer.Lstm l) {
        LstmSpec s = l.spec();
        List<String> notes = new ArrayList<>();
        boolean peep = false;
        for (LstmWeights w : l.weights()) {
            peep |= w.peephole() != null;
        }
        if (peep) {
            notes.add("peepholes");
        }
        if (s.clip() != null) {
            notes.add("clip " + s.clip());
        }
        if (s.inputForget()) {
            notes.add("input-forget coupled");
        }
        if (!s.hasDefaultActivations()) {
            notes.add("activations " + activations(s.activations()));
        }
        if (l.sequenceLengths() != null) {
            notes.add("sequence lengths");
        }
        maskNote(l.ports(), notes);
        if (l.initialH() != null || l.initialC() != null) {
            notes.add("initial states");
        }
        return notes;
    }

    private static String activations(List<ActivationFn> fns) {
        List<String> s = new ArrayList<>();
        for (ActivationFn f : fns) {
            s.add(Text.lower(f.kind()));
        }
        return String.join("/", s);
    }

    private Map<String, Object> toJson(Model m, Map<String, ValueInfo> shapes, Format format, List<String> problems,
                                       PartialModelException.Partial partial) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("file", model.toString());
        j.put("format", format.id());
        j.put("producer", m.info().producer());
        j.put("detail", m.info().detail());
        j.put("name", m.name());
        j.put("supported", problems.isEmpty());
        j.put("inputs", valuesJson(m.inputs()));
        if (partial == null) {
            j.put("outputs", valuesJson(m.outputs()));
        } else {
            List<Object> outs = new ArrayList<>();
            Map<String, ValueInfo> converted = byName(m.outputs());
            for (String name : partial.graphOutputs()) {
                ValueInfo v = converted.get(name);
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("name", name);
                o.put("dtype", v == null ? null : Text.dtype(v.dtype()));
                o.put("shape", v == null ? null : shapeJson(v.shape()));
                o.put("converted", v != null);
                outs.add(o);
            }
            j.put("outputs", outs);
        }
        List<Object> layers = new ArrayList<>();
        for (Layer l : m.layers()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("name", l.name());
            o.put("type", l.kind());
            o.put("inputs", l.inputs());
            o.put("outputs", l.outputs());
            List<Object> outShapes = new ArrayList<>();
            for (String name : l.outputs()) {
                outShapes.add(shapeJson(shapes.get(name).shape()));
            }
            o.put("outputShapes", outShapes);
            o.put("params", l.parameterCount());
            o.putAll(l.accept(DETAILS).json());
            layers.add(o);
        }
        j.put("layers", layers);
        j.put("totalParams", m.parameterCount());
        j.put("unsupported", problems);
        if (partial != null) {
            unsupportedJson(j, partial);
        }
        return j;
    }

    private static void recurrentJson(Map<String, Object> o, RecurrentSpec s) {
        o.put("inputSize", s.inputSize());
        o.put("hiddenSize", s.hiddenSize());
        o.put("direction", Text.lower(s.direction()));
        o.put("layout", Text.lower(s.layout()));
        o.put("clip", s.clip() == null ? null : (double) s.clip());
        o.put("activations", activations(s.activations()));
    }

    private static List<Object> valuesJson(List<ValueInfo> vs) {
        List<Object> l = new ArrayList<>();
        for (ValueInfo v : vs) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("name", v.name());
            o.put("dtype", Text.dtype(v.dtype()));
            o.put("shape", shapeJson(v.shape()));
            l.add(o);
        }
        return l;
    }

    /** Dims as numbers (fixed) or names ("?" when anonymous); null for an unknown rank. */
    private static List<Object> shapeJson(Shape s) {
        if (!s.rankKnown()) {
            return null;
        }
        List<Object> dims = new ArrayList<>();
        for (Dim d : s.dims()) {
            dims.add(d instanceof Dim.Fixed f ? (Object) f.size() : d.toString());
        }
        return dims;
    }
}
