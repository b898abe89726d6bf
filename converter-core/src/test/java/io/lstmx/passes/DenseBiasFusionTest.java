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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DenseBiasFusionTest {
    private static final Tensor W = Tensor.ofFloats(new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6});
    private static final Tensor B = Tensor.ofFloats(new int[] {2}, new float[] {0.5f, -1f});

    private static Model model(List<String> outputs, Layer... layers) {
        List<ValueInfo> outs = new ArrayList<>();
        outputs.forEach(o -> outs.add(new ValueInfo(o, DType.FLOAT32, Shape.of(4, 2))));
        return new Model("m", ModelInfo.NONE, List.of(new ValueInfo("x", DType.FLOAT32, Shape.of(4, 3))), outs, List.of(layers));
    }

    private static Layer dense(String out) {
        return new Layer.Dense("fc", "x", out, W, null);
    }

    private static Layer bias(Tensor t) {
        return new Layer.Constant("b", "b", t);
    }

    @Test
    void aBiasAddedToADenseWithoutBiasBecomesItsBiasUnderTheAddsName() {
        Model m = model(List.of("y"), dense("mm"), bias(B), new Layer.Binary("add", Layer.Binary.Op.ADD, "mm", "b", "y"));
        Model f = new DenseBiasFusion().apply(m);
        Layer.Dense d = (Layer.Dense) f.layers().stream().filter(l -> l instanceof Layer.Dense).findFirst().orElseThrow();
        assertEquals("y", d.output());
        assertSame(B, d.bias());
        assertTrue(f.layers().stream().noneMatch(l -> l instanceof Layer.Binary));
        assertEquals(List.of("fc"), new DeadLayerRemoval().apply(f).layers().stream().map(Layer::name).toList(), "the constant is dead now");
    }

    @Test
    void theConstantMayBeTheAddsFirstOperand() {
        Model m = model(List.of("y"), dense("mm"), bias(B), new Layer.Binary("add", Layer.Binary.Op.ADD, "b", "mm", "y"));
        assertTrue(new DenseBiasFusion().apply(m).layers().stream().noneMatch(l -> l instanceof Layer.Binary));
    }

    @Test
    void nothingIsFusedWhenTheProductIsReadElsewhereOrIsAnOutput() {
        Model twice = model(List.of("y", "z"), dense("mm"), bias(B), new Layer.Binary("add", Layer.Binary.Op.ADD, "mm", "b", "y"),
                new Layer.Activation("relu", "mm", "z", ActivationFn.RELU));
        assertSame(twice, new DenseBiasFusion().apply(twice));
        Model output = model(List.of("y", "mm"), dense("mm"), bias(B), new Layer.Binary("add", Layer.Binary.Op.ADD, "mm", "b", "y"));
        assertSame(output, new DenseBiasFusion().apply(output));
    }

    @Test
    void nothingIsFusedForABiasOfAnotherShapeOrADenseThatHasOne() {
        Model wide = model(List.of("y"), dense("mm"), bias(Tensor.ofFloats(new int[] {4, 2}, new float[8])),
                new Layer.Binary("add", Layer.Binary.Op.ADD, "mm", "b", "y"));
        assertSame(wide, new DenseBiasFusion().apply(wide));
        Model has = model(List.of("y"), new Layer.Dense("fc", "x", "mm", W, B), bias(B),
                new Layer.Binary("add", Layer.Binary.Op.ADD, "mm", "b", "y"));
        assertSame(has, new DenseBiasFusion().apply(has));
        Model sub = model(List.of("y"), dense("mm"), bias(B), new Layer.Binary("sub", Layer.Binary.Op.SUB, "mm", "b", "y"));
        assertSame(sub, new DenseBiasFusion().apply(sub));
    }
}
