package io.lstmx.ir;

import java.util.Locale;

/** Model file formats lstmx reads or writes. */
public enum Format {
    ONNX("onnx"), KERAS("keras"), TENSORFLOW("tensorflow"), PYTORCH("pytorch");

    private final String id;

    Format(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** Parses a user-given format name (case-insensitive; "tf", "torch", "pt", "h5" accepted). */
    public static Format parse(String s) {
        switch (s.toLowerCase(Locale.ROOT)) {
            case "onnx": return ONNX;
            case "keras": case "h5": return KERAS;
            case "tensorflow": case "tf": case "savedmodel": return TENSORFLOW;
            case "pytorch": case "torch": case "pt": case "torchscript": return PYTORCH;
            default:
                throw io.lstmx.errors.LstmxException.badInput("unknown format '" + s + "'; expected one of onnx, keras, tensorflow, pytorch");
        }
    }
}
