package io.lstmx.benchmarks;

import io.lstmx.benchmarks.SideBySide.Cell;
import io.lstmx.benchmarks.SideBySide.Row;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The side-by-side results as text: a console table and BENCHMARKS.md. */
final class Report {
    static final List<String> ENGINES = List.of("lstmx", "onnxruntime", "libtorch", "tensorflow");

    private Report() {
    }

    static String ms(double seconds) {
        double ms = seconds * 1e3;
        return ms >= 100 ? String.format(Locale.ROOT, "%.0f", ms) : ms >= 10 ? String.format(Locale.ROOT, "%.1f", ms)
                : ms >= 1 ? String.format(Locale.ROOT, "%.2f", ms) : String.format(Locale.ROOT, "%.3f", ms);
    }

    static String cell(Cell c) {
        if (c == null) {
            return "-";
        }
        if (c.timing() == null) {
            return c.note();
        }
        return ms(c.timing().median()) + " (" + ms(c.timing().p10()) + "–" + ms(c.timing().p90()) + ")";
    }

    /** lstmx's share of the roofline bound: max(FLOPs / FMA rate, R bytes / streaming rate) over its median. */
    static double roofline(Row row, Machine m, double seconds) {
        double tFlop = row.flops() / (m.fmaAll * 1e9);
        double tMem = row.rBytes() / (m.rowRate(row) * 1e9);
        return Math.max(tFlop, tMem) / seconds;
    }

    static String table(List<Row> rows, Map<Row, Map<String, Cell>> results, Machine m) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-22s %14s %14s %14s %14s %8s %8s%n", "row (H,T,B)", "lstmx ms", "ort ms", "torch ms", "tf ms",
                "best/lx", "roof"));
        for (Row r : rows) {
            Map<String, Cell> c = results.get(r);
            if (c == null) {
                continue;
            }
            b.append(String.format(Locale.ROOT, "%-22s", r.id()));
            for (String e : ENGINES) {
                Cell x = c.get(e);
                b.append(String.format(Locale.ROOT, " %14s", x == null ? "-" : x.timing() == null ? "n/a" : ms(x.timing().median())));
            }
            Cell mine = c.get("lstmx");
            Double best = SideBySide.bestPeer(c);
            if (mine != null && mine.timing() != null && best != null) {
                b.append(String.format(Locale.ROOT, " %8.2f %7.0f%%%n", best / mine.timing().median(), 100 * roofline(r, m, mine.timing().median())));
            } else {
                b.append("\n");
            }
            for (String e : ENGINES) {
                Cell x = c.get(e);
                if (x != null && x.note() != null) {
                    b.append("    ").append(e).append(": ").append(x.note()).append('\n');
                }
            }
        }
        return b.toString();
    }

    static String markdown(String command, Machine m, List<Row> rows, Map<Row, Map<String, Cell>> results, Map<Row, String[]> loads,
            Map<Row, String> hugeNotes, List<Conversion> conv, int samples, String last) {
        StringBuilder b = new StringBuilder();
        b.append("# lstmx side by side\n\n");
        b.append("Written by `benchmarks/run` (").append(SideBySide.now()).append("). Same machine, same JVM process, same weights and\n");
        b.append("inputs for every engine, ").append(m.threads).append(" threads each (all cores). Outputs were checked equal to lstmx's (atol ")
                .append(SideBySide.ATOL).append(", rtol ").append(SideBySide.RTOL).append(") before timing; an engine that cannot\n")
                .append("run a row, or disagrees, is not timed. Times: median of ").append(samples)
                .append(" samples of at least ").append(SideBySide.SAMPLE_NANOS / 1_000_000).append(" ms of calls each (p10–p90 in brackets), milliseconds per call, after a warm-up of at least 1.5 s that\n")
                .append("lasts until the JIT has been idle for 0.5 s; the samples are taken in ").append(SideBySide.ROUNDS)
                .append(" rounds, each engine in turn re-warmed for 0.3 s,\n")
                .append("so that every engine's samples span the row's whole time (streaming rows: per step). Every engine's time\n")
                .append("includes its own input/output copies from/to Java arrays.\n\n");
        b.append("- command: `").append(command).append("`\n");
        b.append("- JVM: ").append(m.jvm).append("; CPU: ").append(m.cpu).append(", ").append(m.threads).append(" hardware threads\n");
        b.append("- engines: lstmx native runtime (this checkout), onnxruntime 1.29 (Java API, intra-op threads = ").append(m.threads)
                .append("), libtorch 2.7.1 via DJL (TorchScript written by lstmx, `torch.set_num_threads(").append(m.threads)
                .append(")`, oneDNN capped at AVX2), TensorFlow Java 1.1.0 (BlockLSTMV2 graph, intra-op threads = ").append(m.threads).append(")\n");
        b.append("- memory: ").append(HugePages.describe()).append(" (see below the table)\n");
        b.append("- load averages (1, 5, 15 min) before and after each row are in the last column: the machine is shared;\n")
                .append("  rows measured under load are slower for every engine, but not equally.\n\n");
        b.append("## Machine, as measured by the tool\n\n");
        b.append(String.format(Locale.ROOT, "- lstmx's kernels in this JVM: %s%n", Machine.kernels()));
        b.append(String.format(Locale.ROOT, "- FMA rate (a copy of the runtime's 4-row GEMM kernel, L1-resident): %.1f GFLOP/s on 1 thread, %.1f on %d%n",
                m.fma1, m.fmaAll, m.threads));
        b.append("- streaming a matrix through acc += a_k w_k (the batch-1 step's access to R), GB/s:\n\n");
        b.append("| matrix per thread | 1 thread | ").append(m.threads).append(" threads (total) |\n|---:|---:|---:|\n");
        for (int i = 0; i < Machine.SIZES.length; i++) {
            b.append(String.format(Locale.ROOT, "| %d KiB | %.1f | %.1f |%n", Machine.SIZES[i] >> 10, m.bw1[i], m.bwAll[i]));
        }
        b.append("\n## Results\n\n");
        b.append("| row | lstmx | onnxruntime | libtorch | TensorFlow | lstmx speedup vs ort / torch / tf | roofline share | load before → after |\n");
        b.append("|---|---:|---:|---:|---:|---|---:|---|\n");
        for (Row r : rows) {
            Map<String, Cell> c = results.get(r);
            if (c == null) {
                continue;
            }
            Cell mine = c.get("lstmx");
            b.append("| ").append(r.describe()).append(" |");
            for (String e : ENGINES) {
                b.append(' ').append(cell(c.get(e))).append(" |");
            }
            StringBuilder ratios = new StringBuilder();
            for (String e : ENGINES.subList(1, ENGINES.size())) {
                Cell x = c.get(e);
                if (ratios.length() > 0) {
                    ratios.append(" / ");
                }
                ratios.append(mine != null && mine.timing() != null && x != null && x.timing() != null
                        ? String.format(Locale.ROOT, "%.2f×", x.timing().median() / mine.timing().median()) : "–");
            }
            b.append(' ').append(ratios).append(" |");
            if (mine != null && mine.timing() != null) {
                double share = roofline(r, m, mine.timing().median());
                // above 100%: the row ran faster than the bound the probes measured, so the probes ran in a
                // slower spell of the shared machine than the row did (flagged rather than shown as a share)
                b.append(String.format(Locale.ROOT, " %.0f%%%s (R at %.0f GB/s) |", 100 * share, share > 1 ? " ¹" : "", m.rowRate(r)));
            } else {
                b.append(" – |");
            }
            String[] l = loads.get(r);
            b.append(' ').append(l[0]).append(" → ").append(l[1]).append(" |\n");
        }
        b.append("\nSpeedup = the peer's median / lstmx's median (above 1: lstmx is faster). Roofline share = the lower\n")
                .append("bound max(FLOPs / FMA rate, bytes of R per call / streaming rate of R) over lstmx's median, with the\n")
                .append("rates measured by the tool (FLOPs: 2 · steps · rows · directions · gates · H · (I + H) per layer; R: gates · H²\n")
                .append("floats per step, direction and layer; its streaming rate, in brackets, measured on the row's own shape per\n")
                .append("core: k = H by one core's share of the gate columns, every thread at once). ¹ Over 100%: the row ran\n")
                .append("faster than that bound, i.e. the probes (run once, before the rows) met a slower spell of the shared\n")
                .append("machine than the row did; the share means nothing there.\n\n");
        if (!hugeNotes.isEmpty()) {
            b.append("Huge pages: `benchmarks/run` asks for them for every engine alike (`HUGEPAGES=0` for none): 16 MiB of R (H = 1024)\n")
                    .append("is 4096 pages of 4 KiB, more than the CPU's second-level TLB holds. The growth of the process's huge pages\n")
                    .append("while each engine loaded a row and ran it once (a native engine's weights show here; lstmx's land in heap\n")
                    .append("already backed by huge pages, so its growth is small or none):\n\n");
            for (Map.Entry<Row, String> e : hugeNotes.entrySet()) {
                b.append("- ").append(e.getKey().id()).append(": ").append(e.getValue()).append('\n');
            }
            b.append('\n');
        }
        if (conv != null) {
            for (Conversion c : conv) {
                b.append(c.markdown()).append('\n');
            }
        }
        b.append("## Summary\n\n```\n").append(last).append("\n```\n");
        return b.toString();
    }
}
