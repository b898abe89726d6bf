package io.lstmx.tests;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.ThrowingConsumer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The PyTorch-made GRU and simple-RNN fixtures under fixtures/onnx/pytorch-gru-rnn (see generate.py
 * there): nn.GRU / nn.RNN modules exported by torch.onnx with the outputs PyTorch itself computed.
 * This checks the fixtures themselves (onnxruntime must agree with PyTorch on every case, and the
 * exported nodes must be the ones the README describes: GRU with linear_before_reset=1, RNN with
 * Relu for nonlinearity='relu'), then lstmx against PyTorch's outputs on every case.
 */
class GruRnnFixturesTest {

    /** Every case the generator writes; a missing one means a stale or partial regeneration. */
    private static final List<String> REQUIRED_CASES = List.of("gru_uni", "gru_uni_opset9", "gru_bidirectional",
            "gru_stacked_batch_first", "gru_initial_state", "gru_classifier", "rnn_tanh_uni", "rnn_relu_bidirectional",
            "rnn_stacked_batch_first", "rnn_initial_state", "lstm_gru_linear");

    private static Path root() {
        return TestFiles.fixtures().resolve("onnx").resolve("pytorch-gru-rnn");
    }

    /** One dynamic test per case folder (fails when there is none), named after the folder. */
    private static Stream<DynamicTest> perCase(ThrowingConsumer<FixtureCase> check) {
        return FixtureCase.list(root()).stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(),
                () -> check.accept(FixtureCase.read(dir))));
    }

    @Test
    void requiredCasesArePresent() {
        Set<String> names = new HashSet<>();
        for (Path p : FixtureCase.list(root())) {
            names.add(p.getFileName().toString());
        }
        assertTrue(names.containsAll(REQUIRED_CASES), "cases " + REQUIRED_CASES + " expected under " + root() + ", found " + names);
    }

    /**
     * The files hold the node kinds the cases exist for: torch maps nn.GRU to GRU nodes with
     * linear_before_reset=1 (PyTorch's reset gate multiplies R_h h + Rb_h) and nn.RNN to RNN nodes
     * with one activation per direction, Relu only for nonlinearity='relu'.
     */
    @Test
    void casesHoldTheDescribedNodes() throws IOException {
        for (String name : REQUIRED_CASES) {
            Onnx.GraphProto g = FixtureCase.graph(root().resolve(name).resolve("model.onnx"));
            List<Onnx.NodeProto> gru = nodes(g, "GRU");
            List<Onnx.NodeProto> rnn = nodes(g, "RNN");
            List<Onnx.NodeProto> lstm = nodes(g, "LSTM");
            if (name.startsWith("gru_")) {
                assertTrue(!gru.isEmpty() && rnn.isEmpty() && lstm.isEmpty(), name + ": expected only GRU nodes, found " + ops(g));
            } else if (name.startsWith("rnn_")) {
                assertTrue(!rnn.isEmpty() && gru.isEmpty() && lstm.isEmpty(), name + ": expected only RNN nodes, found " + ops(g));
            } else {
                assertEquals(1, lstm.size(), name + ": LSTM nodes");
                assertEquals(1, gru.size(), name + ": GRU nodes");
            }
            for (Onnx.NodeProto n : gru) {
                Onnx.AttributeProto a = attribute(n, "linear_before_reset");
                assertTrue(a != null && a.getI() == 1, name + ": GRU node '" + n.getName() + "' linear_before_reset " + a);
            }
            String activation = name.contains("relu") ? "Relu" : "Tanh";
            for (Onnx.NodeProto n : rnn) {
                Onnx.AttributeProto a = attribute(n, "activations");
                // An absent attribute is ONNX's default Tanh (torch 1.13 writes it anyway).
                List<String> acts = a == null ? List.of("Tanh") : a.getStringsList().stream().map(s -> s.toStringUtf8()).toList();
                assertTrue(!acts.isEmpty() && acts.stream().allMatch(activation::equals),
                        name + ": RNN node '" + n.getName() + "' activations " + acts + ", expected " + activation);
            }
        }
    }

    /** Sanity of the fixtures themselves: an independent ONNX engine agrees with PyTorch. */
    @TestFactory
    Stream<DynamicTest> onnxruntimeMatchesPytorch() {
        return perCase(f -> {
            Map<String, Tensor> actual = OnnxRuntimeReference.run(f.model(), f.inputs());
            f.assertOutputs(actual, "onnxruntime");
        });
    }

    /** lstmx (ONNX import, native runtime) against the outputs PyTorch computed. */
    @TestFactory
    Stream<DynamicTest> lstmxMatchesPytorch() {
        return perCase(f -> f.assertOutputs(NativeRuntime.compile(OnnxImporter.load(f.model(), java.util.Map.of())).run(f.inputs()), "lstmx"));
    }

    private static List<Onnx.NodeProto> nodes(Onnx.GraphProto g, String op) {
        return g.getNodeList().stream().filter(n -> n.getOpType().equals(op)).toList();
    }

    private static List<String> ops(Onnx.GraphProto g) {
        return g.getNodeList().stream().map(Onnx.NodeProto::getOpType).toList();
    }

    private static Onnx.AttributeProto attribute(Onnx.NodeProto n, String name) {
        Onnx.AttributeProto found = null;
        for (Onnx.AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                if (found != null) {
                    fail("node '" + n.getName() + "' has attribute '" + name + "' twice");
                }
                found = a;
            }
        }
        return found;
    }
}
