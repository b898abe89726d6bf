package io.lstmx.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.function.IntToDoubleFunction;

/**
 * What this machine can do, measured by the benchmark itself, for the roofline column: the FMA
 * rate of a copy of the runtime's own 4-row GEMM kernel on L1-resident data, and the rate at which
 * its matrix-vector kernel (acc += a_k w_k, as the batch-1 LSTM step reads R) streams a matrix of a
 * given size, on 1 and on all threads (each thread its own matrix). The kernels copied are the
 * ones the runtime runs in this JVM: the Vector API kernels ({@link VectorProbes}) when it has
 * jdk.incubator.vector, else the C2-vectorised ones below. These are what Java code attains, not
 * the vendor's peak numbers.
 */
final class Machine {
    static final int W = 512;
    /** Matrix sizes (bytes, per thread) of the bandwidth probe. */
    static final long[] SIZES = {128L << 10, 512L << 10, 2L << 20, 8L << 20, 32L << 20, 128L << 20};

    final String cpu;
    final String jvm;
    final int threads;
    /** GFLOP/s, 1 thread and all threads. */
    final double fma1;
    final double fmaAll;
    /** GB/s per size, 1 thread and all threads (total). */
    final double[] bw1;
    final double[] bwAll;

    private Machine(String cpu, String jvm, int threads, double fma1, double fmaAll, double[] bw1, double[] bwAll) {
        this.cpu = cpu;
        this.jvm = jvm;
        this.threads = threads;
        this.fma1 = fma1;
        this.fmaAll = fmaAll;
        this.bw1 = bw1;
        this.bwAll = bwAll;
    }

    static String cpuName() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) {
                    return l.substring(l.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException ignored) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    /** Which kernels the probes copy: the runtime's Vector API kernels when this JVM has the module. */
    static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equals(System.getProperty("lstmx.vector"));
    // (asked of the module layer, not of VectorProbes: loading that class needs the module, which
    // VECTOR=0 leaves out)

    static String kernels() {
        return VECTOR ? VectorProbes.describe() : "C2-vectorised";
    }

    static Machine measure(PrintStream o) throws Exception {
        int threads = Runtime.getRuntime().availableProcessors();
        String jvm = System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version");
        IntToDoubleFunction fma = VECTOR ? VectorProbes::fmaProbe : Machine::fmaProbe;
        double f1 = rate(1, fma);
        double fa = rate(threads, fma);
        double[] b1 = new double[SIZES.length];
        double[] ba = new double[SIZES.length];
        for (int i = 0; i < SIZES.length; i++) {
            long size = SIZES[i];
            IntToDoubleFunction stream = VECTOR ? t -> VectorProbes.streamProbe(size) : t -> streamProbe(size);
            b1[i] = rate(1, stream);
            ba[i] = rate(threads, stream);
        }
        Machine m = new Machine(cpuName(), jvm, threads, f1 / 1e9, fa / 1e9, scale(b1), scale(ba));
        o.printf(Locale.ROOT, "# machine: %s, %d threads, %s; FMA kernel (%s) %.1f / %.1f GFLOP/s (1 / %d threads)%n",
                m.cpu, threads, jvm, kernels(), m.fma1, m.fmaAll, threads);
        for (int i = 0; i < SIZES.length; i++) {
            o.printf(Locale.ROOT, "#   stream %6d KiB per thread: %.1f / %.1f GB/s%n", SIZES[i] >> 10, m.bw1[i], m.bwAll[i]);
        }
        return m;
    }

    private static double[] scale(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = v[i] / 1e9;
        }
        return r;
    }

    /** Total units per second of {@code probe} (which returns the units it did) on n threads at once, best of 5 rounds. */
    private static double rate(int n, IntToDoubleFunction probe) throws Exception {
        double best = 0;
        for (int round = 0; round < 5; round++) {
            CyclicBarrier start = new CyclicBarrier(n);
            double[] units = new double[n];
            long[] nanos = new long[n];
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < n; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    try {
                        probe.applyAsDouble(-1); // warm
                        start.await();
                        long t0 = System.nanoTime();
                        units[id] = probe.applyAsDouble(id);
                        nanos[id] = System.nanoTime() - t0;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                ts.add(th);
                th.start();
            }
            for (Thread th : ts) {
                th.join();
            }
            double total = 0;
            for (int t = 0; t < n; t++) {
                total += units[t] / (nanos[t] / 1e9);
            }
            best = Math.max(best, total);
        }
        return best;
    }

    static volatile float sink;

    /** FLOPs of the runtime's 4-row kernel shape (PackedMatrix.mul4Wide) over 32 L1-resident rows of 512, about 0.3 s. */
    private static double fmaProbe(int id) {
        int kp = 32;
        float[] acc = new float[4 * W];
        float[][] w = new float[kp][W];
        float[] a = new float[4 * kp];
        for (int k = 0; k < kp; k++) {
            for (int j = 0; j < W; j++) {
                w[k][j] = 1e-3f * ((j + k) % 7);
            }
        }
        for (int i = 0; i < a.length; i++) {
            a[i] = 1e-3f * (i % 5 - 2);
        }
        int reps = id < 0 ? 3_000 : 20_000;
        for (int r = 0; r < reps; r++) {
            mul4(acc, w, kp, a, 0, kp, 2 * kp, 3 * kp);
        }
        sink = acc[17];
        return 2.0 * 4 * kp * W * reps;
    }

    /** A copy of PackedMatrix.mul4Wide (package-private there): four rows, two k per pass over the columns. */
    private static void mul4(float[] acc, float[][] w, int kp, float[] a, int o0, int o1, int o2, int o3) {
        for (int k = 0; k < kp; k += 2) {
            float[] w0 = w[k];
            float[] w1 = w[k + 1];
            float a00 = a[o0 + k];
            float a01 = a[o0 + k + 1];
            float a10 = a[o1 + k];
            float a11 = a[o1 + k + 1];
            float a20 = a[o2 + k];
            float a21 = a[o2 + k + 1];
            float a30 = a[o3 + k];
            float a31 = a[o3 + k + 1];
            for (int j = 0; j < W; j++) {
                float b0 = w0[j];
                float b1 = w1[j];
                acc[j] = Math.fma(a01, b1, Math.fma(a00, b0, acc[j]));
                acc[j + W] = Math.fma(a11, b1, Math.fma(a10, b0, acc[j + W]));
                acc[j + 2 * W] = Math.fma(a21, b1, Math.fma(a20, b0, acc[j + 2 * W]));
                acc[j + 3 * W] = Math.fma(a31, b1, Math.fma(a30, b0, acc[j + 3 * W]));
            }
        }
    }

    /** Bytes streamed by acc += a_k w_k over a matrix of {@code size} bytes (rows of 512 floats), repeated for about 0.2 s. */
    private static double streamProbe(long size) {
        int rows = (int) Math.max(8, size / (4 * W) / 8 * 8);
        float[][] m = new float[rows][W];
        for (float[] row : m) {
            for (int j = 0; j < W; j += 16) {
                row[j] = 1e-4f;
            }
        }
        float[] acc = new float[W];
        long bytes = (long) rows * W * 4;
        int reps = (int) Math.max(2, 400L * 1024 * 1024 / bytes);
        for (int r = 0; r < reps; r++) {
            for (int k = 0; k < rows; k += 8) {
                stream8(acc, m[k], m[k + 1], m[k + 2], m[k + 3], m[k + 4], m[k + 5], m[k + 6], m[k + 7]);
            }
        }
        sink = acc[5];
        return (double) bytes * reps;
    }

    private static void stream8(float[] acc, float[] w0, float[] w1, float[] w2, float[] w3, float[] w4, float[] w5, float[] w6, float[] w7) {
        for (int j = 0; j < W; j++) {
            acc[j] = Math.fma(0.5f, w7[j], Math.fma(0.25f, w6[j], Math.fma(0.5f, w5[j], Math.fma(0.25f, w4[j],
                    Math.fma(0.5f, w3[j], Math.fma(0.25f, w2[j], Math.fma(0.5f, w1[j], Math.fma(0.25f, w0[j], acc[j]))))))));
        }
    }

    /** Per row (by id): the streaming rate of its own R shape on all threads, GB/s (see {@link #measureRows}). */
    final java.util.Map<String, Double> rowRates = new java.util.LinkedHashMap<>();

    /**
     * Streams each row's own R shape per thread on all threads at once: k = H (padded to 8) and
     * the columns of one core's share (a direction's gates x H when directions run on their own
     * cores, else gates x H x directions over the threads, rounded up to whole panels). The size
     * table above rounds a row's R up to the next probe size, which for some rows is past the L3
     * (1536 x 6144 per core is 18 MiB: the 32 MiB probe, two of which miss the 32 MiB L3, ran at
     * half the rate the row's own steps reached, and its roofline share came out at 183%).
     */
    void measureRows(List<SideBySide.Row> rows, PrintStream o) throws Exception {
        for (SideBySide.Row r : rows) {
            int kp = (r.hidden() + 7) / 8 * 8;
            int cols = (int) Math.ceil(perThreadRBytes(r) / (4.0 * r.hidden()));
            int width = VECTOR ? (cols + 127) / 128 * 128 : cols;
            String key = kp + "x" + width;
            Double known = shapeRates.get(key);
            if (known == null) {
                long size = (long) kp * width * 4;
                IntToDoubleFunction stream = VECTOR ? t -> VectorProbes.streamProbe(kp, width) : t -> streamProbe(size);
                known = rate(threads, stream) / 1e9;
                shapeRates.put(key, known);
                o.printf(Locale.ROOT, "#   R of %s: %d x %d floats per thread, %.1f GB/s (%d threads)%n", r.id(), kp, width, known, threads);
            }
            rowRates.put(r.id(), known);
        }
    }

    private final java.util.Map<String, Double> shapeRates = new java.util.HashMap<>();

    /**
     * Bytes of a row's R one thread streams per step and layer: each direction of a layer on its
     * own core when there are as many threads as directions, else a single direction's split over
     * all threads.
     */
    double perThreadRBytes(SideBySide.Row r) {
        return r.dirs() >= threads ? r.rBytesOne() : r.rBytesOne() * r.dirs() / threads;
    }

    /** The row's own streaming rate (GB/s, all threads) if {@link #measureRows} measured it, else the size table's. */
    double rowRate(SideBySide.Row r) {
        Double v = rowRates.get(r.id());
        return v != null ? v : bandwidthFor(perThreadRBytes(r), true);
    }

    /** Streaming rate (GB/s, all threads) for a matrix of {@code bytesPerThread} per thread: the smallest probe size that holds it. */
    double bandwidthFor(double bytesPerThread, boolean allThreads) {
        double[] bw = allThreads ? bwAll : bw1;
        for (int i = 0; i < SIZES.length; i++) {
            if (bytesPerThread <= SIZES[i]) {
                return bw[i];
            }
        }
        return bw[SIZES.length - 1];
    }
}
