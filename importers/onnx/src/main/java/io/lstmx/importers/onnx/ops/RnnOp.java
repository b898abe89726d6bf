package io.lstmx.importers.onnx.ops;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Layer;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;

import java.util.List;

/**
 * ONNX RNN (opsets 1 to 22) with all inputs (X, W, R, B, sequence_lens, initial_h), outputs (Y,
 * Y_h) and attributes. W, R and B must be constants (one gate block, so no reordering). A zero
 * initial_h is dropped.
 */
final class RnnOp implements OpConverter {
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
        RecurrentOps.Parsed p = RecurrentOps.parseGruOrRnn(n, 1, List.of(ActivationFn.TANH), "f", t -> t);
        RecurrentSpec spec;
        try {
            spec = new RecurrentSpec(p.inputSize(), p.hiddenSize(), p.direction(), p.layout(), p.clip(), false, p.activations());
        } catch (LstmxException e) {
            throw n.bad(e.getMessage());
        }
        String y = n.outputName(0);
        String yh = n.outputName(1);
        if (y == null && yh == null) {
            return; // nothing reads this RNN
        }
        n.emit(new Layer.Rnn(n.layerName(), RecurrentPorts.withoutCell(p.x().x().name(), p.sequenceLengths(), p.initialH(), y, yh), spec, p.weights()));
        RecurrentOps.defineOutputs(n, p.x(), p.layout(), p.direction().count(), p.hiddenSize(), 1);
    }
}
