package io.lstmx.passes;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PassesTest {
    private static final ValueInfo X = new ValueInfo("x", DType.FLOAT32, Shape.of(2, 3));

    private static Model model(List<ValueInfo> outputs, Layer... layers) {
        return new Model("m", ModelInfo.NONE, List.of(X), outputs, List.of(layers));
    }

    private static Model relu() {
        return model(List.of(new ValueInfo("y", DType.FLOAT32, Shape.of(2, 3))), new Layer.Activation("a", "x", "y", ActivationFn.RELU));
    }

    private static Pass pass(String name, UnaryOperator<Model> f) {
        return new Pass() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Model apply(Model model) {
                return f.apply(model);
            }
        };
    }

    @Test
    void passesRunInOrderEachOnThePreviousResult() {
        List<String> calls = new ArrayList<>();
        Model start = relu();
        Model second = model(List.of(new ValueInfo("y", DType.FLOAT32, Shape.of(2, 3))), new Layer.Activation("b", "x", "y", ActivationFn.TANH));
        Passes p = Passes.of(
                pass("one", m -> {
                    calls.add("one saw " + m.layers().get(0).name());
                    return second;
                }),
                pass("two", m -> {
                    calls.add("two saw " + m.layers().get(0).name());
                    return m;
                }));
        assertSame(second, p.run(start));
        assertEquals(List.of("one saw a", "two saw b"), calls);
        assertEquals("[one, two]", p.toString());
    }

    @Test
    void thenAddsAPassAtTheEndWithoutChangingTheOriginal() {
        Passes p = Passes.of(new DeadLayerRemoval());
        Passes q = p.then(pass("last", m -> m));
        assertEquals(1, p.passes().size());
        assertEquals(List.of("dead-layer-removal", "last"), q.passes().stream().map(Pass::name).toList());
    }

    @Test
    void aResultThatFailsShapeInferenceIsAnInternalErrorNamingThePass() {
        // "y" is declared [2, 3], but the broken pass makes it a Softmax over axis 5 of a rank-2 value.
        Passes p = Passes.of(pass("breaker", m -> model(m.outputs(), new Layer.Softmax("s", "x", "y", 5, false))));
        LstmxException e = assertThrows(LstmxException.class, () -> p.run(relu()));
        assertEquals(ErrorCode.INTERNAL, e.code());
        assertTrue(e.getMessage().startsWith("pass 'breaker' made an inconsistent model: "), e.getMessage());
    }

    @Test
    void anErrorThrownByAPassNamesItAndAnUnsupportedRefusalKeepsItsCode() {
        Passes refuses = Passes.of(pass("picky", m -> {
            throw LstmxException.unsupported("no thanks");
        }));
        LstmxException e = assertThrows(LstmxException.class, () -> refuses.run(relu()));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertEquals("pass 'picky': no thanks", e.getMessage());

        Passes breaks = Passes.of(pass("buggy", m -> {
            throw new IllegalStateException("oops");
        }));
        LstmxException b = assertThrows(LstmxException.class, () -> breaks.run(relu()));
        assertEquals(ErrorCode.INTERNAL, b.code());
        assertTrue(b.getMessage().startsWith("pass 'buggy': "), b.getMessage());
    }

    @Test
    void aPassThatFindsTheCheckedModelMalformedIsAtFault() {
        Passes p = Passes.of(pass("confused", m -> {
            throw LstmxException.badInput("bad model");
        }));
        LstmxException e = assertThrows(LstmxException.class, () -> p.run(relu()));
        assertEquals(ErrorCode.INTERNAL, e.code());
        assertEquals("pass 'confused': bad model", e.getMessage());
    }

    @Test
    void anInconsistentInputIsBadInputAndNamesNoPass() {
        Model bad = model(List.of(new ValueInfo("y", DType.FLOAT32, Shape.of(2, 3))), new Layer.Softmax("s", "x", "y", 5, false));
        LstmxException e = assertThrows(LstmxException.class, () -> Passes.of(new DeadLayerRemoval()).run(bad));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(!e.getMessage().contains("pass '"), e.getMessage());
    }
}
