package io.lstmx.api;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatRegistry;
import io.lstmx.formats.Recognition;
import io.lstmx.util.IoErrors;
import io.lstmx.util.IoErrors;
import io.lstmx.util.Staging;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Writing model files so that nothing half-written is ever seen: the writer writes into a fresh
 * hidden folder beside the destination, whose content (the model and any side files) is moved into
 * place only once complete, side files first; what it replaces is kept as a backup until every move
 * succeeded and put back otherwise. {@link Lstmx#save} and {@code lstmx convert} both write this way.
 */
public final class SafeFiles {
    private SafeFiles() {
    }

    /**
     * Refuses an existing DST without --force, a DST whose folder does not exist, and (even with
     * --force) replacing a directory that is not a SavedModel, which could be anything of the user's.
     *
     * @param dst    the destination
     * @param target the format to be written there
     * @param force  whether an existing destination may be replaced
     * @throws LstmxException BAD_INPUT naming {@code dst} for each refusal
     */
    public static void checkDestination(Path dst, Format target, boolean force) {
        if (Files.exists(dst, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(dst, LinkOption.NOFOLLOW_LINKS)
                && !Files.isDirectory(dst, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(dst)) {
            // Writing to a FIFO would block; replacing a device node is never what the user meant.
            throw LstmxException.badInput(dst + " is a special file (FIFO, socket or device); lstmx writes only regular files and folders");
        }
        if (Files.exists(dst, LinkOption.NOFOLLOW_LINKS) && !force) {
            throw LstmxException.badInput(dst + " already exists; not overwriting it (use --force to replace it)");
        }
        if (Files.isDirectory(dst, LinkOption.NOFOLLOW_LINKS)) {
            if (!target.directory()) {
                throw LstmxException.badInput(dst + " is a directory; give the " + target.id() + " file's name");
            }
            if (!isEmpty(dst) && !isModelOf(dst, target)) {
                throw LstmxException.badInput(dst + " is a directory that holds no " + target.id()
                        + " model; not replacing it even with --force");
            }
        }
        Path parent = dst.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw LstmxException.badInput(dst + ": folder " + parent + " does not exist");
        }
    }

    /**
     * The last step of placing one written file or directory: moves {@code from} to {@code to},
     * which is free (nothing there, or a file to be replaced atomically when {@code replace}).
     * Without {@code replace} it fails with FileAlreadyExistsException if {@code to} exists by then.
     * Tests substitute it to simulate races and failures.
     */
    @FunctionalInterface
    public interface Mover {
        /**
         * Moves {@code from} to {@code to}.
         *
         * @param from    the staged file or folder
         * @param to      its final place
         * @param replace whether an existing file at {@code to} is replaced (atomically)
         * @throws IOException when the move fails; FileAlreadyExistsException when {@code to} exists
         *         and {@code replace} is false
         */
        void move(Path from, Path to, boolean replace) throws IOException;
    }

    /** The file system's moves (see {@link #move}). */
    public static final Mover FILES = SafeFiles::move;

    /**
     * Lets {@code writer} produce {@code dst} under a temporary hidden directory beside it, then moves
     * what was written into place (replacing existing files only when {@code force}). On any failure
     * the temporary directory and everything in it is deleted and DST is left as it was.
     *
     * @param dst    the destination
     * @param force  whether existing files may be replaced
     * @param writer writes the model to the staging path it is given (named like {@code dst})
     */
    public static void writeSafely(Path dst, boolean force, Consumer<Path> writer) {
        writeSafely(dst, force, writer, FILES);
    }

    /**
     * {@link #writeSafely(Path, boolean, Consumer)} with the last step's moves done by {@code mover}
     * (tests simulate races and failures with it).
     *
     * @param dst    the destination
     * @param force  whether existing files may be replaced
     * @param writer writes the model to the staging path it is given
     * @param mover  moves each staged path into place
     */
    public static void writeSafely(Path dst, boolean force, Consumer<Path> writer, Mover mover) {
        Path target = dst.toAbsolutePath().normalize();
        Path parent = target.getParent();
        Path tmpDir = null;
        try {
            Staging.sweep(parent, "stage", "backup"); // what a killed conversion left in this folder
            tmpDir = Files.createDirectory(parent.resolve(Staging.newName("stage")));
            Path staged = tmpDir.resolve(target.getFileName().toString());
            try {
                writer.accept(staged);
            } catch (LstmxException e) {
                // Messages should name the file the user asked for, not the staging copy.
                String msg = String.valueOf(e.getMessage());
                if (msg.contains(staged.toString())) {
                    throw new LstmxException(e.code(), msg.replace(staged.toString(), dst.toString()), e);
                }
                throw e;
            }
            if (!Files.exists(staged, LinkOption.NOFOLLOW_LINKS)) {
                throw LstmxException.internal(dst + ": the exporter reported success but wrote nothing");
            }
            List<Path> produced = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(tmpDir)) {
                ds.forEach(produced::add);
            }
            // Files an exporter writes next to the model (e.g. external data) travel with it.
            for (Path p : produced) {
                Path finalPath = parent.resolve(p.getFileName().toString());
                if (!force && Files.exists(finalPath, LinkOption.NOFOLLOW_LINKS)) {
                    throw LstmxException.badInput(finalPath + " already exists; not overwriting it (use --force to replace it)");
                }
            }
            // Side files first, the model last: whoever sees the new model also finds the files it names.
            produced.sort(Comparator.comparing((Path p) -> p.getFileName().equals(staged.getFileName()))
                    .thenComparing(p -> p.getFileName().toString()));
            placeAll(produced, parent, force, mover);
        } catch (IOException e) {
            throw LstmxException.badInput(dst + ": cannot write: " + IoErrors.describe(e));
        } finally {
            if (tmpDir != null) {
                try {
                    deleteTree(tmpDir);
                } catch (LstmxException e) {
                    // Best effort; the directory is hidden and named after DST. The original outcome stands.
                }
            }
        }
    }

    /** One path moved into place, with the backup of what it replaced (null when nothing). */
    private record Placed(Path path, Path backup) {
        /** Puts back what was there before (best effort: the conversion is failing anyway). */
        void undo() {
            try {
                restore(path, backup);
            } catch (IOException | LstmxException e) {
                // The original failure is what gets reported; a backup left behind is hidden and named after DST.
            }
        }

        void commit() {
            if (backup != null) {
                try {
                    deleteTree(backup);
                } catch (LstmxException e) {
                    // The new content is in place; a leftover hidden backup does not change that.
                }
            }
        }
    }

    /** Removes what this conversion placed at {@code path} and puts {@code backup} (if any) back under that name. */
    private static void restore(Path path, Path backup) throws IOException {
        if (backup != null && !Files.isDirectory(backup, LinkOption.NOFOLLOW_LINKS)
                && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            Files.move(backup, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
        deleteTree(path);
        if (backup != null) {
            Files.move(backup, path, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** Moves every produced path into {@code parent}, all or none: a failure puts back what was moved. */
    private static void placeAll(List<Path> produced, Path parent, boolean force, Mover mover) throws IOException {
        Deque<Placed> done = new ArrayDeque<>();
        try {
            for (Path p : produced) {
                done.push(moveIntoPlace(p, parent.resolve(p.getFileName().toString()), force, mover));
            }
        } catch (IOException | RuntimeException e) {
            done.forEach(Placed::undo); // newest first
            throw e;
        }
        done.forEach(Placed::commit);
    }

    /**
     * Moves {@code from} to {@code to}. Nothing is replaced without {@code force}: the move itself
     * fails if {@code to} appeared since it was checked. With {@code force}, an existing directory
     * (or anything a directory is to replace) is first renamed to a hidden backup, as a move cannot
     * replace a directory; an existing file is kept as the backup through a hard link (or a copy) and
     * then replaced atomically. Either way the old content comes back if the move fails.
     */
    private static Placed moveIntoPlace(Path from, Path to, boolean force, Mover mover) throws IOException {
        if (!force || !Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
            try {
                mover.move(from, to, false);
            } catch (FileAlreadyExistsException e) {
                throw LstmxException.badInput(to + " appeared while converting; not overwriting it"
                        + (force ? "" : " (use --force to replace it)"));
            }
            return new Placed(to, null);
        }
        boolean renameAway = Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS);
        // A file's backup is a second link while the new file replaces it atomically: the name is
        // never without content, so a backup left by a killed run is garbage and swept. A folder is
        // renamed away first ("previous"): left by a killed run it may be the only copy, so it is
        // never swept.
        Path backup = to.resolveSibling(Staging.newName(renameAway ? "previous" : "backup"));
        if (renameAway) {
            Files.move(to, backup, StandardCopyOption.ATOMIC_MOVE);
        } else {
            try {
                Files.createLink(backup, to);
            } catch (UnsupportedOperationException | IOException e) {
                Files.copy(to, backup, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
            }
        }
        try {
            mover.move(from, to, !renameAway);
        } catch (IOException | RuntimeException e) {
            try {
                if (!Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
                    Files.move(backup, to, StandardCopyOption.ATOMIC_MOVE);
                } else if (!renameAway) {
                    Files.delete(backup); // the atomic replace did not happen: the old file is still there
                } else {
                    throw new IOException(to + " appeared meanwhile");
                }
            } catch (IOException restoreFailure) {
                throw new LstmxException(ErrorCode.BAD_INPUT, to + ": cannot write (" + (e instanceof IOException io ? IoErrors.describe(io) : e.getMessage())
                        + ") nor put the old content back; it is in " + backup, e);
            }
            throw e;
        }
        return new Placed(to, backup);
    }

    /** The real {@link Mover}: a rename; without {@code replace}, one that cannot replace anything. */
    private static void move(Path from, Path to, boolean replace) throws IOException {
        if (replace) {
            try {
                Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
            }
            return;
        }
        if (Files.isRegularFile(from, LinkOption.NOFOLLOW_LINKS)) {
            // Creating a hard link never replaces an existing name: no window between check and move.
            // (An atomic rename would silently replace on POSIX.)
            boolean linked;
            try {
                Files.createLink(to, from);
                linked = true;
            } catch (FileAlreadyExistsException e) {
                throw e;
            } catch (UnsupportedOperationException | IOException e) {
                linked = false; // e.g. a file system without hard links: fall back to the checked move
            }
            if (linked) {
                Files.delete(from);
                return;
            }
        }
        // Refuses an existing target (checked by the JDK just before the rename).
        Files.move(from, to);
    }

    /** Whether the folder {@code dir} is recognised as a model of {@code format} by its reader. */
    private static boolean isModelOf(Path dir, Format format) {
        return FormatRegistry.standard().reader(format)
                .map(r -> r.recognise(new FileProbe(dir)) != Recognition.NO).orElse(false);
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw LstmxException.badInput(dir + ": cannot list: " + e.getMessage());
        }
    }

    /**
     * Deletes {@code root} and everything under it (links are removed, never followed).
     *
     * @param root a file or folder; nothing happens when it does not exist
     * @throws LstmxException BAD_INPUT when something cannot be deleted
     */
    public static void deleteTree(Path root) {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            throw LstmxException.badInput(root + ": cannot delete: " + e.getMessage());
        }
    }
}
