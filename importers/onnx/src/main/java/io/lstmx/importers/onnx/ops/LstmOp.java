package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Direction;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * ONNX LSTM (opsets 1 to 22) with all inputs (X, W, R, B, sequence_lens, initial_h, initial_c, P),
 * outputs (Y, Y_h, Y_c) and attributes. W, R, B and P must be constants; their gate blocks (ONNX
 * order i, o, f, c; peepholes i, o, f) are reordered to the IR's i, f, g, o. Initial states that
 * are all zeros are dropped, since the IR starts from zeros when no state is given.
 */
final class LstmOp implements OpConverter {
    @Override
    public int maxInputs() {
        return 8; // X, W, R, B, sequence_lens, initial_h, initial_c, P
    }

    @Override
    public int maxOutputs() {
        return 3; // Y, Y_h, Y_c
    }

    @Override
    public boolean firstOutputOptional() {
        return true;
    }

    @Override
    public void convert(OnnxNode n) {
        n.required(0, "X");
        n.required(1, "W");
        n.required(2, "R");
        Tensor w = n.constIn(1, "weight W");
        Tensor r = n.constIn(2, "recurrence weight R");
        Tensor b = n.constIn(3, "bias B");
        Tensor p = n.constIn(7, "peephole P");

        RecurrentOps.requireFloating(n, new Object[][] {{"W", w}, {"R", r}, {"B", b}, {"P", p}});
        Direction dir = RecurrentOps.direction(n);
        int d = dir.count();
        int h = RecurrentOps.hiddenSize(n, w, 4);
        int in = w.dim(2);
        RecurrentOps.expect(n, "W", w, h, d, 4 * h, in);
        RecurrentOps.expect(n, "R", r, h, d, 4 * h, h);
        if (b != null) {
            RecurrentOps.expect(n, "B", b, h, d, 8 * h);
        }
        if (p != null) {
            RecurrentOps.expect(n, "P", p, h, d, 3 * h);
        }
        Layout layout = RecurrentOps.layout(n);
        Float clip = RecurrentOps.clip(n);
        boolean inputForget = RecurrentOps.flag(n, "input_forget");
        List<ActivationFn> acts = RecurrentOps.activations(n, d, LstmSpec.DEFAULT_ACTIVATIONS, "f, g, h");
        LstmSpec spec;
        try {
            spec = new LstmSpec(in, h, 0, dir, layout, clip, inputForget, acts);
        } catch (LstmxException e) {
            throw n.bad(e.getMessage());
        }

        List<RecurrentWeights> common = RecurrentOps.weights(n, w, r, b, d, 4, h, in, t -> GateOrder.ONNX.toCanonical(t, 0));
        List<LstmWeights> weights = new ArrayList<>();
        for (int k = 0; k < d; k++) {
            RecurrentWeights c = common.get(k);
            Tensor pk = p == null ? null : GateOrder.onnxPeephole(RecurrentOps.direction(p, k, d, n).reshape(3 * h), 0);
            weights.add(new LstmWeights(c.w(), c.r(), c.wb(), c.rb(), pk == null ? null : pk.withDType(DType.FLOAT32), null));
        }

        RecurrentOps.Input x = RecurrentOps.input(n, layout, in);
        String seqLens = RecurrentOps.sequenceLengths(n, x.seq(), x.batch());
        String initialH = RecurrentOps.initialState(n, 5, "initial_h", d, h, layout);
        String initialC = RecurrentOps.initialState(n, 6, "initial_c", d, h, layout);

        String y = n.outputName(0);
        String yh = n.outputName(1);
        String yc = n.outputName(2);
        if (y == null && yh == null && yc == null) {
            return; // nothing reads this LSTM
        }
        n.emit(new Layer.Lstm(n.layerName(), new RecurrentPorts(x.x().name(), seqLens, initialH, initialC, y, yh, yc), spec, weights, GateOrder.ONNX));
        RecurrentOps.defineOutputs(n, x, layout, d, h, 2);
    }
}
