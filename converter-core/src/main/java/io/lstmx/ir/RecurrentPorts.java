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
 */
public record RecurrentPorts(String input, String sequenceLengths, String initialH, String initialC,
                             String outputSequence, String outputH, String outputC) {
    public RecurrentPorts {
        input = orNull(input);
        sequenceLengths = orNull(sequenceLengths);
        initialH = orNull(initialH);
        initialC = orNull(initialC);
        outputSequence = orNull(outputSequence);
        outputH = orNull(outputH);
        outputC = orNull(outputC);
        if (input == null) {
            throw io.lstmx.errors.LstmxException.badInput("a recurrent layer needs an input sequence X");
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
        return new RecurrentPorts(input, lengths, initialH, initialC, outputSequence, outputH, outputC);
    }

    /** Initial h (and, for an LSTM, initial c; null for GRU and RNN). */
    public RecurrentPorts withInitialStates(String h, String c) {
        return new RecurrentPorts(input, sequenceLengths, h, c, outputSequence, outputH, outputC);
    }

    /** Y and Y_h (no Y_c). */
    public RecurrentPorts withOutputs(String y, String yh) {
        return new RecurrentPorts(input, sequenceLengths, initialH, initialC, y, yh, null);
    }

    /** Y, Y_h and Y_c (LSTM). */
    public RecurrentPorts withOutputs(String y, String yh, String yc) {
        return new RecurrentPorts(input, sequenceLengths, initialH, initialC, y, yh, yc);
    }

    /** Whether a cell-state port (initial c or Y_c) is named. */
    public boolean hasCellState() {
        return initialC != null || outputC != null;
    }

    /** Values read, in port order X, sequence lengths, initial h, initial c, absent ones left out. */
    public List<String> inputs() {
        return present(input, sequenceLengths, initialH, initialC);
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
