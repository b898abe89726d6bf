package io.lstmx.benchmarks;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.api.Tolerance;
import io.lstmx.exporters.onnx.OnnxExporter;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Models and inputs shared by the benchmarks; all random data is seeded so every run measures the same work. */
final class BenchModels {
    static final long SEED = 20240601L;

    private BenchModels() {
    }

    /** Parses a "IxH" benchmark parameter into {I, H}. */
    static int[] sizes(String ixh) {
        String[] p = ixh.split("x");
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    }

    /**
     * One forward, time-major LSTM layer: X [T, B, I] -> Y [T, 1, B, H], Y_h and Y_c [1, B, H].
     * With {@code stateInputs} the initial h and c are model inputs too (for stepping an engine
     * that has no streaming session by feeding its last states back).
     * Weights are uniform in [-1/sqrt(H), 1/sqrt(H)] (PyTorch's default init range).
     */
    static Model singleLstm(int inputSize, int hiddenSize, boolean stateInputs) {
        SplittableRandom rnd = new SplittableRandom(SEED + 31L * inputSize + hiddenSize);
        float k = (float) (1.0 / Math.sqrt(hiddenSize));
        int h4 = 4 * hiddenSize;
        LstmWeights w = new LstmWeights(
                uniform(rnd, k, h4, inputSize), uniform(rnd, k, h4, hiddenSize),
                uniform(rnd, k, h4), uniform(rnd, k, h4), null, null);
        LstmSpec spec = LstmSpec.standard(inputSize, hiddenSize, Direction.FORWARD, Layout.TIME_MAJOR);
        List<ValueInfo> inputs = new ArrayList<>();
        inputs.add(new ValueInfo("X", DType.FLOAT32, Shape.of("T", "B", inputSize)));
        Shape states = Shape.of(1, "B", hiddenSize);
        if (stateInputs) {
            inputs.add(new ValueInfo("h0", DType.FLOAT32, states));
            inputs.add(new ValueInfo("c0", DType.FLOAT32, states));
        }
        Layer lstm = new Layer.Lstm("lstm", new RecurrentPorts("X", null, stateInputs ? "h0" : null, stateInputs ? "c0" : null,
                "Y", "Y_h", "Y_c"), spec, List.of(w), GateOrder.CANONICAL);
        List<ValueInfo> outputs = List.of(
                new ValueInfo("Y", DType.FLOAT32, Shape.of("T", 1, "B", hiddenSize)),
                new ValueInfo("Y_h", DType.FLOAT32, states),
                new ValueInfo("Y_c", DType.FLOAT32, states));
        return new Model("bench_lstm_" + inputSize + "x" + hiddenSize, ModelInfo.NONE, inputs, outputs, List.of(lstm));
    }

    /** Uniform [-1, 1) float tensor, seeded. */
    static Tensor randomInput(long seed, int... shape) {
        return uniform(new SplittableRandom(seed), 1f, shape);
    }

    private static Tensor uniform(SplittableRandom rnd, float bound, int... shape) {
        float[] v = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
        return Tensor.ofFloats(shape, v);
    }

    /** Writes {@code model} as ONNX into a fresh temporary file (the caller deletes it). */
    static Path exportTemp(Model model) {
        try {
            Path file = Files.createTempFile(model.name() + "-", ".onnx");
            OnnxExporter.save(model, file, 0, false);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // A leftover temp file is harmless; the benchmark results are what matter.
            }
        }
    }

    /** Root of the repository (for fixtures): system property lstmx.root, else the working directory. */
    static Path root() {
        return Path.of(System.getProperty("lstmx.root", "."));
    }

    /**
     * Guards against timing two different computations: both engines must give the same outputs
     * (lstmx's default tolerance) on the benchmark input before any measurement starts.
     */
    static void requireSameOutputs(String what, Map<String, Tensor> nativeOut, Map<String, Tensor> ortOut) {
        for (Map.Entry<String, Tensor> e : nativeOut.entrySet()) {
            Tensor expected = ortOut.get(e.getKey());
            if (expected == null) {
                throw new IllegalStateException(what + ": onnxruntime gave no output '" + e.getKey() + "'; it gave " + ortOut.keySet());
            }
            Tolerance.Report r = Tolerance.DEFAULT.compare(e.getValue(), expected);
            if (!r.ok()) {
                throw new IllegalStateException(what + ": output '" + e.getKey() + "' differs between the native runtime and onnxruntime: " + r.detail());
            }
        }
    }

    /** A model compiled for the native runtime and the same model's ONNX file opened in onnxruntime. */
    record Engines(CompiledModel compiled, OnnxRuntimeReference ort) {
    }

    /**
     * Compiles {@code model}, opens {@code onnxFile} (the same model) in onnxruntime and requires both to
     * give the same outputs on {@code inputs} before anything is timed. The caller closes {@code ort}.
     */
    static Engines openBoth(String what, Model model, Path onnxFile, Map<String, Tensor> inputs) {
        CompiledModel compiled = NativeRuntime.compile(model);
        OnnxRuntimeReference ort = openOrt(onnxFile, inputs);
        try {
            requireSameOutputs(what, compiled.run(inputs), ort.run(inputs));
        } catch (RuntimeException e) {
            ort.close();
            throw e;
        }
        return new Engines(compiled, ort);
    }

    /** Opens an onnxruntime session and checks that it reads the inputs the benchmark feeds. */
    static OnnxRuntimeReference openOrt(Path file, Map<String, Tensor> feeds) {
        OnnxRuntimeReference ref = OnnxRuntimeReference.open(file);
        if (!ref.inputNames().containsAll(feeds.keySet())) {
            ref.close();
            throw new IllegalStateException(file + ": onnxruntime inputs are " + ref.inputNames() + ", the benchmark feeds " + feeds.keySet());
        }
        return ref;
    }
}
