package io.lstmx.ir.samples;

import io.lstmx.ir.DType;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fixture inputs and outputs as .npy files (little-endian float32 / int64 / int32, C order, what the
 * fixture generators save with numpy), and a minimal .npy writer: shared by the exporters' golden tests.
 */
public final class Npy {
    private Npy() {
    }

    /** input_0.npy, input_1.npy ... of a fixture folder, by the model's input names in order. */
    public static Map<String, Tensor> inputs(Path dir, Model m) throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        int k = 0;
        for (ValueInfo v : m.inputs()) {
            in.put(v.name(), read(dir.resolve("input_" + k++ + ".npy")));
        }
        return in;
    }

    /** One .npy file. */
    public static Tensor read(Path p) throws IOException {
        byte[] b = Files.readAllBytes(p);
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int major = b[6];
        int headerLen = major == 1 ? buf.getShort(8) & 0xffff : buf.getInt(8);
        int start = major == 1 ? 10 : 12;
        String header = new String(b, start, headerLen, StandardCharsets.ISO_8859_1);
        Matcher d = Pattern.compile("'descr': *'([^']*)'").matcher(header);
        Matcher s = Pattern.compile("'shape': *\\(([^)]*)\\)").matcher(header);
        if (!d.find() || !s.find() || header.contains("'fortran_order': True")) {
            throw new IOException(p + ": unexpected header " + header);
        }
        String[] parts = s.group(1).split(",");
        int[] shape = java.util.Arrays.stream(parts).map(String::trim).filter(x -> !x.isEmpty()).mapToInt(Integer::parseInt).toArray();
        int n = Tensor.elementCount(shape);
        buf.position(start + headerLen);
        switch (d.group(1)) {
            case "<f4" -> {
                float[] f = new float[n];
                buf.asFloatBuffer().get(f);
                return Tensor.ofFloats(shape, f);
            }
            case "<i8" -> {
                long[] l = new long[n];
                buf.asLongBuffer().get(l);
                return Tensor.ofLongs(DType.INT64, shape, l);
            }
            case "<i4" -> {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = buf.getInt();
                }
                return Tensor.ofLongs(DType.INT32, shape, l);
            }
            default -> throw new IOException(p + ": dtype " + d.group(1));
        }
    }

    /** {@code t} as a .npy file (float32 or int64). */
    public static void write(Tensor t, Path p) throws IOException {
        boolean f = t.dtype().isFloating();
        StringBuilder shape = new StringBuilder();
        for (int i = 0; i < t.rank(); i++) {
            shape.append(t.dim(i)).append(t.rank() == 1 ? "," : (i < t.rank() - 1 ? ", " : ""));
        }
        String h = "{'descr': '" + (f ? "<f4" : "<i8") + "', 'fortran_order': False, 'shape': (" + shape + "), }";
        int total = 10 + h.length() + 1;
        int pad = (64 - total % 64) % 64;
        h = h + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + h.length() + t.size() * (f ? 4 : 8)).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0).putShort((short) h.length());
        b.put(h.getBytes(StandardCharsets.US_ASCII));
        if (f) {
            for (float x : t.toFloatArray()) {
                b.putFloat(x);
            }
        } else {
            for (long x : t.toLongArray()) {
                b.putLong(x);
            }
        }
        Files.write(p, b.array());
    }
}
