package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sort/unsort that torch.onnx writes around an LSTM for pack_padded_sequence(enforce_sorted=
 * False) is removed only when it provably cancels. The graphs here follow the node sequence torch
 * 1.13 emits (see fixtures/onnx/packed); the PyTorch-made files themselves are checked against
 * PyTorch's outputs in the tests module.
 */
class PackedSequenceRewriteTest {
    private static final int T = 4;
    private static final int B = 3;
    private static final int I = 2;
    private static final int H = 3;

    /** Knobs that each break one condition of the rewrite. */
    private static final class Variant {
        long unsortAxis = 1;
        boolean permutationIsOutput;
        boolean lstmReadsUnsortedLengths;
        boolean noLstm;
        boolean constantK;
        boolean addAfterSort;
        long[] reshapeTarget;
    }

    private static float[] values(int n, float scale, float shift) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) Math.sin(i * 1.7 + shift) * scale;
        }
        return v;
    }

    private static OnnxBuilder weights(OnnxBuilder b) {
        return b.initializer("W", f(s(1, 4 * H, I), values(4 * H * I, 0.6f, 0.1f)))
                .initializer("R", f(s(1, 4 * H, H), values(4 * H * H, 0.5f, 0.7f)))
                .initializer("B", f(s(1, 8 * H), values(8 * H, 0.3f, 1.3f)));
    }

    /** torch's packed export of a time-major one-layer LSTM: returns y [T, B, H] and h [1, B, H]. */
    private static OnnxBuilder packed(Variant v) {
        OnnxBuilder b = weights(new OnnxBuilder(14).input("x", FLOAT, "time", "batch", I).input("lengths", INT64, "batch"))
                .initializer("minus1", l(s(1), -1)).initializer("zero", l(s(), 0)).initializer("one", l(s(), 1))
                .initializer("axis1", l(s(1), 1))
                .initializer("two", l(s(1), 2))
                .node("Cast", List.of("lengths"), List.of("len64"), attr("to", (long) INT64))
                .node("Shape", List.of("len64"), List.of("lenShape"));
        if (v.constantK) {
            b.node("Identity", List.of("two"), List.of("k"));
        } else {
            b.node("Gather", List.of("lenShape", "minus1"), List.of("k"));
        }
        b.node("topk", "TopK", List.of("len64", "k"), List.of("sorted", "perm"), attr("axis", -1L), attr("largest", 1L))
                .node("Cast", List.of("perm"), List.of("perm64"), attr("to", (long) INT64))
                .node("sort", "Gather", List.of("x", "perm64"), List.of("xs"), attr("axis", 1L))
                .node("Cast", List.of("sorted"), List.of("lens32"), attr("to", (long) INT32))
                .node("Shape", List.of("perm64"), List.of("permShape"))
                .node("ReduceProd", List.of("permShape"), List.of("n"), attr("keepdims", 0L))
                .node("Range", List.of("zero", "n", "one"), List.of("iota"))
                .node("Shape", List.of("perm64"), List.of("permShape2"))
                .node("ConstantOfShape", List.of("permShape2"), List.of("fill"), attr("value", l(s(1), 0)))
                .node("ScatterElements", List.of("fill", "perm64", "iota"), List.of("inverse"), attr("axis", 0L));
        String seq = "xs";
        if (v.addAfterSort) {
            b.input("bias", FLOAT, "time", "batch", I).node("Add", List.of("xs", "bias"), List.of("xs2"));
            seq = "xs2";
        }
        String y;
        String h;
        if (v.noLstm) {
            y = seq;
            h = null;
        } else {
            String lens = v.lstmReadsUnsortedLengths ? "lens32u" : "lens32";
            if (v.lstmReadsUnsortedLengths) {
                b.node("Cast", List.of("lengths"), List.of("lens32u"), attr("to", (long) INT32));
            }
            b.node("lstm", "LSTM", List.of(seq, "W", "R", "B", lens), List.of("Y", "Y_h"), attr("hidden_size", (long) H))
                    .node("Squeeze", List.of("Y", "axis1"), List.of("ys"));
            y = "ys";
            h = "Y_h";
            if (v.reshapeTarget != null) {
                b.initializer("target", l(s(v.reshapeTarget.length), v.reshapeTarget)).node("Reshape", List.of("ys", "target"), List.of("ym"));
                y = "ym";
            }
        }
        b.node("unsort", "Gather", List.of(y, "inverse"), List.of("y"), attr("axis", v.unsortAxis));
        b.output("y");
        if (h != null) {
            b.node("unsortH", "Gather", List.of(h, "inverse"), List.of("h"), attr("axis", 1L)).output("h");
        }
        if (v.permutationIsOutput) {
            b.output("perm");
        }
        return b;
    }

    private static GraphProto graph(OnnxBuilder b) {
        return b.build().getGraph();
    }

    private static List<String> ops(GraphProto g) {
        List<String> l = new ArrayList<>();
        for (NodeProto n : g.getNodeList()) {
            l.add(n.getOpType());
        }
        return l;
    }

    private static Map<String, Tensor> inputs() {
        // Unsorted lengths with a tie, one row shorter than T and one of length 1.
        return Map.of("x", f(s(T, B, I), values(T * B * I, 0.9f, 2.0f)), "lengths", l(s(B), 2, 4, 2));
    }

    @Test
    void sortAndUnsortAroundTheLstmCancel() {
        GraphProto before = graph(packed(new Variant()));
        GraphProto after = PackedSequenceRewrite.apply(before);
        List<String> ops = ops(after);
        for (String gone : List.of("TopK", "ScatterElements", "Range", "ReduceProd", "ConstantOfShape", "Gather")) {
            assertTrue(!ops.contains(gone), gone + " left in " + ops);
        }
        assertEquals(1, ops.stream().filter(o -> o.equals("LSTM")).count(), "LSTM nodes in " + ops);

        Model m = packed(new Variant()).convert();
        Layer.Lstm lstm = only(m, Layer.Lstm.class);
        assertNotNull(lstm.sequenceLengths(), "the LSTM keeps the run-time lengths");
        assertTrue(layers(m, Layer.Take.class).isEmpty(), "no layer moves batch rows: " + m.layers());
    }

    /**
     * The imported packed graph computes what the plain ONNX LSTM computes with the unsorted
     * lengths, and each row obeys the sequence-length invariants: zeros past its length, and its
     * last state equal to its output at its last step.
     */
    @Test
    void packedGraphEqualsTheLstmOnUnsortedLengths() {
        Map<String, Tensor> in = inputs();
        Map<String, Tensor> packedOut = run(packed(new Variant()).convert(), in);

        OnnxBuilder direct = weights(new OnnxBuilder(14).input("x", FLOAT, "time", "batch", I).input("lengths", INT64, "batch"))
                .initializer("axis1", l(s(1), 1))
                .node("Cast", List.of("lengths"), List.of("lens32"), attr("to", (long) INT32))
                .node("LSTM", List.of("x", "W", "R", "B", "lens32"), List.of("Y", "h"), attr("hidden_size", (long) H))
                .node("Squeeze", List.of("Y", "axis1"), List.of("y")).output("y").output("h");
        Map<String, Tensor> directOut = run(direct.convert(), in);
        for (String name : List.of("y", "h")) {
            float[] a = packedOut.get(name).toFloatArray();
            float[] e = directOut.get(name).toFloatArray();
            assertEquals(e.length, a.length, name + " size");
            for (int i = 0; i < e.length; i++) {
                assertEquals(e[i], a[i], 1e-6f, name + "[" + i + "]");
            }
        }

        float[] y = packedOut.get("y").toFloatArray();
        float[] h = packedOut.get("h").toFloatArray();
        long[] lens = in.get("lengths").toLongArray();
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                for (int k = 0; k < H; k++) {
                    float v = y[(t * B + b) * H + k];
                    if (t >= lens[b]) {
                        assertEquals(0f, v, "y past the length of row " + b + " at t=" + t);
                    } else if (t == lens[b] - 1) {
                        assertEquals(h[b * H + k], v, 1e-6f, "h of row " + b + " is its output at its last step");
                    }
                }
            }
        }
        boolean nonZero = false;
        for (float v : h) {
            nonZero |= v != 0f;
        }
        assertTrue(nonZero, "the LSTM produced only zeros; the check above would prove nothing");
    }

    /**
     * Thousands of packed LSTMs side by side are each rewritten, exactly as one alone is, in time
     * near-linear in the graph: the rewrite changes only the nodes it concerns (rebuilding the
     * graph for each of them was quadratic, minutes for this one).
     */
    @Test
    void fourThousandPackedLstmsAreEachRewrittenAsOneAloneIsInBoundedTime() {
        int copies = 4000;
        GraphProto one = graph(packed(new Variant()));
        Set<String> shared = new HashSet<>(); // the graph inputs and the initializers, which the copies share
        one.getInputList().forEach(v -> shared.add(v.getName()));
        one.getInitializerList().forEach(t -> shared.add(t.getName()));
        GraphProto.Builder many = one.toBuilder().clearNode().clearOutput();
        for (int k = 0; k < copies; k++) {
            String prefix = "p" + k + "/";
            one.getNodeList().forEach(n -> many.addNode(prefixed(n, prefix, shared)));
            one.getOutputList().forEach(o -> many.addOutput(o.toBuilder().setName(prefix + o.getName())));
        }
        GraphProto before = many.build();
        GraphProto after = assertTimeoutPreemptively(Duration.ofSeconds(40), () -> PackedSequenceRewrite.apply(before));

        GraphProto oneAfter = PackedSequenceRewrite.apply(one);
        List<NodeProto> expected = new ArrayList<>();
        for (int k = 0; k < copies; k++) {
            String prefix = "p" + k + "/";
            oneAfter.getNodeList().forEach(n -> expected.add(prefixed(n, prefix, shared)));
        }
        assertTrue(!ops(oneAfter).contains("TopK"), "the one packed LSTM is rewritten: " + ops(oneAfter));
        assertEquals(expected, after.getNodeList());
    }

    /** {@code n} with its name and every value name prefixed, except the {@code shared} ones. */
    private static NodeProto prefixed(NodeProto n, String prefix, Set<String> shared) {
        NodeProto.Builder b = n.toBuilder().setName(n.getName().isEmpty() ? "" : prefix + n.getName());
        for (int i = 0; i < b.getInputCount(); i++) {
            if (!b.getInput(i).isEmpty() && !shared.contains(b.getInput(i))) {
                b.setInput(i, prefix + b.getInput(i));
            }
        }
        for (int i = 0; i < b.getOutputCount(); i++) {
            if (!b.getOutput(i).isEmpty()) {
                b.setOutput(i, prefix + b.getOutput(i));
            }
        }
        return b.build();
    }

    @Test
    void graphsWithoutTopKAreUntouched() {
        GraphProto g = graph(weights(new OnnxBuilder(14).input("x", FLOAT, "t", "b", I))
                .node("LSTM", List.of("x", "W", "R", "B"), List.of("Y"), attr("hidden_size", (long) H)).output("Y"));
        assertSame(g, PackedSequenceRewrite.apply(g));
    }

    private static void untouched(Variant v) {
        GraphProto g = graph(packed(v));
        assertSame(g, PackedSequenceRewrite.apply(g), "the rewrite must not apply");
        packed(v).fails(ErrorCode.UNSUPPORTED);
    }

    @Test
    void unsortAlongAnotherAxisIsNotRemoved() {
        Variant v = new Variant();
        v.unsortAxis = 0;
        untouched(v);
    }

    @Test
    void permutationThatIsAGraphOutputIsKept() {
        Variant v = new Variant();
        v.permutationIsOutput = true;
        untouched(v);
    }

    @Test
    void lstmWithUnsortedLengthsOnSortedRowsIsNotEquivariant() {
        Variant v = new Variant();
        v.lstmReadsUnsortedLengths = true;
        untouched(v);
    }

    /** Gather(x, pi) then its inverse without an LSTM: nothing enforces x having one row per length. */
    @Test
    void unsortOfAnUncheckedValueIsRefused() {
        Variant v = new Variant();
        v.noLstm = true;
        untouched(v);
    }

    @Test
    void partialTopKIsNotAPermutation() {
        Variant v = new Variant();
        v.constantK = true;
        untouched(v);
    }

    /** Adding a run-time value that is not permuted along with the rows does not commute with the sort. */
    @Test
    void mixingWithAnUnsortedValueIsRefused() {
        Variant v = new Variant();
        v.addAfterSort = true;
        untouched(v);
    }

    /** A Reshape that copies the axes up to the batch one keeps rows apart; one merging it does not. */
    @Test
    void reshapeMustKeepTheBatchAxis() {
        Variant keeps = new Variant();
        keeps.reshapeTarget = new long[] {0, 0, -1};
        GraphProto g = graph(packed(keeps));
        assertTrue(!ops(PackedSequenceRewrite.apply(g)).contains("TopK"), "[0, 0, -1] keeps time and batch");

        Variant merges = new Variant();
        merges.reshapeTarget = new long[] {-1, H};
        merges.unsortAxis = 0;
        untouched(merges);
    }

    private static GraphProto withNode(GraphProto g, String name, java.util.function.UnaryOperator<NodeProto.Builder> change) {
        GraphProto.Builder b = g.toBuilder();
        for (NodeProto.Builder n : b.getNodeBuilderList()) {
            if (n.getName().equals(name)) {
                change.apply(n);
                return b.build();
            }
        }
        throw new AssertionError("no node " + name);
    }

    /**
     * Malformed nodes on the permutation's path (a missing input or output, an attribute of the wrong
     * type) are no match: the graph is left as it is for the converters to report, and nothing else
     * escapes the matcher (which now lets every other exception through as a bug).
     */
    @Test
    void malformedNodesAreNoMatch() {
        GraphProto g = graph(packed(new Variant()));
        List<GraphProto> broken = List.of(
                withNode(g, "unsort", n -> n.clearInput().addInput("ys")),
                withNode(g, "sort", n -> n.clearOutput()),
                withNode(g, "topk", n -> n.setAttribute(0, attr("axis", 1.5f))),
                withNode(g, "lstm", n -> n.addAttribute(ints("layout", 1))));
        for (GraphProto b : broken) {
            assertSame(b, PackedSequenceRewrite.apply(b));
        }
    }

    /**
     * Attributes are read as the converter reads them (OnnxNode's accessors): one without a type
     * field, as IR version 1 files write them, counts by the field that is set.
     */
    @Test
    void untypedAttributesAreReadLikeTheConverterReadsThem() {
        GraphProto g = withNode(graph(packed(new Variant())), "topk",
                n -> n.setAttribute(0, io.lstmx.onnx.proto.Onnx.AttributeProto.newBuilder().setName("axis").setI(-1)));
        assertTrue(!ops(PackedSequenceRewrite.apply(g)).contains("TopK"), "an untyped axis = -1 is still axis -1");
    }
}
