package io.lstmx.runtime;

import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.Model;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.lstmx.runtime.TestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A compiled model lends the input-row and projection buffers of a finished call to the next
 * ({@link RecurrentKernel.Spares}): every call must give the bits a freshly compiled model gives,
 * whatever calls came before (other batch sizes, lengths, step counts and thread counts). The
 * buffers given back are filled with NaN wherever a call must write before it reads, so a read of
 * anything left by an earlier call shows up in the outputs.
 */
class ReusedBuffersTest {
    @BeforeEach
    void poison() {
        RecurrentKernel.poisonSpares = true;
    }

    @AfterEach
    void unpoison() {
        RecurrentKernel.poisonSpares = false;
    }

    /** One call: batch, steps, thread count, seed. */
    private record Call(int batch, int steps, int threads, long seed) {
    }

    private static final List<Call> CALLS = List.of(
            new Call(5, 30, 1, 1), new Call(5, 30, 1, 2), new Call(1, 30, 2, 3), new Call(13, 30, 3, 4),
            new Call(5, 12, 2, 5), new Call(1, 30, 2, 6), new Call(13, 30, 1, 7), new Call(5, 30, 3, 8));

    private static Map<String, Tensor> inputs(int in, int h, int dirs, boolean bm, boolean cell, Call c) {
        Random rnd = new Random(c.seed);
        int b = c.batch;
        int t = c.steps;
        long[] lens = new long[b];
        for (int r = 0; r < b; r++) {
            lens[r] = r == 0 ? t : r == 2 ? 0 : 1 + rnd.nextInt(t);
        }
        Map<String, Tensor> x = new HashMap<>();
        x.put("X", Tensor.ofFloats(bm ? new int[] {b, t, in} : new int[] {t, b, in}, random(rnd, b * t * in, 1)));
        x.put("L", Tensor.ofLongs(DType.INT32, new int[] {b}, lens));
        x.put("H0", Tensor.ofFloats(bm ? new int[] {b, dirs, h} : new int[] {dirs, b, h}, random(rnd, dirs * b * h, 0.5)));
        if (cell) {
            x.put("C0", Tensor.ofFloats(bm ? new int[] {b, dirs, h} : new int[] {dirs, b, h}, random(rnd, dirs * b * h, 0.5)));
        }
        return x;
    }

    private static List<float[]> run(CompiledModel m, Map<String, Tensor> in, int threads) {
        List<float[]> out = new ArrayList<>();
        Parallel.withThreads(threads, () -> m.run(in).values().forEach(t -> out.add(t.toFloatArray())));
        return out;
    }

    private static void check(String name, Model model, int in, int h, int dirs, boolean bm, boolean cell) {
        CompiledModel reused = NativeRuntime.compile(model);
        for (Call c : CALLS) {
            Map<String, Tensor> x = inputs(in, h, dirs, bm, cell, c);
            List<float[]> got = run(reused, x, c.threads);
            List<float[]> fresh = run(NativeRuntime.compile(model), x, c.threads);
            for (int k = 0; k < fresh.size(); k++) {
                assertArrayEquals(fresh.get(k), got.get(k), name + ", " + c + ": output " + k + " differs from a fresh model's");
            }
        }
    }

    @Test
    void lstmCallsAfterOtherCallsGiveTheBitsOfAFreshModel() {
        long before = RecurrentKernel.Spares.REUSED.get();
        for (boolean bm : new boolean[] {false, true}) {
            Layout layout = bm ? Layout.BATCH_MAJOR : Layout.TIME_MAJOR;
            // 64 units: the team splits a small batch; bidirectional: pieces per direction; input 37: padded rows
            for (Direction dir : new Direction[] {Direction.FORWARD, Direction.BIDIRECTIONAL}) {
                LstmSpec spec = LstmSpec.standard(37, 64, dir, layout);
                Random rnd = new Random(11);
                Model m = TestSupport.lstmModel(spec, TestSupport.weights(rnd, spec, false, dir.count()), true, true);
                check("LSTM " + dir + " " + layout, m, 37, 64, dir.count(), bm, true);
            }
        }
        assertTrue(RecurrentKernel.Spares.REUSED.get() > before, "no call reused another call's buffers");
    }

    @Test
    void gruAndRnnCallsAfterOtherCallsGiveTheBitsOfAFreshModel() {
        long before = RecurrentKernel.Spares.REUSED.get();
        for (Direction dir : new Direction[] {Direction.FORWARD, Direction.REVERSE, Direction.BIDIRECTIONAL}) {
            RecurrentSpec gru = TestSupport.gruSpec(29, 64, dir, Layout.TIME_MAJOR, null, true);
            Model g = TestSupport.singleLayerModel(TestSupport.gru(gru, TestSupport.recurrentWeights(new Random(5), gru, 3), true, true, "Y", "Y_h"),
                    true, true);
            check("GRU " + dir, g, 29, 64, dir.count(), false, false);
            RecurrentSpec rnn = TestSupport.rnnSpec(29, 48, dir, Layout.BATCH_MAJOR, null);
            Model r = TestSupport.singleLayerModel(TestSupport.rnn(rnn, TestSupport.recurrentWeights(new Random(6), rnn, 1), true, true, "Y", "Y_h"),
                    true, true);
            check("RNN " + dir, r, 29, 48, dir.count(), true, false);
        }
        assertTrue(RecurrentKernel.Spares.REUSED.get() > before, "no call reused another call's buffers");
    }
}
