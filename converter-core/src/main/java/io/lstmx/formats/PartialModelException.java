package io.lstmx.formats;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Model;

import java.util.List;
import java.util.Objects;

/**
 * UNSUPPORTED, thrown by a reader when part of a model has no IR equivalent, carrying what the
 * reader could convert: a tool can then show the user the rest of the model beside the nodes that
 * stop it (as {@code lstmx inspect} does), instead of only the error. The message is the same
 * one-line report an {@link LstmxException} would have.
 */
public final class PartialModelException extends LstmxException {
    private static final long serialVersionUID = 1L;

    /**
     * One node, or one graph-level feature, that could not be converted.
     *
     * @param node   the node's name in the file (a generated one when the file gives none); null for a graph-level problem
     * @param opType the node's operator, e.g. "Mod"; null for a graph-level problem
     * @param domain the operator's domain, "" for the format's default one (ONNX's ai.onnx)
     * @param reason why, without the file and node, e.g. "operator Mod is not supported at opset 17"
     */
    public record Unsupported(String node, String opType, String domain, String reason) {
        /**
         * Checks the reason is given; a null domain is the default one.
         *
         * @param node   the node's name, or null
         * @param opType the operator, or null
         * @param domain the operator's domain
         * @param reason why
         */
        public Unsupported {
            Objects.requireNonNull(reason, "reason");
            domain = domain == null ? "" : domain;
        }
    }

    /**
     * What could be converted.
     *
     * @param model        the converted part: the model's inputs, every layer converted that feeds
     *                     something below, and as outputs the graph outputs that could be converted
     *                     followed by the values the unsupported nodes read; null when nothing was
     *                     converted
     * @param graphOutputs names of all the outputs the file declares, in order
     * @param unsupported  the nodes (and graph-level features) that could not be converted
     * @param dependents   names of nodes left out only because they read what an unsupported node makes
     */
    public record Partial(Model model, List<String> graphOutputs, List<Unsupported> unsupported, List<String> dependents) {
        /**
         * Copies the lists.
         *
         * @param model        the converted part, or null
         * @param graphOutputs all declared outputs
         * @param unsupported  what could not be converted
         * @param dependents   nodes left out because of it
         */
        public Partial {
            graphOutputs = List.copyOf(graphOutputs);
            unsupported = List.copyOf(unsupported);
            dependents = List.copyOf(dependents);
        }
    }

    // Exceptions are Serializable; what was converted is for the tool that catches this one, not for the wire.
    private final transient Partial partial;

    /**
     * An UNSUPPORTED error carrying what could be converted.
     *
     * @param message the one-line report
     * @param partial what could be converted
     */
    public PartialModelException(String message, Partial partial) {
        super(ErrorCode.UNSUPPORTED, message);
        this.partial = Objects.requireNonNull(partial, "partial");
    }

    private PartialModelException(String message, Partial partial, Throwable cause) {
        super(ErrorCode.UNSUPPORTED, message, cause);
        this.partial = partial;
    }

    /**
     * What could be converted.
     *
     * @return the partial result
     */
    public Partial partial() {
        return partial;
    }

    /**
     * The same partial result under a message prefixed with {@code context: }.
     *
     * @param context e.g. the file
     * @return a new exception
     */
    @Override
    public PartialModelException withContext(String context) {
        return new PartialModelException(context + ": " + getMessage(), partial, this);
    }
}
