package io.lstmx.exporters;

/**
 * Options for writing a model.
 *
 * @param opset ONNX default-domain opset to target, or 0 for the exporter's default
 */
public record ExportOptions(int opset) {
    public static final ExportOptions DEFAULT = new ExportOptions(0);
}
