package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Dim;

/**
 * What the importer knows about one dimension: a size, or a symbol. Symbols come from graph inputs'
 * dim_param names, or are fresh anonymous ones (prefix {@link #ANONYMOUS}) for sizes known only at
 * run time. Two dimensions with the same symbol are equal at run time; that is what lets
 * Shape-derived Reshape targets become IR "copy this dimension" entries.
 */
record SDim(long value, String symbol) {
    static final String ANONYMOUS = "?";

    static SDim known(long value) {
        return new SDim(value, null);
    }

    static SDim symbolic(String symbol) {
        return new SDim(-1, symbol);
    }

    boolean isKnown() {
        return symbol == null;
    }

    boolean is(long v) {
        return symbol == null && value == v;
    }

    /** The declared IR dimension; anonymous symbols become unnamed ones. */
    Dim toIr() {
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
