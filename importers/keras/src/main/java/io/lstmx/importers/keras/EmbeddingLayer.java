package io.lstmx.importers.keras;

import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.List;

/**
 * Keras Embedding: y[..., :] = embeddings[x[...], :], embeddings [input_dim, output_dim]. A
 * floating-point input (Keras' default dtype) is cast to integers first, as Keras does. With
 * {@code mask_zero=True} the output carries a mask: a recurrent layer that would consume it is
 * refused (the IR has no per-step mask yet); when no layer consumes it the model reads it as
 * written, with a note.
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
        boolean mask = Json.bool(l.config(), "mask_zero", false, g.where(l));
        if (mask) {
            g.maskFrom.add(l.name());
        }
        return List.of(new KValue(out, s, DType.FLOAT32, mask ? l.name() : null));
    }
}
