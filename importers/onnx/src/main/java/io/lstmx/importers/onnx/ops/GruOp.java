package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.GateOrder;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;

import java.util.List;

/**
 * ONNX GRU (opsets 1 to 22) with all inputs (X, W, R, B, sequence_lens, initial_h), outputs (Y,
 * Y_h) and attributes, linear_before_reset included. W, R and B must be constants; their gate blocks
 * (ONNX order z, r, h) are reordered to the IR's r, z, n. A zero initial_h is dropped.
 */
final class GruOp implements OpConverter {
    private static final List<ActivationFn> DEFAULT_ACTIVATIONS = List.of(ActivationFn.SIGMOID, ActivationFn.TANH);

    @Override
    public int maxInputs() {
        return 6; // X, W, R, B, sequence_lens, initial_h
    }

    @Override
    public int maxOutputs() {
        return 2; // Y, Y_h
    }

    @Override
    public boolean firstOutputOptional() {
        return true;
    }

    @Override
    public void convert(OnnxNode n) {
        RecurrentOps.Parsed p = RecurrentOps.parseGruOrRnn(n, 3, DEFAULT_ACTIVATIONS, "f, g",
                t -> GateOrder.Gru.ONNX.toCanonical(t, 0));
        boolean linearBeforeReset = RecurrentOps.flag(n, "linear_before_reset");
        RecurrentSpec spec;
        try {
            spec = new RecurrentSpec(p.inputSize(), p.hiddenSize(), p.direction(), p.layout(), p.clip(), linearBeforeReset,
                    p.activations());
        } catch (LstmxException e) {
            throw n.bad(e.getMessage());
        }
        String y = n.outputName(0);
        String yh = n.outputName(1);
        if (y == null && yh == null) {
            return; // nothing reads this GRU
        }
        n.emit(new Layer.Gru(n.layerName(), RecurrentPorts.withoutCell(p.x().x().name(), p.sequenceLengths(), p.initialH(), y, yh), spec, p.weights(),
                GateOrder.Gru.ONNX));
        RecurrentOps.defineOutputs(n, p.x(), p.layout(), p.direction().count(), p.hiddenSize(), 1);
    }
}
