package io.lstmx.formats;

/** How sure a reader is that a file is in its format; the registry takes the strongest answer. */
public enum Recognition {
    /** Not this format. */
    NO,
    /** The name suggests it (extension), the content was not checked or is not conclusive. */
    BY_NAME,
    /** The content shows it (a signature, an archive layout, a parseable header). */
    BY_CONTENT
}
