package io.lstmx.formats;

import io.lstmx.errors.LstmxException;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * The one place that answers every question about formats: which are present, what a name or an
 * extension means, what format a file is in, who reads and who writes it. Readers and writers come
 * from {@link ServiceLoader}; {@link #standard()} is the registry of the class path.
 */
public final class FormatRegistry {
    private static volatile FormatRegistry standard;

    private final List<FormatReader> readers;
    private final List<FormatWriter> writers;

    /**
     * A registry over the given plug-ins, asked in list order (tests, or applications that pick
     * their plug-ins; the class path's registry is {@link #standard()}).
     *
     * @param readers the readers, at most one per format
     * @param writers the writers, at most one per format
     * @throws io.lstmx.errors.LstmxException INTERNAL when two plug-ins claim one format
     */
    public FormatRegistry(List<? extends FormatReader> readers, List<? extends FormatWriter> writers) {
        this.readers = List.copyOf(readers);
        this.writers = List.copyOf(writers);
        checkUnique(this.readers.stream().map(r -> r.format().id()).toList(), "readers");
        checkUnique(this.writers.stream().map(w -> w.format().id()).toList(), "writers");
    }

    /**
     * The registry of the plug-ins on the class path (found once, then kept), in
     * {@link Format#KNOWN}'s order.
     *
     * @return the shared registry
     */
    public static FormatRegistry standard() {
        FormatRegistry r = standard;
        if (r == null) {
            synchronized (FormatRegistry.class) {
                r = standard;
                if (r == null) {
                    ClassLoader cl = FormatRegistry.class.getClassLoader();
                    List<FormatReader> rs = new ArrayList<>();
                    ServiceLoader.load(FormatReader.class, cl).forEach(rs::add);
                    List<FormatWriter> ws = new ArrayList<>();
                    ServiceLoader.load(FormatWriter.class, cl).forEach(ws::add);
                    rs.sort((a, b) -> Integer.compare(rank(a.format()), rank(b.format())));
                    ws.sort((a, b) -> Integer.compare(rank(a.format()), rank(b.format())));
                    r = new FormatRegistry(rs, ws);
                    standard = r;
                }
            }
        }
        return r;
    }

    /** Known formats first, in {@link Format#KNOWN}'s order (which settles shared extensions), others after. */
    private static int rank(Format f) {
        int i = Format.KNOWN.indexOf(f);
        return i < 0 ? Format.KNOWN.size() : i;
    }

    private static void checkUnique(List<String> ids, String what) {
        if (ids.stream().distinct().count() != ids.size()) {
            throw LstmxException.internal("two format " + what + " on the class path claim the same format: " + ids);
        }
    }

    /**
     * The readers, in the order they are asked.
     *
     * @return an unmodifiable list, placeholders included
     */
    public List<FormatReader> readers() {
        return readers;
    }

    /**
     * The writers, in the order they are chosen among for a destination.
     *
     * @return an unmodifiable list, placeholders included
     */
    public List<FormatWriter> writers() {
        return writers;
    }

    /**
     * Formats that have a reader or a writer present (available or not), readers' order first.
     *
     * @return an unmodifiable list without duplicates
     */
    public List<Format> formats() {
        Map<String, Format> m = new LinkedHashMap<>();
        readers.forEach(r -> m.putIfAbsent(r.format().id(), r.format()));
        writers.forEach(w -> m.putIfAbsent(w.format().id(), w.format()));
        return List.copyOf(m.values());
    }

    /**
     * The reader of {@code format}, available or not.
     *
     * @param format the format to read
     * @return empty when no plug-in reads it
     */
    public Optional<FormatReader> reader(Format format) {
        return readers.stream().filter(r -> r.format().equals(format)).findFirst();
    }

    /**
     * The writer of {@code format}, available or not.
     *
     * @param format the format to write
     * @return empty when no plug-in writes it
     */
    public Optional<FormatWriter> writer(Format format) {
        return writers.stream().filter(w -> w.format().equals(format)).findFirst();
    }

    /**
     * Whether {@code format} can be read now.
     *
     * @param format the format to read
     * @return true when a reader is present and available
     */
    public boolean canRead(Format format) {
        return reader(format).map(FormatReader::available).orElse(false);
    }

    /**
     * Whether {@code format} can be written now.
     *
     * @param format the format to write
     * @return true when a writer is present and available
     */
    public boolean canWrite(Format format) {
        return writer(format).map(FormatWriter::available).orElse(false);
    }

    /**
     * The formats that can be read now, for messages.
     *
     * @return their ids separated by commas, e.g. "onnx"; "none" when there are none
     */
    public String readable() {
        return ids(readers.stream().filter(FormatReader::available).map(FormatReader::format).toList());
    }

    /**
     * The formats that can be written now, for messages.
     *
     * @return their ids separated by commas; "none" when there are none
     */
    public String writable() {
        return ids(writers.stream().filter(FormatWriter::available).map(FormatWriter::format).toList());
    }

    private static String ids(List<Format> fs) {
        return fs.isEmpty() ? "none" : fs.stream().map(Format::id).collect(Collectors.joining(", "));
    }

    /**
     * The format called {@code name} (its id or an alias, any case) among the present ones and the
     * known ones. An unknown name is BAD_INPUT listing the formats present.
     *
     * @param name e.g. "onnx", "PyTorch", "tf"; surrounding blanks are ignored
     * @return the format, which may have no plug-in present (see {@link #reader}, {@link #writer})
     */
    public Format format(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (Format f : formats()) {
            if (f.answersTo(n)) {
                return f;
            }
        }
        for (Format f : Format.KNOWN) {
            if (f.answersTo(n)) {
                return f;
            }
        }
        throw LstmxException.badInput("unknown format '" + name + "'; formats present: " + describe(formats()));
    }

    private static String describe(List<Format> fs) {
        if (fs.isEmpty()) {
            return "none (no format plug-in on the class path)";
        }
        return fs.stream().map(f -> f.aliases().isEmpty() ? f.id() : f.id() + " (also " + String.join(", ", f.aliases()) + ")")
                .collect(Collectors.joining(", "));
    }

    /**
     * The reader for {@code format}, refusing with UNSUPPORTED when none is present or it is not
     * available yet; {@code path} names the file in the message.
     *
     * @param format the format to read
     * @param path   the file to be read, for the message
     * @return an available reader
     */
    public FormatReader requireReader(Format format, Path path) {
        FormatReader r = reader(format).orElseThrow(() -> LstmxException.unsupported(path + ": no reader for "
                + format.id() + " on the class path; formats read: " + readable()));
        if (!r.available()) {
            throw LstmxException.unsupported(path + ": reading " + format.id() + " is not available yet; lstmx reads " + readable());
        }
        return r;
    }

    /**
     * The writer for {@code format}, refusing with UNSUPPORTED when none is present or it is not
     * available yet; {@code path} names the file in the message.
     *
     * @param format the format to write
     * @param path   the destination, for the message
     * @return an available writer
     */
    public FormatWriter requireWriter(Format format, Path path) {
        FormatWriter w = writer(format).orElseThrow(() -> LstmxException.unsupported(path + ": no writer for "
                + format.id() + " on the class path; formats written: " + writable()));
        if (!w.available()) {
            throw LstmxException.unsupported(path + ": writing " + format.id() + " is not available yet; lstmx writes " + writable());
        }
        return w;
    }

    /**
     * The format of the file or folder at {@code path}, asking every reader (available or not):
     * content beats name; among equals, the earlier reader wins. Unrecognised is BAD_INPUT listing
     * the formats present. A FIFO, socket or device is refused without being opened.
     *
     * @param path a model file or folder
     * @return the format of the reader that recognised it best (its reader may be a placeholder)
     */
    public Format detect(Path path) {
        if (!Files.exists(path)) {
            throw LstmxException.badInput(path + ": no such file or directory");
        }
        if (!Files.isDirectory(path) && !Files.isRegularFile(path)) {
            throw LstmxException.badInput(path + ": not a regular file or folder (a FIFO, socket or device is never read);"
                    + " formats present: " + describe(formats()));
        }
        FileProbe probe = new FileProbe(path);
        Format best = null;
        Recognition bestHow = Recognition.NO;
        for (FormatReader r : readers) {
            Recognition how = r.recognise(probe);
            if (how.compareTo(bestHow) > 0) {
                best = r.format();
                bestHow = how;
            }
        }
        if (best == null) {
            throw LstmxException.badInput(path + (probe.isDirectory() ? ": is a folder lstmx cannot read as a model" : "")
                    + ": cannot tell the model format from the name or content; give it explicitly (formats present: "
                    + describe(formats()) + ")");
        }
        return best;
    }

    /**
     * The format to write {@code dst} in: {@code override} when given, else from the name: a folder
     * (existing, or a name without extension) is a folder format's, an extension the first present
     * writer's format that claims it (e.g. .pt is TorchScript). Unrecognised is BAD_INPUT listing the
     * extensions of the formats written.
     *
     * @param dst      the destination file or folder (need not exist)
     * @param override the format asked for, or null to go by the name
     * @return the format to write (its writer may be absent or a placeholder)
     */
    public Format forDestination(Path dst, Format override) {
        if (override != null) {
            return override;
        }
        FileProbe probe = new FileProbe(dst);
        String ext = probe.extension();
        boolean folder = Files.isDirectory(dst, LinkOption.NOFOLLOW_LINKS) || ext.isEmpty();
        List<Format> candidates = new ArrayList<>();
        writers.forEach(w -> candidates.add(w.format()));
        for (Format f : Format.KNOWN) {
            if (!candidates.contains(f)) {
                candidates.add(f);
            }
        }
        for (Format f : candidates) {
            if (folder ? f.directory() : f.extensions().contains(ext)) {
                return f;
            }
        }
        String known = writers.stream().map(w -> w.format().id() + (w.format().directory() ? " (a folder)"
                        : " (." + String.join(", .", w.format().extensions()) + ")"))
                .collect(Collectors.joining(", "));
        throw LstmxException.badInput(dst + ": cannot tell the output format from "
                + (folder ? "a folder name" : "the extension '." + ext + "'") + "; give --to (formats written: "
                + (known.isEmpty() ? "none" : known) + ")");
    }
}
