package io.lstmx.cli;

import io.lstmx.api.Lstmx;
import io.lstmx.api.SafeFiles;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatRegistry;
import io.lstmx.formats.FormatWriter;
import io.lstmx.formats.WriteOptions;
import io.lstmx.ir.Model;
import io.lstmx.util.SafeText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
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
        description = {"Converts a model to another format (see `lstmx formats` for what is read and written; "
                + "a format known but not written yet exits 3).",
                "DST's format comes from its extension unless --to is given."})
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    Main main;

    @Parameters(index = "0", paramLabel = "SRC", description = "Model to read.")
    Path src;

    @Parameters(index = "1", paramLabel = "DST", description = "File or directory to write.")
    Path dst;

    @Option(names = "--from", paramLabel = "FORMAT", converter = Formats.Converter.class,
            description = "Read SRC as this format instead of detecting it.")
    Format from;

    @Option(names = "--to", paramLabel = "FORMAT", converter = Formats.Converter.class,
            description = "Write this format whatever DST's extension (an id or alias from `lstmx formats`).")
    Format to;

    @Option(names = "--opset", paramLabel = "N", description = "ONNX opset to target (default: the exporter's).")
    Integer opset;

    @Option(names = "--force", description = "Replace DST if it exists.")
    boolean force;

    @picocli.CommandLine.Mixin
    ReadHints hints = new ReadHints();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        FormatRegistry registry = FormatRegistry.standard();
        Format target = registry.forDestination(dst, to);
        WriteOptions options = new WriteOptions(opset == null ? 0 : opset);
        if (opset != null && target != Format.ONNX) {
            throw LstmxException.badInput("--opset applies only to ONNX output, but " + dst + " is written as " + target.id());
        }
        // Before SRC is read: a conversion that could not finish is refused first.
        try {
            registry.writer(target).filter(FormatWriter::available).ifPresent(w -> w.checkOptions(options)); // the writer owns its ranges
        } catch (LstmxException e) {
            throw opset == null ? e : e.withContext("--opset " + opset);
        }
        SafeFiles.checkDestination(dst, target, force);
        registry.requireWriter(target, dst);
        Model model;
        java.util.List<String> notes;
        try (Progress progress = main.progress(spec.commandLine().getErr())) {
            try (Progress.Step s = progress.begin("reading " + src)) {
                model = Lstmx.read(src, from, hints.options());
                s.done(Text.layerSummary(model));
            }
            try (Progress.Step s = progress.begin("writing " + dst)) {
                notes = Lstmx.save(model, dst, target, options, force);
                s.done(null);
            }
            progress.finish();
        }
        String producer = model.info().producer();
        out.println("read  " + src + ": " + model.info().sourceFormat() + (producer.isEmpty() ? "" : " (" + SafeText.oneLine(producer) + ")"));
        out.println("wrote " + dst + ": " + target.id() + (opset == null ? "" : " opset " + opset) + ", "
                + Text.layerSummary(model) + ", " + Text.count(model.parameterCount()) + " parameters");
        for (String n : notes) { // what the written file does differently on purpose (e.g. a relayouted input)
            out.println("note: " + SafeText.oneLine(n));
        }
        out.flush();
        return 0;
    }

}
