package io.lstmx.importers.kit;

import io.lstmx.ir.Dim;

/**
 * What an importer knows about one dimension: a size, or a symbol. Symbols come from the source
 * file's dimension names (ONNX dim_param, a Keras {@code None} given a name, ...), or are fresh
 * anonymous ones ({@link #anonymous(int)}) for sizes known only at run time. Two dimensions with
 * the same symbol are equal at run time; that is what lets a shape computed from a run-time value
 * become an IR "copy this dimension" entry instead of an unknown.
 *
 * @param value  the size when known, else -1
 * @param symbol the symbol, or null when the size is known
 */
public record SDim(long value, String symbol) {
    /** Prefix of anonymous symbols; they print as "?" and become unnamed IR dimensions. */
    public static final String ANONYMOUS = "?";

    /** A dimension of size {@code value}. */
    public static SDim known(long value) {
        return new SDim(value, null);
    }

    /** A dimension known only at run time, equal to every other dimension with the same symbol. */
    public static SDim symbolic(String symbol) {
        return new SDim(-1, symbol);
    }

    /**
     * The anonymous dimension number {@code serial}: importers number them per model, so that two
     * dimensions derived from the same one keep one symbol while unrelated unknown sizes differ.
     */
    public static SDim anonymous(int serial) {
        return symbolic(ANONYMOUS + serial);
    }

    /** True when the size is known. */
    public boolean isKnown() {
        return symbol == null;
    }

    /** True when the size is known and equals {@code v}. */
    public boolean is(long v) {
        return symbol == null && value == v;
    }

    /** The declared IR dimension; anonymous symbols become unnamed ones. */
    public Dim toIr() {
        if (symbol == null) {
            return Dim.of(value);
        }
        return Dim.of(symbol.startsWith(ANONYMOUS) ? "" : symbol);
    }

    @Override
    public String toString() {
        return symbol == null ? Long.toString(value) : symbol.startsWith(ANONYMOUS) ? "?" : symbol;
    }
}
