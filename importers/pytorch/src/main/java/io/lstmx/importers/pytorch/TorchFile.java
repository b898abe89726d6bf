package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.util.IoErrors;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A torch.save file opened for reading: its unpickled object and its storages, whose bytes are
 * read only when a tensor asks. Two layouts exist:
 * <ul>
 *   <li><b>zip</b> (PyTorch 1.6 and later): {@code <archive>/data.pkl} holds the object, each
 *       storage is the entry {@code <archive>/data/<key>} (persistent id
 *       {@code ('storage', storage_class, key, location, numel)}), {@code <archive>/version} and,
 *       from PyTorch 2.1, {@code <archive>/byteorder} ("little" or "big") beside them;</li>
 *   <li><b>legacy</b> (before 1.6, or {@code _use_new_zipfile_serialization=False}): five pickles in
 *       a row (torch's magic number, the protocol version 1001, a sys_info dict saying the byte
 *       order, the object with persistent ids {@code ('storage', storage_class, root_key, location,
 *       numel, view_metadata)} and, for classes of whole modules, {@code ('module', class, file,
 *       source)}, then the list of storage keys), followed by each storage in that order as an
 *       8-byte element count and its raw elements.</li>
 * </ul>
 * CUDA locations are ignored: everything is read on the CPU. Everything the file states is hostile
 * until checked: zip entry names must stay inside the archive, declared sizes are compared with the
 * file and with compression bounds before anything is inflated, storage keys are plain names, and a
 * storage must hold what its persistent id claims.
 */
final class TorchFile implements AutoCloseable {
    /** torch's magic number, the first pickle of a legacy file. */
    static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    /** The protocol version legacy files state after it. */
    static final long LEGACY_PROTOCOL = 1001;
    /** Largest data.pkl read: it holds structure only (tensors are in the storages); a large model's is a few MiB. */
    static final long MAX_PICKLE_BYTES = 64L << 20;
    /**
     * Largest compressed entry inflated: torch.save stores every entry uncompressed, so only an
     * archive zipped again has compressed entries, and one that inflates beyond this is taken for
     * a decompression bomb.
     */
    static final long MAX_INFLATED_BYTES = 256L << 20;
    /** Largest ratio of inflated to stored bytes believed for a compressed entry (deflate's limit is about 1032). */
    static final long MAX_DEFLATE_RATIO = 1100;
    /** Entries read at most from an archive's central directory. */
    static final int MAX_ENTRIES = 1 << 20;
    /** A storage key as torch writes them: digits, or a short name; never a path. */
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");

    private final Path path;
    /** The size of the file when it was opened: what entry reads are bounded against. */
    private final long fileSize;
    /** The unpickled object: a state_dict, a module, or whatever else was saved. */
    final Object root;
    /** One line about the container, e.g. "torch.save zip archive 'archive' (version 3, little-endian)". */
    final String container;
    private final ZipFile zip;
    private final String prefix;
    private final FileChannel channel;
    private final ByteOrder order;
    /** Storages met in persistent ids, by key. */
    private final Map<String, StorageRef> storages = new LinkedHashMap<>();
    /** Legacy: where each storage's elements start in the file. */
    private final Map<String, Long> legacyOffsets = new HashMap<>();
    /** Storage bytes read so far, by key. */
    private final Map<String, ByteBuffer> cache = new HashMap<>();

    private TorchFile(Path path, long fileSize, Object root, String container, ZipFile zip, String prefix, FileChannel channel,
                      ByteOrder order, Map<String, StorageRef> storages, Map<String, Long> legacyOffsets) {
        this.path = path;
        this.fileSize = fileSize;
        this.root = root;
        this.container = container;
        this.zip = zip;
        this.prefix = prefix;
        this.channel = channel;
        this.order = order;
        this.storages.putAll(storages);
        this.legacyOffsets.putAll(legacyOffsets);
    }

    /** Opens {@code path}, a torch.save file of either layout, and unpickles its object. */
    static TorchFile open(Path path) {
        byte[] head = new byte[4];
        long size;
        try {
            size = Files.size(path);
            try (InputStream in = Files.newInputStream(path)) {
                head = in.readNBytes(4);
            }
        } catch (NoSuchFileException e) {
            throw LstmxException.badInput(path + ": no such file");
        } catch (IOException e) {
            throw LstmxException.badInput(path + ": cannot read: " + IoErrors.describe(e));
        }
        if (size == 0) {
            throw LstmxException.badInput(path + ": the file is empty");
        }
        if (head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
            return openZip(path, size);
        }
        if (head.length >= 2 && (head[0] & 0xff) == 0x80) {
            return openLegacy(path, size);
        }
        throw LstmxException.badInput(path + ": not a torch.save file (neither a zip archive nor a pickle)");
    }

    // ---- zip

    private static TorchFile openZip(Path path, long fileSize) {
        ZipFile z;
        try {
            z = new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw LstmxException.badInput(path + ": not a readable zip archive: " + e.getMessage());
        } catch (IOException e) {
            throw LstmxException.badInput(path + ": cannot read: " + IoErrors.describe(e));
        }
        try {
            String pkl = null;
            Set<String> names = new HashSet<>();
            int count = 0;
            var it = z.entries();
            while (it.hasMoreElements()) {
                ZipEntry e = it.nextElement();
                if (++count > MAX_ENTRIES) {
                    throw LstmxException.badInput(path + ": more than " + MAX_ENTRIES + " zip entries");
                }
                String n = e.getName();
                checkEntryName(path, n);
                if (!names.add(n)) {
                    throw LstmxException.badInput(path + ": zip entry '" + n + "' appears twice (which one is meant is not clear)");
                }
                if (n.equals("data.pkl") || (n.endsWith("/data.pkl") && n.indexOf('/') == n.length() - "/data.pkl".length())) {
                    if (pkl != null) {
                        throw LstmxException.badInput(path + ": two data.pkl entries, '" + pkl + "' and '" + n + "'");
                    }
                    pkl = n;
                }
            }
            if (pkl == null) {
                throw LstmxException.badInput(path + ": a zip archive without <archive>/data.pkl, so no torch.save file");
            }
            String prefix = pkl.substring(0, pkl.length() - "data.pkl".length());
            ByteOrder order = ByteOrder.LITTLE_ENDIAN;
            String orderText = "little-endian";
            ZipEntry bo = z.getEntry(prefix + "byteorder");
            if (bo != null) {
                String s = new String(readEntry(path, z, bo, 16, fileSize), StandardCharsets.US_ASCII).strip();
                if (s.equals("big")) {
                    order = ByteOrder.BIG_ENDIAN;
                    orderText = "big-endian";
                } else if (!s.equals("little")) {
                    throw LstmxException.badInput(path + ": " + bo.getName() + " says '" + s + "', not 'little' or 'big'");
                }
            }
            String version = "";
            ZipEntry ve = z.getEntry(prefix + "version");
            if (ve != null) {
                version = new String(readEntry(path, z, ve, 16, fileSize), StandardCharsets.US_ASCII).strip();
                if (!version.matches("[0-9]{1,3}")) {
                    throw LstmxException.badInput(path + ": " + ve.getName() + " says '" + version + "', not a version number");
                }
            }
            byte[] data = readEntry(path, z, z.getEntry(pkl), MAX_PICKLE_BYTES, fileSize);
            Map<String, StorageRef> seen = new LinkedHashMap<>();
            String where = path + ": " + pkl;
            Object root = new Unpickler(PickleSource.of(data, where), pid -> zipStorage(where, pid, seen)).load();
            String archive = prefix.isEmpty() ? "" : " '" + prefix.substring(0, prefix.length() - 1) + "'";
            String container = "torch.save zip archive" + archive + " (" + (version.isEmpty() ? "" : "version " + version + ", ")
                    + orderText + ")";
            return new TorchFile(path, fileSize, root, container, z, prefix, null, order, seen, Map.of());
        } catch (RuntimeException e) {
            closeQuietly(z);
            throw e;
        }
    }

    /** Names that would leave the archive's folder if extracted are refused, although nothing is ever extracted. */
    static void checkEntryName(Path path, String n) {
        boolean bad = n.isEmpty() || n.startsWith("/") || n.startsWith("\\") || n.contains("\\") || n.indexOf('\0') >= 0
                || (n.length() > 1 && n.charAt(1) == ':');
        for (String part : n.split("/", -1)) {
            bad |= part.equals("..");
        }
        if (bad) {
            throw LstmxException.badInput(path + ": zip entry '" + n + "' points outside the archive (absolute, drive, backslash or '..' name)");
        }
    }

    /**
     * An entry's bytes, its declared size checked before anything is read: at most {@code max},
     * a stored entry no larger than the file, a compressed one within deflate's ratio.
     */
    private static byte[] readEntry(Path path, ZipFile z, ZipEntry e, long max, long fileSize) {
        long size = e.getSize();
        long stored = e.getCompressedSize();
        if (size < 0 || stored < 0) {
            throw LstmxException.badInput(path + ": zip entry '" + e.getName() + "' does not state its size");
        }
        if (size > max) {
            throw LstmxException.badInput(path + ": zip entry '" + e.getName() + "' declares " + size + " bytes, more than the "
                    + max + " lstmx reads for it");
        }
        if (e.getMethod() == ZipEntry.STORED ? size != stored || size > fileSize
                : size > stored * MAX_DEFLATE_RATIO + 1024 || size > MAX_INFLATED_BYTES) {
            throw LstmxException.badInput(path + ": zip entry '" + e.getName() + "' declares " + size + " bytes from " + stored
                    + " stored in a file of " + fileSize + " (a decompression bomb?)");
        }
        try (InputStream in = z.getInputStream(e)) {
            byte[] b = in.readNBytes((int) size);
            if (b.length != size || in.read() >= 0) {
                throw LstmxException.badInput(path + ": zip entry '" + e.getName() + "' holds " + (b.length != size ? b.length : "more than " + size)
                        + " bytes, but declares " + size);
            }
            return b;
        } catch (ZipException ex) {
            throw LstmxException.badInput(path + ": zip entry '" + e.getName() + "' is damaged: " + ex.getMessage());
        } catch (IOException ex) {
            throw LstmxException.badInput(path + ": cannot read zip entry '" + e.getName() + "': " + IoErrors.describe(ex));
        }
    }

    /** The zip layout's persistent id: ('storage', storage_class, key, location, numel). */
    private static StorageRef zipStorage(String where, Object pid, Map<String, StorageRef> seen) {
        if (!(pid instanceof Py.Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))) {
            throw LstmxException.badInput("persistent id " + AllowList.describe(pid) + (pid instanceof Py.Tuple t2 ? " of " + t2.size() : "")
                    + ", not ('storage', class, key, location, numel)");
        }
        return storage(t, seen, 0);
    }

    /** Checks and records the storage a persistent id names; a key met again must say the same. */
    private static StorageRef storage(Py.Tuple t, Map<String, StorageRef> seen, long base) {
        if (!(t.get(1) instanceof Py.Global cls)) {
            throw LstmxException.badInput("storage class is " + AllowList.describe(t.get(1)) + ", not a global");
        }
        StorageType type = StorageType.ofStorageClass(cls);
        if (type == null) {
            throw LstmxException.unsupported("storage class '" + cls.qualified() + "' (lstmx reads float, double, half, bfloat16,"
                    + " integer and bool storages)");
        }
        if (!(t.get(2) instanceof String key) || !KEY.matcher(key).matches()) {
            throw LstmxException.badInput("storage key " + AllowList.describe(t.get(2)) + " is not a plain name (letters, digits, _ . -)");
        }
        if (!(t.get(3) instanceof String location)) {
            throw LstmxException.badInput("storage '" + key + "' location is " + AllowList.describe(t.get(3)) + ", not a str");
        }
        if (!(t.get(4) instanceof Long numel) || numel < 0) {
            throw LstmxException.badInput("storage '" + key + "' size is " + AllowList.describe(t.get(4)) + ", not a non-negative int");
        }
        StorageRef s = new StorageRef(key, type, location, base, numel);
        StorageRef before = seen.putIfAbsent(key, s);
        if (before != null && (before.type() != type || before.numel() != numel)) {
            throw LstmxException.badInput("storage '" + key + "' is named twice, as " + before.numel() + " " + before.type().dtypeName()
                    + " and as " + numel + " " + type.dtypeName());
        }
        return before != null ? before : s;
    }

    // ---- legacy

    private static TorchFile openLegacy(Path path, long fileSize) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw LstmxException.badInput(path + ": cannot read: " + IoErrors.describe(e));
        }
        try {
            String where = path.toString();
            PickleSource src = PickleSource.of(ch, 0, fileSize, where);
            Unpickler.Host none = pid -> {
                throw LstmxException.badInput("a persistent id before torch's main pickle");
            };
            Object magic = new Unpickler(src, none).load();
            if (!MAGIC.equals(magic instanceof Long l ? BigInteger.valueOf(l) : magic)) {
                throw LstmxException.badInput(path + ": a pickle, but not a torch.save file: it starts with a "
                        + Py.typeName(magic) + ", not torch's magic number (a plain pickle.dump file?)");
            }
            Object protocol = new Unpickler(src, none).load();
            if (!Long.valueOf(LEGACY_PROTOCOL).equals(protocol)) {
                throw LstmxException.unsupported(path + ": legacy torch.save protocol " + AllowList.describe(protocol)
                        + " (lstmx reads " + LEGACY_PROTOCOL + ")");
            }
            Object sysInfo = new Unpickler(src, none).load();
            ByteOrder order = ByteOrder.LITTLE_ENDIAN;
            if (sysInfo instanceof Py.Dict d && Boolean.FALSE.equals(d.map.get("little_endian"))) {
                order = ByteOrder.BIG_ENDIAN;
            } else if (!(sysInfo instanceof Py.Dict)) {
                throw LstmxException.badInput(path + ": the legacy sys_info pickle is a " + Py.typeName(sysInfo) + ", not a dict");
            }
            Map<String, StorageRef> seen = new LinkedHashMap<>();
            Object root = new Unpickler(src, pid -> legacyPersistent(pid, seen)).load();
            Object keys = new Unpickler(src, none).load();
            if (!(keys instanceof Py.PyList list)) {
                throw LstmxException.badInput(path + ": the legacy storage key list is a " + Py.typeName(keys) + ", not a list");
            }
            Map<String, Long> offsets = new HashMap<>();
            ByteBuffer eight = ByteBuffer.allocate(8).order(order);
            for (Object k : list.items) {
                StorageRef s = k instanceof String key ? seen.get(key) : null;
                if (s == null) {
                    throw LstmxException.badInput(path + ": storage key " + AllowList.describe(k) + " in the key list is no storage the pickle named");
                }
                if (offsets.containsKey(s.key())) {
                    throw LstmxException.badInput(path + ": storage '" + s.key() + "' is listed twice");
                }
                long at = src.position();
                eight.clear();
                eight.put(src.read(8));
                long numel = eight.getLong(0);
                if (numel != s.numel()) {
                    throw LstmxException.badInput(path + ": storage '" + s.key() + "' at byte " + at + " holds " + numel
                            + " elements, but the pickle says " + s.numel());
                }
                long bytes;
                try {
                    bytes = Math.multiplyExact(numel, s.type().size);
                } catch (ArithmeticException e) {
                    bytes = Long.MAX_VALUE;
                }
                if (bytes > src.remaining()) {
                    throw LstmxException.badInput(path + ": storage '" + s.key() + "' at byte " + at + " needs " + bytes + " bytes, "
                            + src.remaining() + " remain (truncated file?)");
                }
                offsets.put(s.key(), src.position());
                src.skip(bytes);
            }
            for (StorageRef s : seen.values()) {
                if (!offsets.containsKey(s.key())) {
                    throw LstmxException.badInput(path + ": storage '" + s.key() + "' is used but missing from the key list");
                }
            }
            String container = "legacy torch.save file (protocol " + LEGACY_PROTOCOL + ", "
                    + (order == ByteOrder.LITTLE_ENDIAN ? "little" : "big") + "-endian)";
            return new TorchFile(path, fileSize, root, container, null, "", ch, order, seen, offsets);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    /**
     * The legacy layout's persistent ids: ('storage', class, root_key, location, root_numel,
     * view_metadata) with view_metadata None or (view_key, offset, numel) in elements; and
     * ('module', class, source_file, source) for the class of a whole pickled module, which stands
     * for the class's name only (its source is never looked at).
     */
    private static Object legacyPersistent(Object pid, Map<String, StorageRef> seen) {
        if (pid instanceof Py.Tuple t && t.size() == 4 && "module".equals(t.get(0))) {
            if (!(t.get(1) instanceof Py.Global cls)) {
                throw LstmxException.badInput("module persistent id of a " + Py.typeName(t.get(1)) + ", not a class");
            }
            return cls;
        }
        if (!(pid instanceof Py.Tuple t) || t.size() != 6 || !"storage".equals(t.get(0))) {
            throw LstmxException.badInput("persistent id " + AllowList.describe(pid) + (pid instanceof Py.Tuple t2 ? " of " + t2.size() : "")
                    + ", not ('storage', class, key, location, numel, view) or ('module', class, file, source)");
        }
        Object view = t.get(5);
        if (view == null) {
            return storage(new Py.Tuple(t.items.subList(0, 5)), seen, 0);
        }
        if (!(view instanceof Py.Tuple v) || v.size() != 3 || !(v.get(1) instanceof Long offset) || !(v.get(2) instanceof Long numel)
                || offset < 0 || numel < 0 || !(t.get(4) instanceof Long rootNumel) || rootNumel < 0) {
            throw LstmxException.badInput("storage view metadata " + AllowList.describe(view) + ", not (key, offset, numel)");
        }
        if (offset > rootNumel || numel > rootNumel - offset) {
            throw LstmxException.badInput("storage view of " + numel + " elements at " + offset + " of a storage of " + rootNumel);
        }
        // The root is recorded with its own size; the view is what the tensor sees.
        StorageRef root = storage(new Py.Tuple(t.items.subList(0, 5)), seen, 0);
        return new StorageRef(root.key(), root.type(), root.location(), offset, numel);
    }

    // ---- storages

    /** A storage's bytes, in the file's byte order, read once per key. */
    ByteBuffer bytes(StorageRef s) {
        ByteBuffer b = cache.get(s.key());
        if (b != null) {
            return b;
        }
        StorageRef root = storages.get(s.key());
        if (root == null) {
            throw LstmxException.internal(path + ": storage '" + s.key() + "' was never named");
        }
        long n = Storages.bytes(this, root, root.numel());
        if (n > Integer.MAX_VALUE - 16) {
            throw LstmxException.unsupported(path + ": storage '" + s.key() + "' of " + n + " bytes (lstmx reads storages below 2 GiB)");
        }
        byte[] data;
        if (zip != null) {
            // TorchScript's constants.pkl names its storages under constants/ (see constants()).
            String name = prefix + (s.key().startsWith(CONSTANTS) ? s.key() : "data/" + s.key());
            ZipEntry e = zip.getEntry(name);
            if (e == null) {
                throw LstmxException.badInput(path + ": storage '" + s.key() + "' has no zip entry '" + name + "'");
            }
            if (e.getSize() < n) {
                throw LstmxException.badInput(path + ": zip entry '" + name + "' holds " + e.getSize() + " bytes, but storage '" + s.key()
                        + "' is " + root.numel() + " " + root.type().dtypeName() + " elements (" + n + " bytes)");
            }
            data = readEntry(path, zip, e, Integer.MAX_VALUE - 16, fileSize);
        } else {
            long at = legacyOffsets.get(s.key());
            data = new byte[(int) n];
            ByteBuffer dst = ByteBuffer.wrap(data);
            try {
                while (dst.hasRemaining()) {
                    if (channel.read(dst, at + dst.position()) < 0) {
                        throw LstmxException.badInput(path + ": the file ends inside storage '" + s.key() + "'");
                    }
                }
            } catch (IOException ex) {
                throw LstmxException.badInput(path + ": cannot read: " + IoErrors.describe(ex));
            }
        }
        b = ByteBuffer.wrap(data).order(order).asReadOnlyBuffer().order(order);
        cache.put(s.key(), b);
        return b;
    }

    /** Key prefix of the storages constants.pkl names (never a data/ key: those have no '/'). */
    static final String CONSTANTS = "constants/";

    /** The names of the archive's entries under {@code folder} (relative to the archive's folder), in zip order. */
    List<String> entries(String folder) {
        List<String> out = new ArrayList<>();
        if (zip == null) {
            return out;
        }
        var it = zip.entries();
        while (it.hasMoreElements()) {
            String n = it.nextElement().getName();
            if (n.startsWith(prefix + folder)) {
                out.add(n.substring(prefix.length()));
            }
        }
        return out;
    }

    /** The bytes of entry {@code name} (relative to the archive's folder), at most {@code max}; null when absent. */
    byte[] entry(String name, long max) {
        if (zip == null) {
            return null;
        }
        ZipEntry e = zip.getEntry(prefix + name);
        if (e == null) {
            return null;
        }
        return readEntry(path, zip, e, max, fileSize);
    }

    /**
     * A TorchScript archive's constants.pkl (a tuple of tensors and values the code names
     * CONSTANTS.c0, ...), its storages read from {@code constants/<key>}; an empty tuple when absent.
     */
    Object constants() {
        byte[] data = entry("constants.pkl", MAX_PICKLE_BYTES);
        if (data == null) {
            return new Py.Tuple(List.of());
        }
        String where = path + ": " + prefix + "constants.pkl";
        Map<String, StorageRef> seen = new LinkedHashMap<>();
        Object root = new Unpickler(PickleSource.of(data, where), pid -> {
            StorageRef r = zipStorage(where, pid, seen);
            StorageRef c = new StorageRef(CONSTANTS + r.key(), r.type(), r.location(), r.base(), r.numel());
            StorageRef before = storages.putIfAbsent(c.key(), c);
            return before != null ? before : c;
        }).load();
        return root;
    }

    /** The root storage of key {@code key} as the pickle named it. */
    StorageRef storage(String key) {
        return storages.get(key);
    }

    Path path() {
        return path;
    }

    @Override
    public void close() {
        closeQuietly(zip);
        closeQuietly(channel);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // Nothing was written; a failing close of a file only read loses nothing.
        }
    }

    @Override
    public String toString() {
        return container.toLowerCase(Locale.ROOT);
    }
}
