package io.lstmx.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A development probe for the runtime's kernels on a busy machine: runs chosen side-by-side rows
 * on chosen engines, interleaving the engines sample by sample (so that load hits them alike), and
 * prints per engine the minimum, 25th percentile and median time per call. Not part of the
 * report; {@code benchmarks/run} is the measurement of record.
 * <p>
 * Usage: {@code Probe [--rounds N] [--engines lstmx,onnxruntime,...] ROWID...} with row ids of the
 * full matrix (e.g. {@code 512,25,4}, {@code "bidi 64,100,1"}, {@code "gru 512,25,1"}).
 */
public final class Probe {
    private static final java.lang.management.ThreadMXBean MX = java.lang.management.ManagementFactory.getThreadMXBean();

    public static void main(String[] args) throws Exception {
        int rounds = 40;
        boolean cpu = false;
        List<String> engineNames = List.of("lstmx", "onnxruntime");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--rounds")) {
                rounds = Integer.parseInt(args[++i]);
            } else if (args[i].equals("--cpu")) {
                cpu = true; // the calling thread's CPU time instead of wall time (meaningful with -Dlstmx.threads=1)
            } else if (args[i].equals("--engines")) {
                engineNames = List.of(args[++i].split(","));
            } else {
                ids.add(args[i]);
            }
        }
        List<SideBySide.Engine> all = List.of(new SideBySide.LstmxEngine(), new SideBySide.OrtEngine(), new SideBySide.TorchEngine(),
                new SideBySide.TfEngine());
        Path tmp = Files.createTempDirectory("lstmx-probe");
        for (SideBySide.Row row : SideBySide.fullRows()) {
            if (!ids.contains(row.id())) {
                continue;
            }
            List<SideBySide.LayerWeights> ws = SideBySide.weights(row);
            SideBySide.Inputs in = SideBySide.inputs(row);
            List<SideBySide.Runner> runners = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (SideBySide.Engine e : all) {
                if (engineNames.contains(e.name())) {
                    Path dir = Files.createDirectories(tmp.resolve(row.id().replaceAll("[^A-Za-z0-9]", "_") + "-" + e.name()));
                    runners.add(e.open(row, dir, ws, in));
                    names.add(e.name());
                }
            }
            double div = row.streaming() ? SideBySide.STREAM_STEPS : 1;
            int[] reps = new int[runners.size()];
            for (int e = 0; e < runners.size(); e++) {
                long end = System.nanoTime() + 1_000_000_000L;
                long one = Long.MAX_VALUE;
                int n = 0;
                while (n < 5 || System.nanoTime() < end) {
                    long t0 = System.nanoTime();
                    runners.get(e).call();
                    one = Math.min(one, System.nanoTime() - t0);
                    n++;
                }
                reps[e] = (int) Math.max(1, Math.min(1000, 5_000_000L / Math.max(1, one)));
            }
            double[][] v = new double[runners.size()][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int e = 0; e < runners.size(); e++) {
                    long t0 = cpu ? MX.getCurrentThreadCpuTime() : System.nanoTime();
                    for (int j = 0; j < reps[e]; j++) {
                        runners.get(e).call();
                    }
                    long t1 = cpu ? MX.getCurrentThreadCpuTime() : System.nanoTime();
                    v[e][r] = (t1 - t0) / 1e6 / reps[e] / div;
                }
            }
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-16s load %s |", row.id(), SideBySide.load()));
            for (int e = 0; e < runners.size(); e++) {
                Arrays.sort(v[e]);
                sb.append(String.format(Locale.ROOT, " %s min %.3f p25 %.3f med %.3f |", names.get(e), v[e][0],
                        SideBySide.percentile(v[e], 0.25), SideBySide.percentile(v[e], 0.5)));
            }
            System.out.println(sb);
            for (SideBySide.Runner r : runners) {
                r.close();
            }
        }
        SideBySide.deleteTree(tmp);
        System.exit(0);
    }
}
