package io.lstmx.importers.keras;

import io.jhdf.HdfFile;
import io.jhdf.api.Attribute;
import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.Node;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Tensor;
import io.lstmx.util.Heap;
import io.lstmx.util.IoErrors;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * jHDF behind a fence: every call into it goes through {@link #call}, which turns whatever a
 * damaged or hostile file makes jHDF throw into one BAD_INPUT line naming the file and the
 * dataset or attribute; sizes are checked before anything is read.
 */
final class H5 implements AutoCloseable {
    /** Largest number of elements one weight may declare. */
    static final long MAX_ELEMENTS = Tensor.MAX_ELEMENTS;
    /** Longest string attribute read (model_config, weight_names). */
    static final long MAX_ATTRIBUTE_BYTES = 64L << 20;

    final String file;
    final HdfFile hdf;

    private H5(String file, HdfFile hdf) {
        this.file = file;
        this.hdf = hdf;
    }

    /**
     * Opens an HDF5 file mapped into memory. jHDF reading through a file channel allocates a buffer
     * of whatever size an object header, heap or B-tree node declares before it reads a byte, so a
     * header claiming 2 GiB in a 20 KiB file cost an OutOfMemoryError; over a mapped buffer it
     * takes slices, and a size past the end of the file is an exception (BAD_INPUT here). Files
     * over 2 GiB, which one buffer cannot map, are read through the channel.
     */
    static H5 open(Path path) {
        String f = path.toString();
        long size;
        try {
            size = Files.size(path);
        } catch (IOException e) {
            throw LstmxException.badInput(f + ": cannot read: " + IoErrors.describe(e));
        }
        if (size > Integer.MAX_VALUE) {
            return new H5(f, call(f, "the HDF5 superblock", () -> new HdfFile(path)));
        }
        MappedByteBuffer map;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
        } catch (IOException e) {
            throw LstmxException.badInput(f + ": cannot read: " + IoErrors.describe(e));
        }
        return new H5(f, call(f, "the HDF5 superblock", () -> HdfFile.fromByteBuffer(map)));
    }

    /** An HDF5 file held in memory ({@code name} says where it came from, e.g. "x.keras!model.weights.h5"). */
    static H5 fromBytes(String name, byte[] bytes) {
        return new H5(name, call(name, "the HDF5 superblock", () -> HdfFile.fromBytes(bytes)));
    }

    /** Runs a jHDF call; anything it throws becomes BAD_INPUT naming {@code file} and {@code what}. */
    static <T> T call(String file, String what, Supplier<T> body) {
        try {
            return body.get();
        } catch (LstmxException e) {
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new LstmxException(io.lstmx.errors.ErrorCode.BAD_INPUT, file + ": damaged HDF5 at " + what + ": " + m, e);
        }
    }

    <T> T call(String what, Supplier<T> body) {
        return call(file, what, body);
    }

    /** The node at {@code path}, or null when absent. */
    Node node(String path) {
        return call(path, () -> {
            Node n = hdf;
            for (String part : path.split("/")) {
                if (part.isEmpty()) {
                    continue;
                }
                if (!(n instanceof Group g)) {
                    return null;
                }
                n = g.getChildren().get(part);
                if (n == null) {
                    return null;
                }
            }
            return n;
        });
    }

    Group group(String path) {
        Node n = node(path);
        return n instanceof Group g ? g : null;
    }

    /** A string attribute (scalar), or null when absent. */
    String stringAttribute(Node n, String name) {
        Object v = attributeData(n, name);
        if (v == null) {
            return null;
        }
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof String[] a && a.length == 1) {
            return a[0];
        }
        throw LstmxException.badInput(file + ": attribute " + name + " of " + n.getPath() + " is not a string");
    }

    /** A string-list attribute (weight_names, layer_names), or null when absent. */
    String[] stringsAttribute(Node n, String name) {
        Object v = attributeData(n, name);
        if (v == null) {
            return null;
        }
        if (v instanceof String s) {
            return new String[] {s};
        }
        if (v instanceof String[] a) {
            return a;
        }
        throw LstmxException.badInput(file + ": attribute " + name + " of " + n.getPath() + " is not a list of strings");
    }

    private Object attributeData(Node n, String name) {
        String what = "attribute " + name + " of " + n.getPath();
        return call(what, () -> {
            Attribute a = n.getAttributes().get(name);
            if (a == null) {
                return null;
            }
            if (a.getSizeInBytes() > MAX_ATTRIBUTE_BYTES) {
                throw LstmxException.badInput(file + ": " + what + " declares " + a.getSizeInBytes() + " bytes, more than the "
                        + MAX_ATTRIBUTE_BYTES + " lstmx reads");
            }
            if (a.isEmpty()) {
                return new String[0];
            }
            if (a.getDimensions().length > 1) {
                throw LstmxException.badInput(file + ": " + what + " has " + a.getDimensions().length + " dimensions");
            }
            return a.getData();
        });
    }

    /** A dataset's dimensions, refused when they declare more than lstmx reads. */
    int[] dims(Dataset d) {
        String what = "dataset " + d.getPath();
        int[] dims = call(what, d::getDimensions);
        long n = 1;
        for (int x : dims) {
            if (x < 0) {
                throw LstmxException.badInput(file + ": " + what + " has a negative dimension " + Arrays.toString(dims));
            }
            n = Math.multiplyHigh(n, x) != 0 ? Long.MAX_VALUE : n * x;
            if (n > MAX_ELEMENTS) {
                throw LstmxException.badInput(file + ": " + what + " declares shape " + Arrays.toString(dims) + ", more than "
                        + MAX_ELEMENTS + " elements");
            }
        }
        return dims;
    }

    /** A dataset's values as float32 (float16, float32 and float64 datasets), its size checked first. */
    Tensor read(Dataset d) {
        String what = "dataset " + d.getPath();
        int[] dims = dims(d);
        long n = Tensor.elementCount(dims);
        Heap.require(n * 8, file + ": " + what);
        Object data = call(what, () -> {
            Class<?> t = d.getJavaType();
            if (t != float.class && t != double.class) {
                throw LstmxException.badInput(file + ": " + what + " holds " + t.getSimpleName() + " values, not floating-point weights");
            }
            return d.isScalar() || dims.length == 0 ? d.getData() : d.getDataFlat();
        });
        float[] f;
        if (data instanceof float[] a) {
            f = a;
        } else if (data instanceof double[] a) {
            f = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                f[i] = (float) a[i];
            }
        } else if (data instanceof Float x) {
            f = new float[] {x};
        } else if (data instanceof Double x) {
            f = new float[] {x.floatValue()};
        } else {
            throw LstmxException.badInput(file + ": " + what + " did not read as floating-point values");
        }
        if (f.length != n) {
            throw LstmxException.badInput(file + ": " + what + " holds " + f.length + " values for shape " + Arrays.toString(dims));
        }
        return Tensor.ofFloats(dims, f);
    }

    @Override
    public void close() {
        try {
            hdf.close();
        } catch (RuntimeException e) {
            // closing a damaged file tells nothing more
        }
    }
}
