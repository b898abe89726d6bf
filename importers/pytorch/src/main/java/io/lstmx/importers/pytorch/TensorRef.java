package io.lstmx.importers.pytorch;

import java.util.Arrays;

/**
 * A tensor as torch's rebuilders describe it: a strided view of a storage. Nothing is read or
 * checked against the storage until {@link Storages#materialize} is asked for it by name, so that
 * an error names the state_dict key.
 *
 * @param storage the storage viewed
 * @param type    the tensor's element type (the storage's, except for untyped storages)
 * @param offset  first element, in elements of {@code type}, from the storage's start
 * @param size    the shape
 * @param stride  elements of {@code type} between neighbours along each axis
 */
record TensorRef(StorageRef storage, StorageType type, long offset, long[] size, long[] stride) {
    TensorRef {
        size = size.clone();
        stride = stride.clone();
    }

    @Override
    public long[] size() {
        return size.clone();
    }

    @Override
    public long[] stride() {
        return stride.clone();
    }

    int rank() {
        return size.length;
    }

    long dim(int axis) {
        return size[axis];
    }

    String shapeText() {
        return Arrays.toString(size);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorRef t && storage.equals(t.storage) && type == t.type && offset == t.offset
                && Arrays.equals(size, t.size) && Arrays.equals(stride, t.stride);
    }

    @Override
    public int hashCode() {
        return storage.hashCode() * 31 + Arrays.hashCode(size);
    }

    @Override
    public String toString() {
        return "tensor " + shapeText();
    }
}
