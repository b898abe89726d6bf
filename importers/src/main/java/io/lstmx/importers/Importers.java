package io.lstmx.importers;

import io.lstmx.errors.LstmxException;
import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.Format;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/** Reads model files of any supported format into the canonical IR. */
public final class Importers {
    private static final byte[] HDF5_MAGIC = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};

    private Importers() {
    }

    /**
     * Detects the format of {@code path}: by extension (.onnx, .h5/.hdf5/.keras, .pt/.pth/.ptc, a
     * SavedModel folder), else by content (an HDF5 signature, a zip archive, a parseable ONNX
     * ModelProto). Errors name the file.
     */
    public static Format detect(Path path) {
        if (!Files.exists(path)) {
            throw LstmxException.badInput(path + ": no such file or directory");
        }
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve("saved_model.pb")) || Files.isRegularFile(path.resolve("saved_model.pbtxt"))) {
                return Format.TENSORFLOW;
            }
            throw LstmxException.badInput(path + ": is a directory without saved_model.pb; cannot tell its format");
        }
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".onnx")) {
            return Format.ONNX;
        }
        if (name.endsWith(".h5") || name.endsWith(".hdf5") || name.endsWith(".keras")) {
            return Format.KERAS;
        }
        if (name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".ptc")) {
            return Format.PYTORCH;
        }
        if (name.equals("saved_model.pb")) {
            return Format.TENSORFLOW;
        }
        byte[] head = head(path, 8);
        if (startsWith(head, HDF5_MAGIC)) {
            return Format.KERAS;
        }
        if (startsWith(head, ZIP_MAGIC)) {
            // Keras 3 archives and PyTorch zip files are both zips; PyTorch's have "<name>/data.pkl".
            return name.endsWith(".zip") || !containsText(path, "data.pkl") ? Format.KERAS : Format.PYTORCH;
        }
        if (head.length >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) {
            return Format.PYTORCH; // a pickle: PyTorch's legacy serialization
        }
        if (OnnxImporter.looksLikeOnnx(path)) {
            return Format.ONNX;
        }
        throw LstmxException.badInput(path + ": cannot tell the model format from the name or content;"
                + " give it explicitly (onnx, keras, tensorflow, pytorch)");
    }

    /** Reads {@code path}; {@code format} may be null to detect it. */
    public static Model load(Path path, Format format) {
        return load(path, format, Map.of());
    }

    /**
     * Reads {@code path}, treating the graph inputs named in {@code constantInputs} as constants with
     * the given values (ONNX models whose weights are graph inputs, such as the ONNX conformance
     * cases). {@code format} may be null to detect it.
     */
    public static Model load(Path path, Format format, Map<String, Tensor> constantInputs) {
        Format f = format == null ? detect(path) : format;
        switch (f) {
            case ONNX:
                return OnnxImporter.load(path, constantInputs);
            default:
                if (!Files.exists(path)) {
                    throw LstmxException.badInput(path + ": no such file or directory");
                }
                throw LstmxException.unsupported(path + ": " + f.id() + " importer not available yet");
        }
    }

    private static byte[] head(Path path, int n) {
        try (InputStream in = Files.newInputStream(path)) {
            return in.readNBytes(n);
        } catch (IOException e) {
            throw LstmxException.badInput(path + ": cannot read: " + e.getMessage());
        }
    }

    private static boolean startsWith(byte[] data, byte[] prefix) {
        return data.length >= prefix.length && Arrays.equals(Arrays.copyOf(data, prefix.length), prefix);
    }

    /** Whether the zip's central directory names contain {@code text} (read without extracting anything). */
    private static boolean containsText(Path zip, String text) {
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(zip.toFile())) {
            return z.stream().anyMatch(e -> e.getName().endsWith(text));
        } catch (IOException e) {
            return false;
        }
    }
}
