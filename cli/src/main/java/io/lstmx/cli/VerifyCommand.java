package io.lstmx.cli;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.ReferenceEngine;
import io.lstmx.api.ReferenceEngines;
import io.lstmx.api.RunBudget;
import io.lstmx.api.SafeFiles;
import io.lstmx.api.Tolerance;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatRegistry;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code lstmx verify MODEL}: runs the model in lstmx's runtime and in a reference engine on the same
 * inputs (seeded random ones at several batch sizes and sequence lengths, or the user's .npy files)
 * and compares every output, and the outputs of every LSTM, GRU and RNN layer the reference can
 * expose, with |a - b| &lt;= atol + rtol * |b| (b from the reference). Exit 0 when all agree, 1 otherwise.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Checks lstmx's runtime against a reference engine on the same inputs: seeded random ones for every "
                + "combination of --batch and --time the model leaves open, or the files given with --input.",
                "Compares every model output, and the outputs of each LSTM, GRU and RNN layer where the reference exposes "
                        + "them (onnxruntime does), value by value: pass if |lstmx - reference| <= atol + rtol * |reference|.",
                "Exit status 0 when every comparison passes, 1 when any does not."})
final class VerifyCommand implements Callable<Integer> {
    static final double DEFAULT_ATOL = 1e-5;
    static final double DEFAULT_RTOL = 1e-4;

    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Model to check (any format lstmx reads).")
    Path model;

    @Option(names = "--reference", paramLabel = "ENGINE",
            description = "Reference engine (default: the first present that runs the model's format; `lstmx formats` lists them).")
    String reference;

    @Option(names = "--atol", paramLabel = "A",
            description = "Absolute tolerance. With neither --atol nor --rtol, atol is 1e-5 and rtol 1e-4; "
                    + "giving only one of them sets the other to 0 (so --atol 0 alone asks for identical values).")
    Double atol;

    @Option(names = "--rtol", paramLabel = "R", description = "Relative tolerance (see --atol for the defaults).")
    Double rtol;

    @Option(names = {"-i", "--input"}, paramLabel = "NAME=FILE.npy",
            description = "Compare on this input instead of random ones; repeat per model input (a bare FILE takes the next input "
                    + "in model order). Not with --batch, --time or --seed.")
    List<String> inputs = new ArrayList<>();

    @Option(names = "--batch", paramLabel = "B", split = ",",
            description = "Batch sizes of the random inputs (default: 1,3), where the model leaves the batch size open.")
    List<Integer> batch;

    @Option(names = "--time", paramLabel = "T", split = ",",
            description = "Sequence lengths of the random inputs (default: 1,7), where the model leaves them open.")
    List<Integer> time;

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the random inputs (default: 0).")
    Long seed;

    @Option(names = "--max-elements", paramLabel = "N",
            description = "Refuse (exit 3), before allocating, shapes that make any value larger than N elements (default: 2^28).")
    Long maxElements;

    @Option(names = "--roundtrip", paramLabel = "FORMAT", converter = Formats.Converter.class,
            description = "Also convert to FORMAT in a temporary folder, reload, and compare that; the written file is also run "
                    + "in a reference engine for FORMAT when one is present. A format not written yet exits 3.")
    Format roundtrip;

    @Option(names = "--json", description = "Print the report as JSON (every comparison with its max abs/rel error and verdict); "
            + "the exit status is the same.")
    boolean json;

    @picocli.CommandLine.Mixin
    ReadHints hints = new ReadHints();

    /** The tolerance the options ask for (see --atol's description). */
    static Tolerance tolerance(Double atol, Double rtol) {
        if (atol == null && rtol == null) {
            return new Tolerance(DEFAULT_ATOL, DEFAULT_RTOL);
        }
        return new Tolerance(atol == null ? 0 : atol, rtol == null ? 0 : rtol);
    }

    /** Running totals over all comparisons. */
    static final class Tally {
        int total;
        int failed;
        double maxAbs;
        double maxRel;
        String firstFailure;

        void add(String what, Tolerance.Report r) {
            total++;
            if (!r.ok()) {
                failed++;
                if (firstFailure == null) {
                    firstFailure = what + ": " + r.detail();
                }
            }
            if (r.shapeMatches()) {
                maxAbs = Math.max(maxAbs, r.maxAbs());
                maxRel = Math.max(maxRel, r.maxRel());
            }
        }
    }

    /**
     * One value compared: a model output, or an intermediate value written by {@code layer}
     * (null for outputs).
     */
    record Item(String name, String layer, Tensor actual, Tensor expected) {
    }

    /** What the report holds besides the totals: the JSON of each case, and notes. */
    private final List<Object> jsonCases = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Tolerance tol = checkOptions();
        ReferenceEngine engine = reference == null ? null : ReferenceEngines.named(reference);
        if (roundtrip != null) {
            // Before any comparison: the round trip could not be written at the end anyway.
            FormatRegistry.standard().requireWriter(roundtrip, Path.of("--roundtrip " + roundtrip.id()));
        }
        Format format = Lstmx.detect(model);
        FormatRegistry registry = FormatRegistry.standard();
        if (engine == null) {
            // The engine that runs the file itself, else the first that runs a format lstmx writes it as.
            // A state_dict is checked in libtorch (as TorchScript), a Keras file in TensorFlow (as a SavedModel,
            // which also says what ONNX cannot, such as Keras's masks), before any other framework.
            Format sibling = format == Format.PYTORCH_STATE_DICT ? Format.TORCHSCRIPT
                    : format == Format.KERAS || format == Format.KERAS_H5 ? Format.SAVEDMODEL : format;
            engine = ReferenceEngines.forFormat(format).or(() -> ReferenceEngines.forFormat(sibling)).or(() -> ReferenceEngines.all().stream()
                    .filter(e -> e.formats().stream().anyMatch(registry::canWrite)).findFirst())
                    .orElseThrow(() -> LstmxException.unsupported(model + ": no reference engine present runs " + format.id()
                            + " models or a format lstmx writes; engines present: " + ReferenceEngines.names()));
        }
        Format refFormat = format;
        if (!engine.formats().contains(format)) {
            ReferenceEngine e = engine;
            // in Format.KNOWN's order (a SavedModel before a frozen GraphDef), not the engine's set's
            refFormat = Format.KNOWN.stream().filter(f -> e.formats().contains(f) && registry.canWrite(f)).findFirst().orElseThrow(() -> LstmxException.unsupported(model
                    + ": reference engine " + e.name() + " does not run " + format.id() + " models, nor a format lstmx writes; engines present: "
                    + ReferenceEngines.names()));
        }
        Tally tally = new Tally();
        Path refModel = model;
        try (Progress progress = main.progress(spec.commandLine().getErr())) {
            LoadedModel loaded;
            try (Progress.Step s = progress.begin("loading " + model)) {
                loaded = Lstmx.load(model, format, hints.options());
                s.done(Text.layerSummary(loaded.model()));
            }
            if (refFormat != format) {
                // A file the engine cannot run (a state_dict for libtorch): it runs lstmx's conversion instead,
                // which checks the network lstmx read as that framework computes it. When the engine was not
                // asked for and its format cannot hold the model (a Keras mask in ONNX), the next engine is tried.
                List<ReferenceEngine> others = new ArrayList<>();
                if (reference == null) {
                    for (ReferenceEngine e : ReferenceEngines.all()) {
                        if (e != engine && !e.formats().contains(format) && e.formats().stream().anyMatch(registry::canWrite)) {
                            others.add(e);
                        }
                    }
                }
                while (true) {
                    refModel = tempFileFor(refFormat, "the reference's " + refFormat.id() + " file");
                    try (Progress.Step s = progress.begin("writing the model as " + refFormat.id() + " for the reference")) {
                        Lstmx.save(loaded.model(), refModel, refFormat);
                        s.done(null);
                        break;
                    } catch (LstmxException e) {
                        deleteQuietly(refModel.getParent());
                        if (e.code() != ErrorCode.UNSUPPORTED || others.isEmpty()) {
                            throw e;
                        }
                        ReferenceEngine next = others.remove(0);
                        notes.add(engine.name() + " not used: " + refFormat.id() + " cannot hold this model (" + SafeText.oneLine(e.getMessage())
                                + "); " + next.name() + " is the reference instead");
                        engine = next;
                        refFormat = Format.KNOWN.stream().filter(f -> next.formats().contains(f) && registry.canWrite(f)).findFirst().orElseThrow();
                    }
                }
                notes.add(engine.name() + " runs lstmx's " + refFormat.id() + " conversion of the model (it does not run "
                        + format.id() + " files): this checks the network lstmx read, as " + engine.name() + " computes it");
            }
            String engineVersion;
            try (Progress.Step s = progress.begin("starting " + engine.name())) {
                engineVersion = engine.version(); // loads the engine's native code, which takes a moment
                s.done(engineVersion);
            }
            List<RandomInputs.Case> cases = cases(loaded);
            List<String> names = loaded.model().outputNames();
            Map<String, String> intermediates = intermediates(loaded);
            if (!json) {
                out.printf(Locale.ROOT, "verify %s: lstmx vs %s %s, %s, pass if |a-b| <= %s + %s*|b|%n",
                        SafeText.oneLine(model.toString()), engine.name(), engineVersion, inputsText(cases), plain(tol.atol()), plain(tol.rtol()));
                notes.forEach(n -> out.println("note: " + n));
            }
            LoadedModel exposed = intermediates.isEmpty() ? loaded : loaded.exposing(new ArrayList<>(intermediates.keySet()));
            List<List<Tensor>> expected = new ArrayList<>();
            List<String> notExposed = new ArrayList<>(intermediates.keySet());
            ReferenceEngine.Session ref;
            try (Progress.Step s = progress.begin("opening " + refModel + " in " + engine.name())) {
                ref = engine.open(refModel, refFormat, new ArrayList<>(intermediates.keySet()));
                s.done(null);
            }
            try (ReferenceEngine.Session r = ref) {
                int k = 0;
                for (RandomInputs.Case c : cases) {
                    try (Progress.Step s = progress.begin("comparing " + c.label() + " (case " + ++k + " of " + cases.size() + ")")) {
                        Map<String, Tensor> refOut = r.run(c.inputs());
                        List<Tensor> exp = ordered(first(refOut, names.size()), names, model + " in " + engine.name());
                        expected.add(exp);
                        Map<String, Tensor> ours = exposed.run(c.inputs());
                        List<Tensor> act = ordered(first(ours, names.size()), names, model + " in lstmx");
                        List<Item> items = new ArrayList<>();
                        for (int i = 0; i < names.size(); i++) {
                            items.add(new Item(names.get(i), null, act.get(i), exp.get(i)));
                        }
                        for (Map.Entry<String, String> e : intermediates.entrySet()) {
                            Tensor theirs = refOut.get(e.getKey());
                            if (theirs != null) {
                                notExposed.remove(e.getKey());
                                items.add(new Item(e.getKey(), e.getValue(), ours.get(e.getKey()), theirs));
                            }
                        }
                        compare("lstmx", c, items, tol, json ? null : out, tally);
                        s.done(null);
                    }
                }
            }
            if (!notExposed.isEmpty()) {
                String n = notExposed.size() + " recurrent layer output(s) not compared, as " + engine.name()
                        + " has no value of that name: " + notExposed;
                notes.add(n);
                if (!json) {
                    out.println("note: " + n);
                }
            }
            if (roundtrip != null) {
                roundTrip(loaded, cases, expected, names, tol, out, tally, progress);
            }
            if (json) {
                out.print(Json.write(report(engine.name(), engineVersion, tol, intermediates, notExposed, tally)));
            } else {
                out.printf(Locale.ROOT, "%s: %d of %d comparisons within tolerance (max abs %.3g, max rel %.3g)%n",
                        tally.failed == 0 ? "PASS" : "FAIL", tally.total - tally.failed, tally.total, tally.maxAbs, tally.maxRel);
            }
            out.flush();
            if (tally.failed == 0) {
                progress.finish();
            }
        } finally {
            if (refModel != model) {
                deleteQuietly(refModel.getParent());
            }
        }
        if (tally.failed > 0) {
            throw new LstmxException(ErrorCode.MISMATCH, model + ": " + tally.failed + " of " + tally.total
                    + " comparisons exceed |a-b| <= atol + rtol*|b|; first: " + tally.firstFailure);
        }
        return 0;
    }

    /** Checks the options against each other before anything is read; returns the tolerance. */
    private Tolerance checkOptions() {
        for (Double d : new Double[] {atol, rtol}) {
            if (d != null && (!(d >= 0) || Double.isInfinite(d))) {
                throw LstmxException.badInput("--atol and --rtol must be finite and >= 0, got " + (atol == null ? "-" : atol)
                        + " and " + (rtol == null ? "-" : rtol));
            }
        }
        if (!inputs.isEmpty() && (batch != null || time != null || seed != null)) {
            throw LstmxException.badInput("--batch, --time and --seed shape random inputs; they do not apply with --input");
        }
        for (List<Integer> sizes : java.util.Arrays.asList(batch, time)) {
            if (sizes != null) {
                String opt = sizes == batch ? "--batch" : "--time";
                if (sizes.isEmpty()) {
                    throw LstmxException.badInput(opt + " needs at least one size");
                }
                for (int v : sizes) {
                    if (v < 1) {
                        throw LstmxException.badInput(opt + " sizes must be at least 1, got " + v);
                    }
                }
            }
        }
        return tolerance(atol, rtol);
    }

    /** The budget of elements per value: the option when given (positive), else the library's. */
    static long budget(Long option) {
        if (option == null) {
            return RunBudget.maxElements();
        }
        if (option < 1) {
            throw LstmxException.badInput("--max-elements must be at least 1, got " + option);
        }
        return option;
    }

    /** The user's inputs as one case, or the random cases the options ask for (with notes on sizes the model fixes). */
    private List<RandomInputs.Case> cases(LoadedModel loaded) {
        if (!inputs.isEmpty()) {
            Map<String, Tensor> given = InputFiles.read(loaded, inputs, List.of());
            RunBudget.check(loaded.model(), InputFiles.shapes(given), budget(maxElements), "--max-elements");
            return List.of(new RandomInputs.Case("--input files", given));
        }
        int[] b = batch == null ? RandomInputs.BATCH_SIZES : batch.stream().mapToInt(Integer::intValue).distinct().toArray();
        int[] t = time == null ? RandomInputs.TIME_STEPS : time.stream().mapToInt(Integer::intValue).distinct().toArray();
        List<RandomInputs.Case> cases = RandomInputs.cases(loaded.model(), seed == null ? 0 : seed, b, t, budget(maxElements));
        if (batch != null && cases.stream().noneMatch(c -> c.label().contains("batch="))) {
            notes.add("the model fixes its batch size (or has none lstmx can find), so --batch changes nothing");
        }
        if (time != null && cases.stream().noneMatch(c -> c.label().contains("time="))) {
            notes.add("the model fixes its sequence length (or has none lstmx can find), so --time changes nothing");
        }
        return cases;
    }

    private String inputsText(List<RandomInputs.Case> cases) {
        return inputs.isEmpty() ? cases.size() + " random input case(s), seed " + (seed == null ? 0 : seed) : "inputs from --input files";
    }

    /**
     * The outputs of the model's LSTM, GRU and RNN layers that are not model outputs (value name to
     * layer name): the intermediate values worth comparing, as a recurrent layer is where engines
     * differ and where a wrong conversion first shows.
     */
    static Map<String, String> intermediates(LoadedModel m) {
        Map<String, String> l = new LinkedHashMap<>();
        List<String> outputs = m.model().outputNames();
        for (Layer layer : m.model().layers()) {
            if (layer instanceof Layer.Lstm || layer instanceof Layer.Gru || layer instanceof Layer.Rnn) {
                for (String v : layer.outputs()) {
                    if (!outputs.contains(v)) {
                        l.put(v, layer.name());
                    }
                }
            }
        }
        return l;
    }

    /** A file of {@code format} (its writer's default name) in a fresh temporary folder, for {@code purpose}. */
    private static Path tempFileFor(Format format, String purpose) {
        Path dir;
        try {
            dir = Files.createTempDirectory("lstmx-verify-");
        } catch (IOException e) {
            throw LstmxException.badInput("cannot create a temporary folder for " + purpose + ": " + e.getMessage());
        }
        return dir.resolve(FormatRegistry.standard().requireWriter(format, dir).defaultFileName());
    }

    /** Best effort: a leftover temporary folder does not change the verdict. */
    private static void deleteQuietly(Path dir) {
        try {
            SafeFiles.deleteTree(dir);
        } catch (LstmxException e) {
            // Nothing to report: the comparison is what verify answers for.
        }
    }

    private void roundTrip(LoadedModel loaded, List<RandomInputs.Case> cases, List<List<Tensor>> expected,
                           List<String> names, Tolerance tol, PrintWriter out, Tally tally, Progress progress) {
        Path file = tempFileFor(roundtrip, "--roundtrip");
        PrintWriter text = json ? null : out;
        try {
            LoadedModel back;
            try (Progress.Step s = progress.begin("writing and reading back " + roundtrip.id())) {
                Lstmx.save(loaded.model(), file, roundtrip);
                back = Lstmx.load(file, roundtrip);
                s.done(null);
            }
            if (text != null) {
                text.println("round trip: wrote " + roundtrip.id() + " (" + Text.layerSummary(back.model()) + ") and read it back");
            }
            String engine = "roundtrip-" + roundtrip.id();
            try (Progress.Step s = progress.begin("comparing the " + roundtrip.id() + " round trip")) {
                for (int i = 0; i < cases.size(); i++) {
                    Map<String, Tensor> in = asDeclared(back.model(), rename(cases.get(i).inputs(), back.model().inputNames(), engine));
                    List<Tensor> act = ordered(back.run(in), back.model().outputNames(), "the " + roundtrip.id() + " round trip in lstmx");
                    compare(engine, cases.get(i), items(names, act, expected.get(i)), tol, text, tally);
                }
                s.done(null);
            }
            ReferenceEngine checker = ReferenceEngines.forFormat(roundtrip).orElse(null);
            if (checker != null) {
                // The written file must also mean the same thing to an independent engine.
                engine = engine + "/" + checker.name();
                try (Progress.Step s = progress.begin("comparing the written " + roundtrip.id() + " file in " + checker.name());
                     ReferenceEngine.Session ref = checker.open(file, roundtrip)) {
                    for (int i = 0; i < cases.size(); i++) {
                        Map<String, Tensor> in = rename(cases.get(i).inputs(), ref.inputNames(), engine);
                        List<Tensor> act = ordered(ref.run(in), ref.outputNames(), "the written " + roundtrip.id() + " file in " + checker.name());
                        compare(engine, cases.get(i), items(names, act, expected.get(i)), tol, text, tally);
                    }
                    s.done(null);
                }
            }
        } finally {
            deleteQuietly(file.getParent());
        }
    }

    /**
     * Float inputs of whole numbers given as the integers a written copy declares: a Keras model
     * takes token ids as floats, its TorchScript code casts them (ids.to(int64)), so the copy read
     * back declares int64 ids. Anything else is passed as it is.
     */
    private static Map<String, Tensor> asDeclared(io.lstmx.ir.Model m, Map<String, Tensor> inputs) {
        Map<String, Tensor> out = new LinkedHashMap<>(inputs);
        for (io.lstmx.ir.ValueInfo v : m.inputs()) {
            Tensor t = inputs.get(v.name());
            if (t == null || v.dtype().isFloating() || !t.dtype().isFloating()) {
                continue;
            }
            float[] f = t.toFloatArray();
            long[] l = new long[f.length];
            boolean whole = true;
            for (int i = 0; i < f.length && whole; i++) {
                whole = f[i] == Math.rint(f[i]) && Math.abs(f[i]) < 1e15f;
                l[i] = (long) f[i];
            }
            if (whole) {
                out.put(v.name(), Tensor.ofLongs(v.dtype(), t.shape(), l));
            }
        }
        return out;
    }

    private static List<Item> items(List<String> names, List<Tensor> actual, List<Tensor> expected) {
        if (actual.size() != expected.size() || names.size() != expected.size()) {
            throw new LstmxException(ErrorCode.MISMATCH, actual.size() + " outputs where " + expected.size() + " were expected");
        }
        List<Item> l = new ArrayList<>();
        for (int k = 0; k < names.size(); k++) {
            l.add(new Item(names.get(k), null, actual.get(k), expected.get(k)));
        }
        return l;
    }

    /** 1e-05 as "0.00001": tolerances read as the user typed them. */
    private static String plain(double d) {
        return java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }

    /** The same inputs under another model's input names, matched by position when the names differ. */
    private static Map<String, Tensor> rename(Map<String, Tensor> inputs, List<String> names, String what) {
        if (names.size() == inputs.size() && new HashSet<>(names).containsAll(inputs.keySet())) { // a set: a list's containsAll is quadratic
            return inputs;
        }
        if (names.size() != inputs.size()) {
            throw new LstmxException(ErrorCode.MISMATCH, what + ": the model has " + names.size() + " inputs " + SafeText.list(names)
                    + ", the original " + inputs.size() + " " + SafeText.list(inputs.keySet()));
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        int i = 0;
        for (Tensor t : inputs.values()) {
            out.put(names.get(i++), t);
        }
        return out;
    }

    /** The first {@code n} entries: a run's outputs without the intermediate values that follow them. */
    private static Map<String, Tensor> first(Map<String, Tensor> values, int n) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : values.entrySet()) {
            if (m.size() == n) {
                break;
            }
            m.put(e.getKey(), e.getValue());
        }
        return m;
    }

    /** Output values in the order of {@code names}, or in the map's order when the names differ. */
    static List<Tensor> ordered(Map<String, Tensor> outputs, List<String> names, String what) {
        if (outputs.keySet().containsAll(names)) {
            List<Tensor> l = new ArrayList<>();
            for (String n : names) {
                l.add(outputs.get(n));
            }
            return l;
        }
        if (outputs.size() != names.size()) {
            throw new LstmxException(ErrorCode.MISMATCH, what + " gives " + outputs.size() + " outputs " + SafeText.list(outputs.keySet())
                    + " where " + names.size() + " " + SafeText.list(names) + " were expected");
        }
        return new ArrayList<>(outputs.values());
    }

    /** The old entry point: every item a model output. */
    static int compare(String engine, String caseLabel, List<String> names, List<Tensor> actual, List<Tensor> expected,
                       Tolerance tol, PrintWriter out, Tally tally) {
        if (actual.size() != expected.size() || names.size() != expected.size()) {
            throw new LstmxException(ErrorCode.MISMATCH, engine + " " + caseLabel + ": " + actual.size()
                    + " outputs where " + expected.size() + " were expected");
        }
        return new VerifyCommand().compare(engine, new RandomInputs.Case(caseLabel, Map.of()), items(names, actual, expected), tol, out, tally);
    }

    /**
     * Compares each item, prints one line per item to {@code out} (unless null), keeps it for the
     * JSON report and adds it to {@code tally}. Returns the number of items outside the tolerance
     * (a shape difference or a NaN counts as outside).
     */
    int compare(String engine, RandomInputs.Case c, List<Item> items, Tolerance tol, PrintWriter out, Tally tally) {
        int failed = 0;
        List<Object> values = new ArrayList<>();
        for (Item item : items) {
            Tolerance.Report r = tol.compare(item.actual(), item.expected());
            String what = engine + " " + c.label() + (item.layer() == null ? " output '" + item.name() + "'"
                    : " layer '" + item.layer() + "' value '" + item.name() + "'");
            tally.add(what, r);
            if (!r.ok()) {
                failed++;
            }
            values.add(itemJson(item, r));
            if (out == null) {
                continue;
            }
            String verdict;
            if (!r.shapeMatches()) {
                verdict = r.detail() + "  MISMATCH";
            } else {
                verdict = String.format(Locale.ROOT, "max abs %.3g  max rel %.3g  %s", r.maxAbs(), r.maxRel(),
                        r.ok() ? "ok" : String.format(Locale.ROOT, "MISMATCH (worst at %d: %s vs %s)", r.worstIndex(), r.worstActual(), r.worstExpected()));
            }
            String label = (item.layer() == null ? "" : "layer " + item.layer() + ": ") + item.name();
            out.printf(Locale.ROOT, "  %-28s %-18s %-24s %s%n", engine, c.label(),
                    SafeText.oneLine(label) + " " + Text.shape(item.expected().shape()), verdict);
        }
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("engine", engine);
        j.put("case", c.label());
        Map<String, Object> shapes = new LinkedHashMap<>();
        c.inputs().forEach((n, t) -> shapes.put(n, shape(t.shape())));
        j.put("inputShapes", shapes);
        j.put("values", values);
        jsonCases.add(j);
        return failed;
    }

    private static List<Object> shape(int[] s) {
        List<Object> l = new ArrayList<>();
        for (int d : s) {
            l.add(d);
        }
        return l;
    }

    private static Map<String, Object> itemJson(Item item, Tolerance.Report r) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("name", item.name());
        o.put("kind", item.layer() == null ? "output" : "intermediate");
        if (item.layer() != null) {
            o.put("layer", item.layer());
        }
        o.put("shape", shape(item.expected().shape()));
        if (!r.shapeMatches()) {
            o.put("actualShape", shape(item.actual().shape()));
        }
        // Json writes non-finite numbers (a NaN difference) as null.
        o.put("maxAbs", r.shapeMatches() ? r.maxAbs() : null);
        o.put("maxRel", r.shapeMatches() ? r.maxRel() : null);
        o.put("pass", r.ok());
        if (!r.ok()) {
            o.put("detail", r.detail());
        }
        return o;
    }

    private Map<String, Object> report(String engineName, String engineVersion, Tolerance tol, Map<String, String> intermediates, List<String> notExposed, Tally tally) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("model", model.toString());
        Map<String, Object> ref = new LinkedHashMap<>();
        ref.put("name", engineName);
        ref.put("version", engineVersion);
        j.put("reference", ref);
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("atol", tol.atol());
        t.put("rtol", tol.rtol());
        t.put("rule", "|lstmx - reference| <= atol + rtol * |reference|");
        j.put("tolerance", t);
        j.put("inputs", inputs.isEmpty() ? "random" : "files");
        if (inputs.isEmpty()) {
            j.put("seed", seed == null ? 0L : seed);
        }
        List<String> compared = new ArrayList<>(intermediates.keySet());
        compared.removeAll(notExposed);
        j.put("intermediates", compared);
        j.put("notExposed", notExposed);
        j.put("notes", notes);
        j.put("cases", jsonCases);
        j.put("comparisons", tally.total);
        j.put("failed", tally.failed);
        j.put("maxAbs", tally.maxAbs);
        j.put("maxRel", tally.maxRel);
        j.put("verdict", tally.failed == 0 ? "pass" : "fail");
        return j;
    }
}
