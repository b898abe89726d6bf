package io.lstmx.benchmarks;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
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

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One whole sequence (T = 100) through a single LSTM layer, the same ONNX-exported model in both
 * engines: the native runtime's {@code CompiledModel.run} against an onnxruntime session (one
 * intra-op thread, opened once). Both calls take and return lstmx {@link Tensor}s, so each side
 * includes its own input/output conversion.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Benchmark)
public class LstmSequenceBenchmark {
    static final int T = 100;

    /** Input size x hidden size. */
    @Param({"32x64", "128x256"})
    public String size;

    @Param({"1", "16"})
    public int batch;

    private Path onnxFile;
    private CompiledModel compiled;
    private OnnxRuntimeReference ort;
    private Map<String, Tensor> inputs;

    @Setup(Level.Trial)
    public void setup() {
        int[] ih = BenchModels.sizes(size);
        Model model = BenchModels.singleLstm(ih[0], ih[1], false);
        onnxFile = BenchModels.exportTemp(model);
        inputs = Map.of("X", BenchModels.randomInput(BenchModels.SEED + batch, T, batch, ih[0]));
        BenchModels.Engines engines = BenchModels.openBoth(model.name(), model, onnxFile, inputs);
        compiled = engines.compiled();
        ort = engines.ort();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (ort != null) {
            ort.close();
        }
        BenchModels.deleteQuietly(onnxFile);
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
