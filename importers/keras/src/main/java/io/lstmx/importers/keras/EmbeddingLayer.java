package io.lstmx.importers.keras;

import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.List;

/**
 * Keras Embedding: y[..., :] = embeddings[x[...], :], embeddings [input_dim, output_dim]. A
 * floating-point input (Keras' default dtype) is cast to integers first, as Keras does. With
 * {@code mask_zero=True} the output carries Keras's mask {@code x != 0} (computed on the raw input,
 * as Keras does, before any cast): an IR StepMask, which the recurrent layers after it read.
 * When none does, the model says so in a note.
 */
final class EmbeddingLayer implements LayerConverter {
    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        KValue x = DenseLayer.one(g, l, inputs);
        int vocab = g.size(l, "input_dim");
        int dim = g.size(l, "output_dim");
        List<WeightSource.Var> vars = g.weights(l, List.of("embeddings"));
        Tensor table = g.tensor(l, "embeddings", vars.get(0), vocab, dim);
        String ids = x.name();
        if (x.dtype().isFloating()) {
            ids = g.value(l.name() + "/ids");
            g.add(new Layer.Cast(g.layerName(l.name() + ".cast"), x.name(), ids, DType.INT64));
        }
        String out = g.value(l.name());
        g.add(new Layer.Embedding(g.layerName(l.name()), ids, out, table));
        long[] s = java.util.Arrays.copyOf(x.shape(), x.rank() + 1);
        s[x.rank()] = dim;
        String mask = null;
        if (Json.bool(l.config(), "mask_zero", false, g.where(l))) {
            mask = g.value(l.name() + "/mask");
            g.add(new Layer.StepMask(g.layerName(l.name() + ".mask"), x.name(), mask, 0f, false));
            g.masksMade.put(mask, l.name());
        }
        return List.of(new KValue(out, s, DType.FLOAT32, mask));
    }
}
