package io.lstmx.importers.keras;

import java.util.Map;
import java.util.TreeMap;

/** The layer converters, keyed by Keras class name (the registry the graph builder dispatches through). */
final class Converters {
    private static final Map<String, LayerConverter> TABLE = new TreeMap<>();

    static {
        RecurrentLayer recurrent = new RecurrentLayer();
        TABLE.put("LSTM", recurrent);
        TABLE.put("GRU", recurrent);
        TABLE.put("SimpleRNN", recurrent);
        TABLE.put("Bidirectional", new BidirectionalLayer());
        TABLE.put("Dense", new DenseLayer());
        TABLE.put("TimeDistributed", new TimeDistributedLayer());
        TABLE.put("Embedding", new EmbeddingLayer());
        TABLE.put("BatchNormalization", new BatchNormalizationLayer());
        DropoutLayer dropout = new DropoutLayer();
        for (String c : new String[] {"Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise", "AlphaDropout",
                "ActivityRegularization"}) {
            TABLE.put(c, dropout);
        }
        TABLE.put("Activation", new ActivationLayer());
        TABLE.put("Flatten", new ShapeLayers.Flatten());
        TABLE.put("Reshape", new ShapeLayers.Reshape());
        TABLE.put("Permute", new ShapeLayers.Permute());
        TABLE.put("RepeatVector", new ShapeLayers.RepeatVector());
        TABLE.put("Cropping1D", new ShapeLayers.Cropping1D());
        TABLE.put("Concatenate", new MergeLayers.Concatenate());
        MergeLayers.Arithmetic arithmetic = new MergeLayers.Arithmetic();
        for (String c : new String[] {"Add", "Subtract", "Multiply", "Average"}) {
            TABLE.put(c, arithmetic);
        }
        TABLE.put("LayerNormalization", new LayerNormalizationLayer());
        TABLE.put("Masking", new MaskingLayer());
        TABLE.put("Lambda", new Refused("a Lambda layer holds Python code, which lstmx does not run"));
    }

    private Converters() {
    }

    /** The converter of Keras class {@code cls}, or null. */
    static LayerConverter get(String cls) {
        return TABLE.get(cls);
    }

    /** The classes converted (for messages). */
    static String names() {
        return TABLE.entrySet().stream().filter(e -> !(e.getValue() instanceof Refused)).map(Map.Entry::getKey)
                .reduce((a, b) -> a + ", " + b).orElse("") + ", InputLayer";
    }
}
