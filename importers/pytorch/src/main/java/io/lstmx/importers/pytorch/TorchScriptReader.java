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
 * Reader plug-in for TorchScript archives. The format is recognised (so that users learn what their file is) but not read
 * yet: {@link #read} refuses with UNSUPPORTED until the importer lands in this module.
 */
public final class TorchScriptReader implements FormatReader {
    @Override
    public Format format() {
        return Format.TORCHSCRIPT;
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        // torch.jit.save archives hold "<name>/code/..." and "<name>/constants.pkl" beside data.pkl.
        if (probe.isRegularFile() && probe.zipEntryNames().stream().anyMatch(TorchScriptReader::isScriptEntry)) {
            return Recognition.BY_CONTENT;
        }
        return Format.TORCHSCRIPT.extensions().contains(probe.extension()) && !probe.isZip() && !isPickle(probe)
                ? Recognition.BY_NAME : Recognition.NO;
    }

    /**
     * Whether a zip entry belongs only to TorchScript archives: code/ or constants.pkl, under the
     * archive's folder or, like the data.pkl the state_dict reader also accepts there, at the top.
     */
    static boolean isScriptEntry(String name) {
        return name.startsWith("code/") || name.contains("/code/") || name.equals("constants.pkl") || name.endsWith("/constants.pkl");
    }

    static boolean isPickle(FileProbe probe) {
        byte[] h = probe.head();
        return h.length >= 2 && (h[0] & 0xff) == 0x80 && h[1] >= 2 && h[1] <= 5;
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
