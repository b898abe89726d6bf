package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.FileProbe;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatReader;
import io.lstmx.formats.ReadOptions;
import io.lstmx.formats.Recognition;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ValueInfo;
import io.lstmx.passes.DeadLayerRemoval;
import io.lstmx.passes.DenseBiasFusion;
import io.lstmx.util.UniqueNames;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reader plug-in for TorchScript archives ({@code torch.jit.save} of a traced or scripted module):
 * data.pkl (the module tree and its parameters, unpickled with the allow-list), constants.pkl and
 * the code/ folder, whose {@code forward} is run symbolically by {@link ScriptInterpreter} into IR
 * layers. Nothing from the file is executed: the code is read as a syntax tree and interpreted for
 * the operators {@link TorchOps} declares. Inputs are forward's parameters, outputs what it returns
 * (tuples flattened, named {@code output} or {@code output_0}, {@code output_1}, ...).
 */
public final class TorchScriptReader implements FormatReader {
    @Override
    public Format format() {
        return Format.TORCHSCRIPT;
    }

    @Override
    public Recognition recognise(FileProbe probe) {
        // torch.jit.save archives hold "<name>/code/..." and "<name>/constants.pkl" beside data.pkl.
        if (probe.isRegularFile() && probe.zipEntryNames().stream().anyMatch(TorchScriptReader::isScriptEntry)) {
            return Recognition.BY_CONTENT;
        }
        return Format.TORCHSCRIPT.extensions().contains(probe.extension()) && !probe.isZip() && !isPickle(probe)
                ? Recognition.BY_NAME : Recognition.NO;
    }

    /**
     * Whether a zip entry belongs only to TorchScript archives: code/ or constants.pkl, under the
     * archive's folder or, like the data.pkl the state_dict reader also accepts there, at the top.
     */
    static boolean isScriptEntry(String name) {
        return name.startsWith("code/") || name.contains("/code/") || name.equals("constants.pkl") || name.endsWith("/constants.pkl");
    }

    static boolean isPickle(FileProbe probe) {
        byte[] h = probe.head();
        return h.length >= 2 && (h[0] & 0xff) == 0x80 && h[1] >= 2 && h[1] <= 5;
    }

    @Override
    public Model read(Path path, ReadOptions options) {
        try (TorchFile f = TorchFile.open(path)) {
            if (!(f.root instanceof Py.Obj root)) {
                throw LstmxException.badInput(path + ": data.pkl holds " + Py.typeName(f.root) + ", not a TorchScript module");
            }
            ScriptCode code = ScriptCode.load(f);
            if (!(f.constants() instanceof Py.Tuple constants)) {
                throw LstmxException.badInput(path + ": constants.pkl is not a tuple");
            }
            return build(f, root, code, constants);
        } catch (LstmxException e) {
            throw e.getMessage() != null && e.getMessage().contains(path.toString()) ? e : e.withContext(path.toString());
        }
    }

    /** Most times the inputs' ranks and types are guessed again. */
    static final int MAX_GUESSES = 64;

    /**
     * Runs forward with every input guessed as a float tensor of rank 3, and again with a better
     * guess each time an operator says what an input must be (an embedding's int64 ids of rank 2,
     * a cell's states of rank 2, ...). When the code fails on a guess no operator pinned, other
     * ranks (2, 4, 1) of those inputs are tried, fewest changes first; the first error is reported
     * when none works.
     */
    private static Model build(TorchFile f, Py.Obj root, ScriptCode code, Py.Tuple constants) {
        Map<String, ScriptInterpreter.Guess> pinned = new HashMap<>();
        List<Map<String, ScriptInterpreter.Guess>> alternatives = null;
        LstmxException first = null;
        int next = 0;
        Map<String, ScriptInterpreter.Guess> guesses = new HashMap<>(pinned);
        for (int attempt = 0; attempt < MAX_GUESSES; attempt++) {
            ScriptInterpreter in = new ScriptInterpreter(f, code, constants, guesses);
            ScriptValues.ModuleRef top = (ScriptValues.ModuleRef) in.fromPickle(root, "");
            if (top.cls() == null) {
                throw LstmxException.badInput(f.path() + ": the model's class " + root.cls.qualified() + " has no code in code/");
            }
            try {
                Object result = in.runForward(top);
                if (!in.unknown.isEmpty()) {
                    throw in.reportUnknown();
                }
                return model(f, in, top, result);
            } catch (ScriptInterpreter.Retry r) {
                if (r.guess.equals(guesses.get(r.input))) {
                    throw LstmxException.unsupported(f.path() + ": cannot tell the rank and type of input '" + r.input + "'");
                }
                guesses.put(r.input, r.guess);
                if (alternatives == null) {
                    pinned.put(r.input, r.guess);
                }
            } catch (LstmxException e) {
                if (first == null) {
                    first = e;
                    alternatives = alternatives(in.inputTensors.stream().map(t -> t.value).filter(n -> !pinned.containsKey(n)).toList(),
                            pinned);
                }
                if (!in.unknown.isEmpty() || next >= alternatives.size()) {
                    throw first;
                }
                guesses = new HashMap<>(alternatives.get(next++));
            }
        }
        throw first != null ? first : LstmxException.unsupported(f.path() + ": cannot tell the ranks and types of the inputs");
    }

    /** Other rank guesses for the free inputs, fewest changed first (at most {@link #MAX_GUESSES}). */
    private static List<Map<String, ScriptInterpreter.Guess>> alternatives(List<String> free, Map<String, ScriptInterpreter.Guess> pinned) {
        List<Map<String, ScriptInterpreter.Guess>> out = new ArrayList<>();
        int[] ranks = {3, 2, 4, 1};
        int n = Math.min(free.size(), 4);
        int combos = 1;
        for (int i = 0; i < n; i++) {
            combos *= ranks.length;
        }
        List<int[]> all = new ArrayList<>();
        for (int c = 1; c < combos; c++) {
            int[] pick = new int[n];
            int x = c;
            for (int i = 0; i < n; i++) {
                pick[i] = x % ranks.length;
                x /= ranks.length;
            }
            all.add(pick);
        }
        all.sort(java.util.Comparator.comparingInt(p -> (int) java.util.Arrays.stream(p).filter(v -> v != 0).count()));
        for (int[] pick : all) {
            Map<String, ScriptInterpreter.Guess> g = new HashMap<>(pinned);
            for (int i = 0; i < n; i++) {
                g.put(free.get(i), new ScriptInterpreter.Guess(ranks[pick[i]], io.lstmx.ir.DType.FLOAT32));
            }
            out.add(g);
            if (out.size() >= MAX_GUESSES) {
                break;
            }
        }
        return out;
    }

    private static Model model(TorchFile f, ScriptInterpreter in, ScriptValues.ModuleRef top, Object result) {
        List<Object> flat = new ArrayList<>();
        flatten(result, flat, 0);
        List<ValueInfo> outputs = new ArrayList<>();
        UniqueNames names = new UniqueNames(in.inputTensors.stream().map(t -> t.value).toList());
        for (int i = 0; i < flat.size(); i++) {
            Object o = flat.get(i);
            if (!(o instanceof ScriptValues.STensor t)) {
                throw LstmxException.unsupported(f.path() + ": forward returns " + ScriptInterpreter.describe(o) + " as output " + i
                        + "; lstmx reads models that return tensors");
            }
            String name = names.fresh(flat.size() == 1 ? "output" : "output_" + i);
            ScriptValues.STensor r = in.runtimeOf(t);
            in.add(new Layer.Identity(in.layerName(name), r.value, name));
            outputs.add(new ValueInfo(name, r.dtype, shape(r.shape)));
        }
        List<ValueInfo> inputs = new ArrayList<>();
        for (ScriptValues.STensor t : in.inputTensors) {
            boolean anyRank = in.rankFree.contains(t.value) && !in.rankPinned.contains(t.value);
            inputs.add(new ValueInfo(t.value, t.dtype, anyRank ? Shape.UNKNOWN : shape(t.shape)));
        }
        String file = f.path().getFileName() == null ? "model" : f.path().getFileName().toString();
        int dot = file.lastIndexOf('.');
        String detail = f.container.replace("torch.save zip archive", "TorchScript archive") + "; module " + top.obj().cls.qualified()
                + "; forward(" + String.join(", ", in.inputTensors.stream().map(t -> t.value).toList()) + ")";
        Model m = new Model(dot > 0 ? file.substring(0, dot) : file, new ModelInfo("torchscript", "torch.jit", detail), inputs, outputs,
                in.layers);
        return new DeadLayerRemoval().apply(new DenseBiasFusion().apply(m));
    }

    private static void flatten(Object v, List<Object> out, int depth) {
        List<Object> items = ScriptInterpreter.items(v);
        if (items != null && depth < 8) {
            for (Object o : items) {
                flatten(o, out, depth + 1);
            }
        } else {
            out.add(v);
        }
    }

    private static Shape shape(List<Object> dims) {
        List<Object> out = new ArrayList<>();
        for (Object d : dims) {
            Object r = ScriptValues.resolve(d);
            out.add(r instanceof ScriptValues.Sym s ? s.label() : r);
        }
        return Shape.of(out.toArray());
    }
}
