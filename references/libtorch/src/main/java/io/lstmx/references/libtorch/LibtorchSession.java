package io.lstmx.references.libtorch;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.JniUtils;
import io.lstmx.api.ReferenceEngine;
import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import io.lstmx.util.SafeText;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One TorchScript archive ({@code torch.jit.save}) loaded in libtorch, on the CPU, in eval mode.
 * {@code forward} is called with the inputs in the order of its parameters (float tensors as
 * float32, integer ones as int64); what it returns is flattened depth-first (a tuple
 * {@code (y, (h, c))} gives y, h, c) into outputs named {@code output_0}, {@code output_1}, ...
 * Not thread-safe.
 */
public final class LibtorchSession implements ReferenceEngine.Session {
    private final Path file;
    private final PtNDManager manager;
    private final PtSymbolBlock block;
    /** forward's parameter names, or null when the archive does not say them (inputs then go in the order given). */
    private final List<String> inputNames;
    private List<String> outputNames;

    private LibtorchSession(Path file, PtNDManager manager, PtSymbolBlock block, List<String> inputNames) {
        this.file = file;
        this.manager = manager;
        this.block = block;
        this.inputNames = inputNames;
    }

    /**
     * Opens {@code file} once libtorch has started and passed its self-check. A file that is not a
     * TorchScript archive libtorch loads is BAD_INPUT; libtorch missing on this machine, or failing
     * its self-check, is UNSUPPORTED.
     *
     * @param file a torch.jit.save archive
     * @return the session; close it when done
     */
    public static LibtorchSession open(Path file) {
        LibtorchRuntime.State s = LibtorchRuntime.state();
        if (s.failure() != null) {
            throw LstmxException.unsupported(file + ": " + s.failure());
        }
        if (s.untrusted() != null) {
            throw LstmxException.unsupported(file + ": libtorch " + s.version() + " is not trusted on this machine: " + s.untrusted());
        }
        return openUnchecked(file);
    }

    /** Opens {@code file} in libtorch without looking at the self-check (for the self-check itself and the investigation). */
    static LibtorchSession openUnchecked(Path file) {
        if (!Files.isRegularFile(file)) {
            throw LstmxException.badInput(file + ": no such TorchScript file");
        }
        if (!isZip(file)) {
            throw LstmxException.badInput(file + ": libtorch cannot load it: not a TorchScript archive (a torch.jit.save zip)");
        }
        PtNDManager m = (PtNDManager) NDManager.newBaseManager();
        try {
            PtSymbolBlock b = JniUtils.loadModule(m, file, true, new String[0], new String[0], false);
            return new LibtorchSession(file, m, b, TorchScriptSignature.forwardParameters(file));
        } catch (EngineException | IllegalArgumentException e) {
            m.close();
            throw new LstmxException(ErrorCode.BAD_INPUT, file + ": libtorch cannot load the TorchScript archive: " + reason(e), e);
        } catch (RuntimeException | Error e) {
            m.close();
            throw e;
        }
    }

    private static boolean isZip(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(4);
            return head.length == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
        } catch (IOException e) {
            throw LstmxException.badInput(file + ": cannot read it: " + e.getMessage());
        }
    }

    /**
     * forward's parameter names after self, as the archive's code spells them; empty when the
     * archive does not say them (inputs are then taken in the order given).
     */
    @Override
    public List<String> inputNames() {
        return inputNames == null ? List.of() : inputNames;
    }

    /**
     * {@code output_0}, {@code output_1}, ... : one per tensor forward returns, flattened; known
     * after the first run (empty before).
     */
    @Override
    public List<String> outputNames() {
        return outputNames == null ? List.of() : outputNames;
    }

    /**
     * Runs forward. Inputs are matched to forward's parameters by name (every parameter needs one),
     * or taken in the map's order when the archive does not name them. Inputs libtorch refuses
     * (wrong count, rank, size or type) are BAD_INPUT; any other failure to run is UNSUPPORTED.
     *
     * @param inputs values by name
     * @return every tensor forward returns, flattened depth-first, as output_K
     */
    @Override
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        List<Map.Entry<String, Tensor>> ordered = order(inputs);
        List<IValue> made = new ArrayList<>();
        try (NDManager sub = manager.newSubManager()) {
            IValue[] args = new IValue[ordered.size()];
            for (int i = 0; i < args.length; i++) {
                args[i] = IValue.from(toTorch((PtNDManager) sub, ordered.get(i).getValue(), ordered.get(i).getKey()));
                made.add(args[i]);
            }
            IValue result;
            try {
                result = block.forward(args);
            } catch (EngineException e) {
                String why = reason(e);
                boolean theirs = why.contains("xpected") || why.contains("argument") || why.contains("size")
                        || why.contains("shape") || why.contains("must") || why.contains("dimension");
                throw new LstmxException(theirs ? ErrorCode.BAD_INPUT : ErrorCode.UNSUPPORTED,
                        file + (theirs ? ": libtorch refuses the inputs: " : ": libtorch cannot run this model: ") + why, e);
            }
            made.add(result);
            List<Tensor> flat = new ArrayList<>();
            flatten(result, (PtNDManager) sub, flat, made, 0);
            Map<String, Tensor> out = new LinkedHashMap<>();
            List<String> names = new ArrayList<>();
            for (int k = 0; k < flat.size(); k++) {
                names.add("output_" + k);
                out.put("output_" + k, flat.get(k));
            }
            outputNames = List.copyOf(names);
            return out;
        } finally {
            made.forEach(IValue::close);
        }
    }

    private List<Map.Entry<String, Tensor>> order(Map<String, Tensor> inputs) {
        if (inputNames == null) {
            return new ArrayList<>(inputs.entrySet());
        }
        Set<String> known = new HashSet<>(inputNames);
        for (String k : inputs.keySet()) {
            if (!known.contains(k)) {
                throw LstmxException.badInput(file + ": the TorchScript module's forward has no parameter '" + SafeText.name(k)
                        + "'; it has " + SafeText.list(inputNames));
            }
        }
        List<Map.Entry<String, Tensor>> out = new ArrayList<>();
        for (String n : inputNames) {
            Tensor t = inputs.get(n);
            if (t == null) {
                throw LstmxException.badInput(file + ": no value given for forward's parameter '" + SafeText.name(n)
                        + "'; it takes " + SafeText.list(inputNames));
            }
            out.add(Map.entry(n, t));
        }
        return out;
    }

    private PtNDArray toTorch(PtNDManager m, Tensor t, String name) {
        Shape shape = new Shape(Arrays.stream(t.shape()).asLongStream().toArray());
        if (t.dtype().isFloating()) {
            return (PtNDArray) m.create(t.toFloatArray(), shape);
        }
        if (t.dtype() == DType.INT64 || t.dtype() == DType.INT32) {
            return (PtNDArray) m.create(t.toLongArray(), shape);
        }
        throw LstmxException.unsupported(file + ": input '" + SafeText.name(name) + "' is " + t.dtype()
                + ", which lstmx's libtorch runner does not feed (float and integer tensors only)");
    }

    private void flatten(IValue v, PtNDManager m, List<Tensor> out, List<IValue> made, int depth) {
        if (depth > 64) {
            throw LstmxException.unsupported(file + ": forward returns values nested more than 64 deep");
        }
        if (v.isTensor()) {
            out.add(fromTorch(v.toTensor(m), out.size()));
            return;
        }
        IValue[] parts;
        if (v.isTuple()) {
            parts = v.toIValueTuple();
        } else if (v.isList() || v.isTensorList()) {
            parts = v.toIValueArray();
        } else {
            throw LstmxException.unsupported(file + ": forward returns a " + SafeText.name(v.getType())
                    + " as output " + out.size() + "; lstmx's libtorch runner reads tensors, and tuples and lists of them");
        }
        made.addAll(Arrays.asList(parts));
        for (IValue p : parts) {
            flatten(p, m, out, made, depth + 1);
        }
    }

    private Tensor fromTorch(NDArray a, int index) {
        int[] shape = Arrays.stream(a.getShape().getShape()).mapToInt(Math::toIntExact).toArray();
        DataType dt = a.getDataType();
        if (dt.isFloating()) {
            return Tensor.ofFloats(shape, a.toType(DataType.FLOAT32, false).toFloatArray());
        }
        switch (dt) {
            case INT64:
            case INT32:
            case INT16:
            case INT8:
            case UINT8:
            case BOOLEAN:
                return Tensor.ofLongs(dt == DataType.INT32 ? DType.INT32 : DType.INT64, shape,
                        a.toType(DataType.INT64, false).toLongArray());
            default:
                throw LstmxException.unsupported(file + ": output " + index + " is of type " + dt
                        + ", which lstmx's libtorch runner does not read");
        }
    }

    /** The useful line of a libtorch error: its last "Error:" line (after the TorchScript traceback), else the first. */
    static String reason(Throwable e) {
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        String[] lines = msg.split("\\R");
        String best = lines.length == 0 ? msg : lines[0];
        for (String l : lines) {
            String s = l.trim();
            if (s.matches("^[A-Za-z.]*Error: .*")) {
                best = s;
            }
        }
        return SafeText.message(best.trim());
    }

    /** Frees the module and every tensor of the session; never fails. */
    @Override
    public void close() {
        try {
            block.close();
        } catch (RuntimeException e) {
            // freeing native memory: nothing to report
        }
        manager.close();
    }
}
