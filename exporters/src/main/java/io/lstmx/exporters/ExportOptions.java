package io.lstmx.exporters;

/**
 * Options for writing a model.
 *
 * @param opset               ONNX default-domain opset to target (7..22), or 0 for the exporter's default (17)
 * @param lstmLayoutAttribute write batch-major LSTMs as one ONNX LSTM with {@code layout=1} (opset 14+).
 *                            Off by default: onnxruntime's CPU kernel refuses {@code layout=1}, so
 *                            batch-major LSTMs are written as a time-major LSTM between Transposes,
 *                            which computes the same values and runs everywhere.
 */
public record ExportOptions(int opset, boolean lstmLayoutAttribute) {
    public static final ExportOptions DEFAULT = new ExportOptions(0);

    public ExportOptions(int opset) {
        this(opset, false);
    }
}
