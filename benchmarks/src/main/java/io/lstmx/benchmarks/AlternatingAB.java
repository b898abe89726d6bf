package io.lstmx.benchmarks;

import io.lstmx.ir.Tensor;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.NativeRuntime;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;

/**
 * A/B of one runtime setting in one JVM: windows of calls alternate between value A and value B of a
 * static, non-final field of a runtime class, and each window's median is kept per side. On a shared
 * host whose speed comes in phases of seconds (benchmarks/RESULTS.md, 2026-12-08), two runs a minute
 * apart differ by more than most changes do; windows that alternate every few hundred milliseconds see
 * the same phases, and the count of window pairs B won says whether a difference is more than noise.
 * <p>
 * Usage (the classpath of {@code benchmarks/run}):
 * {@code AlternatingAB H T B CLASS FIELD A B [WINDOWS [CALLS]]}, for example
 * {@code AlternatingAB 512 25 1 LstmKernel fuseMinBytes 262144 1000000000000 20 10}: a forward LSTM, I = H,
 * time-major input [T, B, H]; CLASS is a class of {@code io.lstmx.runtime}; FIELD an int, long or boolean
 * field that the runtime reads at call time (a final field cannot be set).
 */
public final class AlternatingAB {
    private AlternatingAB() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 7) {
            System.err.println("usage: AlternatingAB H T B CLASS FIELD A B [WINDOWS [CALLS]]");
            System.exit(2);
        }
        int h = Integer.parseInt(args[0]);
        int t = Integer.parseInt(args[1]);
        int b = Integer.parseInt(args[2]);
        Field f = Class.forName("io.lstmx.runtime." + args[3]).getDeclaredField(args[4]);
        if (!Modifier.isStatic(f.getModifiers()) || Modifier.isFinal(f.getModifiers())) {
            throw new IllegalArgumentException(args[3] + "." + args[4] + " is not a static, non-final field");
        }
        f.setAccessible(true);
        String[] values = {args[5], args[6]};
        int windows = args.length > 7 ? Integer.parseInt(args[7]) : 20;
        int calls = args.length > 8 ? Integer.parseInt(args[8]) : 10;
        CompiledModel model = NativeRuntime.compile(BenchModels.singleLstm(h, h, false));
        Map<String, Tensor> in = Map.of("X", BenchModels.randomInput(7, t, b, h));
        for (int warm = 0; warm < 4; warm++) { // both sides compiled by the JIT before any window counts
            set(f, values[warm & 1]);
            for (int i = 0; i < 100; i++) {
                model.run(in);
            }
        }
        double[][] medians = new double[2][windows];
        for (int w = 0; w < windows; w++) {
            for (int side = 0; side < 2; side++) {
                set(f, values[side]);
                for (int i = 0; i < 3; i++) {
                    model.run(in);
                }
                double[] ms = new double[calls];
                for (int i = 0; i < calls; i++) {
                    long t0 = System.nanoTime();
                    model.run(in);
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
                Arrays.sort(ms);
                medians[side][w] = ms[calls / 2];
            }
        }
        int bWon = 0;
        for (int w = 0; w < windows; w++) {
            if (medians[1][w] < medians[0][w]) {
                bWon++;
            }
        }
        for (int side = 0; side < 2; side++) {
            double[] m = medians[side].clone();
            Arrays.sort(m);
            System.out.printf(Locale.ROOT, "%s = %s: window medians %.3f ms (p10 %.3f, p90 %.3f)%n", args[4], values[side],
                    m[windows / 2], m[windows / 10], m[windows * 9 / 10]);
        }
        System.out.printf(Locale.ROOT, "B faster in %d of %d window pairs%n", bWon, windows);
    }

    private static void set(Field f, String v) throws IllegalAccessException {
        Class<?> type = f.getType();
        if (type == int.class) {
            f.setInt(null, Integer.parseInt(v));
        } else if (type == long.class) {
            f.setLong(null, Long.parseLong(v));
        } else if (type == boolean.class) {
            f.setBoolean(null, Boolean.parseBoolean(v));
        } else {
            throw new IllegalArgumentException("field type " + type + " (int, long or boolean)");
        }
    }
}
