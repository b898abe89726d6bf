package io.lstmx.passes;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Folds {@code Add(Dense(x, W), b)} into {@code Dense(x, W, b)} when the Dense has no bias, its
 * output is read by that Add alone (and is no model output), and b is a Constant of shape [out]:
 * {@code x W^T + b} either way. Why: frameworks spell a linear layer on a sequence as a matrix
 * product followed by an in-place add (TorchScript's {@code F.linear} on 3-D input is
 * {@code matmul} then {@code add_}); one Dense is what exporters write as one node and what the
 * runtime computes in one pass. The Add's output name is kept, so later layers and model outputs
 * are untouched; an unused Constant is left for {@link DeadLayerRemoval}.
 */
public final class DenseBiasFusion implements Pass {
    @Override
    public String name() {
        return "dense-bias-fusion";
    }

    @Override
    public Model apply(Model model) {
        List<Layer> layers = model.layers();
        Map<String, Integer> readers = new HashMap<>();
        Map<String, Tensor> constants = new HashMap<>();
        Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            for (String in : l.inputs()) {
                readers.merge(in, 1, Integer::sum);
            }
            for (String out : l.outputs()) {
                producer.put(out, i);
            }
            if (l instanceof Layer.Constant c) {
                constants.put(c.output(), c.value());
            }
        }
        Set<String> outputs = Set.copyOf(model.outputNames());
        Layer[] result = layers.toArray(new Layer[0]);
        boolean changed = false;
        for (int i = 0; i < result.length; i++) {
            if (!(result[i] instanceof Layer.Binary add) || add.op() != Layer.Binary.Op.ADD) {
                continue;
            }
            for (int side = 0; side < 2; side++) {
                String v = side == 0 ? add.a() : add.b();
                String c = side == 0 ? add.b() : add.a();
                Integer p = producer.get(v);
                Tensor bias = constants.get(c);
                if (p == null || bias == null || !(result[p] instanceof Layer.Dense d) || d.bias() != null
                        || readers.getOrDefault(v, 0) != 1 || outputs.contains(v) || v.equals(c)
                        || bias.rank() != 1 || bias.dim(0) != d.weight().dim(0) || !bias.dtype().isFloating()) {
                    continue;
                }
                // The Dense moves to the Add's place (its input is defined before the Add, the Add's readers after).
                result[p] = null;
                result[i] = new Layer.Dense(d.name(), d.input(), add.output(), d.weight(), bias);
                changed = true;
                break;
            }
        }
        if (!changed) {
            return model;
        }
        List<Layer> out = new ArrayList<>(result.length);
        for (Layer l : result) {
            if (l != null) {
                out.add(l);
            }
        }
        return new Model(model.name(), model.info(), model.inputs(), model.outputs(), out);
    }
}
