package io.lstmx.runtime;

/**
 * Whether {@link PackedMatrix} lays weights out in panels for the Vector API kernels
 * ({@link VectorKernels}): when the JVM resolved the incubator module {@code jdk.incubator.vector}
 * (started with {@code --add-modules jdk.incubator.vector}, which Java 17 to 25 need for it), the
 * species fits the tiles and the system property {@code lstmx.vector} is not {@code false}.
 * Otherwise, or if loading the kernels fails for any reason, the C2-vectorised kernels run on the
 * row layout; both give the same bits.
 * <p>
 * Why not always: the module is not resolved by default, and a library cannot add it. With it,
 * the register-blocked panel kernels measured about twice as fast as the C2 kernels for four or
 * more rows and a third faster for one row (see {@link VectorKernels}).
 */
final class Vec {
    static final boolean ENABLED = detect();

    private Vec() {
    }

    private static boolean detect() {
        if ("false".equalsIgnoreCase(System.getProperty("lstmx.vector"))) {
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
}
