package io.lstmx.runtime;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;
import io.lstmx.util.SafeText;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model compiled for the native runtime: layers prepared once, values addressed by slot number.
 * Immutable; every run works in its own value table, so runs may overlap on several threads.
 */
final class CompiledGraph implements CompiledModel {
    private final Model model;
    private final Step[] steps;
    private final int[][] argSlots;
    private final int[][] outSlots;
    /** Slots no longer needed after step i (dropped so that peak memory stays low). */
    private final int[][] freeAfter;
    private final int[] inputSlots;
    private final int[] outputSlots;
    private final int slotCount;
    /** The declared inputs by name, so that checking the given ones costs no scan of the list per input. */
    private final Map<String, ValueInfo> declaredInputs = new HashMap<>();

    CompiledGraph(Model model) {
        this(model, null);
    }

    /**
     * {@code model} with {@code prepared} steps when given: those of a model with the same inputs and
     * layers (see {@link #exposing}), so that the weights are laid out once.
     */
    private CompiledGraph(Model model, Step[] prepared) {
        this.model = model;
        List<Layer> layers = model.layers();
        // Sized up front (most layers write one value): growing it step by step costs more than filling it.
        Map<String, Integer> slot = new HashMap<>((int) Math.min(1 << 30, (model.inputs().size() + layers.size()) * 4L / 3 + 16));
        for (ValueInfo v : model.inputs()) {
            slot.put(v.name(), slot.size());
            declaredInputs.put(v.name(), v);
        }
        steps = new Step[layers.size()];
        argSlots = new int[layers.size()][];
        outSlots = new int[layers.size()][];
        for (int i = 0; i < steps.length; i++) {
            Layer l = layers.get(i);
            steps[i] = prepared != null ? prepared[i] : Ops.compile(l);
            // Loops, not streams: a stream per layer was most of what compiling 100,000 layers allocated.
            List<String> ins = l.inputs();
            argSlots[i] = new int[ins.size()];
            for (int k = 0; k < argSlots[i].length; k++) {
                argSlots[i][k] = slot.get(ins.get(k));
            }
            List<String> outs = l.outputs();
            outSlots[i] = new int[outs.size()];
            for (int k = 0; k < outSlots[i].length; k++) {
                slot.put(outs.get(k), slot.size());
                outSlots[i][k] = slot.get(outs.get(k));
            }
        }
        slotCount = slot.size();
        inputSlots = model.inputs().stream().mapToInt(v -> slot.get(v.name())).toArray();
        outputSlots = model.outputs().stream().mapToInt(v -> slot.get(v.name())).toArray();
        int[] lastUse = new int[slotCount];
        Arrays.fill(lastUse, -1);
        for (int i = 0; i < steps.length; i++) {
            for (int s : argSlots[i]) {
                lastUse[s] = i;
            }
        }
        for (int s : outputSlots) {
            lastUse[s] = Integer.MAX_VALUE;
        }
        freeAfter = freeLists(lastUse, steps.length);
    }

    /**
     * For each step, the slots whose last use it is, in slot order: one pass over the slots to count,
     * one to fill (a scan of all slots per step would cost steps x slots, quadratic in graph size).
     */
    private static int[][] freeLists(int[] lastUse, int stepCount) {
        int[] count = new int[stepCount];
        for (int step : lastUse) {
            if (step >= 0 && step < stepCount) {
                count[step]++;
            }
        }
        int[][] free = new int[stepCount][];
        for (int i = 0; i < stepCount; i++) {
            free[i] = new int[count[i]];
        }
        int[] filled = new int[stepCount];
        for (int s = 0; s < lastUse.length; s++) {
            int step = lastUse[s];
            if (step >= 0 && step < stepCount) {
                free[step][filled[step]++] = s;
            }
        }
        return free;
    }

    @Override
    public Model model() {
        return model;
    }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        return execute(inputs, null);
    }

    /**
     * A second graph over the same prepared steps whose outputs are this model's followed by the
     * named values; this graph, and so the plain run, is left as it is.
     */
    @Override
    public CompiledModel exposing(List<String> values) {
        List<ValueInfo> outputs = new ArrayList<>(model.outputs());
        // a set, not a scan of the outputs per value: many values and outputs would cost their product
        Set<String> exposed = new HashSet<>(model.outputNames());
        Map<String, ValueInfo> inferred = null;
        for (String v : values) {
            if (!exposed.add(v)) {
                continue;
            }
            if (inferred == null) {
                inferred = ShapeInference.infer(model);
            }
            ValueInfo info = inferred.get(v);
            if (info == null) {
                throw LstmxException.badInput("model '" + model.name() + "' has no value '" + v + "'");
            }
            outputs.add(info);
        }
        Model extended = new Model(model.name(), model.info(), model.inputs(), outputs, model.layers());
        return new CompiledGraph(extended, steps);
    }

    @Override
    public StreamingSession openSession() {
        for (Step s : steps) {
            if (s instanceof RecurrentStep l && l.streamingObstacle() != null) {
                throw LstmxException.unsupported("model '" + model.name() + "' cannot stream: " + l.streamingObstacle());
            }
        }
        return new Session(this);
    }

    int stepCount() {
        return steps.length;
    }

    /**
     * Runs the graph. With {@code carries} (streaming), each recurrent step i (LSTM, GRU, RNN)
     * starts from {@code carries[i]} when set, and the states every one ends with are stored back
     * into {@code carries} only once the whole run has succeeded.
     */
    Map<String, Tensor> execute(Map<String, Tensor> inputs, RecurrentStep.Carry[] carries) {
        Val[] env = new Val[slotCount];
        List<ValueInfo> declared = model.inputs();
        checkInputs(inputs);
        for (int i = 0; i < declared.size(); i++) {
            env[inputSlots[i]] = Val.of(inputs.get(declared.get(i).name()));
        }
        RecurrentStep.Carry[] next = carries == null ? null : carries.clone();
        for (int i = 0; i < steps.length; i++) {
            Step step = steps[i];
            Val[] args = new Val[argSlots[i].length];
            for (int k = 0; k < args.length; k++) {
                args[k] = env[argSlots[i][k]];
            }
            Val[] out = runStep(step, i, args, carries, next);
            for (int k = 0; k < out.length; k++) {
                env[outSlots[i][k]] = out[k];
            }
            for (int s : freeAfter[i]) {
                env[s] = null;
            }
        }
        if (carries != null) {
            System.arraycopy(next, 0, carries, 0, carries.length);
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        for (int i = 0; i < outputSlots.length; i++) {
            result.put(model.outputs().get(i).name(), env[outputSlots[i]].toTensor());
        }
        return result;
    }

    private Val[] runStep(Step step, int index, Val[] args, RecurrentStep.Carry[] carries, RecurrentStep.Carry[] next) {
        Layer layer = model.layers().get(index);
        try {
            if (carries != null && step instanceof RecurrentStep l) {
                return l.run(args, carries[index], c -> next[index] = c);
            }
            return step.run(args);
        } catch (LstmxException e) {
            throw inLayer(layer, e);
        } catch (ArithmeticException | NegativeArraySizeException e) {
            throw LstmxException.badInput("layer '" + layer.name() + "' (" + layer.kind() + "): sizes too large: " + e.getMessage());
        } catch (RuntimeException e) {
            throw new LstmxException(io.lstmx.errors.ErrorCode.INTERNAL,
                    "layer '" + layer.name() + "' (" + layer.kind() + "): internal error " + e, e);
        }
    }

    /** Adds the layer name to errors raised by shared code (e.g. tensor size checks) that do not name it. */
    static LstmxException inLayer(Layer layer, LstmxException e) {
        String prefix = "layer '" + layer.name() + "'";
        return e.getMessage() != null && e.getMessage().startsWith(prefix) ? e : e.withContext(prefix + " (" + layer.kind() + ")");
    }

    /**
     * Every declared input given, nothing else, floats where floats are declared, ranks and fixed
     * dims as declared, and one size per symbolic dim name across all inputs.
     */
    private void checkInputs(Map<String, Tensor> inputs) {
        String m = "model '" + model.name() + "'";
        if (inputs == null) {
            throw LstmxException.badInput(m + ": no inputs given; expected " + SafeText.list(model.inputNames()));
        }
        for (String name : inputs.keySet()) {
            if (!declaredInputs.containsKey(name)) {
                throw LstmxException.badInput(m + ": unknown input '" + name + "'; the inputs are " + SafeText.list(model.inputNames()));
            }
        }
        Map<String, Integer> symbols = new HashMap<>();
        Map<String, String> symbolSource = new HashMap<>();
        for (ValueInfo v : model.inputs()) {
            Tensor t = inputs.get(v.name());
            if (t == null) {
                throw LstmxException.badInput(m + ": input '" + v.name() + "' is missing, expected " + v.dtype() + " " + v.shape());
            }
            checkInput(m, v, t, symbols, symbolSource);
        }
    }

    @Override
    public void checkInput(String name, Tensor value) {
        ValueInfo v = declaredInputs.get(name);
        if (v == null) {
            checkInput(model, name, value); // which names the inputs
        } else {
            checkInput("model '" + model.name() + "'", v, value, new HashMap<>(), new HashMap<>());
        }
    }

    /** One input on its own (see {@link CompiledModel#checkInput}). */
    static void checkInput(Model model, String name, Tensor value) {
        checkInput("model '" + model.name() + "'", model.input(name), value, new HashMap<>(), new HashMap<>());
    }

    /**
     * Floats where floats are declared, rank and fixed dims as declared; {@code symbols} collects
     * the sizes of named symbolic dims (with the input that gave each in {@code symbolSource}) so
     * that they agree across inputs.
     */
    private static void checkInput(String m, ValueInfo v, Tensor t, Map<String, Integer> symbols, Map<String, String> symbolSource) {
        String expected = v.dtype() + " " + v.shape();
        if (t.dtype().isFloating() != v.dtype().isFloating()) {
            throw LstmxException.badInput(m + ": input '" + v.name() + "' is " + t.dtype() + " " + Arrays.toString(t.shape())
                    + ", expected " + (v.dtype().isFloating() ? "float" : "integer") + " values (" + expected + ")");
        }
        Shape s = v.shape();
        if (!s.rankKnown()) {
            return;
        }
        int[] actual = t.shape();
        if (actual.length != s.rank()) {
            throw LstmxException.badInput(m + ": input '" + v.name() + "' has shape " + Arrays.toString(actual)
                    + " (rank " + actual.length + "), expected " + expected + " (rank " + s.rank() + ")");
        }
        for (int i = 0; i < actual.length; i++) {
            Dim d = s.dim(i);
            if (d instanceof Dim.Fixed f && f.size() != actual[i]) {
                throw LstmxException.badInput(m + ": input '" + v.name() + "' has shape " + Arrays.toString(actual)
                        + ", expected " + expected + " (dim " + i + " must be " + f.size() + ")");
            }
            if (d instanceof Dim.Symbolic sym && !sym.name().isEmpty()) {
                Integer seen = symbols.putIfAbsent(sym.name(), actual[i]);
                if (seen == null) {
                    symbolSource.put(sym.name(), v.name());
                } else if (seen != actual[i]) {
                    throw LstmxException.badInput(m + ": input '" + v.name() + "' has shape " + Arrays.toString(actual)
                            + ", dim " + i + " ('" + sym.name() + "') is " + actual[i] + ", but input '"
                            + symbolSource.get(sym.name()) + "' gave '" + sym.name() + "' = " + seen);
                }
            }
        }
    }
}
