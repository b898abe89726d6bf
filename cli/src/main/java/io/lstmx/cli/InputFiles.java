package io.lstmx.cli;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Npy;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.util.SafeText;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Model inputs read from .npy files, as {@code run} and {@code verify} take them: {@code --input
 * NAME=FILE.npy} per input, or files in model input order (bare {@code --input FILE.npy}, or for
 * {@code run} plain arguments after MODEL). Every way names the file in its errors.
 */
final class InputFiles {
    private InputFiles() {
    }

    /**
     * Maps the {@code --input} arguments ({@code options}) and the files given as plain arguments
     * ({@code positional}) to model inputs. An --input argument is named when the text before its
     * first '=' is a model input's name; otherwise it is a file for the next input in model order.
     * Named and ordered inputs cannot be mixed, so that no input is silently shifted; ordered ones
     * must be exactly as many as the model's inputs.
     */
    static Map<String, Tensor> read(LoadedModel m, List<String> options, List<Path> positional) {
        List<ValueInfo> declared = m.inputs();
        List<String> names = m.model().inputNames();
        Set<String> nameSet = new HashSet<>(names); // looked up per option: the list would make that quadratic
        Map<String, Path> files = new LinkedHashMap<>();
        List<Path> ordered = new ArrayList<>();
        for (String a : options) {
            int eq = a.indexOf('=');
            if (eq > 0 && nameSet.contains(a.substring(0, eq))) {
                String name = a.substring(0, eq);
                if (files.put(name, Path.of(a.substring(eq + 1))) != null) {
                    throw LstmxException.badInput("--input " + name + " is given twice");
                }
            } else {
                if (eq > 0 && !Files.exists(Path.of(a))) {
                    throw LstmxException.badInput("--input " + a + ": the model has no input '" + a.substring(0, eq)
                            + "'; its inputs are " + SafeText.list(names));
                }
                ordered.add(Path.of(a));
            }
        }
        if (!positional.isEmpty() && !options.isEmpty()) {
            throw LstmxException.badInput("give the inputs either as FILE.npy arguments after MODEL (in model input order) "
                    + "or as --input NAME=FILE.npy options, not both");
        }
        ordered.addAll(positional);
        if (!files.isEmpty() && !ordered.isEmpty()) {
            throw LstmxException.badInput("give every --input as NAME=FILE or every one as FILE in model order, not both");
        }
        if (!ordered.isEmpty()) {
            if (ordered.size() != declared.size()) {
                throw LstmxException.badInput(m.source() + ": the model has " + declared.size() + " input(s) " + SafeText.list(names)
                        + " but " + ordered.size() + " file(s) were given");
            }
            for (int i = 0; i < declared.size(); i++) {
                files.put(declared.get(i).name(), ordered.get(i));
            }
        }
        List<String> missing = new ArrayList<>();
        for (String n : names) {
            if (!files.containsKey(n)) {
                missing.add(n);
            }
        }
        if (!missing.isEmpty()) {
            throw LstmxException.badInput(m.source() + ": no --input for " + SafeText.list(missing) + "; the model's inputs are " + SafeText.list(names));
        }
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (String n : names) {
            Path f = files.get(n);
            if (Files.isDirectory(f)) {
                throw LstmxException.badInput(f + ": is a directory, not a .npy file (input '" + n + "')");
            }
            if (!Files.isRegularFile(f)) {
                throw LstmxException.badInput(f + ": no such file (input '" + n + "')");
            }
            try {
                feeds.put(n, m.conformInput(n, Npy.read(f)));
            } catch (LstmxException e) {
                throw e.getMessage().contains(f.toString()) ? e : e.withContext(f.toString());
            }
        }
        return feeds;
    }

    /** The shapes of the given tensors, by name (for {@link io.lstmx.api.RunBudget}). */
    static Map<String, long[]> shapes(Map<String, Tensor> values) {
        Map<String, long[]> out = new java.util.LinkedHashMap<>();
        values.forEach((k, t) -> out.put(k, java.util.Arrays.stream(t.shape()).asLongStream().toArray()));
        return out;
    }
}
