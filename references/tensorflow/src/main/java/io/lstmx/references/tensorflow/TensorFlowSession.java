package io.lstmx.references.tensorflow;

import com.google.protobuf.InvalidProtocolBufferException;
import io.lstmx.api.ReferenceEngine;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One TensorFlow model loaded in TensorFlow Java, on the CPU with one intra-op and one inter-op
 * thread. Not thread-safe.
 *
 * <p><b>SavedModel</b> (a folder with {@code saved_model.pb}): loaded with the tag {@code serve};
 * its {@code serving_default} signature is run. Inputs and outputs are the signature's keys; both
 * are put in <i>natural order</i> of the keys (runs of digits compare as numbers, so
 * {@code output_2} comes before {@code output_10}; otherwise by character). TensorFlow's own
 * Python writer stores signature maps sorted by key, so this is the order the file lists them in,
 * except that numbered keys past 9 are put in number order; lstmx's SavedModel writer names its
 * outputs {@code output_0}, {@code output_1}, ... in model order, which this order keeps.
 *
 * <p><b>Frozen GraphDef</b> (a binary {@code GraphDef}): imported into a graph. Its inputs are its
 * {@code Placeholder} ops, in the order the file lists them, named as the ops. Its outputs are the
 * <i>sinks</i>: ops none of whose outputs another op reads (control edges do not count), that have
 * at least one output and are not a Placeholder, Const or NoOp, in the order the file lists them;
 * each of a sink's outputs is one model output, named as the op when it has one output, else
 * {@code op:k}. Intermediate values may be asked for by tensor name ({@code op} or {@code op:k}).
 *
 * <p>Errors are one line naming the file: files TensorFlow cannot parse, and inputs it refuses
 * (missing, wrong rank, size or type) are BAD_INPUT; models it parses but cannot run (an op this
 * TensorFlow lacks, no {@code serving_default} signature, a value type lstmx does not read) are
 * UNSUPPORTED.
 */
public final class TensorFlowSession implements ReferenceEngine.Session {
    /** The signature run in a SavedModel. */
    public static final String SIGNATURE = "serving_default";

    private final Path file;
    private final AutoCloseable owner;
    private final Session session;
    /** Input name to tensor name, in input order. */
    private final Map<String, String> inputs;
    /** Input name to the dtype TensorFlow wants. */
    private final Map<String, DataType> inputTypes;
    /** Output name to tensor name, in output order, then any intermediate values. */
    private final Map<String, String> outputs;
    private final int modelOutputs;

    private TensorFlowSession(Path file, AutoCloseable owner, Session session, Map<String, String> inputs,
                              Map<String, DataType> inputTypes, Map<String, String> outputs, int modelOutputs) {
        this.file = file;
        this.owner = owner;
        this.session = session;
        this.inputs = inputs;
        this.inputTypes = inputTypes;
        this.outputs = outputs;
        this.modelOutputs = modelOutputs;
    }

    private static ConfigProto config() {
        return ConfigProto.newBuilder().setIntraOpParallelismThreads(1).setInterOpParallelismThreads(1).build();
    }

    /**
     * Opens a SavedModel folder and its {@code serving_default} signature.
     *
     * @param dir the SavedModel folder
     * @return the session; close it when done
     */
    public static TensorFlowSession openSavedModel(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw LstmxException.badInput(dir + ": not a SavedModel: a SavedModel is a folder holding saved_model.pb");
        }
        if (!Files.isRegularFile(dir.resolve("saved_model.pb")) && !Files.isRegularFile(dir.resolve("saved_model.pbtxt"))) {
            throw LstmxException.badInput(dir + ": not a SavedModel: the folder holds no saved_model.pb");
        }
        SavedModelBundle bundle;
        try {
            bundle = SavedModelBundle.loader(dir.toString()).withTags(SavedModelBundle.DEFAULT_TAG).withConfigProto(config()).load();
        } catch (TensorFlowException | IllegalArgumentException | IllegalStateException e) {
            throw loadError(dir, "SavedModel", e);
        }
        try {
            SignatureDef sig = bundle.metaGraphDef().getSignatureDefMap().get(SIGNATURE);
            if (sig == null) {
                throw LstmxException.unsupported(dir + ": the SavedModel has no '" + SIGNATURE + "' signature (it has "
                        + SafeText.list(bundle.metaGraphDef().getSignatureDefMap().keySet()) + "); lstmx runs " + SIGNATURE);
            }
            Map<String, String> in = new LinkedHashMap<>();
            Map<String, DataType> types = new LinkedHashMap<>();
            for (String k : natural(sig.getInputsMap().keySet())) {
                TensorInfo t = sig.getInputsMap().get(k);
                in.put(k, tensorName(dir, k, t));
                types.put(k, t.getDtype());
            }
            Map<String, String> out = new LinkedHashMap<>();
            for (String k : natural(sig.getOutputsMap().keySet())) {
                out.put(k, tensorName(dir, k, sig.getOutputsMap().get(k)));
            }
            if (out.isEmpty()) {
                throw LstmxException.badInput(dir + ": the SavedModel's '" + SIGNATURE + "' signature has no outputs");
            }
            return new TensorFlowSession(dir, bundle, bundle.session(), in, types, out, out.size());
        } catch (RuntimeException | Error e) {
            bundle.close();
            throw e;
        }
    }

    private static String tensorName(Path dir, String key, TensorInfo t) {
        if (t.getName().isEmpty()) {
            throw LstmxException.unsupported(dir + ": the '" + SIGNATURE + "' signature's value '" + SafeText.name(key)
                    + "' is not a plain tensor (sparse or composite values are not read)");
        }
        return t.getName();
    }

    /**
     * Opens a frozen GraphDef, with {@code intermediates} (tensor names) fetched after the outputs.
     *
     * @param file          the binary GraphDef
     * @param intermediates tensor names to return as well; names the graph lacks are left out
     * @return the session; close it when done
     */
    public static TensorFlowSession openGraphDef(Path file, List<String> intermediates) {
        if (!Files.isRegularFile(file)) {
            throw LstmxException.badInput(file + ": no such GraphDef file");
        }
        GraphDef def;
        try {
            def = GraphDef.parseFrom(Files.readAllBytes(file));
        } catch (InvalidProtocolBufferException e) {
            throw LstmxException.badInput(file + ": not a TensorFlow GraphDef: " + SafeText.message(e.getMessage()));
        } catch (IOException e) {
            throw LstmxException.badInput(file + ": cannot read it: " + SafeText.message(e.getMessage()));
        } catch (OutOfMemoryError e) {
            throw LstmxException.unsupported(file + ": the GraphDef does not fit in the Java heap");
        }
        if (def.getNodeCount() == 0) {
            throw LstmxException.badInput(file + ": not a TensorFlow GraphDef: it holds no nodes");
        }
        Graph g = new Graph();
        try {
            try {
                g.importGraphDef(def);
            } catch (TensorFlowException | IllegalArgumentException | IllegalStateException e) {
                throw loadError(file, "GraphDef", e);
            }
            Map<String, String> in = new LinkedHashMap<>();
            Map<String, DataType> types = new LinkedHashMap<>();
            Map<String, String> out = new LinkedHashMap<>();
            for (org.tensorflow.proto.NodeDef n : def.getNodeList()) {
                GraphOperation op = g.operation(n.getName());
                if (op == null) {
                    continue;
                }
                if (op.type().equals("Placeholder")) {
                    in.put(op.name(), op.name() + ":0");
                    types.put(op.name(), n.getAttrOrDefault("dtype", null) == null ? DataType.DT_FLOAT : n.getAttrOrThrow("dtype").getType());
                    continue;
                }
                if (op.type().equals("Const") || op.type().equals("NoOp") || op.numOutputs() == 0 || op.numConsumers() > 0) {
                    continue;
                }
                for (int k = 0; k < op.numOutputs(); k++) {
                    out.put(op.numOutputs() == 1 ? op.name() : op.name() + ":" + k, op.name() + ":" + k);
                }
            }
            if (out.isEmpty()) {
                throw LstmxException.badInput(file + ": the GraphDef has no output: every op's value is read by another op");
            }
            int n = out.size();
            for (String name : intermediates) {
                String[] parts = name.split(":", 2);
                GraphOperation op = g.operation(parts[0]);
                if (op != null && !out.containsKey(name)) {
                    int k = parts.length == 2 && parts[1].matches("\\d{1,6}") ? Integer.parseInt(parts[1]) : 0;
                    if (k < op.numOutputs()) {
                        out.put(name, op.name() + ":" + k);
                    }
                }
            }
            Session s = new Session(g, config());
            return new TensorFlowSession(file, g, s, in, types, out, n);
        } catch (RuntimeException | Error e) {
            g.close();
            throw e;
        }
    }

    /** Opens a frozen GraphDef. */
    static TensorFlowSession openGraphDef(Path file) {
        return openGraphDef(file, List.of());
    }

    private static LstmxException loadError(Path file, String what, RuntimeException e) {
        String why = reason(e);
        boolean unsupported = why.contains("not registered") || why.contains("Unimplemented") || why.contains("unimplemented")
                || e instanceof org.tensorflow.exceptions.TFUnimplementedException;
        return new LstmxException(unsupported ? ErrorCode.UNSUPPORTED : ErrorCode.BAD_INPUT,
                file + (unsupported ? ": TensorFlow cannot run this " + what + ": " : ": TensorFlow cannot load the " + what + ": ") + why, e);
    }

    /** The first line of a TensorFlow error, made safe to print. */
    static String reason(Throwable e) {
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        String[] lines = msg.strip().split("\\R");
        return SafeText.message(lines.length == 0 ? msg : lines[0].strip());
    }

    /** Keys in natural order: runs of digits compare as numbers. */
    static List<String> natural(java.util.Collection<String> keys) {
        List<String> l = new ArrayList<>(keys);
        l.sort(NATURAL);
        return l;
    }

    static final Comparator<String> NATURAL = (a, b) -> {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            char x = a.charAt(i);
            char y = b.charAt(j);
            if (Character.isDigit(x) && Character.isDigit(y)) {
                int si = i;
                int sj = j;
                while (i < a.length() && Character.isDigit(a.charAt(i))) {
                    i++;
                }
                while (j < b.length() && Character.isDigit(b.charAt(j))) {
                    j++;
                }
                String na = a.substring(si, i).replaceFirst("^0+(?=.)", "");
                String nb = b.substring(sj, j).replaceFirst("^0+(?=.)", "");
                int c = na.length() != nb.length() ? Integer.compare(na.length(), nb.length()) : na.compareTo(nb);
                if (c != 0) {
                    return c;
                }
            } else {
                if (x != y) {
                    return Character.compare(x, y);
                }
                i++;
                j++;
            }
        }
        int c = Integer.compare(a.length() - i, b.length() - j);
        return c != 0 ? c : a.compareTo(b);
    };

    @Override
    public List<String> inputNames() {
        return List.copyOf(inputs.keySet());
    }

    @Override
    public List<String> outputNames() {
        return List.copyOf(outputs.keySet()).subList(0, modelOutputs);
    }

    /**
     * Runs the model. Every input needs a value under its name; when the names given differ from the
     * model's but their count is the same, they are taken in the order given.
     *
     * @param values values by input name
     * @return the outputs in order, then the intermediate values asked for
     */
    @Override
    public Map<String, Tensor> run(Map<String, Tensor> values) {
        Map<String, Tensor> given = values;
        if (!inputs.keySet().containsAll(values.keySet()) || values.size() != inputs.size()) {
            if (values.size() != inputs.size()) {
                throw LstmxException.badInput(file + ": the model takes " + inputs.size() + " inputs " + SafeText.list(inputs.keySet())
                        + ", got " + values.size() + " " + SafeText.list(values.keySet()));
            }
            given = new LinkedHashMap<>();
            Iterator<String> names = inputs.keySet().iterator();
            for (Tensor t : values.values()) {
                given.put(names.next(), t);
            }
        }
        List<org.tensorflow.Tensor> made = new ArrayList<>();
        try {
            Session.Runner r = session.runner();
            for (Map.Entry<String, String> e : inputs.entrySet()) {
                org.tensorflow.Tensor t = toTf(given.get(e.getKey()), inputTypes.get(e.getKey()), e.getKey());
                made.add(t);
                r.feed(e.getValue(), t);
            }
            for (String t : outputs.values()) {
                r.fetch(t);
            }
            Result res;
            try {
                res = r.run();
            } catch (TensorFlowException | IllegalArgumentException e) {
                boolean theirs = e instanceof org.tensorflow.exceptions.TFInvalidArgumentException || e instanceof IllegalArgumentException;
                throw new LstmxException(theirs ? ErrorCode.BAD_INPUT : ErrorCode.UNSUPPORTED,
                        file + (theirs ? ": TensorFlow refuses the inputs: " : ": TensorFlow cannot run this model: ") + reason(e), e);
            }
            try (res) {
                Map<String, Tensor> out = new LinkedHashMap<>();
                int k = 0;
                for (String name : outputs.keySet()) {
                    out.put(name, fromTf(res.get(k++), name));
                }
                return out;
            }
        } finally {
            made.forEach(org.tensorflow.Tensor::close);
        }
    }

    private org.tensorflow.Tensor toTf(Tensor t, DataType type, String name) {
        Shape shape = Shape.of(Arrays.stream(t.shape()).asLongStream().toArray());
        switch (type) {
            case DT_FLOAT:
                return TFloat32.tensorOf(shape, DataBuffers.of(t.toFloatArray(), true, false));
            case DT_DOUBLE: {
                float[] f = t.toFloatArray();
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    d[i] = f[i];
                }
                return TFloat64.tensorOf(shape, DataBuffers.of(d, true, false));
            }
            case DT_INT64:
                return TInt64.tensorOf(shape, DataBuffers.of(t.toLongArray(), true, false));
            case DT_INT32: {
                long[] l = t.toLongArray();
                int[] v = new int[l.length];
                for (int i = 0; i < l.length; i++) {
                    v[i] = (int) l[i];
                }
                return TInt32.tensorOf(shape, DataBuffers.of(v, true, false));
            }
            case DT_BOOL: {
                long[] l = t.toLongArray();
                boolean[] v = new boolean[l.length];
                for (int i = 0; i < l.length; i++) {
                    v[i] = l[i] != 0;
                }
                return TBool.tensorOf(shape, DataBuffers.of(v, true, false));
            }
            default:
                throw LstmxException.unsupported(file + ": input '" + SafeText.name(name) + "' is " + type
                        + ", which lstmx's TensorFlow runner does not feed (float, double, int32, int64 and bool only)");
        }
    }

    private Tensor fromTf(org.tensorflow.Tensor t, String name) {
        int[] shape = Arrays.stream(t.shape().asArray()).mapToInt(Math::toIntExact).toArray();
        int n = Math.toIntExact(t.shape().size());
        switch (t.dataType()) {
            case DT_FLOAT: {
                float[] f = new float[n];
                t.asRawTensor().data().asFloats().read(f);
                return Tensor.ofFloats(shape, f);
            }
            case DT_DOUBLE: {
                double[] d = new double[n];
                t.asRawTensor().data().asDoubles().read(d);
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = (float) d[i];
                }
                return Tensor.ofFloats(shape, f);
            }
            case DT_INT64: {
                long[] l = new long[n];
                t.asRawTensor().data().asLongs().read(l);
                return Tensor.ofLongs(DType.INT64, shape, l);
            }
            case DT_INT32: {
                int[] v = new int[n];
                t.asRawTensor().data().asInts().read(v);
                return Tensor.ofLongs(DType.INT32, shape, Arrays.stream(v).asLongStream().toArray());
            }
            case DT_BOOL: {
                boolean[] v = new boolean[n];
                t.asRawTensor().data().asBooleans().read(v);
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = v[i] ? 1 : 0;
                }
                return Tensor.ofLongs(DType.INT64, shape, l);
            }
            default:
                throw LstmxException.unsupported(file + ": output '" + SafeText.name(name) + "' is " + t.dataType()
                        + ", which lstmx's TensorFlow runner does not read");
        }
    }

    /** Frees the session and the model; never fails. */
    @Override
    public void close() {
        try {
            if (owner instanceof Graph) {
                session.close();
            }
            owner.close();
        } catch (Exception e) {
            // freeing native memory: nothing to report
        }
    }
}
