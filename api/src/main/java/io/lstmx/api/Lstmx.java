package io.lstmx.api;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatRegistry;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The lstmx library in a few calls: read a model file of any format whose reader is on the class
 * path into the canonical IR, run it in the pure-Java runtime, write it in another format.
 *
 * <pre>
 *   LoadedModel m = Lstmx.load(Path.of("model.onnx"));
 *   Map&lt;String, Tensor&gt; y = m.run(Tensor.ofFloats(new int[] {7, 1, 4}, x));
 *   Lstmx.save(m.model(), Path.of("copy.onnx"), Format.ONNX);
 * </pre>
 *
 * Formats are plug-ins (modules such as {@code lstmx-importer-onnx} and {@code lstmx-exporter-onnx},
 * found through {@link java.util.ServiceLoader}): a format is read or written exactly when its module
 * is on the class path; {@link #formats()} lists them. Every failure is an {@link LstmxException}
 * whose message names the file.
 */
public final class Lstmx {
    private Lstmx() {
    }

    /**
     * The formats whose reader or writer is on the class path (placeholders included: see
     * {@link FormatRegistry#canRead}).
     *
     * @return e.g. [onnx] with lstmx-importer-onnx and lstmx-exporter-onnx
     */
    public static List<Format> formats() {
        return FormatRegistry.standard().formats();
    }

    /**
     * The format called {@code name}.
     *
     * @param name its id, such as "onnx" or "torchscript", or an alias such as "pt" (any case)
     * @return the format
     * @throws LstmxException BAD_INPUT listing the formats present when the name is unknown
     */
    public static Format format(String name) {
        return FormatRegistry.standard().format(name);
    }

    /**
     * Detects the format of {@code path} from its content or, failing that, its name.
     *
     * @param path a model file or folder
     * @return the format (its reader may be a placeholder that cannot read it yet)
     * @throws LstmxException BAD_INPUT naming the file and the formats present when no reader recognises it
     */
    public static Format detect(Path path) {
        requireExists(path);
        return inFile(path, () -> FormatRegistry.standard().detect(path));
    }

    /**
     * Reads {@code path} (format detected) and prepares it for execution.
     *
     * @param path a model file or folder
     * @return the model, ready to run
     * @throws LstmxException BAD_INPUT for a malformed file, UNSUPPORTED for a format or feature
     *         lstmx cannot read yet; the message names the file
     */
    public static LoadedModel load(Path path) {
        return load(path, null);
    }

    /**
     * Reads {@code path} as {@code format} and prepares it for execution.
     *
     * @param path   a model file or folder
     * @param format the format to read it as; null to detect it
     * @return the model, ready to run
     */
    public static LoadedModel load(Path path, Format format) {
        return load(path, format, ReadOptions.DEFAULT);
    }

    /**
     * Reads {@code path} as {@code format} with {@code options} and prepares it for execution.
     *
     * @param path    a model file or folder
     * @param format  the format to read it as; null to detect it
     * @param options constant inputs and format hints
     * @return the model, ready to run
     */
    public static LoadedModel load(Path path, Format format, ReadOptions options) {
        Format f = format != null ? format : detect(path);
        Model model = read(path, f, options);
        CompiledModel compiled = inFile(path, () -> NativeRuntime.compile(model));
        return new LoadedModel(path, f, compiled);
    }

    /**
     * Reads {@code path} into the IR without preparing it for execution.
     *
     * @param path   a model file or folder
     * @param format the format to read it as; null to detect it
     * @return the model in the canonical IR
     */
    public static Model read(Path path, Format format) {
        return read(path, format, ReadOptions.DEFAULT);
    }

    /**
     * Reads {@code path} into the IR with {@code options}.
     *
     * @param path    a model file or folder
     * @param format  the format to read it as; null to detect it
     * @param options constant inputs and format hints; null for the defaults
     * @return the model in the canonical IR
     */
    public static Model read(Path path, Format format, ReadOptions options) {
        requireExists(path);
        Format f = format != null ? format : detect(path);
        ReadOptions o = options == null ? ReadOptions.DEFAULT : options;
        // A model in memory takes about twice its file (the parsed file, then the IR's tensors);
        // ONNX files are mapped, not read into the heap, so only the IR's tensors (and one
        // tensor's transient copy) are on the heap.
        long size = sizeOf(path);
        long need = f == Format.ONNX ? size + size / 4 : 2 * size;
        io.lstmx.util.Heap.require(need, path + ": reading a " + (size >> 20) + " MiB model");
        return inFile(path, () -> FormatRegistry.standard().requireReader(f, path).read(path, o));
    }

    /**
     * Writes {@code model} as {@code format} to {@code path}, replacing what is there (see
     * {@link #save(Model, Path, Format, WriteOptions, boolean)}).
     *
     * @param model  the model, e.g. {@link LoadedModel#model()}
     * @param path   the destination file (or folder, for a folder format)
     * @param format the format to write, e.g. {@link Format#ONNX}
     * @return the writer's notes (see {@link FormatWriter#writeWithNotes}), empty for most
     */
    public static List<String> save(Model model, Path path, Format format) {
        return save(model, path, format, WriteOptions.DEFAULT, true);
    }

    /**
     * Writes {@code model} as {@code format} to {@code path} with {@code options}, replacing what is
     * there (see {@link #save(Model, Path, Format, WriteOptions, boolean)}).
     *
     * @param model   the model
     * @param path    the destination file (or folder, for a folder format)
     * @param format  the format to write
     * @param options e.g. the ONNX opset
     * @return the writer's notes (see {@link FormatWriter#writeWithNotes}), empty for most
     */
    public static List<String> save(Model model, Path path, Format format, WriteOptions options) {
        return save(model, path, format, options, true);
    }

    /**
     * Writes {@code model} as {@code format} to {@code path} exactly as {@code lstmx convert} does:
     * options are checked first; the writer writes into a hidden staging folder beside {@code path};
     * side files, then the model, are moved into place only when all were written; without
     * {@code replace} an existing file is never overwritten (BAD_INPUT), with it the old content is
     * kept as a backup until the new one is in place. A folder that is not a model of
     * {@code format} is never replaced. On failure nothing is left behind.
     *
     * @param model   the model
     * @param path    the destination file (or folder, for a folder format)
     * @param format  the format to write
     * @param options e.g. the ONNX opset; null for the defaults
     * @param replace whether an existing destination may be replaced
     * @return what the user of the written file must be told, one line each: how its interface
     *         differs from the model's on purpose, such as a time-major input written batch-major for
     *         Keras (see {@link FormatWriter#writeWithNotes}); empty for most writers and models
     * @throws LstmxException UNSUPPORTED when no available writer is present or the model has a
     *         feature the format cannot express; BAD_INPUT for a destination that may not be written
     */
    public static List<String> save(Model model, Path path, Format format, WriteOptions options, boolean replace) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(format, "format");
        WriteOptions o = options == null ? WriteOptions.DEFAULT : options;
        FormatWriter writer = FormatRegistry.standard().requireWriter(format, path);
        inFile(path, () -> {
            writer.checkOptions(o);
            return null;
        });
        SafeFiles.checkDestination(path, format, replace);
        List<String> notes = new ArrayList<>();
        inFile(path, () -> {
            SafeFiles.writeSafely(path, replace, staged -> notes.addAll(writer.writeWithNotes(model, staged, o)));
            return null;
        });
        return List.copyOf(notes);
    }

    /** Bytes of a file, or of every regular file under a folder (a SavedModel), best effort. */
    private static long sizeOf(Path path) {
        try {
            if (Files.isRegularFile(path)) {
                return Files.size(path);
            }
            try (java.util.stream.Stream<Path> s = Files.walk(path, 8)) {
                return s.filter(Files::isRegularFile).mapToLong(p -> {
                    try {
                        return Files.size(p);
                    } catch (java.io.IOException e) {
                        return 0;
                    }
                }).sum();
            }
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return 0; // the reader reports what it cannot read
        }
    }

    private static void requireExists(Path path) {
        Objects.requireNonNull(path, "path");
        if (!Files.exists(path)) {
            throw LstmxException.badInput(path + ": no such file or directory");
        }
        if (!Files.isRegularFile(path) && !Files.isDirectory(path)) {
            // Reading a FIFO blocks until someone writes; a device may never end.
            throw LstmxException.badInput(path + ": not a regular file or folder (a FIFO, socket or device is never read)");
        }
        if (!Files.isReadable(path)) {
            throw LstmxException.badInput(path + ": not readable (permission denied)");
        }
    }

    /** Runs {@code body}; an error whose message does not name the file gets the file as context. */
    private static <T> T inFile(Path path, Supplier<T> body) {
        try {
            return body.get();
        } catch (LstmxException e) {
            String msg = String.valueOf(e.getMessage());
            if (msg.contains(path.toString()) || msg.contains(String.valueOf(path.getFileName()))) {
                throw e;
            }
            throw e.withContext(path.toString());
        }
    }
}
