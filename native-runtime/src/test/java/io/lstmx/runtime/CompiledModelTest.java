package io.lstmx.runtime;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.lstmx.runtime.TestSupport.assertTensor;
import static io.lstmx.runtime.TestSupport.ints;
import static io.lstmx.runtime.TestSupport.t;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Input checking, output order and graph execution of a compiled model. */
class CompiledModelTest {
    /** a [batch, 3] (float), b [batch, 3] (float), ids [?] (int): y = a + b, z = Embedding(ids), w = y * 2. */
    private static Model model() {
        List<ValueInfo> in = List.of(
                new ValueInfo("a", DType.FLOAT32, Shape.of("batch", 3)),
                new ValueInfo("b", DType.FLOAT32, Shape.of("batch", 3)),
                new ValueInfo("ids", DType.INT64, new Shape(List.of(Dim.of("")))));
        List<Layer> layers = List.of(
                new Layer.Binary("add", Layer.Binary.Op.ADD, "a", "b", "y"),
                new Layer.Constant("two", "k", Tensor.scalar(2)),
                new Layer.Binary("mul", Layer.Binary.Op.MUL, "y", "k", "w"),
                new Layer.Embedding("emb", "ids", "z", t(new float[] {5, 6}, 2, 1)));
        // Outputs deliberately in another order than the layers produce them.
        return new Model("toy", ModelInfo.NONE, in, List.of(
                new ValueInfo("z", DType.FLOAT32, Shape.UNKNOWN),
                new ValueInfo("w", DType.FLOAT32, Shape.UNKNOWN),
                new ValueInfo("y", DType.FLOAT32, Shape.UNKNOWN)), layers);
    }

    private static Map<String, Tensor> inputs(Object... kv) {
        Map<String, Tensor> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], (Tensor) kv[i + 1]);
        }
        return m;
    }

    private static void assertBadInput(Executable e, String... fragments) {
        LstmxException ex = assertThrows(LstmxException.class, e);
        assertEquals(ErrorCode.BAD_INPUT, ex.code(), ex.getMessage());
        for (String f : fragments) {
            assertTrue(ex.getMessage().contains(f), "'" + ex.getMessage() + "' should contain '" + f + "'");
        }
    }

    @Test
    void runsTheGraphAndReturnsOutputsInModelOrder() {
        CompiledModel m = NativeRuntime.compile(model());
        Map<String, Tensor> out = m.run(inputs("a", t(new float[] {1, 2, 3}, 1, 3), "b", t(new float[] {10, 20, 30}, 1, 3),
                "ids", ints(new long[] {1, 0, 1}, 3)));
        assertEquals(List.of("z", "w", "y"), List.copyOf(out.keySet()));
        assertTensor(out.get("y"), new int[] {1, 3}, 11, 22, 33);
        assertTensor(out.get("w"), new int[] {1, 3}, 22, 44, 66);
        assertTensor(out.get("z"), new int[] {3, 1}, 6, 5, 6);
    }

    @Test
    void checksInputsAgainstTheDeclaration() {
        CompiledModel m = NativeRuntime.compile(model());
        Tensor a = t(new float[6], 2, 3);
        Tensor ids = ints(new long[] {0}, 1);
        assertBadInput(() -> m.run(inputs("a", a, "ids", ids)), "input 'b'", "missing");
        assertBadInput(() -> m.run(inputs("a", a, "b", a, "ids", ids, "c", a)), "unknown input 'c'");
        assertBadInput(() -> m.run(inputs("a", a, "b", a, "ids", t(new float[1], 1))), "input 'ids'", "integer");
        assertBadInput(() -> m.run(inputs("a", ints(new long[6], 2, 3), "b", a, "ids", ids)), "input 'a'", "float");
        assertBadInput(() -> m.run(inputs("a", t(new float[6], 2, 3, 1), "b", a, "ids", ids)), "input 'a'", "rank 3", "rank 2");
        assertBadInput(() -> m.run(inputs("a", t(new float[8], 2, 4), "b", a, "ids", ids)), "input 'a'", "[2, 4]", "dim 1 must be 3");
        assertBadInput(() -> m.run(inputs("a", a, "b", t(new float[9], 3, 3), "ids", ids)), "input 'b'", "'batch'", "3", "2");
        // Anonymous symbolic dims need no consistency; batch 2 on both is fine.
        assertEquals(3, m.run(inputs("a", a, "b", a, "ids", ints(new long[5], 5))).size());
    }

    @Test
    void layerErrorsNameTheLayer() {
        CompiledModel m = NativeRuntime.compile(model());
        Tensor a = t(new float[6], 2, 3);
        assertBadInput(() -> m.run(inputs("a", a, "b", a, "ids", ints(new long[] {7}, 1))), "layer 'emb' (Embedding)", "index 7");
    }

    @Test
    void modelInputCanBeAnOutputAndRunsAreIndependent() {
        Model echo = new Model("echo", ModelInfo.NONE, List.of(new ValueInfo("x", DType.FLOAT32, Shape.UNKNOWN)),
                List.of(new ValueInfo("x", DType.FLOAT32, Shape.UNKNOWN), new ValueInfo("y", DType.FLOAT32, Shape.UNKNOWN)),
                List.of(new Layer.Activation("relu", "x", "y", io.lstmx.ir.ActivationFn.RELU)));
        CompiledModel m = NativeRuntime.compile(echo);
        Map<String, Tensor> first = m.run(Map.of("x", t(new float[] {-1, 2}, 2)));
        assertTensor(first.get("x"), new int[] {2}, -1, 2);
        assertTensor(first.get("y"), new int[] {2}, 0, 2);
        assertTensor(m.run(Map.of("x", t(new float[] {3}, 1))).get("y"), new int[] {1}, 3);
    }

    /** Intermediate values come after the outputs, in the order asked; the plain model still returns its outputs only. */
    @Test
    void exposingReturnsIntermediateValuesAfterTheOutputs() {
        CompiledModel plain = NativeRuntime.compile(model());
        CompiledModel exposing = plain.exposing(List.of("k", "y"));
        Map<String, Tensor> in = inputs("a", t(new float[] {1, 2, 3}, 1, 3), "b", t(new float[] {10, 20, 30}, 1, 3),
                "ids", Tensor.ofLongs(new int[] {1}, new long[] {1}));
        Map<String, Tensor> out = exposing.run(in);
        assertEquals(List.of("z", "w", "y", "k"), List.copyOf(out.keySet()), "y is an output already; k follows");
        assertTensor(out.get("k"), new int[0], 2);
        assertEquals(List.of("z", "w", "y"), List.copyOf(plain.run(in).keySet()));
        assertBadInput(() -> plain.exposing(List.of("nope")), "nope");
    }
}
