package io.lstmx.importers.keras;

import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatReader;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.Recognition;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/**
 * Reader plug-in for Keras HDF5 files (.h5): Keras 2's and Keras 3's legacy h5 writer, read in pure
 * Java (the config JSON from attribute {@code model_config}, the weights through jHDF). See
 * {@link KerasImporter} for the layout and {@link Converters} for the layers.
 */
public final class KerasH5Reader implements FormatReader {
    /** Reads keras-h5 files. */
    public KerasH5Reader() {
    }

    @Override
    public Format format() {
        return Format.KERAS_H5;
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        if (probe.isRegularFile() && probe.startsWith(HDF5_MAGIC)) {
            return Recognition.BY_CONTENT;
        }
        return probe.isRegularFile() && Format.KERAS_H5.extensions().contains(probe.extension()) ? Recognition.BY_NAME : Recognition.NO;
    }

    @Override
    public Model read(Path path, ReadOptions options) {
        return KerasImporter.readH5(path);
    }

    private static final byte[] HDF5_MAGIC = {(byte) 0x89, (byte) 0x48, (byte) 0x44, (byte) 0x46, (byte) 0x0d, (byte) 0x0a, (byte) 0x1a, (byte) 0x0a};
}
