package io.lstmx.util;

import io.lstmx.errors.LstmxException;

import java.util.Locale;

/**
 * The Java heap as a budget: large allocations whose size comes from a file are checked against it
 * first, so that a model too large for this JVM is refused with a hint that says how to give it more
 * memory, rather than failing half-way with an OutOfMemoryError.
 */
public final class Heap {
    private Heap() {
    }

    /** Bytes the heap can still grow to hold (the maximum less what is in use, garbage included). */
    public static long available() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    /** How to give Java more memory, e.g. "give Java more memory, e.g. JAVA_TOOL_OPTIONS=-Xmx8g (now -Xmx4096m)". */
    public static String hint() {
        long max = Runtime.getRuntime().maxMemory();
        return "give Java more memory, e.g. JAVA_TOOL_OPTIONS=-Xmx" + Math.max(2, 2 * ((max >> 30) + 1)) + "g (now -Xmx" + (max >> 20) + "m)";
    }

    /**
     * Refuses with UNSUPPORTED when {@code bytes} cannot fit the heap. Garbage counts as used until
     * collected, so a refusal is confirmed after one collection.
     *
     * @param bytes what is about to be allocated
     * @param what  what for, for the message, e.g. "model.onnx: tensor 'W'"
     */
    public static void require(long bytes, String what) {
        if (bytes <= available()) {
            return;
        }
        System.gc(); // rare path: only when the estimate says no
        long free = available();
        if (bytes > free) {
            throw LstmxException.unsupported(String.format(Locale.ROOT, "%s needs about %d MiB but the Java heap has %d MiB free; %s",
                    what, bytes >> 20, free >> 20, hint()));
        }
    }
}
