package io.lstmx.passes;

import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Removes every layer none of whose outputs reaches a model output, directly or through other
 * layers; unused constants are such layers too. The remaining layers keep their order. A layer
 * with several outputs (an LSTM's Y, Y_h, Y_c) stays whole when any one of them is needed.
 *
 * <p>Why: source graphs carry branches nothing reads (training-only heads, shape computations
 * whose result was folded, constants only a folded node used); converting them would cost time,
 * memory and exported size, and exporters would have to express layers that do not matter. The
 * ONNX importer runs this pass on every model it reads. Model inputs are kept even when unused:
 * they are the model's interface.
 */
public final class DeadLayerRemoval implements Pass {
    @Override
    public String name() {
        return "dead-layer-removal";
    }

    @Override
    public Model apply(Model model) {
        List<Layer> layers = model.layers();
        Set<String> needed = new HashSet<>((int) Math.min(1 << 30, layers.size() * 4L / 3 + 16)); // sized: see Model
        needed.addAll(model.outputNames());
        boolean[] keep = new boolean[layers.size()];
        int kept = 0;
        for (int i = layers.size() - 1; i >= 0; i--) {
            Layer l = layers.get(i);
            for (String out : l.outputs()) {
                if (needed.contains(out)) {
                    keep[i] = true;
                    kept++;
                    needed.addAll(l.inputs());
                    break;
                }
            }
        }
        if (kept == layers.size()) {
            return model;
        }
        List<Layer> live = new ArrayList<>(kept);
        for (int i = 0; i < layers.size(); i++) {
            if (keep[i]) {
                live.add(layers.get(i));
            }
        }
        return new Model(model.name(), model.info(), model.inputs(), model.outputs(), live);
    }
}
