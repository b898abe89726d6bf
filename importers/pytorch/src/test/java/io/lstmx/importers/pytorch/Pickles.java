package io.lstmx.importers.pytorch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes pickles opcode by opcode, and torch.save files around them, the way torch.save lays them
 * out, so that tests can make exactly the (hostile) file they need.
 */
final class Pickles {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** Starts a protocol 2 pickle, as torch.save writes. */
    static Pickles proto2() {
        return new Pickles().op(0x80).op(2);
    }

    Pickles op(int b) {
        out.write(b);
        return this;
    }

    Pickles raw(byte[] b) {
        out.write(b, 0, b.length);
        return this;
    }

    Pickles line(String s) {
        return raw((s + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    Pickles global(String module, String name) {
        return op('c').line(module).line(name);
    }

    Pickles str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X');
        int4(b.length);
        return raw(b);
    }

    Pickles int4(int v) {
        return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    Pickles integer(long v) {
        if (v >= 0 && v < 256) {
            return op('K').op((int) v);
        }
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            return op('J').int4((int) v);
        }
        byte[] le = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
        return op(0x8a).op(8).raw(le);
    }

    Pickles mark() {
        return op('(');
    }

    Pickles tuple() {
        return op('t');
    }

    Pickles emptyTuple() {
        return op(')');
    }

    Pickles reduce() {
        return op('R');
    }

    Pickles stop() {
        return op('.');
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    /** One tensor of a state_dict: a view of storage {@code key} (float32, {@code numel} elements). */
    record T(String key, long numel, long offset, long[] size, long[] stride) {
        static T contiguous(String key, long... size) {
            long[] stride = new long[size.length];
            long n = 1;
            for (int i = size.length - 1; i >= 0; i--) {
                stride[i] = n;
                n *= size[i];
            }
            return new T(key, n, 0, size, stride);
        }
    }

    /** The pickle torch.save writes for an OrderedDict of tensors (zip layout: 5-element persistent ids). */
    static byte[] stateDict(Map<String, T> tensors, boolean legacy) {
        Pickles p = proto2().global("collections", "OrderedDict").emptyTuple().reduce().mark();
        for (Map.Entry<String, T> e : tensors.entrySet()) {
            T t = e.getValue();
            p.str(e.getKey()).global("torch._utils", "_rebuild_tensor_v2").mark();
            p.mark().str("storage").global("torch", "FloatStorage").str(t.key()).str("cuda:0").integer(t.numel());
            if (legacy) {
                p.op('N');
            }
            p.tuple().op('Q').integer(t.offset());
            p.mark();
            for (long s : t.size()) {
                p.integer(s);
            }
            p.tuple().mark();
            for (long s : t.stride()) {
                p.integer(s);
            }
            p.tuple().op(0x89).global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce();
        }
        return p.op('u').stop().bytes();
    }

    /** A torch.save zip: prefix/data.pkl, prefix/data/KEY, prefix/version, entries stored (uncompressed). */
    static Path zip(Path file, String prefix, byte[] dataPkl, Map<String, byte[]> storages) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put(prefix + "/data.pkl", dataPkl);
        storages.forEach((k, v) -> entries.put(prefix + "/data/" + k, v));
        entries.put(prefix + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return zipEntries(file, entries, ZipEntry.STORED);
    }

    static Path zipEntries(Path file, Map<String, byte[]> entries, int method) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(os)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setMethod(method);
                if (method == ZipEntry.STORED) {
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    ze.setSize(e.getValue().length);
                    ze.setCompressedSize(e.getValue().length);
                    ze.setCrc(crc.getValue());
                }
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return file;
    }

    /** A legacy torch.save file: magic, protocol, sys_info, the object, the keys, then each storage. */
    static Path legacy(Path file, byte[] objectPickle, List<String> keys, Map<String, float[]> storages) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(new byte[] {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a,
                (byte) 0xa8, 0x50, 0x19, '.'});
        b.write(proto2().op('M').op(0xe9).op(0x03).stop().bytes()); // 1001
        b.write(proto2().op('}').str("little_endian").op(0x88).op('s').stop().bytes());
        b.write(objectPickle);
        Pickles k = proto2().op(']').mark();
        keys.forEach(k::str);
        b.write(k.op('e').stop().bytes());
        for (String key : keys) {
            float[] v = storages.get(key);
            ByteBuffer bb = ByteBuffer.allocate(8 + 4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            bb.putLong(v.length);
            for (float f : v) {
                bb.putFloat(f);
            }
            b.write(bb.array());
        }
        Files.write(file, b.toByteArray());
        return file;
    }

    static byte[] floats(float... v) {
        ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            bb.putFloat(f);
        }
        return bb.array();
    }

    static float[] ramp(int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) Math.sin(i * 0.37) * 0.5f;
        }
        return f;
    }
}
