package io.lstmx.ir;

import java.util.Map;
import java.util.Objects;

/**
 * Where a model came from.
 *
 * @param sourceFormat e.g. "onnx"
 * @param producer     producer name and version as the file states them, or empty
 * @param detail       format-specific detail such as "opset 14, ir_version 7", or empty
 * @param sourceNames  the source format's own names of layers and values where the IR's differ
 */
public record ModelInfo(String sourceFormat, String producer, String detail, SourceNames sourceNames) {
    public static final ModelInfo NONE = new ModelInfo("", "", "");

    public ModelInfo {
        Objects.requireNonNull(sourceNames, "sourceNames");
    }

    /** Without source names (the IR's names are the source's, or there is no source). */
    public ModelInfo(String sourceFormat, String producer, String detail) {
        this(sourceFormat, producer, detail, SourceNames.NONE);
    }

    public ModelInfo withSourceNames(SourceNames names) {
        return new ModelInfo(sourceFormat, producer, detail, names);
    }

    /**
     * The source format's names for IR layers and values, kept for messages and for writing the
     * names back. IR names must be unique and well-formed, so importers sanitise and uniquify them
     * (an unnamed or twice-named node, a constant made from an initializer, a layer split off a
     * node); each map holds IR name -> source name for those that differ, and only those.
     * Layers and values are kept apart because a layer and a value may share a name.
     *
     * @param layers IR layer name -> the source's name of the node or layer it came from
     * @param values IR value name -> the source's name of the value
     */
    public record SourceNames(Map<String, String> layers, Map<String, String> values) {
        public static final SourceNames NONE = new SourceNames(Map.of(), Map.of());

        public SourceNames {
            layers = Map.copyOf(layers);
            values = Map.copyOf(values);
        }

        /** The source's name of IR layer {@code irName}, or null when it has the same name there (or none). */
        public String layer(String irName) {
            return layers.get(irName);
        }

        /** The source's name of IR value {@code irName}, or null when it has the same name there (or none). */
        public String value(String irName) {
            return values.get(irName);
        }
    }
}
