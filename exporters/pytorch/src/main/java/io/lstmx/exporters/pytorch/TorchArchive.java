package io.lstmx.exporters.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.CheckedOutputStream;

/**
 * The zip container PyTorch writes (torch.save since 1.6, torch.jit.save): every entry under one
 * folder ({@code archive/} for torch.save), stored uncompressed, each entry's data starting at a
 * multiple of 64 bytes (the padding is a local extra field with id "FB", as PyTorch's writer
 * does), so that a loader may map storages in place. Entries are written in the order added, with a
 * fixed timestamp: the same model gives the same bytes. A tensor's storage is not held as bytes: it
 * is produced from the tensor when the zip is written (once for its CRC, once into the file), so
 * that writing a model does not hold its weights twice (issue 9).
 */
final class TorchArchive {
    /** Data of every entry starts at a multiple of this. */
    static final int ALIGNMENT = 64;
    private static final int DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
    private static final long MAX_ZIP32 = 0xFFFF_FFFFL;

    private final String root;
    private final List<String> names = new ArrayList<>();
    private final List<Data> datas = new ArrayList<>();

    /** The bytes of one entry, produced when written (possibly more than once). */
    interface Data {
        long size();

        /** Writes exactly {@link #size()} bytes, the same each time. */
        void writeTo(OutputStream out) throws IOException;
    }

    /** An archive whose entries go under {@code root/}. */
    TorchArchive(String root) {
        this.root = root;
    }

    /** Adds {@code root/name} with these bytes. */
    void add(String name, byte[] data) {
        add(name, new Data() {
            @Override
            public long size() {
                return data.length;
            }

            @Override
            public void writeTo(OutputStream out) throws IOException {
                out.write(data);
            }
        });
    }

    /** Adds {@code root/name} with the bytes {@code data} produces. */
    void add(String name, Data data) {
        names.add(root + "/" + name);
        datas.add(data);
    }

    /** Adds every entry of {@code other} (which must have the same root), in its order. */
    void addAll(TorchArchive other) {
        names.addAll(other.names);
        datas.addAll(other.datas);
    }

    /** Adds a UTF-8 text entry. */
    void addText(String name, String text) {
        add(name, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Writes the zip file. */
    void writeTo(OutputStream out) throws IOException {
        long offset = 0;
        long[] offsets = new long[names.size()];
        long[] crcs = new long[names.size()];
        for (int i = 0; i < names.size(); i++) {
            byte[] name = names.get(i).getBytes(StandardCharsets.UTF_8);
            Data data = datas.get(i);
            long size = data.size();
            CRC32 crc = new CRC32();
            data.writeTo(new CheckedOutputStream(OutputStream.nullOutputStream(), crc));
            crcs[i] = crc.getValue();
            offsets[i] = offset;
            long headerEnd = offset + 30 + name.length;
            int extra = 0;
            if (headerEnd % ALIGNMENT != 0) {
                extra = (int) ((ALIGNMENT - (headerEnd + 4) % ALIGNMENT) % ALIGNMENT) + 4;
            }
            if (offset + 30 + name.length + extra + size > MAX_ZIP32) {
                throw LstmxException.unsupported("the weights add up to more than 4 GiB, beyond what lstmx writes in one PyTorch archive (zip64)");
            }
            ByteBuffer h = le(30 + name.length + extra);
            h.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putShort((short) DOS_DATE)
                    .putInt((int) crcs[i]).putInt((int) size).putInt((int) size)
                    .putShort((short) name.length).putShort((short) extra).put(name);
            if (extra > 0) {
                h.put((byte) 'F').put((byte) 'B').putShort((short) (extra - 4));
                for (int k = 4; k < extra; k++) {
                    h.put((byte) 'Z');
                }
            }
            out.write(h.array());
            data.writeTo(out);
            offset += h.capacity() + size;
        }
        long cdStart = offset;
        for (int i = 0; i < names.size(); i++) {
            byte[] name = names.get(i).getBytes(StandardCharsets.UTF_8);
            int size = (int) datas.get(i).size(); // each checked against MAX_ZIP32 above
            ByteBuffer c = le(46 + name.length);
            c.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putShort((short) DOS_DATE)
                    .putInt((int) crcs[i]).putInt(size).putInt(size)
                    .putShort((short) name.length).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putInt(0).putInt((int) offsets[i]).put(name);
            out.write(c.array());
            offset += c.capacity();
        }
        if (names.size() > 0xFFFF || offset > MAX_ZIP32) {
            throw LstmxException.unsupported("the archive has more entries or bytes than a zip without zip64 holds");
        }
        ByteBuffer e = le(22);
        e.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) names.size())
                .putShort((short) names.size()).putInt((int) (offset - cdStart)).putInt((int) cdStart).putShort((short) 0);
        out.write(e.array());
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A tensor's storage: its elements as little-endian float32 (floating tensors) or int64, from the tensor in chunks. */
    private record StorageData(Tensor t, boolean floating) implements Data {
        private static final int CHUNK = 1 << 16;

        @Override
        public long size() {
            return (long) t.size() * (floating ? 4 : 8);
        }

        @Override
        public void writeTo(OutputStream out) throws IOException {
            ByteBuffer buf = le(CHUNK);
            int width = floating ? 4 : 8;
            FloatBuffer fb = buf.asFloatBuffer();
            LongBuffer lb = buf.asLongBuffer();
            for (int i = 0; i < t.size(); ) {
                int m = Math.min(t.size() - i, CHUNK / width);
                if (floating) {
                    fb.clear();
                    t.putFloats(i, m, fb); // half precision widened exactly
                } else {
                    lb.clear();
                    for (int k = i; k < i + m; k++) {
                        lb.put(t.getLong(k));
                    }
                }
                out.write(buf.array(), 0, m * width);
                i += m;
            }
        }
    }

    /**
     * Storages of one folder of the archive ({@code data/} or {@code constants/}): each tensor gets
     * its own storage, keyed 0, 1, ... in the order added, written as raw little-endian elements
     * (float32 for every floating tensor — half-precision weights are widened, exactly — and int64
     * for integer tensors).
     */
    static final class Storages {
        private final TorchArchive archive;
        private final String folder;
        private int next;

        Storages(TorchArchive archive, String folder) {
            this.archive = archive;
            this.folder = folder;
        }

        /** Adds {@code t}'s storage and returns the pickled tensor ({@code torch._utils._rebuild_tensor_v2}). */
        Object tensor(Tensor t) {
            String key = Integer.toString(next++);
            boolean floating = t.dtype().isFloating();
            int n = t.size();
            archive.add(folder + "/" + key, new StorageData(t, floating));
            int[] shape = t.shape();
            List<Object> size = new ArrayList<>();
            List<Object> stride = new ArrayList<>();
            long s = 1;
            Object[] strides = new Object[shape.length];
            for (int i = shape.length - 1; i >= 0; i--) {
                strides[i] = s;
                s *= shape[i];
            }
            for (int i = 0; i < shape.length; i++) {
                size.add((long) shape[i]);
                stride.add(strides[i]);
            }
            Pickle.PersistentId storage = new Pickle.PersistentId(Pickle.Tuple.of("storage",
                    new Pickle.Global("torch", floating ? "FloatStorage" : "LongStorage"), key, "cpu", (long) n));
            return new Pickle.Reduce(new Pickle.Global("torch._utils", "_rebuild_tensor_v2"),
                    Pickle.Tuple.of(storage, 0L, new Pickle.Tuple(size), new Pickle.Tuple(stride), false,
                            new Pickle.OrderedDict(new java.util.LinkedHashMap<>())));
        }
    }
}
