package io.lstmx.importers.pytorch;

import java.util.Locale;

/**
 * The element types of torch storages lstmx reads, with their size in bytes and the names
 * torch.save gives them: the storage classes ({@code torch.FloatStorage}, and
 * {@code torch.cuda.FloatStorage} in old files) and the dtypes ({@code torch.float32}).
 */
enum StorageType {
    FLOAT(4, "Float", "float32", "float"),
    DOUBLE(8, "Double", "float64", "double"),
    HALF(2, "Half", "float16", "half"),
    BFLOAT16(2, "BFloat16", "bfloat16", null),
    LONG(8, "Long", "int64", "long"),
    INT(4, "Int", "int32", "int"),
    SHORT(2, "Short", "int16", "short"),
    CHAR(1, "Char", "int8", null),
    BYTE(1, "Byte", "uint8", null),
    BOOL(1, "Bool", "bool", null);

    /** Bytes per element. */
    final int size;
    /** "Float" of FloatStorage. */
    private final String prefix;
    private final String dtype;
    private final String dtypeAlias;

    StorageType(int size, String prefix, String dtype, String dtypeAlias) {
        this.size = size;
        this.prefix = prefix;
        this.dtype = dtype;
        this.dtypeAlias = dtypeAlias;
    }

    /** Whether values are floating point (they become float32 or half-precision IR tensors). */
    boolean floating() {
        return this == FLOAT || this == DOUBLE || this == HALF || this == BFLOAT16;
    }

    /** The torch dtype name, e.g. "float32". */
    String dtypeName() {
        return dtype;
    }

    /**
     * The type of a storage class global, or null when the global names none lstmx reads:
     * {@code torch.FloatStorage}, {@code torch.cuda.FloatStorage}; {@code torch.UntypedStorage} and
     * {@code torch.storage.UntypedStorage} (bytes) as torch 2 writes untyped storages.
     */
    static StorageType ofStorageClass(Py.Global g) {
        String m = g.module();
        String n = g.name();
        if ((m.equals("torch") || m.equals("torch.storage")) && n.equals("UntypedStorage")) {
            return BYTE;
        }
        if (!(m.equals("torch") || m.equals("torch.cuda")) || !n.endsWith("Storage")) {
            return null;
        }
        String p = n.substring(0, n.length() - "Storage".length());
        for (StorageType t : values()) {
            if (t.prefix.equals(p)) {
                return t;
            }
        }
        return null;
    }

    /** The type of a dtype global ({@code torch.float32}, {@code torch.float}), or null. */
    static StorageType ofDtype(Py.Global g) {
        if (!g.module().equals("torch")) {
            return null;
        }
        String n = g.name().toLowerCase(Locale.ROOT);
        for (StorageType t : values()) {
            if (t.dtype.equals(n) || n.equals(t.dtypeAlias)) {
                return t;
            }
        }
        return null;
    }
}
