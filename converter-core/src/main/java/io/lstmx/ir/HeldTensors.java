package io.lstmx.ir;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The tensors each kind of layer holds (see {@link Layer#tensors}). */
final class HeldTensors implements Layer.Visitor<List<Tensor>> {
    static final HeldTensors INSTANCE = new HeldTensors();

    private HeldTensors() {
    }

    private static List<Tensor> of(Tensor... ts) {
        List<Tensor> l = new ArrayList<>(ts.length); // a loop, not a stream: this runs for every layer a model has
        for (Tensor t : ts) {
            if (t != null) {
                l.add(t);
            }
        }
        return Collections.unmodifiableList(l);
    }

    @Override public List<Tensor> visit(Layer.Constant l) { return of(l.value()); }

    @Override
    public List<Tensor> visit(Layer.Lstm l) {
        List<Tensor> ts = new ArrayList<>();
        for (LstmWeights w : l.weights()) {
            ts.addAll(of(w.w(), w.r(), w.wb(), w.rb(), w.peephole(), w.projection()));
        }
        return List.copyOf(ts);
    }

    @Override public List<Tensor> visit(Layer.Gru l) { return recurrent(l.weights()); }
    @Override public List<Tensor> visit(Layer.Rnn l) { return recurrent(l.weights()); }

    private static List<Tensor> recurrent(List<RecurrentWeights> weights) {
        List<Tensor> ts = new ArrayList<>();
        for (RecurrentWeights w : weights) {
            ts.addAll(of(w.w(), w.r(), w.wb(), w.rb()));
        }
        return List.copyOf(ts);
    }

    @Override public List<Tensor> visit(Layer.Dense l) { return of(l.weight(), l.bias()); }
    @Override public List<Tensor> visit(Layer.Embedding l) { return of(l.table()); }
    @Override public List<Tensor> visit(Layer.Take l) { return of(l.indices()); }
    @Override public List<Tensor> visit(Layer.Activation l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Softmax l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Dropout l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Identity l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Binary l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.MatMul l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Concat l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Transpose l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Reshape l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Flatten l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Squeeze l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Unsqueeze l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Select l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Slice l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.Cast l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.StepMask l) { return List.of(); }
    @Override public List<Tensor> visit(Layer.LayerNorm l) { return of(l.gamma(), l.beta()); }
}
