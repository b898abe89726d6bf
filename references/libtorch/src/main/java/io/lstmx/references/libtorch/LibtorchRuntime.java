package io.lstmx.references.libtorch;

import ai.djl.engine.Engine;
import com.sun.jna.Library;
import com.sun.jna.Native;
import io.lstmx.api.Npy;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Starts libtorch once per JVM, offline, with oneDNN's RNN kernels kept off AVX-512, and checks an
 * LSTM against PyTorch's own outputs before any session is trusted.
 *
 * <p>Why the cap: libtorch 2.x sends every float32 {@code aten::lstm} without projections on the CPU
 * to oneDNN, and oneDNN 3.7.1's AVX-512 brgemm RNN kernel gives outputs off by up to ~0.6 on the CPU
 * lstmx was tested on (see README, "libtorch users should know"). oneDNN reads the environment
 * variable {@code ONEDNN_MAX_CPU_ISA} once, when it first dispatches; this class sets it (to
 * {@value #DEFAULT_ISA}, through the C library's {@code setenv}) before libtorch is loaded, unless the
 * environment already sets it or {@code -Dlstmx.libtorch.onednnMaxCpuIsa} says otherwise
 * ({@code default} leaves oneDNN alone).
 */
final class LibtorchRuntime {
    /** System property choosing oneDNN's ISA cap: an ISA name such as AVX2, or "default" for none. */
    static final String ISA_PROPERTY = "lstmx.libtorch.onednnMaxCpuIsa";
    /** The cap used unless told otherwise. */
    static final String DEFAULT_ISA = "AVX2";
    /** The self-check's tolerance: |libtorch - PyTorch| &lt;= ATOL + RTOL * |PyTorch|. */
    static final double ATOL = 1e-5;
    static final double RTOL = 1e-4;

    private static final String SELFCHECK = "selfcheck/";

    /**
     * What starting libtorch gave.
     *
     * @param version      libtorch's version, or null when it did not load
     * @param isa          what was done about oneDNN's ISA, for reports
     * @param failure      why libtorch cannot be used (did not load), else null
     * @param selfCheckMax the self-check's largest |libtorch - PyTorch|, NaN when it did not run
     * @param untrusted    why libtorch's results are not to be trusted here (self-check failed), else null
     */
    record State(String version, String isa, String failure, double selfCheckMax, String untrusted) {
    }

    private static State state;

    private LibtorchRuntime() {
    }

    /** Starts libtorch the first time; the same answer afterwards. */
    static synchronized State state() {
        if (state == null) {
            state = start();
        }
        return state;
    }

    private static State start() {
        // DJL: never download anything (the native libraries come from the pytorch-native-cpu jar on
        // the class path, extracted once into DJL's cache), and never call home.
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
        String isa = capOneDnn();
        String version;
        try {
            version = Engine.getEngine("PyTorch").getVersion();
        } catch (RuntimeException | LinkageError e) {
            return new State(null, isa, "libtorch cannot be started on this machine (" + e.getClass().getSimpleName() + ": "
                    + SafeText.message(String.valueOf(e.getMessage())) + ")", Double.NaN, null);
        }
        Check check;
        try {
            check = selfCheck();
        } catch (RuntimeException | IOException | LinkageError e) {
            return new State(version, isa, null, Double.NaN, "its self-check could not run (" + e.getClass().getSimpleName() + ": "
                    + SafeText.message(String.valueOf(e.getMessage())) + ")");
        }
        String untrusted = null;
        if (!check.ok()) {
            untrusted = String.format(Locale.ROOT, "its LSTM gives outputs up to %.3g away from PyTorch's on its self-check "
                    + "(%s); set ONEDNN_MAX_CPU_ISA=AVX2 in the environment and leave -D%s unset", check.maxAbs(), isa, ISA_PROPERTY);
        }
        return new State(version, isa, null, check.maxAbs(), untrusted);
    }

    /** Caps oneDNN's ISA as configured; says what was done. */
    private static String capOneDnn() {
        String wanted = System.getProperty(ISA_PROPERTY, DEFAULT_ISA).trim();
        for (String v : new String[] {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
            String env = System.getenv(v);
            if (env != null && !env.isBlank()) {
                return v + "=" + env + " from the environment";
            }
        }
        if (wanted.isEmpty() || wanted.equalsIgnoreCase("default")) {
            return "oneDNN's ISA not capped";
        }
        try {
            int rc = CLib.INSTANCE.setenv("ONEDNN_MAX_CPU_ISA", wanted.toUpperCase(Locale.ROOT), 1);
            return rc == 0 ? "oneDNN's ISA capped at " + wanted.toUpperCase(Locale.ROOT)
                    : "oneDNN's ISA not capped (setenv failed)";
        } catch (RuntimeException | LinkageError e) {
            return "oneDNN's ISA not capped (" + e.getClass().getSimpleName() + ")";
        }
    }

    /** The C library, for setenv: the JVM cannot change its own environment. */
    interface CLib extends Library {
        /** libc. */
        CLib INSTANCE = Native.load("c", CLib.class);

        /**
         * POSIX setenv.
         *
         * @param name      the variable
         * @param value     its value
         * @param overwrite non-zero to replace a value already set
         * @return 0 on success
         */
        int setenv(String name, String value, int overwrite);
    }

    /** The self-check's result: largest |libtorch - PyTorch|, and whether every value is within the tolerance. */
    private record Check(double maxAbs, boolean ok) {
    }

    /**
     * Runs the self-check case (an nn.LSTM(4, 8, num_layers=2) traced by PyTorch 1.13, which takes
     * libtorch's oneDNN path) against PyTorch's outputs.
     */
    private static Check selfCheck() throws IOException {
        Path dir = Files.createTempDirectory("lstmx-libtorch-selfcheck");
        Path model = dir.resolve("model.pt");
        try {
            Tensor x;
            List<Tensor> expected = new ArrayList<>();
            try (InputStream in = resource("model.pt")) {
                Files.copy(in, model, StandardCopyOption.REPLACE_EXISTING);
            }
            x = npy(dir, "input_0.npy");
            for (int k = 0; k < 3; k++) {
                expected.add(npy(dir, "output_" + k + ".npy"));
            }
            List<Tensor> got;
            try (LibtorchSession s = LibtorchSession.openUnchecked(model)) {
                got = new ArrayList<>(s.run(Map.of("x", x)).values());
            }
            double worst = 0;
            boolean ok = got.size() == expected.size();
            for (int k = 0; k < expected.size() && ok; k++) {
                float[] e = expected.get(k).toFloatArray();
                float[] a = got.get(k).toFloatArray();
                if (e.length != a.length) {
                    return new Check(Double.POSITIVE_INFINITY, false);
                }
                for (int i = 0; i < e.length; i++) {
                    double d = Math.abs((double) a[i] - e[i]);
                    if (!(d <= ATOL + RTOL * Math.abs(e[i]))) {
                        ok = false;
                    }
                    worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(worst, d);
                }
            }
            return new Check(worst, ok);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    private static Tensor npy(Path dir, String name) throws IOException {
        Path p = dir.resolve(name);
        try (InputStream in = resource(name)) {
            Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
        }
        return Npy.read(p);
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = LibtorchRuntime.class.getResourceAsStream(SELFCHECK + name);
        if (in == null) {
            throw new IOException("resource " + SELFCHECK + name + " missing");
        }
        return in;
    }
}
