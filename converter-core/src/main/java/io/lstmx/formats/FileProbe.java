package io.lstmx.formats;

import io.lstmx.errors.LstmxException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * What readers may look at to recognise a file: its name, whether it is a folder, the first bytes
 * and, for a zip archive, the names of its first entries. Everything is read once, lazily and in
 * bounded amounts, so that asking every reader costs no more than asking one. Special files (FIFOs,
 * devices) are never opened: they could block or never end.
 */
public final class FileProbe {
    /** Bytes of the head read for recognition. */
    public static final int HEAD_BYTES = 64;
    /** Zip entry names read at most (recognition needs only the first few). */
    public static final int MAX_ZIP_NAMES = 4096;

    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};

    private final Path path;
    private byte[] head;
    private List<String> zipNames;

    /**
     * A probe of {@code path}; nothing is read until a reader asks.
     *
     * @param path the file or folder to recognise
     */
    public FileProbe(Path path) {
        this.path = path;
    }

    /**
     * The path probed.
     *
     * @return the path given to the constructor
     */
    public Path path() {
        return path;
    }

    /**
     * The file name in lower case.
     *
     * @return the last name of the path, lower case; "" for a root
     */
    public String fileName() {
        Path n = path.getFileName();
        return n == null ? "" : n.toString().toLowerCase(Locale.ROOT);
    }

    /**
     * The extension in lower case without the dot.
     *
     * @return e.g. "onnx"; "" when the name has none (or only a leading dot)
     */
    public String extension() {
        String n = fileName();
        int dot = n.lastIndexOf('.');
        return dot <= 0 ? "" : n.substring(dot + 1);
    }

    /**
     * Whether the path is a folder (links followed).
     *
     * @return true for a folder
     */
    public boolean isDirectory() {
        return Files.isDirectory(path);
    }

    /**
     * Whether the path is an ordinary file (not a folder, FIFO, socket or device). Only ordinary
     * files are ever opened.
     *
     * @return true for a regular file
     */
    public boolean isRegularFile() {
        return Files.isRegularFile(path);
    }

    /**
     * Whether {@code name} exists as a regular file inside this folder (a link is not followed).
     *
     * @param name a file name, e.g. "saved_model.pb"
     * @return false also when the path is not a folder
     */
    public boolean hasChild(String name) {
        return isDirectory() && Files.isRegularFile(path.resolve(name), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * The first bytes of the file, read once.
     *
     * @return a copy of the first {@link #HEAD_BYTES} bytes (fewer for a short file; none for
     *         anything but a regular file)
     * @throws io.lstmx.errors.LstmxException BAD_INPUT when the file cannot be read
     */
    public byte[] head() {
        if (head == null) {
            if (!isRegularFile()) {
                head = new byte[0];
            } else {
                try (InputStream in = Files.newInputStream(path)) {
                    head = in.readNBytes(HEAD_BYTES);
                } catch (IOException e) {
                    throw LstmxException.badInput(path + ": cannot read: " + io.lstmx.util.IoErrors.describe(e));
                }
            }
        }
        return head.clone();
    }

    /**
     * Whether the head starts with {@code prefix}.
     *
     * @param prefix a signature, at most {@link #HEAD_BYTES} long
     * @return true when the file's first bytes are {@code prefix}
     */
    public boolean startsWith(byte[] prefix) {
        byte[] h = head();
        return h.length >= prefix.length && Arrays.equals(Arrays.copyOf(h, prefix.length), prefix);
    }

    /**
     * Whether the file starts with a zip local file header ("PK\3\4"), as PyTorch and Keras 3
     * archives do.
     *
     * @return true for what looks like a zip archive
     */
    public boolean isZip() {
        return startsWith(ZIP_MAGIC);
    }

    /**
     * Names of the zip's entries, read once from the central directory (nothing is extracted).
     *
     * @return at most {@link #MAX_ZIP_NAMES} names in archive order, e.g. "archive/data.pkl"; empty
     *         when the file is no readable zip
     */
    public List<String> zipEntryNames() {
        if (zipNames == null) {
            List<String> names = new ArrayList<>();
            if (isZip()) {
                try (ZipFile z = new ZipFile(path.toFile())) {
                    var it = z.entries();
                    while (it.hasMoreElements() && names.size() < MAX_ZIP_NAMES) {
                        ZipEntry e = it.nextElement();
                        names.add(e.getName());
                    }
                } catch (IOException | RuntimeException e) {
                    names.clear(); // not a readable zip: no names, the readers decide from the rest
                }
            }
            zipNames = List.copyOf(names);
        }
        return zipNames;
    }
}
