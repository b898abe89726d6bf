package io.lstmx.ir;

/**
 * An element-wise activation with its parameters, as used both by activation layers and by the
 * gate, cell and hidden functions of recurrent layers. Definitions follow the ONNX operator
 * specification (alpha and beta are ignored by kinds that take none):
 * <ul>
 *   <li>SIGMOID: 1/(1+e^-x); TANH; RELU: max(0,x); IDENTITY: x</li>
 *   <li>LEAKY_RELU: x if x&ge;0 else alpha*x; THRESHOLDED_RELU: x if x&gt;alpha else 0</li>
 *   <li>ELU: x if x&ge;0 else alpha*(e^x-1)</li>
 *   <li>HARD_SIGMOID: max(0, min(1, alpha*x+beta)). ONNX's defaults are alpha 0.2, beta 0.5;
 *       Keras 2's hard_sigmoid is clip(0.2x+0.5, 0, 1), i.e. the same; Keras 3's is relu6(x+3)/6,
 *       i.e. alpha 1/6, beta 0.5</li>
 *   <li>AFFINE: alpha*x+beta; SCALED_TANH: alpha*tanh(beta*x)</li>
 *   <li>SOFTSIGN: x/(1+|x|); SOFTPLUS: log(1+e^x)</li>
 * </ul>
 */
public record ActivationFn(Kind kind, float alpha, float beta) {
    public enum Kind {
        SIGMOID, TANH, RELU, IDENTITY, LEAKY_RELU, THRESHOLDED_RELU, ELU, HARD_SIGMOID, AFFINE,
        SCALED_TANH, SOFTSIGN, SOFTPLUS
    }

    public static final ActivationFn SIGMOID = new ActivationFn(Kind.SIGMOID, 0f, 0f);
    public static final ActivationFn TANH = new ActivationFn(Kind.TANH, 0f, 0f);
    public static final ActivationFn RELU = new ActivationFn(Kind.RELU, 0f, 0f);
    public static final ActivationFn IDENTITY = new ActivationFn(Kind.IDENTITY, 0f, 0f);

    public static ActivationFn of(Kind kind) {
        return new ActivationFn(kind, 0f, 0f);
    }

    public static ActivationFn of(Kind kind, float alpha, float beta) {
        return new ActivationFn(kind, alpha, beta);
    }

    /** Applies the function to one value; used by the runtime and by constant folding. */
    public float apply(float x) {
        switch (kind) {
            case SIGMOID:
                return (float) (1.0 / (1.0 + Math.exp(-x)));
            case TANH:
                return (float) Math.tanh(x);
            case RELU:
                return x > 0 ? x : 0f;
            case IDENTITY:
                return x;
            case LEAKY_RELU:
                return x >= 0 ? x : alpha * x;
            case THRESHOLDED_RELU:
                return x > alpha ? x : 0f;
            case ELU:
                return x >= 0 ? x : (float) (alpha * (Math.exp(x) - 1.0));
            case HARD_SIGMOID:
                return Math.max(0f, Math.min(1f, alpha * x + beta));
            case AFFINE:
                return alpha * x + beta;
            case SCALED_TANH:
                return (float) (alpha * Math.tanh(beta * x));
            case SOFTSIGN:
                return x / (1f + Math.abs(x));
            case SOFTPLUS:
                return (float) (x > 20 ? x : Math.log1p(Math.exp(x)));
            default:
                throw new IllegalStateException(kind.toString());
        }
    }

    @Override
    public String toString() {
        switch (kind) {
            case LEAKY_RELU, THRESHOLDED_RELU, ELU:
                return kind + "(alpha=" + alpha + ")";
            case HARD_SIGMOID, AFFINE, SCALED_TANH:
                return kind + "(alpha=" + alpha + ", beta=" + beta + ")";
            default:
                return kind.toString();
        }
    }
}
