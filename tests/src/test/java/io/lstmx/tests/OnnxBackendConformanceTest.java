package io.lstmx.tests;

import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The ONNX project's own LSTM, GRU and RNN conformance cases: import model.onnx, run it in the
 * native runtime and compare with the expected outputs the ONNX reference implementation wrote. In
 * these models W, R, B (and LSTM's P) are graph inputs, so their values from the test data are
 * bound as constants.
 */
class OnnxBackendConformanceTest {
    @TestFactory
    Stream<DynamicTest> lstmCases() throws IOException {
        return cases("test_lstm_");
    }

    @TestFactory
    Stream<DynamicTest> gruCases() throws IOException {
        return cases("test_gru_");
    }

    /** test_rnn_seq_length and test_simple_rnn_*. */
    @TestFactory
    Stream<DynamicTest> rnnCases() throws IOException {
        return Stream.concat(cases("test_rnn_"), cases("test_simple_rnn_"));
    }

    private static Stream<DynamicTest> cases(String prefix) throws IOException {
        Path root = TestFiles.shared().resolve("onnx-backend");
        List<Path> cases;
        try (Stream<Path> s = Files.list(root)) {
            cases = s.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().toList();
        }
        assertFalse(cases.isEmpty(), "no " + prefix + "* cases under " + root);
        return cases.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> check(dir)));
    }

    private static void check(Path dir) throws IOException {
        Path modelFile = dir.resolve("model.onnx");
        ModelProto proto;
        try (InputStream in = Files.newInputStream(modelFile)) {
            proto = ModelProto.parseFrom(in);
        }
        // Values read by a recurrent node's W, R, B (and LSTM's P) ports must be constants in the IR.
        Set<String> weights = new HashSet<>();
        for (NodeProto n : proto.getGraph().getNodeList()) {
            if (Set.of("LSTM", "GRU", "RNN").contains(n.getOpType())) {
                for (int i : n.getOpType().equals("LSTM") ? new int[] {1, 2, 3, 7} : new int[] {1, 2, 3}) {
                    if (i < n.getInputCount() && !n.getInput(i).isEmpty()) {
                        weights.add(n.getInput(i));
                    }
                }
            }
        }
        Path data = dir.resolve("test_data_set_0");
        Map<String, Tensor> constants = new HashMap<>();
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (Path p : TestFiles.find(data, ".pb")) {
            String f = p.getFileName().toString();
            if (!f.startsWith("input_")) {
                continue;
            }
            TensorProto t = TensorProto.parseFrom(Files.readAllBytes(p));
            (weights.contains(t.getName()) ? constants : feeds).put(t.getName(), OnnxTensors.toTensor(t, data, p.toString()));
        }
        assertEquals(weights, constants.keySet(), "test data gives every recurrent weight");
        Model model = OnnxImporter.load(modelFile, constants);
        Map<String, Tensor> actual = NativeRuntime.compile(model).run(feeds);
        int outputs = 0;
        for (Path p : TestFiles.find(data, ".pb")) {
            if (!p.getFileName().toString().startsWith("output_")) {
                continue;
            }
            TensorProto t = TensorProto.parseFrom(Files.readAllBytes(p));
            Tensor expected = OnnxTensors.toTensor(t, data, p.toString());
            Tensor got = actual.get(t.getName());
            assertNotNull(got, dir.getFileName() + ": no output '" + t.getName() + "' in " + actual.keySet());
            TestFiles.assertClose(got, expected, dir.getFileName() + " output " + t.getName());
            outputs++;
        }
        assertFalse(outputs == 0, "no expected outputs in " + data);
    }
}
