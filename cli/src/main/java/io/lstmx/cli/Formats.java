package io.lstmx.cli;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Format;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Format names on the command line and formats implied by destination paths. */
final class Formats {
    private Formats() {
    }

    /**
     * The format to write {@code dst} in: {@code override} when given, else from the name:
     * .onnx, .pt/.pth, .h5/.hdf5/.keras, and a directory (existing, or a name without extension)
     * or .pb for a TensorFlow SavedModel.
     */
    static Format forDestination(Path dst, Format override) {
        if (override != null) {
            return override;
        }
        if (Files.isDirectory(dst)) {
            return Format.TENSORFLOW;
        }
        String name = dst.getFileName() == null ? "" : dst.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        String ext = dot <= 0 ? "" : name.substring(dot + 1);
        switch (ext) {
            case "onnx": return Format.ONNX;
            case "pt": case "pth": return Format.PYTORCH;
            case "h5": case "hdf5": case "keras": return Format.KERAS;
            case "pb": case "": return Format.TENSORFLOW;
            default:
                throw LstmxException.badInput(dst + ": cannot tell the output format from the extension '." + ext
                        + "'; give --to onnx|keras|tensorflow|pytorch");
        }
    }

    /** A file (or directory) name for a temporary copy of a model in {@code format}. */
    static String defaultFileName(Format format) {
        return switch (format) {
            case ONNX -> "model.onnx";
            case PYTORCH -> "model.pt";
            case KERAS -> "model.keras";
            case TENSORFLOW -> "saved_model";
        };
    }

    /** picocli converter for --from/--to/--roundtrip values. */
    static final class Converter implements CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            try {
                return Format.parse(value);
            } catch (LstmxException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
