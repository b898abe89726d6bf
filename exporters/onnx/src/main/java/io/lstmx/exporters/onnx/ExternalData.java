package io.lstmx.exporters.onnx;

import io.lstmx.errors.LstmxException;
import io.lstmx.onnx.proto.Onnx.StringStringEntryProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.util.AtomicFiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Moves the weights of a model too large for one protobuf message into an external data file, as the
 * ONNX specification provides: a protobuf message cannot exceed 2 GiB, so a model whose initializers
 * add up to more is written as {@code NAME.onnx} (the graph, small) plus {@code NAME.onnx.data} (the
 * bytes of every initializer of at least {@link #MIN_EXTERNAL_BYTES}), each such tensor then saying
 * {@code data_location: EXTERNAL} with its {@code location}, {@code offset} and {@code length}.
 * Offsets are aligned to 4 KiB so that engines may map the file.
 */
final class ExternalData {
    /** Largest serialized model written in one piece: protobuf's 2 GiB limit less room for the graph itself. */
    static final long DEFAULT_LIMIT = Integer.MAX_VALUE - (64L << 20);
    /** Tensors smaller than this stay inside the model (as onnx.save_model's size_threshold). */
    static final int MIN_EXTERNAL_BYTES = 1024;
    private static final int ALIGN = 4096;

    private ExternalData() {
    }

    /** Bytes the initializers' data take (raw_data only: the exporter writes nothing else), as a long. */
    static long initializerBytes(List<StreamedModel.Initializer> inits) {
        long total = 0;
        for (StreamedModel.Initializer t : inits) {
            total += t.data() == null ? 0 : t.data().size();
        }
        return total;
    }

    /**
     * Returns {@code inits} unchanged when their data fit under {@code limit} bytes; otherwise
     * writes the large initializers' bytes to {@code modelPath + ".data"} (atomically), streamed from
     * the model's tensors, and returns the initializers that refer to them.
     */
    static List<StreamedModel.Initializer> externalizeIfNeeded(List<StreamedModel.Initializer> inits, Path modelPath, long limit) {
        if (initializerBytes(inits) <= limit) {
            return inits;
        }
        String dataName = modelPath.getFileName() + ".data";
        Path dataPath = modelPath.resolveSibling(dataName);
        List<Integer> movedIndex = new ArrayList<>();
        for (int i = 0; i < inits.size(); i++) {
            StreamedModel.Initializer t = inits.get(i);
            if (t.data() != null && t.data().size() >= MIN_EXTERNAL_BYTES) {
                movedIndex.add(i);
            }
        }
        long[] offsets = new long[movedIndex.size()];
        AtomicFiles.write(dataPath, out -> {
            long pos = 0;
            byte[] pad = new byte[ALIGN];
            for (int k = 0; k < movedIndex.size(); k++) {
                StreamedModel.RawData data = inits.get(movedIndex.get(k)).data();
                long aligned = (pos + ALIGN - 1) / ALIGN * ALIGN;
                out.write(pad, 0, (int) (aligned - pos));
                offsets[k] = aligned;
                data.writeTo(out);
                pos = aligned + data.size();
            }
        });
        List<StreamedModel.Initializer> out = new ArrayList<>(inits);
        for (int k = 0; k < movedIndex.size(); k++) {
            StreamedModel.Initializer t = inits.get(movedIndex.get(k));
            out.set(movedIndex.get(k), new StreamedModel.Initializer(t.header().toBuilder().clearRawData()
                    .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", dataName))
                    .addExternalData(entry("offset", Long.toString(offsets[k])))
                    .addExternalData(entry("length", Long.toString(t.data().size())))
                    .build(), null));
        }
        if (initializerBytes(out) > limit) {
            throw LstmxException.unsupported(modelPath + ": even with its large tensors in " + dataName
                    + ", the model's small tensors exceed " + limit + " bytes");
        }
        return out;
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }
}
