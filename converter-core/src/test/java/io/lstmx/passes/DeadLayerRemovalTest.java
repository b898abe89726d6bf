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

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class DeadLayerRemovalTest {
    private static ValueInfo v(String name) {
        return new ValueInfo(name, DType.FLOAT32, Shape.of(2, 3));
    }

    private static Layer relu(String name, String in, String out) {
        return new Layer.Activation(name, in, out, ActivationFn.RELU);
    }

    private static Model model(List<String> inputs, List<String> outputs, Layer... layers) {
        return new Model("m", ModelInfo.NONE, inputs.stream().map(DeadLayerRemovalTest::v).toList(),
                outputs.stream().map(DeadLayerRemovalTest::v).toList(), List.of(layers));
    }

    private static List<String> names(Model m) {
        return m.layers().stream().map(Layer::name).toList();
    }

    @Test
    void aBranchThatReachesNoOutputIsRemovedWholeAndTheRestKeepsItsOrder() {
        Model m = model(List.of("x"), List.of("y"),
                relu("a", "x", "a1"),
                relu("dead1", "x", "d1"),
                relu("b", "a1", "b1"),
                relu("dead2", "d1", "d2"),
                new Layer.Binary("c", Layer.Binary.Op.ADD, "a1", "b1", "y"));
        assertEquals(List.of("a", "b", "c"), names(new DeadLayerRemoval().apply(m)));
    }

    @Test
    void unusedConstantsAreRemovedAndUsedOnesKept() {
        Model m = model(List.of("x"), List.of("y"),
                new Layer.Constant("unused", "k0", Tensor.zeros(2, 3)),
                new Layer.Constant("used", "k1", Tensor.zeros(2, 3)),
                new Layer.Binary("add", Layer.Binary.Op.ADD, "x", "k1", "y"));
        assertEquals(List.of("used", "add"), names(new DeadLayerRemoval().apply(m)));
    }

    @Test
    void aLayerStaysWhenOneOfItsOutputsIsNeededThroughALaterLayer() {
        // A Concat reading only one branch still keeps that branch's producer.
        Model m = model(List.of("x"), List.of("y"),
                relu("a", "x", "a1"),
                new Layer.Concat("cat", List.of("a1", "x"), "c1", 0),
                new Layer.Slice("slice", "c1", "y", 0, 0, 2, 1));
        assertEquals(List.of("a", "cat", "slice"), names(new DeadLayerRemoval().apply(m)));
    }

    @Test
    void unusedModelInputsStay() {
        Model m = model(List.of("x", "unused"), List.of("y"), relu("a", "x", "y"), relu("b", "unused", "z"));
        Model out = new DeadLayerRemoval().apply(m);
        assertEquals(List.of("x", "unused"), out.inputNames());
        assertEquals(List.of("a"), names(out));
    }

    @Test
    void anOutputThatIsAnInputNeedsNoLayer() {
        Model m = model(List.of("x"), List.of("x"), relu("a", "x", "y"));
        assertEquals(List.of(), names(new DeadLayerRemoval().apply(m)));
    }

    @Test
    void aModelWithoutDeadLayersIsReturnedAsItIs() {
        Model m = model(List.of("x"), List.of("y", "z"), relu("a", "x", "y"), relu("b", "y", "z"));
        assertSame(m, new DeadLayerRemoval().apply(m));
    }
}
