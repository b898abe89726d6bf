package io.lstmx.importers.keras;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.Direction;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Keras Bidirectional(LSTM | GRU | SimpleRNN) as one BIDIRECTIONAL IR layer: the forward layer's
 * weights, then the backward layer's (Keras' order of {@code layer.weights}). The IR's reverse
 * direction gives its sequence aligned with the input, as Bidirectional does (it flips the backward
 * layer's output back), and its last h is the backward layer's last output. merge_mode:
 * {@code concat} [forward, backward] on the last axis; {@code sum}, {@code mul}, {@code ave} the
 * two element-wise (ave as (f + b) * 0.5); {@code None} two outputs. With {@code return_state}
 * the states follow: forward h (and c), then backward h (and c). A backward_layer given apart
 * must match the forward one's kind, units and use_bias (its activations may differ). A masked
 * input is the layer's per-step mask, masked outputs zero when sequences are returned (Keras's
 * Bidirectional sets zero_output_for_mask to return_sequences), and the returned sequence carries
 * the mask on.
 */
final class BidirectionalLayer implements LayerConverter {
    @Override
    public List<KValue> convert(KerasGraph g, KerasConfig.LayerSpec l, List<KValue> inputs) {
        KValue x = RecurrentLayer.single(g, l, inputs);
        KerasConfig.LayerSpec fl = inner(g, l, "layer");
        JsonElement be = l.config().get("backward_layer");
        KerasConfig.LayerSpec bl = Json.isNull(be) ? fl : inner(g, l, "backward_layer");
        RecurrentLayer.Cell fc = RecurrentLayer.cell(g, fl);
        RecurrentLayer.Cell bc = RecurrentLayer.cell(g, bl);
        if (fc.goBackwards() || fc.timeMajor()) {
            throw g.unsupported(l, "wraps a layer with " + (fc.goBackwards() ? "go_backwards=True" : "time_major=True") + "; not supported");
        }
        if (bl != fl && (bc.kind() != fc.kind() || bc.units() != fc.units() || bc.useBias() != fc.useBias()
                || bc.resetAfter() != fc.resetAfter() || bc.returnSequences() != fc.returnSequences())) {
            throw g.unsupported(l, "its backward_layer differs from its forward layer in kind, units, use_bias, reset_after or"
                    + " return_sequences; lstmx takes one IR layer of both directions");
        }
        String mode = Json.str(l.config(), "merge_mode", null, g.where(l));
        if (mode != null && !List.of("concat", "sum", "mul", "ave").contains(mode)) {
            throw g.unsupported(l, "merge_mode '" + mode + "' (concat, sum, mul, ave and None are supported)");
        }
        int in = RecurrentLayer.inputSize(g, l, x);
        List<String> names = new ArrayList<>(RecurrentLayer.names(fc));
        names.addAll(RecurrentLayer.names(bc).stream().map(n -> "backward " + n).toList());
        List<WeightSource.Var> vars = g.weights(l, names);
        int per = RecurrentLayer.names(fc).size();
        fc = fc.resolved(vars.subList(0, per));
        bc = bc.resolved(vars.subList(per, 2 * per));
        Object fw = RecurrentLayer.weights(g, l, fc, in, vars.subList(0, per));
        Object bw = RecurrentLayer.weights(g, l, bc, in, vars.subList(per, 2 * per));
        List<ActivationFn> acts = new ArrayList<>(fc.activations());
        acts.addAll(bc.activations());
        // Bidirectional forces zero_output_for_mask = return_sequences on both layers
        String[] states = RecurrentLayer.initialStates(g, l, fc, inputs, 2);
        RecurrentLayer.Emitted e = RecurrentLayer.emit(g, l, l.name(), x, fc, in, Direction.BIDIRECTIONAL, List.of(fw, bw), acts,
                fc.returnSequences(), states);
        String base = l.name();
        long b = x.shape()[0];
        int h = fc.units();
        List<KValue> outs = new ArrayList<>();
        if (fc.returnSequences()) {
            // Y [B, T, 2, H]
            long t = x.shape()[1];
            KValue y = new KValue(e.y(), new long[] {b, t, 2, h}, x.dtype(), null);
            // Keras carries the input's mask on to the returned sequence(s)
            for (KValue v : merge(g, base, y, 2, mode, new long[] {b, t})) {
                outs.add(new KValue(v.name(), v.shape(), v.dtype(), x.mask()));
            }
        } else {
            String last = e.yh();
            if (x.mask() != null && states[0] != null) {
                // Keras's last outputs are outputs[-1] of each direction: zeros for a row with every step masked, where the
                // carried state is the initial one. The forward's is Y at the last step, the backward's Y at the first.
                last = lastOutputs(g, base, e.y());
            }
            KValue yh = new KValue(last, new long[] {b, 2, h}, x.dtype(), null);
            outs.addAll(merge(g, base, yh, 1, mode, new long[] {b}));
        }
        if (fc.returnState()) {
            KValue yh = new KValue(e.yh(), new long[] {b, 2, h}, x.dtype(), null);
            List<KValue> hs = split(g, base + "/h", yh, 1, new long[] {b});
            List<KValue> cs = e.yc() == null ? List.of() : split(g, base + "/c", yh.withName(e.yc()), 1, new long[] {b});
            outs.add(hs.get(0));
            if (!cs.isEmpty()) {
                outs.add(cs.get(0));
            }
            outs.add(hs.get(1));
            if (!cs.isEmpty()) {
                outs.add(cs.get(1));
            }
        }
        return outs;
    }

    /** [B, 2, H]: Y [B, T, 2, H] of the forward direction at the last step, of the backward direction at the first. */
    private static String lastOutputs(KerasGraph g, String base, String y) {
        String[] at = new String[2];
        for (int d = 0; d < 2; d++) {
            String step = g.value(base + "/last_output_step" + d);
            g.add(new Layer.Select(g.layerName(base + ".last_output_step" + d), y, step, 1, d == 0 ? -1 : 0));
            at[d] = g.value(base + "/last_output" + d);
            g.add(new Layer.Slice(g.layerName(base + ".last_output" + d), step, at[d], 1, d, d + 1, 1));
        }
        String out = g.value(base + "/last_outputs");
        g.add(new Layer.Concat(g.layerName(base + ".last_outputs"), List.of(at[0], at[1]), out, 1));
        return out;
    }

    private static KerasConfig.LayerSpec inner(KerasGraph g, KerasConfig.LayerSpec l, String key) {
        JsonObject o = Json.obj(l.config(), key, g.where(l));
        String cls = Json.str(o, "class_name", g.where(l));
        JsonObject cfg = Json.obj(o, "config", g.where(l) + ": " + key);
        String module = Json.str(o, "module", null, g.where(l));
        String registered = Json.str(o, "registered_name", null, g.where(l));
        if ((registered != null && !registered.equals(cls)) || (module != null && !module.startsWith("keras"))) {
            throw g.unsupported(l, "wraps a custom layer '" + (registered != null ? registered : module + "." + cls) + "'");
        }
        if (!List.of("LSTM", "GRU", "SimpleRNN").contains(cls)) {
            throw g.unsupported(l, "wraps a '" + cls + "'; lstmx converts Bidirectional LSTM, GRU and SimpleRNN");
        }
        String name = Json.str(cfg, "name", l.name() + "/" + key, g.where(l));
        return new KerasConfig.LayerSpec(cls, name, cfg, null, List.of());
    }

    /** The two directions of {@code v} (directions on {@code axis}) merged as merge_mode says; lead = the shape before that axis. */
    private static List<KValue> merge(KerasGraph g, String base, KValue v, int axis, String mode, long[] lead) {
        long h = v.last();
        if ("concat".equals(mode)) {
            String out = g.value(base);
            List<Long> shape = new ArrayList<>();
            for (int i = 0; i < axis; i++) {
                shape.add(0L);
            }
            shape.add(-1L);
            g.add(new Layer.Reshape(g.layerName(base + ".concat_directions"), v.name(), out, shape));
            return List.of(new KValue(out, append(lead, h < 0 ? -1 : 2 * h), v.dtype(), null));
        }
        List<KValue> parts = split(g, base + (mode == null ? "" : "/direction"), v, axis, lead);
        if (mode == null) {
            return parts;
        }
        String out = g.value(base);
        String sum = "ave".equals(mode) ? g.value(base + "/sum") : out;
        Layer.Binary.Op op = "mul".equals(mode) ? Layer.Binary.Op.MUL : Layer.Binary.Op.ADD;
        g.add(new Layer.Binary(g.layerName(base + "." + mode), op, parts.get(0).name(), parts.get(1).name(), sum));
        if ("ave".equals(mode)) {
            String half = g.constant(base + "/half", Tensor.scalar(0.5f));
            g.add(new Layer.Binary(g.layerName(base + ".half"), Layer.Binary.Op.MUL, sum, half, out));
        }
        return List.of(parts.get(0).withName(out));
    }

    /** The forward and backward parts of {@code v} along {@code axis}, that axis removed. */
    private static List<KValue> split(KerasGraph g, String base, KValue v, int axis, long[] lead) {
        List<KValue> out = new ArrayList<>();
        String[] which = {"forward", "backward"};
        for (int d = 0; d < 2; d++) {
            String sl = g.value(base + "_" + which[d] + "_slice");
            g.add(new Layer.Slice(g.layerName(base + "." + which[d] + "_slice"), v.name(), sl, axis, d, d + 1, 1));
            String sq = g.value(base + "_" + which[d]);
            g.add(new Layer.Squeeze(g.layerName(base + "." + which[d]), sl, sq, List.of(axis)));
            out.add(new KValue(sq, append(lead, v.last()), v.dtype(), null));
        }
        return out;
    }

    private static long[] append(long[] a, long x) {
        long[] r = java.util.Arrays.copyOf(a, a.length + 1);
        r[a.length] = x;
        return r;
    }
}
