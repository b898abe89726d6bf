package io.lstmx.tests;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.lstmx.api.Lstmx;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.lstmx.tests.FuzzInvariants.allocatedBytes;
import static io.lstmx.tests.FuzzInvariants.cleanRefusal;
import static io.lstmx.tests.FuzzInvariants.withinAllocationBudget;

/**
 * Jazzer fuzz test of the model readers (ONNX today): any bytes, saved as a .onnx file, are
 * recognised, read, compiled and run on small inputs of the declared shapes, or refused with an
 * {@link LstmxException} (see {@link FuzzInvariants} for everything checked per input).
 * <p>
 * Seeds: every fixture under fixtures/onnx, the ONNX conformance cases and the real models in
 * ../shared (mapped onto the class path as this class's Inputs folder by tests/pom.xml), and the
 * conformance cases with their weights turned into initializers (from {@link #conformanceModelsWithWeightsAsInitializers}),
 * since lstmx refuses weights given as graph inputs and mutants of that refusal reach no LSTM.
 * Without JAZZER_FUZZ this replays the seeds (and findings saved among them) as a plain
 * parameterized test; with it, Jazzer mutates them, guided by coverage of io.lstmx.
 */
class OnnxReaderFuzzTest {
    @TempDir
    static Path dir;

    static final FuzzInvariants.Tally TALLY = new FuzzInvariants.Tally("OnnxReaderFuzzTest", "compiled and ran");

    @AfterAll
    static void report() {
        TALLY.report();
    }

    /**
     * External data files the seeds refer to (the external_data fixture's weights.bin), beside the
     * file each input is written to, so that mutants reach the external-data code with real data.
     */
    @BeforeAll
    static void sideFiles() throws IOException {
        sideFiles(dir);
    }

    static void sideFiles(Path dir) throws IOException {
        for (Path p : TestFiles.find(TestFiles.fixtures().resolve("onnx"), ".bin")) {
            Files.copy(p, dir.resolve(p.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Loads lstmx's classes before any input is measured: loading a class, and Jazzer instrumenting
     * it, allocates in the loading thread, and the first model read loads hundreds of classes
     * (about 800 MiB counted), far over the per-input allocation budget.
     */
    @BeforeAll
    static void warmUp() {
        for (Path p : TestFiles.find(TestFiles.fixtures().resolve("onnx"), ".onnx")) {
            try {
                Lstmx.detect(p);
                Model model = Lstmx.read(p, Format.ONNX);
                Map<String, Tensor> inputs = CorruptFilesTest.inputsFor(model, new Random(1));
                if (inputs != null) {
                    NativeRuntime.compile(model).run(inputs);
                }
            } catch (LstmxException e) {
                // Irrelevant here: the fixtures' own tests check that they load.
            }
        }
        try {
            Lstmx.read(TestFiles.root().resolve("README.md"), Format.ONNX);
        } catch (LstmxException e) {
            // Loads the classes of a refusal too.
        }
    }

    static Stream<Arguments> conformanceModelsWithWeightsAsInitializers() throws IOException {
        if (!FuzzInvariants.fuzzing()) {
            return Stream.empty(); // see FuzzInvariants.fuzzing()
        }
        Stream.Builder<Arguments> seeds = Stream.builder();
        for (Path p : TestFiles.find(TestFiles.shared().resolve("onnx-backend"), "model.onnx")) {
            String id = "onnx-backend/" + p.getParent().getFileName() + " (weights as initializers)";
            byte[] bytes = CorruptFilesTest.withWeightsAsInitializers(CorruptFilesTest.seed(id, p)).proto().toByteArray();
            seeds.add(Arguments.of(Named.of(id, bytes)));
        }
        return seeds.build();
    }

    @MethodSource("conformanceModelsWithWeightsAsInitializers")
    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void anyFileIsLoadedAndRunOrRefusedWithAnLstmxException(byte[] input) throws IOException {
        readCompileAndRun(input, dir, TALLY);
    }

    /**
     * The check of one input: shared with {@link OnnxModelProtoFuzzTest}, and what a plain test
     * replaying a saved finding calls.
     */
    static void readCompileAndRun(byte[] input, Path dir, FuzzInvariants.Tally tally) throws IOException {
        Path file = dir.resolve("model.onnx");
        Files.write(file, input);
        tally.inputs.incrementAndGet();
        long before = allocatedBytes();
        // Lstmx.load(path) detects the format first: every recogniser (zip, pickle, HDF5 probes)
        // sees the bytes, and must be as safe as the reader.
        try {
            Lstmx.detect(file);
        } catch (LstmxException e) {
            cleanRefusal(e, "detect", null);
        }
        Model model;
        try {
            model = Lstmx.read(file, Format.ONNX);
        } catch (LstmxException e) {
            cleanRefusal(e, "read", file.toString());
            withinAllocationBudget(before, "read");
            tally.refused.incrementAndGet();
            return;
        }
        withinAllocationBudget(before, "read");
        tally.accepted.incrementAndGet();
        before = allocatedBytes();
        try {
            CompiledModel compiled = NativeRuntime.compile(model);
            // Seeded by the input, so that a finding replays exactly.
            Map<String, Tensor> inputs = CorruptFilesTest.inputsFor(model, new Random(Arrays.hashCode(input)));
            if (inputs != null) {
                compiled.run(inputs);
                tally.further.incrementAndGet();
            }
        } catch (LstmxException e) {
            cleanRefusal(e, "compile or run", null);
        }
        withinAllocationBudget(before, "compile and run");
    }
}
