package io.lstmx.ir;

import io.lstmx.errors.LstmxException;

import java.util.Arrays;

/**
 * Every format's LSTM gate order, in one place. The canonical IR order is i, f, g, o (input,
 * forget, cell candidate, output). Each constant lists, for the format's block k, which canonical
 * gate it holds. A wrong permutation gives silently wrong numbers, so each is tested numerically.
 */
public enum GateOrder {
    /** lstmx IR: i, f, g, o. */
    CANONICAL("i,f,g,o", 0, 1, 2, 3),
    /** ONNX LSTM: i, o, f, c. */
    ONNX("i,o,f,c", 0, 3, 1, 2),
    /** PyTorch nn.LSTM: i, f, g, o. */
    PYTORCH("i,f,g,o", 0, 1, 2, 3),
    /** Keras LSTM / LSTMCell: i, f, c, o (kernel stored transposed as [I, 4H]). */
    KERAS("i,f,c,o", 0, 1, 2, 3),
    /** TensorFlow BlockLSTM / LSTMBlockCell: i, c, f, o. */
    TF_BLOCK("i,c,f,o", 0, 2, 1, 3),
    /** TensorFlow 1 LSTMCell / BasicLSTMCell: i, j, f, o (j is the candidate; forget_bias added at run time). */
    TF1_CELL("i,j,f,o", 0, 2, 1, 3);

    private final String label;
    /** blockToCanonical[k] = canonical gate index held in the format's block k. */
    private final int[] blockToCanonical;

    GateOrder(String label, int... blockToCanonical) {
        this.label = label;
        this.blockToCanonical = blockToCanonical;
    }

    public String label() {
        return label;
    }

    /** Reorders the 4 gate blocks along {@code axis} of {@code t} from this format's order to i, f, g, o. */
    public Tensor toCanonical(Tensor t, int axis) {
        int[] perm = new int[4];
        for (int k = 0; k < 4; k++) {
            perm[blockToCanonical[k]] = k;
        }
        return permuteBlocks(t, axis, perm);
    }

    /** Reorders the 4 gate blocks along {@code axis} of {@code t} from i, f, g, o to this format's order. */
    public Tensor fromCanonical(Tensor t, int axis) {
        return permuteBlocks(t, axis, blockToCanonical);
    }

    /**
     * Columns [j0, j1) of {@code fromCanonical(t, 0)} transposed, without making that copy: for a
     * weight t [4 H, c] in the IR's order, row j of the transpose (at {@code dst[offset + (j - j0)
     * stride ..]}) holds column j of each gate block in this format's order. For writers that stream
     * a transposed kernel a few rows at a time (Keras' [in, 4H], BlockLSTM's [I + H, 4H]).
     */
    public void transposeFromCanonical(Tensor t, int j0, int j1, float[] dst, int offset, int stride) {
        transposeBlocks(t, blockToCanonical, j0, j1, dst, offset, stride);
    }

    /**
     * Reorders peephole weights along {@code axis} between the IR's i, f, o and ONNX's i, o, f.
     * The permutation swaps the last two blocks, so the same call converts in both directions.
     */
    public static Tensor onnxPeephole(Tensor p, int axis) {
        return permuteBlocks(p, axis, new int[] {0, 2, 1});
    }

    /** Columns [j0, j1) of t [n g, c] transposed, block k of each row of the transpose being t's row block perm[k]. */
    private static void transposeBlocks(Tensor t, int[] perm, int j0, int j1, float[] dst, int offset, int stride) {
        int n = perm.length;
        if (t.rank() != 2 || t.dim(0) % n != 0) {
            throw LstmxException.badInput("tensor " + Arrays.toString(t.shape()) + " is not " + n + " gate blocks of rows");
        }
        int gate = t.dim(0) / n;
        for (int k = 0; k < n; k++) {
            t.transposeBlockInto(perm[k] * gate, (perm[k] + 1) * gate, j0, j1, dst, offset + k * gate, stride);
        }
    }

    /**
     * Result block k is source block {@code perm[k]} along {@code axis} (the axis length must be
     * divisible by the number of blocks). Package-private so that no gate permutation is written
     * outside this file.
     */
    static Tensor permuteBlocks(Tensor t, int axis, int[] perm) {
        int[] shape = t.shape();
        if (axis < 0) {
            axis += shape.length;
        }
        int n = perm.length;
        if (shape[axis] % n != 0) {
            throw LstmxException.badInput("gate axis of length " + shape[axis] + " in tensor " + Arrays.toString(shape)
                    + " is not divisible into " + n + " gates");
        }
        int outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= shape[i];
        }
        int inner = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        int block = shape[axis] / n * inner;
        boolean identity = true;
        for (int k = 0; k < n; k++) {
            identity &= perm[k] == k;
        }
        if (identity && t.dtype() == DType.FLOAT32) {
            return t; // the same order (PyTorch's, Keras' LSTM): tensors are immutable, so no copy is needed
        }
        float[] src = t.floatsShared(); // read only: no defensive copy
        float[] dst = new float[src.length];
        for (int o = 0; o < outer; o++) {
            int base = o * shape[axis] * inner;
            for (int k = 0; k < n; k++) {
                System.arraycopy(src, base + perm[k] * block, dst, base + k * block, block);
            }
        }
        return Tensor.wrapFloats(shape, dst);
    }

    /**
     * GRU gate orders. The canonical IR order is r, z, n (reset, update, new); each constant lists,
     * for the format's block k, which canonical gate it holds.
     */
    public enum Gru {
        /** lstmx IR: r, z, n. */
        CANONICAL("r,z,n", 0, 1, 2),
        /** ONNX GRU: z, r, h. */
        ONNX("z,r,h", 1, 0, 2),
        /** PyTorch nn.GRU: r, z, n. */
        PYTORCH("r,z,n", 0, 1, 2),
        /** Keras GRU: z, r, h (kernel stored transposed as [I, 3H]). */
        KERAS("z,r,h", 1, 0, 2);

        private final String label;
        private final int[] blockToCanonical;

        Gru(String label, int... blockToCanonical) {
            this.label = label;
            this.blockToCanonical = blockToCanonical;
        }

        public String label() {
            return label;
        }

        /** Reorders the 3 gate blocks along {@code axis} from this format's order to r, z, n. */
        public Tensor toCanonical(Tensor t, int axis) {
            int[] perm = new int[3];
            for (int k = 0; k < 3; k++) {
                perm[blockToCanonical[k]] = k;
            }
            return permuteBlocks(t, axis, perm);
        }

        /** Reorders the 3 gate blocks along {@code axis} from r, z, n to this format's order. */
        public Tensor fromCanonical(Tensor t, int axis) {
            return permuteBlocks(t, axis, blockToCanonical);
        }

        /** As {@link GateOrder#transposeFromCanonical}, for a GRU weight [3 H, c]. */
        public void transposeFromCanonical(Tensor t, int j0, int j1, float[] dst, int offset, int stride) {
            transposeBlocks(t, blockToCanonical, j0, j1, dst, offset, stride);
        }
    }
}
