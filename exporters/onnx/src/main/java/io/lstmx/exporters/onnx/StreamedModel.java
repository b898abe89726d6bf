package io.lstmx.exporters.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.WireFormat;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

/**
 * Writes a ModelProto whose initializers' raw_data is streamed from the model's tensors rather than
 * held as bytes (issue 9: converting a 100-million-parameter model must not hold its weights twice).
 * The bytes are exactly those protobuf's own serialization of the complete ModelProto gives: protobuf
 * writes the fields of a message in field-number order, so a message is its fields below the
 * streamed one, then the streamed field, then the fields above it; every length is computed before
 * anything is written.
 */
final class StreamedModel {
    private static final int CHUNK = 1 << 16;

    private StreamedModel() {
    }

    /**
     * One initializer: its TensorProto without raw_data ({@code header}: name, dims, data_type, and
     * the external-data entries once moved out), and the raw_data bytes, produced when written
     * ({@code data}; null when the header says everything, as for a tensor in an external file).
     */
    record Initializer(TensorProto header, RawData data) {
        /** The complete TensorProto, raw_data materialised (for tests and callers that embed the proto). */
        TensorProto toProto() {
            return data == null ? header : header.toBuilder().setRawData(data.toByteString()).build();
        }

        /** Serialized size of {@link #toProto()}, without materialising it. */
        long serializedSize() {
            long size = header.getSerializedSize();
            if (data != null) {
                size += bytesFieldSize(TensorProto.RAW_DATA_FIELD_NUMBER, data.size());
            }
            return size;
        }

        /** Writes {@link #toProto()}'s serialization. */
        void writeTo(CodedOutputStream out, OutputStream raw) throws IOException {
            if (data == null) {
                header.writeTo(out);
                return;
            }
            Message[] parts = split(header, TensorProto.RAW_DATA_FIELD_NUMBER);
            parts[0].writeTo(out);
            out.writeTag(TensorProto.RAW_DATA_FIELD_NUMBER, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            out.writeUInt32NoTag(checkedInt(data.size()));
            out.flush();
            data.writeTo(raw);
            parts[1].writeTo(out);
        }
    }

    /** The bytes of a raw_data field, produced on demand. */
    interface RawData {
        long size();

        /** Writes exactly {@link #size()} bytes. */
        void writeTo(OutputStream out) throws IOException;

        /** The bytes, in memory. */
        ByteString toByteString();

        /** Bytes already made (small tensors of other element types). */
        static RawData of(ByteString bytes) {
            return new RawData() {
                @Override
                public long size() {
                    return bytes.size();
                }

                @Override
                public void writeTo(OutputStream out) throws IOException {
                    bytes.writeTo(out);
                }

                @Override
                public ByteString toByteString() {
                    return bytes;
                }
            };
        }
    }

    /** A run of {@code count} values of {@code tensor} from flat index {@code from}. */
    record Run(Tensor tensor, int from, int count) {
        Run {
            java.util.Objects.checkFromIndexSize(from, count, tensor.size());
        }

        static Run whole(Tensor t) {
            return new Run(t, 0, t.size());
        }
    }

    /**
     * float32 little-endian bytes of consecutive runs of tensors' values: a whole tensor, or the gate
     * blocks of canonical weights in another format's order, read where they are (no copy of the
     * weights is made to write them).
     */
    static RawData floats(List<Run> runs) {
        long n = 0;
        for (Run r : runs) {
            n += r.count();
        }
        long bytes = 4 * n;
        return new RawData() {
            @Override
            public long size() {
                return bytes;
            }

            @Override
            public void writeTo(OutputStream out) throws IOException {
                ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
                FloatBuffer fb = buf.asFloatBuffer();
                for (Run r : runs) {
                    for (int i = 0; i < r.count(); ) {
                        int m = Math.min(r.count() - i, CHUNK / 4);
                        fb.clear();
                        r.tensor().putFloats(r.from() + i, m, fb);
                        out.write(buf.array(), 0, 4 * m);
                        i += m;
                    }
                }
            }

            @Override
            public ByteString toByteString() {
                byte[] b = new byte[checkedInt(bytes)];
                FloatBuffer fb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                for (Run r : runs) {
                    r.tensor().putFloats(r.from(), r.count(), fb);
                }
                return UnsafeByteOperations.unsafeWrap(b); // b is ours alone and never written again
            }
        };
    }

    /**
     * Writes {@code skeleton} (a ModelProto whose graph has no initializers) with {@code inits} as
     * its graph's initializers, as {@code skeleton} with them added would serialize.
     */
    static void write(ModelProto skeleton, List<Initializer> inits, OutputStream out) throws IOException {
        if (skeleton.getGraph().getInitializerCount() != 0) {
            throw new IllegalArgumentException("the skeleton's graph has initializers");
        }
        Message[] model = split(skeleton, ModelProto.GRAPH_FIELD_NUMBER);
        Message[] graph = split(skeleton.getGraph(), GraphProto.INITIALIZER_FIELD_NUMBER);
        long graphSize = graph[0].getSerializedSize() + (long) graph[1].getSerializedSize();
        long[] sizes = new long[inits.size()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = inits.get(i).serializedSize();
            graphSize += bytesFieldSize(GraphProto.INITIALIZER_FIELD_NUMBER, sizes[i]);
        }
        long total = model[0].getSerializedSize() + model[1].getSerializedSize() + bytesFieldSize(ModelProto.GRAPH_FIELD_NUMBER, graphSize);
        if (total > Integer.MAX_VALUE) {
            // protobuf's limit for one message (ExternalData keeps models under it); readers refuse more
            throw LstmxException.unsupported("the ONNX model would have " + total + " bytes, more than a protobuf message can hold");
        }
        CodedOutputStream cos = CodedOutputStream.newInstance(out, CHUNK);
        model[0].writeTo(cos);
        if (skeleton.hasGraph()) {
            cos.writeTag(ModelProto.GRAPH_FIELD_NUMBER, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            cos.writeUInt32NoTag((int) graphSize);
            graph[0].writeTo(cos);
            for (int i = 0; i < sizes.length; i++) {
                cos.writeTag(GraphProto.INITIALIZER_FIELD_NUMBER, WireFormat.WIRETYPE_LENGTH_DELIMITED);
                cos.writeUInt32NoTag((int) sizes[i]);
                inits.get(i).writeTo(cos, out);
            }
            graph[1].writeTo(cos);
        }
        model[1].writeTo(cos);
        cos.flush();
    }

    /**
     * {@code m} as two messages: its fields numbered below {@code field}, and those above it with
     * its unknown fields (which protobuf writes last). Their serializations around that of field
     * {@code field} are the serialization of {@code m}.
     */
    static Message[] split(Message m, int field) {
        Message.Builder low = m.newBuilderForType();
        Message.Builder high = m.toBuilder();
        for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
            FieldDescriptor f = e.getKey();
            if (f.getNumber() < field) {
                low.setField(f, e.getValue());
            }
            if (f.getNumber() <= field) {
                high.clearField(f);
            }
        }
        return new Message[] {low.build(), high.build()};
    }

    /** Bytes a length-delimited field of {@code length} bytes takes: tag, length and content. */
    static long bytesFieldSize(int field, long length) {
        return CodedOutputStream.computeTagSize(field) + CodedOutputStream.computeUInt64SizeNoTag(length) + length;
    }

    private static int checkedInt(long n) {
        if (n > Integer.MAX_VALUE) {
            throw LstmxException.unsupported("a tensor of " + n + " bytes does not fit one protobuf bytes field");
        }
        return (int) n;
    }
}
