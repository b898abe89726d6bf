package io.lstmx.importers.onnx;

import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatReader;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.Recognition;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/** The ONNX format's reader plug-in (see {@link OnnxImporter}). */
public final class OnnxReader implements FormatReader {
    @Override
    public Format format() {
        return Format.ONNX;
    }

    /**
     * An ONNX file is a ModelProto, whose writers (onnx, PyTorch, tf2onnx, onnxruntime) all put
     * field 1, {@code ir_version}, first: the bytes 0x08 and a varint 3..31. (A SavedModel's
     * saved_model.pb also starts with field 1, but its schema version is 1.) Otherwise the name.
     */
    @Override
    public Recognition recognise(FileProbe probe) {
        if (!probe.isRegularFile()) {
            return Recognition.NO;
        }
        byte[] h = probe.head();
        if (h.length >= 4 && h[0] == 0x08 && h[1] >= 3 && h[1] <= 31 && isModelField(h[2])) {
            return Recognition.BY_CONTENT;
        }
        return probe.extension().equals("onnx") ? Recognition.BY_NAME : Recognition.NO;
    }

    /** Tags of ModelProto's length-delimited or varint fields 2..8 that follow ir_version. */
    private static boolean isModelField(byte tag) {
        return tag == 0x12 || tag == 0x1a || tag == 0x22 || tag == 0x28 || tag == 0x32 || tag == 0x3a || tag == 0x42;
    }

    @Override
    public Model read(Path path, ReadOptions options) {
        return OnnxImporter.load(path, options.constantInputs());
    }
}
