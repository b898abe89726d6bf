package io.lstmx.api;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs an ONNX file in onnxruntime: the reference engine that lstmx's own results are checked against.
 * Inputs are converted to the element type the session declares (float, int32 or int64).
 */
public final class OnnxRuntimeReference implements AutoCloseable {
    private final Path file;
    private final OrtSession session;

    private OnnxRuntimeReference(Path file, OrtSession session) {
        this.file = file;
        this.session = session;
    }

    public static OnnxRuntimeReference open(Path onnxFile) {
        try {
            OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
            opts.setIntraOpNumThreads(1);
            return new OnnxRuntimeReference(onnxFile, OrtEnvironment.getEnvironment().createSession(onnxFile.toString(), opts));
        } catch (OrtException e) {
            throw new LstmxException(ErrorCode.BAD_INPUT, onnxFile + ": onnxruntime cannot load the model: " + oneLine(e.getMessage()), e);
        }
    }

    /** One-shot convenience: opens, runs and closes. */
    public static Map<String, Tensor> run(Path onnxFile, Map<String, Tensor> inputs) {
        try (OnnxRuntimeReference ref = open(onnxFile)) {
            return ref.run(inputs);
        }
    }

    public List<String> inputNames() {
        return new ArrayList<>(session.getInputNames());
    }

    public List<String> outputNames() {
        return new ArrayList<>(session.getOutputNames());
    }

    /** Runs the model; returns every output in the model's order. */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            Map<String, NodeInfo> infos = session.getInputInfo();
            for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
                NodeInfo info = infos.get(e.getKey());
                if (info == null) {
                    throw LstmxException.badInput(file + ": onnxruntime session has no input '" + e.getKey() + "'");
                }
                feeds.put(e.getKey(), toOrt(env, e.getValue(), ((TensorInfo) info.getInfo()).type));
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            try (OrtSession.Result r = session.run(feeds)) {
                for (Map.Entry<String, OnnxValue> e : r) {
                    out.put(e.getKey(), fromOrt((OnnxTensor) e.getValue()));
                }
            }
            return out;
        } catch (OrtException e) {
            throw new LstmxException(ErrorCode.BAD_INPUT, file + ": onnxruntime failed: " + oneLine(e.getMessage()), e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor toOrt(OrtEnvironment env, Tensor t, ai.onnxruntime.OnnxJavaType type) throws OrtException {
        long[] shape = java.util.Arrays.stream(t.shape()).asLongStream().toArray();
        switch (type) {
            case FLOAT:
                return OnnxTensor.createTensor(env, FloatBuffer.wrap(t.toFloatArray()), shape);
            case INT32: {
                long[] l = t.toLongArray();
                int[] v = new int[l.length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (int) l[i];
                }
                return OnnxTensor.createTensor(env, IntBuffer.wrap(v), shape);
            }
            case INT64:
                return OnnxTensor.createTensor(env, LongBuffer.wrap(t.toLongArray()), shape);
            default:
                throw LstmxException.unsupported("onnxruntime input of type " + type + " is not supported by lstmx's reference runner");
        }
    }

    private static Tensor fromOrt(OnnxTensor t) throws OrtException {
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
                throw LstmxException.unsupported("onnxruntime output of type " + info.type + " is not supported by lstmx's reference runner");
        }
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ').trim();
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
