package io.lstmx.importers.tensorflow;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** TensorFlow dtypes, shapes and TensorProtos as IR tensors. Sizes are checked before anything is allocated. */
final class TfTensors {
    private TfTensors() {
    }

    /** Bytes per element of a numeric dtype, 0 for dtypes lstmx does not hold. */
    static int byteWidth(DataType t) {
        return switch (t) {
            case DT_FLOAT, DT_INT32, DT_UINT32 -> 4;
            case DT_DOUBLE, DT_INT64, DT_UINT64 -> 8;
            case DT_HALF, DT_BFLOAT16, DT_INT16, DT_UINT16 -> 2;
            case DT_INT8, DT_UINT8, DT_BOOL -> 1;
            default -> 0;
        };
    }

    /** The IR dtype values of {@code t} are held as, or null. */
    static DType irType(DataType t) {
        return switch (t) {
            case DT_FLOAT, DT_DOUBLE -> DType.FLOAT32;
            case DT_HALF -> DType.FLOAT16;
            case DT_BFLOAT16 -> DType.BFLOAT16;
            case DT_INT32, DT_INT16, DT_INT8, DT_UINT8, DT_UINT16, DT_BOOL -> DType.INT32;
            case DT_INT64, DT_UINT32, DT_UINT64 -> DType.INT64;
            default -> null;
        };
    }

    /** A fully known shape; unknown ranks or dimensions are refused. */
    static int[] shape(TensorShapeProto s, String where) {
        if (s.getUnknownRank()) {
            throw LstmxException.badInput(where + ": a stored tensor has unknown rank");
        }
        if (s.getDimCount() > 32) {
            throw LstmxException.badInput(where + ": rank " + s.getDimCount() + " is over 32");
        }
        int[] out = new int[s.getDimCount()];
        long n = 1;
        for (int i = 0; i < out.length; i++) {
            long d = s.getDim(i).getSize();
            if (d < 0 || d > Tensor.MAX_ELEMENTS) {
                throw LstmxException.badInput(where + ": dimension " + i + " is " + d);
            }
            n = Math.min(Long.MAX_VALUE / 2, n * Math.max(d, 1));
            out[i] = (int) d;
        }
        if (n > Tensor.MAX_ELEMENTS) {
            throw LstmxException.unsupported(where + ": shape with " + n + " elements is too large");
        }
        return out;
    }

    /** Little-endian raw bytes as a tensor. */
    static Tensor fromBytes(DataType t, int[] shape, ByteBuffer b, String where) {
        int n = Tensor.elementCount(shape);
        int width = byteWidth(t);
        if (width == 0 || irType(t) == null) {
            throw LstmxException.unsupported(where + ": dtype " + t + " is not read");
        }
        if ((long) n * width > b.remaining()) {
            throw LstmxException.badInput(where + ": " + b.remaining() + " bytes for " + n + " elements of " + t);
        }
        io.lstmx.util.Heap.require(8L * n, where);
        b = b.order(ByteOrder.LITTLE_ENDIAN);
        DType ir = irType(t);
        if (ir == DType.FLOAT32) {
            float[] f = new float[n];
            for (int i = 0; i < n; i++) {
                f[i] = t == DataType.DT_DOUBLE ? (float) b.getDouble() : b.getFloat();
            }
            return Tensor.ofFloats(shape, f);
        }
        if (ir.isHalf()) {
            short[] s = new short[n];
            for (int i = 0; i < n; i++) {
                s[i] = b.getShort();
            }
            return Tensor.ofHalfBits(ir, shape, s);
        }
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            l[i] = switch (t) {
                case DT_INT32 -> b.getInt();
                case DT_UINT32 -> b.getInt() & 0xffffffffL;
                case DT_INT64, DT_UINT64 -> b.getLong();
                case DT_INT16 -> b.getShort();
                case DT_UINT16 -> b.getShort() & 0xffff;
                case DT_INT8 -> b.get();
                default -> b.get() & 0xff;
            };
        }
        return Tensor.ofLongs(ir, shape, l);
    }

    /**
     * A TensorProto: raw {@code tensor_content}, or the typed value lists, where fewer values than
     * elements repeat the last one (TensorFlow's rule for splat constants) and none means zeros.
     */
    static Tensor fromProto(TensorProto p, String where) {
        return fromProto(p, where, Tensor.MAX_ELEMENTS);
    }

    /**
     * As {@link #fromProto(TensorProto, String)}, refusing (before allocating) a constant that its
     * value lists expand past {@code maxExpanded} elements: those bytes are not in the file, so a
     * Const of shape [16384, 16384] with one float_val, a hundred bytes, would otherwise allocate
     * 1 GiB. Raw {@code tensor_content} is as large as the file that holds it and is not limited.
     */
    static Tensor fromProto(TensorProto p, String where, long maxExpanded) {
        int[] shape = shape(p.getTensorShape(), where);
        int n = Tensor.elementCount(shape);
        if (p.getTensorContent().isEmpty() && n > maxExpanded) {
            throw LstmxException.unsupported(where + ": a constant of shape " + java.util.Arrays.toString(shape) + " (" + n
                    + " elements) given by a few repeated values; lstmx expands at most " + maxExpanded
                    + " elements for a file of this size");
        }
        DataType t = p.getDtype();
        if (irType(t) == null) {
            throw LstmxException.unsupported(where + ": constant of dtype " + t + " is not read");
        }
        if (!p.getTensorContent().isEmpty()) {
            if ((long) p.getTensorContent().size() != (long) n * byteWidth(t)) {
                throw LstmxException.badInput(where + ": tensor_content holds " + p.getTensorContent().size() + " bytes, shape "
                        + java.util.Arrays.toString(shape) + " of " + t + " needs " + (long) n * byteWidth(t));
            }
            return fromBytes(t, shape, p.getTensorContent().asReadOnlyByteBuffer(), where);
        }
        int count;
        switch (t) {
            case DT_FLOAT -> count = p.getFloatValCount();
            case DT_DOUBLE -> count = p.getDoubleValCount();
            case DT_INT64 -> count = p.getInt64ValCount();
            case DT_UINT32, DT_UINT64 -> count = t == DataType.DT_UINT32 ? p.getUint32ValCount() : p.getUint64ValCount();
            case DT_BOOL -> count = p.getBoolValCount();
            case DT_HALF, DT_BFLOAT16 -> count = p.getHalfValCount();
            default -> count = p.getIntValCount();
        }
        if (count > n) {
            throw LstmxException.badInput(where + ": " + count + " values for a tensor of " + n + " elements");
        }
        io.lstmx.util.Heap.require(8L * n, where);
        DType ir = irType(t);
        if (ir == DType.FLOAT32) {
            float[] f = new float[n];
            for (int i = 0; i < n && count > 0; i++) {
                int j = Math.min(i, count - 1);
                f[i] = t == DataType.DT_DOUBLE ? (float) p.getDoubleVal(j) : p.getFloatVal(j);
            }
            return Tensor.ofFloats(shape, f);
        }
        if (ir.isHalf()) {
            short[] s = new short[n];
            for (int i = 0; i < n && count > 0; i++) {
                s[i] = (short) p.getHalfVal(Math.min(i, count - 1));
            }
            return Tensor.ofHalfBits(ir, shape, s);
        }
        long[] l = new long[n];
        for (int i = 0; i < n && count > 0; i++) {
            int j = Math.min(i, count - 1);
            l[i] = switch (t) {
                case DT_INT64 -> p.getInt64Val(j);
                case DT_UINT32 -> p.getUint32Val(j) & 0xffffffffL;
                case DT_UINT64 -> p.getUint64Val(j);
                case DT_BOOL -> p.getBoolVal(j) ? 1 : 0;
                default -> p.getIntVal(j);
            };
        }
        return Tensor.ofLongs(ir, shape, l);
    }
}
