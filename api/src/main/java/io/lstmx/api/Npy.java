package io.lstmx.api;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy .npy files (format versions 1-3, C order) of float32, float64, int32 and
 * int64 in either byte order. float64 is read as float32; int32 keeps its INT32 label.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=])([fi])(\\d)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    public static Tensor read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            long size = Files.size(file);
            return read(in, size, file.toString());
        } catch (IOException e) {
            throw LstmxException.badInput(file + ": cannot read .npy file: " + e.getMessage());
        }
    }

    static Tensor read(InputStream in, long fileSize, String where) throws IOException {
        byte[] magic = in.readNBytes(8);
        if (magic.length < 8 || !java.util.Arrays.equals(java.util.Arrays.copyOf(magic, 6), MAGIC)) {
            throw LstmxException.badInput(where + ": not a NumPy .npy file (bad magic)");
        }
        int major = magic[6];
        int headerLen;
        if (major == 1) {
            byte[] l = in.readNBytes(2);
            headerLen = (l[0] & 0xff) | (l[1] & 0xff) << 8;
        } else if (major == 2 || major == 3) {
            byte[] l = in.readNBytes(4);
            headerLen = ByteBuffer.wrap(l).order(ByteOrder.LITTLE_ENDIAN).getInt();
        } else {
            throw LstmxException.badInput(where + ": unsupported .npy version " + major);
        }
        if (headerLen < 0 || headerLen > 1 << 20 || headerLen > fileSize) {
            throw LstmxException.badInput(where + ": .npy header length " + headerLen + " is invalid");
        }
        String header = new String(in.readNBytes(headerLen), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) {
            throw LstmxException.badInput(where + ": cannot parse .npy header " + header.trim());
        }
        if (f.group(1).equals("True")) {
            throw LstmxException.unsupported(where + ": Fortran-order .npy arrays are not supported; save with np.ascontiguousarray");
        }
        char kind = d.group(2).charAt(0);
        int width = Integer.parseInt(d.group(3));
        ByteOrder order = d.group(1).equals(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        if (!((kind == 'f' && (width == 4 || width == 8)) || (kind == 'i' && (width == 4 || width == 8)))) {
            throw LstmxException.unsupported(where + ": .npy dtype " + d.group(0) + " is not supported; expected float32, float64, int32 or int64");
        }
        List<Long> dims = new ArrayList<>();
        for (String part : s.group(1).split(",")) {
            if (!part.isBlank()) {
                try {
                    dims.add(Long.parseLong(part.trim()));
                } catch (NumberFormatException e) {
                    throw LstmxException.badInput(where + ": bad shape in .npy header " + header.trim());
                }
            }
        }
        long[] ld = dims.stream().mapToLong(Long::longValue).toArray();
        int n;
        try {
            n = Tensor.elementCount(ld);
        } catch (LstmxException | ArithmeticException e) {
            throw LstmxException.badInput(where + ": .npy shape " + dims + " is too large: " + e.getMessage());
        }
        long bytes = (long) n * width;
        if (bytes > fileSize) {
            throw LstmxException.badInput(where + ": .npy shape " + dims + " needs " + bytes + " bytes but the file has " + fileSize);
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
        if (kind == 'f') {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = width == 4 ? buf.getFloat() : (float) buf.getDouble();
            }
            return Tensor.ofFloats(shape, v);
        }
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = width == 4 ? buf.getInt() : buf.getLong();
        }
        return Tensor.ofLongs(width == 4 ? DType.INT32 : DType.INT64, shape, v);
    }

    /**
     * Writes {@code t} as a version 1.0 .npy (float32, int32 or int64), atomically. Half-precision
     * tensors are written as float32 (widened exactly): NumPy has no bfloat16, and this reader
     * reads float32 and float64 only.
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
