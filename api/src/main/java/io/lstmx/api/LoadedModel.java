package io.lstmx.api;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.formats.Format;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.runtime.CompiledModel;
import io.lstmx.runtime.StreamingSession;
import io.lstmx.util.SafeText;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model read from a file and compiled for the pure-Java runtime. Integer inputs are relabelled to
 * the declared integer width; the runtime checks names, element types and shapes, naming the input.
 * Thread-safe, as the compiled model is.
 */
public final class LoadedModel {
    private final Path source;
    private final Format format;
    private final CompiledModel compiled;
    /** The declared inputs by name: looking each given input up in the list made a run quadratic in their number. */
    private final Map<String, ValueInfo> declaredInputs = new HashMap<>();

    LoadedModel(Path source, Format format, CompiledModel compiled) {
        this.source = source;
        this.format = format;
        this.compiled = compiled;
        for (ValueInfo v : compiled.model().inputs()) {
            declaredInputs.put(v.name(), v);
        }
    }

    /**
     * The file the model was read from.
     *
     * @return the path given to {@link Lstmx#load}
     */
    public Path source() {
        return source;
    }

    /**
     * The format the file was read as.
     *
     * @return the detected or requested format
     */
    public Format format() {
        return format;
    }

    /**
     * The model in the canonical IR, e.g. for {@link Lstmx#save}.
     *
     * @return the model as read (shapes inferred)
     */
    public Model model() {
        return compiled.model();
    }

    /**
     * The model's inputs.
     *
     * @return name, element type and shape (fixed or symbolic dimensions) of each input, in model order
     */
    public List<ValueInfo> inputs() {
        return model().inputs();
    }

    /**
     * The model's outputs.
     *
     * @return name, element type and shape of each output, in model order
     */
    public List<ValueInfo> outputs() {
        return model().outputs();
    }

    /**
     * Runs the model on named inputs. Every declared input must be given; integer and float values
     * are relabelled to the declared element type first (see {@link #conformInput}).
     *
     * @param inputs values by input name
     * @return every output by name, in model order
     * @throws io.lstmx.errors.LstmxException BAD_INPUT naming the input when one is missing, unknown
     *         or of the wrong kind or shape
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        return compiled.run(conformAll(inputs));
    }

    /**
     * Runs the model on inputs given in the model's input order.
     *
     * @param inputs one value per declared input
     * @return every output by name, in model order
     * @throws io.lstmx.errors.LstmxException BAD_INPUT when the count differs or a value does not fit
     */
    public Map<String, Tensor> run(Tensor... inputs) {
        List<ValueInfo> declared = inputs();
        if (inputs.length != declared.size()) {
            throw LstmxException.badInput(source + ": the model has " + declared.size() + " inputs " + SafeText.list(model().inputNames())
                    + " but " + inputs.length + " were given");
        }
        Map<String, Tensor> named = new LinkedHashMap<>();
        for (int i = 0; i < inputs.length; i++) {
            named.put(declared.get(i).name(), inputs[i]);
        }
        return run(named);
    }

    /**
     * This model, returning after its outputs the named intermediate values too (any value an IR
     * layer writes; for a model read from ONNX, value names are the file's wherever the IR computes
     * the same value). For comparing layer by layer with a reference engine; the layers are prepared
     * once and shared, and this model's own runs are unchanged. An unknown name is BAD_INPUT.
     *
     * @param values names of the intermediate values to return as well
     * @return a model sharing this one's prepared layers
     */
    public LoadedModel exposing(List<String> values) {
        return new LoadedModel(source, format, compiled.exposing(values));
    }

    /**
     * Opens a streaming session: each feed continues every LSTM layer from the states the previous
     * feed ended with, until reset. The session is not thread-safe; open one per stream.
     *
     * @return a new session starting from the model's own initial states
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
     * Returns {@code value} relabelled to the declared input {@code name}'s element type (integer
     * values to the declared int32/int64, float or integer values for a float input to float32), checked by the runtime's own
     * input check (element kind, rank, fixed dims) so a bad value is refused before anything runs.
     *
     * @param name  a declared input's name
     * @param value the value meant for it
     * @return the value with the declared element type
     * @throws io.lstmx.errors.LstmxException BAD_INPUT naming the input when the value does not fit
     */
    public Tensor conformInput(String name, Tensor value) {
        Tensor t = relabel(name, value);
        compiled.checkInput(name, t);
        return t;
    }

    private Tensor relabel(String name, Tensor value) {
        ValueInfo input = declaredInputs.get(name);
        DType declared = (input != null ? input : model().input(name)).dtype(); // an undeclared name: model().input refuses it, naming the inputs
        if (declared.isFloating()) {
            // Integer arrays for a float input convert as NumPy's astype would (e.g. an int .npy).
            return value.withDType(DType.FLOAT32);
        }
        if (!value.dtype().isFloating()) {
            if (declared == DType.INT32 && value.dtype() != DType.INT32) {
                // A relabel must not change values: int64 (or uint32) data beyond int32 is refused, not wrapped.
                for (int i = 0; i < value.size(); i++) {
                    long v = value.getLong(i);
                    if (v != (int) v) {
                        throw LstmxException.badInput(source + ": input '" + name + "': value " + v + " at flat index " + i
                                + " does not fit the int32 the model declares");
                    }
                }
            }
            return value.withDType(declared);
        }
        return value; // floats for an integer input would be lossy: the runtime refuses it, naming the input
    }

    private Map<String, Tensor> conformAll(Map<String, Tensor> inputs) {
        if (inputs == null) {
            return null; // the runtime names what is missing
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
            boolean declared = declaredInputs.containsKey(e.getKey());
            out.put(e.getKey(), declared && e.getValue() != null ? relabel(e.getKey(), e.getValue()) : e.getValue());
        }
        return out;
    }
}
