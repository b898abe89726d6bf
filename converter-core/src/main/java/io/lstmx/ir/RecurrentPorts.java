package io.lstmx.ir;

import java.util.ArrayList;
import java.util.List;

/**
 * The named values a recurrent layer ({@link Layer.Recurrent}: LSTM, GRU, RNN) reads and writes,
 * with ONNX's port names. Absent ports are {@code null} (an empty name is taken as absent). The
 * cell-state ports {@code initialC} and {@code outputC} exist for LSTM only; a GRU or RNN refuses
 * them (BAD_INPUT naming the layer).
 *
 * @param input           X, the sequence (required)
 * @param sequenceLengths per-row lengths [B] (integers), or null
 * @param initialH        initial hidden state, or null for zeros
 * @param initialC        initial cell state (LSTM only), or null for zeros
 * @param outputSequence  Y, h of every step, or null when unused
 * @param outputH         Y_h, the last h, or null when unused
 * @param outputC         Y_c, the last cell state (LSTM only), or null when unused
 * @param mask            a per-step mask (Keras's mask_zero and Masking), or null: a float tensor
 *                        [T, B] time-major or [B, T] batch-major, nonzero where a step counts.
 *                        A masked step (0) is skipped for its row: the states keep their values
 *                        (h, and c for an LSTM) and Y at that step repeats the row's previous Y
 *                        in the direction's order, zero before the row's first counted step
 *                        (Keras's rule: the output of step t "masks" to that of t-1, zeros at
 *                        the start); Y_h and Y_c are the carried states. The mask may sit
 *                        anywhere (pre-padding is Keras's default), which sequence lengths cannot
 *                        say; a layer takes either sequence lengths or a mask, not both.
 * @param zeroMaskedOutput whether Y is zero at masked steps instead of repeating (Keras's
 *                        {@code zero_output_for_mask}, which Bidirectional sets for layers that
 *                        return sequences); meaningful only with a mask
 */
public record RecurrentPorts(String input, String sequenceLengths, String initialH, String initialC,
                             String outputSequence, String outputH, String outputC, String mask,
                             boolean zeroMaskedOutput) {
    /** Ports without a per-step mask. */
    public RecurrentPorts(String input, String sequenceLengths, String initialH, String initialC,
                          String outputSequence, String outputH, String outputC) {
        this(input, sequenceLengths, initialH, initialC, outputSequence, outputH, outputC, null, false);
    }

    public RecurrentPorts {
        input = orNull(input);
        sequenceLengths = orNull(sequenceLengths);
        initialH = orNull(initialH);
        initialC = orNull(initialC);
        outputSequence = orNull(outputSequence);
        outputH = orNull(outputH);
        outputC = orNull(outputC);
        mask = orNull(mask);
        if (input == null) {
            throw io.lstmx.errors.LstmxException.badInput("a recurrent layer needs an input sequence X");
        }
        if (mask != null && sequenceLengths != null) {
            throw io.lstmx.errors.LstmxException.badInput("a recurrent layer takes either sequence lengths ('" + sequenceLengths
                    + "') or a per-step mask ('" + mask + "'), not both");
        }
        if (mask == null) {
            zeroMaskedOutput = false;
        }
    }

    /** Reads {@code input} only and writes nothing yet (add the rest with the {@code with} methods). */
    public static RecurrentPorts of(String input) {
        return new RecurrentPorts(input, null, null, null, null, null, null);
    }

    /** The ports of a GRU or RNN (no cell state). */
    public static RecurrentPorts withoutCell(String input, String sequenceLengths, String initialH, String outputSequence, String outputH) {
        return new RecurrentPorts(input, sequenceLengths, initialH, null, outputSequence, outputH, null);
    }

    public RecurrentPorts withSequenceLengths(String lengths) {
        return new RecurrentPorts(input, lengths, initialH, initialC, outputSequence, outputH, outputC, mask, zeroMaskedOutput);
    }

    /** Initial h (and, for an LSTM, initial c; null for GRU and RNN). */
    public RecurrentPorts withInitialStates(String h, String c) {
        return new RecurrentPorts(input, sequenceLengths, h, c, outputSequence, outputH, outputC, mask, zeroMaskedOutput);
    }

    /** Y and Y_h (no Y_c). */
    public RecurrentPorts withOutputs(String y, String yh) {
        return new RecurrentPorts(input, sequenceLengths, initialH, initialC, y, yh, null, mask, zeroMaskedOutput);
    }

    /** Y, Y_h and Y_c (LSTM). */
    public RecurrentPorts withOutputs(String y, String yh, String yc) {
        return new RecurrentPorts(input, sequenceLengths, initialH, initialC, y, yh, yc, mask, zeroMaskedOutput);
    }

    /** A per-step mask (see the record's Javadoc); null removes it. */
    public RecurrentPorts withMask(String m, boolean zeroOutput) {
        return new RecurrentPorts(input, sequenceLengths, initialH, initialC, outputSequence, outputH, outputC, m, zeroOutput);
    }

    /** Whether a per-step mask is read. */
    public boolean hasMask() {
        return mask != null;
    }

    /** Whether a cell-state port (initial c or Y_c) is named. */
    public boolean hasCellState() {
        return initialC != null || outputC != null;
    }

    /** Values read, in port order X, sequence lengths, initial h, initial c, mask, absent ones left out. */
    public List<String> inputs() {
        return present(input, sequenceLengths, initialH, initialC, mask);
    }

    /** Values written, in port order Y, Y_h, Y_c, absent ones left out. */
    public List<String> outputs() {
        return present(outputSequence, outputH, outputC);
    }

    private static String orNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static List<String> present(String... names) {
        List<String> l = new ArrayList<>();
        for (String n : names) {
            if (n != null) {
                l.add(n);
            }
        }
        return List.copyOf(l);
    }
}
