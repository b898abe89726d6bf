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
 * Reader plug-in for torch.save files (state_dicts and pickled modules, zip and legacy). The format is recognised (so that users learn what their file is) but not read
 * yet: {@link #read} refuses with UNSUPPORTED until the importer lands in this module.
 */
public final class StateDictReader implements FormatReader {
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
    public boolean available() {
        return false;
    }

    @Override
    public Model read(Path path, ReadOptions options) {
        throw LstmxException.unsupported(path + ": reading " + format().id() + " is not available yet");
    }
}
