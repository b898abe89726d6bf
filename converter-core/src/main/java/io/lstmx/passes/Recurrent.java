package io.lstmx.passes;

import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.RecurrentPorts;
import io.lstmx.ir.RecurrentSpec;
import io.lstmx.ir.RecurrentWeights;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The one place where the passes read and build recurrent layers (LSTM, GRU, RNN): their value
 * ports, direction, layout and output size, and the bidirectional layer made of a forward and a
 * reverse one. Everything else in this package goes through here, so that a change of the
 * recurrent records' constructors touches this class alone.
 */
final class Recurrent {
    private Recurrent() {
    }

    /**
     * The values a recurrent layer reads and writes; absent ports are null ({@code initialC},
     * {@code yc}: LSTM only); the per-step mask and its output rule (see {@link RecurrentPorts}).
     */
    record Ports(String input, String sequenceLengths, String initialH, String initialC, String y, String yh, String yc,
                 String mask, boolean zeroMaskedOutput) {
        RecurrentPorts ir() {
            return new RecurrentPorts(input, sequenceLengths, initialH, initialC, y, yh, yc, mask, zeroMaskedOutput);
        }
    }

    /** True for LSTM, GRU and RNN layers. */
    static boolean is(Layer l) {
        return l instanceof Layer.Lstm || l instanceof Layer.Gru || l instanceof Layer.Rnn;
    }

    /** The ports of recurrent layer {@code l}. */
    static Ports ports(Layer l) {
        RecurrentPorts p = ((Layer.Recurrent) l).ports();
        return new Ports(p.input(), p.sequenceLengths(), p.initialH(), p.initialC(), p.outputSequence(), p.outputH(), p.outputC(),
                p.mask(), p.zeroMaskedOutput());
    }

    static Direction direction(Layer l) {
        return l instanceof Layer.Lstm x ? x.spec().direction() : spec(l).direction();
    }

    static Layout layout(Layer l) {
        return l instanceof Layer.Lstm x ? x.spec().layout() : spec(l).layout();
    }

    /** Size of one direction's h in Y: the projection size of a projected LSTM, else the hidden size. */
    static int outputSize(Layer l) {
        return l instanceof Layer.Lstm x ? x.spec().outputSize() : spec(l).hiddenSize();
    }

    private static RecurrentSpec spec(Layer l) {
        return l instanceof Layer.Gru g ? g.spec() : ((Layer.Rnn) l).spec();
    }

    /**
     * True when {@code fwd} and {@code rev} are of one kind and differ only in direction,
     * activations, weights and ports: then one bidirectional layer computes what both do.
     */
    static boolean mergeable(Layer fwd, Layer rev) {
        if (fwd instanceof Layer.Lstm f && rev instanceof Layer.Lstm r) {
            LstmSpec a = f.spec();
            LstmSpec b = r.spec();
            return a.inputSize() == b.inputSize() && a.hiddenSize() == b.hiddenSize() && a.projSize() == b.projSize()
                    && a.layout() == b.layout() && Objects.equals(a.clip(), b.clip()) && a.inputForget() == b.inputForget()
                    && Objects.equals(a.cellClip(), b.cellClip()) && Float.compare(a.forgetBias(), b.forgetBias()) == 0
                    && f.sourceGateOrder() == r.sourceGateOrder();
        }
        if (fwd instanceof Layer.Gru f && rev instanceof Layer.Gru r) {
            return sameSpec(f.spec(), r.spec()) && f.sourceGateOrder() == r.sourceGateOrder();
        }
        return fwd instanceof Layer.Rnn f && rev instanceof Layer.Rnn r && sameSpec(f.spec(), r.spec());
    }

    private static boolean sameSpec(RecurrentSpec a, RecurrentSpec b) {
        return a.inputSize() == b.inputSize() && a.hiddenSize() == b.hiddenSize() && a.layout() == b.layout()
                && Objects.equals(a.clip(), b.clip()) && a.linearBeforeReset() == b.linearBeforeReset()
                && a.activationsPerDirection() == b.activationsPerDirection();
    }

    /**
     * The bidirectional layer {@code name} with {@code ports}, whose forward direction is
     * {@code fwd}'s and whose reverse direction is {@code rev}'s (weights and activations, forward
     * first, as the IR orders directions). The two must be {@link #mergeable}.
     */
    static Layer bidirectional(String name, Layer fwd, Layer rev, Ports ports) {
        if (fwd instanceof Layer.Lstm f && rev instanceof Layer.Lstm r) {
            LstmSpec s = f.spec();
            LstmSpec spec = new LstmSpec(s.inputSize(), s.hiddenSize(), s.projSize(), Direction.BIDIRECTIONAL, s.layout(), s.clip(),
                    s.inputForget(), concat(s.activations(), r.spec().activations()))
                    .withCellClip(s.cellClip()).withForgetBias(s.forgetBias()); // equal in both (mergeable)
            return lstm(name, ports, spec, concat(f.weights(), r.weights()), f);
        }
        RecurrentSpec s = spec(fwd);
        RecurrentSpec spec = new RecurrentSpec(s.inputSize(), s.hiddenSize(), Direction.BIDIRECTIONAL, s.layout(), s.clip(),
                s.linearBeforeReset(), concat(s.activations(), spec(rev).activations()));
        if (fwd instanceof Layer.Gru f && rev instanceof Layer.Gru r) {
            return gru(name, ports, spec, concat(f.weights(), r.weights()), f);
        }
        return rnn(name, ports, spec, concat(((Layer.Rnn) fwd).weights(), ((Layer.Rnn) rev).weights()));
    }

    // The only calls of the recurrent records' constructors in this package.

    private static Layer.Lstm lstm(String name, Ports p, LstmSpec spec, List<LstmWeights> weights, Layer.Lstm like) {
        return new Layer.Lstm(name, p.ir(), spec, weights, like.sourceGateOrder());
    }

    private static Layer.Gru gru(String name, Ports p, RecurrentSpec spec, List<RecurrentWeights> weights, Layer.Gru like) {
        return new Layer.Gru(name, p.ir(), spec, weights, like.sourceGateOrder());
    }

    private static Layer.Rnn rnn(String name, Ports p, RecurrentSpec spec, List<RecurrentWeights> weights) {
        return new Layer.Rnn(name, p.ir(), spec, weights);
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }
}
