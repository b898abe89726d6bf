package io.lstmx.ir;

import io.lstmx.errors.LstmxException;

import java.util.Arrays;

/**
 * Parameters of one direction of a GRU (3 gates, canonical order r, z, n) or simple RNN (1 gate)
 * layer. Biases are kept apart, as for {@link LstmWeights}, so same-format round trips are bit-exact
 * (and because a GRU with linear_before_reset needs the recurrent bias of n on its own).
 *
 * @param w  input weights [G*H, I]
 * @param r  recurrent weights [G*H, H]
 * @param wb input bias [G*H]
 * @param rb recurrent bias [G*H]
 */
public record RecurrentWeights(Tensor w, Tensor r, Tensor wb, Tensor rb) {
    public RecurrentWeights {
        if (w == null || r == null || wb == null || rb == null) {
            throw new IllegalArgumentException("recurrent weights W, R, Wb and Rb are required (use zero biases)");
        }
    }

    void validate(String layer, int dir, int gates, int inputSize, int hiddenSize) {
        int gh = gates * hiddenSize;
        check(layer, dir, "W", w, gh, inputSize);
        check(layer, dir, "R", r, gh, hiddenSize);
        check(layer, dir, "Wb", wb, gh);
        check(layer, dir, "Rb", rb, gh);
    }

    long parameterCount() {
        return (long) w.size() + r.size() + wb.size() + rb.size();
    }

    private static void check(String layer, int dir, String what, Tensor t, int... expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw LstmxException.badInput("layer '" + layer + "' direction " + dir + ": " + what + " has shape "
                    + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(expected));
        }
    }
}
