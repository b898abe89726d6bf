package io.lstmx.ir;

/**
 * Where a model came from.
 *
 * @param sourceFormat e.g. "onnx"
 * @param producer     producer name and version as the file states them, or empty
 * @param detail       format-specific detail such as "opset 14, ir_version 7", or empty
 */
public record ModelInfo(String sourceFormat, String producer, String detail) {
    public static final ModelInfo NONE = new ModelInfo("", "", "");
}
