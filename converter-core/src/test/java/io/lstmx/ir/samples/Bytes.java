package io.lstmx.ir.samples;

/** Byte-level helpers for tests that look inside written files. */
public final class Bytes {
    private Bytes() {
    }

    /** Offset of the first occurrence of {@code needle} in {@code hay}; an AssertionError when there is none. */
    public static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
