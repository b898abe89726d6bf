package io.lstmx.api;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy .npy files (format versions 1-3, C order) in either byte order.
 *
 * <p>Which dtypes are read follows one rule: a dtype is read when every value it can hold has a
 * value lstmx computes with. Integers (bool, int8, int16, int32, int64, uint8, uint16, uint32) are
 * held exactly as 64-bit integers, labelled INT32 when the dtype fits int32 and INT64 otherwise;
 * floats (float16, float32, float64) become float32, the element type the runtime computes in
 * (float16 exactly, float64 rounded to nearest, as NumPy's astype(float32)). Every other dtype
 * (uint64, whose values may exceed int64; complex; float128; strings; objects; dates; structured
 * records) is refused with UNSUPPORTED naming the dtype. Files are written as float32, int32 or
 * int64.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** A dtype string: byte order, kind, width and, for dates, a unit such as [ns]. */
    private static final Pattern DESCR = Pattern.compile("([<>|=]?)([a-zA-Z])(\\d*)(\\[\\w+\\])?");
    /** What lstmx reads, for messages. */
    static final String READ_DTYPES = "bool, int8, int16, int32, int64, uint8, uint16, uint32, float16, float32 and float64";

    private Npy() {
    }

    /**
     * Reads a .npy file.
     *
     * @param file the file
     * @return a float32 tensor (float32 or float64 data), or an int32 or int64 tensor
     * @throws io.lstmx.errors.LstmxException BAD_INPUT naming the file for anything malformed,
     *         UNSUPPORTED for other dtypes and Fortran order
     */
    public static Tensor read(Path file) {
        if (Files.isDirectory(file)) {
            throw LstmxException.badInput(file + ": is a directory, not a .npy file");
        }
        if (!Files.exists(file)) {
            throw LstmxException.badInput(file + ": no such file");
        }
        try (InputStream in = Files.newInputStream(file)) {
            long size = Files.size(file);
            return read(in, size, file.toString());
        } catch (IOException e) {
            throw LstmxException.badInput(file + ": cannot read .npy file: " + io.lstmx.util.IoErrors.describe(e));
        }
    }

    static Tensor read(InputStream in, long fileSize, String where) throws IOException {
        byte[] magic = in.readNBytes(8);
        if (magic.length < 6 || !java.util.Arrays.equals(java.util.Arrays.copyOf(magic, 6), MAGIC)) {
            throw LstmxException.badInput(where + ": not a NumPy .npy file (bad magic)");
        }
        if (magic.length < 8) {
            throw LstmxException.badInput(where + ": .npy file is truncated inside its version");
        }
        int major = magic[6] & 0xff;
        int minor = magic[7] & 0xff;
        if (major < 1 || major > 3 || minor != 0) {
            throw LstmxException.badInput(where + ": unsupported .npy format version " + major + "." + minor + "; NumPy writes 1.0, 2.0 and 3.0");
        }
        int lengthBytes = major == 1 ? 2 : 4;
        byte[] l = in.readNBytes(lengthBytes);
        if (l.length < lengthBytes) {
            throw LstmxException.badInput(where + ": .npy file is truncated inside its header length");
        }
        long headerLen = major == 1 ? (l[0] & 0xff) | (l[1] & 0xff) << 8
                : ByteBuffer.wrap(l).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffff_ffffL;
        if (headerLen > NpyHeader.MAX_HEADER_BYTES) {
            throw LstmxException.badInput(where + ": .npy header length " + headerLen + " exceeds " + NpyHeader.MAX_HEADER_BYTES + " bytes");
        }
        byte[] headerBytes = in.readNBytes((int) headerLen);
        if (headerBytes.length < headerLen) {
            throw LstmxException.badInput(where + ": .npy file is truncated inside its header (" + headerBytes.length + " of "
                    + headerLen + " bytes)");
        }
        // Versions 1 and 2 store the header in latin-1, version 3 in UTF-8 (the spec).
        String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        NpyHeader h = NpyHeader.parse(header, where);
        Matcher d = DESCR.matcher(h.descr());
        if (!d.matches()) {
            throw LstmxException.badInput(where + ": .npy dtype '" + SafeText.name(h.descr()) + "' is not a NumPy dtype string");
        }
        char kind = d.group(2).charAt(0);
        if (kind == 'O' || kind == 'V') {
            // Python objects (pickled) and raw records are not arrays of numbers, whatever their shape.
            throw LstmxException.badInput(where + ": .npy dtype '" + SafeText.name(h.descr()) + "' holds "
                    + (kind == 'O' ? "Python objects" : "raw records") + ", not numbers");
        }
        ElementType type = ElementType.of(kind, d.group(3), where);
        if (h.fortranOrder() && h.shape().length > 1) {
            throw LstmxException.unsupported(where + ": Fortran-order .npy arrays are not supported; save with np.ascontiguousarray");
        }
        int width = type.width;
        ByteOrder order = switch (d.group(1)) {
            case ">" -> ByteOrder.BIG_ENDIAN;
            case "=" -> ByteOrder.nativeOrder();
            default -> ByteOrder.LITTLE_ENDIAN; // '<', and '|' or none for one-byte types, where order does not matter
        };
        long[] ld = h.shape();
        String dims = java.util.Arrays.toString(ld);
        int n;
        try {
            n = Tensor.elementCount(ld);
        } catch (LstmxException | ArithmeticException e) {
            throw LstmxException.badInput(where + ": .npy shape " + dims + " is too large: " + e.getMessage());
        }
        long bytes = (long) n * width;
        long available = fileSize - 8 - lengthBytes - headerLen;
        if (bytes > available) {
            throw LstmxException.badInput(where + ": .npy data is truncated: shape " + dims + " needs " + bytes + " bytes, the file has "
                    + Math.max(0, available) + " after its header");
        }
        byte[] data = in.readNBytes((int) bytes);
        if (data.length != bytes) {
            throw LstmxException.badInput(where + ": .npy data is truncated: " + data.length + " of " + bytes + " bytes");
        }
        ByteBuffer buf = ByteBuffer.wrap(data).order(order);
        int[] shape = new int[ld.length];
        for (int i = 0; i < ld.length; i++) {
            shape[i] = (int) ld[i];
        }
        return type.decode(buf, shape, n);
    }

    /** The element types read (see the class comment); anything else is refused by {@link #of}. */
    private enum ElementType {
        BOOL('b', 1), INT8('i', 1), INT16('i', 2), INT32('i', 4), INT64('i', 8),
        UINT8('u', 1), UINT16('u', 2), UINT32('u', 4), FLOAT16('f', 2), FLOAT32('f', 4), FLOAT64('f', 8);

        final char kind;
        final int width;

        ElementType(char kind, int width) {
            this.kind = kind;
            this.width = width;
        }

        static ElementType of(char kind, String width, String where) {
            for (ElementType t : values()) {
                if (t.kind == kind && String.valueOf(t.width).equals(width)) {
                    return t;
                }
            }
            String why = kind == 'u' && width.equals("8") ? " (its values may exceed int64)" : "";
            throw LstmxException.unsupported(where + ": .npy dtype " + numpyName(kind, width) + " ('" + kind + width + "') is not supported"
                    + why + "; lstmx reads " + READ_DTYPES + " arrays");
        }

        /** NumPy's name of a dtype lstmx does not read, e.g. "complex64", "uint64", "str". */
        private static String numpyName(char kind, String width) {
            int bytes = width.isEmpty() ? 0 : Integer.parseInt(width.length() > 3 ? "0" : width);
            return switch (kind) {
                case 'u' -> "uint" + 8 * bytes;
                case 'i' -> "int" + 8 * bytes;
                case 'f' -> "float" + 8 * bytes;
                case 'c' -> "complex" + 8 * bytes;
                case 'b' -> "bool" + (bytes == 1 ? "" : 8 * bytes);
                case 'U' -> "str";
                case 'S', 'a' -> "bytes";
                case 'O' -> "object";
                case 'M' -> "datetime64";
                case 'm' -> "timedelta64";
                case 'V' -> "void";
                default -> "'" + kind + width + "'";
            };
        }

        /** Whether every value fits int32, so that the tensor keeps an INT32 label. */
        private boolean fitsInt32() {
            return this != INT64 && this != UINT32;
        }

        Tensor decode(ByteBuffer buf, int[] shape, int n) {
            if (kind == 'f') {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = switch (this) {
                        case FLOAT16 -> halfToFloat(buf.getShort());
                        case FLOAT32 -> buf.getFloat();
                        default -> (float) buf.getDouble();
                    };
                }
                return Tensor.ofFloats(shape, v);
            }
            long[] v = new long[n];
            for (int i = 0; i < n; i++) {
                v[i] = switch (this) {
                    case BOOL -> buf.get() != 0 ? 1 : 0;
                    case INT8 -> buf.get();
                    case UINT8 -> buf.get() & 0xffL;
                    case INT16 -> buf.getShort();
                    case UINT16 -> buf.getShort() & 0xffffL;
                    case INT32 -> buf.getInt();
                    case UINT32 -> buf.getInt() & 0xffff_ffffL;
                    default -> buf.getLong();
                };
            }
            return Tensor.ofLongs(fitsInt32() ? DType.INT32 : DType.INT64, shape, v);
        }
    }

    /** IEEE 754 binary16 to float32, exactly (every half value is a float value). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f80_0000 | mant << 13); // infinity or NaN (payload kept)
        }
        if (exp == 0) {
            // Zero or subnormal: mant * 2^-24, exact in float.
            float f = mant * 0x1p-24f;
            return sign == 0 ? f : -f;
        }
        return Float.intBitsToFloat(sign | (exp + 127 - 15) << 23 | mant << 13);
    }

    /**
     * Writes {@code t} as a version 1.0 .npy (float32, int32 or int64, little-endian), atomically.
     * Half-precision tensors are written as float32 (widened exactly): NumPy has no bfloat16.
     *
     * @param t    the tensor
     * @param file the file to create or replace
     */
    public static void write(Tensor t, Path file) {
        String descr = switch (t.dtype()) {
            case FLOAT32, FLOAT16, BFLOAT16 -> "<f4";
            case INT32 -> "<i4";
            case INT64 -> "<i8";
        };
        StringBuilder shape = new StringBuilder();
        for (int dim : t.shape()) {
            shape.append(dim).append(", ");
        }
        String shapeText = t.rank() == 1 ? "(" + t.dim(0) + ",)" : "(" + (t.rank() == 0 ? "" : shape.substring(0, shape.length() - 2)) + ")";
        StringBuilder header = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeText + ", }");
        while ((10 + header.length() + 1) % 64 != 0) {
            header.append(' ');
        }
        header.append('\n');
        if (header.length() > 0xFFFF) {
            throw LstmxException.unsupported(file + ": a rank-" + t.rank() + " shape does not fit a version 1.0 .npy header");
        }
        byte[] head = header.toString().getBytes(StandardCharsets.ISO_8859_1);
        // Streamed through a small buffer: size * width can exceed what one array (or an int) holds.
        io.lstmx.util.AtomicFiles.write(file, out -> {
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) head.length);
            out.write(buf.array(), 0, buf.position());
            out.write(head);
            buf.clear();
            for (int i = 0; i < t.size(); i++) {
                if (buf.remaining() < Long.BYTES) {
                    out.write(buf.array(), 0, buf.position());
                    buf.clear();
                }
                switch (t.dtype()) {
                    case FLOAT32, FLOAT16, BFLOAT16 -> buf.putFloat(t.getFloat(i));
                    case INT32 -> buf.putInt((int) t.getLong(i));
                    case INT64 -> buf.putLong(t.getLong(i));
                }
            }
            out.write(buf.array(), 0, buf.position());
        });
    }
}
