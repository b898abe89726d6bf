package io.lstmx.tests;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.Npy;
import io.lstmx.api.Tolerance;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx;
import io.lstmx.runtime.StreamingSession;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Streaming parity with PyTorch (fixtures/onnx/streaming, see generate.py there): PyTorch ran a
 * 2-layer batch-first LSTM + Linear over a long sequence chunk by chunk, handing each call the
 * (h, c) the previous one ended with, and recorded every chunk's outputs. The model was exported
 * once (zero initial states, dynamic time); lstmx's StreamingSession must reproduce each chunk's
 * scores and states by carrying the states itself.
 */
class StreamingParityTest {
    private static final String CASE = "lstm2_linear";

    /** One model call: its inputs and PyTorch's outputs, both named by the graph. */
    private record Call(String label, Map<String, Tensor> inputs, Map<String, Tensor> expected) {
    }

    private static Path caseDir() {
        Path dir = TestFiles.fixtures().resolve("onnx").resolve("streaming").resolve(CASE);
        assertTrue(Files.isDirectory(dir), "streaming fixture missing: " + dir + "; run fixtures/onnx/streaming/generate.py");
        return dir;
    }

    private static Path model() {
        Path p = caseDir().resolve("model.onnx");
        assertTrue(Files.isRegularFile(p), "model.onnx missing in " + caseDir());
        return p;
    }

    /** Graph input names (initializers excluded) and output names, in order. */
    private static List<List<String>> graphNames() throws IOException {
        Onnx.GraphProto g;
        try (InputStream in = Files.newInputStream(model())) {
            g = Onnx.ModelProto.parseFrom(in).getGraph();
        }
        Set<String> init = new HashSet<>();
        g.getInitializerList().forEach(t -> init.add(t.getName()));
        List<String> inputs = g.getInputList().stream().map(Onnx.ValueInfoProto::getName).filter(n -> !init.contains(n)).toList();
        List<String> outputs = g.getOutputList().stream().map(Onnx.ValueInfoProto::getName).toList();
        return List.of(inputs, outputs);
    }

    private static Call read(Path dir) throws IOException {
        List<List<String>> names = graphNames();
        return new Call(dir.getFileName().toString(), numbered(dir, "input_", names.get(0)), numbered(dir, "output_", names.get(1)));
    }

    private static Map<String, Tensor> numbered(Path dir, String prefix, List<String> names) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            Path p = dir.resolve(prefix + k + ".npy");
            assertTrue(Files.isRegularFile(p), p + " missing (for '" + names.get(k) + "')");
            m.put(names.get(k), Npy.read(p));
        }
        assertFalse(Files.exists(dir.resolve(prefix + names.size() + ".npy")), dir + ": more " + prefix + "files than graph values " + names);
        return m;
    }

    /** chunk_0, chunk_1, ... in order; the fixture has five of unequal lengths (one of a single step). */
    private static List<Call> chunks() throws IOException {
        List<Call> calls = new ArrayList<>();
        for (int k = 0; Files.isDirectory(caseDir().resolve("chunk_" + k)); k++) {
            calls.add(read(caseDir().resolve("chunk_" + k)));
        }
        assertTrue(calls.size() >= 3, "expected at least 3 chunks under " + caseDir() + ", found " + calls.size());
        return calls;
    }

    private static void assertMatches(Call call, Map<String, Tensor> actual, String what) {
        assertNotNull(actual, what + ": no outputs");
        for (Map.Entry<String, Tensor> e : call.expected().entrySet()) {
            Tensor a = actual.get(e.getKey());
            if (a == null) {
                fail(what + " " + call.label() + ": output '" + e.getKey() + "' missing; got " + actual.keySet());
            }
            TestFiles.assertClose(a, e.getValue(), what + " " + call.label() + " output '" + e.getKey() + "' vs PyTorch");
        }
    }

    @Test
    void everyChunkMatchesPytorchWithCarriedStates() throws IOException {
        LoadedModel m = Lstmx.load(model());
        List<List<String>> names = graphNames();
        assertEquals(names.get(0), m.model().inputNames(), "imported inputs");
        assertEquals(names.get(1), m.model().outputNames(), "imported outputs");
        StreamingSession session = m.openSession();
        for (Call c : chunks()) {
            assertMatches(c, session.feed(c.inputs()), "streamed");
        }
    }

    @Test
    void resetStartsTheStreamAgain() throws IOException {
        List<Call> calls = chunks();
        StreamingSession session = Lstmx.load(model()).openSession();
        for (Call c : calls) {
            session.feed(c.inputs());
        }
        session.reset();
        assertMatches(calls.get(0), session.feed(calls.get(0).inputs()), "after reset");
        // The states after the repeated first chunk are PyTorch's again, so the stream continues as before.
        assertMatches(calls.get(1), session.feed(calls.get(1).inputs()), "after reset");
    }

    /**
     * PyTorch's later chunks really depend on the carried states: from zero states, chunk 1 gives
     * other scores. Without this, a session that ignored the states could pass the tests above.
     */
    @Test
    void laterChunksNeedTheCarriedStates() throws IOException {
        Call second = chunks().get(1);
        Map<String, Tensor> fresh = Lstmx.load(model()).openSession().feed(second.inputs());
        String scores = graphNames().get(1).get(0);
        Tolerance.Report r = Tolerance.DEFAULT.compare(fresh.get(scores), second.expected().get(scores));
        assertTrue(r.shapeMatches(), "shape of '" + scores + "'");
        assertFalse(r.ok(), "chunk_1 from zero states matches PyTorch's carried-state output; the fixture does not test carrying");
    }

    /** The whole sequence in one call (from zero states) matches PyTorch's one-call outputs. */
    @Test
    void wholeSequenceInOneCallMatchesPytorch() throws IOException {
        Path dir = caseDir().resolve("whole");
        assertTrue(Files.isDirectory(dir), "whole/ missing in " + caseDir());
        Call whole = read(dir);
        assertMatches(whole, Lstmx.load(model()).run(whole.inputs()), "one call");
        int steps = 0;
        for (Call c : chunks()) {
            steps += c.inputs().values().iterator().next().shape()[1];
        }
        assertEquals(whole.inputs().values().iterator().next().shape()[1], steps, "the chunks cover the whole sequence");
    }
}
