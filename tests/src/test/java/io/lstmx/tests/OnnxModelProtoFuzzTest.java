package io.lstmx.tests;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.code_intelligence.jazzer.mutation.annotation.NotNull;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Jazzer fuzz test of the ONNX reader through the structure of the file: the input is a
 * {@link ModelProto}, which Jazzer's protobuf mutator changes field by field (values, repeated
 * entries, nested graphs, nodes, attributes and tensors), and the model it builds is written out and
 * checked exactly as {@link OnnxReaderFuzzTest} checks raw bytes (see {@link FuzzInvariants}).
 * Byte-level mutations mostly break the protobuf encoding or change weights; these reach the
 * importer's graph, shape and operator logic.
 * <p>
 * Seeds: the same .onnx files as {@link OnnxReaderFuzzTest} (mapped by tests/pom.xml; Jazzer reads a
 * message seed as protobuf wire format, leniently) and, when fuzzing, the models
 * {@link CorruptFilesTest} mutates, with the conformance cases' weights as initializers.
 */
class OnnxModelProtoFuzzTest {
    @TempDir
    static Path dir;

    static final FuzzInvariants.Tally TALLY = new FuzzInvariants.Tally("OnnxModelProtoFuzzTest", "compiled and ran");

    @BeforeAll
    static void prepare() throws IOException {
        OnnxReaderFuzzTest.sideFiles(dir);
        OnnxReaderFuzzTest.warmUp();
    }

    @AfterAll
    static void report() {
        TALLY.report();
    }

    static Stream<Arguments> models() throws IOException {
        if (!FuzzInvariants.fuzzing()) {
            return Stream.empty(); // see FuzzInvariants.fuzzing()
        }
        return CorruptFilesTest.seeds().stream().map(s -> Arguments.of(Named.of(s.id(), s.proto())));
    }

    @MethodSource("models")
    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void anyModelIsLoadedAndRunOrRefusedWithAnLstmxException(@NotNull ModelProto model) throws IOException {
        OnnxReaderFuzzTest.readCompileAndRun(model.toByteArray(), dir, TALLY);
    }
}
