package io.lstmx.benchmarks;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;
import io.lstmx.runtime.StreamingSession;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Per-step latency: one time step (a T = 1 chunk) per call, the LSTM state carried from call to call.
 * <ul>
 *   <li>{@code nativeStreamingFeed}: {@code StreamingSession.feed}, which carries h and c internally;</li>
 *   <li>{@code nativeStepWithStates} and {@code onnxRuntimeStepWithStates}: a stateless run of the
 *       same LSTM with h0/c0 as extra model inputs, the returned Y_h/Y_c fed back by the caller
 *       (the only way to step onnxruntime). Same weights as the streaming model.</li>
 * </ul>
 * Chunks cycle through a fixed random sequence of 100 steps.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public class LstmStreamingBenchmark {
    static final int STEPS = 100;

    /** Input size x hidden size. */
    @Param({"32x64", "128x256"})
    public String size;

    @Param({"1", "16"})
    public int batch;

    private Path stepOnnxFile;
    private StreamingSession session;
    private CompiledModel stepModel;
    private OnnxRuntimeReference ort;
    private Tensor[] chunks;
    private int next;
    private Tensor nativeH;
    private Tensor nativeC;
    private Tensor ortH;
    private Tensor ortC;

    @Setup(Level.Trial)
    public void setup() {
        int[] ih = BenchModels.sizes(size);
        Model streaming = BenchModels.singleLstm(ih[0], ih[1], false);
        Model withStates = BenchModels.singleLstm(ih[0], ih[1], true);
        session = NativeRuntime.compile(streaming).openSession();
        stepOnnxFile = BenchModels.exportTemp(withStates);
        chunks = new Tensor[STEPS];
        for (int t = 0; t < STEPS; t++) {
            chunks[t] = BenchModels.randomInput(BenchModels.SEED + 1000L * batch + t, 1, batch, ih[0]);
        }
        Tensor zeros = Tensor.zeros(1, batch, ih[1]);
        nativeH = zeros;
        nativeC = zeros;
        ortH = zeros;
        ortC = zeros;
        BenchModels.Engines engines = BenchModels.openBoth(withStates.name(), withStates, stepOnnxFile,
                Map.of("X", chunks[0], "h0", zeros, "c0", zeros));
        stepModel = engines.compiled();
        ort = engines.ort();
        checkAgreement(zeros);
    }

    /** Three steps through each path must agree before anything is timed. */
    private void checkAgreement(Tensor zeros) {
        Tensor h = zeros;
        Tensor c = zeros;
        Map<String, Tensor> fed = null;
        Map<String, Tensor> stepped = null;
        for (int t = 0; t < 3; t++) {
            fed = session.feed(Map.of("X", chunks[t]));
            stepped = ort.run(Map.of("X", chunks[t], "h0", h, "c0", c));
            Map<String, Tensor> nativeStepped = stepModel.run(Map.of("X", chunks[t], "h0", h, "c0", c));
            BenchModels.requireSameOutputs("step " + t + " (native with states)", nativeStepped, stepped);
            h = stepped.get("Y_h");
            c = stepped.get("Y_c");
        }
        BenchModels.requireSameOutputs("step 2 (native streaming session)", fed, stepped);
        session.reset();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (ort != null) {
            ort.close();
        }
        BenchModels.deleteQuietly(stepOnnxFile);
    }

    private Tensor nextChunk() {
        Tensor x = chunks[next];
        next = next + 1 == STEPS ? 0 : next + 1;
        return x;
    }

    @Benchmark
    public Map<String, Tensor> nativeStreamingFeed() {
        return session.feed(Map.of("X", nextChunk()));
    }

    @Benchmark
    public Map<String, Tensor> nativeStepWithStates() {
        Map<String, Tensor> out = stepModel.run(Map.of("X", nextChunk(), "h0", nativeH, "c0", nativeC));
        nativeH = out.get("Y_h");
        nativeC = out.get("Y_c");
        return out;
    }

    @Benchmark
    public Map<String, Tensor> onnxRuntimeStepWithStates() {
        Map<String, Tensor> out = ort.run(Map.of("X", nextChunk(), "h0", ortH, "c0", ortC));
        ortH = out.get("Y_h");
        ortC = out.get("Y_c");
        return out;
    }
}
