package io.lstmx.passes;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Model;
import io.lstmx.ir.ShapeInference;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An ordered pipeline of {@link Pass}es. {@link #run} checks the model with
 * {@link ShapeInference} first, then applies each pass in order and checks its result again, so
 * that a pass that breaks a model is caught at once and named, instead of surfacing as a baffling
 * error in an exporter or at run time.
 *
 * <p>Errors: an inconsistent input model is the checker's BAD_INPUT error, naming no pass. Every
 * error after that names the pass ({@code pass 'name': ...}). Since the pass's input was
 * consistent, a BAD_INPUT error from a pass, or a result that fails the check
 * ({@code pass 'name' made an inconsistent model: ...}), is the pass's own bug: INTERNAL. Other
 * errors (a pass may refuse with UNSUPPORTED) keep their code.
 */
public final class Passes {
    private final List<Pass> passes;

    private Passes(List<Pass> passes) {
        this.passes = List.copyOf(passes);
    }

    /** The pipeline running {@code passes} in the given order. */
    public static Passes of(Pass... passes) {
        for (Pass p : passes) {
            Objects.requireNonNull(p, "pass");
        }
        return new Passes(List.of(passes));
    }

    /** The passes, in order. */
    public List<Pass> passes() {
        return passes;
    }

    /** The pipeline with {@code next} added at the end. */
    public Passes then(Pass next) {
        Objects.requireNonNull(next, "pass");
        List<Pass> l = new ArrayList<>(passes);
        l.add(next);
        return new Passes(l);
    }

    /** Checks {@code model}, then applies every pass in order, checking each result; returns the last. */
    public Model run(Model model) {
        Objects.requireNonNull(model, "model");
        ShapeInference.infer(model);
        Model current = model;
        for (Pass p : passes) {
            String label = "pass '" + p.name() + "'";
            Model next;
            try {
                next = p.apply(current);
            } catch (LstmxException e) {
                if (e.code() == ErrorCode.BAD_INPUT) {
                    // The input was checked: a pass that finds it malformed, or builds a malformed model, is wrong.
                    throw new LstmxException(ErrorCode.INTERNAL, label + ": " + e.getMessage(), e);
                }
                throw e.withContext(label);
            } catch (RuntimeException e) {
                throw new LstmxException(ErrorCode.INTERNAL, label + ": " + e, e);
            }
            if (next == null) {
                throw LstmxException.internal(label + " returned no model");
            }
            if (next != current) {
                try {
                    ShapeInference.infer(next);
                } catch (LstmxException e) {
                    throw new LstmxException(ErrorCode.INTERNAL, label + " made an inconsistent model: " + e.getMessage(), e);
                }
            }
            current = next;
        }
        return current;
    }

    @Override
    public String toString() {
        return passes.stream().map(Pass::name).toList().toString();
    }
}
