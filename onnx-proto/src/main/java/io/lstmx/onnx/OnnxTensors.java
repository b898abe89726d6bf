package io.lstmx.onnx;

import com.google.protobuf.ByteString;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.HalfFloats;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx.StringStringEntryProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.onnx.proto.Onnx.TensorProto.DataType;
import io.lstmx.util.SafeText;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Arrays;

/** Converts between ONNX TensorProto and IR tensors: typed fields, raw_data and external data. */
public final class OnnxTensors {
    /** One tensor's external data is read into one byte array. */
    static final long MAX_EXTERNAL_BYTES = Integer.MAX_VALUE - 16L;
    /** Largest raw_data written: a Java array (and a protobuf bytes field) stays below 2 GiB. */
    static final long MAX_RAW_BYTES = Integer.MAX_VALUE - 16L;

    private OnnxTensors() {
    }

    /**
     * Reads a TensorProto. Float16, bfloat16 and double become float32; all integer types and bool
     * become int64-backed tensors (INT32 label for int32, INT64 otherwise).
     *
     * @param baseDir folder of the model file, for external data (which must stay inside it); may be null
     * @param context names the file and tensor in error messages
     */
    public static Tensor toTensor(TensorProto p, Path baseDir, String context) {
        String where = context + ": tensor '" + p.getName() + "'";
        long[] dims = new long[p.getDimsCount()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = p.getDims(i);
            if (dims[i] < 0 || dims[i] > Integer.MAX_VALUE) {
                throw LstmxException.badInput(where + " has invalid dimension " + dims[i] + " in " + SafeText.list(p.getDimsList()));
            }
        }
        int n;
        try {
            n = Tensor.elementCount(dims);
        } catch (LstmxException e) {
            throw LstmxException.badInput(where + ": " + e.getMessage());
        }
        int[] shape = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            shape[i] = (int) dims[i]; // checked above
        }
        int dt = p.getDataType();
        int width = byteWidth(dt, where);
        ByteBuffer raw = null;
        if (p.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            if ((long) n * width > MAX_EXTERNAL_BYTES) {
                throw LstmxException.unsupported(where + ": shape " + SafeText.list(p.getDimsList()) + " of " + typeName(dt) + " needs " + (long) n * width
                        + " bytes of external data; lstmx reads at most " + MAX_EXTERNAL_BYTES + " bytes per tensor");
            }
            raw = readExternal(p, baseDir, (long) n * width, where);
        } else if (p.hasRawData()) {
            ByteString bs = p.getRawData();
            if (bs.size() != (long) n * width) {
                throw LstmxException.badInput(where + ": raw_data has " + bs.size() + " bytes, expected " + (long) n * width
                        + " for shape " + p.getDimsList() + " of " + typeName(dt));
            }
            raw = bs.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        } else {
            // Checked before anything is allocated: the dims alone may claim billions of elements.
            int count = typedCount(p, dt);
            if (count != n) {
                throw LstmxException.badInput(where + " holds " + count + " values, expected " + n + " for shape " + SafeText.list(p.getDimsList()));
            }
        }
        if (dt == DataType.FLOAT_VALUE || dt == DataType.DOUBLE_VALUE || dt == DataType.FLOAT16_VALUE || dt == DataType.BFLOAT16_VALUE) {
            float[] f = new float[n];
            if (raw != null && dt == DataType.FLOAT_VALUE) {
                raw.asFloatBuffer().get(f); // bulk, little-endian (raw's order)
            } else if (raw != null) {
                for (int i = 0; i < n; i++) {
                    switch (dt) {
                        case DataType.FLOAT_VALUE -> f[i] = raw.getFloat();
                        case DataType.DOUBLE_VALUE -> f[i] = (float) raw.getDouble();
                        case DataType.FLOAT16_VALUE -> f[i] = halfToFloat(raw.getShort());
                        default -> f[i] = HalfFloats.bfloat16ToFloat(raw.getShort());
                    }
                }
            } else {
                for (int i = 0; i < n; i++) {
                    switch (dt) {
                        case DataType.FLOAT_VALUE -> f[i] = p.getFloatData(i);
                        case DataType.DOUBLE_VALUE -> f[i] = (float) p.getDoubleData(i);
                        case DataType.FLOAT16_VALUE -> f[i] = halfToFloat((short) p.getInt32Data(i));
                        default -> f[i] = HalfFloats.bfloat16ToFloat((short) p.getInt32Data(i));
                    }
                }
            }
            return Tensor.adoptFloats(shape, f); // f is ours alone: no second copy of the weights
        }
        long[] l = new long[n];
        if (raw != null) {
            for (int i = 0; i < n; i++) {
                l[i] = switch (dt) {
                    case DataType.INT64_VALUE -> raw.getLong();
                    case DataType.UINT64_VALUE -> raw.getLong();
                    case DataType.INT32_VALUE -> raw.getInt();
                    case DataType.UINT32_VALUE -> raw.getInt() & 0xffffffffL;
                    case DataType.INT16_VALUE -> raw.getShort();
                    case DataType.UINT16_VALUE -> raw.getShort() & 0xffff;
                    case DataType.INT8_VALUE -> raw.get();
                    default -> raw.get() & 0xff; // UINT8, BOOL
                };
            }
        } else {
            boolean wide = dt == DataType.INT64_VALUE;
            boolean u64 = dt == DataType.UINT64_VALUE || dt == DataType.UINT32_VALUE;
            for (int i = 0; i < n; i++) {
                l[i] = wide ? p.getInt64Data(i) : u64 ? p.getUint64Data(i) : p.getInt32Data(i);
            }
        }
        return Tensor.ofLongs(dt == DataType.INT32_VALUE ? DType.INT32 : DType.INT64, shape, l);
    }

    /** Number of values in the typed field that holds elements of type {@code dt} (ONNX's field per type). */
    private static int typedCount(TensorProto p, int dt) {
        return switch (dt) {
            case DataType.FLOAT_VALUE -> p.getFloatDataCount();
            case DataType.DOUBLE_VALUE -> p.getDoubleDataCount();
            case DataType.INT64_VALUE -> p.getInt64DataCount();
            case DataType.UINT64_VALUE, DataType.UINT32_VALUE -> p.getUint64DataCount();
            default -> p.getInt32DataCount(); // float16, bfloat16, bool and the narrow integer types
        };
    }

    /**
     * Writes a tensor as a TensorProto with raw_data (little-endian), in its own element type:
     * FLOAT16 and BFLOAT16 tensors keep their 16-bit values (ONNX has both types).
     */
    public static TensorProto fromTensor(String name, Tensor t) {
        TensorProto.Builder b = header(name, t).toBuilder();
        int n = t.size();
        ByteBuffer buf = ByteBuffer.allocate((int) rawBytes(name, t)).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case FLOAT32 -> t.putFloats(0, n, buf.asFloatBuffer()); // bulk, little-endian
            case INT32 -> {
                for (int i = 0; i < n; i++) {
                    buf.putInt((int) t.getLong(i));
                }
            }
            case FLOAT16, BFLOAT16 -> {
                for (short h : t.toHalfBits()) {
                    buf.putShort(h);
                }
            }
            case INT64 -> {
                for (int i = 0; i < n; i++) {
                    buf.putLong(t.getLong(i));
                }
            }
        }
        // buf is ours alone and never written again: wrap it rather than copy it
        return b.setRawData(com.google.protobuf.UnsafeByteOperations.unsafeWrap(buf.array())).build();
    }

    /**
     * The TensorProto {@link #fromTensor} writes for {@code t}, without its raw_data (name, dims and
     * data_type): for writers that stream the bytes of a large tensor into the file instead of
     * holding them. Refuses, as fromTensor does, a tensor too large for one raw_data field.
     */
    public static TensorProto header(String name, Tensor t) {
        return header(name, t.dtype(), t.shape());
    }

    /** The header ({@link #header(String, Tensor)}) of a tensor of {@code dtype} and {@code shape}. */
    public static TensorProto header(String name, DType dtype, int[] shape) {
        TensorProto.Builder b = TensorProto.newBuilder().setName(name);
        for (int d : shape) {
            b.addDims(d);
        }
        rawBytes(name, dtype, shape);
        return b.setDataType(onnxType(dtype)).build();
    }

    /** Bytes of {@code t}'s raw_data, refused (UNSUPPORTED) above what one protobuf bytes field holds. */
    public static long rawBytes(String name, Tensor t) {
        return rawBytes(name, t.dtype(), t.shape());
    }

    private static long rawBytes(String name, DType dtype, int[] shape) {
        // raw_data is one protobuf bytes field (at most 2 GiB); n * width may exceed an int.
        long width = switch (dtype) {
            case INT64 -> 8L;
            case FLOAT16, BFLOAT16 -> 2L;
            case FLOAT32, INT32 -> 4L;
        };
        long bytes = Math.multiplyExact((long) Tensor.elementCount(shape), width);
        if (bytes > MAX_RAW_BYTES) {
            throw LstmxException.unsupported("tensor '" + name + "' of shape " + Arrays.toString(shape) + " needs " + bytes
                    + " bytes; a tensor stored inside an ONNX file holds at most " + MAX_RAW_BYTES);
        }
        return bytes;
    }

    /** ONNX element type for an IR dtype. */
    public static int onnxType(DType d) {
        return switch (d) {
            case FLOAT32 -> DataType.FLOAT_VALUE;
            case INT32 -> DataType.INT32_VALUE;
            case INT64 -> DataType.INT64_VALUE;
            case FLOAT16 -> DataType.FLOAT16_VALUE;
            case BFLOAT16 -> DataType.BFLOAT16_VALUE;
        };
    }

    /** IR dtype for an ONNX element type, or an UNSUPPORTED error naming {@code where}. */
    public static DType irType(int onnxType, String where) {
        return switch (onnxType) {
            case DataType.FLOAT_VALUE, DataType.DOUBLE_VALUE, DataType.FLOAT16_VALUE, DataType.BFLOAT16_VALUE -> DType.FLOAT32;
            case DataType.INT32_VALUE -> DType.INT32;
            case DataType.INT64_VALUE, DataType.INT8_VALUE, DataType.UINT8_VALUE, DataType.INT16_VALUE, DataType.UINT16_VALUE,
                 DataType.UINT32_VALUE, DataType.BOOL_VALUE -> DType.INT64;
            default -> throw LstmxException.unsupported(where + ": element type " + typeName(onnxType) + " is not supported");
        };
    }

    public static String typeName(int onnxType) {
        DataType d = DataType.forNumber(onnxType);
        return d == null ? "unknown(" + onnxType + ")" : d.name();
    }

    private static int byteWidth(int dt, String where) {
        return switch (dt) {
            case DataType.FLOAT_VALUE, DataType.INT32_VALUE, DataType.UINT32_VALUE -> 4;
            case DataType.DOUBLE_VALUE, DataType.INT64_VALUE, DataType.UINT64_VALUE -> 8;
            case DataType.FLOAT16_VALUE, DataType.BFLOAT16_VALUE, DataType.INT16_VALUE, DataType.UINT16_VALUE -> 2;
            case DataType.INT8_VALUE, DataType.UINT8_VALUE, DataType.BOOL_VALUE -> 1;
            default -> throw LstmxException.unsupported(where + " has element type " + typeName(dt)
                    + "; supported are float, double, float16, bfloat16 and integer types");
        };
    }

    private static ByteBuffer readExternal(TensorProto p, Path baseDir, long expectedBytes, String where) {
        String location = null;
        long offset = 0;
        Long length = null;
        for (StringStringEntryProto e : p.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = parseLong(e.getValue(), where, "offset");
                case "length" -> length = parseLong(e.getValue(), where, "length");
                default -> { }
            }
        }
        if (location == null || baseDir == null) {
            throw LstmxException.badInput(where + ": external data without a location (or model read from a stream)");
        }
        Path base = baseDir.toAbsolutePath().normalize();
        Path file;
        try {
            file = base.resolve(location).normalize();
        } catch (InvalidPathException e) {
            throw LstmxException.badInput(where + ": external data location '" + location + "' is not a valid path: " + e.getReason());
        }
        if (location.isEmpty() || !file.startsWith(base)) {
            throw LstmxException.badInput(where + ": external data location '" + location + "' leaves the model's folder " + base);
        }
        if (!Files.isRegularFile(file)) {
            throw LstmxException.badInput(where + ": external data file " + file + " does not exist");
        }
        try {
            // A symbolic link inside the folder must not lead outside it either.
            if (!file.toRealPath().startsWith(base.toRealPath())) {
                throw LstmxException.badInput(where + ": external data location '" + location + "' links outside the model's folder " + base);
            }
        } catch (IOException e) {
            throw LstmxException.badInput(where + ": cannot resolve external data location '" + location + "': " + e.getMessage());
        }
        if (length != null && length != expectedBytes) {
            throw LstmxException.badInput(where + ": external data length " + length + " does not match the " + expectedBytes + " bytes its shape needs");
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            if (offset < 0 || offset > f.length() - expectedBytes) {
                throw LstmxException.badInput(where + ": external data " + file + " has " + f.length() + " bytes, needs " + expectedBytes + " at offset " + offset);
            }
            // The size came from the file: check it fits before allocating (a sparse 2 GiB file is cheap to make).
            io.lstmx.util.Heap.require(2 * expectedBytes, where + ": external data of " + expectedBytes + " bytes");
            byte[] bytes = new byte[(int) expectedBytes];
            f.seek(offset);
            f.readFully(bytes);
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw LstmxException.badInput(where + ": cannot read external data " + file + ": " + e.getMessage());
        }
    }

    private static long parseLong(String s, String where, String key) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw LstmxException.badInput(where + ": external data " + key + " '" + s + "' is not a number");
        }
    }

    /** IEEE 754 binary16 to float32, including subnormals, infinities and NaN. */
    static float halfToFloat(short h) {
        return HalfFloats.float16ToFloat(h);
    }
}
