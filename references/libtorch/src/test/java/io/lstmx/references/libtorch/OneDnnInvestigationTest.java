package io.lstmx.references.libtorch;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The configurations once seen wrong in libtorch 2.7.1 on this CPU (bias=False, two layers with
 * h0/c0 given, bidirectional batch-first) with the engine's switch (oneDNN capped at AVX2), and what
 * happens without it, in a JVM of its own: either libtorch is right anyway (another CPU), or the
 * self-check catches it and the engine refuses every model: never silently wrong.
 */
class OneDnnInvestigationTest {
    static final List<String> ONCE_WRONG = List.of(
            "lstm_no_bias_traced", "lstm_no_bias_scripted", "lstm_no_bias_initial_state_traced",
            "lstm_2layer_initial_state_traced", "lstm_2layer_initial_state_scripted",
            "lstm_bidirectional_2layer_batch_first_traced", "lstm_bidirectional_initial_state_batch_first_traced",
            "lstm_uni_y_traced", "gru_bidirectional_batch_first_traced", "lstm_proj_traced");

    @Test
    void withTheSwitchTheConfigurationsOnceWrongAgreeWithPyTorchWithinAMillionth() throws IOException {
        LibtorchRuntime.State st = LibtorchRuntime.state();
        System.out.println("with the switch: " + st.isa() + ", self-check max |diff| " + st.selfCheckMax());
        for (String c : ONCE_WRONG) {
            Path dir = LibtorchFixturesTest.fixtures().resolve(c);
            Map<String, Tensor> in = LibtorchFixturesTest.inputs(dir);
            try (LibtorchSession s = LibtorchSession.open(dir.resolve("model.pt"))) {
                double worst = LibtorchFixturesTest.compare(c, new ArrayList<>(s.run(in).values()), LibtorchFixturesTest.expected(dir));
                System.out.printf("  %-55s max |diff| %.3g%n", c, worst);
                assertTrue(worst < 1e-6, c + ": " + worst);
            }
        }
    }

    @Test
    void withoutTheSwitchTheEngineIsRightOrRefusesButNeverSilentlyWrong() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Dai.djl.offline=true",
                "-D" + LibtorchRuntime.ISA_PROPERTY + "=default", OneDnnProbe.class.getName()));
        for (String c : ONCE_WRONG) {
            cmd.add(LibtorchFixturesTest.fixtures().resolve(c).toString());
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(false);
        pb.environment().remove("ONEDNN_MAX_CPU_ISA");
        pb.environment().remove("DNNL_MAX_CPU_ISA");
        Process p = pb.start();
        p.getErrorStream().transferTo(java.io.OutputStream.nullOutputStream());
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe finished");
        assertEquals(0, p.exitValue(), out);
        System.out.println("without the switch (" + LibtorchRuntime.ISA_PROPERTY + "=default):\n" + out);
        boolean untrusted = !out.contains("untrusted\tnull");
        assertTrue(out.contains("oneDNN's ISA not capped"), out);
        int cases = 0;
        for (String line : out.split("\\R")) {
            if (!line.startsWith("case\t")) {
                continue;
            }
            cases++;
            String[] f = line.split("\t", 4);
            double worst = Double.parseDouble(f[2]);
            if (untrusted) {
                assertTrue(f[3].startsWith("refused UNSUPPORTED: "), line);
                assertTrue(f[3].contains("ONEDNN_MAX_CPU_ISA=AVX2"), "the refusal says what to do: " + line);
            } else {
                assertEquals("opened", f[3], line);
                assertTrue(worst < 1e-5, "a libtorch that passed its self-check is right on " + line);
            }
        }
        assertEquals(ONCE_WRONG.size(), cases, out);
    }

    @Test
    void refusalsNameTheFileAndSayWhatIsWrong() throws IOException {
        Path tmp = java.nio.file.Files.createTempDirectory("lstmx-libtorch-test");
        try {
            Path notZip = tmp.resolve("model.pt");
            java.nio.file.Files.writeString(notZip, "not a model");
            LstmxException e = org.junit.jupiter.api.Assertions.assertThrows(LstmxException.class, () -> LibtorchSession.open(notZip));
            assertEquals(ErrorCode.BAD_INPUT, e.code());
            assertTrue(e.getMessage().startsWith(notZip + ": libtorch cannot load it: not a TorchScript archive"), e.getMessage());

            Path brokenZip = tmp.resolve("broken.pt");
            try (var z = new java.util.zip.ZipOutputStream(java.nio.file.Files.newOutputStream(brokenZip))) {
                z.putNextEntry(new java.util.zip.ZipEntry("m/data.pkl"));
                z.write(new byte[] {(byte) 0x80, 2, 'X'});
                z.closeEntry();
            }
            e = org.junit.jupiter.api.Assertions.assertThrows(LstmxException.class, () -> LibtorchSession.open(brokenZip));
            assertEquals(ErrorCode.BAD_INPUT, e.code());
            assertTrue(e.getMessage().startsWith(brokenZip + ": libtorch cannot load the TorchScript archive: "), e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());

            Path model = LibtorchFixturesTest.fixtures().resolve("lstm_2layer_initial_state_scripted/model.pt"); // scripted: nn.LSTM checks its input size (a trace does not)
            try (LibtorchSession s = LibtorchSession.open(model)) {
                e = org.junit.jupiter.api.Assertions.assertThrows(LstmxException.class, () -> s.run(Map.of("nope", Tensor.zeros(1))));
                assertEquals(ErrorCode.BAD_INPUT, e.code());
                assertTrue(e.getMessage().startsWith(model + ": the TorchScript module's forward has no parameter 'nope'; it has [x, h0, c0]"),
                        e.getMessage());
                Map<String, Tensor> wrong = Map.of("x", Tensor.zeros(6, 3, 4), "h0", Tensor.zeros(2, 3, 12), "c0", Tensor.zeros(2, 3, 12));
                e = org.junit.jupiter.api.Assertions.assertThrows(LstmxException.class, () -> s.run(wrong));
                assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
                assertTrue(e.getMessage().startsWith(model + ": libtorch refuses the inputs: "), e.getMessage());
                assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
                System.out.println(e.getMessage());
            }
        } finally {
            try (var files = java.nio.file.Files.list(tmp)) {
                for (Path f : files.toList()) {
                    java.nio.file.Files.delete(f);
                }
            }
            java.nio.file.Files.delete(tmp);
        }
    }
}
