package io.lstmx.importers.kit;

import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Layer;
import io.lstmx.ir.LstmWeights;
import io.lstmx.ir.RecurrentWeights;
import io.lstmx.ir.Tensor;

import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * How many tensor elements one conversion may create. A few hundred bytes of Tile, Expand or Add
 * nodes, or thousands of nodes each copying one weight, must not fill the memory: the tensors the
 * conversion makes (folded constants, layer weights) may hold at most {@link #limit()} elements,
 * {@link #SMALL_MODEL_BUDGET} plus eight per byte of the file and per element it stores, since a
 * converted model holds a few copies of what its file holds. Tensors read from the file cost
 * nothing, and each tensor object is counted once however often it is used.
 *
 * <p>One budget serves one conversion (one thread). Register what the file holds with
 * {@link #fromFile} before converting the first node: the limit grows with it.
 */
public final class FoldBudget {
    /** Elements any model may fold, however small its file (shape vectors and zero states need far fewer). */
    public static final long SMALL_MODEL_BUDGET = 1L << 22;

    private final String file;
    private final long serializedBytes;
    /**
     * Tensors already counted (by identity): those read from the file and those made so far. Held
     * weakly: a tensor nothing else references any more (an initializer after the LSTM that read it
     * made its canonical copy) can never be held again, and the budget must not keep it in memory.
     */
    private final WeakIdentitySet counted = new WeakIdentitySet();
    private long fileElements;
    private long held;

    /**
     * A budget for converting {@code file} (named in messages), {@code serializedBytes} long.
     */
    public FoldBudget(String file, long serializedBytes) {
        this.file = file;
        this.serializedBytes = serializedBytes;
    }

    /** The file being converted, as messages name it. */
    public String file() {
        return file;
    }

    /** Registers a tensor the file holds: it costs nothing, and its elements raise the limit. */
    public void fromFile(Tensor t) {
        if (counted.add(t)) {
            fileElements += t.size();
        }
    }

    /** Elements the conversion may hold in all. */
    public long limit() {
        return SMALL_MODEL_BUDGET + 8 * (fileElements + serializedBytes);
    }

    /** Largest tensor folding may still create, in elements: what is left, and never above {@link Fold#LIMIT}. */
    public long room() {
        return Math.max(0, Math.min(Fold.LIMIT, limit() - held));
    }

    /**
     * Counts a tensor the conversion made (once per tensor object; null is nothing) against the
     * budget; UNSUPPORTED, naming the file and {@code what}, when the budget is exceeded.
     */
    public void hold(Tensor t, String what) {
        if (t == null || !counted.add(t)) {
            return;
        }
        held += t.size();
        if (held > limit()) {
            throw LstmxException.unsupported(file + ": " + what + ": the converted model would hold more than " + limit()
                    + " elements of constants and weights, far more than the file's " + serializedBytes + " bytes and "
                    + fileElements + " initializer elements justify (constant folding or weight copies multiply them)");
        }
    }

    /** Counts the tensors {@code layer} holds (constant, weights, bias, table, indices) as {@link #hold} does. */
    public void holdLayer(Layer layer) {
        List<Tensor> tensors = layer.tensors();
        if (tensors.isEmpty()) {
            return; // most layers hold none: no message to prepare
        }
        String what = "layer '" + layer.name() + "'";
        for (Tensor t : tensors) {
            hold(t, what);
        }
    }

    private void holdAll(List<Tensor> tensors, String what) {
        for (Tensor t : tensors) {
            hold(t, what);
        }
    }

    /** A set of objects by identity that does not keep them alive. */
    static final class WeakIdentitySet {
        private final ReferenceQueue<Object> queue = new ReferenceQueue<>();
        private final Set<Key> keys = new HashSet<>();

        /** Adds {@code o}; false when it is already in the set. */
        boolean add(Object o) {
            for (Reference<?> r; (r = queue.poll()) != null; ) {
                keys.remove(r); // a collected object's entry (found by its own key: equal to itself only)
            }
            return keys.add(new Key(o, queue));
        }

        int size() {
            return keys.size();
        }

        private static final class Key extends WeakReference<Object> {
            private final int hash;

            Key(Object o, ReferenceQueue<Object> q) {
                super(o, q);
                hash = System.identityHashCode(o);
            }

            @Override
            public int hashCode() {
                return hash;
            }

            @Override
            public boolean equals(Object other) {
                if (this == other) {
                    return true;
                }
                Object mine = get();
                return other instanceof Key k && mine != null && mine == k.get();
            }
        }
    }
}
