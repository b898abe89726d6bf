package io.lstmx.runtime;

/**
 * Whether {@link PackedMatrix} uses the Vector API kernels ({@link VectorKernels}): only when the
 * JVM resolved the incubator module {@code jdk.incubator.vector} (started with
 * {@code --add-modules jdk.incubator.vector}), the preferred species fits the tiles, and the system
 * property {@code lstmx.vector} is not {@code false}. Otherwise, or if loading the kernels fails
 * for any reason, the plain C2-vectorised kernels run; both give the same bits.
 */
final class Vec {
    static final boolean ENABLED = detect();

    private Vec() {
    }

    private static boolean detect() {
        if (!Boolean.parseBoolean(System.getProperty("lstmx.vector", "true"))) {
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
