package io.lstmx.exporters.tensorflow;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.lstmx.errors.LstmxException;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A GraphDef written as protobuf bytes without ever being whole in memory: the graph TensorFlow
 * made with {@link TfWeights#streamed() stand-ins} for its constants (small: no values), each
 * stand-in written as the Const node TensorFlow writes for a constant of more than one element
 * ({@code op: "Const"}, attrs {@code dtype} and {@code value} = a TensorProto with dtype, shape
 * and {@code tensor_content}), the content produced from the IR as it goes into the file. A
 * protobuf message is its fields, each a tag and, for a message or bytes, a length and the bytes,
 * so the writer only needs every length before the bytes, which it computes from the shapes.
 *
 * <p>Fields come in field-number order within each message, as protobuf's own serialisers write
 * them, except that a Const node's {@code value} attr is its last field, after {@code dtype} (a
 * map's entries may come in any order, and TensorFlow's own order varies from node to node; a
 * parser takes fields in any order).
 */
final class TfGraphDefStream {
    /** protobuf's limit for one message, and so TensorFlow's for a GraphDef. */
    static final long MAX_BYTES = Integer.MAX_VALUE;

    /**
     * The message's bytes in order: byte[] parts, the values of the constants between them, and
     * the GraphDef's fields after its nodes as a message (written through the sink, never whole as
     * bytes: a While loop's function bodies hold their constants).
     */
    private final List<Object> parts = new ArrayList<>();
    private final long size;
    /** The file, for messages. */
    private final String what;

    /**
     * {@code shell} with each node named in {@code standIns} written as the Const node holding its
     * values; {@code what} names the file in messages.
     */
    TfGraphDefStream(GraphDef shell, Map<String, TfWeights.Values> standIns, String what) {
        this.what = what;
        long n = 0;
        Set<String> seen = new HashSet<>();
        for (NodeDef node : shell.getNodeList()) {
            TfWeights.Values v = standIns.get(node.getName());
            if (v == null) {
                if (node.getOp().equals("ImmutableConst")
                        && TfWeights.STAND_IN.equals(node.getAttrOrDefault("memory_region_name", AttrValue.getDefaultInstance()).getS().toStringUtf8())) {
                    throw LstmxException.internal("TensorFlow export: no values for the constant '" + node.getName() + "'");
                }
                byte[] b = field(GraphDef.NODE_FIELD_NUMBER, node.toByteArray());
                parts.add(b);
                n += b.length;
                continue;
            }
            if (!node.getOp().equals("ImmutableConst") || !seen.add(node.getName())) {
                throw LstmxException.internal("TensorFlow export: the node '" + node.getName() + "' (" + node.getOp() + ") is not a constant's stand-in");
            }
            n += constNode(node, v);
        }
        GraphDef rest = shell.toBuilder().clearNode().build(); // library, versions: the fields after node
        parts.add(rest);
        n += rest.getSerializedSize();
        if (n > MAX_BYTES) {
            throw LstmxException.unsupported(what + ": the graph would be " + n + " bytes; TensorFlow reads a GraphDef of at most 2 GiB");
        }
        this.size = n;
    }

    /** The GraphDef's size in bytes. */
    long size() {
        return size;
    }

    /** Adds the parts of the Const node for stand-in {@code node}; returns their size. */
    private long constNode(NodeDef node, TfWeights.Values v) {
        NodeDef head = node.toBuilder()
                .setOp("Const")
                .clearAttr()
                .putAttr("dtype", AttrValue.newBuilder().setType(v.dtype()).build())
                .build();
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : v.shape()) {
            shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
        }
        byte[] tensorHead = TensorProto.newBuilder().setDtype(v.dtype()).setTensorShape(shape).build().toByteArray();
        long content = v.byteCount();
        // lengths from the inside out: TensorProto, AttrValue, the attr map entry, the NodeDef
        long tensorLen = tensorHead.length + fieldHeadSize(TensorProto.TENSOR_CONTENT_FIELD_NUMBER, content) + content;
        long attrLen = fieldHeadSize(AttrValue.TENSOR_FIELD_NUMBER, tensorLen) + tensorLen;
        byte[] key = field(1, "value".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        long entryLen = key.length + fieldHeadSize(2, attrLen) + attrLen;
        byte[] headBytes = head.toByteArray();
        long nodeLen = headBytes.length + fieldHeadSize(NodeDef.ATTR_FIELD_NUMBER, entryLen) + entryLen;
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            CodedOutputStream c = CodedOutputStream.newInstance(b);
            fieldHead(c, GraphDef.NODE_FIELD_NUMBER, nodeLen);
            c.writeRawBytes(headBytes);
            fieldHead(c, NodeDef.ATTR_FIELD_NUMBER, entryLen);
            c.writeRawBytes(key);
            fieldHead(c, 2, attrLen);
            fieldHead(c, AttrValue.TENSOR_FIELD_NUMBER, tensorLen);
            c.writeRawBytes(tensorHead);
            fieldHead(c, TensorProto.TENSOR_CONTENT_FIELD_NUMBER, content);
            c.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e); // a byte array: cannot happen
        }
        byte[] prefix = b.toByteArray();
        parts.add(prefix);
        parts.add(v);
        return prefix.length + content;
    }

    /** Writes the GraphDef's bytes. */
    void writeTo(TfWeights.Sink out) throws IOException {
        for (Object p : parts) {
            if (p instanceof byte[] b) {
                out.putBytes(b);
            } else if (p instanceof GraphDef rest) {
                out.putMessage(rest);
            } else {
                TfWeights.Values v = (TfWeights.Values) p;
                out.putCounted(v);
            }
        }
    }

    /**
     * Writes a SavedModel ({@code saved_model.pb}) whose one MetaGraphDef is {@code meta} with this
     * GraphDef as its {@code graph_def}.
     */
    void writeSavedModel(MetaGraphDef meta, TfWeights.Sink out) throws IOException {
        if (meta.hasGraphDef()) {
            throw new IllegalArgumentException("the MetaGraphDef's graph is this one");
        }
        // meta_info_def (1) before graph_def (2), the others after
        byte[] before = MetaGraphDef.newBuilder().setMetaInfoDef(meta.getMetaInfoDef()).build().toByteArray();
        byte[] after = meta.toBuilder().clearMetaInfoDef().build().toByteArray();
        long metaLen = before.length + fieldHeadSize(MetaGraphDef.GRAPH_DEF_FIELD_NUMBER, size) + size + after.length;
        if (metaLen > MAX_BYTES) {
            throw LstmxException.unsupported(what + ": the SavedModel would be " + metaLen + " bytes; TensorFlow reads one of at most 2 GiB");
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        CodedOutputStream c = CodedOutputStream.newInstance(b);
        fieldHead(c, org.tensorflow.proto.SavedModel.META_GRAPHS_FIELD_NUMBER, metaLen);
        c.writeRawBytes(before);
        fieldHead(c, MetaGraphDef.GRAPH_DEF_FIELD_NUMBER, size);
        c.flush();
        out.putBytes(b.toByteArray());
        writeTo(out);
        out.putBytes(after);
    }

    /** A length-delimited field: tag, length, bytes. */
    private static byte[] field(int number, byte[] bytes) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(bytes.length + 10);
        try {
            CodedOutputStream c = CodedOutputStream.newInstance(b);
            fieldHead(c, number, bytes.length);
            c.writeRawBytes(bytes);
            c.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return b.toByteArray();
    }

    private static void fieldHead(CodedOutputStream c, int number, long length) throws IOException {
        c.writeTag(number, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        c.writeUInt64NoTag(length);
    }

    private static int fieldHeadSize(int number, long length) {
        return CodedOutputStream.computeTagSize(number) + CodedOutputStream.computeUInt64SizeNoTag(length);
    }
}
