package io.lstmx.importers.tensorflow;

import io.lstmx.importers.kit.SDim;
import io.lstmx.importers.kit.Shapes;
import io.lstmx.importers.kit.Value;
import io.lstmx.ir.ActivationFn;
import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Tensor;
import org.tensorflow.proto.DataType;

import java.util.ArrayList;
import java.util.List;

/**
 * The ops around a While loop over time that are not arithmetic: TensorLists (how tf.while_loop's
 * TensorArrays and Keras 3's TensorFlow backend hold a loop's sequence and outputs), the loop
 * condition's LogicalAnd (tf.while_loop's maximum_iterations beside the loop's own test), and
 * clip_by_value (Minimum and Maximum with constants, or ClipByValue) as an LSTM's cell clip.
 *
 * <p>A TensorList made from a tensor (TensorListFromTensor) is that tensor, read along axis 0: its
 * item t is the tensor's row t (TensorListGetItem is GatherV2 on axis 0, so a loop body reading
 * item t of its sequence gets x_t), and stacking it (TensorListStack) gives the tensor back. A
 * reserved list (TensorListReserve) is an output accumulator a loop body fills with
 * TensorListSetItem at step t; after the loop it is the loop's output sequence [T, B, H].
 */
final class TfLists {
    private TfLists() {
    }

    /** TensorListFromTensor(tensor, element_shape): the tensor itself. */
    static Object[] fromTensor(TfNode n) {
        Object t = n.input(0);
        if (t instanceof TfSymbolic.Reversed r && r.last() == null) {
            return TfOps.one(r);
        }
        Value v = n.value(0);
        List<SDim> s = Value.shapeOf(v);
        if (s == null || s.isEmpty()) {
            throw n.unsupported("makes a TensorList from " + Value.describe(v) + "; lstmx reads lists of the rows of a tensor of known rank");
        }
        return TfOps.one(v);
    }

    /** TensorListReserve(element_shape, num_elements): an accumulator for a While loop to fill. */
    static Object[] reserve(TfNode n) {
        Value shape = n.value(0);
        List<SDim> element = Shapes.entries(shape);
        if (element != null && Value.shapeOf(shape) != null && Value.shapeOf(shape).isEmpty()) {
            element = null; // a scalar -1: unknown rank
        }
        if (element != null) {
            List<SDim> e = new ArrayList<>();
            for (SDim d : element) {
                e.add(d.isKnown() && d.value() < 0 ? n.freshDim() : d);
            }
            element = e;
        }
        List<SDim> count = Shapes.entries(n.value(1));
        if (count == null || count.size() != 1) {
            throw n.unsupported("reserves " + Value.describe(n.value(1)) + " elements; lstmx needs a count it can follow");
        }
        DType t = TfTensors.irType(n.attrType("element_dtype", DataType.DT_FLOAT));
        if (t == null || !t.isFloating()) {
            throw n.unsupported("reserves a TensorList of " + n.attrType("element_dtype", DataType.DT_FLOAT) + "; lstmx reads float outputs");
        }
        return TfOps.one(new TfSymbolic.ListReserve(count.get(0), element, t));
    }

    /** TensorListGetItem(list, index, element_shape): row {@code index} of the list's tensor (x_t in a loop body). */
    static Object[] getItem(TfNode n) {
        if (n.input(0) instanceof TfSymbolic.ListReserve) {
            throw n.unsupported("reads an item of a TensorList no loop has filled");
        }
        return TfSymbolic.gather(n, 0);
    }

    /** TensorListSetItem(list, index, item): the output a While loop body writes at step t. */
    static Object[] setItem(TfNode n) {
        if (n.input(0) instanceof TfSymbolic.Accum a && a.update() == null && n.input(1) instanceof TfSymbolic.LoopIndex li && !li.next()
                && n.input(2) instanceof Value.Run u) {
            return TfOps.one(new TfSymbolic.Accum(u.name(), true));
        }
        throw n.unsupported("lstmx reads TensorListSetItem only as a While loop writing its output at step t, not on "
                + TfInterpreter.describe(n.input(0)));
    }

    /** TensorListStack(list, element_shape): the list's tensor (a loop's output sequence, or the tensor a list was made from). */
    static Object[] stack(TfNode n) {
        Object l = n.input(0);
        if (l instanceof TfSymbolic.Reversed r) {
            return TfOps.one(r);
        }
        Value v = n.value(0);
        if (v instanceof Value.Run r && r.shape() != null && !r.shape().isEmpty()) {
            return TfOps.one(r);
        }
        throw n.unsupported("stacks " + Value.describe(v) + "; lstmx reads the stack of a loop's outputs or of a list made from a tensor");
    }

    /** LogicalAnd of two loop conditions (tf.while_loop's counter &lt; maximum_iterations and the loop's t &lt; T). */
    static Object[] logicalAnd(TfNode n) {
        if (n.input(0) instanceof TfSymbolic.LoopCond a && n.input(1) instanceof TfSymbolic.LoopCond b) {
            if (a.time().equals(b.time())) {
                return TfOps.one(a);
            }
            if (a.time().isKnown() && b.time().isKnown()) {
                return TfOps.one(a.time().value() <= b.time().value() ? a : b);
            }
            throw n.unsupported("joins loop conditions over " + a.time() + " and " + b.time() + " steps, not known to be equal");
        }
        throw n.unsupported("lstmx reads LogicalAnd only as the condition of a While loop over time, not of "
                + TfInterpreter.describe(n.input(0)) + " and " + TfInterpreter.describe(n.input(1)));
    }

    /**
     * Minimum (hi), Maximum (lo) or ClipByValue (both) of a run-time value and scalar constants. A
     * full clip [lo, hi] is read only as an LSTM's cell clip (the cell matchers of While loop bodies
     * and of unrolled cells take it so): the IR has no clip layer, and a clip left in the model after
     * matching is refused ({@link TfModelBuilder}). Until then it is evaluated (for the matchers'
     * numerical checks) as lo + (hi - lo) · hard_sigmoid((x - lo) / (hi - lo)).
     */
    static Object[] clip(TfNode n, boolean lo, boolean hi) {
        Object x = n.input(0);
        Float l = null;
        Float h = null;
        Value.Run run;
        if (lo && hi) {
            run = runOf(n, x);
            l = scalar(n, 1);
            h = scalar(n, 2);
        } else if (x instanceof TfSymbolic.HalfClip c && (lo ? c.lo() == null : c.hi() == null)) {
            run = c.x();
            l = lo ? scalar(n, 1) : c.lo();
            h = hi ? scalar(n, 1) : c.hi();
        } else {
            run = runOf(n, x);
            if (lo) {
                l = scalar(n, 1);
            } else {
                h = scalar(n, 1);
            }
        }
        if (l == null || h == null) {
            return TfOps.one(new TfSymbolic.HalfClip(run, l, h));
        }
        if (!(l < h)) {
            throw n.unsupported("clips to [" + l + ", " + h + "], an empty or single-point range");
        }
        float range = h - l;
        String s = n.in.names.fresh(n.name() + "/unit");
        n.add(new Layer.Activation(s, run.name(), s, ActivationFn.of(ActivationFn.Kind.HARD_SIGMOID, 1f / range, -l / range)));
        String o = n.out(0);
        n.add(new Layer.Activation(o, s, o, ActivationFn.of(ActivationFn.Kind.AFFINE, range, l)));
        n.in.clips.put(o, new TfSymbolic.ClipOf(run.name(), l, h, n.where()));
        return TfOps.run(n, o, run.dtype(), run.shape());
    }

    private static Value.Run runOf(TfNode n, Object x) {
        if (x instanceof Value v && Value.simplify(v) instanceof Value.Run r && r.dtype().isFloating()) {
            return r;
        }
        throw n.unsupported("clips " + TfInterpreter.describe(x) + "; lstmx reads Minimum/Maximum/ClipByValue of a float run-time value"
                + " and scalar constants, as an LSTM's cell clip");
    }

    private static float scalar(TfNode n, int i) {
        Tensor t = n.constant(i, "the clip bound");
        if (t.size() != 1 || !t.dtype().isFloating()) {
            throw n.unsupported("clips with bound " + Value.describe(n.value(i)) + "; lstmx reads scalar float bounds");
        }
        return t.getFloat(0);
    }
}
