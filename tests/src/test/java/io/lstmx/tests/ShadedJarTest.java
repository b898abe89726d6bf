package io.lstmx.tests;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The command as users run it: the shaded cli/target/lstmx.jar in a JVM of its own, on one file of
 * every format it reads. Tests that call the command in-process see the test class path, where a
 * dependency the jar lacks (a reader's JSON or HDF5 library) is present anyway; here it is not.
 */
class ShadedJarTest {
    private static final Map<String, String> SAMPLES = Map.of(
            "onnx", "fixtures/onnx/pytorch/sample_classifier/model.onnx",
            "torchscript", "fixtures/pytorch/torchscript/lstm_uni_y_scripted/model.pt",
            "pytorch-state-dict", "fixtures/pytorch/lstm_uni/state_dict.pt",
            "keras-h5", "../shared/real-models/keras/Akashsuga__Stock-Predictor--LSTM/lstm_model_h5_120x5/lstm_model.h5",
            "keras", "../shared/real-models/keras/Akashsuga__Stock-Predictor--LSTM/lstm_model_keras/lstm_model.keras",
            "savedmodel", "../shared/real-models/tensorflow/iteam1__predict-series-data-with-RNN/lstm_model/lstm_model",
            "tf-graphdef", "fixtures/tensorflow/block_lstm_v2/model.pb");

    @TestFactory
    Stream<DynamicTest> theShadedJarInspectsAFileOfEveryFormat() {
        Path jar = TestFiles.root().resolve("cli/target/lstmx.jar");
        List<DynamicTest> tests = new ArrayList<>();
        for (Map.Entry<String, String> e : new java.util.TreeMap<>(SAMPLES).entrySet()) {
            tests.add(DynamicTest.dynamicTest(e.getKey(), () -> {
                assertTrue(Files.isRegularFile(jar), "build the jar first (mvn package): " + jar);
                Path file = TestFiles.root().resolve(e.getValue()).normalize();
                assertTrue(Files.exists(file), "missing " + file);
                ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                        jar.toString(), "inspect", file.toString()).redirectErrorStream(true);
                Process p = pb.start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(120, TimeUnit.SECONDS), "inspect did not end");
                assertEquals(0, p.exitValue(), out);
                assertTrue(out.contains("format:") && out.contains(e.getKey()), out);
                assertTrue(!out.contains("NoClassDefFoundError") && !out.contains("SLF4J"), out);
            }));
        }
        return tests.stream();
    }
}
