package io.lstmx.passes;

import io.lstmx.ir.Dim;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.ValueInfo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds the bidirectional recurrent layers (LSTM, GRU, RNN) whose sequence output is used only as
 * the concatenation of its two directions along the feature axis: a [T, B, 2S] or [B, T, 2S]
 * value whose last axis holds the forward direction's S features, then the reverse direction's
 * (S: the hidden size, or an LSTM's projection size). That is what a Keras {@code Bidirectional}
 * layer (merge mode "concat") and a PyTorch bidirectional {@code nn.LSTM}/{@code GRU}/{@code RNN}
 * output, so exporters to those formats look for it here, in one place, instead of each
 * re-deriving the ONNX idiom.
 *
 * <p>The IR's bidirectional Y is [T, 2, B, S] time-major or [B, T, 2, S] batch-major. The forms
 * recognised are an optional {@code Transpose} that brings the direction axis just before the
 * feature axis, then a {@code Reshape} that merges those two: time-major Y with perm [0, 2, 1, 3]
 * (PyTorch's ONNX export and tf2onnx write this, giving [T, B, 2S]) or [2, 0, 1, 3] (giving
 * [B, T, 2S]); batch-major Y with no Transpose ([B, T, 2S]) or perm [1, 0, 2, 3] ([T, B, 2S]). The
 * Reshape target keeps the first two axes (each 0, or its known size) and gives the last as 2S,
 * with at most one of the three left to -1 (PyTorch writes [0, 0, -1]). Y, and the transposed
 * value, must be read by the next step alone and be no model output: otherwise the layer's
 * direction-separated output is needed as such, which a concatenating layer does not give.
 *
 * <p>Models that hold the other common form, a forward and a reverse one-direction layer whose
 * outputs are concatenated (tf2onnx's rendering of Keras {@code Bidirectional}), find nothing
 * here until {@link BidirectionalMerge} has rewritten them into this one.
 */
public final class BidirectionalPattern {
    private BidirectionalPattern() {
    }

    /**
     * One bidirectional layer with its concatenated output.
     *
     * @param recurrent     the bidirectional LSTM, GRU or RNN layer
     * @param concatenation the layers that turn its Y into the concatenated output, in order
     *                      (Transpose and Reshape, or the Reshape alone); an exporter replaces
     *                      them together with the recurrent layer
     * @param output        the value holding the concatenated output
     * @param outputLayout  TIME_MAJOR when the output is [T, B, 2S], BATCH_MAJOR when [B, T, 2S]
     */
    public record Match(Layer recurrent, List<Layer> concatenation, String output, Layout outputLayout) {
        public Match {
            concatenation = List.copyOf(concatenation);
        }
    }

    /** Every match in {@code model}, in layer order. {@code model} must be consistent (see {@link ShapeInference}). */
    public static List<Match> find(Model model) {
        Graph g = new Graph(model);
        Map<String, ValueInfo> shapes = null;
        List<Match> found = new ArrayList<>();
        for (Layer l : model.layers()) {
            if (Recurrent.is(l) && Recurrent.direction(l) == Direction.BIDIRECTIONAL) {
                if (shapes == null) {
                    shapes = ShapeInference.infer(model);
                }
                Match m = match(g, l, shapes);
                if (m != null) {
                    found.add(m);
                }
            }
        }
        return found;
    }

    /** The match of bidirectional layer {@code l}, or null. */
    private static Match match(Graph g, Layer l, Map<String, ValueInfo> shapes) {
        String y = Recurrent.ports(l).y();
        if (y == null || g.readers(y).size() != 1) {
            return null;
        }
        // The role of each axis: Time, Batch, Direction, Size (features).
        String roles = Recurrent.layout(l) == Layout.TIME_MAJOR ? "TDBS" : "BTDS";
        List<Layer> chain = new ArrayList<>();
        Layer next = g.readers(y).get(0);
        String value = y;
        if (next instanceof Layer.Transpose t) {
            if (!g.onlyReadBy(value, t)) {
                return null;
            }
            roles = permuted(roles, t.perm());
            if (roles == null || g.readers(t.output()).size() != 1) {
                return null;
            }
            chain.add(t);
            value = t.output();
            next = g.readers(value).get(0);
        }
        if (!(next instanceof Layer.Reshape r) || !g.onlyReadBy(value, r) || roles.charAt(2) != 'D' || roles.charAt(3) != 'S') {
            return null;
        }
        if (!mergesLastTwoAxes(r.shape(), shapes.get(value).shape(), 2L * Recurrent.outputSize(l))) {
            return null;
        }
        chain.add(r);
        return new Match(l, chain, r.output(), roles.charAt(0) == 'T' ? Layout.TIME_MAJOR : Layout.BATCH_MAJOR);
    }

    /** The axis roles after a Transpose with {@code perm}, or null when perm is no permutation of four axes. */
    private static String permuted(String roles, List<Integer> perm) {
        if (perm.size() != 4) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        boolean[] seen = new boolean[4];
        for (int p : perm) {
            if (p < 0 || p > 3 || seen[p]) {
                return null;
            }
            seen[p] = true;
            sb.append(roles.charAt(p));
        }
        return sb.toString();
    }

    /**
     * True when Reshape {@code target} turns every [a0, a1, 2, S] input into [a0, a1, 2S]
     * ({@code merged} = 2S): the first two entries 0 (copy) or the input's known size there, the
     * last 2S, and at most one of them -1 (which ONNX then infers as exactly the missing one).
     */
    private static boolean mergesLastTwoAxes(List<Long> target, Shape in, long merged) {
        if (target.size() != 3) {
            return false;
        }
        int inferred = 0;
        for (int k = 0; k < 3; k++) {
            long t = target.get(k);
            if (t == -1) {
                inferred++;
            } else if (k == 2 ? t != merged : t != 0 && !(in.rankKnown() && in.dim(k) instanceof Dim.Fixed f && f.size() == t)) {
                return false;
            }
        }
        return inferred <= 1;
    }
}
