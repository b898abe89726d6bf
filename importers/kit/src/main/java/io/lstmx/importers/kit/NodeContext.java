package io.lstmx.importers.kit;

import io.lstmx.errors.LstmxException;

/**
 * The node of the source graph being converted, as the kit's helpers see it: where its errors
 * point, what its layers are called, how much folding it may still do and where fresh symbolic
 * dimensions come from. Each importer's node class implements this, so that {@link Fold} and
 * {@link Shapes} report problems in that format's words ("file: node 'x' (Op)") without knowing
 * the format.
 */
public interface NodeContext {
    /** The context a message about this node starts with, naming the file and the node. */
    String where();

    /** Name of this node's main IR layer (also names the one-layer evaluations that fold it). */
    String layerName();

    /** A BAD_INPUT error (the file is malformed) naming the file and this node. */
    LstmxException bad(String message);

    /** An UNSUPPORTED refusal (well-formed, but beyond what lstmx converts) naming this node. */
    LstmxException unsupported(String message);

    /** Largest tensor, in elements, that folding this node may still create (see {@link FoldBudget#room()}). */
    long foldRoom();

    /** A fresh anonymous dimension, unequal to every other (see {@link SDim#anonymous(int)}). */
    SDim freshDim();
}
