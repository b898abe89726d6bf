package io.lstmx.ir;

import java.util.ArrayList;
import java.util.List;

/** A declared shape; {@code null} dims list is not allowed, an unknown rank is {@link #UNKNOWN}. */
public record Shape(List<Dim> dims, boolean rankKnown) {
    public static final Shape UNKNOWN = new Shape(List.of(), false);

    public Shape {
        dims = List.copyOf(dims);
    }

    public Shape(List<Dim> dims) {
        this(dims, true);
    }

    public static Shape of(Object... dims) {
        List<Dim> l = new ArrayList<>();
        for (Object d : dims) {
            if (d instanceof Dim dim) {
                l.add(dim);
            } else if (d instanceof Number n) {
                l.add(Dim.of(n.longValue()));
            } else {
                l.add(Dim.of(String.valueOf(d)));
            }
        }
        return new Shape(l);
    }

    public int rank() {
        return dims.size();
    }

    public Dim dim(int i) {
        return dims.get(i);
    }

    /** True when {@code actual} fits this declaration (same rank, fixed dims equal). */
    public boolean accepts(int[] actual) {
        if (!rankKnown) {
            return true;
        }
        if (actual.length != dims.size()) {
            return false;
        }
        for (int i = 0; i < actual.length; i++) {
            if (dims.get(i) instanceof Dim.Fixed f && f.size() != actual[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        if (!rankKnown) {
            return "[unknown rank]";
        }
        return dims.toString();
    }
}
