package io.lstmx.importers.kit;

import io.lstmx.ir.Dim;
import io.lstmx.ir.Shape;

import java.util.ArrayList;
import java.util.List;

/** Shape arithmetic over {@link SDim}s for the values an importer emits. */
public final class Shapes {
    private Shapes() {
    }

    /** The fully known shape {@code shape}. */
    public static List<SDim> known(int[] shape) {
        List<SDim> l = new ArrayList<>(shape.length);
        for (int d : shape) {
            l.add(SDim.known(d));
        }
        return l;
    }

    /**
     * NumPy broadcasting of two shapes; null when either rank is unknown. Two known sizes that do
     * not broadcast are {@code node}'s BAD_INPUT error; two different symbols give a fresh one.
     */
    public static List<SDim> broadcast(List<SDim> a, List<SDim> b, NodeContext node) {
        if (a == null || b == null) {
            return null;
        }
        int r = Math.max(a.size(), b.size());
        List<SDim> out = new ArrayList<>(r);
        for (int k = 0; k < r; k++) {
            SDim da = k - (r - a.size()) >= 0 ? a.get(k - (r - a.size())) : SDim.known(1);
            SDim db = k - (r - b.size()) >= 0 ? b.get(k - (r - b.size())) : SDim.known(1);
            if (da.is(1)) {
                out.add(db);
            } else if (db.is(1) || da.equals(db)) {
                out.add(da);
            } else if (da.isKnown() && db.isKnown()) {
                throw node.bad("shapes " + a + " and " + b + " do not broadcast");
            } else if (da.isKnown()) {
                out.add(da);
            } else if (db.isKnown()) {
                out.add(db);
            } else {
                out.add(node.freshDim());
            }
        }
        return out;
    }

    /** Product of dimensions: known when all are, the symbol itself when the others are all 1, else a fresh symbol. */
    public static SDim product(List<SDim> dims, NodeContext node) {
        long p = 1;
        SDim symbolic = null;
        int symbols = 0;
        for (SDim d : dims) {
            if (d.isKnown()) {
                p *= d.value();
            } else {
                symbolic = d;
                symbols++;
            }
        }
        if (symbols == 0) {
            return SDim.known(p);
        }
        return symbols == 1 && p == 1 ? symbolic : node.freshDim();
    }

    /**
     * Known dims as ints; a symbolic dim, or one beyond int (which no tensor can have), is
     * {@code node}'s UNSUPPORTED refusal rather than wrapped around.
     */
    public static int[] toInts(List<SDim> dims, NodeContext node) {
        int[] a = new int[dims.size()];
        for (int i = 0; i < a.length; i++) {
            long d = dims.get(i).value();
            if (d < 0 || d > Integer.MAX_VALUE) {
                throw node.unsupported("shape " + dims + " has dimension " + d + "; lstmx tensors have at most "
                        + Integer.MAX_VALUE + " elements per axis");
            }
            a[i] = (int) d;
        }
        return a;
    }

    /** True when the rank is known and so is every dimension. */
    public static boolean allKnown(List<SDim> dims) {
        return dims != null && dims.stream().allMatch(SDim::isKnown);
    }

    /** Entries of a shape-like value (integer constant of rank &le; 1, or a shape vector), else null. */
    public static List<SDim> entries(Value v) {
        if (v instanceof Value.ShapeVec s) {
            return s.entries();
        }
        if (v instanceof Value.Const c && !c.tensor().dtype().isFloating() && c.tensor().rank() <= 1) {
            List<SDim> l = new ArrayList<>();
            for (long x : c.tensor().toLongArray()) {
                l.add(SDim.known(x));
            }
            return l;
        }
        return null;
    }

    /** The IR shape to declare for {@code s}: {@link Shape#UNKNOWN} when the rank is unknown (null). */
    public static Shape toIr(List<SDim> s) {
        if (s == null) {
            return Shape.UNKNOWN;
        }
        List<Dim> dims = new ArrayList<>();
        s.forEach(d -> dims.add(d.toIr()));
        return new Shape(dims);
    }
}
