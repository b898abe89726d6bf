package io.lstmx.benchmarks;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.importers.onnx.OnnxImporter;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.CompiledModel;
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

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * End to end on a model exported by PyTorch (fixtures/onnx/pytorch/sample_classifier: 2-layer LSTM
 * 8 -> 32, Linear 32 -> 4, softmax), imported with {@code Importers.load} for the native runtime and
 * the original file for onnxruntime. Input x [B, 100, 8].
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public class SampleClassifierBenchmark {
    static final int T = 100;
    static final String MODEL = "fixtures/onnx/pytorch/sample_classifier/model.onnx";

    @Param({"1", "16"})
    public int batch;

    private CompiledModel compiled;
    private OnnxRuntimeReference ort;
    private Map<String, Tensor> inputs;

    @Setup(Level.Trial)
    public void setup() {
        Path file = BenchModels.root().resolve(MODEL);
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException(file.toAbsolutePath() + " not found: run from the repository root or pass -Dlstmx.root=<repo>");
        }
        Model model = OnnxImporter.load(file, java.util.Map.of());
        inputs = Map.of("x", BenchModels.randomInput(BenchModels.SEED + 7 * batch, batch, T, 8));
        BenchModels.Engines engines = BenchModels.openBoth(MODEL, model, file, inputs);
        compiled = engines.compiled();
        ort = engines.ort();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (ort != null) {
            ort.close();
        }
    }

    @Benchmark
    public Map<String, Tensor> nativeRuntime() {
        return compiled.run(inputs);
    }

    @Benchmark
    public Map<String, Tensor> onnxRuntime() {
        return ort.run(inputs);
    }
}
