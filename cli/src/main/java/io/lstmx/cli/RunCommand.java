package io.lstmx.cli;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.Npy;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.util.SafeText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code lstmx run MODEL --input [NAME=]FILE.npy ... --output-dir DIR}: runs the model in the
 * pure-Java runtime and writes output K (model order, from 0) to DIR/output_K.npy.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Runs a model in the pure-Java runtime on inputs read from .npy files.",
                "Writes the K-th model output to DIR/output_K.npy (K from 0, in model order).",
                ".npy files may hold float32, float64 (read as float32), int32 or int64."})
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Model file or SavedModel directory.")
    Path model;

    @Option(names = {"-i", "--input"}, paramLabel = "[NAME=]FILE.npy",
            description = "An input: NAME=FILE names the model input; a bare FILE takes the next input in model order. Repeat per input.")
    List<String> inputs = new ArrayList<>();

    @Option(names = {"-o", "--output-dir"}, paramLabel = "DIR", required = true,
            description = "Directory for output_K.npy (created if missing).")
    Path outputDir;

    @Option(names = "--from", paramLabel = "FORMAT", converter = Formats.Converter.class,
            description = "Read the model as this format instead of detecting it.")
    Format from;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (Files.exists(outputDir) && !Files.isDirectory(outputDir)) {
            throw LstmxException.badInput(outputDir + ": --output-dir exists and is not a directory");
        }
        LoadedModel m = Lstmx.load(model, from);
        Map<String, Tensor> feeds = readInputs(m, inputs);
        Map<String, Tensor> results = m.run(feeds);
        List<String> names = m.model().outputNames();
        for (int k = 0; k < names.size(); k++) {
            Tensor t = results.get(names.get(k));
            if (t == null) {
                throw LstmxException.internal(model + ": the runtime returned no value for output '" + names.get(k) + "'");
            }
            String file = "output_" + k + ".npy";
            Npy.write(t, outputDir.resolve(file));
            out.println(file + " <- " + SafeText.oneLine(names.get(k)) + " " + Text.shape(t.shape()));
        }
        out.flush();
        return 0;
    }

    /**
     * Maps --input arguments to model inputs. An argument is named when the text before its first
     * '=' is a model input's name; otherwise it is a file for the next input in model order.
     * Named and positional arguments cannot be mixed, so that no input is silently shifted.
     */
    static Map<String, Tensor> readInputs(LoadedModel m, List<String> args) {
        List<ValueInfo> declared = m.inputs();
        List<String> names = m.model().inputNames();
        Map<String, Path> files = new LinkedHashMap<>();
        List<Path> positional = new ArrayList<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq > 0 && names.contains(a.substring(0, eq))) {
                String name = a.substring(0, eq);
                if (files.put(name, Path.of(a.substring(eq + 1))) != null) {
                    throw LstmxException.badInput("--input " + name + " is given twice");
                }
            } else {
                if (eq > 0 && !Files.exists(Path.of(a))) {
                    throw LstmxException.badInput("--input " + a + ": the model has no input '" + a.substring(0, eq)
                            + "'; its inputs are " + names);
                }
                positional.add(Path.of(a));
            }
        }
        if (!files.isEmpty() && !positional.isEmpty()) {
            throw LstmxException.badInput("give every --input as NAME=FILE or every one as FILE in model order, not both");
        }
        if (!positional.isEmpty()) {
            if (positional.size() != declared.size()) {
                throw LstmxException.badInput(m.source() + ": the model has " + declared.size() + " input(s) " + names
                        + " but " + positional.size() + " file(s) were given");
            }
            for (int i = 0; i < declared.size(); i++) {
                files.put(declared.get(i).name(), positional.get(i));
            }
        }
        List<String> missing = new ArrayList<>();
        for (String n : names) {
            if (!files.containsKey(n)) {
                missing.add(n);
            }
        }
        if (!missing.isEmpty()) {
            throw LstmxException.badInput(m.source() + ": no --input for " + missing + "; the model's inputs are " + names);
        }
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (String n : names) {
            Path f = files.get(n);
            if (!Files.isRegularFile(f)) {
                throw LstmxException.badInput(f + ": no such file (--input for '" + n + "')");
            }
            try {
                feeds.put(n, m.conformInput(n, Npy.read(f)));
            } catch (LstmxException e) {
                throw e.getMessage().contains(f.toString()) ? e : e.withContext(f.toString());
            }
        }
        return feeds;
    }
}
