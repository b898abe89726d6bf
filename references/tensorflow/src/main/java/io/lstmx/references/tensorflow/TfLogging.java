package io.lstmx.references.tensorflow;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * Keeps TensorFlow's informational log lines (oneDNN notes, "Reading SavedModel from ...") off
 * stderr: sets {@code TF_CPP_MIN_LOG_LEVEL=2} (warnings and errors only) before TensorFlow's native
 * library loads, unless the user set it. The JVM cannot change its own environment, so this goes
 * through the C library's {@code setenv}.
 */
final class TfLogging {
    private static volatile boolean done;

    private TfLogging() {
    }

    /** Call before the first use of any org.tensorflow class; best effort, never fails. */
    static void quiet() {
        if (done) {
            return;
        }
        synchronized (TfLogging.class) {
            if (done) {
                return;
            }
            done = true;
            try {
                CLib.INSTANCE.setenv("TF_CPP_MIN_LOG_LEVEL", "2", 0);
            } catch (RuntimeException | LinkageError e) {
                // no C library reachable: TensorFlow logs as it likes
            }
        }
    }

    /** The C library, for setenv. */
    interface CLib extends Library {
        CLib INSTANCE = Native.load("c", CLib.class);

        int setenv(String name, String value, int overwrite);
    }
}
