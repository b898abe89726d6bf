package io.lstmx.ir;

import io.lstmx.errors.LstmxException;
import io.lstmx.util.SafeText;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A whole network: named inputs, layers in topological order, named outputs. The constructor
 * validates the graph: unique names, every value defined before it is read, every output produced.
 */
public record Model(String name, ModelInfo info, List<ValueInfo> inputs, List<ValueInfo> outputs, List<Layer> layers) {
    public Model {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        layers = List.copyOf(layers);
        validate(name, inputs, outputs, layers);
    }

    private static void validate(String model, List<ValueInfo> inputs, List<ValueInfo> outputs, List<Layer> layers) {
        // Sized up front: growing sets of 100,000s of names step by step costs more than filling them.
        Set<String> defined = new HashSet<>(capacity(inputs.size() + layers.size()));
        for (ValueInfo v : inputs) {
            if (!defined.add(v.name())) {
                throw LstmxException.badInput("model '" + model + "': input '" + v.name() + "' is declared twice");
            }
        }
        Set<String> layerNames = new HashSet<>(capacity(layers.size()));
        for (Layer l : layers) {
            if (!layerNames.add(l.name())) {
                throw LstmxException.badInput("model '" + model + "': layer name '" + l.name() + "' is used twice");
            }
            for (String in : l.inputs()) {
                if (!defined.contains(in)) {
                    throw LstmxException.badInput("model '" + model + "': layer '" + l.name() + "' (" + l.kind()
                            + ") reads '" + in + "', which no earlier layer or input defines");
                }
            }
            for (String out : l.outputs()) {
                if (!defined.add(out)) {
                    throw LstmxException.badInput("model '" + model + "': value '" + out + "' written by layer '" + l.name() + "' is already defined");
                }
            }
        }
        if (outputs.isEmpty()) {
            throw LstmxException.badInput("model '" + model + "' has no outputs");
        }
        Set<String> outputNames = new HashSet<>(capacity(outputs.size()));
        for (ValueInfo v : outputs) {
            if (!outputNames.add(v.name())) {
                throw LstmxException.badInput("model '" + model + "': output '" + v.name() + "' is declared twice");
            }
            if (!defined.contains(v.name())) {
                throw LstmxException.badInput("model '" + model + "': output '" + v.name() + "' is not produced by any layer");
            }
        }
    }

    /** A hash table capacity that holds {@code n} entries without growing (most layers write one value). */
    private static int capacity(int n) {
        return (int) Math.min(1 << 30, n * 4L / 3 + 16);
    }

    public ValueInfo input(String name) {
        for (ValueInfo v : inputs) {
            if (v.name().equals(name)) {
                return v;
            }
        }
        throw LstmxException.badInput("model '" + this.name + "' has no input '" + name + "'; inputs are " + SafeText.list(inputNames()));
    }

    public List<String> inputNames() {
        return inputs.stream().map(ValueInfo::name).toList();
    }

    public List<String> outputNames() {
        return outputs.stream().map(ValueInfo::name).toList();
    }

    public long parameterCount() {
        long n = 0;
        for (Layer l : layers) {
            n += l.parameterCount();
        }
        return n;
    }
}
