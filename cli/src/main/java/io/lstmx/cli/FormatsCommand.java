package io.lstmx.cli;

import io.lstmx.api.ReferenceEngine;
import io.lstmx.api.ReferenceEngines;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatRegistry;
import io.lstmx.formats.FormatWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code lstmx formats [--json]}: what this build can do, from the plug-ins on the class path: each
 * format with its names, extensions, whether it is read and written now, what its writer supports
 * (ONNX opsets), and the reference engines {@code verify} can check against.
 */
@Command(name = "formats", mixinStandardHelpOptions = true,
        description = {"Lists the model formats (id, aliases, extensions, whether lstmx reads and writes them now, "
                + "what the writer supports, such as ONNX opsets) and the reference engines verify can use."})
final class FormatsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        FormatRegistry registry = FormatRegistry.standard();
        out.print(json ? Json.write(toJson(registry)) : toText(registry));
        out.flush();
        return 0;
    }

    /** The formats with a plug-in present, then those lstmx knows of without one (neither read nor written). */
    private static List<Format> formats(FormatRegistry registry) {
        List<Format> all = new ArrayList<>(registry.formats());
        for (Format f : Format.KNOWN) {
            if (!all.contains(f)) {
                all.add(f);
            }
        }
        return all;
    }

    private static Map<String, Object> details(FormatRegistry registry, Format f) {
        return registry.writer(f).filter(FormatWriter::available).map(FormatWriter::details).orElse(Map.of());
    }

    private static String toText(FormatRegistry registry) {
        StringBuilder sb = new StringBuilder();
        sb.append("lstmx ").append(Main.version()).append('\n');
        sb.append("formats:\n");
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ID", "ALIASES", "EXTENSIONS", "READ", "WRITE", "WRITER", "DESCRIPTION"});
        for (Format f : formats(registry)) {
            List<String> ext = new ArrayList<>();
            f.extensions().forEach(e -> ext.add("." + e));
            if (f.directory()) {
                ext.add("(a folder)");
            }
            List<String> d = new ArrayList<>();
            details(registry, f).forEach((k, v) -> d.add(k + " " + v));
            rows.add(new String[] {f.id(), f.aliases().isEmpty() ? "-" : String.join(", ", f.aliases()),
                    ext.isEmpty() ? "-" : String.join(" ", ext), registry.canRead(f) ? "yes" : "not yet",
                    registry.canWrite(f) ? "yes" : "not yet", d.isEmpty() ? "-" : String.join(", ", d), f.description()});
        }
        sb.append(Text.table(rows, "  "));
        sb.append("reference engines (lstmx verify --reference NAME):\n");
        List<ReferenceEngine> engines = ReferenceEngines.all();
        if (engines.isEmpty()) {
            sb.append("  none (no reference engine module on the class path)\n");
        } else {
            List<String[]> er = new ArrayList<>();
            er.add(new String[] {"NAME", "VERSION", "RUNS"});
            for (ReferenceEngine e : engines) {
                er.add(new String[] {e.name(), e.version(), String.join(", ", engineFormats(e))});
            }
            sb.append(Text.table(er, "  "));
        }
        return sb.toString();
    }

    private static List<String> engineFormats(ReferenceEngine e) {
        return e.formats().stream().map(Format::id).sorted().toList();
    }

    private static Map<String, Object> toJson(FormatRegistry registry) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("version", Main.version());
        List<Object> fs = new ArrayList<>();
        for (Format f : formats(registry)) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("id", f.id());
            o.put("description", f.description());
            o.put("aliases", f.aliases());
            o.put("extensions", f.extensions());
            o.put("directory", f.directory());
            o.put("read", registry.canRead(f));
            o.put("write", registry.canWrite(f));
            o.put("writer", details(registry, f));
            fs.add(o);
        }
        j.put("formats", fs);
        List<Object> es = new ArrayList<>();
        for (ReferenceEngine e : ReferenceEngines.all()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("name", e.name());
            o.put("version", e.version());
            o.put("formats", engineFormats(e));
            es.add(o);
        }
        j.put("referenceEngines", es);
        return j;
    }
}
