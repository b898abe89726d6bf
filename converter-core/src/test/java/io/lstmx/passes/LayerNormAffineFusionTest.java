package io.lstmx.passes;

import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerNormAffineFusionTest {
    private static final Tensor G = Tensor.ofFloats(new int[] {3}, new float[] {2, 3, 4});
    private static final Tensor B = Tensor.ofFloats(new int[] {3}, new float[] {0.5f, -1, 0});

    private static Model model(Object lastDim, List<String> outputs, Layer... layers) {
        List<ValueInfo> outs = new ArrayList<>();
        outputs.forEach(o -> outs.add(new ValueInfo(o, DType.FLOAT32, Shape.of(4, lastDim))));
        return new Model("m", ModelInfo.NONE, List.of(new ValueInfo("x", DType.FLOAT32, Shape.of(4, lastDim))), outs, List.of(layers));
    }

    private static Layer.LayerNorm norm(String out) {
        return new Layer.LayerNorm("ln", "x", out, 1e-3f, null, null);
    }

    private static Layer constant(String name, Tensor t) {
        return new Layer.Constant(name, name, t);
    }

    private static Layer.LayerNorm only(Model m) {
        List<Layer> left = new DeadLayerRemoval().apply(m).layers();
        assertEquals(1, left.size(), left.toString());
        return (Layer.LayerNorm) left.get(0);
    }

    @Test
    void aScaleThenAShiftOfConstantsBecomeGammaAndBetaUnderTheAddsName() {
        Model m = model(3, List.of("y"), norm("n"), constant("g", G), new Layer.Binary("mul", Layer.Binary.Op.MUL, "n", "g", "s"),
                constant("b", B), new Layer.Binary("add", Layer.Binary.Op.ADD, "b", "s", "y"));
        Layer.LayerNorm ln = only(new LayerNormAffineFusion().apply(m));
        assertEquals("y", ln.output());
        assertEquals(1e-3f, ln.epsilon());
        assertSame(G, ln.gamma());
        assertSame(B, ln.beta());
    }

    @Test
    void aScaleAloneOrAShiftAloneIsFoldedToo() {
        Model scaled = model(3, List.of("y"), norm("n"), constant("g", G), new Layer.Binary("mul", Layer.Binary.Op.MUL, "g", "n", "y"));
        Layer.LayerNorm a = only(new LayerNormAffineFusion().apply(scaled));
        assertSame(G, a.gamma());
        assertNull(a.beta());
        Model shifted = model(3, List.of("y"), norm("n"), constant("b", B), new Layer.Binary("add", Layer.Binary.Op.ADD, "n", "b", "y"));
        Layer.LayerNorm b = only(new LayerNormAffineFusion().apply(shifted));
        assertNull(b.gamma());
        assertSame(B, b.beta());
    }

    @Test
    void aUnitScaleTakesGammaAndALayerNormWithNothingAfterItGetsOneOfItsSize() {
        Tensor ones = Tensor.ofFloats(new int[] {3}, new float[] {1, 1, 1});
        Model unit = model(3, List.of("y"), new Layer.LayerNorm("ln", "x", "n", 1e-5f, ones, null), constant("g", G),
                new Layer.Binary("mul", Layer.Binary.Op.MUL, "n", "g", "y"));
        assertSame(G, only(new LayerNormAffineFusion().apply(unit)).gamma());
        Model bare = model(3, List.of("n"), norm("n"));
        Layer.LayerNorm ln = only(new LayerNormAffineFusion().apply(bare));
        assertArrayEquals(new float[] {1, 1, 1}, ln.gamma().toFloatArray());
        assertEquals(3, ln.features());
    }

    @Test
    void nothingIsFoldedWhenAValueIsReadElsewhereIsAnOutputOrTheAxisIsUnknown() {
        Model twice = model(3, List.of("y", "z"), norm("n"), constant("g", G), new Layer.Binary("mul", Layer.Binary.Op.MUL, "n", "g", "y"),
                new Layer.Activation("relu", "n", "z", ActivationFn.RELU));
        Model t = new LayerNormAffineFusion().apply(twice);
        assertArrayEquals(new float[] {1, 1, 1}, only2(t).gamma().toFloatArray(), "not folded: only given its unit scale");
        assertTrue(t.layers().stream().anyMatch(l -> l instanceof Layer.Binary));
        Model output = model(3, List.of("y", "n"), norm("n"), constant("g", G), new Layer.Binary("mul", Layer.Binary.Op.MUL, "n", "g", "y"));
        assertTrue(new LayerNormAffineFusion().apply(output).layers().stream().anyMatch(l -> l instanceof Layer.Binary));
        Model unknown = model("T", List.of("y"), norm("n"), constant("g", G), new Layer.Binary("mul", Layer.Binary.Op.MUL, "n", "g", "y"));
        assertSame(unknown, new LayerNormAffineFusion().apply(unknown), "a [3] scale could broadcast over an axis of another size");
    }

    @Test
    void nothingIsFoldedForAConstantThatBroadcastsOrAnotherOp() {
        Model one = model(3, List.of("y"), norm("n"), constant("g", Tensor.ofFloats(new int[] {1}, new float[] {2})),
                new Layer.Binary("mul", Layer.Binary.Op.MUL, "n", "g", "y"));
        assertTrue(new LayerNormAffineFusion().apply(one).layers().stream().anyMatch(l -> l instanceof Layer.Binary), "a [1] scale broadcasts");
        Model sub = model(3, List.of("y"), norm("n"), constant("b", B), new Layer.Binary("sub", Layer.Binary.Op.SUB, "n", "b", "y"));
        assertTrue(new LayerNormAffineFusion().apply(sub).layers().stream().anyMatch(l -> l instanceof Layer.Binary));
        Model shiftThenScale = model(3, List.of("y"), norm("n"), constant("b", B), new Layer.Binary("add", Layer.Binary.Op.ADD, "n", "b", "s"),
                constant("g", G), new Layer.Binary("mul", Layer.Binary.Op.MUL, "s", "g", "y"));
        Model f = new LayerNormAffineFusion().apply(shiftThenScale);
        Layer.LayerNorm ln = (Layer.LayerNorm) f.layers().stream().filter(l -> l instanceof Layer.LayerNorm).findFirst().orElseThrow();
        assertSame(B, ln.beta(), "the shift is folded");
        assertTrue(f.layers().stream().anyMatch(l -> l instanceof Layer.Binary b && b.op() == Layer.Binary.Op.MUL),
                "a scale after the shift is not gamma: (d + b) g is not d g + b");
    }

    /** The model's LayerNorm (other layers stay). */
    private static Layer.LayerNorm only2(Model m) {
        return (Layer.LayerNorm) m.layers().stream().filter(l -> l instanceof Layer.LayerNorm).findFirst().orElseThrow();
    }
}
