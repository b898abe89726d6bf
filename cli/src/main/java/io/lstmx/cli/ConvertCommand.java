package io.lstmx.cli;

import io.lstmx.api.Lstmx;
import io.lstmx.errors.LstmxException;
import io.lstmx.exporters.ExportOptions;
import io.lstmx.ir.Format;
import io.lstmx.ir.Model;
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
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@code lstmx convert SRC DST}: reads SRC into the IR and writes it as DST's format. Never
 * overwrites without --force. The exporter writes into a fresh hidden directory beside DST, which
 * is moved into place only once complete, so a failed conversion leaves nothing behind.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Converts a model to another format.",
                "DST's format comes from its extension (.onnx; .pt/.pth; .h5/.keras; a directory or .pb for a "
                        + "TensorFlow SavedModel) unless --to is given."})
final class ConvertCommand implements Callable<Integer> {
    /** The first ONNX opset with the LSTM operator. */
    private static final int MIN_LSTM_OPSET = 7;

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
            description = "Write this format (onnx, keras, tensorflow, pytorch) whatever DST's extension.")
    Format to;

    @Option(names = "--opset", paramLabel = "N", description = "ONNX opset to target (default: the exporter's).")
    Integer opset;

    @Option(names = "--force", description = "Replace DST if it exists.")
    boolean force;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Format target = Formats.forDestination(dst, to);
        if (opset != null) {
            if (target != Format.ONNX) {
                throw LstmxException.badInput("--opset applies only to ONNX output, but " + dst + " is written as " + target.id());
            }
            if (opset < MIN_LSTM_OPSET) {
                throw LstmxException.unsupported("--opset " + opset + ": ONNX has the LSTM operator only from opset " + MIN_LSTM_OPSET);
            }
        }
        checkDestination(dst, target, force);
        Model model = Lstmx.read(src, from);
        ExportOptions options = new ExportOptions(opset == null ? 0 : opset);
        writeSafely(dst, force, tmp -> Lstmx.save(model, tmp, target, options));
        out.println("read  " + src + ": " + model.info().sourceFormat() + (model.info().producer().isEmpty() ? "" : " (" + model.info().producer() + ")"));
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
     * Lets {@code writer} produce {@code dst} under a temporary hidden directory beside it, then moves
     * what was written into place (replacing DST only when {@code force}). On any failure the
     * temporary directory and everything in it is deleted and DST is left as it was.
     */
    static void writeSafely(Path dst, boolean force, Consumer<Path> writer) {
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
            produced.sort(Comparator.comparing((Path p) -> !p.getFileName().equals(staged.getFileName())));
            for (Path p : produced) {
                moveIntoPlace(p, parent.resolve(p.getFileName().toString()));
            }
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

    private static void moveIntoPlace(Path from, Path to) throws IOException {
        if (Files.isDirectory(to, LinkOption.NOFOLLOW_LINKS)) {
            // A directory cannot be replaced by a move; the old one goes first (only with --force).
            deleteTree(to);
        }
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
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
