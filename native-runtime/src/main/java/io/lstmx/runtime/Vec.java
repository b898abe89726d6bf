package io.lstmx.runtime;

/**
 * Whether {@link PackedMatrix} uses the Vector API kernels ({@link VectorKernels}): only when the
 * system property {@code lstmx.vector} is {@code true}, the JVM resolved the incubator module
 * {@code jdk.incubator.vector} (started with {@code --add-modules jdk.incubator.vector}) and the
 * species fits the tiles. Otherwise, or if loading the kernels fails for any reason, the plain
 * C2-vectorised kernels run; both give the same bits.
 * <p>
 * Off by default because it measured slower: on JDK 17 (this machine, one thread) 7.4 ms against
 * 3.4 ms at H = 256, T = 150, batch 1 and 46 against 42 ms at H = 512, T = 25, batch 32; on
 * Temurin 25 level at batch 1 and faster at batch 32 (44 against 57 ms), but JDK 17's C2 kernels
 * were faster still. The register-blocked kernels walk all K rows of the weights for each block
 * of columns, and with one array per row (the layout the C2 kernels need) that is K concurrent
 * streams; a packed panel layout (K x 64 contiguous per column block) would be their next step.
 */
final class Vec {
    static final boolean ENABLED = detect();

    private Vec() {
    }

    private static boolean detect() {
        if (!Boolean.getBoolean("lstmx.vector")) {
            return false;
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return false;
        }
        try {
            return VectorKernels.usable();
        } catch (Throwable e) { // LinkageError and the like: fall back to the scalar kernels
            return false;
        }
    }

    /** "vector API, N floats" or "C2 auto-vectorised": what the matrix kernels run on. */
    static String describe() {
        return ENABLED ? "Vector API, " + VectorKernels.L + " floats per vector" : "C2 auto-vectorised";
    }
}
