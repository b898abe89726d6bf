package io.lstmx.references.onnxruntime;

import io.lstmx.api.ReferenceEngine;
import io.lstmx.formats.Format;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** onnxruntime (CPU, one intra-op thread) as a {@link ReferenceEngine} for ONNX files. */
public final class OnnxRuntimeEngine implements ReferenceEngine {
    @Override
    public String name() {
        return "onnxruntime";
    }

    @Override
    public String version() {
        try {
            return OrtEnvironments.get().getVersion();
        } catch (RuntimeException | LinkageError e) {
            return "unknown (" + e.getClass().getSimpleName() + ")";
        }
    }

    @Override
    public Set<Format> formats() {
        return Set.of(Format.ONNX);
    }

    @Override
    public Session open(Path model, Format format) {
        return OnnxRuntimeReference.open(model, List.of()); // maps names onnxruntime cannot carry
    }

    /** onnxruntime returns any value a node of the main graph produces, once it is listed as a graph output. */
    @Override
    public Session open(Path model, Format format, List<String> intermediates) {
        return OnnxRuntimeReference.open(model, intermediates);
    }
}
