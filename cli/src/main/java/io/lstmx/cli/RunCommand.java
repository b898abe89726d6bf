package io.lstmx.cli;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.RunBudget;
import io.lstmx.api.Npy;
import io.lstmx.api.SafeFiles;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code lstmx run MODEL [FILE.npy ...] [--input NAME=FILE.npy ...] --output-dir DIR}: runs the model
 * in the pure-Java runtime and writes output K (model order, from 0) to DIR/output_K.npy. Existing
 * output files are kept unless --force; each file appears whole or not at all.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Runs a model in the pure-Java runtime on inputs read from .npy files.",
                "Inputs: FILE.npy arguments after MODEL, one per model input in model order; or --input NAME=FILE.npy per input.",
                "Writes the K-th model output to DIR/output_K.npy (K from 0, in model order); never replaces one without --force.",
                ".npy files may hold bool, int8-int64, uint8-uint32 (read exactly) or float16-float64 (read as float32); "
                        + "other dtypes exit 3."})
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Model file or SavedModel directory.")
    Path model;

    @Parameters(index = "1..*", paramLabel = "FILE.npy", description = "Input files in model input order (instead of --input).")
    List<Path> files = new ArrayList<>();

    @Option(names = {"-i", "--input"}, paramLabel = "NAME=FILE.npy",
            description = "An input by name; repeat per input. A bare FILE takes the next input in model order.")
    List<String> inputs = new ArrayList<>();

    @Option(names = {"-o", "--output-dir"}, paramLabel = "DIR", required = true,
            description = "Directory for output_K.npy (created if missing).")
    Path outputDir;

    @Option(names = "--force", description = "Replace output_K.npy files that already exist in DIR.")
    boolean force;

    @Option(names = "--max-elements", paramLabel = "N",
            description = "Refuse (exit 3), before running, inputs that make any value larger than N elements (default: 2^28).")
    Long maxElements;

    @Option(names = "--from", paramLabel = "FORMAT", converter = Formats.Converter.class,
            description = "Read the model as this format instead of detecting it.")
    Format from;

    @picocli.CommandLine.Mixin
    ReadHints hints = new ReadHints();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (Files.exists(outputDir) && !Files.isDirectory(outputDir)) {
            throw LstmxException.badInput(outputDir + ": --output-dir exists and is not a directory");
        }
        try (Progress progress = main.progress(spec.commandLine().getErr())) {
            LoadedModel m;
            try (Progress.Step s = progress.begin("loading " + model)) {
                m = Lstmx.load(model, from, hints.options());
                s.done(Text.layerSummary(m.model()));
            }
            Map<String, Tensor> feeds;
            try (Progress.Step s = progress.begin("reading inputs")) {
                feeds = InputFiles.read(m, inputs, files);
                s.done(null);
            }
            RunBudget.check(m.model(), InputFiles.shapes(feeds), VerifyCommand.budget(maxElements), "--max-elements");
            List<String> names = m.model().outputNames();
            List<Path> targets = new ArrayList<>();
            for (int k = 0; k < names.size(); k++) {
                targets.add(outputDir.resolve("output_" + k + ".npy"));
            }
            // Before running: a run whose results could not all be written is refused first.
            for (Path t : targets) {
                if (Files.isDirectory(t, LinkOption.NOFOLLOW_LINKS)) {
                    throw LstmxException.badInput(t + " is a directory; not replacing it with an output file");
                }
                if (!force && Files.exists(t, LinkOption.NOFOLLOW_LINKS)) {
                    throw LstmxException.badInput(t + " already exists; not overwriting it (use --force to replace it)");
                }
            }
            Map<String, Tensor> results;
            try (Progress.Step s = progress.begin("running")) {
                results = m.run(feeds);
                s.done(null);
            }
            try {
                Files.createDirectories(outputDir);
            } catch (IOException e) {
                throw LstmxException.badInput(outputDir + ": cannot create --output-dir: " + e.getMessage());
            }
            try (Progress.Step s = progress.begin("writing " + outputDir)) {
                List<Tensor> values = new ArrayList<>();
                for (String name : names) {
                    Tensor t = results.get(name);
                    if (t == null) {
                        throw LstmxException.internal(model + ": the runtime returned no value for output '" + name + "'");
                    }
                    values.add(t);
                }
                writeOutputs(targets, values, force, SafeFiles.FILES);
                for (int k = 0; k < names.size(); k++) {
                    out.println(targets.get(k).getFileName() + " <- " + SafeText.oneLine(names.get(k)) + " " + Text.shape(values.get(k).shape()));
                }
                s.done(null);
            }
            progress.finish();
        }
        out.flush();
        return 0;
    }

    /**
     * Writes every output into one staging folder beside the targets, then moves them all into place
     * or none: when one cannot be written or moved, the ones already moved are taken back, so the
     * folder never holds the outputs of two different runs, nor some outputs of one.
     */
    static void writeOutputs(List<Path> targets, List<Tensor> values, boolean force, SafeFiles.Mover mover) {
        if (targets.isEmpty()) {
            return;
        }
        Path last = targets.get(targets.size() - 1);
        SafeFiles.writeSafely(last, force, staged -> {
            for (int k = 0; k < targets.size(); k++) {
                Npy.write(values.get(k), staged.resolveSibling(targets.get(k).getFileName().toString()));
            }
        }, mover);
    }
}
