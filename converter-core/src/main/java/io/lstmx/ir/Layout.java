package io.lstmx.ir;

/**
 * Memory layout of a recurrent layer's sequence input and output.
 * TIME_MAJOR: X [T, B, I], Y [T, D, B, H], states [D, B, H] (ONNX layout 0).
 * BATCH_MAJOR: X [B, T, I], Y [B, T, D, H], states [B, D, H] (ONNX layout 1).
 */
public enum Layout {
    TIME_MAJOR, BATCH_MAJOR
}
