package io.lstmx.runtime;

import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Runs one recurrent layer ({@link Layer.Lstm}, {@link Layer.Gru} or {@link Layer.Rnn}): checks and
 * unpacks its ports, converts states between the layer's layout and the kernel's [D, B, *] order,
 * and packs the optional outputs. The three layers have the same ports except the LSTM's cell state
 * (initial c, Y_c), absent here for GRU and RNN.
 */
final class RecurrentStep implements Step {
    /**
     * What a stream carries from one chunk to the next: the states a forward-only layer ended the
     * chunk with, per batch row (h [B, hOut], c [B, H], null without a cell state) and, for a layer
     * with a per-step mask, whether each row has counted a step yet ([D, B]; null without a mask).
     */
    record Carry(int batch, float[] h, float[] c, boolean[] counted) {
    }

    private final Layer layer;
    private final RecurrentKernel<?> kernel;
    private final Direction direction;
    private final String outputSequence;
    private final String outputH;
    private final String outputC;
    private final int lensArg;
    private final int hArg;
    private final int cArg;
    private final int maskArg;
    private final boolean zeroMasked;

    private RecurrentStep(Layer.Recurrent layer, RecurrentKernel<?> kernel) {
        this.layer = layer;
        this.kernel = kernel;
        this.direction = layer.direction();
        this.outputSequence = layer.outputSequence();
        this.outputH = layer.outputH();
        this.outputC = layer.outputC();
        int pos = 1; // the sequence input X is always the first argument (see RecurrentPorts#inputs)
        lensArg = present(layer.sequenceLengths()) ? pos++ : -1;
        hArg = present(layer.initialH()) ? pos++ : -1;
        cArg = present(layer.initialC()) ? pos++ : -1;
        maskArg = present(layer.ports().mask()) ? pos : -1;
        zeroMasked = layer.ports().zeroMaskedOutput();
    }

    static RecurrentStep of(Layer.Lstm l) {
        return new RecurrentStep(l, new LstmKernel(l));
    }

    static RecurrentStep of(Layer.Gru l) {
        return new RecurrentStep(l, new GruKernel(l));
    }

    static RecurrentStep of(Layer.Rnn l) {
        return new RecurrentStep(l, new RnnKernel(l));
    }

    private static boolean present(String name) {
        return name != null && !name.isEmpty();
    }

    /** Why this layer cannot continue across chunks, or null when it can. */
    String streamingObstacle() {
        // (a per-step mask streams: what a masked step repeats depends on earlier chunks only
        // through whether the row has counted a step, which the carry holds)
        return direction == Direction.FORWARD ? null
                : "layer '" + layer.name() + "' (" + layer.kind() + ") is " + direction.toString().toLowerCase()
                + ": a backward pass needs the whole sequence, so the model cannot be run chunk by chunk";
    }

    @Override
    public Val[] run(Val[] args) {
        return run(args, null, null);
    }

    /**
     * @param carried states to start from instead of the initial-state inputs (streaming), or null
     * @param next    receives the states this call ends with (streaming), or null
     */
    Val[] run(Val[] args, Carry carried, Consumer<Carry> next) {
        Val x = Ops.requireFloat(layer, args[0], "input X");
        boolean bm = kernel.batchMajor();
        int dirs = kernel.directions();
        int hOut = kernel.outputSize();
        int cell = kernel.cellWidth();
        if (x.rank() != 3) {
            throw Step.bad(layer, "input X has shape " + x.shapeString() + ", expected rank 3 "
                    + (bm ? "[batch, time, " : "[time, batch, ") + kernel.inputSize() + "]");
        }
        if (x.shape[2] != kernel.inputSize()) {
            throw Step.bad(layer, "input X " + x.shapeString() + " has last dim " + x.shape[2]
                    + ", expected input size " + kernel.inputSize());
        }
        int steps = bm ? x.shape[1] : x.shape[0];
        int batch = bm ? x.shape[0] : x.shape[1];
        int[] lens = lensArg < 0 ? null : lengths(args[lensArg], steps, batch);
        float[] h0;
        float[] c0;
        boolean[] counted = null;
        if (carried != null) {
            if (carried.batch() != batch) {
                throw Step.bad(layer, "chunk has batch size " + batch + ", but the stream's previous chunks had "
                        + carried.batch() + " (call reset() to start new streams)");
            }
            h0 = carried.h();
            c0 = carried.c();
            counted = carried.counted() == null ? null : carried.counted().clone();
        } else {
            h0 = hArg < 0 ? null : initialState(args[hArg], "initial h", batch, hOut);
            c0 = cArg < 0 ? null : initialState(args[cArg], "initial c", batch, cell);
        }
        float[] mask = maskArg < 0 ? null : mask(args[maskArg], steps, batch);
        if (next != null && mask != null && counted == null) {
            counted = new boolean[kernel.directions() * batch]; // a stream's first chunk: nothing counted yet
        }
        RecurrentKernel.Result r = kernel.run(x.f, steps, batch, lens, h0, c0, present(outputSequence), mask, zeroMasked, counted);
        if (next != null) {
            next.accept(new Carry(batch, r.hLast, r.cLast, mask == null ? null : counted));
        }
        Val[] out = new Val[layer.outputs().size()];
        int k = 0;
        if (present(outputSequence)) {
            int[] shape = bm ? new int[] {batch, steps, dirs, hOut} : new int[] {steps, dirs, batch, hOut};
            out[k++] = Val.floats(shape, r.y);
        }
        if (present(outputH)) {
            out[k++] = lastState(r.hLast, lens, batch, hOut);
        }
        if (present(outputC)) {
            out[k] = lastState(r.cLast, lens, batch, cell);
        }
        return out;
    }

    private int[] lengths(Val v, int steps, int batch) {
        if (v.isFloat()) {
            throw Step.bad(layer, "sequence lengths must be integers, got " + v.dtype + " " + v.shapeString());
        }
        if (v.rank() != 1 || v.shape[0] != batch) {
            throw Step.bad(layer, "sequence lengths have shape " + v.shapeString() + ", expected [" + batch + "] (the batch size)");
        }
        int[] lens = new int[batch];
        for (int b = 0; b < batch; b++) {
            long n = v.l[b];
            if (n < 0 || n > steps) {
                throw Step.bad(layer, "sequence length " + n + " of batch row " + b + " is outside 0 .. " + steps + " (the time steps)");
            }
            lens[b] = (int) n;
        }
        return lens;
    }

    /** The per-step mask, [T, B] time-major or [B, T] batch-major (any numbers: nonzero counts). */
    private float[] mask(Val v, int steps, int batch) {
        boolean bm = kernel.batchMajor();
        int[] expected = bm ? new int[] {batch, steps} : new int[] {steps, batch};
        if (!Arrays.equals(v.shape, expected)) {
            throw Step.bad(layer, "mask has shape " + v.shapeString() + ", expected " + Arrays.toString(expected)
                    + (bm ? " ([batch, time])" : " ([time, batch])") + " like input X");
        }
        if (v.isFloat()) {
            return v.f;
        }
        float[] m = new float[v.l.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = v.l[i] != 0 ? 1f : 0f;
        }
        return m;
    }

    /** An initial state input in the layer's layout, returned in [D, B, width] order. */
    private float[] initialState(Val v, String what, int batch, int width) {
        int dirs = kernel.directions();
        boolean bm = kernel.batchMajor();
        int[] expected = bm ? new int[] {batch, dirs, width} : new int[] {dirs, batch, width};
        if (!v.isFloat() || !Arrays.equals(v.shape, expected)) {
            throw Step.bad(layer, what + " is " + v.dtype + " " + v.shapeString() + ", expected FLOAT32 " + Arrays.toString(expected)
                    + (bm ? " ([batch, directions, size])" : " ([directions, batch, size])"));
        }
        return bm ? swapLeading(v.f, batch, dirs, width) : v.f;
    }

    /** Final states [D, B, width] as the output value: zero for rows of length 0 (as onnxruntime), in the layer's layout. */
    private Val lastState(float[] s, int[] lens, int batch, int width) {
        int dirs = kernel.directions();
        float[] v = s.clone();
        if (lens != null) {
            for (int d = 0; d < dirs; d++) {
                for (int b = 0; b < batch; b++) {
                    if (lens[b] == 0) {
                        Arrays.fill(v, (d * batch + b) * width, (d * batch + b + 1) * width, 0f);
                    }
                }
            }
        }
        if (kernel.batchMajor()) {
            return Val.floats(new int[] {batch, dirs, width}, swapLeading(v, dirs, batch, width));
        }
        return Val.floats(new int[] {dirs, batch, width}, v);
    }

    /** [n0, n1, w] to [n1, n0, w]. */
    private static float[] swapLeading(float[] a, int n0, int n1, int w) {
        float[] t = new float[a.length];
        for (int i = 0; i < n0; i++) {
            for (int j = 0; j < n1; j++) {
                System.arraycopy(a, (i * n1 + j) * w, t, (j * n0 + i) * w, w);
            }
        }
        return t;
    }
}
