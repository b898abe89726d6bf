package io.lstmx.exporters.keras;

import io.jhdf.checksum.ChecksumUtils;
import io.lstmx.errors.LstmxException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The subset of HDF5 that Keras files use, written in pure Java: groups, float32 datasets
 * (contiguous), and attributes that are variable-length UTF-8 strings (scalar or 1-D, in a global
 * heap, as h5py writes Python strings) or an empty 1-D float64 array (what h5py makes of Keras'
 * empty {@code weight_names}). The file has superblock version 2, version 2 object headers with
 * their Jenkins lookup3 checksums (jHDF's), and compact links; it opens in libhdf5 (h5py) and jHDF.
 * <p>
 * Why not jHDF's own writer (0.9.4)? It writes a trailing info block at the channel position left
 * by the last dataset's data, over whatever node was placed after it (an empty group after a
 * dataset comes out damaged), it orders children by hash, and it writes strings as fixed-length
 * ones, which cannot exceed the 64 KiB of one header message (a long model_config).
 * <p>
 * The datasets' values are not copied into the file's image: it keeps their {@link Values} and
 * asks for them when it is written, a chunk at a time (issue 9: writing a model must not hold its
 * weights again, or several times over while a byte array grows; a kernel Keras holds transposed
 * is transposed a few rows at a time from the model's own tensor).
 */
final class H5Writer {
    private static final long UNDEF = -1L;

    /** A group: children in insertion order and attributes. */
    static final class Group {
        final Map<String, Object> children = new LinkedHashMap<>();
        final Map<String, Object> attrs = new LinkedHashMap<>();

        /** The child group {@code name}, created when absent. */
        Group group(String name) {
            Object o = children.get(name);
            if (o instanceof Group g) {
                return g;
            }
            if (o != null) {
                throw new IllegalStateException(name + " is a dataset");
            }
            Group g = new Group();
            children.put(name, g);
            return g;
        }

        /** The group at a '/'-separated path below this one, created as needed. */
        Group path(String path) {
            Group g = this;
            for (String p : path.split("/")) {
                if (!p.isEmpty()) {
                    g = g.group(p);
                }
            }
            return g;
        }

        void dataset(String name, int[] shape, float[] values) {
            dataset(name, shape, Values.of(values));
        }

        void dataset(String name, int[] shape, Values values) {
            if (children.containsKey(name)) {
                throw new IllegalStateException("two nodes named " + name);
            }
            children.put(name, new Data(shape.clone(), values));
        }

        /** A scalar string attribute. */
        void attr(String name, String value) {
            attrs.put(name, value);
        }

        /** A 1-D string attribute; empty lists are written as h5py writes them: float64 of shape [0]. */
        void attr(String name, List<String> values) {
            attrs.put(name, List.copyOf(values));
        }
    }

    record Data(int[] shape, Values values) {
    }

    /**
     * A dataset's float32 values, produced when the file is written (as often as it is written:
     * the same values each time), so that a writer need not hold a model's weights again.
     */
    interface Values {
        /** How many values. */
        long count();

        /**
         * Puts values [from, from + n) into {@code dst} (n at most {@link #CHUNK}).
         *
         * @param from first value
         * @param n    how many
         * @param dst  where they go, in order
         */
        void get(long from, int n, FloatBuffer dst);

        /** Values handed out per {@link #get} call when the file is written. */
        int CHUNK = 1 << 16;

        /** The values of an array, which is kept (not copied, not changed). */
        static Values of(float[] v) {
            return new Values() {
                @Override
                public long count() {
                    return v.length;
                }

                @Override
                public void get(long from, int n, FloatBuffer dst) {
                    dst.put(v, (int) from, n);
                }
            };
        }
    }

    private final Buf out = new Buf();
    /** Global heap positions of each string: collection address and object index. */
    private final Map<String, long[]> heapRefs = new LinkedHashMap<>();

    private H5Writer() {
    }

    /** A file's content: its structure as bytes, its datasets' values as the {@link Values} that produce them. */
    static final class Image {
        private final Buf buf;

        private Image(Buf buf) {
            this.buf = buf;
        }

        long size() {
            return buf.position();
        }

        /** Writes the file's bytes (as often as asked: the same bytes each time). */
        void writeTo(OutputStream out) throws IOException {
            buf.writeTo(out);
        }

        /** The file's bytes in one array (small files; tests). */
        byte[] toByteArray() {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try {
                writeTo(b);
            } catch (IOException e) {
                throw new IllegalStateException(e); // in memory
            }
            return b.toByteArray();
        }
    }

    /** The file whose root group is {@code root}. */
    static Image write(Group root) {
        return new H5Writer().file(root);
    }

    private Image file(Group root) {
        out.skip(48); // the superblock, written last
        List<String> strings = new ArrayList<>();
        collectStrings(root, strings, 0);
        writeHeaps(strings);
        long rootAddress = node(root, 0);
        ByteBuffer sb = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        sb.put(new byte[] {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'});
        sb.put((byte) 2).put((byte) 8).put((byte) 8).put((byte) 0);
        sb.putLong(0).putLong(UNDEF).putLong(out.position()).putLong(rootAddress);
        byte[] head = new byte[44];
        System.arraycopy(sb.array(), 0, head, 0, 44);
        sb.putInt(ChecksumUtils.checksum(head));
        out.patchStart(sb.array());
        return new Image(out);
    }

    private static void collectStrings(Group g, List<String> strings, int depth) {
        if (depth > 64) {
            throw LstmxException.internal("HDF5 groups nested more than 64 deep");
        }
        for (Object v : g.attrs.values()) {
            if (v instanceof String s) {
                strings.add(s);
            } else if (v instanceof List<?> l) {
                for (Object s : l) {
                    strings.add((String) s);
                }
            }
        }
        for (Object c : g.children.values()) {
            if (c instanceof Group cg) {
                collectStrings(cg, strings, depth + 1);
            }
        }
    }

    /** Global heap collections holding every distinct string (at most 65,535 objects and 64 MiB each). */
    private void writeHeaps(List<String> strings) {
        List<byte[]> batch = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        long size = 16;
        for (String s : strings) {
            if (heapRefs.containsKey(s) || keys.contains(s)) {
                continue;
            }
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            long need = 16 + align8(b.length);
            if (!batch.isEmpty() && (batch.size() == 65_535 || size + need > (64L << 20))) {
                collection(batch, keys, size);
                batch.clear();
                keys.clear();
                size = 16;
            }
            batch.add(b);
            keys.add(s);
            size += need;
        }
        if (!batch.isEmpty()) {
            collection(batch, keys, size);
        }
    }

    private void collection(List<byte[]> objects, List<String> keys, long used) {
        long size = Math.max(4096, align8(used + 16));
        long at = out.position();
        out.bytes("GCOL".getBytes(StandardCharsets.US_ASCII)).u8(1).u8(0).u8(0).u8(0).u64(size);
        for (int i = 0; i < objects.size(); i++) {
            byte[] b = objects.get(i);
            out.u16(i + 1).u16(1).u32(0).u64(b.length).bytes(b).skip((int) (align8(b.length) - b.length));
            heapRefs.put(keys.get(i), new long[] {at, i + 1});
        }
        long free = at + size - out.position();
        if (free >= 16) {
            out.u16(0).u16(0).u32(0).u64(free);
            out.skip((int) (free - 16));
        } else {
            out.skip((int) free);
        }
    }

    private static long align8(long n) {
        return (n + 7) & ~7L;
    }

    /** Writes a node (children first) and returns its object header's address. */
    private long node(Object n, int depth) {
        if (n instanceof Data d) {
            long dataAt = out.position();
            out.floats(d.values());
            Buf m = new Buf();
            message(m, 0x01, dataspace(d.shape()));
            message(m, 0x03, FLOAT32);
            message(m, 0x05, new byte[] {3, 0x0A});
            Buf layout = new Buf().u8(3).u8(1).u64(dataAt).u64(4L * d.values().count());
            message(m, 0x08, layout.toByteArray());
            return header(m);
        }
        Group g = (Group) n;
        Map<String, Long> addresses = new LinkedHashMap<>();
        for (var e : g.children.entrySet()) {
            addresses.put(e.getKey(), node(e.getValue(), depth + 1));
        }
        Buf m = new Buf();
        message(m, 0x02, new Buf().u8(0).u8(0).u64(UNDEF).u64(UNDEF).toByteArray());
        message(m, 0x0A, new byte[] {0, 0});
        for (var e : addresses.entrySet()) {
            byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
            Buf l = new Buf().u8(1);
            if (name.length < 256) {
                l.u8(0x10).u8(1).u8(name.length);
            } else {
                l.u8(0x11).u8(1).u16(name.length);
            }
            l.bytes(name).u64(e.getValue());
            message(m, 0x06, l.toByteArray());
        }
        for (var e : g.attrs.entrySet()) {
            message(m, 0x0C, attribute(e.getKey(), e.getValue()));
        }
        return header(m);
    }

    private byte[] attribute(String name, Object value) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] type;
        byte[] space;
        Buf data = new Buf();
        if (value instanceof String s) {
            type = VLEN_UTF8;
            space = new byte[] {2, 0, 0, 0};
            vlen(data, s);
        } else {
            List<?> l = (List<?>) value;
            type = l.isEmpty() ? FLOAT64 : VLEN_UTF8;
            space = dataspace(new int[] {l.size()});
            for (Object s : l) {
                vlen(data, (String) s);
            }
        }
        Buf a = new Buf().u8(3).u8(0).u16(n.length + 1).u16(type.length).u16(space.length).u8(1);
        a.bytes(n).u8(0).bytes(type).bytes(space).bytes(data.toByteArray());
        return a.toByteArray();
    }

    private void vlen(Buf data, String s) {
        long[] ref = heapRefs.get(s);
        data.u32(s.getBytes(StandardCharsets.UTF_8).length).u64(ref[0]).u32((int) ref[1]);
    }

    private static byte[] dataspace(int[] shape) {
        Buf b = new Buf().u8(2).u8(shape.length).u8(0).u8(shape.length == 0 ? 0 : 1);
        for (int d : shape) {
            b.u64(d);
        }
        return b.toByteArray();
    }

    private static void message(Buf m, int type, byte[] body) {
        if (body.length > 0xFFFF) {
            throw LstmxException.internal("an HDF5 header message of " + body.length + " bytes");
        }
        m.u8(type).u16(body.length).u8(type == 0x03 || type == 0x05 ? 1 : 0).bytes(body);
    }

    /** A version 2 object header holding {@code messages}; returns its address. */
    private long header(Buf messages) {
        byte[] body = messages.toByteArray();
        Buf h = new Buf().bytes("OHDR".getBytes(StandardCharsets.US_ASCII)).u8(2).u8(0x02).u32(body.length).bytes(body);
        byte[] b = h.toByteArray();
        long at = out.position();
        out.bytes(b).u32(ChecksumUtils.checksum(b));
        return at;
    }

    private static final byte[] FLOAT32 = {0x11, 0x20, 0x1f, 0x00, 4, 0, 0, 0, 0, 0, 32, 0, 23, 8, 0, 23, 127, 0, 0, 0};
    private static final byte[] FLOAT64 = {0x11, 0x20, 0x3f, 0x00, 8, 0, 0, 0, 0, 0, 64, 0, 52, 11, 0, 52, (byte) 0xff, 0x03, 0, 0};
    /** Variable-length string, UTF-8, null-terminated, of 1-byte unsigned characters (as h5py writes str). */
    private static final byte[] VLEN_UTF8 = {0x19, 0x01, 0x01, 0x00, 16, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0};

    /**
     * A little-endian byte buffer holding runs of bytes and, between them, datasets' {@link Values},
     * produced only when the buffer is written.
     */
    private static final class Buf {
        /** byte[] runs and dataset values, in order, before {@link #b}. */
        private final List<Object> parts = new ArrayList<>();
        private ByteArrayOutputStream b = new ByteArrayOutputStream();
        private long done;

        long position() {
            return done + b.size();
        }

        /** Ends the current run of bytes. */
        private void cut() {
            if (b.size() > 0) {
                parts.add(b.toByteArray());
                done += b.size();
                b = new ByteArrayOutputStream();
            }
        }

        Buf u8(int v) {
            b.write(v);
            return this;
        }

        Buf u16(int v) {
            return u8(v & 0xff).u8((v >>> 8) & 0xff);
        }

        Buf u32(int v) {
            return u16(v & 0xffff).u16((v >>> 16) & 0xffff);
        }

        Buf u64(long v) {
            return u32((int) v).u32((int) (v >>> 32));
        }

        /** The values, little-endian, produced when the buffer is written. */
        Buf floats(Values v) {
            cut();
            parts.add(v);
            done += 4L * v.count();
            return this;
        }

        Buf bytes(byte[] a) {
            b.write(a, 0, a.length);
            return this;
        }

        Buf skip(int n) {
            for (int i = 0; i < n; i++) {
                b.write(0);
            }
            return this;
        }

        /** The bytes of a buffer without datasets (a header or a message). */
        byte[] toByteArray() {
            if (!parts.isEmpty()) {
                throw new IllegalStateException("a buffer with datasets is written with writeTo");
            }
            return b.toByteArray();
        }

        /** Overwrites the first bytes (the superblock, once everything after it is known). */
        void patchStart(byte[] head) {
            cut();
            byte[] first = (byte[]) parts.get(0);
            System.arraycopy(head, 0, first, 0, head.length);
        }

        void writeTo(OutputStream out) throws IOException {
            cut();
            ByteBuffer bb = ByteBuffer.allocate(4 * Values.CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            for (Object p : parts) {
                if (p instanceof byte[] a) {
                    out.write(a);
                    continue;
                }
                Values v = (Values) p;
                long count = v.count();
                for (long i = 0; i < count; i += Values.CHUNK) {
                    int n = (int) Math.min(count - i, Values.CHUNK);
                    bb.clear();
                    FloatBuffer fb = bb.asFloatBuffer();
                    v.get(i, n, fb);
                    if (fb.position() != n) {
                        throw new IllegalStateException("a dataset gave " + fb.position() + " of " + n + " values");
                    }
                    out.write(bb.array(), 0, 4 * n);
                }
            }
        }
    }
}
