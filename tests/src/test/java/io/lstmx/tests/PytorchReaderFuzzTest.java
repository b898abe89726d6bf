package io.lstmx.tests;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.lstmx.api.Lstmx;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.ReadOptions;
import io.lstmx.importers.pytorch.StateDictReader;
import io.lstmx.importers.pytorch.TorchScriptReader;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static io.lstmx.tests.FuzzInvariants.allocatedBytes;
import static io.lstmx.tests.FuzzInvariants.cleanRefusal;
import static io.lstmx.tests.FuzzInvariants.withinAllocationBudget;

/**
 * Jazzer fuzz test of the PyTorch readers on raw bytes: any bytes, saved as a .pt file, are
 * recognised ({@link Lstmx#detect}), then read by the state_dict reader and by the TorchScript
 * reader (both, whatever the detection said, so that each sees every mutant), and a model read is
 * compiled and run on small inputs; or each step refuses with an {@link LstmxException} (see
 * {@link FuzzInvariants}).
 * <p>
 * Seeds: every .pt under fixtures/pytorch (state_dicts zip and legacy, pickled modules, a
 * checkpoint, and the traced and scripted TorchScript archives), mapped onto the class path as
 * this class's Inputs folder by tests/pom.xml.
 */
class PytorchReaderFuzzTest {
    @TempDir
    static Path dir;

    static final FuzzInvariants.Tally TALLY = new FuzzInvariants.Tally("PytorchReaderFuzzTest", "compiled and ran");
    private static final StateDictReader STATE_DICT = new StateDictReader();
    private static final TorchScriptReader SCRIPT = new TorchScriptReader();

    @AfterAll
    static void report() {
        TALLY.report();
    }

    /** Loads the readers' classes before any input's allocation is measured (see OnnxReaderFuzzTest.warmUp). */
    @BeforeAll
    static void warmUp() {
        for (Path p : TestFiles.find(TestFiles.fixtures().resolve("pytorch"), ".pt")) {
            for (var reader : new io.lstmx.formats.FormatReader[] {STATE_DICT, SCRIPT}) {
                try {
                    Lstmx.detect(p);
                    Model m = reader.read(p, ReadOptions.DEFAULT);
                    Map<String, Tensor> inputs = CorruptFilesTest.inputsFor(m, new Random(1));
                    if (inputs != null) {
                        NativeRuntime.compile(m).run(inputs);
                    }
                } catch (LstmxException e) {
                    // Irrelevant here: the fixtures' own tests check that they load.
                }
            }
        }
    }

    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void anyFileIsReadOrRefusedWithAnLstmxException(byte[] input) throws IOException {
        readAndRun(input, dir, TALLY);
    }

    /** The check of one input: shared with {@link TorchScriptCodeFuzzTest} and with plain tests replaying findings. */
    static void readAndRun(byte[] input, Path dir, FuzzInvariants.Tally tally) throws IOException {
        Path file = dir.resolve("model.pt");
        Files.write(file, input);
        tally.inputs.incrementAndGet();
        long before = allocatedBytes();
        try {
            Lstmx.detect(file);
        } catch (LstmxException e) {
            cleanRefusal(e, "detect", null);
        }
        boolean anyRead = false;
        for (var reader : new io.lstmx.formats.FormatReader[] {SCRIPT, STATE_DICT}) {
            before = allocatedBytes();
            Model model;
            try {
                model = reader.read(file, ReadOptions.DEFAULT);
            } catch (LstmxException e) {
                cleanRefusal(e, reader.format() + " read", file.toString());
                withinAllocationBudget(before, reader.format() + " read");
                continue;
            }
            withinAllocationBudget(before, reader.format() + " read");
            anyRead = true;
            before = allocatedBytes();
            try {
                var compiled = NativeRuntime.compile(model);
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
        (anyRead ? tally.accepted : tally.refused).incrementAndGet();
    }
}
