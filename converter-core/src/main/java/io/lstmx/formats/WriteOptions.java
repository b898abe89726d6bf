package io.lstmx.formats;

/**
 * Options for writing a model. A writer checks the ones that concern it in
 * {@link FormatWriter#checkOptions} before any work is done.
 *
 * @param opset               ONNX default-domain opset to target (7..22), or 0 for the exporter's default (17)
 * @param lstmLayoutAttribute ONNX: write batch-major LSTMs as one LSTM with {@code layout=1} (opset 14+).
 *                            Off by default: onnxruntime's CPU kernel refuses {@code layout=1}, so
 *                            batch-major LSTMs are written as a time-major LSTM between Transposes,
 *                            which computes the same values and runs everywhere.
 */
public record WriteOptions(int opset, boolean lstmLayoutAttribute) {
    public static final WriteOptions DEFAULT = new WriteOptions(0);

    public WriteOptions(int opset) {
        this(opset, false);
    }
}
