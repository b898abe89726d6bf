package io.lstmx.tests;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;

/**
 * Jazzer fuzz test of the TorchScript reader on its code: the input is one code/*.py file's text
 * put into a real archive (a fixture, traced or scripted), so that mutations reach the lexer, the
 * parser and the interpreter rather than die in the zip container or the pickle. Byte 0 picks the
 * archive, byte 1 the code file it replaces, the rest is the file's text. Each archive is read,
 * compiled and run, or refused with an {@link LstmxException} (see {@link FuzzInvariants}).
 * <p>
 * Seeds: each fixture archive's own code files, in this input form, kept in
 * src/test/resources/io/lstmx/tests/TorchScriptCodeFuzzTestInputs/anyCodeIsReadOrRefusedWithAnLstmxException
 * (named ARCHIVE__MODULE.py; byte 0 is the archive's index in name order, byte 1 the file's in zip
 * order), so the fuzzer starts from code that reads.
 */
class TorchScriptCodeFuzzTest {
    @TempDir
    static Path dir;

    static final FuzzInvariants.Tally TALLY = new FuzzInvariants.Tally("TorchScriptCodeFuzzTest", "compiled and ran");

    /** The fixture archives, in name order, each as its entries. */
    static final List<Map<String, byte[]>> ARCHIVES = new ArrayList<>();

    @BeforeAll
    static void load() throws IOException {
        for (Path d : FixtureCase.list(TestFiles.fixtures().resolve("pytorch/torchscript"))) {
            ARCHIVES.add(TorchScriptHostileArchivesTest.entries(d.resolve("model.pt")));
        }
        PytorchReaderFuzzTest.warmUp();
    }

    @AfterAll
    static void report() {
        TALLY.report();
    }

    static List<String> codeFiles(Map<String, byte[]> archive) {
        return archive.keySet().stream().filter(n -> n.contains("/code/") && n.endsWith(".py")).toList();
    }

    /** The archive an input stands for. */
    static byte[] archive(byte[] input) throws IOException {
        Map<String, byte[]> a = new LinkedHashMap<>(ARCHIVES.get(input.length > 0 ? (input[0] & 0xff) % ARCHIVES.size() : 0));
        List<String> code = codeFiles(a);
        String target = code.get(input.length > 1 ? (input[1] & 0xff) % code.size() : 0);
        byte[] text = input.length > 2 ? java.util.Arrays.copyOfRange(input, 2, input.length) : new byte[0];
        a.put(target, text);
        return TorchScriptHostileArchivesTest.zip(a, ZipEntry.STORED);
    }

    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void anyCodeIsReadOrRefusedWithAnLstmxException(byte[] input) throws IOException {
        PytorchReaderFuzzTest.readAndRun(archive(input), dir, TALLY);
    }
}
