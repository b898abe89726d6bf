package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.PartialModelException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lstmx.importers.onnx.ops.OnnxBuilder.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GraphConverterTest {
    @Test
    void unknownOperatorsAreReportedTogether() {
        LstmxException e = new OnnxBuilder(17).input("x", FLOAT, 2)
                .node("first", "FancyOp", List.of("x"), List.of("a"))
                .node("ok", "Relu", List.of("a"), List.of("b"))
                .node("second", "OtherOp", List.of("b"), List.of("y"))
                .output("y").fails(ErrorCode.UNSUPPORTED);
        String msg = e.getMessage();
        assertTrue(msg.startsWith("test.onnx: "), msg);
        assertTrue(msg.contains("node 'first' (FancyOp)") && msg.contains("node 'second' (OtherOp)"), msg);
        assertFalse(msg.contains("'ok'"), "a supported node downstream of a failure is not blamed: " + msg);
        assertFalse(msg.contains("\n"), "one line");
    }

    /**
     * The one error also hands back what did convert: the inputs, the layers up to the unsupported
     * nodes (whose inputs become outputs of the partial model), the declared outputs, each
     * unsupported node with its operator, and the nodes left out because they depend on one.
     */
    @Test
    void unknownOperatorsComeWithWhatDidConvert() {
        ModelProto p = new OnnxBuilder(17).input("x", FLOAT, 2, 3)
                .node("act", "Relu", List.of("x"), List.of("a"))
                .node("custom", "Foo", List.of("a"), List.of("f"))
                .node("after", "Tanh", List.of("f"), List.of("y"))
                .node("rem", "Mod", List.of("a", "x"), List.of("m"))
                .node("fine", "Sigmoid", List.of("a"), List.of("z"))
                .output("y").output("m").output("z").build();
        ModelProto custom = p.toBuilder().setGraph(p.getGraph().toBuilder()
                .setNode(1, NodeProto.newBuilder(p.getGraph().getNode(1)).setDomain("com.example"))).build();
        PartialModelException e = assertThrows(PartialModelException.class, () -> GraphConverter.convert(custom, "m.onnx", null, Map.of()));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertTrue(e.getMessage().startsWith("m.onnx: cannot convert 2 nodes (node 'custom' (Foo): operator com.example::Foo is not supported; "
                + "node 'rem' (Mod): operator Mod is not supported at opset 17)"), e.getMessage());
        PartialModelException.Partial partial = e.partial();
        assertEquals(List.of(new PartialModelException.Unsupported("custom", "Foo", "com.example", "operator com.example::Foo is not supported"),
                new PartialModelException.Unsupported("rem", "Mod", "", "operator Mod is not supported at opset 17")), partial.unsupported());
        assertEquals(List.of("after"), partial.dependents());
        assertEquals(List.of("y", "m", "z"), partial.graphOutputs());
        Model m = partial.model();
        assertEquals(List.of("x"), m.inputNames());
        assertEquals(List.of("z", "a", "x"), m.outputNames(), "the output that converted, then what the unsupported nodes read");
        assertEquals(List.of("act", "fine"), m.layers().stream().map(Layer::name).toList());
        assertEquals(e.getMessage(), "m.onnx: " + e.withContext("x").getMessage().substring("x: m.onnx: ".length()));
        LstmxException wrapped = e.withContext("x");
        assertTrue(wrapped instanceof PartialModelException w && w.partial() == partial, "context keeps the partial result");
    }

    @Test
    void unsupportedAttributeValuesAreCollectedWithUnknownOperators() {
        String msg = new OnnxBuilder(11).input("x", FLOAT, 2, 3, 4)
                .node("soft", "Softmax", List.of("x"), List.of("a"))
                .node("odd", "Mystery", List.of("x"), List.of("b"))
                .node("Add", List.of("a", "b"), List.of("y")).output("y").fails(ErrorCode.UNSUPPORTED).getMessage();
        assertTrue(msg.contains("node 'soft' (Softmax)") && msg.contains("node 'odd' (Mystery)"), msg);
    }

    @Test
    void operatorsNewerThanTheModelOpsetAreUnknown() {
        String msg = new OnnxBuilder(8).initializer("s", l(s(1), 2))
                .node("ConstantOfShape", List.of("s"), List.of("y")).output("y").fails(ErrorCode.UNSUPPORTED).getMessage();
        assertTrue(msg.contains("ConstantOfShape") && msg.contains("opset 8"), msg);
    }

    @Test
    void otherDomainsAreUnknown() {
        ModelProto p = new OnnxBuilder(13).input("x", FLOAT, 2).node("Relu", List.of("x"), List.of("y")).output("y").build();
        ModelProto custom = p.toBuilder().setGraph(p.getGraph().toBuilder()
                .setNode(0, NodeProto.newBuilder(p.getGraph().getNode(0)).setDomain("com.microsoft"))).build();
        LstmxException e = assertThrows(LstmxException.class, () -> GraphConverter.convert(custom, "m.onnx", null, Map.of()));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
        assertTrue(e.getMessage().contains("com.microsoft::Relu"), e.getMessage());
    }

    @Test
    void initializersListedAsInputsAreConstants() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2).input("w", FLOAT, 2).initializer("w", f(s(2), 1, 2))
                .node("Mul", List.of("x", "w"), List.of("y")).output("y").convert();
        assertEquals(List.of("x"), m.inputNames());
        assertEquals(1, layers(m, Layer.Constant.class).size());
    }

    @Test
    void inputDimsBecomeFixedNamedOrAnonymous() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 3, "batch", null)
                .node("Relu", List.of("x"), List.of("y")).output("y").convert();
        List<Dim> dims = m.inputs().get(0).shape().dims();
        assertEquals(List.of(Dim.of(3), Dim.of("batch"), Dim.of("")), dims);
        assertEquals(DType.FLOAT32, m.inputs().get(0).dtype());
    }

    @Test
    void modelInfoNamesProducerOpsetAndIrVersion() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2).node("Relu", List.of("x"), List.of("y")).output("y").convert();
        assertEquals("onnx", m.info().sourceFormat());
        assertEquals("hand 1", m.info().producer());
        assertEquals("opset 13, ir_version 8", m.info().detail());
    }

    @Test
    void deadBranchesAreDropped() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2)
                .node("Relu", List.of("x"), List.of("unused"))
                .node("Tanh", List.of("x"), List.of("y")).output("y").convert();
        assertEquals(1, m.layers().size());
        assertEquals("y", only(m, Layer.Activation.class).output());
    }

    @Test
    void undefinedInputIsBadInput() {
        String msg = new OnnxBuilder(13).input("x", FLOAT, 2)
                .node("late", "Relu", List.of("z"), List.of("y")).output("y").fails(ErrorCode.BAD_INPUT).getMessage();
        assertTrue(msg.contains("node 'late' (Relu)") && msg.contains("'z'"), msg);
    }

    @Test
    void constantInputsMustNameGraphInputsOfFittingShape() {
        OnnxBuilder g = new OnnxBuilder(13).input("x", FLOAT, 2).node("Relu", List.of("x"), List.of("y")).output("y");
        assertEquals(ErrorCode.BAD_INPUT, assertThrows(LstmxException.class, () -> g.convert(Map.of("nope", Tensor.zeros(2)))).code());
        assertEquals(ErrorCode.BAD_INPUT, assertThrows(LstmxException.class, () -> g.convert(Map.of("x", Tensor.zeros(3)))).code());
        Model m = g.convert(Map.of("x", f(s(2), -1, 1)));
        assertTrue(m.inputs().isEmpty());
        assertEquals(List.of(0f, 1f), List.of(constantOutput(m, "y").getFloat(0), constantOutput(m, "y").getFloat(1)));
    }

    @Test
    void duplicateNodeNamesGetUniqueLayerNames() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2)
                .node("same", "Relu", List.of("x"), List.of("a"))
                .node("same", "Tanh", List.of("a"), List.of("y")).output("y").convert();
        assertEquals(2, m.layers().size());
    }

    @Test
    void irNamesThatDifferFromTheOnnxNamesKeepTheOnnxNames() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2).initializer("w", f(s(2), 1, 2))
                .node("same", "Relu", List.of("x"), List.of("a"))
                .node("same", "Tanh", List.of("a"), List.of("b"))
                .node("scale", "Mul", List.of("b", "w"), List.of("y")).output("y").convert();
        ModelInfo.SourceNames names = m.info().sourceNames();
        Layer relu = m.layers().stream().filter(l -> l.kind().equals("RELU")).findFirst().orElseThrow();
        Layer tanh = m.layers().stream().filter(l -> l.kind().equals("TANH")).findFirst().orElseThrow();
        Layer.Constant w = only(m, Layer.Constant.class);
        Layer mul = m.layers().stream().filter(l -> l.kind().equals("MUL")).findFirst().orElseThrow();
        assertEquals("same", relu.name());
        assertEquals(null, names.layer("same"), "the first 'same' keeps its name");
        assertFalse(tanh.name().equals("same"), "IR layer names are unique");
        assertEquals("same", names.layer(tanh.name()), "the second node's layer remembers its ONNX name");
        assertEquals("w", names.layer(w.name()));
        assertFalse(w.output().equals("w"));
        assertEquals("w", names.value(w.output()), "the constant's value remembers the initializer");
        assertEquals("scale", mul.name());
        assertEquals(Map.of(tanh.name(), "same", w.name(), "w"), names.layers(), "only names that differ are kept");
        assertEquals(Map.of(w.output(), "w"), names.values());
    }

    @Test
    void modelsWhoseNamesAreKeptHaveNoSourceNames() {
        Model m = new OnnxBuilder(13).input("x", FLOAT, 2)
                .node("act", "Relu", List.of("x"), List.of("y")).output("y").convert();
        assertEquals(ModelInfo.SourceNames.NONE, m.info().sourceNames());
    }
}
