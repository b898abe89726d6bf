package io.lstmx.api;

import io.lstmx.errors.LstmxException;
import io.lstmx.exporters.ExportOptions;
import io.lstmx.exporters.Exporters;
import io.lstmx.importers.Importers;
import io.lstmx.ir.Format;
import io.lstmx.ir.Model;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The lstmx library in a few calls: read a model file of any supported format into the canonical IR,
 * run it in the pure-Java runtime, write it in another format.
 *
 * <pre>
 *   LoadedModel m = Lstmx.load(Path.of("model.onnx"));
 *   Map&lt;String, Tensor&gt; y = m.run(Tensor.ofFloats(new int[] {7, 1, 4}, x));
 *   Lstmx.save(m.model(), Path.of("copy.onnx"), Format.ONNX);   // the only format written so far
 * </pre>
 *
 * Every failure is an {@link LstmxException} whose message names the file. Saving as anything
 * but {@link Format#ONNX} is not available yet (UNSUPPORTED).
 */
public final class Lstmx {
    private Lstmx() {
    }

    /** Detects the format of {@code path} from its extension or content. */
    public static Format detect(Path path) {
        requireExists(path);
        return inFile(path, () -> Importers.detect(path));
    }

    /** Reads {@code path} (format detected) and prepares it for execution. */
    public static LoadedModel load(Path path) {
        return load(path, null);
    }

    /** Reads {@code path} as {@code format} (null: detect) and prepares it for execution. */
    public static LoadedModel load(Path path, Format format) {
        Format f = format != null ? format : detect(path);
        Model model = read(path, f);
        CompiledModel compiled = inFile(path, () -> NativeRuntime.compile(model));
        return new LoadedModel(path, f, compiled);
    }

    /** Reads {@code path} into the IR without preparing it for execution (format null: detect). */
    public static Model read(Path path, Format format) {
        Format f = format != null ? format : detect(path);
        requireExists(path);
        return inFile(path, () -> Importers.load(path, f));
    }

    /** Writes {@code model} as {@code format} (ONNX for now) to {@code path}, replacing what is there. */
    public static void save(Model model, Path path, Format format) {
        save(model, path, format, ExportOptions.DEFAULT);
    }

    /** Writes {@code model} as {@code format} to {@code path} with {@code options}, replacing what is there. */
    public static void save(Model model, Path path, Format format, ExportOptions options) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(format, "format");
        inFile(path, () -> {
            Exporters.save(model, path, format, options == null ? ExportOptions.DEFAULT : options);
            return null;
        });
    }

    private static void requireExists(Path path) {
        Objects.requireNonNull(path, "path");
        if (!Files.exists(path)) {
            throw LstmxException.badInput(path + ": no such file or directory");
        }
        if (!Files.isReadable(path)) {
            throw LstmxException.badInput(path + ": not readable");
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
