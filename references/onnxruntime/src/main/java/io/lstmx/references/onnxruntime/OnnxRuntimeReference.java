package io.lstmx.references.onnxruntime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.lstmx.api.ReferenceEngine;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;

import com.google.protobuf.CodedInputStream;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs an ONNX file in onnxruntime: the reference engine that lstmx's own results are checked against.
 * Inputs are converted to the element type the session declares (float, int32 or int64).
 */
public final class OnnxRuntimeReference implements ReferenceEngine.Session {
    /**
     * onnxruntime's session option for the folder of external tensor data when the model comes from
     * memory (as the copy with extra outputs does) rather than from its file.
     */
    static final String EXTERNAL_DATA_FOLDER = "session.model_external_initializers_file_folder_path";

    private final Path file;
    private final OrtSession session;
    /** The model's own outputs, without the intermediate values added to the session's. */
    private final List<String> outputNames;

    /** Names as the model has them to names as the session has them, for names onnxruntime cannot carry (see {@link #safeNames}). */
    private final Map<String, String> toSession;
    private final Map<String, String> fromSession;

    private OnnxRuntimeReference(Path file, OrtSession session, List<String> outputNames) {
        this(file, session, outputNames, Map.of());
    }

    private OnnxRuntimeReference(Path file, OrtSession session, List<String> outputNames, Map<String, String> renamed) {
        this.file = file;
        this.session = session;
        this.outputNames = List.copyOf(outputNames);
        this.toSession = Map.copyOf(renamed);
        Map<String, String> back = new HashMap<>();
        renamed.forEach((k, v) -> back.put(v, k));
        this.fromSession = Map.copyOf(back);
    }

    /**
     * Opens a session on {@code onnxFile}. A file onnxruntime cannot parse as a model is BAD_INPUT;
     * a model it parses but cannot prepare (its kernels lack an operator variant, such as LSTM
     * layout=1 on the CPU, which fails when the session is built) is UNSUPPORTED.
     */
    public static OnnxRuntimeReference open(Path onnxFile) {
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            OrtSession s = OrtEnvironments.get().createSession(onnxFile.toString(), opts);
            return new OnnxRuntimeReference(onnxFile, s, new ArrayList<>(s.getOutputNames()));
        } catch (OrtException e) {
            boolean badFile = switch (e.getCode()) {
                case ORT_NO_SUCHFILE, ORT_NO_MODEL, ORT_INVALID_PROTOBUF, ORT_INVALID_GRAPH, ORT_INVALID_ARGUMENT -> true;
                default -> false;
            };
            throw new LstmxException(badFile ? ErrorCode.BAD_INPUT : ErrorCode.UNSUPPORTED, onnxFile
                    + (badFile ? ": onnxruntime cannot load the model: " : ": onnxruntime cannot run this model: ") + e.getMessage(), e);
        }
    }

    /**
     * Opens {@code onnxFile} so that every run also returns the named intermediate values that nodes
     * of its main graph produce (after the model's outputs): a copy of the model, in memory, lists
     * them as graph outputs too (with their value_info type when the file has one). Names no node
     * produces are left out; so is everything when onnxruntime refuses the copy, and the caller sees
     * which values came back. Errors of the model itself are those of {@link #open(Path)}.
     */
    public static OnnxRuntimeReference open(Path onnxFile, List<String> intermediates) {
        OnnxRuntimeReference plain = open(onnxFile); // reports a bad file as usual, and gives the model's own outputs
        ModelProto m;
        try {
            m = parse(onnxFile);
        } catch (IOException | RuntimeException e) {
            return plain; // it opened as a file, so this is only the copy: compare outputs alone
        }
        Map<String, String> renamed = safeNames(m.getGraph());
        if (intermediates.isEmpty() && renamed.isEmpty()) {
            return plain;
        }
        List<String> outputs = new ArrayList<>();
        for (ValueInfoProto v : m.getGraph().getOutputList()) {
            outputs.add(v.getName());
        }
        ModelProto copy = withOutputs(m, intermediates, outputs);
        if (copy == null && renamed.isEmpty()) {
            return plain;
        }
        if (!renamed.isEmpty()) {
            copy = renamed(copy == null ? m : copy, renamed);
        }
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            Path dir = onnxFile.toAbsolutePath().getParent();
            if (dir != null) {
                opts.addConfigEntry(EXTERNAL_DATA_FOLDER, dir.toString());
            }
            OrtSession s = OrtEnvironments.get().createSession(copy.toByteArray(), opts);
            OnnxRuntimeReference exposing = new OnnxRuntimeReference(onnxFile, s, outputs, renamed);
            plain.close();
            return exposing;
        } catch (OrtException e) {
            if (!renamed.isEmpty()) {
                plain.close();
                throw new LstmxException(ErrorCode.UNSUPPORTED, onnxFile + ": onnxruntime cannot run this model with its value names "
                        + "mapped (" + renamed.size() + " contain NUL, which onnxruntime cuts names at): " + e.getMessage(), e);
            }
            return plain;
        }
    }

    private static ModelProto parse(Path onnxFile) throws IOException {
        try (InputStream in = Files.newInputStream(onnxFile)) {
            CodedInputStream cis = CodedInputStream.newInstance(in);
            cis.setSizeLimit(Integer.MAX_VALUE);
            return ModelProto.parseFrom(cis);
        }
    }

    /**
     * Value names of the main graph that onnxruntime cannot carry, each with a stand-in: its C API
     * cuts names at NUL, so "a\0x" and "a\0y" would both become "a". Stand-ins spell NUL as "\\0"
     * and are made unique against every name in the graph.
     */
    static Map<String, String> safeNames(GraphProto g) {
        Set<String> all = new HashSet<>();
        for (ValueInfoProto v : g.getInputList()) {
            all.add(v.getName());
        }
        for (ValueInfoProto v : g.getOutputList()) {
            all.add(v.getName());
        }
        for (ValueInfoProto v : g.getValueInfoList()) {
            all.add(v.getName());
        }
        for (io.lstmx.onnx.proto.Onnx.TensorProto t : g.getInitializerList()) {
            all.add(t.getName());
        }
        for (NodeProto n : g.getNodeList()) {
            all.addAll(n.getInputList());
            all.addAll(n.getOutputList());
        }
        Map<String, String> out = new LinkedHashMap<>();
        Set<String> taken = new HashSet<>(all);
        for (String name : all) {
            if (name.indexOf('\0') >= 0) {
                String base = name.replace("\0", "\\0");
                String safe = base;
                for (int k = 2; !taken.add(safe); k++) {
                    safe = base + "#" + k;
                }
                out.put(name, safe);
            }
        }
        return out;
    }

    /** {@code m} with every value name in {@code renamed} replaced in the main graph. */
    private static ModelProto renamed(ModelProto m, Map<String, String> renamed) {
        GraphProto.Builder g = m.getGraph().toBuilder();
        java.util.function.UnaryOperator<String> r = n -> renamed.getOrDefault(n, n);
        for (ValueInfoProto.Builder v : g.getInputBuilderList()) {
            v.setName(r.apply(v.getName()));
        }
        for (ValueInfoProto.Builder v : g.getOutputBuilderList()) {
            v.setName(r.apply(v.getName()));
        }
        for (ValueInfoProto.Builder v : g.getValueInfoBuilderList()) {
            v.setName(r.apply(v.getName()));
        }
        for (io.lstmx.onnx.proto.Onnx.TensorProto.Builder t : g.getInitializerBuilderList()) {
            t.setName(r.apply(t.getName()));
        }
        for (NodeProto.Builder n : g.getNodeBuilderList()) {
            for (int i = 0; i < n.getInputCount(); i++) {
                n.setInput(i, r.apply(n.getInput(i)));
            }
            for (int i = 0; i < n.getOutputCount(); i++) {
                n.setOutput(i, r.apply(n.getOutput(i)));
            }
        }
        return m.toBuilder().setGraph(g).build();
    }

    /** The model with {@code names} added as graph outputs where a node produces them; null when none is. */
    private static ModelProto withOutputs(ModelProto m, List<String> names, List<String> outputs) {
        GraphProto g = m.getGraph();
        Set<String> produced = new HashSet<>();
        for (NodeProto n : g.getNodeList()) {
            produced.addAll(n.getOutputList());
        }
        Map<String, ValueInfoProto> declared = new HashMap<>();
        for (ValueInfoProto v : g.getValueInfoList()) {
            declared.putIfAbsent(v.getName(), v);
        }
        GraphProto.Builder b = g.toBuilder();
        Set<String> added = new HashSet<>(outputs);
        for (String n : names) {
            if (!n.isEmpty() && produced.contains(n) && added.add(n)) {
                b.addOutput(declared.getOrDefault(n, ValueInfoProto.newBuilder().setName(n).build()));
            }
        }
        if (added.size() == outputs.size()) {
            return null;
        }
        return m.toBuilder().setGraph(b).build();
    }

    /** One-shot convenience: opens, runs and closes. */
    public static Map<String, Tensor> run(Path onnxFile, Map<String, Tensor> inputs) {
        try (OnnxRuntimeReference ref = open(onnxFile)) {
            return ref.run(inputs);
        }
    }

    public List<String> inputNames() {
        List<String> names = new ArrayList<>();
        for (String n : session.getInputNames()) {
            names.add(fromSession.getOrDefault(n, n));
        }
        return names;
    }

    /** The model's own outputs (not the intermediate values a session may also return). */
    public List<String> outputNames() {
        return outputNames;
    }

    /**
     * Runs the model; returns every output in the model's order, then the intermediate values the
     * session was opened to expose. Inputs it cannot take are BAD_INPUT
     * (naming the input where lstmx converts it); any other failure to run is UNSUPPORTED.
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        OrtEnvironment env = OrtEnvironments.get();
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            Map<String, NodeInfo> infos = infos();
            for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
                String inSession = toSession.getOrDefault(e.getKey(), e.getKey());
                NodeInfo info = infos.get(inSession);
                if (info == null) {
                    throw LstmxException.badInput(file + ": onnxruntime session has no input '" + e.getKey() + "'; it has " + SafeText.list(infos.keySet()));
                }
                if (!(info.getInfo() instanceof TensorInfo ti)) {
                    throw LstmxException.unsupported(file + ": input '" + e.getKey() + "' is " + info.getInfo()
                            + ", not a tensor; lstmx's reference runner feeds tensors only");
                }
                feeds.put(inSession, toOrt(env, e.getValue(), ti.type, e.getKey()));
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            OrtSession.Result r;
            try {
                r = session.run(feeds);
            } catch (OrtException e) {
                if (e.getCode() == OrtException.OrtErrorCode.ORT_INVALID_ARGUMENT) {
                    // Wrong rank, size or type of an input.
                    throw new LstmxException(ErrorCode.BAD_INPUT, file + ": onnxruntime refuses the inputs: " + e.getMessage(), e);
                }
                throw new LstmxException(ErrorCode.UNSUPPORTED, file + ": onnxruntime cannot run this model: " + e.getMessage(), e);
            }
            try (OrtSession.Result result = r) {
                for (Map.Entry<String, OnnxValue> e : result) {
                    if (!(e.getValue() instanceof OnnxTensor t)) {
                        throw LstmxException.unsupported(file + ": onnxruntime output '" + e.getKey() + "' is not a tensor");
                    }
                    String name = fromSession.getOrDefault(e.getKey(), e.getKey());
                    out.put(name, fromOrt(t, name));
                }
            }
            return out;
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private Map<String, NodeInfo> infos() {
        try {
            return session.getInputInfo();
        } catch (OrtException e) {
            throw new LstmxException(ErrorCode.INTERNAL, file + ": onnxruntime cannot describe the session's inputs: " + e.getMessage(), e);
        }
    }

    /** {@code t} as the element type the session declares for input {@code name}. */
    private OnnxTensor toOrt(OrtEnvironment env, Tensor t, ai.onnxruntime.OnnxJavaType type, String name) {
        String where = file + ": input '" + name + "'";
        long[] shape = java.util.Arrays.stream(t.shape()).asLongStream().toArray();
        try {
            switch (type) {
                case FLOAT:
                    return OnnxTensor.createTensor(env, FloatBuffer.wrap(t.toFloatArray()), shape);
                case INT32: {
                    long[] l = t.toLongArray();
                    int[] v = new int[l.length];
                    for (int i = 0; i < v.length; i++) {
                        if (l[i] != (int) l[i]) {
                            throw LstmxException.badInput(where + ": value " + l[i] + " at flat index " + i
                                    + " does not fit the int32 the model declares");
                        }
                        v[i] = (int) l[i];
                    }
                    return OnnxTensor.createTensor(env, IntBuffer.wrap(v), shape);
                }
                case INT64:
                    return OnnxTensor.createTensor(env, LongBuffer.wrap(t.toLongArray()), shape);
                default:
                    throw LstmxException.unsupported(where + ": the model declares element type " + type
                            + ", which lstmx's reference runner does not feed (float, int32 and int64 only)");
            }
        } catch (OrtException e) {
            throw new LstmxException(ErrorCode.BAD_INPUT, where + ": onnxruntime cannot take a " + t.dtype() + " tensor of shape "
                    + java.util.Arrays.toString(t.shape()) + ": " + e.getMessage(), e);
        }
    }

    private Tensor fromOrt(OnnxTensor t, String name) {
        TensorInfo info = t.getInfo();
        int[] shape = java.util.Arrays.stream(info.getShape()).mapToInt(d -> (int) d).toArray();
        ByteBuffer bb = t.getByteBuffer().order(ByteOrder.nativeOrder());
        int n = Tensor.elementCount(shape);
        switch (info.type) {
            case FLOAT: {
                float[] f = new float[n];
                bb.asFloatBuffer().get(f);
                return Tensor.ofFloats(shape, f);
            }
            case DOUBLE: {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = (float) bb.getDouble(8 * i);
                }
                return Tensor.ofFloats(shape, f);
            }
            case INT32: {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = bb.getInt(4 * i);
                }
                return Tensor.ofLongs(DType.INT32, shape, l);
            }
            case INT64: {
                long[] l = new long[n];
                bb.asLongBuffer().get(l);
                return Tensor.ofLongs(DType.INT64, shape, l);
            }
            default:
                throw LstmxException.unsupported(file + ": onnxruntime output '" + name + "' is of type " + info.type
                        + ", which lstmx's reference runner does not read (float, double, int32 and int64 only)");
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new LstmxException(ErrorCode.INTERNAL, "closing onnxruntime session: " + e.getMessage(), e);
        }
    }
}
