package io.lstmx.references.tensorflow;

import io.lstmx.api.ReferenceEngine;
import io.lstmx.formats.Format;

import java.nio.file.Path;
import java.util.Set;

/**
 * TensorFlow (TensorFlow Java 1.1.0, which carries TensorFlow 2.18's native library; CPU, offline)
 * as a {@link ReferenceEngine} for SavedModel folders and frozen GraphDefs. It runs the file it is
 * given; see {@link TensorFlowSession} for which inputs and outputs it uses and in what order.
 */
public final class TensorFlowEngine implements ReferenceEngine {
    /** Creates the engine; TensorFlow's native library loads on the first {@link #version()} or {@link #open}. */
    public TensorFlowEngine() {
    }

    @Override
    public String name() {
        return "tensorflow";
    }

    /** TensorFlow's version, e.g. "2.18.0". */
    @Override
    public String version() {
        TfLogging.quiet();
        try {
            return org.tensorflow.TensorFlow.version();
        } catch (RuntimeException | LinkageError e) {
            return "unknown (" + e.getClass().getSimpleName() + ")";
        }
    }

    @Override
    public Set<Format> formats() {
        return Set.of(Format.SAVEDMODEL, Format.TF_GRAPHDEF);
    }

    @Override
    public Session open(Path model, Format format) {
        TfLogging.quiet();
        if (format == Format.TF_GRAPHDEF) {
            return TensorFlowSession.openGraphDef(model);
        }
        return TensorFlowSession.openSavedModel(model);
    }

    /** A GraphDef returns the named tensors ({@code op} or {@code op:k}) it has; a SavedModel's signature exposes none. */
    @Override
    public Session open(Path model, Format format, java.util.List<String> intermediates) {
        TfLogging.quiet();
        if (format == Format.TF_GRAPHDEF) {
            return TensorFlowSession.openGraphDef(model, intermediates);
        }
        return TensorFlowSession.openSavedModel(model);
    }
}
