package io.lstmx.api;

import io.lstmx.formats.Format;
import io.lstmx.ir.Tensor;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An independent engine (onnxruntime, libtorch, TensorFlow) that runs model files so that lstmx's
 * own results can be checked against it. Engines are plug-ins found through
 * {@link java.util.ServiceLoader} ({@code META-INF/services/io.lstmx.api.ReferenceEngine}), each in
 * its own module under {@code references/}, so the library carries none of their native code; see
 * {@link ReferenceEngines}.
 */
public interface ReferenceEngine {
    /**
     * The name users give to {@code verify --reference}.
     *
     * @return e.g. "onnxruntime"
     */
    String name();

    /**
     * The engine's own version, for reports.
     *
     * @return e.g. "1.29.0"
     */
    String version();

    /**
     * The formats whose files the engine runs.
     *
     * @return e.g. {onnx}
     */
    Set<Format> formats();

    /**
     * Opens {@code model} (in one of {@link #formats()}) for runs. A file the engine cannot parse is
     * BAD_INPUT; one it parses but cannot run is UNSUPPORTED.
     *
     * @param model  the model file or folder
     * @param format its format
     * @return a session; close it when done
     */
    Session open(Path model, Format format);

    /**
     * Opens {@code model} so that each run also returns, after the model's outputs, those of the
     * named intermediate values the engine can expose (values it cannot are left out; the caller
     * compares what comes back). lstmx asks for the outputs of its recurrent layers, named as in
     * the model file. By default none is exposed.
     *
     * @param model         the model file or folder
     * @param format        its format
     * @param intermediates names of values to expose as well
     * @return a session; close it when done
     */
    default Session open(Path model, Format format, List<String> intermediates) {
        return open(model, format);
    }

    /** One model loaded in the engine. Not thread-safe. */
    interface Session extends AutoCloseable {
        /**
         * Input names in the model's order, as the engine sees them.
         *
         * @return the names
         */
        List<String> inputNames();

        /**
         * The model's output names in order, as the engine sees them (not the intermediate values exposed).
         *
         * @return the names
         */
        List<String> outputNames();

        /**
         * Runs the model.
         *
         * @param inputs values by input name
         * @return every output by name, in the model's order, then any intermediate values exposed
         */
        Map<String, Tensor> run(Map<String, Tensor> inputs);

        /** Releases the engine's resources; never fails. */
        @Override
        void close();
    }
}
