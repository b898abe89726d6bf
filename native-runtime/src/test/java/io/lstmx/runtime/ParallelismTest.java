package io.lstmx.runtime;

import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;

import static io.lstmx.runtime.TestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LSTM calls large enough to be split over threads ({@link LstmKernel#PARALLEL_WORK}) give the same
 * bits whatever the thread count, one compiled model gives the same bits when run from several
 * threads at once, and {@link Parallel} itself runs pieces concurrently, once each, and reports
 * failures.
 */
class ParallelismTest {
    private static final int STEPS = 16;
    private static final int BATCH = 13; // three groups of four rows and one row left over

    /** One LSTM case: the compiled model and seeded input sets with ragged lengths and initial states. */
    private record Case(String name, LstmSpec spec, List<LstmWeights> weights, CompiledModel model) {
        static Case of(String name, LstmSpec spec, boolean peephole, long seed) {
            Random rnd = new Random(seed);
            List<LstmWeights> w = new ArrayList<>();
            for (LstmWeights d : TestSupport.weights(rnd, spec, peephole, spec.direction().count())) {
                // An unsquashed projection with weights of scale 0.6 makes the recurrence chaotic (float
                // rounding grows about 2x per step, so no reference could agree); 1/sqrt(H) keeps it tame.
                Tensor p = d.projection();
                if (p != null) {
                    float[] f = p.toFloatArray();
                    for (int i = 0; i < f.length; i++) {
                        f[i] /= (float) Math.sqrt(spec.hiddenSize());
                    }
                    p = Tensor.ofFloats(p.shape(), f);
                }
                w.add(new LstmWeights(d.w(), d.r(), d.wb(), d.rb(), d.peephole(), p));
            }
            return new Case(name, spec, w, NativeRuntime.compile(TestSupport.lstmModel(spec, w, true, true)));
        }

        long work() {
            return (long) STEPS * BATCH * spec.direction().count() * 4 * spec.hiddenSize() * (spec.inputSize() + spec.outputSize());
        }

        Map<String, Tensor> inputs(long seed) {
            Random rnd = new Random(seed);
            int dirs = spec.direction().count();
            boolean bm = spec.layout() == Layout.BATCH_MAJOR;
            long[] lens = new long[BATCH];
            for (int b = 0; b < BATCH; b++) {
                lens[b] = b == 5 ? 0 : b % 4 == 0 ? STEPS : 1 + rnd.nextInt(STEPS);
            }
            int i = spec.inputSize();
            int p = spec.outputSize();
            int h = spec.hiddenSize();
            return Map.of(
                    "X", Tensor.ofFloats(bm ? new int[] {BATCH, STEPS, i} : new int[] {STEPS, BATCH, i}, random(rnd, STEPS * BATCH * i, 1)),
                    "L", Tensor.ofLongs(DType.INT32, new int[] {BATCH}, lens),
                    "H0", Tensor.ofFloats(bm ? new int[] {BATCH, dirs, p} : new int[] {dirs, BATCH, p}, random(rnd, dirs * BATCH * p, 0.5)),
                    "C0", Tensor.ofFloats(bm ? new int[] {BATCH, dirs, h} : new int[] {dirs, BATCH, h}, random(rnd, dirs * BATCH * h, 0.5)));
        }

        /** Y, Y_h, Y_c of one run with the given thread count (1: no split). */
        float[][] run(int threads, Map<String, Tensor> in) {
            List<float[]> out = new ArrayList<>();
            Parallel.withThreads(threads, () -> model.run(in).values().forEach(t -> out.add(t.toFloatArray())));
            return out.toArray(new float[0][]);
        }
    }

    private static List<Case> cases() {
        LstmSpec bi = LstmSpec.standard(24, 40, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        LstmSpec fwd = LstmSpec.standard(20, 72, Direction.FORWARD, Layout.BATCH_MAJOR);
        // Peepholes, projection and clip: the generic cell and the projection product.
        LstmSpec generic = new LstmSpec(40, 64, 48, Direction.REVERSE, Layout.TIME_MAJOR, 2.5f, false, LstmSpec.DEFAULT_ACTIVATIONS);
        return List.of(Case.of("bidirectional default cell", bi, false, 1),
                Case.of("forward batch-major default cell", fwd, false, 2),
                Case.of("reverse peephole+projection+clip", generic, true, 3));
    }

    private static void assertSameBits(float[][] expected, float[][] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": output count");
        for (int k = 0; k < expected.length; k++) {
            // assertArrayEquals on float[] compares bit patterns (floatToIntBits).
            assertArrayEquals(expected[k], actual[k], what + ": output " + k + " differs");
        }
    }

    @Test
    void splitRunsGiveTheSameBitsAsOneThread() {
        for (Case c : cases()) {
            assertTrue(c.work() >= LstmKernel.PARALLEL_WORK, c.name + ": " + c.work() + " multiply-adds, too few to be split");
            Map<String, Tensor> in = c.inputs(42);
            float[][] single = c.run(1, in);
            // The unsplit run is itself right: the independent double-precision reference agrees.
            int[] lens = Arrays.stream(in.get("L").toLongArray()).mapToInt(v -> (int) v).toArray();
            LstmReference.Out ref = LstmReference.run(c.spec, c.weights, in.get("X").toFloatArray(), STEPS, BATCH, lens,
                    in.get("H0").toFloatArray(), in.get("C0").toFloatArray());
            double[][] refs = {ref.y(), ref.yh(), ref.yc()};
            for (int k = 0; k < 3; k++) {
                TestSupport.assertClose(refs[k], Tensor.ofFloats(new int[] {single[k].length}, single[k]), 2e-5, 2e-4,
                        c.name + ": output " + k + " against LstmReference");
            }
            // 2..6 threads split by direction and into 1..3 blocks of rows (with a remainder row).
            for (int threads = 2; threads <= 6; threads++) {
                assertSameBits(single, c.run(threads, in), c.name + " with " + threads + " threads");
            }
        }
    }

    @Test
    void oneCompiledModelRunFromSeveralThreadsAtOnce() throws Exception {
        Case c = cases().get(0);
        int callers = 4;
        List<Map<String, Tensor>> inputs = new ArrayList<>();
        List<float[][]> expected = new ArrayList<>();
        for (int i = 0; i < callers; i++) {
            // Different inputs per caller: a buffer wrongly shared between calls would mix them up.
            inputs.add(c.inputs(100 + i));
            expected.add(c.run(1, inputs.get(i)));
        }
        List<List<float[][]>> results = TestSupport.runConcurrently(callers, i -> () -> {
            List<float[][]> r = new ArrayList<>();
            for (int rep = 0; rep < 3; rep++) {
                r.add(c.run(Parallel.THREADS, inputs.get(i))); // the default configuration
            }
            return r;
        });
        for (int i = 0; i < callers; i++) {
            List<float[][]> r = results.get(i);
            for (int rep = 0; rep < r.size(); rep++) {
                assertSameBits(expected.get(i), r.get(rep), "caller " + i + ", run " + rep);
            }
        }
    }

    @Test
    void piecesRunConcurrentlyOnceEach() throws Exception {
        // Two pieces that each wait for the other can only finish if they run at the same time.
        CyclicBarrier both = new CyclicBarrier(2);
        Set<Thread> threads = Collections.synchronizedSet(new HashSet<>());
        Runnable meet = () -> {
            threads.add(Thread.currentThread());
            try {
                both.await(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("pieces did not run concurrently", e);
            }
        };
        Parallel.withThreads(2, () -> Parallel.runAll(List.of(meet, meet)));
        assertEquals(2, threads.size());
        assertTrue(threads.contains(Thread.currentThread()), "the calling thread works too");

        // Many pieces, more than threads: each runs exactly once; with 1 thread, in order on the caller.
        for (int t : new int[] {1, 2, 5}) {
            int n = 37;
            int[] runs = new int[n];
            List<Integer> order = Collections.synchronizedList(new ArrayList<>());
            List<Runnable> pieces = new ArrayList<>();
            Thread caller = Thread.currentThread();
            for (int i = 0; i < n; i++) {
                int k = i;
                pieces.add(() -> {
                    synchronized (runs) {
                        runs[k]++;
                    }
                    if (t == 1) {
                        assertSame(caller, Thread.currentThread(), "one thread: pieces run on the caller");
                    }
                    order.add(k);
                });
            }
            Parallel.withThreads(t, () -> Parallel.runAll(pieces));
            int[] once = new int[n];
            Arrays.fill(once, 1);
            assertArrayEquals(once, runs, t + " threads: every piece once");
            if (t == 1) {
                List<Integer> sorted = new ArrayList<>(order);
                Collections.sort(sorted);
                assertEquals(sorted, order, "one thread runs the pieces in order");
            }
        }
    }

    @Test
    void failuresAreRethrownAfterAllPiecesFinish() {
        for (int t : new int[] {1, 2}) {
            int[] ran = new int[1];
            List<Runnable> pieces = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                int k = i;
                pieces.add(() -> {
                    synchronized (ran) {
                        ran[0]++;
                    }
                    if (k == 2) {
                        throw new IllegalArgumentException("piece 2");
                    }
                });
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Parallel.withThreads(t, () -> Parallel.runAll(pieces)));
            assertEquals("piece 2", e.getMessage());
            if (t > 1) {
                assertEquals(6, ran[0], "the other pieces still run");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Parallel.withThreads(0, () -> { }));
        assertEquals(Parallel.THREADS, Parallel.threads(), "the override ends with withThreads");
    }
}
