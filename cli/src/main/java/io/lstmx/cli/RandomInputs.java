package io.lstmx.cli;

import io.lstmx.api.RunBudget;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Dim;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Layout;
import io.lstmx.ir.Model;
import io.lstmx.ir.Tensor;
import io.lstmx.ir.ValueInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Seeded random inputs for a model at several batch sizes and sequence lengths, for comparing two
 * engines. Fixed dimensions keep their size. A symbolic dimension is recognised as batch or time
 * by following the input through the graph to the LSTM layer that reads it (its layout says which
 * axis is which), else by its name ("batch", "seq", "time", ...); dimensions sharing a name share
 * a size. Feature axes reaching an LSTM or Dense get its size. Integer inputs get valid values:
 * sequence lengths in [1, T], embedding indices in [0, vocab) (whole floats for float inputs that index an embedding).
 */
final class RandomInputs {
    static final int[] BATCH_SIZES = {1, 3};
    static final int[] TIME_STEPS = {1, 7};

    /** One set of inputs; {@code label} says which sizes were chosen, e.g. "batch=3 time=7". */
    /** Budget of elements per value (see {@link RunBudget}). */
    private long maxElements = RunBudget.maxElements();

    record Case(String label, Map<String, Tensor> inputs) {
    }

    private enum Role { BATCH, TIME, SIZE }

    /** What the graph says about one axis of one input. */
    private record Hint(Role role, int size) {
    }

    /** An axis of a model input. */
    private record AxisRef(String input, int axis) {
    }

    private final Model model;
    private final Map<String, List<Layer>> consumers = new HashMap<>();
    private final Map<AxisRef, Hint> hints = new HashMap<>();
    /** Integer inputs used as sequence lengths -> name of the LSTM layer reading them. */
    private final Map<String, String> sequenceLengths = new HashMap<>();
    /** Integer inputs used as embedding indices: vocabulary size. */
    private final Map<String, Integer> vocab = new HashMap<>();
    /** LSTM layer name -> the input axis its time steps come from. */
    private final Map<String, AxisRef> lstmTime = new HashMap<>();

    private RandomInputs(Model model) {
        this.model = model;
        for (Layer l : model.layers()) {
            for (String in : l.inputs()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(l);
            }
        }
        for (ValueInfo v : model.inputs()) {
            if (!v.shape().rankKnown()) {
                throw LstmxException.unsupported("model '" + model.name() + "': input '" + v.name()
                        + "' has no declared shape, so no test inputs can be made for it");
            }
            int[] axes = new int[v.shape().rank()];
            for (int i = 0; i < axes.length; i++) {
                axes[i] = i;
            }
            trace(v.name(), v.name(), axes, new HashSet<>());
        }
    }

    /** Inputs for every combination of the default batch sizes and sequence lengths the model leaves open. */
    static List<Case> cases(Model model, long seed) {
        return cases(model, seed, BATCH_SIZES, TIME_STEPS);
    }

    /**
     * Inputs for every combination of {@code batchSizes} and {@code timeSteps} (each at least 1), as
     * far as the model leaves batch and time open; a model with fixed shapes gets one case.
     */
    static List<Case> cases(Model model, long seed, int[] batchSizes, int[] timeSteps) {
        return cases(model, seed, batchSizes, timeSteps, RunBudget.maxElements());
    }

    /** As {@link #cases(Model, long, int[], int[])}, refusing shapes with a value over {@code maxElements} (see {@link RunBudget}). */
    static List<Case> cases(Model model, long seed, int[] batchSizes, int[] timeSteps, long maxElements) {
        RandomInputs r = new RandomInputs(model);
        r.maxElements = maxElements;
        return r.build(seed, batchSizes.clone(), timeSteps.clone());
    }

    private List<Case> build(long seed, int[] batchSizes, int[] timeSteps) {
        Map<AxisRef, Role> roles = new HashMap<>();
        Map<AxisRef, Integer> sizes = new HashMap<>();
        Map<String, Role> roleByName = new HashMap<>();
        Map<String, Integer> sizeByName = new HashMap<>();
        // Graph structure first, then dimension names, then agreement between dimensions of one name.
        for (ValueInfo v : model.inputs()) {
            for (int a = 0; a < v.shape().rank(); a++) {
                if (v.shape().dim(a) instanceof Dim.Symbolic s) {
                    AxisRef ref = new AxisRef(v.name(), a);
                    Hint h = hints.get(ref);
                    Role r = h != null ? h.role() : roleFromName(s.name());
                    if (r != null) {
                        roles.put(ref, r);
                        if (r == Role.SIZE) {
                            sizes.put(ref, h.size());
                        }
                        if (!s.name().isEmpty()) {
                            roleByName.putIfAbsent(s.name(), r);
                            if (r == Role.SIZE) {
                                sizeByName.putIfAbsent(s.name(), h.size());
                            }
                        }
                    }
                }
            }
        }
        boolean anyBatch = false;
        boolean anyTime = false;
        for (ValueInfo v : model.inputs()) {
            for (int a = 0; a < v.shape().rank(); a++) {
                if (v.shape().dim(a) instanceof Dim.Symbolic s) {
                    AxisRef ref = new AxisRef(v.name(), a);
                    if (!s.name().isEmpty() && roleByName.containsKey(s.name())) {
                        roles.put(ref, roleByName.get(s.name()));
                        if (roleByName.get(s.name()) == Role.SIZE) {
                            sizes.put(ref, sizeByName.get(s.name()));
                        }
                    }
                    anyBatch |= roles.get(ref) == Role.BATCH;
                    anyTime |= roles.get(ref) == Role.TIME;
                }
            }
        }
        int[] batches = anyBatch ? batchSizes : new int[] {-1};
        int[] times = anyTime ? timeSteps : new int[] {-1};
        List<Case> cases = new ArrayList<>();
        int index = 0;
        for (int b : batches) {
            for (int t : times) {
                Random rnd = new Random(seed * 1_000_003L + index++);
                Map<String, long[]> shapes = new LinkedHashMap<>();
                for (ValueInfo v : model.inputs()) {
                    long[] shape = new long[v.shape().rank()];
                    for (int a = 0; a < shape.length; a++) {
                        Dim d = v.shape().dim(a);
                        if (d instanceof Dim.Fixed f) {
                            shape[a] = f.size();
                        } else {
                            Role r = roles.get(new AxisRef(v.name(), a));
                            // An axis nothing tells about gets 1, which broadcasts against anything.
                            shape[a] = r == null ? 1 : switch (r) {
                                case BATCH -> b;
                                case TIME -> t;
                                case SIZE -> sizes.get(new AxisRef(v.name(), a));
                            };
                        }
                    }
                    shapes.put(v.name(), shape);
                }
                // Before anything is allocated: a declared size of 2*10^8 steps must be refused, not run for minutes.
                RunBudget.check(model, shapes, maxElements, "--max-elements");
                Map<String, int[]> intShapes = new LinkedHashMap<>();
                shapes.forEach((name, shape) -> intShapes.put(name, Arrays.stream(shape).mapToInt(Math::toIntExact).toArray()));
                Map<String, Tensor> inputs = new LinkedHashMap<>();
                for (ValueInfo v : model.inputs()) {
                    inputs.put(v.name(), random(v, intShapes, t, rnd));
                }
                List<String> label = new ArrayList<>();
                if (b > 0) {
                    label.add("batch=" + b);
                }
                if (t > 0) {
                    label.add("time=" + t);
                }
                cases.add(new Case(label.isEmpty() ? "fixed shapes" : String.join(" ", label), inputs));
            }
        }
        return cases;
    }

    private Tensor random(ValueInfo v, Map<String, int[]> shapes, int caseTime, Random rnd) {
        int[] shape = shapes.get(v.name());
        int n = Tensor.elementCount(shape);
        if (v.dtype().isFloating()) {
            float[] f = new float[n];
            for (int i = 0; i < n; i++) {
                // float token ids (Keras feeds them so): whole numbers in [0, vocab), 0 included, which a mask_zero masks
                f[i] = vocab.containsKey(v.name()) ? rnd.nextInt(vocab.get(v.name())) : rnd.nextFloat() * 2f - 1f;
            }
            return Tensor.ofFloats(shape, f);
        }
        long[] l = new long[n];
        if (sequenceLengths.containsKey(v.name())) {
            // Lengths must not exceed the steps the LSTM actually gets.
            AxisRef src = lstmTime.get(sequenceLengths.get(v.name()));
            int steps = src != null && shapes.containsKey(src.input()) ? shapes.get(src.input())[src.axis()] : Math.max(caseTime, 1);
            for (int i = 0; i < n; i++) {
                l[i] = 1 + rnd.nextInt(Math.max(steps, 1));
            }
        } else if (vocab.containsKey(v.name())) {
            for (int i = 0; i < n; i++) {
                l[i] = rnd.nextInt(vocab.get(v.name()));
            }
        } else {
            for (int i = 0; i < n; i++) {
                l[i] = rnd.nextInt(2);
            }
        }
        return Tensor.ofLongs(v.dtype(), shape, l);
    }

    private static Role roleFromName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.contains("batch") || n.equals("n") || n.equals("b") || n.equals("bs")) {
            return Role.BATCH;
        }
        if (n.contains("seq") || n.contains("time") || n.contains("step") || n.contains("len") || n.equals("t")) {
            return Role.TIME;
        }
        return null;
    }

    private void hint(String input, int[] axes, int axis, Role role, int size) {
        if (axis < 0 || axis >= axes.length || axes[axis] < 0) {
            return;
        }
        hints.putIfAbsent(new AxisRef(input, axes[axis]), new Hint(role, size));
    }

    /**
     * Follows {@code value} (derived from model input {@code input}; {@code axes[k]} is the input axis
     * that value axis k comes from, or -1) to the layers reading it.
     */
    private void trace(String input, String value, int[] axes, Set<String> seen) {
        if (!seen.add(value)) {
            return;
        }
        Tracer next = new Tracer(input, value, axes, seen);
        for (Layer l : consumers.getOrDefault(value, List.of())) {
            l.accept(next);
        }
    }

    /** What each kind of layer reading {@code value} tells about the input's axes, and where to follow it on. */
    private final class Tracer implements Layer.Visitor<Void> {
        private final String input;
        private final String value;
        private final int[] axes;
        private final Set<String> seen;

        Tracer(String input, String value, int[] axes, Set<String> seen) {
            this.input = input;
            this.value = value;
            this.axes = axes;
            this.seen = seen;
        }

        @Override public Void visit(Layer.Lstm l) { return recurrent(l); }
        @Override public Void visit(Layer.Gru l) { return recurrent(l); }
        @Override public Void visit(Layer.Rnn l) { return recurrent(l); }

        private Void recurrent(Layer.Recurrent r) {
            traceRecurrent(input, value, axes, r.name(), r.layout(), r.direction().count(), r.inputSize(), r.input(),
                    r.sequenceLengths(), states(r.initialH(), r.outputSize(), r.initialC(), r.cellWidth()));
            return null;
        }

        @Override
        public Void visit(Layer.Embedding e) {
            vocab.putIfAbsent(input, e.table().dim(0));
            int[] next = Arrays.copyOf(axes, axes.length + 1);
            next[axes.length] = -1;
            trace(input, e.output(), next, seen);
            return null;
        }

        @Override
        public Void visit(Layer.Dense d) {
            hint(input, axes, axes.length - 1, Role.SIZE, d.weight().dim(1));
            int[] next = axes.clone();
            if (next.length > 0) {
                next[next.length - 1] = -1;
            }
            trace(input, d.output(), next, seen);
            return null;
        }

        // These keep every axis where it is (for Binary this assumes the other operand does not
        // raise the rank: a bias, a positional encoding, ...); each has one output.
        @Override public Void visit(Layer.Identity l) { return same(l.output()); }
        @Override public Void visit(Layer.Dropout l) { return same(l.output()); }
        @Override public Void visit(Layer.Activation l) { return same(l.output()); }
        @Override public Void visit(Layer.Cast l) { return same(l.output()); }
        @Override public Void visit(Layer.Softmax l) { return same(l.output()); }
        @Override public Void visit(Layer.Concat l) { return same(l.output()); }
        @Override public Void visit(Layer.Slice l) { return same(l.output()); }
        @Override public Void visit(Layer.Binary l) { return same(l.output()); }

        @Override public Void visit(Layer.LayerNorm l) { return same(l.output()); }

        @Override
        public Void visit(Layer.StepMask m) {
            trace(input, m.output(), m.anyOverLastAxis() && axes.length > 0 ? Arrays.copyOf(axes, axes.length - 1) : axes, seen);
            return null;
        }

        private Void same(String output) {
            trace(input, output, axes, seen);
            return null;
        }

        @Override
        public Void visit(Layer.Take t) {
            if (t.indices().rank() == 1) {
                trace(input, t.output(), axes, seen);
            } else if (t.indices().rank() == 0) {
                trace(input, t.output(), remove(axes, List.of(t.axis())), seen);
            }
            return null;
        }

        @Override
        public Void visit(Layer.Select s) {
            trace(input, s.output(), remove(axes, List.of(s.axis())), seen);
            return null;
        }

        @Override
        public Void visit(Layer.Squeeze s) {
            trace(input, s.output(), remove(axes, s.axes()), seen);
            return null;
        }

        @Override
        public Void visit(Layer.Unsqueeze u) {
            int rank = axes.length + u.axes().size();
            boolean[] inserted = new boolean[rank];
            for (int a : u.axes()) {
                int k = a < 0 ? a + rank : a;
                if (k >= 0 && k < rank) {
                    inserted[k] = true;
                }
            }
            int[] next = new int[rank];
            int src = 0;
            for (int k = 0; k < rank; k++) {
                next[k] = inserted[k] || src >= axes.length ? -1 : axes[src++];
            }
            trace(input, u.output(), next, seen);
            return null;
        }

        @Override
        public Void visit(Layer.Transpose t) {
            if (t.perm().size() == axes.length) {
                int[] next = new int[axes.length];
                for (int k = 0; k < next.length; k++) {
                    int p = t.perm().get(k);
                    next[k] = p >= 0 && p < axes.length ? axes[p] : -1;
                }
                trace(input, t.output(), next, seen);
            }
            return null;
        }

        // Reshape, Flatten, MatMul: the axis correspondence is lost; stop here. A Constant reads nothing.
        @Override public Void visit(Layer.Reshape l) { return null; }
        @Override public Void visit(Layer.Flatten l) { return null; }
        @Override public Void visit(Layer.MatMul l) { return null; }
        @Override public Void visit(Layer.Constant l) { return null; }
    }

    /** Initial states present among (h, its width) and (c, its width). */
    private static Map<String, Integer> states(String h, int hWidth, String c, int cWidth) {
        Map<String, Integer> m = new HashMap<>();
        if (h != null) {
            m.put(h, hWidth);
        }
        if (c != null) {
            m.put(c, cWidth);
        }
        return m;
    }

    /** An LSTM, GRU or RNN layer reading {@code value}: X, sequence lengths or an initial state ({@code states}: name to width). */
    private void traceRecurrent(String input, String value, int[] axes, String layer, Layout layout, int dirs, int inputSize,
                                String x, String seqLens, Map<String, Integer> states) {
        boolean timeMajor = layout == Layout.TIME_MAJOR;
        if (value.equals(x)) {
            int time = timeMajor ? 0 : 1;
            hint(input, axes, time, Role.TIME, 0);
            hint(input, axes, 1 - time, Role.BATCH, 0);
            hint(input, axes, 2, Role.SIZE, inputSize);
            if (axes.length > time && axes[time] >= 0) {
                lstmTime.putIfAbsent(layer, new AxisRef(input, axes[time]));
            }
        }
        if (value.equals(seqLens)) {
            hint(input, axes, 0, Role.BATCH, 0);
            sequenceLengths.putIfAbsent(input, layer);
        }
        Integer width = states.get(value);
        if (width != null) {
            hint(input, axes, timeMajor ? 0 : 1, Role.SIZE, dirs);
            hint(input, axes, timeMajor ? 1 : 0, Role.BATCH, 0);
            hint(input, axes, 2, Role.SIZE, width);
        }
    }

    private static int[] remove(int[] axes, List<Integer> which) {
        Set<Integer> drop = new HashSet<>();
        for (int a : which) {
            drop.add(a < 0 ? a + axes.length : a);
        }
        int[] next = new int[axes.length - (int) drop.stream().filter(a -> a >= 0 && a < axes.length).count()];
        int k = 0;
        for (int a = 0; a < axes.length; a++) {
            if (!drop.contains(a)) {
                next[k++] = axes[a];
            }
        }
        return next;
    }
}
