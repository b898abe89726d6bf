package io.lstmx.ir;

import io.lstmx.errors.LstmxException;

import java.util.Arrays;

/**
 * Parameters of one direction of an LSTM layer, all in the canonical gate order i, f, g, o
 * (input, forget, cell candidate, output).
 *
 * @param w          input weights [4H, I]
 * @param r          recurrent weights [4H, Hr] where Hr is the projection size if present, else H
 * @param wb         input bias [4H]
 * @param rb         recurrent bias [4H]; kept apart from {@code wb} so same-format round trips are bit-exact
 * @param peephole   optional peephole weights [3H] in order i, f, o; {@code null} when absent
 * @param projection optional projection matrix [P, H] applied to h; {@code null} when absent
 */
public record LstmWeights(Tensor w, Tensor r, Tensor wb, Tensor rb, Tensor peephole, Tensor projection) {
    public LstmWeights {
        if (w == null || r == null || wb == null || rb == null) {
            throw new IllegalArgumentException("LSTM weights W, R, Wb and Rb are required (use zero biases)");
        }
    }

    /**
     * Wb [4H] (canonical i, f, g, o) with a forget bias added to its f block: how every writer of a
     * format without a forget bias folds it. The forget bias is a constant term of f's
     * pre-activation, like Wb_f, and float32 Wb_f + forgetBias is what the native runtime adds
     * first too, so the folded layer computes the same function bit for bit.
     */
    public static Tensor withForgetBias(Tensor wb, int h, float forgetBias) {
        if (forgetBias == 0) {
            return wb;
        }
        float[] v = wb.toFloatArray();
        for (int j = h; j < 2 * h; j++) {
            v[j] += forgetBias;
        }
        return Tensor.ofFloats(wb.shape(), v);
    }

    /** Hidden size H implied by W. */
    public int hiddenSize() {
        return w.dim(0) / 4;
    }

    void validate(String layer, int dir, int inputSize, int hiddenSize, int projSize) {
        int h4 = 4 * hiddenSize;
        int hr = projSize > 0 ? projSize : hiddenSize;
        check(layer, dir, "W", w, h4, inputSize);
        check(layer, dir, "R", r, h4, hr);
        check(layer, dir, "Wb", wb, h4);
        check(layer, dir, "Rb", rb, h4);
        if (peephole != null) {
            check(layer, dir, "peephole", peephole, 3 * hiddenSize);
        }
        if (projSize > 0) {
            if (projection == null) {
                throw LstmxException.badInput("layer '" + layer + "' direction " + dir + ": projection size " + projSize + " but no projection matrix");
            }
            check(layer, dir, "projection", projection, projSize, hiddenSize);
        } else if (projection != null) {
            throw LstmxException.badInput("layer '" + layer + "' direction " + dir + ": projection matrix given but projection size is 0");
        }
    }

    private static void check(String layer, int dir, String what, Tensor t, int... expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw LstmxException.badInput("layer '" + layer + "' direction " + dir + ": " + what + " has shape "
                    + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(expected));
        }
    }
}
