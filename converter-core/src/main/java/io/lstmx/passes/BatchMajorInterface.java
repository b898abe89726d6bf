package io.lstmx.passes;

import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.ir.Shape;
import io.lstmx.ir.ShapeInference;
import io.lstmx.ir.ValueInfo;
import io.lstmx.util.UniqueNames;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Gives a model a batch-major interface: every model input and output whose batch axis is not
 * first is replaced by one with the batch axis moved to the front (the other axes keep their
 * order), joined to the model by a Transpose. A time-major sequence input {@code [T, B, F]} becomes
 * {@code [B, T, F]}, a time-major sequence output {@code [T, B, H]} becomes {@code [B, T, H]}, and
 * PyTorch's last states {@code h_n} / {@code c_n} {@code [layers*directions, B, H]} become
 * {@code [B, layers*directions, H]}. This changes what the model computes from (and into): the
 * caller must tell the user, from {@link Result#relayouts()}. It is not one of the passes run on
 * every model; writers of formats that hold the batch first (Keras) apply it.
 *
 * <p>Where the batch is: recurrent layers fix it on their ports (time-major: X, Y_h, Y_c, the
 * initial states on axis 1, Y on axis 2; batch-major: axis 0), and it is carried forwards and
 * backwards through the layers that keep an axis recognisably (Transpose, Squeeze, Unsqueeze,
 * Select, Slice and Concat on other axes, Reshape copying the leading axes, element-wise layers,
 * Dense, Embedding, Flatten from axis 1). A value it cannot place (no recurrent layer reaches it
 * through such layers) is left as it is. The relayouted values get new names (the old name with
 * {@code _batch_major}); the Transposes inside are the old values, so no layer changes.
 */
public final class BatchMajorInterface implements Pass {
    /** Suffix of the new names of relayouted inputs and outputs. */
    public static final String SUFFIX = "_batch_major";

    /**
     * One input or output given a batch-major layout.
     *
     * @param input   true for a model input, false for an output
     * @param name    the value's name in the original model
     * @param newName its name in the rewritten model
     * @param perm    new axis k is old axis perm[k] (the batch axis first)
     * @param from    the old declared shape
     * @param to      the new declared shape
     */
    public record Relayout(boolean input, String name, String newName, List<Integer> perm, Shape from, Shape to) {
        public Relayout {
            perm = List.copyOf(perm);
        }

        /** One line for the user, e.g. {@code input 'x' [time, batch, 8] written batch-major as [batch, time, 8] (axes 1, 0, 2)}. */
        public String describe() {
            return (input ? "input '" : "output '") + name + "' " + from.dims() + " written batch-major as " + to.dims()
                    + " (axes " + perm.toString().replaceAll("[\\[\\]]", "") + " of the original)";
        }
    }

    /**
     * The rewritten model and what was relayouted.
     *
     * @param model     the model with a batch-major interface (the argument itself when nothing changed)
     * @param relayouts inputs first, then outputs, each in model order
     */
    public record Result(Model model, List<Relayout> relayouts) {
        public Result {
            relayouts = List.copyOf(relayouts);
        }
    }

    @Override
    public String name() {
        return "batch-major-interface";
    }

    @Override
    public Model apply(Model model) {
        return relayout(model).model();
    }

    /** The model with a batch-major interface, and the list of relayouts (see the class comment). */
    public static Result relayout(Model model) {
        Map<String, ValueInfo> infos = ShapeInference.infer(model);
        Map<String, Integer> batch = batchAxes(model, infos);
        UniqueNames names = new UniqueNames();
        for (ValueInfo v : model.inputs()) {
            names.reserve(v.name());
        }
        for (Layer l : model.layers()) {
            names.reserve(l.name());
            l.outputs().forEach(names::reserve);
        }
        List<Relayout> relayouts = new ArrayList<>();
        List<ValueInfo> inputs = new ArrayList<>();
        List<Layer> pre = new ArrayList<>();
        for (ValueInfo v : model.inputs()) {
            Integer b = batch.get(v.name());
            if (b == null || b == 0 || !v.shape().rankKnown()) {
                inputs.add(v);
                continue;
            }
            List<Integer> perm = front(b, v.shape().rank());
            String nn = names.fresh(v.name() + SUFFIX);
            Shape to = permute(v.shape(), perm);
            inputs.add(new ValueInfo(nn, v.dtype(), to));
            pre.add(new Layer.Transpose(names.fresh(v.name() + "/to_original_layout"), nn, v.name(), inverse(perm)));
            relayouts.add(new Relayout(true, v.name(), nn, perm, v.shape(), to));
        }
        List<ValueInfo> outputs = new ArrayList<>();
        List<Layer> post = new ArrayList<>();
        for (ValueInfo v : model.outputs()) {
            Integer b = batch.get(v.name());
            // an output declared without a shape: the inferred one
            Shape shape = v.shape().rankKnown() || infos.get(v.name()) == null ? v.shape() : infos.get(v.name()).shape();
            if (b == null || b == 0 || !shape.rankKnown()) {
                outputs.add(v);
                continue;
            }
            List<Integer> perm = front(b, shape.rank());
            String nn = names.fresh(v.name() + SUFFIX);
            Shape to = permute(shape, perm);
            outputs.add(new ValueInfo(nn, v.dtype(), to));
            post.add(new Layer.Transpose(names.fresh(v.name() + "/to_batch_major"), v.name(), nn, perm));
            relayouts.add(new Relayout(false, v.name(), nn, perm, shape, to));
        }
        if (relayouts.isEmpty()) {
            return new Result(model, List.of());
        }
        List<Layer> layers = new ArrayList<>(pre);
        layers.addAll(model.layers());
        layers.addAll(post);
        return new Result(new Model(model.name(), model.info(), inputs, outputs, layers), relayouts);
    }

    private static List<Integer> front(int b, int rank) {
        List<Integer> p = new ArrayList<>();
        p.add(b);
        for (int i = 0; i < rank; i++) {
            if (i != b) {
                p.add(i);
            }
        }
        return p;
    }

    private static List<Integer> inverse(List<Integer> perm) {
        Integer[] inv = new Integer[perm.size()];
        for (int i = 0; i < inv.length; i++) {
            inv[perm.get(i)] = i;
        }
        return List.of(inv);
    }

    private static Shape permute(Shape s, List<Integer> perm) {
        List<Dim> d = new ArrayList<>();
        for (int p : perm) {
            d.add(s.dim(p));
        }
        return new Shape(d);
    }

    // ---- where the batch axis is

    /** The batch axis of every value it can be placed for (see the class comment). */
    static Map<String, Integer> batchAxes(Model model, Map<String, ValueInfo> infos) {
        Map<String, Integer> batch = new HashMap<>();
        Propagation p = new Propagation(batch, infos);
        for (int round = 0; round <= model.layers().size() + 1; round++) {
            p.changed = false;
            for (Layer l : model.layers()) {
                p.layer(l);
            }
            if (!p.changed) {
                break;
            }
        }
        return batch;
    }

    private static final class Propagation {
        final Map<String, Integer> batch;
        final Map<String, ValueInfo> infos;
        boolean changed;

        Propagation(Map<String, Integer> batch, Map<String, ValueInfo> infos) {
            this.batch = batch;
            this.infos = infos;
        }

        int rank(String v) {
            ValueInfo i = infos.get(v);
            return i == null || !i.shape().rankKnown() ? -1 : i.shape().rank();
        }

        int norm(int axis, String v) {
            int r = rank(v);
            return axis >= 0 ? axis : r < 0 ? Integer.MIN_VALUE : axis + r;
        }

        void set(String v, int axis) {
            if (v != null && axis >= 0 && !batch.containsKey(v) && (rank(v) < 0 || axis < rank(v))) {
                batch.put(v, axis);
                changed = true;
            }
        }

        Integer get(String v) {
            return batch.get(v);
        }

        /** in and out hold the batch on the same axis. */
        void same(String in, String out) {
            if (get(in) != null) {
                set(out, get(in));
            } else if (get(out) != null) {
                set(in, get(out));
            }
        }

        void layer(Layer l) {
            if (l instanceof Layer.Recurrent r) {
                boolean tm = r.layout() == Layout.TIME_MAJOR;
                set(r.input(), tm ? 1 : 0);
                set(r.initialH(), tm ? 1 : 0);
                set(r.initialC(), tm ? 1 : 0);
                set(r.outputSequence(), tm ? 2 : 0);
                set(r.outputH(), tm ? 1 : 0);
                set(r.outputC(), tm ? 1 : 0);
                set(r.ports().mask(), tm ? 1 : 0);
            } else if (l instanceof Layer.StepMask x) {
                if (!x.anyOverLastAxis() || rank(x.input()) > 1) {
                    same(x.input(), x.output());
                }
            } else if (l instanceof Layer.Transpose t) {
                Integer in = get(t.input());
                if (in != null) {
                    set(t.output(), t.perm().indexOf(in));
                } else if (get(t.output()) != null) {
                    set(t.input(), t.perm().get(get(t.output())));
                }
            } else if (l instanceof Layer.Identity x) {
                same(x.input(), x.output());
            } else if (l instanceof Layer.Activation x) {
                same(x.input(), x.output());
            } else if (l instanceof Layer.Dropout x) {
                same(x.input(), x.output());
            } else if (l instanceof Layer.Cast x) {
                same(x.input(), x.output());
            } else if (l instanceof Layer.Softmax x) {
                same(x.input(), x.output());
            } else if (l instanceof Layer.Dense x) {
                if (rank(x.input()) > 1) {
                    same(x.input(), x.output());
                }
            } else if (l instanceof Layer.LayerNorm x) {
                // over the last axis, as Dense: the other axes (the batch's among them) stay where they are
                if (rank(x.input()) > 1) {
                    same(x.input(), x.output());
                }
            } else if (l instanceof Layer.Embedding x) {
                same(x.input(), x.output());
            } else if (l instanceof Layer.Binary x) {
                if (rank(x.a()) >= 0 && rank(x.a()) == rank(x.b())) {
                    same(x.a(), x.output());
                    same(x.b(), x.output());
                    same(x.a(), x.output());
                }
            } else if (l instanceof Layer.Concat c) {
                int a = norm(c.axis(), c.output());
                Integer known = get(c.output());
                for (String in : c.inputs()) {
                    known = known != null ? known : get(in);
                }
                if (known != null && known != a) {
                    set(c.output(), known);
                    for (String in : c.inputs()) {
                        set(in, known);
                    }
                }
            } else if (l instanceof Layer.Slice s) {
                Integer k = get(s.input()) != null ? get(s.input()) : get(s.output());
                if (k != null && k != norm(s.axis(), s.input())) {
                    same(s.input(), s.output());
                }
            } else if (l instanceof Layer.Select s) {
                int a = norm(s.axis(), s.input());
                if (a < 0) {
                    return;
                }
                Integer in = get(s.input());
                Integer out = get(s.output());
                if (in != null && in != a) {
                    set(s.output(), in > a ? in - 1 : in);
                } else if (in == null && out != null) {
                    set(s.input(), out >= a ? out + 1 : out);
                }
            } else if (l instanceof Layer.Squeeze s) {
                List<Integer> axes = s.axes().stream().map(a -> norm(a, s.input())).toList();
                if (axes.stream().anyMatch(a -> a < 0)) {
                    return;
                }
                Integer in = get(s.input());
                Integer out = get(s.output());
                if (in != null && !axes.contains(in)) {
                    set(s.output(), in - (int) axes.stream().filter(a -> a < in).count());
                } else if (in == null && out != null) {
                    int r = rank(s.input());
                    for (int i = 0, j = 0; i < r; i++) {
                        if (!axes.contains(i) && j++ == out) {
                            set(s.input(), i);
                            break;
                        }
                    }
                }
            } else if (l instanceof Layer.Unsqueeze s) {
                List<Integer> axes = s.axes().stream().map(a -> norm(a, s.output())).toList();
                if (axes.stream().anyMatch(a -> a < 0)) {
                    return;
                }
                Integer in = get(s.input());
                Integer out = get(s.output());
                int r = rank(s.output());
                if (in != null) {
                    for (int i = 0, j = 0; i < r; i++) {
                        if (!axes.contains(i) && j++ == in) {
                            set(s.output(), i);
                            break;
                        }
                    }
                } else if (out != null && !axes.contains(out)) {
                    set(s.input(), out - (int) axes.stream().filter(a -> a < out).count());
                }
            } else if (l instanceof Layer.Reshape s) {
                Integer k = get(s.input()) != null ? get(s.input()) : get(s.output());
                if (k == null || k >= s.shape().size()) {
                    return;
                }
                for (int i = 0; i <= k; i++) {
                    if (s.shape().get(i) != 0) {
                        return;
                    }
                }
                same(s.input(), s.output());
            } else if (l instanceof Layer.Flatten f) {
                if (norm(f.axis(), f.input()) == 1) {
                    if (Integer.valueOf(0).equals(get(f.input()))) {
                        set(f.output(), 0);
                    } else if (Integer.valueOf(0).equals(get(f.output()))) {
                        set(f.input(), 0);
                    }
                }
            }
        }
    }
}
