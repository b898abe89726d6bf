package io.lstmx.tests;

import io.lstmx.api.Lstmx;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.ir.DType;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 9: every fast path gives what the plain path gives, within 1e-5 relative, on every model
 * file among the fixtures and the shared real models that lstmx reads without extra options. Each
 * model is compiled twice in this JVM: {@link NativeRuntime#compile} (the Vector API panel kernels
 * and float LSTM cell when the JVM has the module; the step team and the projections inside the
 * steps, which the surefire execution running this class lets small models use by setting their
 * thresholds to 0) and {@link NativeRuntime#compileScalar} (one thread, the C2 kernels, the cell
 * in double), and both run on the same inputs: random floats, and 0 or 1 for integer inputs (valid
 * token ids and sequence lengths for every model), every symbolic dimension 4 (T = 1 as well, the
 * streaming shape). Files lstmx refuses without options (state_dicts without an architecture,
 * broken fixtures) are skipped; there must be many that are not.
 */
class FastPathParityTest {
    private static final double RTOL = 1e-5;
    /** Outputs near zero are compared at this absolute floor (1e-5 of 0.1). */
    private static final double ATOL = 1e-6;
    private static final AtomicInteger COMPARED = new AtomicInteger();

    static List<Path> modelFiles() throws IOException {
        List<Path> roots = new ArrayList<>(List.of(TestFiles.fixtures()));
        Path shared = TestFiles.shared().resolve("real-models");
        if (Files.isDirectory(shared)) {
            roots.add(shared);
        }
        List<Path> out = new ArrayList<>();
        for (Path root : roots) {
            try (Stream<Path> s = Files.walk(root)) {
                for (Path p : (Iterable<Path>) s.sorted()::iterator) {
                    String n = p.getFileName().toString();
                    if (Files.isDirectory(p) ? Files.isRegularFile(p.resolve("saved_model.pb"))
                            : n.endsWith(".onnx") || n.endsWith(".h5") || n.endsWith(".keras") || n.endsWith(".pt") || n.endsWith(".ptc")
                                    || (n.endsWith(".pb") && !n.equals("saved_model.pb") && !p.getParent().getFileName().toString().startsWith("test_data"))) {
                        out.add(p);
                    }
                }
            }
        }
        return out;
    }

    @TestFactory
    Stream<DynamicTest> everyModelRunsTheSameOnTheFastPathsAsOnThePlainPath() throws IOException {
        COMPARED.set(0);
        Path base = TestFiles.root().toAbsolutePath().normalize().getParent();
        Stream<DynamicTest> each = modelFiles().stream().map(p -> DynamicTest.dynamicTest(base.relativize(p.toAbsolutePath().normalize()).toString(),
                () -> check(p)));
        // dynamic tests run in the stream's order: this one last, once every file had its turn
        return Stream.concat(each, Stream.of(DynamicTest.dynamicTest("many model files were read and compared",
                () -> assertTrue(COMPARED.get() >= 40, "only " + COMPARED.get() + " model files were read and compared"))));
    }

    /** Compares the two paths on the model, counted in COMPARED; nothing when lstmx refuses the file without options, or its inputs. */
    private static void check(Path file) throws Exception {
        Model m;
        try {
            Format f = Lstmx.detect(file);
            m = Lstmx.read(file, f);
        } catch (LstmxException e) {
            return; // not this test's business: the readers' tests say why
        }
        CompiledModel fast = NativeRuntime.compile(m);
        CompiledModel plain = NativeRuntime.compileScalar(m);
        boolean any = false;
        for (int t : new int[] {4, 1}) {
            Map<String, Tensor> in = inputs(m, t, new SplittableRandom(file.toString().hashCode() * 31L + t));
            Map<String, Tensor> want;
            try {
                want = plain.run(in);
            } catch (LstmxException e) {
                continue; // inputs this model does not take (a fixed length, a vocabulary of one): nothing to compare
            }
            Map<String, Tensor> got = fast.run(in);
            assertEquals(want.keySet(), got.keySet(), file + ": outputs");
            for (Map.Entry<String, Tensor> e : want.entrySet()) {
                compare(file + " (symbolic dims " + t + "), output " + e.getKey(), e.getValue(), got.get(e.getKey()));
            }
            any = true;
        }
        if (any) {
            COMPARED.incrementAndGet();
        }
    }

    static Map<String, Tensor> inputs(Model m, int dim, SplittableRandom rnd) {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (ValueInfo v : m.inputs()) {
            int[] shape = new int[v.shape().rank()];
            for (int i = 0; i < shape.length; i++) {
                Dim d = v.shape().dim(i);
                shape[i] = d instanceof Dim.Fixed f ? (int) f.size() : dim;
            }
            int n = Tensor.elementCount(shape);
            if (v.dtype() == DType.INT32 || v.dtype() == DType.INT64) {
                long[] x = new long[n];
                for (int i = 0; i < n; i++) {
                    x[i] = rnd.nextInt(2);
                }
                in.put(v.name(), Tensor.ofLongs(v.dtype(), shape, x));
            } else {
                float[] x = new float[n];
                for (int i = 0; i < n; i++) {
                    x[i] = (float) (rnd.nextDouble() * 2 - 1);
                }
                in.put(v.name(), Tensor.ofFloats(shape, x));
            }
        }
        return in;
    }

    private static void compare(String what, Tensor want, Tensor got) {
        assertEquals(java.util.Arrays.toString(want.shape()), java.util.Arrays.toString(got.shape()), what + ": shape");
        if (!want.dtype().isFloating()) {
            assertEquals(java.util.Arrays.toString(want.toLongArray()), java.util.Arrays.toString(got.toLongArray()), what);
            return;
        }
        float[] a = want.toFloatArray();
        float[] b = got.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            double tol = ATOL + RTOL * Math.abs(a[i]);
            if (!(Math.abs(a[i] - b[i]) <= tol) && !(Float.isNaN(a[i]) && Float.isNaN(b[i]))) {
                fail(what + ": element " + i + " is " + b[i] + " on the fast paths, " + a[i] + " on the plain path (tolerance " + tol + ")");
            }
        }
    }
}
