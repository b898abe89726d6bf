package io.lstmx.exporters.onnx;

import io.lstmx.errors.LstmxException;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
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
    static long initializerBytes(ModelProto proto) {
        long total = 0;
        for (TensorProto t : proto.getGraph().getInitializerList()) {
            total += t.getRawData().size();
        }
        return total;
    }

    /**
     * Returns {@code proto} unchanged when its initializers fit under {@code limit} bytes; otherwise
     * writes the large initializers' bytes to {@code modelPath + ".data"} (atomically) and returns the
     * model that refers to them.
     */
    static ModelProto externalizeIfNeeded(ModelProto proto, Path modelPath, long limit) {
        if (initializerBytes(proto) <= limit) {
            return proto;
        }
        String dataName = modelPath.getFileName() + ".data";
        Path dataPath = modelPath.resolveSibling(dataName);
        GraphProto.Builder g = proto.getGraph().toBuilder();
        List<TensorProto> moved = new ArrayList<>();
        List<Integer> movedIndex = new ArrayList<>();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getRawData().size() >= MIN_EXTERNAL_BYTES) {
                moved.add(t);
                movedIndex.add(i);
            }
        }
        long[] offsets = new long[moved.size()];
        AtomicFiles.write(dataPath, out -> {
            long pos = 0;
            byte[] pad = new byte[ALIGN];
            for (int k = 0; k < moved.size(); k++) {
                long aligned = (pos + ALIGN - 1) / ALIGN * ALIGN;
                out.write(pad, 0, (int) (aligned - pos));
                offsets[k] = aligned;
                moved.get(k).getRawData().writeTo(out);
                pos = aligned + moved.get(k).getRawData().size();
            }
        });
        for (int k = 0; k < moved.size(); k++) {
            TensorProto t = moved.get(k);
            g.setInitializer(movedIndex.get(k), t.toBuilder().clearRawData()
                    .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(entry("location", dataName))
                    .addExternalData(entry("offset", Long.toString(offsets[k])))
                    .addExternalData(entry("length", Integer.toString(t.getRawData().size())))
                    .build());
        }
        ModelProto out = proto.toBuilder().setGraph(g).build();
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
