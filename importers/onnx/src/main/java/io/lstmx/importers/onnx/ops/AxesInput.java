package io.lstmx.importers.onnx.ops;

import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;

import java.util.ArrayList;
import java.util.List;

/** The axes of Squeeze/Unsqueeze/ReduceX: an attribute before opset 13, an optional input from 13. */
final class AxesInput {
    private AxesInput() {
    }

    /** The axes as given (possibly negative), or null when absent. */
    static List<Long> read(OnnxNode n, int inputIndex) {
        if (n.opset() < 13) {
            return n.attrInts("axes");
        }
        Tensor t = n.constIn(inputIndex, "axes");
        if (t == null) {
            return null;
        }
        if (t.dtype().isFloating() || t.rank() > 1) {
            throw n.bad("axes has shape " + java.util.Arrays.toString(t.shape()) + " of " + t.dtype() + ", expected a 1-D int64 tensor");
        }
        List<Long> l = new ArrayList<>();
        for (long v : t.toLongArray()) {
            l.add(v);
        }
        return l;
    }

    /** The axes for an IR layer: {@code normalized} when the rank is known (non-null), else as given. */
    static List<Integer> forLayer(OnnxNode n, List<Integer> normalized, List<Long> given) {
        if (normalized != null) {
            return normalized;
        }
        List<Integer> out = new ArrayList<>();
        for (long a : given) {
            out.add(n.rawAxis(a, "axis"));
        }
        return out;
    }

    /** Normalised, sorted, distinct axes for {@code rank}. */
    static List<Integer> normalize(OnnxNode n, List<Long> axes, int rank) {
        List<Integer> out = new ArrayList<>();
        // a flag per axis, not a search of the list: 100,000 axes would cost 10^10 steps
        boolean[] seen = new boolean[rank];
        for (long a : axes) {
            int v = n.axis(a, rank, "axis");
            if (seen[v]) {
                throw n.bad("axis " + a + " is repeated in " + SafeText.list(axes));
            }
            seen[v] = true;
            out.add(v);
        }
        out.sort(null);
        return out;
    }
}
