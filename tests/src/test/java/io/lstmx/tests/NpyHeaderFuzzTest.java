package io.lstmx.tests;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.lstmx.api.NpyHeader;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.lstmx.tests.FuzzInvariants.allocatedBytes;
import static io.lstmx.tests.FuzzInvariants.cleanRefusal;
import static io.lstmx.tests.FuzzInvariants.withinAllocationBudget;

/**
 * Jazzer fuzz test of {@link NpyHeader#parse}: any text (the input's bytes decoded as UTF-8, which
 * reaches every character a version 3.0 header can hold; bytes that are not UTF-8 become U+FFFD) is
 * parsed or refused with an {@link LstmxException} naming the file (see {@link FuzzInvariants}), and
 * a header that parses means what it says: written back the way NumPy writes headers, it parses to
 * the same descr, order and shape.
 * <p>
 * Seeds: hand-written headers in this class's Inputs folder (src/test/resources), for what NumPy's
 * own writer never produces but other writers and older NumPy versions do, and, when fuzzing, the
 * header of every .npy under fixtures ({@link #headers()}).
 */
class NpyHeaderFuzzTest {
    /** Stands for the file in messages; the parser must name it. */
    static final String WHERE = "fuzzed.npy";

    static final FuzzInvariants.Tally TALLY = new FuzzInvariants.Tally("NpyHeaderFuzzTest", "parsed the same in NumPy's own form");

    @AfterAll
    static void report() {
        TALLY.report();
    }

    /** Loads the parser's classes before any input's allocation is measured (see OnnxReaderFuzzTest.warmUp). */
    @BeforeAll
    static void warmUp() {
        NpyHeader.parse("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", WHERE);
        try {
            NpyHeader.parse("{", WHERE);
        } catch (LstmxException e) {
            // Loads the classes of a refusal too.
        }
    }

    static Stream<Arguments> headers() throws IOException {
        if (!FuzzInvariants.fuzzing()) {
            return Stream.empty(); // see FuzzInvariants.fuzzing()
        }
        TreeSet<String> texts = new TreeSet<>();
        for (Path p : TestFiles.find(TestFiles.fixtures(), ".npy")) {
            byte[] b = Files.readAllBytes(p);
            int length = (b[8] & 0xff) | (b[9] & 0xff) << 8; // the fixtures are all version 1.0
            texts.add(new String(b, 10, length, StandardCharsets.ISO_8859_1));
        }
        return texts.stream().map(t -> Arguments.of(Named.of(t.trim(), t.getBytes(StandardCharsets.UTF_8))));
    }

    @MethodSource("headers")
    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void anyHeaderIsParsedFaithfullyOrRefusedWithAnLstmxException(byte[] input) {
        parse(input);
    }

    /** The check of one input, also used by the plain tests replaying findings. */
    static void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        TALLY.inputs.incrementAndGet();
        long before = allocatedBytes();
        NpyHeader h;
        try {
            h = NpyHeader.parse(text, WHERE);
        } catch (LstmxException e) {
            cleanRefusal(e, "NpyHeader.parse", WHERE);
            withinAllocationBudget(before, "NpyHeader.parse");
            TALLY.refused.incrementAndGet();
            return;
        }
        withinAllocationBudget(before, "NpyHeader.parse");
        TALLY.accepted.incrementAndGet();
        String canonical = numpyHeader(h);
        NpyHeader again;
        try {
            again = NpyHeader.parse(canonical, WHERE);
        } catch (LstmxException e) {
            throw new AssertionError("parsed " + show(text) + ", but not its canonical form " + show(canonical), e);
        }
        if (!again.descr().equals(h.descr()) || again.fortranOrder() != h.fortranOrder() || !Arrays.equals(again.shape(), h.shape())) {
            throw new AssertionError(show(text) + " and its canonical form " + show(canonical) + " parse differently");
        }
        TALLY.further.incrementAndGet();
    }

    /** The header as numpy.lib.format writes it: repr of the dict, keys sorted, 1-tuples with a comma. */
    static String numpyHeader(NpyHeader h) {
        StringBuilder shape = new StringBuilder("(");
        for (int i = 0; i < h.shape().length; i++) {
            shape.append(i > 0 ? ", " : "").append(h.shape()[i]);
        }
        shape.append(h.shape().length == 1 ? ",)" : ")");
        return "{'descr': " + pythonRepr(h.descr()) + ", 'fortran_order': " + (h.fortranOrder() ? "True" : "False")
                + ", 'shape': " + shape + ", }";
    }

    /** A Python string literal for {@code s}: single-quoted, with quotes, backslashes and anything unprintable escaped. */
    static String pythonRepr(String s) {
        StringBuilder sb = new StringBuilder("'");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\'' -> sb.append("\\'");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        sb.append(String.format("\\x%02x", (int) c));
                    } else if (c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('\'').toString();
    }

    private static String show(String s) {
        String t = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        return "\"" + t.replace("\n", "\\n") + "\"";
    }
}
