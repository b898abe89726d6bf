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
 * @param externalDataLimit   ONNX: when the weights add up to more than this many bytes, the large ones
 *                            go to an external data file beside the model ({@code NAME.onnx.data}); 0
 *                            for the default, just under protobuf's 2 GiB message limit
 */
public record WriteOptions(int opset, boolean lstmLayoutAttribute, long externalDataLimit) {
    /** The writers' defaults. */
    public static final WriteOptions DEFAULT = new WriteOptions(0);

    /**
     * Checks the options.
     *
     * @param opset               the ONNX opset (7..22), or 0 for the default
     * @param lstmLayoutAttribute whether batch-major LSTMs get {@code layout=1}
     * @param externalDataLimit   bytes of weights above which they go to a side file; 0 for the default
     * @throws io.lstmx.errors.LstmxException BAD_INPUT for a negative limit
     */
    public WriteOptions {
        if (externalDataLimit < 0) {
            throw io.lstmx.errors.LstmxException.badInput("the external data limit must be >= 0 bytes, got " + externalDataLimit);
        }
    }

    /**
     * The given opset, every other option at its default.
     *
     * @param opset the ONNX opset (7..22), or 0 for the default
     */
    public WriteOptions(int opset) {
        this(opset, false);
    }

    /**
     * The given opset and layout choice, external data at its default.
     *
     * @param opset               the ONNX opset (7..22), or 0 for the default
     * @param lstmLayoutAttribute whether batch-major LSTMs get {@code layout=1}
     */
    public WriteOptions(int opset, boolean lstmLayoutAttribute) {
        this(opset, lstmLayoutAttribute, 0);
    }
}
