package io.lstmx.cli;

import io.lstmx.api.Lstmx;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.exporters.ExportOptions;
import io.lstmx.exporters.Exporters;
import io.lstmx.ir.Format;
import io.lstmx.ir.Model;
import io.lstmx.util.SafeText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@code lstmx convert SRC DST}: reads SRC into the IR and writes it as DST's format. Never
 * overwrites without --force. The exporter writes into a fresh hidden directory beside DST, whose
 * content is moved into place only once complete, so a failed conversion leaves nothing behind.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Converts a model to another format. Writing ONNX (.onnx) works now; PyTorch (.pt/.pth), "
                + "Keras (.h5/.keras) and TensorFlow SavedModel (a directory or .pb) targets are not available yet (exit 3).",
                "DST's format comes from its extension unless --to is given."})
final class ConvertCommand implements Callable<Integer> {
    private static final SecureRandom RANDOM = new SecureRandom();

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SRC", description = "Model to read.")
    Path src;

    @Parameters(index = "1", paramLabel = "DST", description = "File or directory to write.")
    Path dst;

    @Option(names = "--from", paramLabel = "FORMAT", converter = Formats.Converter.class,
            description = "Read SRC as this format instead of detecting it.")
    Format from;

    @Option(names = "--to", paramLabel = "FORMAT", converter = Formats.Converter.class,
            description = "Write this format whatever DST's extension: onnx (keras, tensorflow and pytorch are not available yet, exit 3).")
    Format to;

    @Option(names = "--opset", paramLabel = "N", description = "ONNX opset to target (default: the exporter's).")
    Integer opset;

    @Option(names = "--force", description = "Replace DST if it exists.")
    boolean force;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Format target = Formats.forDestination(dst, to);
        ExportOptions options = new ExportOptions(opset == null ? 0 : opset);
        if (opset != null) {
            if (target != Format.ONNX) {
                throw LstmxException.badInput("--opset applies only to ONNX output, but " + dst + " is written as " + target.id());
            }
            try {
                Exporters.checkOptions(target, options); // before SRC is read: the exporter owns the opset range
            } catch (LstmxException e) {
                throw e.withContext("--opset " + opset);
            }
        }
        checkDestination(dst, target, force);
        if (!Exporters.isAvailable(target)) {
            // Before reading SRC: the conversion could not finish anyway.
            throw LstmxException.unsupported(dst + ": writing " + target.id() + " is not available yet; lstmx writes onnx for now");
        }
        Model model = Lstmx.read(src, from);
        writeSafely(dst, force, tmp -> Lstmx.save(model, tmp, target, options));
        String producer = model.info().producer();
        out.println("read  " + src + ": " + model.info().sourceFormat() + (producer.isEmpty() ? "" : " (" + SafeText.oneLine(producer) + ")"));
        out.println("wrote " + dst + ": " + target.id() + (opset == null ? "" : " opset " + opset) + ", "
                + Text.layerSummary(model) + ", " + Text.count(model.parameterCount()) + " parameters");
        out.flush();
        return 0;
    }

    /**
     * Refuses an existing DST without --force, a DST whose folder does not exist, and (even with
     * --force) replacing a directory that is not a SavedModel, which could be anything of the user's.
     */
    static void checkDestination(Path dst, Format target, boolean force) {
        if (Files.exists(dst, LinkOption.NOFOLLOW_LINKS) && !force) {
            throw LstmxException.badInput(dst + " already exists; not overwriting it (use --force to replace it)");
        }
        if (Files.isDirectory(dst, LinkOption.NOFOLLOW_LINKS)) {
            if (target != Format.TENSORFLOW) {
                throw LstmxException.badInput(dst + " is a directory; give the " + target.id() + " file's name");
            }
            if (!isEmpty(dst) && !Files.exists(dst.resolve("saved_model.pb"))) {
                throw LstmxException.badInput(dst + " is a directory that holds no saved_model.pb; not replacing it even with --force");
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
    interface Mover {
        void move(Path from, Path to, boolean replace) throws IOException;
    }

    /** The file system's moves (see {@link #move}). */
    static final Mover FILES = ConvertCommand::move;

    /**
     * Lets {@code writer} produce {@code dst} under a temporary hidden directory beside it, then moves
     * what was written into place (replacing existing files only when {@code force}). On any failure
     * the temporary directory and everything in it is deleted and DST is left as it was.
     */
    static void writeSafely(Path dst, boolean force, Consumer<Path> writer) {
        writeSafely(dst, force, writer, FILES);
    }

    static void writeSafely(Path dst, boolean force, Consumer<Path> writer, Mover mover) {
        Path target = dst.toAbsolutePath().normalize();
        Path parent = target.getParent();
        Path tmpDir = null;
        try {
            tmpDir = Files.createTempDirectory(parent, ".lstmx-" + target.getFileName() + "-");
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
            throw LstmxException.badInput(dst + ": cannot write: " + e.getMessage());
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
        Path backup = freshSibling(to, ".lstmx-backup-");
        boolean renameAway = Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS);
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
                throw new LstmxException(ErrorCode.BAD_INPUT, to + ": cannot write (" + e.getMessage()
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

    /** A name beside {@code p} that does not exist yet. */
    private static Path freshSibling(Path p, String prefix) {
        while (true) {
            Path c = p.resolveSibling(prefix + p.getFileName() + "-" + Long.toUnsignedString(RANDOM.nextLong(), 36));
            if (!Files.exists(c, LinkOption.NOFOLLOW_LINKS)) {
                return c;
            }
        }
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw LstmxException.badInput(dir + ": cannot list: " + e.getMessage());
        }
    }

    static void deleteTree(Path root) {
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
