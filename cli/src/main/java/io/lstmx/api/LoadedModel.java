package io.lstmx.api;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Format;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.StreamingSession;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A model read from a file and compiled for the pure-Java runtime. Inputs are checked against the
 * declared inputs (names, element types, shapes) before running, with errors naming the input.
 * Thread-safe, as the compiled model is.
 */
public final class LoadedModel {
    private final Path source;
    private final Format format;
    private final CompiledModel compiled;

    LoadedModel(Path source, Format format, CompiledModel compiled) {
        this.source = source;
        this.format = format;
        this.compiled = compiled;
    }

    /** The file the model was read from. */
    public Path source() {
        return source;
    }

    /** The format the file was read as. */
    public Format format() {
        return format;
    }

    public Model model() {
        return compiled.model();
    }

    public List<ValueInfo> inputs() {
        return model().inputs();
    }

    public List<ValueInfo> outputs() {
        return model().outputs();
    }

    /** Runs the model on named inputs (every declared input must be given); outputs in model order. */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        return compiled.run(conformAll(inputs));
    }

    /** Runs the model on inputs given in the model's input order. */
    public Map<String, Tensor> run(Tensor... inputs) {
        List<ValueInfo> declared = inputs();
        if (inputs.length != declared.size()) {
            throw LstmxException.badInput(source + ": the model has " + declared.size() + " inputs " + model().inputNames()
                    + " but " + inputs.length + " were given");
        }
        Map<String, Tensor> named = new LinkedHashMap<>();
        for (int i = 0; i < inputs.length; i++) {
            named.put(declared.get(i).name(), inputs[i]);
        }
        return run(named);
    }

    /**
     * Opens a streaming session: each feed continues every LSTM layer from the states the previous
     * feed ended with, until reset.
     */
    public StreamingSession openSession() {
        StreamingSession inner = compiled.openSession();
        return new StreamingSession() {
            @Override
            public Map<String, Tensor> feed(Map<String, Tensor> inputs) {
                return inner.feed(conformAll(inputs));
            }

            @Override
            public void reset() {
                inner.reset();
            }
        };
    }

    /**
     * Checks {@code value} against the declared input {@code name} and returns it with the declared
     * element type: integer values are relabelled to the declared integer width, or converted when a
     * float input is declared; float values for an integer input are refused (they would be truncated).
     */
    public Tensor conformInput(String name, Tensor value) {
        ValueInfo vi = model().input(name);
        Tensor t = value;
        if (vi.dtype().isFloating()) {
            t = t.withDType(DType.FLOAT32);
        } else if (t.dtype().isFloating()) {
            throw LstmxException.badInput(source + ": input '" + name + "' is declared " + vi.dtype().name().toLowerCase(Locale.ROOT)
                    + " but float values were given");
        } else {
            t = t.withDType(vi.dtype());
        }
        if (!vi.shape().accepts(t.shape())) {
            throw LstmxException.badInput(source + ": input '" + name + "' is declared with shape " + vi.shape()
                    + " but the value has shape " + Arrays.toString(t.shape()));
        }
        return t;
    }

    private Map<String, Tensor> conformAll(Map<String, Tensor> inputs) {
        List<String> unknown = new ArrayList<>();
        for (String n : inputs.keySet()) {
            if (!model().inputNames().contains(n)) {
                unknown.add(n);
            }
        }
        if (!unknown.isEmpty()) {
            throw LstmxException.badInput(source + ": the model has no input(s) " + unknown + "; its inputs are " + model().inputNames());
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (ValueInfo vi : inputs()) {
            Tensor t = inputs.get(vi.name());
            if (t == null) {
                missing.add(vi.name());
            } else {
                out.put(vi.name(), conformInput(vi.name(), t));
            }
        }
        if (!missing.isEmpty()) {
            throw LstmxException.badInput(source + ": missing input(s) " + missing + "; the model's inputs are " + model().inputNames());
        }
        return out;
    }
}
