package io.lstmx.references.libtorch;

import io.lstmx.api.ReferenceEngine;
import io.lstmx.formats.Format;

import java.nio.file.Path;
import java.util.Set;

/**
 * libtorch (through DJL, CPU, offline) as a {@link ReferenceEngine} for TorchScript archives
 * ({@code torch.jit.save}). It runs the file it is given: {@code lstmx verify model.pt} compares
 * lstmx with libtorch on the TorchScript file itself; models of other formats need converting to
 * TorchScript first.
 *
 * <p>Trustworthy by default: before the first session, oneDNN's RNN kernels are kept off AVX-512
 * (they give wrong LSTM outputs on some CPUs) and an LSTM traced by PyTorch 1.13 is run against
 * PyTorch's own outputs; a libtorch that fails it refuses every model (UNSUPPORTED) instead of being
 * silently wrong. See README, "libtorch users should know".
 */
public final class LibtorchEngine implements ReferenceEngine {
    /** Creates the engine; libtorch itself starts on the first {@link #version()} or {@link #open}. */
    public LibtorchEngine() {
    }

    @Override
    public String name() {
        return "libtorch";
    }

    /** libtorch's version and what was done about oneDNN, e.g. "2.7.1 (oneDNN's ISA capped at AVX2)". */
    @Override
    public String version() {
        LibtorchRuntime.State s = LibtorchRuntime.state();
        if (s.version() == null) {
            return "unknown (" + s.failure() + ")";
        }
        return s.version() + " (" + s.isa() + (s.untrusted() == null ? "" : "; NOT TRUSTED: " + s.untrusted()) + ")";
    }

    @Override
    public Set<Format> formats() {
        return Set.of(Format.TORCHSCRIPT);
    }

    @Override
    public Session open(Path model, Format format) {
        return LibtorchSession.open(model);
    }
}
