package io.lstmx.passes;

import io.lstmx.ir.Model;

/**
 * One rewrite of an IR model into an equivalent one (the same outputs for every input), such as
 * dropping layers nothing reads or bringing one construct into the single form exporters expect.
 * A pass returns its argument itself when it has nothing to change; it never modifies a model (the
 * IR is immutable). Run passes through {@link Passes}, which checks the model after each.
 */
public interface Pass {
    /** A short, stable name for messages and listings, e.g. "dead-layer-removal". */
    String name();

    /** The rewritten model; {@code model} itself when nothing applies. */
    Model apply(Model model);
}
