package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatReader;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.Recognition;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/**
 * Reader plug-in for torch.save files: state_dicts and whole pickled modules, in the zip layout
 * (PyTorch 1.6 and later) and the legacy one, read in pure Java. The pickle is read by
 * {@link Unpickler} with an allow-list of globals ({@link AllowList}: nothing from the file is
 * run), the storages by {@link TorchFile}, the tensors grouped by module by {@link ModuleTree},
 * and the network inferred from names and shapes by {@link NetworkBuilder}, whose Javadoc states
 * the rules. What a file cannot tell comes from two read hints: {@value #BATCH_FIRST} (the
 * recurrent modules take and give batch-major tensors) and {@value #LAST_STEP} (the modules after
 * the recurrent ones apply to its last time step, {@code out[:, -1, :]}), each "true" or "false".
 */
public final class StateDictReader implements FormatReader {
    /** Read hint: the recurrent modules were built with batch_first=True. */
    public static final String BATCH_FIRST = "batch-first";
    /** Read hint: what follows the last recurrent module applies to its last time step. */
    public static final String LAST_STEP = "last-step";

    @Override
    public Format format() {
        return Format.PYTORCH_STATE_DICT;
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        if (!probe.isRegularFile()) {
            return Recognition.NO;
        }
        // torch.save zips hold "<name>/data.pkl" and no code/; the legacy format is a bare pickle.
        if (probe.isZip()) {
            var names = probe.zipEntryNames();
            boolean data = names.stream().anyMatch(n -> n.endsWith("/data.pkl") || n.equals("data.pkl"));
            boolean code = names.stream().anyMatch(TorchScriptReader::isScriptEntry);
            return data && !code ? Recognition.BY_CONTENT : Recognition.NO;
        }
        return TorchScriptReader.isPickle(probe) ? Recognition.BY_CONTENT : Recognition.NO;
    }

    @Override
    public Model read(Path path, ReadOptions options) {
        NetworkBuilder.Hints hints = new NetworkBuilder.Hints(flag(path, options, BATCH_FIRST), flag(path, options, LAST_STEP));
        try (TorchFile f = TorchFile.open(path)) {
            ModuleTree.Tree tree = ModuleTree.of(f.root, path);
            return NetworkBuilder.build(f, tree, hints).model();
        } catch (LstmxException e) {
            // IR records check what they are given; their messages do not know the file.
            throw e.getMessage() != null && e.getMessage().contains(path.toString()) ? e : e.withContext(path.toString());
        }
    }

    /** A hint's value: null when absent, else "true" or "false" (any case). */
    private static Boolean flag(Path path, ReadOptions options, String name) {
        String v = options == null ? null : options.hints().get(name);
        if (v == null) {
            return null;
        }
        if (v.equalsIgnoreCase("true")) {
            return true;
        }
        if (v.equalsIgnoreCase("false")) {
            return false;
        }
        throw LstmxException.badInput(path + ": read hint " + name + "=" + v + " must be true or false");
    }
}
