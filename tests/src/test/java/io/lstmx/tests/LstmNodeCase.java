package io.lstmx.tests;

import io.lstmx.references.onnxruntime.OnnxRuntimeReference;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import io.lstmx.onnx.OnnxTensors;
import io.lstmx.onnx.proto.Onnx.AttributeProto;
import io.lstmx.onnx.proto.Onnx.GraphProto;
import io.lstmx.onnx.proto.Onnx.ModelProto;
import io.lstmx.onnx.proto.Onnx.NodeProto;
import io.lstmx.onnx.proto.Onnx.OperatorSetIdProto;
import io.lstmx.onnx.proto.Onnx.TensorProto;
import io.lstmx.onnx.proto.Onnx.TensorShapeProto;
import io.lstmx.onnx.proto.Onnx.TypeProto;
import io.lstmx.onnx.proto.Onnx.ValueInfoProto;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * One single-node ONNX LSTM (or, with {@link #op}, GRU or RNN) model, written directly with the generated protos (not by lstmx), with
 * seeded random weights and inputs. Expected outputs come from onnxruntime. onnxruntime's CPU
 * kernel refuses layout=1, so a batch-major case is run there as its time-major twin (same weights
 * and attributes, layout 0) on transposed inputs, and the twin's outputs are transposed back.
 */
final class LstmNodeCase {
    final String name;
    /** LSTM, GRU or RNN (GRU and RNN have no initial_c, P, Y_c or input_forget). */
    final String op;
    /** GRU only: the linear_before_reset attribute, or null to leave it out. */
    Long linearBeforeReset;
    int opset = 14;
    String direction = "forward";
    int layout;
    int t = 4;
    int batch = 3;
    int in = 3;
    int hidden = 5;
    boolean bias = true;
    int[] seqLens;
    boolean initialH;
    boolean initialC;
    /** Initial states (and sequence lengths) as initializers instead of graph inputs. */
    boolean constantStates;
    boolean peephole;
    Float clip;
    boolean inputForget;
    List<String> activations;
    List<Float> alphas;
    List<Float> betas;
    boolean y = true;
    boolean yh = true;
    boolean yc = true;
    /** Symbolic batch and time dims in the graph's declared shapes (false: fixed sizes). */
    boolean dynamicDims = true;

    private Tensor w;
    private Tensor r;
    private Tensor b;
    private Tensor p;
    private Map<String, Tensor> inputs;
    private Map<String, Tensor> stateConstants;

    LstmNodeCase(String name) {
        this(name, "LSTM");
    }

    LstmNodeCase(String name, String op) {
        this.name = name;
        this.op = op;
        if (!op.equals("LSTM")) {
            yc = false;
        }
    }

    /** Gate blocks of the operator: LSTM 4, GRU 3, RNN 1. */
    int gates() {
        return switch (op) {
            case "LSTM" -> 4;
            case "GRU" -> 3;
            case "RNN" -> 1;
            default -> throw new IllegalStateException("no ONNX recurrent operator " + op);
        };
    }

    int dirs() {
        return direction.equals("bidirectional") ? 2 : 1;
    }

    @Override
    public String toString() {
        return name;
    }

    /** Draws weights and inputs (seeded by the case name, so every run sees the same numbers). */
    LstmNodeCase done() {
        Random rnd = new Random(name.hashCode());
        int d = dirs();
        // Weights of size ~1/sqrt(H) keep gates away from saturation, so every gate shows in the outputs.
        float scale = (float) (1.5 / Math.sqrt(hidden));
        int g = gates();
        w = random(rnd, scale, d, g * hidden, in);
        r = random(rnd, scale, d, g * hidden, hidden);
        b = bias ? random(rnd, 0.5f, d, 2 * g * hidden) : null;
        p = peephole ? random(rnd, 0.8f, d, 3 * hidden) : null;
        inputs = new LinkedHashMap<>();
        stateConstants = new LinkedHashMap<>();
        inputs.put("X", layout == 0 ? random(rnd, 1f, t, batch, in) : random(rnd, 1f, batch, t, in));
        Map<String, Tensor> states = constantStates ? stateConstants : inputs;
        if (seqLens != null) {
            long[] l = new long[seqLens.length];
            for (int i = 0; i < l.length; i++) {
                l[i] = seqLens[i];
            }
            states.put("sequence_lens", Tensor.ofLongs(DType.INT32, new int[] {batch}, l));
        }
        int[] stateShape = layout == 0 ? new int[] {d, batch, hidden} : new int[] {batch, d, hidden};
        if (initialH) {
            states.put("initial_h", random(rnd, 0.8f, stateShape));
        }
        if (initialC) {
            states.put("initial_c", random(rnd, 1.2f, stateShape));
        }
        return this;
    }

    private static Tensor random(Random rnd, float scale, int... shape) {
        float[] v = new float[Tensor.elementCount(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (rnd.nextFloat() * 2 - 1) * scale;
        }
        return Tensor.ofFloats(shape, v);
    }

    /** Graph inputs the model expects at run time, in declaration order. */
    Map<String, Tensor> inputs() {
        return inputs;
    }

    List<String> outputNames() {
        List<String> o = new ArrayList<>();
        if (y) {
            o.add("Y");
        }
        if (yh) {
            o.add("Y_h");
        }
        if (yc) {
            o.add("Y_c");
        }
        return o;
    }

    /** The source weights as ONNX stores them (B and P null when absent). */
    Tensor w() {
        return w;
    }

    Tensor r() {
        return r;
    }

    Tensor b() {
        return b;
    }

    Tensor p() {
        return p;
    }

    Path write(Path dir) throws IOException {
        return write(dir.resolve(name + ".onnx"), model(layout));
    }

    private static Path write(Path file, ModelProto m) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            m.writeTo(out);
        }
        return file;
    }

    /** The model with the given layout (the case's own, or 0 for the time-major twin). */
    ModelProto model(int asLayout) {
        boolean transpose = asLayout != layout;
        NodeProto.Builder node = NodeProto.newBuilder().setOpType(op).setName(op.toLowerCase(java.util.Locale.ROOT));
        GraphProto.Builder g = GraphProto.newBuilder().setName(name);
        g.addInput(valueInfo("X", TensorProto.DataType.FLOAT_VALUE, seqShape(asLayout)));
        g.addInitializer(OnnxTensors.fromTensor("W", w));
        g.addInitializer(OnnxTensors.fromTensor("R", r));
        if (b != null) {
            g.addInitializer(OnnxTensors.fromTensor("B", b));
        }
        if (p != null) {
            g.addInitializer(OnnxTensors.fromTensor("P", p));
        }
        Map<String, Tensor> all = new LinkedHashMap<>(inputs);
        all.putAll(stateConstants);
        for (String n : List.of("sequence_lens", "initial_h", "initial_c")) {
            Tensor v = all.get(n);
            if (v == null) {
                continue;
            }
            if (transpose && !n.equals("sequence_lens")) {
                v = permute(v, 1, 0, 2);
            }
            if (stateConstants.containsKey(n)) {
                g.addInitializer(OnnxTensors.fromTensor(n, v));
            } else if (n.equals("sequence_lens")) {
                g.addInput(valueInfo(n, TensorProto.DataType.INT32_VALUE, List.of(dynamicDims ? "batch" : batch)));
            } else {
                g.addInput(valueInfo(n, TensorProto.DataType.FLOAT_VALUE, stateShape(asLayout)));
            }
        }
        String[] ins = {"X", "W", "R", b != null ? "B" : "", all.containsKey("sequence_lens") ? "sequence_lens" : "",
            all.containsKey("initial_h") ? "initial_h" : "", all.containsKey("initial_c") ? "initial_c" : "", p != null ? "P" : ""};
        int last = ins.length - 1;
        while (ins[last].isEmpty()) {
            last--;
        }
        for (int i = 0; i <= last; i++) {
            node.addInput(ins[i]);
        }
        String[] outs = {y ? "Y" : "", yh ? "Y_h" : "", yc ? "Y_c" : ""};
        int lastOut = outs.length - 1;
        while (outs[lastOut].isEmpty()) {
            lastOut--;
        }
        for (int i = 0; i <= lastOut; i++) {
            node.addOutput(outs[i]);
        }
        node.addAttribute(AttributeProto.newBuilder().setName("hidden_size").setType(AttributeProto.AttributeType.INT).setI(hidden));
        if (!direction.equals("forward")) {
            node.addAttribute(AttributeProto.newBuilder().setName("direction").setType(AttributeProto.AttributeType.STRING)
                    .setS(com.google.protobuf.ByteString.copyFromUtf8(direction)));
        }
        if (clip != null) {
            node.addAttribute(AttributeProto.newBuilder().setName("clip").setType(AttributeProto.AttributeType.FLOAT).setF(clip));
        }
        if (linearBeforeReset != null) {
            node.addAttribute(AttributeProto.newBuilder().setName("linear_before_reset").setType(AttributeProto.AttributeType.INT)
                    .setI(linearBeforeReset));
        }
        if (inputForget) {
            node.addAttribute(AttributeProto.newBuilder().setName("input_forget").setType(AttributeProto.AttributeType.INT).setI(1));
        }
        if (activations != null) {
            AttributeProto.Builder a = AttributeProto.newBuilder().setName("activations").setType(AttributeProto.AttributeType.STRINGS);
            activations.forEach(s -> a.addStrings(com.google.protobuf.ByteString.copyFromUtf8(s)));
            node.addAttribute(a);
        }
        if (alphas != null) {
            node.addAttribute(AttributeProto.newBuilder().setName("activation_alpha").setType(AttributeProto.AttributeType.FLOATS).addAllFloats(alphas));
        }
        if (betas != null) {
            node.addAttribute(AttributeProto.newBuilder().setName("activation_beta").setType(AttributeProto.AttributeType.FLOATS).addAllFloats(betas));
        }
        if (asLayout == 1) {
            node.addAttribute(AttributeProto.newBuilder().setName("layout").setType(AttributeProto.AttributeType.INT).setI(1));
        }
        g.addNode(node);
        Object dd = dirs();
        Object tt = dynamicDims ? "time" : t;
        Object bb = dynamicDims ? "batch" : batch;
        if (y) {
            g.addOutput(valueInfo("Y", TensorProto.DataType.FLOAT_VALUE, asLayout == 0 ? List.of(tt, dd, bb, hidden) : List.of(bb, tt, dd, hidden)));
        }
        if (yh) {
            g.addOutput(valueInfo("Y_h", TensorProto.DataType.FLOAT_VALUE, stateShape(asLayout)));
        }
        if (yc) {
            g.addOutput(valueInfo("Y_c", TensorProto.DataType.FLOAT_VALUE, stateShape(asLayout)));
        }
        long ir = opset <= 8 ? 3 : opset <= 14 ? 7 : 8;
        if (ir <= 3) {
            // IR version 3 wants every initializer declared as a graph input as well.
            for (TensorProto tp : new ArrayList<>(g.getInitializerList())) {
                List<Object> dims = new ArrayList<>(tp.getDimsList());
                g.addInput(valueInfo(tp.getName(), tp.getDataType(), dims));
            }
        }
        return ModelProto.newBuilder().setIrVersion(ir).setProducerName("lstmx-tests")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setVersion(opset)).setGraph(g).build();
    }

    private List<Object> seqShape(int asLayout) {
        Object tt = dynamicDims ? "time" : t;
        Object bb = dynamicDims ? "batch" : batch;
        return asLayout == 0 ? List.of(tt, bb, in) : List.of(bb, tt, in);
    }

    private List<Object> stateShape(int asLayout) {
        Object bb = dynamicDims ? "batch" : batch;
        return asLayout == 0 ? List.of(dirs(), bb, hidden) : List.of(bb, dirs(), hidden);
    }

    static ValueInfoProto valueInfo(String name, int elemType, List<Object> dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            if (d instanceof Number n) {
                s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(n.longValue()));
            } else {
                s.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(d.toString()));
            }
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(s))).build();
    }

    /**
     * onnxruntime's outputs for this case's inputs. Batch-major cases run as the time-major twin:
     * X [B,T,I] -> [T,B,I], states [B,D,H] -> [D,B,H]; Y [T,D,B,H] -> [B,T,D,H], Y_h/Y_c back to [B,D,H].
     */
    Map<String, Tensor> expected(Path dir) throws IOException {
        if (layout == 0) {
            return OnnxRuntimeReference.run(write(dir), inputs);
        }
        Path twin = write(dir.resolve(name + "_time_major_twin.onnx"), model(0));
        Map<String, Tensor> tin = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
            tin.put(e.getKey(), e.getKey().equals("sequence_lens") ? e.getValue() : permute(e.getValue(), 1, 0, 2));
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : OnnxRuntimeReference.run(twin, tin).entrySet()) {
            out.put(e.getKey(), e.getKey().equals("Y") ? permute(e.getValue(), 2, 0, 1, 3) : permute(e.getValue(), 1, 0, 2));
        }
        return out;
    }

    /** y.shape[k] = x.shape[perm[k]] (row-major float tensors). */
    static Tensor permute(Tensor x, int... perm) {
        int[] s = x.shape();
        int rank = s.length;
        int[] os = new int[rank];
        for (int k = 0; k < rank; k++) {
            os[k] = s[perm[k]];
        }
        int[] stride = new int[rank];
        int acc = 1;
        for (int k = rank - 1; k >= 0; k--) {
            stride[k] = acc;
            acc *= s[k];
        }
        float[] src = x.toFloatArray();
        float[] dst = new float[src.length];
        int[] idx = new int[rank];
        for (int o = 0; o < dst.length; o++) {
            int off = 0;
            for (int k = 0; k < rank; k++) {
                off += idx[k] * stride[perm[k]];
            }
            dst[o] = src[off];
            for (int k = rank - 1; k >= 0; k--) {
                if (++idx[k] < os[k]) {
                    break;
                }
                idx[k] = 0;
            }
        }
        return Tensor.ofFloats(os, dst);
    }

    /** Every node case: each LSTM attribute and input, each output alone, opsets 7, 14 and 22. */
    static List<LstmNodeCase> all() {
        List<LstmNodeCase> l = new ArrayList<>();
        LstmNodeCase c;

        c = new LstmNodeCase("forward_no_bias_opset7");
        c.opset = 7;
        c.bias = false;
        l.add(c);

        c = new LstmNodeCase("forward_bias_opset14_fixed_dims");
        c.dynamicDims = false;
        l.add(c);

        c = new LstmNodeCase("forward_states_opset22");
        c.opset = 22;
        c.initialH = true;
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("forward_initial_h_only");
        c.initialH = true;
        l.add(c);

        c = new LstmNodeCase("forward_initial_c_only_opset7");
        c.opset = 7;
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("reverse_states_opset22");
        c.opset = 22;
        c.direction = "reverse";
        c.initialH = true;
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("bidirectional_states_peepholes");
        c.direction = "bidirectional";
        c.initialH = true;
        c.initialC = true;
        c.peephole = true;
        l.add(c);

        c = new LstmNodeCase("bidirectional_opset7");
        c.opset = 7;
        c.direction = "bidirectional";
        l.add(c);

        c = new LstmNodeCase("forward_peepholes_opset22");
        c.opset = 22;
        c.peephole = true;
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("forward_sequence_lens");
        c.t = 5;
        c.seqLens = new int[] {5, 2, 1};
        c.initialH = true;
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("reverse_sequence_lens_opset7");
        c.opset = 7;
        c.direction = "reverse";
        c.t = 5;
        c.seqLens = new int[] {3, 5, 1};
        l.add(c);

        c = new LstmNodeCase("bidirectional_sequence_lens_peepholes_opset22");
        c.opset = 22;
        c.direction = "bidirectional";
        c.t = 6;
        c.batch = 4;
        c.seqLens = new int[] {2, 6, 4, 1};
        c.initialH = true;
        c.initialC = true;
        c.peephole = true;
        l.add(c);

        c = new LstmNodeCase("layout1_forward_states_opset14");
        c.layout = 1;
        c.initialH = true;
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("layout1_bidirectional_peepholes_opset22");
        c.opset = 22;
        c.layout = 1;
        c.direction = "bidirectional";
        c.peephole = true;
        c.initialH = true;
        l.add(c);

        c = new LstmNodeCase("layout1_reverse_sequence_lens");
        c.layout = 1;
        c.direction = "reverse";
        c.t = 5;
        c.seqLens = new int[] {4, 1, 5};
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("clip_forward");
        c.clip = 0.4f;
        c.initialH = true;
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("clip_bidirectional_opset7");
        c.opset = 7;
        c.direction = "bidirectional";
        c.clip = 0.7f;
        c.peephole = true;
        l.add(c);

        c = new LstmNodeCase("input_forget_forward");
        c.inputForget = true;
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("input_forget_peepholes_bidirectional_opset22");
        c.opset = 22;
        c.direction = "bidirectional";
        c.inputForget = true;
        c.peephole = true;
        l.add(c);

        c = new LstmNodeCase("activations_hardsigmoid_leakyrelu_scaledtanh");
        c.activations = List.of("HardSigmoid", "LeakyRelu", "ScaledTanh");
        c.alphas = List.of(0.3f, 0.15f, 1.3f);
        c.betas = List.of(0.45f, 0.8f);
        l.add(c);

        c = new LstmNodeCase("activations_sigmoid_elu_softsign_opset7");
        c.opset = 7;
        c.activations = List.of("Sigmoid", "Elu", "Softsign");
        c.alphas = List.of(0.7f);
        l.add(c);

        c = new LstmNodeCase("activations_affine_relu_softplus");
        c.activations = List.of("Affine", "Relu", "Softplus");
        c.alphas = List.of(0.25f);
        c.betas = List.of(0.5f);
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("activations_thresholdedrelu_tanh_affine_opset22");
        c.opset = 22;
        c.activations = List.of("ThresholdedRelu", "Tanh", "Affine");
        c.alphas = List.of(0.1f, 0.9f);
        c.betas = List.of(0.05f);
        l.add(c);

        c = new LstmNodeCase("activations_per_direction_bidirectional");
        c.direction = "bidirectional";
        c.activations = List.of("HardSigmoid", "Tanh", "Softsign", "Sigmoid", "ScaledTanh", "Elu");
        c.alphas = List.of(0.2f, 0.9f, 1.1f);
        c.betas = List.of(0.5f, 1.2f);
        c.initialH = true;
        l.add(c);

        c = new LstmNodeCase("only_Y");
        c.yh = false;
        c.yc = false;
        c.initialH = true;
        l.add(c);

        c = new LstmNodeCase("only_Y_h_opset7");
        c.opset = 7;
        c.y = false;
        c.yc = false;
        l.add(c);

        c = new LstmNodeCase("only_Y_c_opset22");
        c.opset = 22;
        c.y = false;
        c.yh = false;
        c.direction = "bidirectional";
        c.seqLens = new int[] {4, 3, 2};
        l.add(c);

        c = new LstmNodeCase("constant_states_and_lengths");
        c.constantStates = true;
        c.seqLens = new int[] {4, 4, 2};
        c.initialH = true;
        c.initialC = true;
        l.add(c);

        c = new LstmNodeCase("wide_input_hidden_one_batch");
        c.in = 7;
        c.hidden = 4;
        c.batch = 1;
        c.t = 8;
        c.peephole = true;
        l.add(c);

        l.forEach(LstmNodeCase::done);
        return l;
    }
}
