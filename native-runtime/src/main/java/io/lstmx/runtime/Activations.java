package io.lstmx.runtime;

import io.lstmx.ir.ActivationFn;

/**
 * Applies an {@link ActivationFn} to a range of an array. The common kinds get their own loops (the
 * kind is decided once per range rather than per element); their formulas are those of
 * {@link ActivationFn#apply}, so results are identical to it.
 */
final class Activations {
    private Activations() {
    }

    static void apply(ActivationFn fn, float[] a, int off, int len) {
        int end = off + len;
        switch (fn.kind()) {
            case SIGMOID:
                for (int j = off; j < end; j++) {
                    a[j] = (float) (1.0 / (1.0 + Math.exp(-a[j])));
                }
                break;
            case TANH:
                for (int j = off; j < end; j++) {
                    a[j] = (float) Math.tanh(a[j]);
                }
                break;
            case RELU:
                for (int j = off; j < end; j++) {
                    a[j] = a[j] > 0 ? a[j] : 0f;
                }
                break;
            case IDENTITY:
                break;
            default:
                for (int j = off; j < end; j++) {
                    a[j] = fn.apply(a[j]);
                }
        }
    }
}
