package io.lstmx.references.onnxruntime;

import ai.onnxruntime.OrtEnvironment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

/**
 * onnxruntime's process-wide environment, created on a thread with a stack large enough for it.
 * <p>
 * Creating the environment (onnxruntime 1.29, Java API) recurses inside the native library about
 * three frames (some 250 bytes of stack) per byte of the process's command line: with a class path
 * of a few kilobytes on the command line it needs the whole 1 MiB stack of a default Java thread,
 * and a few bytes more (seen: a 13-character system property) overflow it. The process then dies
 * with SIGSEGV and no hs_err file: the JVM has no stack left to report on (a core dump showed
 * 11,943 frames in libonnxruntime under {@code OrtEnvironment.createHandle}, using 1,019,264
 * bytes). Once created, the environment is a singleton that every later call to
 * {@link OrtEnvironment#getEnvironment()} returns without recursing; lstmx creates it here first.
 */
public final class OrtEnvironments {
    /** Stack bytes per byte of the command line, with room to spare (about 250 measured). */
    private static final long STACK_PER_BYTE = 1024;
    private static final long MIN_STACK = 16L << 20;

    private static volatile OrtEnvironment environment;

    private OrtEnvironments() {
    }

    /** The environment, created on first use on a thread of its own with a large stack. */
    public static OrtEnvironment get() {
        OrtEnvironment e = environment;
        if (e != null) {
            return e;
        }
        synchronized (OrtEnvironments.class) {
            if (environment == null) {
                environment = create();
            }
            return environment;
        }
    }

    private static OrtEnvironment create() {
        AtomicReference<OrtEnvironment> made = new AtomicReference<>();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try {
                made.set(OrtEnvironment.getEnvironment());
            } catch (Throwable x) {
                failed.set(x);
            }
        }, "lstmx-onnxruntime-init", stackBytes());
        t.setDaemon(true);
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException ie) {
                interrupted = true; // the environment is being created: wait for it, then keep the interrupt
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        io.lstmx.util.Failures.rethrow(failed.get(), "onnxruntime's environment could not be created");
        return made.get();
    }

    /** Stack for the creating thread: in proportion to the command line where Linux tells its length. */
    static long stackBytes() {
        long cmdline = 0;
        // counted, not Files.size: procfs reports size 0 for its files
        try (var in = Files.newInputStream(Path.of("/proc/self/cmdline"))) {
            cmdline = in.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // not Linux, or not readable: the minimum
        }
        return Math.max(MIN_STACK, Math.min(1L << 31, cmdline * STACK_PER_BYTE));
    }
}
