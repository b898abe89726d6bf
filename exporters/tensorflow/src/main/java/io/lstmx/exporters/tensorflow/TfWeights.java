package io.lstmx.exporters.tensorflow;

import com.google.protobuf.CodedOutputStream;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Tensor;
import io.lstmx.util.OverlappedOutputStream;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TType;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The constants of the top-level graph that hold a model's values (LSTM kernels and biases, Dense
 * weights, embedding tables, constant layers), in one of two ways:
 * <ul>
 * <li>{@link #inGraph()}: Const ops holding the values, as TensorFlow Java's {@code tf.constant} makes
 * them. TensorFlow then holds the values (and {@code Graph.toGraphDef()} hands back a Java copy of
 * all of them): fine for small graphs and for tests that compare against TensorFlow's own
 * serialisation.</li>
 * <li>{@link #streamed()}: while the graph is built, an {@code ImmutableConst} op of the same name,
 * dtype and shape stands in for each constant of more than one element, so that TensorFlow checks
 * and infers shapes as with the constant but never sees its values; {@link TfGraphDefStream} then
 * writes the node as the Const node TensorFlow would have written, its {@code tensor_content}
 * produced from the IR's tensors a slice at a time as the file is written. The writers use this
 * so that converting a model needs no second copy of its weights, in the Java heap or in
 * TensorFlow's (issue 9).</li>
 * </ul>
 * Constants of at most one element are always Const ops: TensorFlow writes their value in a typed
 * field ({@code float_val}, ...) rather than as {@code tensor_content}, and they are small.
 * No weight is a constant inside a function (a While loop body, whose name carries a hash of its
 * body, which a stand-in would change): {@link TfGraphBuilder} makes a loop's weights here, at the
 * top level, and passes them into the loop as loop variables.
 */
final class TfWeights {
    /** The {@code memory_region_name} of every stand-in, so that one is never taken for a real ImmutableConst. */
    static final String STAND_IN = "lstmx-streamed-constant";

    /** Stand-ins by node name, in creation order; null for {@link #inGraph()}. */
    private final Map<String, Values> streamed;

    private TfWeights(Map<String, Values> streamed) {
        this.streamed = streamed;
    }

    /** Every constant a Const op holding its values. */
    static TfWeights inGraph() {
        return new TfWeights(null);
    }

    /** Constants of more than one element as stand-ins whose values are written with the file. */
    static TfWeights streamed() {
        return new TfWeights(new LinkedHashMap<>());
    }

    /** The stand-ins made so far, by node name (empty for {@link #inGraph()}). */
    Map<String, Values> standIns() {
        return streamed == null ? Map.of() : Collections.unmodifiableMap(streamed);
    }

    /**
     * A constant holding {@code v}, named as {@code tf.constant} names one ("Const", "Const_1", ...:
     * both ways draw from the same name counter, so the graph's names do not depend on the way).
     */
    Operand constant(Ops tf, Values v) {
        if (streamed == null || v.count() <= 1) {
            return materialised(tf, v);
        }
        Operand o = tf.withName("Const").immutableConst(type(v.dtype()), Shape.of(v.shape()), STAND_IN);
        String name = o.op().name();
        if (streamed.put(name, v) != null) {
            throw LstmxException.internal("TensorFlow export: two constants named '" + name + "'");
        }
        return o;
    }

    /** A Const op holding the values, made as {@code tf.constant(Shape, DataBuffer)} makes it. */
    static Operand materialised(Ops tf, Values v) {
        Shape s = Shape.of(v.shape());
        int n = Math.toIntExact(v.count());
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(n, v.elementBytes())).order(ByteOrder.LITTLE_ENDIAN);
        try {
            v.writeTo(new Sink(b, null));
        } catch (IOException e) {
            throw new IllegalStateException(e); // no stream: cannot happen
        }
        b.flip();
        switch (v.dtype()) {
            case DT_FLOAT: {
                float[] f = new float[n];
                b.asFloatBuffer().get(f);
                return tf.constant(s, DataBuffers.of(f, true, false));
            }
            case DT_INT32: {
                int[] i = new int[n];
                b.asIntBuffer().get(i);
                return tf.constant(s, DataBuffers.of(i, true, false));
            }
            default: {
                long[] l = new long[n];
                b.asLongBuffer().get(l);
                return tf.constant(s, DataBuffers.of(l, true, false));
            }
        }
    }

    private static Class<? extends TType> type(DataType t) {
        switch (t) {
            case DT_FLOAT:
                return TFloat32.class;
            case DT_INT32:
                return TInt32.class;
            case DT_INT64:
                return TInt64.class;
            default:
                throw new IllegalArgumentException(t.toString());
        }
    }

    /**
     * The values of one constant: dtype, shape, and the values in row-major order as little-endian
     * bytes (what TensorFlow's {@code tensor_content} holds on a little-endian machine), produced on
     * demand into a {@link Sink} rather than held.
     */
    abstract static class Values {
        private final DataType dtype;
        private final long[] shape;

        Values(DataType dtype, long... shape) {
            this.dtype = dtype;
            this.shape = shape;
        }

        DataType dtype() {
            return dtype;
        }

        long[] shape() {
            return shape.clone();
        }

        long count() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        int elementBytes() {
            return dtype == DataType.DT_INT64 ? 8 : 4;
        }

        long byteCount() {
            return count() * elementBytes();
        }

        /** Puts all {@link #count()} values, in order, into {@code out}. */
        abstract void writeTo(Sink out) throws IOException;

        /**
         * A tensor as {@code tf.constant} was given it: floating tensors (half precision widened) as
         * float32, INT32 as int32, other integers as int64.
         */
        static Values of(Tensor t) {
            long[] shape = java.util.Arrays.stream(t.shape()).asLongStream().toArray();
            if (t.dtype().isFloating()) {
                return new Values(DataType.DT_FLOAT, shape) {
                    @Override
                    void writeTo(Sink out) throws IOException {
                        out.putFloats(t, 0, t.size());
                    }
                };
            }
            boolean int32 = t.dtype() == DType.INT32;
            return new Values(int32 ? DataType.DT_INT32 : DataType.DT_INT64, shape) {
                @Override
                void writeTo(Sink out) throws IOException {
                    int n = t.size();
                    for (int i = 0; i < n; i++) {
                        if (int32) {
                            out.putInt((int) t.getLong(i));
                        } else {
                            out.putLong(t.getLong(i));
                        }
                    }
                }
            };
        }

        /** A float vector (the caller hands the array over). */
        static Values floats(float[] f) {
            return new Values(DataType.DT_FLOAT, f.length) {
                @Override
                void writeTo(Sink out) throws IOException {
                    out.putFloats(f, 0, f.length);
                }
            };
        }

        /** A 2-D tensor [r, c] transposed: [c, r] (a Dense kernel as MatMul takes it). */
        static Values transposed(Tensor t) {
            return transposedRows(t, 0, t.dim(0));
        }

        /** Rows [i0, i1) of a 2-D tensor [r, c], transposed: [c, i1 - i0], made a few rows of the transpose at a time, never whole. */
        static Values transposedRows(Tensor t, int i0, int i1) {
            int c = t.dim(1);
            java.util.Objects.checkFromToIndex(i0, i1, t.dim(0));
            int r = i1 - i0;
            return new Values(DataType.DT_FLOAT, c, r) {
                @Override
                void writeTo(Sink out) throws IOException {
                    int rows = rowsPerBlock(r);
                    float[] block = new float[Math.multiplyExact(Math.min(rows, Math.max(c, 1)), r)];
                    for (int j = 0; j < c; j += rows) {
                        int jn = Math.min(c, j + rows);
                        t.transposeBlockInto(i0, i1, j, jn, block, 0, r);
                        out.putFloats(block, 0, (jn - j) * r);
                    }
                }
            };
        }

        /**
         * BlockLSTM's kernel [I + H, 4H]: W [4H, I] transposed above R [4H, H] transposed, the gate
         * blocks of each row in {@code order} (W and R in the IR's order). Made a few rows at a time,
         * never whole: each row of the transpose is a column of W or R, its gate blocks transposed
         * from W's or R's row blocks in {@code order}'s order.
         */
        static Values blockKernel(Tensor w, Tensor r, GateOrder order) {
            int g4 = w.dim(0);
            int in = w.dim(1);
            int hidden = r.dim(1);
            return new Values(DataType.DT_FLOAT, (long) in + hidden, g4) {
                @Override
                void writeTo(Sink out) throws IOException {
                    int rows = rowsPerBlock(g4);
                    float[] block = new float[Math.multiplyExact(Math.min(rows, Math.max(1, Math.max(in, hidden))), g4)];
                    columns(w, in, rows, block, out);
                    columns(r, hidden, rows, block, out);
                }

                private void columns(Tensor m, int cols, int rows, float[] block, Sink out) throws IOException {
                    for (int j = 0; j < cols; j += rows) {
                        int jn = Math.min(cols, j + rows);
                        order.transposeFromCanonical(m, j, jn, block, 0, g4); // the gates reordered on the way
                        out.putFloats(block, 0, (jn - j) * g4);
                    }
                }
            };
        }

        /**
         * How many rows of a transpose to make at a time: about 64 Ki values, and at least 64, so that
         * the transpose reads whole cache lines of each source row and visits each source page a few
         * times rather than once per row it makes (measured: 64 rows of [8192, 2048] take 2/3 of the
         * time 16 rows take).
         */
        static int rowsPerBlock(int width) {
            return Math.max(64, (1 << 16) / Math.max(1, width));
        }
    }

    /**
     * Little-endian bytes into a buffer. With no stream, the buffer is the destination (the caller
     * sized it for everything). Onto a stream ({@link #onto}), a full buffer is written by a second
     * thread while the caller fills the other one, so that making the values (transposing kernels)
     * and the operating system's copying them into the file overlap instead of taking turns; bytes
     * reach the stream in the order they were put. {@link #finish()} writes the rest; {@link
     * #close()} (always) waits for a write under way and ends the thread.
     */
    static final class Sink implements AutoCloseable {
        private ByteBuffer buf;
        /** The buffer the writer thread may be writing; filled next. */
        private ByteBuffer spare;
        private final OutputStream out;
        private final ExecutorService writer;
        private Future<?> pending;
        /** Bytes handed on to the stream so far. */
        private long flushed;

        Sink(ByteBuffer buf, OutputStream out) {
            this(buf, null, out);
        }

        private Sink(ByteBuffer buf, ByteBuffer spare, OutputStream out) {
            if (buf.order() != ByteOrder.LITTLE_ENDIAN || !buf.hasArray()) {
                throw new IllegalArgumentException("a little-endian heap buffer");
            }
            this.buf = buf;
            this.spare = spare;
            this.out = out;
            this.writer = spare == null ? null : Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "lstmx-tensorflow-file-writer");
                t.setDaemon(true);
                return t;
            });
        }

        /** A sink onto {@code out} with two buffers of {@code bytes}, written by a second thread. */
        static Sink onto(OutputStream out, int bytes) {
            return new Sink(ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN),
                    ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN), out);
        }

        private void room(int bytes) throws IOException {
            if (buf.remaining() < bytes) {
                flush();
                if (buf.remaining() < bytes) {
                    throw new IllegalStateException("a sink of " + buf.capacity() + " bytes is full");
                }
            }
        }

        void putBytes(byte[] b) throws IOException {
            if (b.length > buf.remaining()) {
                flush();
                if (out != null && b.length > buf.remaining()) {
                    awaitPending(); // in order: after what went before
                    out.write(b);
                    flushed += b.length;
                    return;
                }
            }
            room(b.length);
            buf.put(b);
        }

        /** Puts a message's bytes, a buffer at a time (protobuf's writer into a view of this sink). */
        void putMessage(com.google.protobuf.MessageLite m) throws IOException {
            OutputStream view = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    room(1);
                    buf.put((byte) b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    while (len > 0) {
                        room(1);
                        int k = Math.min(len, buf.remaining());
                        buf.put(b, off, k);
                        off += k;
                        len -= k;
                    }
                }
            };
            CodedOutputStream c = CodedOutputStream.newInstance(view, 1 << 16);
            m.writeTo(c);
            c.flush();
        }

        void putInt(int v) throws IOException {
            room(4);
            buf.putInt(v);
        }

        void putLong(long v) throws IOException {
            room(8);
            buf.putLong(v);
        }

        void putFloats(float[] a, int off, int n) throws IOException {
            while (n > 0) {
                room(4);
                int k = Math.min(n, buf.remaining() / 4);
                buf.asFloatBuffer().put(a, off, k);
                buf.position(buf.position() + 4 * k);
                off += k;
                n -= k;
            }
        }

        void putFloats(Tensor t, int from, int n) throws IOException {
            while (n > 0) {
                room(4);
                int k = Math.min(n, buf.remaining() / 4);
                t.putFloats(from, k, buf.asFloatBuffer());
                buf.position(buf.position() + 4 * k);
                from += k;
                n -= k;
            }
        }

        /** Bytes put so far. */
        long count() {
            return flushed + buf.position();
        }

        /**
         * Puts {@code v}'s values, checking that they are as many bytes as its dtype and shape say
         * (the lengths written before them in the file were computed from those).
         */
        void putCounted(TfWeights.Values v) throws IOException {
            long start = count();
            v.writeTo(this);
            if (count() - start != v.byteCount()) {
                throw new IllegalStateException("a constant of " + v.byteCount() + " bytes gave " + (count() - start));
            }
        }

        /** Hands what the buffer holds on to the stream (nothing without one) and goes on in the other buffer. */
        void flush() throws IOException {
            if (out == null || buf.position() == 0) {
                return;
            }
            if (writer == null) {
                out.write(buf.array(), buf.arrayOffset(), buf.position());
                flushed += buf.position();
                buf.clear();
                return;
            }
            awaitPending(); // the spare buffer is free again
            ByteBuffer full = buf;
            int n = full.position();
            pending = writer.submit(() -> {
                out.write(full.array(), full.arrayOffset(), n);
                return null;
            });
            flushed += n;
            buf = spare;
            buf.clear();
            spare = full;
        }

        /** Writes everything put so far into the stream, and waits until it is there. */
        void finish() throws IOException {
            flush();
            awaitPending();
        }

        private void awaitPending() throws IOException {
            Future<?> p = pending;
            pending = null;
            OverlappedOutputStream.await(p);
        }

        /**
         * Ends the writer thread, after the write under way if any (the caller closes the stream
         * next, which must not happen under it); what was not {@link #finish() finished} is dropped.
         */
        @Override
        public void close() {
            if (writer == null) {
                return;
            }
            OverlappedOutputStream.endWriter(pending, writer);
            pending = null;
        }
    }
}
