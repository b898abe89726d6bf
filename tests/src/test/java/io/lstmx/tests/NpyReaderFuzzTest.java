package io.lstmx.tests;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.lstmx.api.Npy;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.lstmx.tests.FuzzInvariants.allocatedBytes;
import static io.lstmx.tests.FuzzInvariants.cleanRefusal;
import static io.lstmx.tests.FuzzInvariants.withinAllocationBudget;

/**
 * Jazzer fuzz test of the .npy reader through its public entry, {@link Npy#read(Path)}: any bytes,
 * saved as a file, are read into a tensor or refused with an {@link LstmxException} naming the file
 * (see {@link FuzzInvariants}).
 * <p>
 * Seeds: every .npy under fixtures (mapped onto the class path as this class's Inputs folder by
 * tests/pom.xml), which NumPy wrote and which are all version 1.0 little-endian float32 and int64,
 * plus {@link #generatedFiles() files built here} for what the fixtures lack: versions 2.0 and 3.0,
 * big-endian and other dtypes, Fortran order, scalars, empty and huge shapes.
 */
class NpyReaderFuzzTest {
    @TempDir
    static Path dir;

    static final FuzzInvariants.Tally TALLY = new FuzzInvariants.Tally("NpyReaderFuzzTest", "with at least one element");

    @AfterAll
    static void report() {
        TALLY.report();
    }

    /** Loads the reader's classes before any input's allocation is measured (see OnnxReaderFuzzTest.warmUp). */
    @BeforeAll
    static void warmUp() {
        Npy.read(TestFiles.find(TestFiles.fixtures(), ".npy").get(0));
        try {
            Npy.read(TestFiles.root().resolve("README.md"));
        } catch (LstmxException e) {
            // Loads the classes of a refusal too.
        }
    }

    static Stream<Arguments> generatedFiles() {
        if (!FuzzInvariants.fuzzing()) {
            return Stream.empty(); // see FuzzInvariants.fuzzing()
        }
        Random r = new Random(7);
        Stream.Builder<Arguments> seeds = Stream.builder();
        for (String descr : List.of("<f4", ">f4", "<f8", ">f8", "<i4", ">i4", "<i8", ">i8", "|u1", "|b1", "<f2", "<c8", "<U3")) {
            int width = descr.endsWith("8") ? 8 : descr.endsWith("4") ? 4 : descr.endsWith("2") ? 2 : descr.endsWith("3") ? 12 : 1;
            byte[] data = new byte[6 * width];
            r.nextBytes(data);
            for (int major = 1; major <= 3; major++) {
                String header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2, 3), }";
                seeds.add(seed(descr + " v" + major, npy(major, header, data)));
            }
        }
        seeds.add(seed("scalar", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", new byte[4])));
        seeds.add(seed("rank 1", npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", new byte[24])));
        seeds.add(seed("empty", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", new byte[0])));
        seeds.add(seed("fortran order", npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new byte[16])));
        seeds.add(seed("huge shape", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 4), }", new byte[16])));
        seeds.add(seed("keys reordered, double quotes", npy(1, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f4\"}", new byte[8])));
        seeds.add(seed("structured dtype", npy(1, "{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (1,), }", new byte[8])));
        seeds.add(seed("unicode in a v3 header", npy(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'n\u00e4me': '\u20ac'}", new byte[4])));
        return seeds.build();
    }

    private static Arguments seed(String name, byte[] bytes) {
        return Arguments.of(Named.of(name, bytes));
    }

    /** A .npy file as NumPy lays it out: magic, version, header length, header padded to 64 bytes with a newline, data. */
    static byte[] npy(int major, String header, byte[] data) {
        byte[] text = header.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int prefix = 6 + 2 + (major == 1 ? 2 : 4);
        int padded = text.length + 1;
        while ((prefix + padded) % 64 != 0) {
            padded++;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        out.write(padded & 0xff);
        out.write((padded >> 8) & 0xff);
        if (major != 1) {
            out.write((padded >> 16) & 0xff);
            out.write((padded >> 24) & 0xff);
        }
        out.writeBytes(text);
        for (int i = text.length; i < padded - 1; i++) {
            out.write(' ');
        }
        out.write('\n');
        out.writeBytes(data);
        return out.toByteArray();
    }

    @MethodSource("generatedFiles")
    @FuzzTest
    @Timeout(value = 10, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void anyFileIsReadOrRefusedWithAnLstmxException(byte[] input) throws IOException {
        read(input, dir);
    }

    /** A .npy file cut short inside its header length field (2 bytes in version 1.0, 4 in 2.0 and 3.0). */
    static boolean endsInsideTheHeaderLength(byte[] b) {
        if (b.length < 8 || (b[0] & 0xff) != 0x93 || b[1] != 'N' || b[2] != 'U' || b[3] != 'M' || b[4] != 'P' || b[5] != 'Y') {
            return false;
        }
        return (b[6] == 1 && b.length < 10) || ((b[6] == 2 || b[6] == 3) && b.length < 12);
    }

    /** The check of one input, also used by the plain tests replaying findings. */
    static void read(byte[] input, Path dir) throws IOException {
        Path file = dir.resolve("input.npy");
        Files.write(file, input);
        TALLY.inputs.incrementAndGet();
        long before = allocatedBytes();
        try {
            Tensor t = Npy.read(file);
            // Every element comes from at least one byte of the file; a larger tensor was invented.
            if (t.size() > input.length) {
                throw new AssertionError("a " + input.length + "-byte file read as " + t.size() + " elements");
            }
            TALLY.accepted.incrementAndGet();
            if (t.size() > 0) {
                TALLY.further.incrementAndGet();
            }
        } catch (LstmxException e) {
            cleanRefusal(e, "Npy.read", file.toString());
            TALLY.refused.incrementAndGet();
        }
        withinAllocationBudget(before, "Npy.read");
    }
}
