package io.lstmx.importers.tensorflow;

import com.google.protobuf.InvalidProtocolBufferException;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;
import org.tensorflow.proto.BundleEntryProto;
import org.tensorflow.proto.BundleHeaderProto;
import org.tensorflow.proto.DataType;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A TensorFlow tensor bundle (a checkpoint: {@code variables.index} and
 * {@code variables.data-NNNNN-of-MMMMM}). The index is an SSTable (LevelDB's table format) mapping
 * each checkpoint key to a {@link BundleEntryProto} (dtype, shape, shard, offset, size); the empty
 * key holds the {@link BundleHeaderProto}. The table is: data blocks of prefix-compressed entries
 * (varint shared, non-shared and value lengths, the key's new bytes, the value) followed by
 * restart offsets and their count, each block followed by a 5-byte trailer (compression type and
 * CRC); an index block whose entries point at the data blocks; and a 48-byte footer (the
 * metaindex and index block handles, padding, the magic number). Only uncompressed blocks are read
 * (TensorFlow writes bundles without compression); a Snappy block is refused precisely.
 * Every length, offset and count is checked against the file before it is used.
 */
final class TensorBundle {
    static final long MAGIC = 0xdb4775248b80fb57L;
    static final int FOOTER = 48;
    /** Largest index file read whole. */
    static final long MAX_INDEX_BYTES = 64L << 20;

    private final Path index;
    private final Path prefix;
    private final int shards;
    final Map<String, BundleEntryProto> entries = new LinkedHashMap<>();

    private TensorBundle(Path index, Path prefix, int shards) {
        this.index = index;
        this.prefix = prefix;
        this.shards = shards;
    }

    /** Reads {@code prefix.index}; data shards are opened only when a tensor is read. */
    static TensorBundle open(Path prefix) {
        Path index = prefix.resolveSibling(prefix.getFileName() + ".index");
        byte[] b;
        try {
            long size = Files.size(index);
            if (size > MAX_INDEX_BYTES) {
                throw LstmxException.unsupported(index + ": checkpoint index of " + size + " bytes is over the " + MAX_INDEX_BYTES + "-byte limit");
            }
            b = Files.readAllBytes(index);
        } catch (IOException e) {
            throw LstmxException.badInput(index + ": cannot read the checkpoint index (" + e.getMessage() + ")");
        }
        Map<String, byte[]> table = readTable(index, b);
        byte[] head = table.remove("");
        if (head == null) {
            throw LstmxException.badInput(index + ": checkpoint index has no header entry");
        }
        BundleHeaderProto header;
        try {
            header = BundleHeaderProto.parseFrom(head);
        } catch (InvalidProtocolBufferException e) {
            throw LstmxException.badInput(index + ": damaged checkpoint header (" + e.getMessage() + ")");
        }
        if (header.getNumShards() < 1 || header.getNumShards() > 100_000) {
            throw LstmxException.badInput(index + ": checkpoint header gives " + header.getNumShards() + " shards");
        }
        if (header.getEndianness() != BundleHeaderProto.Endianness.LITTLE) {
            throw LstmxException.unsupported(index + ": big-endian checkpoints are not read");
        }
        TensorBundle bundle = new TensorBundle(index, prefix, header.getNumShards());
        for (Map.Entry<String, byte[]> e : table.entrySet()) {
            try {
                bundle.entries.put(e.getKey(), BundleEntryProto.parseFrom(e.getValue()));
            } catch (InvalidProtocolBufferException x) {
                throw LstmxException.badInput(index + ": damaged entry for key '" + e.getKey() + "' (" + x.getMessage() + ")");
            }
        }
        return bundle;
    }

    /** Whether the bundle holds {@code key}. */
    boolean has(String key) {
        return entries.containsKey(key);
    }

    /** Reads the tensor stored under {@code key} (numeric dtypes). */
    Tensor tensor(String key) {
        BundleEntryProto e = entries.get(key);
        if (e == null) {
            throw LstmxException.badInput(index + ": the checkpoint has no key '" + key + "'");
        }
        if (e.getSlicesCount() > 0) {
            throw LstmxException.unsupported(index + ": key '" + key + "' is stored in slices (partitioned variable)");
        }
        int[] shape = TfTensors.shape(e.getShape(), index + ": key '" + key + "'");
        int n = Tensor.elementCount(shape);
        int width = TfTensors.byteWidth(e.getDtype());
        if (width == 0) {
            throw LstmxException.unsupported(index + ": key '" + key + "' has dtype " + e.getDtype() + ", lstmx reads numeric tensors");
        }
        long expect = (long) n * width;
        if (e.getSize() != expect) {
            throw LstmxException.badInput(index + ": key '" + key + "' holds " + e.getSize() + " bytes, its shape and dtype need " + expect);
        }
        byte[] raw = read(key, e);
        return TfTensors.fromBytes(e.getDtype(), shape, ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN), index + ": key '" + key + "'");
    }

    /** The bytes of a scalar DT_STRING entry (the object graph), stored as a varint length, a CRC, then the bytes. */
    byte[] scalarString(String key) {
        BundleEntryProto e = entries.get(key);
        if (e == null || e.getDtype() != DataType.DT_STRING || e.getShape().getDimCount() != 0) {
            return null;
        }
        byte[] raw = read(key, e);
        int[] pos = {0};
        long len = Varint.read64(raw, pos, raw.length, index + ": key '" + key + "'");
        int start = pos[0] + 4;
        if (len < 0 || start > raw.length || len > raw.length - start) {
            throw LstmxException.badInput(index + ": key '" + key + "' string of " + len + " bytes overruns its " + raw.length + " bytes");
        }
        byte[] out = new byte[(int) len];
        System.arraycopy(raw, start, out, 0, out.length);
        return out;
    }

    private byte[] read(String key, BundleEntryProto e) {
        if (e.getShardId() < 0 || e.getShardId() >= shards) {
            throw LstmxException.badInput(index + ": key '" + key + "' names shard " + e.getShardId() + " of " + shards);
        }
        Path shard = prefix.resolveSibling(prefix.getFileName() + String.format(".data-%05d-of-%05d", e.getShardId(), shards));
        if (!Files.isRegularFile(shard)) {
            // Opening a FIFO for reading waits for a writer: a shard that is one would hang the read.
            throw LstmxException.badInput(shard + ": " + (Files.exists(shard) ? "not a regular file (a FIFO, device or folder is never opened)"
                    : "missing") + "; key '" + key + "' is stored there");
        }
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "r")) {
            long length = f.length();
            if (e.getOffset() < 0 || e.getSize() < 0 || e.getOffset() > length || e.getSize() > length - e.getOffset()) {
                throw LstmxException.badInput(shard + ": key '" + key + "' at offset " + e.getOffset() + ", " + e.getSize()
                        + " bytes, lies beyond the file's " + length + " bytes");
            }
            if (e.getSize() > Integer.MAX_VALUE - 16) {
                throw LstmxException.unsupported(shard + ": key '" + key + "' of " + e.getSize() + " bytes is too large");
            }
            io.lstmx.util.Heap.require(e.getSize(), "checkpoint tensor '" + key + "'");
            byte[] b = new byte[(int) e.getSize()];
            f.seek(e.getOffset());
            f.readFully(b);
            return b;
        } catch (IOException x) {
            throw LstmxException.badInput(shard + ": cannot read key '" + key + "' (" + x.getMessage() + ")");
        }
    }

    /** Every key and value of an SSTable held in {@code b}. */
    static Map<String, byte[]> readTable(Path file, byte[] b) {
        String where = file.toString();
        if (b.length < FOOTER) {
            throw LstmxException.badInput(where + ": " + b.length + " bytes, too short for a checkpoint index");
        }
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (bb.getLong(b.length - 8) != MAGIC) {
            throw LstmxException.badInput(where + ": not a checkpoint index (no table magic number)");
        }
        int[] pos = {b.length - FOOTER};
        int end = b.length - 8;
        Varint.read64(b, pos, end, where + " footer"); // metaindex handle, unused
        Varint.read64(b, pos, end, where + " footer");
        long indexOffset = Varint.read64(b, pos, end, where + " footer");
        long indexSize = Varint.read64(b, pos, end, where + " footer");
        byte[] indexBlock = block(b, indexOffset, indexSize, where, "index block");
        Map<String, byte[]> out = new LinkedHashMap<>();
        Map<String, byte[]> handles = new LinkedHashMap<>();
        entries(indexBlock, where + " index block", handles);
        for (Map.Entry<String, byte[]> h : handles.entrySet()) {
            byte[] v = h.getValue();
            int[] p = {0};
            String what = where + " index entry '" + io.lstmx.util.SafeText.name(h.getKey()) + "'";
            long off = Varint.read64(v, p, v.length, what);
            long size = Varint.read64(v, p, v.length, what);
            entries(block(b, off, size, where, "data block at offset " + off), where + " data block at offset " + off, out);
        }
        return out;
    }

    private static byte[] block(byte[] b, long offset, long size, String where, String what) {
        if (offset < 0 || size < 0 || offset > b.length || size > b.length - offset - 5) {
            throw LstmxException.badInput(where + ": " + what + " (offset " + offset + ", " + size + " bytes) lies beyond the file's "
                    + b.length + " bytes");
        }
        int type = b[(int) (offset + size)] & 0xff;
        if (type == 1) {
            throw LstmxException.unsupported(where + ": " + what + " is Snappy-compressed; lstmx reads uncompressed checkpoint indexes");
        }
        if (type != 0) {
            throw LstmxException.badInput(where + ": " + what + " has unknown compression type " + type);
        }
        byte[] out = new byte[(int) size];
        System.arraycopy(b, (int) offset, out, 0, out.length);
        return out;
    }

    /** Adds a block's entries (prefix-compressed keys, restart array at the end) to {@code out}. */
    static void entries(byte[] blk, String where, Map<String, byte[]> out) {
        if (blk.length < 4) {
            throw LstmxException.badInput(where + ": block of " + blk.length + " bytes has no restart count");
        }
        long restarts = ByteBuffer.wrap(blk).order(ByteOrder.LITTLE_ENDIAN).getInt(blk.length - 4) & 0xffffffffL;
        long limit = blk.length - 4 - restarts * 4;
        if (restarts > blk.length / 4 || limit < 0) {
            throw LstmxException.badInput(where + ": " + restarts + " restart points do not fit in a block of " + blk.length + " bytes");
        }
        int[] pos = {0};
        byte[] key = new byte[0];
        while (pos[0] < limit) {
            long shared = Varint.read64(blk, pos, (int) limit, where);
            long unshared = Varint.read64(blk, pos, (int) limit, where);
            long vlen = Varint.read64(blk, pos, (int) limit, where);
            if (shared > key.length || unshared > limit - pos[0] || vlen > limit - pos[0] - unshared) {
                throw LstmxException.badInput(where + ": entry at byte " + pos[0] + " (shared " + shared + ", new " + unshared
                        + ", value " + vlen + " bytes) overruns the block");
            }
            byte[] k = new byte[(int) (shared + unshared)];
            System.arraycopy(key, 0, k, 0, (int) shared);
            System.arraycopy(blk, pos[0], k, (int) shared, (int) unshared);
            pos[0] += (int) unshared;
            byte[] v = new byte[(int) vlen];
            System.arraycopy(blk, pos[0], v, 0, v.length);
            pos[0] += (int) vlen;
            key = k;
            out.put(new String(k, StandardCharsets.UTF_8), v);
        }
    }

    /** Base-128 varints as protobuf and LevelDB write them. */
    static final class Varint {
        static long read64(byte[] b, int[] pos, int end, String where) {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos[0] >= end) {
                    throw LstmxException.badInput(where + ": varint cut short at byte " + pos[0]);
                }
                int x = b[pos[0]++] & 0xff;
                v |= (long) (x & 0x7f) << shift;
                if ((x & 0x80) == 0) {
                    return v;
                }
            }
            throw LstmxException.badInput(where + ": varint longer than 10 bytes at byte " + pos[0]);
        }
    }
}
