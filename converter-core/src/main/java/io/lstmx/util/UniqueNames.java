package io.lstmx.util;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * One namespace of IR names (layer names, or value names) that must stay unique: importers reserve
 * every name the source file uses, then derive the names of the layers and values they add from
 * the source's ({@code "lstm/constant"}, then {@code "lstm/constant_2"} ...), so that generated
 * names read like the model's own and never clash with it. IR passes do the same with the names a
 * model already has. Not thread-safe.
 */
public final class UniqueNames {
    private final Set<String> taken = new HashSet<>();
    /** Per base, the suffix to try next: without it, n names from one base would cost n^2 probes. */
    private final Map<String, Integer> nextSuffix = new HashMap<>();
    private final int firstSuffix;

    /** An empty namespace. */
    public UniqueNames() {
        this(2);
    }

    /** A namespace where {@code names} are taken. */
    public UniqueNames(Collection<String> names) {
        this(2);
        taken.addAll(names);
    }

    private UniqueNames(int firstSuffix) {
        this.firstSuffix = firstSuffix;
    }

    /**
     * An empty namespace whose derived names are numbered from {@code firstSuffix} ({@code base_1},
     * {@code base_2} ... for 1): for writers whose files have always been named that way.
     */
    public static UniqueNames numberedFrom(int firstSuffix) {
        return new UniqueNames(firstSuffix);
    }

    /** Takes {@code name}; false when it was already taken. */
    public boolean reserve(String name) {
        return taken.add(name);
    }

    /** True when {@code name} is taken. */
    public boolean isTaken(String name) {
        return taken.contains(name);
    }

    /**
     * {@code base} if free, else the first free {@code base_2}, {@code base_3} ... (numbered from
     * {@link #numberedFrom}'s suffix when given); the result is taken.
     */
    public String fresh(String base) {
        if (taken.add(base)) {
            return base;
        }
        int k = nextSuffix.getOrDefault(base, firstSuffix);
        String n = base + "_" + k;
        while (!taken.add(n)) {
            n = base + "_" + ++k;
        }
        nextSuffix.put(base, k + 1);
        return n;
    }
}
