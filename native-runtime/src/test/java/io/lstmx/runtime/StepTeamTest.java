package io.lstmx.runtime;

import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.lstmx.runtime.TestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The step-team path of the LSTM kernel (a single piece, fewer than eight rows, its hidden units
 * split over persistent threads that meet once per step) gives the same bits as the plain
 * single-threaded path, for team sizes 2..5, batches 1..5 with ragged lengths (including 0),
 * both layouts, forward and reverse, the default cell, the generic cell (clip, peepholes, other
 * activations) and a cell clip, a hidden size that is not a multiple of the 32-unit groups; the
 * single-threaded path itself agrees with the double-precision reference. Also: many callers at
 * once (the team runs one call at a time, the others run alone), and the barrier itself. The same
 * for the GRU's team (linear_before_reset; without it the layer is not split), and for the
 * directions of a bidirectional LSTM and GRU split over two threads.
 */
class StepTeamTest {
    private static final int STEPS = 24;

    private record Case(String name, LstmSpec spec, List<LstmWeights> weights, CompiledModel model) {
        static Case of(String name, LstmSpec spec, boolean peephole, long seed) {
            Random rnd = new Random(seed);
            List<LstmWeights> w = new ArrayList<>();
            for (LstmWeights d : TestSupport.weights(rnd, spec, peephole, spec.direction().count())) {
                // keep the recurrence tame at this hidden size (R of scale 1/sqrt(H))
                float[] r = d.r().toFloatArray();
                for (int i = 0; i < r.length; i++) {
                    r[i] *= (float) (1 / Math.sqrt(spec.hiddenSize()));
                }
                Tensor p = d.peephole();
                if (p != null) {
                    float[] f = p.toFloatArray();
                    for (int i = 0; i < f.length; i++) {
                        f[i] *= 0.3f;
                    }
                    p = Tensor.ofFloats(p.shape(), f);
                }
                w.add(new LstmWeights(d.w(), Tensor.ofFloats(d.r().shape(), r), d.wb(), d.rb(), p, d.projection()));
            }
            return new Case(name, spec, w, NativeRuntime.compile(TestSupport.lstmModel(spec, w, true, true)));
        }

        Map<String, Tensor> inputs(int batch, long seed) {
            return inputs(batch, STEPS, seed);
        }

        Map<String, Tensor> inputs(int batch, int steps, long seed) {
            Random rnd = new Random(seed);
            boolean bm = spec.layout() == Layout.BATCH_MAJOR;
            long[] lens = new long[batch];
            for (int b = 0; b < batch; b++) {
                lens[b] = b == 0 ? steps : b == 2 ? 0 : 1 + rnd.nextInt(steps);
            }
            int i = spec.inputSize();
            int h = spec.hiddenSize();
            return Map.of(
                    "X", Tensor.ofFloats(bm ? new int[] {batch, steps, i} : new int[] {steps, batch, i}, random(rnd, steps * batch * i, 1)),
                    "L", Tensor.ofLongs(DType.INT32, new int[] {batch}, lens),
                    "H0", Tensor.ofFloats(bm ? new int[] {batch, 1, h} : new int[] {1, batch, h}, random(rnd, batch * h, 0.5)),
                    "C0", Tensor.ofFloats(bm ? new int[] {batch, 1, h} : new int[] {1, batch, h}, random(rnd, batch * h, 0.5)));
        }

        float[][] run(int threads, Map<String, Tensor> in) {
            List<float[]> out = new ArrayList<>();
            Parallel.withThreads(threads, () -> model.run(in).values().forEach(t -> out.add(t.toFloatArray())));
            return out.toArray(new float[0][]);
        }
    }

    private static List<Case> cases() {
        // H = 130: five groups of 32 units, the last one of 2 units.
        LstmSpec fwd = LstmSpec.standard(30, 130, Direction.FORWARD, Layout.TIME_MAJOR);
        LstmSpec rev = LstmSpec.standard(17, 130, Direction.REVERSE, Layout.BATCH_MAJOR);
        LstmSpec clipped = new LstmSpec(30, 130, 0, Direction.FORWARD, Layout.TIME_MAJOR, 2.5f, false, LstmSpec.DEFAULT_ACTIVATIONS);
        LstmSpec cellClip = fwd.withCellClip(0.8f);
        return List.of(Case.of("forward default cell", fwd, false, 1),
                Case.of("reverse batch-major default cell", rev, false, 2),
                Case.of("forward peephole+clip (generic cell)", clipped, true, 3),
                Case.of("forward cell clip", cellClip, false, 4));
    }

    private static void assertSameBits(float[][] expected, float[][] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": output count");
        for (int k = 0; k < expected.length; k++) {
            assertArrayEquals(expected[k], actual[k], what + ": output " + k + " differs");
        }
    }

    @Test
    void teamRunsGiveTheSameBitsAsOneThread() {
        for (Case c : cases()) {
            for (int batch = 1; batch <= 5; batch++) {
                Map<String, Tensor> in = c.inputs(batch, 40 + batch);
                float[][] single = c.run(1, in);
                int[] lens = Arrays.stream(in.get("L").toLongArray()).mapToInt(v -> (int) v).toArray();
                LstmReference.Out ref = LstmReference.run(c.spec, c.weights, in.get("X").toFloatArray(), STEPS, batch, lens,
                        in.get("H0").toFloatArray(), in.get("C0").toFloatArray());
                double[][] refs = {ref.y(), ref.yh(), ref.yc()};
                for (int k = 0; k < 3; k++) {
                    TestSupport.assertClose(refs[k], Tensor.ofFloats(new int[] {single[k].length}, single[k]), 2e-5, 2e-4,
                            c.name + ", batch " + batch + ": output " + k + " against LstmReference");
                }
                for (int threads = 2; threads <= 5; threads++) {
                    long before = StepTeam.CALLS.get();
                    float[][] team = c.run(threads, in);
                    assertTrue(StepTeam.CALLS.get() > before, c.name + ", batch " + batch + ", " + threads + " threads: a team ran it");
                    assertSameBits(single, team, c.name + ", batch " + batch + ", " + threads + " threads");
                }
            }
        }
    }

    @Test
    void claimedStepsGiveTheSameBitsWhicheverParticipantComputesAGroup() {
        // With the Vector API kernels a team's participants claim unit groups step by step; shifted,
        // every group is computed by another participant than its owner (its R^T columns,
        // projected inputs and cell state), as a late participant's groups are in a real run.
        org.junit.jupiter.api.Assumptions.assumeTrue(Vec.ENABLED, "claimed steps need the Vector API kernels");
        try {
            for (Case c : cases()) {
                for (int batch : new int[] {1, 4, 5}) {
                    Map<String, Tensor> in = c.inputs(batch, 70 + batch);
                    float[][] single = c.run(1, in);
                    for (int shift = 1; shift <= 2; shift++) {
                        LstmKernel.claimShift = shift;
                        for (int threads = 2; threads <= 3; threads++) {
                            long before = StepTeam.CALLS.get();
                            float[][] team = c.run(threads, in);
                            assertTrue(StepTeam.CALLS.get() > before, c.name + ", batch " + batch + ", " + threads + " threads: a team ran it");
                            assertSameBits(single, team, c.name + ", batch " + batch + ", " + threads + " threads, claims shifted by " + shift);
                        }
                    }
                    LstmKernel.claimShift = 0;
                }
            }
        } finally {
            LstmKernel.claimShift = 0;
        }
    }

    @Test
    void batchOneTeamStepsThatAlsoProjectLaterInputsGiveTheSameBitsAsOneThread() {
        // At batch 1 with a large R the team's steps also compute the next block of 8 rows' input
        // projections, each step a share (LstmKernel.projectsAhead); lowered here to every size.
        // 24 steps: whole blocks; 29: the last block runs past the chunk's end; 420: two chunks
        // (409 steps of 640 columns fill the chunk), the second of 11 steps. The fused kernel takes
        // I and H of one padded depth (129 and 130 pad to 136); I = 30 does not fuse.
        org.junit.jupiter.api.Assumptions.assumeTrue(Vec.ENABLED, "the fused kernel is a Vector API kernel");
        long saved = LstmKernel.fuseMinBytes;
        boolean savedFew = LstmKernel.fuseOnFewRegisters;
        try {
            LstmKernel.fuseMinBytes = 0;
            LstmKernel.fuseOnFewRegisters = true;
            List<Case> fused = List.of(
                    Case.of("forward default cell", LstmSpec.standard(130, 130, Direction.FORWARD, Layout.TIME_MAJOR), false, 5),
                    Case.of("reverse batch-major default cell", LstmSpec.standard(129, 130, Direction.REVERSE, Layout.BATCH_MAJOR), false, 6),
                    Case.of("forward cell clip", LstmSpec.standard(130, 130, Direction.FORWARD, Layout.TIME_MAJOR).withCellClip(0.8f), false, 7),
                    Case.of("forward peephole+clip (generic cell)", new LstmSpec(130, 130, 0, Direction.FORWARD, Layout.TIME_MAJOR, 2.5f, false,
                            LstmSpec.DEFAULT_ACTIVATIONS), true, 8),
                    Case.of("forward, I = 30 (another depth)", LstmSpec.standard(30, 130, Direction.FORWARD, Layout.TIME_MAJOR), false, 9));
            for (Case c : fused) { // compiled now: their team slices get the half panels
                for (int steps : new int[] {24, 29, 420}) {
                    Map<String, Tensor> in = c.inputs(1, steps, 90 + steps);
                    float[][] single = c.run(1, in);
                    for (int shift = 0; shift <= 1; shift++) {
                        LstmKernel.claimShift = shift;
                        for (int threads = 2; threads <= 3; threads++) {
                            long before = RecurrentKernel.PROJECTED_AHEAD.sum();
                            float[][] team = c.run(threads, in);
                            String what = c.name + ", " + steps + " steps, " + threads + " threads, claims shifted by " + shift;
                            if (c.name.contains("generic") || c.name.contains("depth")) {
                                assertEquals(before, RecurrentKernel.PROJECTED_AHEAD.sum(), what + ": does not project ahead");
                            } else {
                                assertTrue(RecurrentKernel.PROJECTED_AHEAD.sum() > before, what + ": the steps projected ahead");
                            }
                            assertSameBits(single, team, what);
                        }
                    }
                    LstmKernel.claimShift = 0;
                }
            }
        } finally {
            LstmKernel.fuseMinBytes = saved;
            LstmKernel.fuseOnFewRegisters = savedFew;
            LstmKernel.claimShift = 0;
        }
    }

    /** A GRU case: the layer, its compiled model (X, L, H0 in; Y, Y_h out) and its weights. */
    private record GruCase(String name, RecurrentSpec spec, List<RecurrentWeights> weights, CompiledModel model) {
        static GruCase of(String name, RecurrentSpec spec, long seed) {
            List<RecurrentWeights> w = TestSupport.recurrentWeights(new Random(seed), spec, 3);
            return new GruCase(name, spec, w, NativeRuntime.compile(TestSupport.singleLayerModel(TestSupport.gru(spec, w, true, true, "Y", "Y_h"), true, true)));
        }

        Map<String, Tensor> inputs(int batch, long seed) {
            Random rnd = new Random(seed);
            boolean bm = spec.layout() == Layout.BATCH_MAJOR;
            int dirs = spec.direction().count();
            long[] lens = new long[batch];
            for (int b = 0; b < batch; b++) {
                lens[b] = b == 0 ? STEPS : b == 2 ? 0 : 1 + rnd.nextInt(STEPS);
            }
            int i = spec.inputSize();
            int h = spec.hiddenSize();
            return Map.of(
                    "X", Tensor.ofFloats(bm ? new int[] {batch, STEPS, i} : new int[] {STEPS, batch, i}, random(rnd, STEPS * batch * i, 1)),
                    "L", Tensor.ofLongs(DType.INT32, new int[] {batch}, lens),
                    "H0", Tensor.ofFloats(bm ? new int[] {batch, dirs, h} : new int[] {dirs, batch, h}, random(rnd, dirs * batch * h, 0.5)));
        }

        float[][] run(int threads, Map<String, Tensor> in) {
            List<float[]> out = new ArrayList<>();
            Parallel.withThreads(threads, () -> model.run(in).values().forEach(t -> out.add(t.toFloatArray())));
            return out.toArray(new float[0][]);
        }
    }

    @Test
    void gruTeamRunsGiveTheSameBitsAsOneThread() {
        // H = 150: five groups of 32 units, the last one of 22. Only linear_before_reset layers are split.
        List<GruCase> cases = List.of(
                GruCase.of("GRU linear_before_reset, forward", TestSupport.gruSpec(30, 150, Direction.FORWARD, Layout.TIME_MAJOR, null, true), 11),
                GruCase.of("GRU linear_before_reset, reverse batch-major", TestSupport.gruSpec(17, 150, Direction.REVERSE, Layout.BATCH_MAJOR, null, true), 12),
                GruCase.of("GRU linear_before_reset, clip (generic path)", TestSupport.gruSpec(30, 150, Direction.FORWARD, Layout.TIME_MAJOR, 1.5f, true), 13),
                GruCase.of("GRU without linear_before_reset (not split)", TestSupport.gruSpec(30, 150, Direction.FORWARD, Layout.TIME_MAJOR, null, false), 14));
        for (GruCase c : cases) {
            for (int batch = 1; batch <= 5; batch++) {
                Map<String, Tensor> in = c.inputs(batch, 60 + batch);
                float[][] single = c.run(1, in);
                int[] lens = Arrays.stream(in.get("L").toLongArray()).mapToInt(v -> (int) v).toArray();
                RecurrentReference.Out ref = RecurrentReference.gru(c.spec, c.weights, in.get("X").toFloatArray(), STEPS, batch, lens,
                        in.get("H0").toFloatArray());
                TestSupport.assertClose(ref.y(), Tensor.ofFloats(new int[] {single[0].length}, single[0]), 2e-5, 2e-4, c.name + ", batch " + batch + ": Y");
                TestSupport.assertClose(ref.yh(), Tensor.ofFloats(new int[] {single[1].length}, single[1]), 2e-5, 2e-4, c.name + ", batch " + batch + ": Y_h");
                for (int threads = 2; threads <= 5; threads++) {
                    long before = StepTeam.CALLS.get();
                    float[][] team = c.run(threads, in);
                    if (c.spec.linearBeforeReset()) {
                        assertTrue(StepTeam.CALLS.get() > before, c.name + ", batch " + batch + ", " + threads + " threads: a team ran it");
                    }
                    assertSameBits(single, team, c.name + ", batch " + batch + ", " + threads + " threads");
                }
            }
        }
    }

    @Test
    void bidirectionalDirectionsOnTwoThreadsGiveTheSameBitsAsOneThread() {
        // Enough work to split into one piece per direction (PARALLEL_WORK), run by the caller and a pool thread.
        LstmSpec bidi = LstmSpec.standard(40, 64, Direction.BIDIRECTIONAL, Layout.TIME_MAJOR);
        Case lstm = Case.of("bidirectional LSTM", bidi, false, 21);
        GruCase gru = GruCase.of("bidirectional GRU", TestSupport.gruSpec(40, 64, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, null, true), 22);
        for (int batch = 1; batch <= 3; batch++) {
            int steps = (int) (RecurrentKernel.PARALLEL_WORK / (2L * 4 * 64 * (40 + 64) * batch)) + 1;
            Map<String, Tensor> in = longInputs(lstm.inputs(batch, 70 + batch), steps, batch, 40, false, 64, true);
            assertSameBits(lstm.run(1, in), lstm.run(2, in), "bidirectional LSTM, batch " + batch);
            Map<String, Tensor> gin = longInputs(gru.inputs(batch, 80 + batch), steps, batch, 40, true, 64, false);
            assertSameBits(gru.run(1, gin), gru.run(2, gin), "bidirectional GRU, batch " + batch);
        }
    }

    /** The given inputs with X of {@code steps} steps (random), all lengths {@code steps}, initial states of two directions. */
    private static Map<String, Tensor> longInputs(Map<String, Tensor> base, int steps, int batch, int features, boolean batchMajor,
            int hidden, boolean cell) {
        Random rnd = new Random(steps * 31L + batch);
        Map<String, Tensor> in = new java.util.HashMap<>();
        in.put("X", Tensor.ofFloats(batchMajor ? new int[] {batch, steps, features} : new int[] {steps, batch, features},
                random(rnd, steps * batch * features, 1)));
        long[] lens = new long[batch];
        Arrays.fill(lens, steps);
        lens[batch - 1] = steps / 2;
        in.put("L", Tensor.ofLongs(DType.INT32, new int[] {batch}, lens));
        int[] stateShape = batchMajor ? new int[] {batch, 2, hidden} : new int[] {2, batch, hidden};
        in.put("H0", Tensor.ofFloats(stateShape, random(rnd, 2 * batch * hidden, 0.5)));
        if (cell) {
            in.put("C0", Tensor.ofFloats(stateShape, random(rnd, 2 * batch * hidden, 0.5)));
        }
        return in;
    }

    @Test
    void manyCallersAtOnceGetTheirOwnResults() throws Exception {
        manyCallersGetTheirOwnResults(cases().get(0), 3);
    }

    @Test
    void manyCallersAtOnceGetTheirOwnResultsWhileTheTeamProjectsAhead() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Vec.ENABLED, "the fused kernel is a Vector API kernel");
        long saved = LstmKernel.fuseMinBytes;
        boolean savedFew = LstmKernel.fuseOnFewRegisters;
        try {
            LstmKernel.fuseMinBytes = 0;
            LstmKernel.fuseOnFewRegisters = true;
            StepTeam.resetBackoff(); // calls of earlier tests that mostly waited may have sent calls to run alone for a while
            long before = RecurrentKernel.PROJECTED_AHEAD.sum();
            manyCallersGetTheirOwnResults(Case.of("forward default cell, I = H", LstmSpec.standard(130, 130, Direction.FORWARD,
                    Layout.TIME_MAJOR), false, 11), 1);
            assertTrue(RecurrentKernel.PROJECTED_AHEAD.sum() > before, "some batch-1 calls projected ahead");
        } finally {
            LstmKernel.fuseMinBytes = saved;
            LstmKernel.fuseOnFewRegisters = savedFew;
        }
    }

    /** Six callers, batches 1 .. maxBatch, each running the model 20 times with the team (when they get it) against one thread's bits. */
    private void manyCallersGetTheirOwnResults(Case c, int maxBatch) throws Exception {
        int callers = 6;
        List<Map<String, Tensor>> inputs = new ArrayList<>();
        List<float[][]> expected = new ArrayList<>();
        for (int i = 0; i < callers; i++) {
            inputs.add(c.inputs(1 + i % maxBatch, 200 + i));
            expected.add(c.run(1, inputs.get(i)));
        }
        long before = StepTeam.CALLS.get();
        List<List<float[][]>> results = TestSupport.runConcurrently(callers, i -> () -> {
            List<float[][]> r = new ArrayList<>();
            for (int rep = 0; rep < 20; rep++) {
                r.add(c.run(2, inputs.get(i)));
            }
            return r;
        });
        assertTrue(StepTeam.CALLS.get() > before, "the team ran some of the calls");
        for (int i = 0; i < callers; i++) {
            for (int rep = 0; rep < results.get(i).size(); rep++) {
                assertSameBits(expected.get(i), results.get(i).get(rep), "caller " + i + ", run " + rep);
            }
        }
    }

    @Test
    void backOffsThatFollowEachOtherGrowAndAQuietSpellStartsAgainFromTheShortest() {
        try {
            StepTeam.resetBackoff();
            long t = System.nanoTime();
            long shortest = 25_000_000L;
            StepTeam.backOff(t, shortest);
            assertEquals(shortest, StepTeam.lastBackoffNanos());
            assertFalse(StepTeam.worthTrying(), "calls run alone during a back-off");
            // strikes again just after each back-off ended: twice as long each time, up to a cap
            long end = t + shortest;
            long expected = shortest;
            long previous = 0;
            for (int i = 0; i < 12; i++) {
                StepTeam.backOff(end + 1_000_000L, shortest);
                expected = Math.min(2 * expected, StepTeam.BACKOFF_MAX_NANOS);
                assertEquals(expected, StepTeam.lastBackoffNanos(), "back-off " + (i + 2));
                assertTrue(StepTeam.lastBackoffNanos() >= previous);
                previous = StepTeam.lastBackoffNanos();
                end = end + 1_000_000L + previous;
            }
            assertEquals(StepTeam.BACKOFF_MAX_NANOS, previous, "capped");
            // strikes long after the last back-off ended: the shortest again
            StepTeam.backOff(end + 10 * previous, shortest);
            assertEquals(shortest, StepTeam.lastBackoffNanos());
        } finally {
            StepTeam.resetBackoff();
        }
        assertTrue(StepTeam.worthTrying());
    }

    @Test
    void barrierOrdersStepsAndFailuresReachTheCaller() {
        StepTeam team = StepTeam.tryAcquire(3);
        assertTrue(team != null);
        try {
            int rounds = 2000;
            int[][] seen = new int[3][rounds];
            int[] slot = new int[3];
            team.run(p -> {
                for (int s = 0; s < rounds; s++) {
                    slot[p] = s;
                    team.await(p);
                    // after the barrier of step s, everybody has written s
                    seen[p][s] = slot[0] + slot[1] + slot[2];
                    team.await(p);
                }
            });
            for (int p = 0; p < 3; p++) {
                for (int s = 0; s < rounds; s++) {
                    assertEquals(3 * s, seen[p][s], "participant " + p + ", step " + s);
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> team.run(p -> {
                if (p == 1) {
                    throw new IllegalArgumentException("participant 1");
                }
                team.await(p); // would wait forever without the broken barrier
            }));
            assertEquals("participant 1", e.getMessage());
            // still usable after a failure
            int[] ran = new int[3];
            team.run(p -> {
                ran[p]++;
                team.await(p);
            });
            assertArrayEquals(new int[] {1, 1, 1}, ran);
        } finally {
            team.release();
        }
    }
}
