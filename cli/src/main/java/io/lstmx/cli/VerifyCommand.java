package io.lstmx.cli;

import io.lstmx.api.LoadedModel;
import io.lstmx.api.Lstmx;
import io.lstmx.api.ReferenceEngine;
import io.lstmx.api.ReferenceEngines;
import io.lstmx.api.SafeFiles;
import io.lstmx.api.Tolerance;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatRegistry;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code lstmx verify MODEL}: runs the model in lstmx's runtime and in a reference engine on the same
 * seeded random inputs at several batch sizes and sequence lengths, and compares every output with
 * |a - b| &lt;= atol + rtol * |b| (b from the reference). Exit 0 when all agree, 1 otherwise.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Checks lstmx's runtime against a reference engine on seeded random inputs at several batch sizes "
                + "and sequence lengths: |lstmx - reference| <= atol + rtol * |reference| for every output value.",
                "Exit status 0 when every comparison passes, 1 when any does not."})
final class VerifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "Model to check (ONNX for now).")
    Path model;

    @Option(names = "--reference", paramLabel = "ENGINE",
            description = "Reference engine (default: the first present that runs the model's format; `lstmx formats` lists them).")
    String reference;

    @Option(names = "--atol", paramLabel = "A", defaultValue = "1e-5", description = "Absolute tolerance (default: ${DEFAULT-VALUE}).")
    double atol;

    @Option(names = "--rtol", paramLabel = "R", defaultValue = "1e-4", description = "Relative tolerance (default: ${DEFAULT-VALUE}).")
    double rtol;

    @Option(names = "--roundtrip", paramLabel = "FORMAT", converter = Formats.Converter.class,
            description = "Also convert to FORMAT in a temporary folder, reload, and compare that; the written file is also run "
                    + "in a reference engine for FORMAT when one is present. A format not written yet exits 3.")
    Format roundtrip;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Seed of the random inputs (default: ${DEFAULT-VALUE}).")
    long seed;

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

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (!(atol >= 0) || !(rtol >= 0) || Double.isInfinite(atol) || Double.isInfinite(rtol)) {
            throw LstmxException.badInput("--atol and --rtol must be finite and >= 0, got " + atol + " and " + rtol);
        }
        ReferenceEngine engine = reference == null ? null : ReferenceEngines.named(reference);
        if (roundtrip != null) {
            // Before any comparison: the round trip could not be written at the end anyway.
            FormatRegistry.standard().requireWriter(roundtrip, Path.of("--roundtrip " + roundtrip.id()));
        }
        Format format = Lstmx.detect(model);
        if (engine == null) {
            engine = ReferenceEngines.forFormat(format).orElseThrow(() -> LstmxException.unsupported(model
                    + ": no reference engine present runs " + format.id() + " models; engines present: " + ReferenceEngines.names()));
        } else if (!engine.formats().contains(format)) {
            throw LstmxException.unsupported(model + ": reference engine " + engine.name() + " does not run " + format.id()
                    + " models; engines present: " + ReferenceEngines.names());
        }
        LoadedModel loaded = Lstmx.load(model, format);
        Tolerance tol = new Tolerance(atol, rtol);
        List<RandomInputs.Case> cases = RandomInputs.cases(loaded.model(), seed);
        List<String> names = loaded.model().outputNames();
        out.printf(Locale.ROOT, "verify %s: lstmx vs %s %s, %d input case(s), seed %d, pass if |a-b| <= %s + %s*|b|%n",
                SafeText.oneLine(model.toString()), engine.name(), engine.version(), cases.size(), seed, plain(atol), plain(rtol));
        Tally tally = new Tally();
        List<List<Tensor>> expected = new ArrayList<>();
        try (ReferenceEngine.Session ref = engine.open(model, format)) {
            for (RandomInputs.Case c : cases) {
                List<Tensor> exp = ordered(ref.run(c.inputs()), names, model + " in " + engine.name());
                expected.add(exp);
                List<Tensor> act = ordered(loaded.run(c.inputs()), names, model + " in lstmx");
                compare("lstmx", c.label(), names, act, exp, tol, out, tally);
            }
        }
        if (roundtrip != null) {
            roundTrip(loaded, cases, expected, names, tol, out, tally);
        }
        out.printf(Locale.ROOT, "%s: %d of %d comparisons within tolerance (max abs %.3g, max rel %.3g)%n",
                tally.failed == 0 ? "PASS" : "FAIL", tally.total - tally.failed, tally.total, tally.maxAbs, tally.maxRel);
        out.flush();
        if (tally.failed > 0) {
            throw new LstmxException(ErrorCode.MISMATCH, model + ": " + tally.failed + " of " + tally.total
                    + " comparisons exceed |a-b| <= atol + rtol*|b|; first: " + tally.firstFailure);
        }
        return 0;
    }

    private void roundTrip(LoadedModel loaded, List<RandomInputs.Case> cases, List<List<Tensor>> expected,
                           List<String> names, Tolerance tol, PrintWriter out, Tally tally) {
        Path dir;
        try {
            dir = Files.createTempDirectory("lstmx-verify-");
        } catch (IOException e) {
            throw LstmxException.badInput("cannot create a temporary folder for --roundtrip: " + e.getMessage());
        }
        try {
            Path file = dir.resolve(FormatRegistry.standard().requireWriter(roundtrip, dir).defaultFileName());
            Lstmx.save(loaded.model(), file, roundtrip);
            LoadedModel back = Lstmx.load(file, roundtrip);
            out.println("round trip: wrote " + roundtrip.id() + " (" + Text.layerSummary(back.model()) + ") and read it back");
            String engine = "roundtrip-" + roundtrip.id();
            for (int i = 0; i < cases.size(); i++) {
                Map<String, Tensor> in = rename(cases.get(i).inputs(), back.model().inputNames(), engine);
                List<Tensor> act = ordered(back.run(in), back.model().outputNames(), "the " + roundtrip.id() + " round trip in lstmx");
                compare(engine, cases.get(i).label(), names, act, expected.get(i), tol, out, tally);
            }
            ReferenceEngine checker = ReferenceEngines.forFormat(roundtrip).orElse(null);
            if (checker != null) {
                // The written file must also mean the same thing to an independent engine.
                engine = engine + "/" + checker.name();
                try (ReferenceEngine.Session ref = checker.open(file, roundtrip)) {
                    for (int i = 0; i < cases.size(); i++) {
                        Map<String, Tensor> in = rename(cases.get(i).inputs(), ref.inputNames(), engine);
                        List<Tensor> act = ordered(ref.run(in), ref.outputNames(), "the written " + roundtrip.id() + " file in " + checker.name());
                        compare(engine, cases.get(i).label(), names, act, expected.get(i), tol, out, tally);
                    }
                }
            }
        } finally {
            try {
                SafeFiles.deleteTree(dir);
            } catch (LstmxException e) {
                // Best effort: a leftover temporary folder does not change the verdict.
            }
        }
    }

    /** 1e-05 as "0.00001": tolerances read as the user typed them. */
    private static String plain(double d) {
        return java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
    }

    /** The same inputs under another model's input names, matched by position when the names differ. */
    private static Map<String, Tensor> rename(Map<String, Tensor> inputs, List<String> names, String what) {
        if (names.containsAll(inputs.keySet()) && names.size() == inputs.size()) {
            return inputs;
        }
        if (names.size() != inputs.size()) {
            throw new LstmxException(ErrorCode.MISMATCH, what + ": the model has " + names.size() + " inputs " + names
                    + ", the original " + inputs.size() + " " + inputs.keySet());
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        int i = 0;
        for (Tensor t : inputs.values()) {
            out.put(names.get(i++), t);
        }
        return out;
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
            throw new LstmxException(ErrorCode.MISMATCH, what + " gives " + outputs.size() + " outputs " + outputs.keySet()
                    + " where " + names.size() + " " + names + " were expected");
        }
        return new ArrayList<>(outputs.values());
    }

    /**
     * Compares each actual output with the expected one, prints one line per output and adds the
     * results to {@code tally}. Returns the number of outputs outside the tolerance (a shape
     * difference or a NaN counts as outside).
     */
    static int compare(String engine, String caseLabel, List<String> names, List<Tensor> actual, List<Tensor> expected,
                       Tolerance tol, PrintWriter out, Tally tally) {
        if (actual.size() != expected.size() || names.size() != expected.size()) {
            throw new LstmxException(ErrorCode.MISMATCH, engine + " " + caseLabel + ": " + actual.size()
                    + " outputs where " + expected.size() + " were expected");
        }
        int failed = 0;
        for (int k = 0; k < expected.size(); k++) {
            Tolerance.Report r = tol.compare(actual.get(k), expected.get(k));
            String what = engine + " " + caseLabel + " output '" + names.get(k) + "'";
            tally.add(what, r);
            if (!r.ok()) {
                failed++;
            }
            String verdict;
            if (!r.shapeMatches()) {
                verdict = r.detail() + "  MISMATCH";
            } else {
                verdict = String.format(Locale.ROOT, "max abs %.3g  max rel %.3g  %s", r.maxAbs(), r.maxRel(),
                        r.ok() ? "ok" : String.format(Locale.ROOT, "MISMATCH (worst at %d: %s vs %s)", r.worstIndex(), r.worstActual(), r.worstExpected()));
            }
            out.printf(Locale.ROOT, "  %-28s %-18s %-24s %s%n", engine, caseLabel,
                    SafeText.oneLine(names.get(k)) + " " + Text.shape(expected.get(k).shape()), verdict);
        }
        return failed;
    }
}
