package io.lstmx.importers.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.lstmx.errors.LstmxException;
import io.lstmx.importers.onnx.ops.GraphConverter;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx.ModelProto;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/** Reads an ONNX file (a serialized ModelProto) into the IR. */
public final class OnnxImporter {
    /** Protobuf messages cannot exceed 2 GiB; larger models keep their weights as external data. */
    static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8L;

    private OnnxImporter() {
    }

    /**
     * Imports {@code file}; graph inputs named in {@code constantInputs} are treated as constants
     * with the given values (for models that take their weights as inputs).
     */
    public static Model load(Path file, Map<String, Tensor> constantInputs) {
        ModelProto model = parse(file);
        Path dir = file.toAbsolutePath().getParent();
        return GraphConverter.convert(model, file.toString(), dir, constantInputs == null ? Map.of() : constantInputs);
    }

    /** True when {@code file} parses as a ModelProto with an ir_version and a graph. */
    public static boolean looksLikeOnnx(Path file) {
        try {
            parse(file);
            return true;
        } catch (LstmxException e) {
            return false;
        }
    }

    static ModelProto parse(Path file) {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw LstmxException.badInput(file + ": no such file");
        } catch (IOException e) {
            throw LstmxException.badInput(file + ": cannot read: " + io.lstmx.util.IoErrors.describe(e));
        }
        if (Files.isDirectory(file)) {
            throw invalid(file, "it is a directory");
        }
        if (size == 0) {
            throw invalid(file, "the file is empty");
        }
        if (size > MAX_FILE_BYTES) {
            throw invalid(file, "the file has " + size + " bytes, more than a protobuf message can hold");
        }
        ModelProto model;
        // The file is mapped, not read into the heap, and parsed with aliasing: raw_data fields are
        // views of the mapping, so the only heap copy of the weights is the float arrays the
        // importer makes from them (issue 9: converting costs little more than reading the bytes).
        // Protobuf aliases only buffers it is told are immutable, which CodedInputStream.newInstance
        // (ByteBuffer) does not say: it would copy every raw_data into the heap. A ByteString
        // wrapping the read-only mapping does (NioByteString.newCodedInput).
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
            java.nio.MappedByteBuffer mapped = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, size);
            CodedInputStream cis = UnsafeByteOperations.unsafeWrap(mapped).newCodedInput();
            cis.enableAliasing(true);
            cis.setSizeLimit(Integer.MAX_VALUE);
            model = ModelProto.parseFrom(cis);
            cis.checkLastTagWas(0);
        } catch (InvalidProtocolBufferException e) {
            throw invalid(file, String.valueOf(e.getMessage()).strip());
        } catch (IOException e) {
            throw LstmxException.badInput(file + ": cannot read: " + io.lstmx.util.IoErrors.describe(e));
        } catch (RuntimeException e) {
            // protobuf reports some malformed inputs (e.g. invalid UTF-8 in strings) this way
            throw invalid(file, e.getClass().getSimpleName() + " " + Objects.toString(e.getMessage(), "").strip());
        }
        if (!model.hasIrVersion() || model.getIrVersion() <= 0) {
            throw invalid(file, "it has no ir_version");
        }
        if (!model.hasGraph()) {
            throw invalid(file, "it has no graph");
        }
        if (model.getGraph().getOutputCount() == 0) {
            throw invalid(file, "its graph has no outputs");
        }
        return model;
    }

    /** The exception quotes protobuf's message, which may span lines; LstmxException makes it one. */
    private static LstmxException invalid(Path file, String why) {
        return LstmxException.badInput(file + ": not a valid ONNX model: " + why);
    }
}
