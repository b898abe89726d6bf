package io.lstmx.exporters.keras;

import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * A Keras model as lstmx writes it: layers in call order (each called once), their configs and
 * weights, the inputs and outputs. Built by {@link KerasBuilder}, written by {@link KerasFiles}.
 */
final class KerasModel {
    /** A reference to one output of a layer; recurrent outputs are resolved once their flags are known. */
    static final class Ref {
        final KLayer layer;
        final String kind;
        int index;

        Ref(KLayer layer, String kind, int index) {
            this.layer = layer;
            this.kind = kind;
            this.index = index;
        }
    }

    /** A Keras tensor: a layer output and its shape (batch first, -1 unknown). */
    record KT(Ref ref, long[] shape, String dtype) {
        int rank() {
            return shape.length;
        }
    }

    /**
     * A weight: its Keras name (kernel, recurrent_kernel, bias, embeddings), the object path below
     * the layer in a .keras file ("" for the layer itself, "cell", "forward_layer/cell" ...), the
     * legacy .h5 name below the model ("lstm/lstm_cell/kernel"), its shape and values (produced
     * when the file is written: see {@link #of} and {@link #transposed}).
     */
    record Weight(String name, String objectPath, String legacyPath, int[] shape, H5Writer.Values values) {
    }

    /** A tensor's values as they are, read when the file is written (no copy). */
    static H5Writer.Values of(io.lstmx.ir.Tensor t) {
        return new H5Writer.Values() {
            @Override
            public long count() {
                return t.size();
            }

            @Override
            public void get(long from, int n, java.nio.FloatBuffer dst) {
                t.putFloats((int) from, n, dst);
            }
        };
    }

    /**
     * The values of 2-D {@code t} [r, c] transposed ([c, r]: Keras holds kernels as [in, out]),
     * produced when the file is written a block of rows at a time from the tensor, so that writing
     * a model never holds its kernels twice (issue 9). A block is at least 16 rows of the
     * transpose (16 source columns: every source cache line read is used whole) and about 2^20
     * values; it is kept until the writer has taken it, over several {@link H5Writer.Values#get}
     * calls. (Blocks of one chunk, 8 rows of a [8192, 2048] kernel, read each source line twice
     * and walked 8192 pages per chunk.)
     */
    static H5Writer.Values transposed(io.lstmx.ir.Tensor t) {
        return transposed(t, null);
    }

    /**
     * As {@link #transposed(io.lstmx.ir.Tensor)}, for a GRU weight in the IR's gate order, its gate
     * blocks put in {@code order} on the way (null: as they are), so that it is never copied whole.
     */
    static H5Writer.Values transposed(io.lstmx.ir.Tensor t, io.lstmx.ir.GateOrder.Gru order) {
        int r = t.dim(0);
        int c = t.dim(1);
        int perBlock = Math.min(Math.max(1, c), Math.max(16, (1 << 20) / Math.max(1, r)));
        return new H5Writer.Values() {
            /** Rows [blockJ0, blockJ1) of the transpose, kept between calls (a file is written by one thread). */
            private float[] block;
            private int blockJ0 = -1;
            private int blockJ1 = -1;

            @Override
            public long count() {
                return (long) r * c;
            }

            @Override
            public void get(long from, int n, java.nio.FloatBuffer dst) {
                long end = from + n;
                for (long at = from; at < end; ) {
                    int j = (int) (at / r);
                    if (j < blockJ0 || j >= blockJ1) {
                        fill(j / perBlock * perBlock);
                    }
                    long blockStart = (long) blockJ0 * r;
                    long upTo = Math.min(end, (long) blockJ1 * r);
                    dst.put(block, (int) (at - blockStart), (int) (upTo - at));
                    at = upTo;
                }
            }

            private void fill(int j0) {
                int j1 = Math.min(c, j0 + perBlock);
                if (block == null) {
                    block = new float[Math.multiplyExact(perBlock, r)];
                }
                if (order == null) {
                    t.transposeColumnsInto(j0, j1, block, 0, r);
                } else {
                    order.transposeFromCanonical(t, j0, j1, block, 0, r);
                }
                blockJ0 = j0;
                blockJ1 = j1;
            }
        };
    }

    /** A layer and its one call. */
    static final class KLayer {
        final String className;
        final String name;
        final JsonObject config;
        final List<KT> inputs = new ArrayList<>();
        /** Whether the inputs are passed as one list (merge layers). */
        boolean listInput;
        /** A recurrent layer's initial_state tensors (h, c of each direction in turn), passed by keyword. */
        final List<KT> initialState = new ArrayList<>();
        final List<Weight> weights = new ArrayList<>();
        /** Object paths below the layer (in .keras files) that hold nothing of their own but carry a name (cells, wrapped layers). */
        final List<String[]> namedObjects = new ArrayList<>();
        /** Set for recurrent layers: the outputs' order is fixed by {@link #resolve}. */
        Recurrent recurrent;

        KLayer(String className, String name, JsonObject config) {
            this.className = className;
            this.name = name;
            this.config = config;
        }
    }

    /** Which outputs of a recurrent layer are read; decides return_sequences and return_state. */
    static final class Recurrent {
        final boolean bidirectional;
        final boolean lstm;
        boolean seq;
        boolean h;
        boolean c;
        boolean states;
        /** Whether the last step of the sequence is read as such (masked steps output zeros, so it is not the carried h). */
        boolean last;
        /** Whether the layer reads a mask and outputs zeros at masked steps (Keras's zero_output_for_mask). */
        boolean zeroMasked;
        /** Whether Keras's last output (outputs[-1]) may differ from the carried h, so that the two are separate outputs. */
        boolean lastDiffers;
        /** Whether a Bidirectional's two sequences are read apart (merge_mode None: outputs forward, backward, then states). */
        boolean perDirection;

        Recurrent(boolean bidirectional, boolean lstm) {
            this.bidirectional = bidirectional;
            this.lstm = lstm;
        }
    }

    final String name;
    final List<KLayer> layers = new ArrayList<>();
    final List<KLayer> inputs = new ArrayList<>();
    final List<KT> outputs = new ArrayList<>();

    KerasModel(String name) {
        this.name = name;
    }

    /**
     * Fixes each recurrent layer's return_sequences / return_state from the outputs read and the
     * output index of every reference: outputs are [sequence or last h] then, with return_state,
     * h and c (LSTM), or for Bidirectional the forward h, c then the backward h, c.
     */
    void resolve() {
        for (KLayer l : layers) {
            Recurrent r = l.recurrent;
            if (r == null) {
                continue;
            }
            if (r.perDirection && r.seq) {
                throw io.lstmx.errors.LstmxException.unsupported("Keras layer '" + l.name + "': its two directions' sequences are read"
                        + " both apart and concatenated; a Bidirectional gives one or the other (merge_mode), which lstmx does not write");
            }
            if (r.perDirection) {
                l.config.add("merge_mode", com.google.gson.JsonNull.INSTANCE);
            }
            boolean rs = r.seq || r.perDirection;
            if (rs && r.last) {
                throw io.lstmx.errors.LstmxException.unsupported("Keras layer '" + l.name + "': both its sequence and, apart, the last"
                        + " step of it are read; with zeros at masked steps Keras gives one or the other, which lstmx does not write");
            }
            // the carried h is output 0 only without return_sequences and when output 0 is not the zeroed last step
            boolean state = r.states || (!r.bidirectional && (r.c || (r.h && (rs || r.last || r.lastDiffers))));
            JsonObject cfg = r.bidirectional ? l.config.getAsJsonObject("layer").getAsJsonObject("config") : l.config;
            cfg.addProperty("return_sequences", rs);
            cfg.addProperty("return_state", state);
            if (!r.bidirectional) {
                // Keras's outputs[-1] and returned sequence are zero at masked steps only with this flag
                cfg.addProperty("zero_output_for_mask", r.zeroMasked && (rs || r.last));
            }
            if (r.bidirectional) {
                JsonObject b = l.config.getAsJsonObject("backward_layer").getAsJsonObject("config");
                b.addProperty("return_sequences", rs);
                b.addProperty("return_state", state);
            }
        }
        for (KLayer l : layers) {
            for (KT t : l.inputs) {
                index(t.ref());
            }
            for (KT t : l.initialState) {
                index(t.ref());
            }
        }
        for (KT t : outputs) {
            index(t.ref());
        }
    }

    private static void index(Ref ref) {
        Recurrent r = ref.layer.recurrent;
        if (r == null) {
            return;
        }
        int per = r.lstm ? 2 : 1;
        int seqs = r.perDirection ? 2 : 1;
        ref.index = switch (ref.kind) {
            case "seq", "merged", "last", "fseq" -> 0;
            case "bseq" -> 1;
            case "h" -> r.seq || r.last || r.lastDiffers ? 1 : 0;
            case "c" -> 2;
            case "fh" -> seqs;
            case "fc" -> seqs + 1;
            case "bh" -> seqs + per;
            case "bc" -> seqs + 1 + per;
            default -> throw new IllegalStateException(ref.kind);
        };
    }
}
