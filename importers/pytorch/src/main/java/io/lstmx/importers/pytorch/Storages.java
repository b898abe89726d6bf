package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Turns a {@link TensorRef} (a strided view of a storage) into a dense row-major IR tensor. Real
 * files keep several tensors in one storage (cuDNN's flat LSTM buffer: every weight and bias of a
 * layer stack is a view at its own offset, in an order unrelated to the key order), and a view may
 * be non-contiguous (a transposed weight), so the element of each index is found from the offset
 * and the strides. The span of the view is checked against the storage before anything is read,
 * and a tensor that reaches past its storage is refused naming its key.
 */
final class Storages {
    private Storages() {
    }

    /** Most elements a view may have beyond its storage's (zero or overlapping strides, as expand() makes). */
    static final int MAX_REPEATED = 1 << 24;

    /**
     * The values of {@code t} as an IR tensor: float32 for float and double storages (double is
     * rounded to float, as the runtime computes in float32), float16 / bfloat16 as they are, int64
     * for integer and bool storages.
     *
     * @param file where the storage's bytes are
     * @param t    the view
     * @param name the state_dict key, for messages
     */
    static Tensor materialize(TorchFile file, TensorRef t, String name) {
        StorageRef s = t.storage();
        long[] size = t.size();
        long[] stride = t.stride();
        int[] shape = new int[size.length];
        for (int i = 0; i < size.length; i++) {
            if (size[i] > Integer.MAX_VALUE) {
                throw LstmxException.badInput(file.path() + ": tensor '" + name + "' has dimension " + size[i] + ", too large");
            }
            shape[i] = (int) size[i];
        }
        int n;
        try {
            n = Tensor.elementCount(size);
        } catch (LstmxException e) {
            throw e.withContext(file.path() + ": tensor '" + name + "'");
        }
        int elem = t.type().size;
        // The storage length in the tensor's elements (untyped storages are bytes).
        long storageElements = bytes(file, s, s.numel()) / elem;
        long baseBytes = bytes(file, s, s.base());
        if (n > 0) {
            long last = t.offset();
            try {
                for (int i = 0; i < size.length; i++) {
                    last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
                }
            } catch (ArithmeticException e) {
                last = Long.MAX_VALUE;
            }
            if (last >= storageElements) {
                throw LstmxException.badInput(file.path() + ": tensor '" + name + "' " + Arrays.toString(size) + " with strides "
                        + Arrays.toString(stride) + " at offset " + t.offset() + " reaches element " + (last == Long.MAX_VALUE ? "beyond 2^63" : last)
                        + " of storage '" + s.key() + "', which holds " + storageElements + " " + t.type().dtypeName() + " elements");
            }
        }
        if (n > storageElements && n > MAX_REPEATED) {
            // Zero or overlapping strides repeat elements; a few bytes of file must not become gigabytes.
            throw LstmxException.badInput(file.path() + ": tensor '" + name + "' " + Arrays.toString(size) + " with strides "
                    + Arrays.toString(stride) + " repeats the " + storageElements + " elements of storage '" + s.key() + "' to " + n);
        }
        ByteBuffer b = n == 0 ? ByteBuffer.allocate(0) : file.bytes(s);
        Odometer at = new Odometer(size, stride, t.offset());
        switch (t.type()) {
            case FLOAT, DOUBLE -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    int pos = byteAt(baseBytes, at.next(), elem);
                    f[i] = t.type() == StorageType.FLOAT ? b.getFloat(pos) : (float) b.getDouble(pos);
                }
                return Tensor.ofFloats(shape, f);
            }
            case HALF, BFLOAT16 -> {
                short[] h = new short[n];
                for (int i = 0; i < n; i++) {
                    h[i] = b.getShort(byteAt(baseBytes, at.next(), elem));
                }
                return Tensor.ofHalfBits(t.type() == StorageType.HALF ? DType.FLOAT16 : DType.BFLOAT16, shape, h);
            }
            default -> {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    int pos = byteAt(baseBytes, at.next(), elem);
                    l[i] = switch (t.type()) {
                        case LONG -> b.getLong(pos);
                        case INT -> b.getInt(pos);
                        case SHORT -> b.getShort(pos);
                        case CHAR -> b.get(pos);
                        default -> b.get(pos) & 0xff; // BYTE, BOOL
                    };
                }
                return Tensor.ofLongs(DType.INT64, shape, l);
            }
        }
    }

    /** {@code elements} of storage {@code s} in bytes; a count no file can hold is refused. */
    static long bytes(TorchFile file, StorageRef s, long elements) {
        try {
            return Math.multiplyExact(elements, (long) s.type().size);
        } catch (ArithmeticException e) {
            throw LstmxException.badInput(file.path() + ": storage '" + s.key() + "' of " + elements + " elements, more than 2^63 bytes");
        }
    }

    /** Byte offset of element {@code index} (in bounds: checked above against the storage length). */
    private static int byteAt(long baseBytes, long index, int elem) {
        return (int) (baseBytes + index * elem);
    }

    /** Storage element of each row-major index in turn: a counter over the dimensions. */
    private static final class Odometer {
        private final long[] size;
        private final long[] stride;
        private final long[] counter;
        private long at;

        Odometer(long[] size, long[] stride, long offset) {
            this.size = size;
            this.stride = stride;
            this.counter = new long[size.length];
            this.at = offset;
        }

        long next() {
            long here = at;
            for (int d = size.length - 1; d >= 0; d--) {
                counter[d]++;
                at += stride[d];
                if (counter[d] < size[d]) {
                    break;
                }
                at -= stride[d] * size[d];
                counter[d] = 0;
            }
            return here;
        }
    }
}
