package io.lstmx.references.libtorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Run in a JVM of its own by {@link OneDnnInvestigationTest} (oneDNN reads its ISA cap once per
 * process): prints the engine's state, whether it opens a model, and for each fixture folder given
 * the largest |libtorch - PyTorch| when the self-check is bypassed.
 */
public final class OneDnnProbe {
    private OneDnnProbe() {
    }

    /**
     * Entry point.
     *
     * @param args fixture folders
     * @throws Exception on any failure
     */
    public static void main(String[] args) throws Exception {
        LibtorchRuntime.State st = LibtorchRuntime.state();
        System.out.println("isa\t" + st.isa());
        System.out.println("selfcheck\t" + st.selfCheckMax());
        System.out.println("untrusted\t" + st.untrusted());
        for (String a : args) {
            Path dir = Path.of(a);
            Map<String, Tensor> in = LibtorchFixturesTest.inputs(dir);
            double worst = 0;
            try (LibtorchSession s = LibtorchSession.openUnchecked(dir.resolve("model.pt"))) {
                List<Tensor> out = new ArrayList<>(s.run(in).values());
                List<Tensor> exp = LibtorchFixturesTest.expected(dir);
                for (int k = 0; k < exp.size(); k++) {
                    float[] e = exp.get(k).toFloatArray();
                    float[] g = out.get(k).toFloatArray();
                    for (int i = 0; i < e.length; i++) {
                        worst = Math.max(worst, Math.abs((double) g[i] - e[i]));
                    }
                }
            }
            String opened;
            try (LibtorchSession s = LibtorchSession.open(dir.resolve("model.pt"))) {
                opened = "opened";
            } catch (LstmxException e) {
                opened = "refused " + e.code() + ": " + e.getMessage();
            }
            System.out.println(String.format(Locale.ROOT, "case\t%s\t%.3g\t%s", dir.getFileName(), worst, opened));
        }
    }
}
