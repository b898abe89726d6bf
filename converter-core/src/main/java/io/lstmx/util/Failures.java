package io.lstmx.util;

/**
 * A failure caught on one thread and rethrown on the thread that waited for it (a step team's
 * participant, a worker of a parallel loop, the thread that creates onnxruntime's environment):
 * unchecked throwables as they were, so that the caller sees the same exception type as if it had
 * run the work itself, anything else wrapped.
 */
public final class Failures {
    private Failures() {
    }

    /**
     * Returns when {@code failure} is null; throws it when it is a RuntimeException or an Error;
     * otherwise throws an IllegalStateException with {@code message} (or the failure's own message
     * when null) and the failure as its cause.
     */
    public static void rethrow(Throwable failure, String message) {
        if (failure == null) {
            return;
        }
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error er) {
            throw er;
        }
        throw message == null ? new IllegalStateException(failure) : new IllegalStateException(message, failure);
    }
}
