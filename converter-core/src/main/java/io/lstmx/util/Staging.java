package io.lstmx.util;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Names of the temporary files and folders lstmx writes beside a destination before moving the
 * result into place, and the sweep that removes those a killed process left behind.
 *
 * <p>A name is {@code .lstmx-KIND-PID-START-RANDOM}: short whatever the destination's length (a
 * 250-byte file name still gets a staging name far below the 255-byte limit), unique, and telling
 * which process made it. PID and START (the process's start time) let a later run in the same folder
 * prove the owner is gone, even if the PID was reused, and delete what it left.
 */
public final class Staging {
    /** Prefix shared by every staging name. */
    public static final String PREFIX = ".lstmx-";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long PID = ProcessHandle.current().pid();
    private static final String START = startOf(ProcessHandle.current()).map(Staging::stamp).orElse("0");

    private Staging() {
    }

    /** A fresh name of the given kind ("stage", "tmp", "backup", ...) for this process. */
    public static String newName(String kind) {
        return PREFIX + kind + "-" + PID + "-" + START + "-" + Long.toUnsignedString(RANDOM.nextLong() >>> 16, 36);
    }

    /**
     * Deletes, in {@code dir}, the staging entries of the given kinds whose process is no longer
     * running (best effort: what cannot be deleted stays for a later sweep). Entries of running
     * processes, this one included, and anything not named by {@link #newName} are left alone.
     * Returns the entries removed.
     */
    public static List<Path> sweep(Path dir, String... kinds) {
        List<Path> removed = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, PREFIX + "*")) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                for (String kind : kinds) {
                    if (name.startsWith(PREFIX + kind + "-") && isAbandoned(name.substring((PREFIX + kind + "-").length()))) {
                        if (deleteQuietly(p)) {
                            removed.add(p);
                        }
                    }
                }
            }
        } catch (IOException | UncheckedIOException | SecurityException e) {
            // Sweeping is housekeeping: a folder we cannot list is not this run's failure.
        }
        return removed;
    }

    /** Whether "PID-START-RANDOM" names a process that is gone (or a different one under a reused PID). */
    static boolean isAbandoned(String rest) {
        String[] parts = rest.split("-", -1);
        if (parts.length != 3) {
            return false;
        }
        long pid;
        try {
            pid = Long.parseLong(parts[0]);
        } catch (NumberFormatException e) {
            return false;
        }
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty() || !h.get().isAlive()) {
            return true;
        }
        Optional<String> start = startOf(h.get()).map(Staging::stamp);
        // Unknown start times (some systems hide them) count as alive: never delete a live run's files.
        return start.isPresent() && !parts[1].equals("0") && !start.get().equals(parts[1]);
    }

    private static Optional<Instant> startOf(ProcessHandle h) {
        try {
            return h.info().startInstant();
        } catch (SecurityException e) {
            return Optional.empty();
        }
    }

    private static String stamp(Instant t) {
        // Seconds suffice: a PID is not reused within the same second.
        return Long.toString(t.getEpochSecond(), 36);
    }

    private static boolean deleteQuietly(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
            return !Files.exists(root, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | UncheckedIOException | SecurityException e) {
            return false;
        }
    }
}
