package io.lstmx.api;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/** The reference engines on the class path (found through {@link ServiceLoader}). */
public final class ReferenceEngines {
    private static volatile List<ReferenceEngine> engines;

    private ReferenceEngines() {
    }

    /**
     * Every engine present, in class-path order (found once, then kept).
     *
     * @return an unmodifiable list, empty without a module from references/
     */
    public static List<ReferenceEngine> all() {
        List<ReferenceEngine> e = engines;
        if (e == null) {
            List<ReferenceEngine> found = new ArrayList<>();
            ServiceLoader.load(ReferenceEngine.class, ReferenceEngines.class.getClassLoader()).forEach(found::add);
            e = List.copyOf(found);
            engines = e;
        }
        return e;
    }

    /**
     * The engine called {@code name}.
     *
     * @param name e.g. "onnxruntime", any case
     * @return the engine
     * @throws LstmxException BAD_INPUT listing the engines present when there is none of that name
     */
    public static ReferenceEngine named(String name) {
        String n = name == null ? "" : name.toLowerCase(Locale.ROOT);
        return all().stream().filter(r -> r.name().equalsIgnoreCase(n)).findFirst()
                .orElseThrow(() -> LstmxException.badInput("unknown reference engine '" + name + "'; engines present: " + names()));
    }

    /**
     * The first engine that runs files of {@code format}.
     *
     * @param format the format of the model to run
     * @return empty when no engine present runs it
     */
    public static Optional<ReferenceEngine> forFormat(Format format) {
        return all().stream().filter(r -> r.formats().contains(format)).findFirst();
    }

    /**
     * The engines present, for messages.
     *
     * @return e.g. "onnxruntime 1.29.0 (runs onnx)", or a sentence saying there is none
     */
    public static String names() {
        List<ReferenceEngine> a = all();
        if (a.isEmpty()) {
            return "none (no reference engine module on the class path)";
        }
        return a.stream().map(r -> r.name() + " " + r.version() + " (runs "
                        + r.formats().stream().map(Format::id).sorted().collect(Collectors.joining(", ")) + ")")
                .collect(Collectors.joining(", "));
    }
}
