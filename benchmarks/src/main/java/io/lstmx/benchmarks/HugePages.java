package io.lstmx.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.sun.management.HotSpotDiagnosticMXBean;

/**
 * Whether the engines' weights sit in transparent huge pages, reported with the results because
 * it moves the large rows: 16 MiB of R (H = 1024) is 4096 pages of 4 KiB, more than the CPU's
 * second-level TLB holds, so every step misses the TLB while streaming it; in 2 MiB pages it is
 * eight entries. On a machine whose THP mode is {@code madvise} no engine gets them unless it
 * asks: {@code benchmarks/run} asks for all four alike, the JVM's heap (lstmx's weights) with
 * {@code -XX:+UseTransparentHugePages} and glibc's malloc (onnxruntime's, libtorch's and
 * TensorFlow's native buffers) with {@code GLIBC_TUNABLES=glibc.malloc.hugetlb=1} and one arena
 * (glibc 2.36 madvises its main heap and its mmap'd chunks, not the per-thread arenas where the
 * engines' weights would otherwise be: measured, onnxruntime's H = 1024 weights took no huge
 * pages with the tunable alone, 100 MiB with one arena). {@code HUGEPAGES=0} runs every engine
 * without.
 */
final class HugePages {
    private static final Pattern ANON = Pattern.compile("AnonHugePages:\\s+(\\d+) kB");

    private HugePages() {
    }

    /** The kernel's THP mode (the bracketed word of /sys/kernel/mm/transparent_hugepage/enabled), or "unknown". */
    static String mode() {
        try {
            String s = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
            int a = s.indexOf('[');
            int b = s.indexOf(']', a + 1);
            return a >= 0 && b > a ? s.substring(a + 1, b) : "unknown";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** Whether this JVM backs its heap with transparent huge pages. */
    static boolean jvmHeap() {
        try {
            HotSpotDiagnosticMXBean hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            return hs != null && Boolean.parseBoolean(hs.getVMOption("UseTransparentHugePages").getValue());
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** glibc's tunables this process started with (what the native engines' malloc does), or "none". */
    static String glibcTunables() {
        String t = System.getenv("GLIBC_TUNABLES");
        return t == null || t.isBlank() ? "none" : t;
    }

    /** Anonymous memory of this process in transparent huge pages, bytes; -1 where /proc does not say. */
    static long inUse() {
        try {
            Matcher m = ANON.matcher(Files.readString(Path.of("/proc/self/smaps_rollup")));
            return m.find() ? Long.parseLong(m.group(1)) << 10 : -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** One line for the report's header. */
    static String describe() {
        boolean glibc = glibcTunables().contains("glibc.malloc.hugetlb=1");
        return String.format(Locale.ROOT, "transparent huge pages: kernel mode `%s`; JVM heap (lstmx's weights) %s; glibc malloc "
                + "(the native engines' buffers) %s (`GLIBC_TUNABLES=%s`)", mode(), jvmHeap() ? "in huge pages (`-XX:+UseTransparentHugePages`)"
                        : "in 4 KiB pages", glibc ? "asks for huge pages" : "does not ask for huge pages", glibcTunables());
    }
}
