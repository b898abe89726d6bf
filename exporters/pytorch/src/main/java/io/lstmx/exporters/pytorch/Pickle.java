package io.lstmx.exporters.pytorch;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * A small pickle writer, protocol 2 (what torch.save and torch.jit.save write). Python values are
 * given as Java objects: {@code null} (None), Boolean, Integer/Long (int), Double/Float (float),
 * String (str), {@link List} (list), {@link Tuple}, {@link Map} (dict, in iteration order), and the
 * constructions below. No memo is written: every object is written where it is met (the objects
 * lstmx writes form a tree), which every unpickler accepts.
 */
final class Pickle {
    private Pickle() {
    }

    /** A Python tuple. */
    record Tuple(List<Object> items) {
        Tuple {
            items = List.copyOf(items);
        }

        static Tuple of(Object... items) {
            return new Tuple(java.util.Arrays.asList(items));
        }
    }

    /** A module-level name ({@code GLOBAL 'module name'}). */
    record Global(String module, String name) {
    }

    /** {@code callable(*args)} ({@code REDUCE}). */
    record Reduce(Object callable, Tuple args) {
    }

    /** {@code cls.__new__(cls, *args)} then {@code __setstate__(state)} or a dict update ({@code NEWOBJ}, {@code BUILD}). */
    record NewObj(Global cls, Tuple args, Object state) {
    }

    /** {@code collections.OrderedDict} with these items in order. */
    record OrderedDict(Map<String, Object> items) {
    }

    /** An object the loader resolves itself from a persistent id ({@code BINPERSID}), e.g. a storage. */
    record PersistentId(Tuple id) {
    }

    /** Pickles {@code root}: PROTO 2, the object, STOP. */
    static byte[] dumps(Object root) {
        Out o = new Out();
        o.op(0x80);
        o.op(2);
        o.write(root, 0);
        o.op('.');
        return o.bytes.toByteArray();
    }

    private static final class Out {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        void op(int b) {
            bytes.write(b);
        }

        void le(long v, int n) {
            for (int i = 0; i < n; i++) {
                bytes.write((int) (v >>> (8 * i)) & 0xff);
            }
        }

        void write(Object o, int depth) {
            if (depth > 200) {
                throw new IllegalStateException("object nested too deeply to pickle");
            }
            if (o == null) {
                op('N');
            } else if (o instanceof Boolean b) {
                op(b ? 0x88 : 0x89);
            } else if (o instanceof Integer || o instanceof Long || o instanceof Short || o instanceof Byte) {
                integer(((Number) o).longValue());
            } else if (o instanceof Double || o instanceof Float) {
                op('G');
                long bits = Double.doubleToLongBits(((Number) o).doubleValue());
                for (int i = 7; i >= 0; i--) {
                    bytes.write((int) (bits >>> (8 * i)) & 0xff); // big-endian, as BINFLOAT wants
                }
            } else if (o instanceof String s) {
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                op('X');
                le(b.length, 4);
                bytes.write(b, 0, b.length);
            } else if (o instanceof Tuple t) {
                tuple(t, depth);
            } else if (o instanceof List<?> l) {
                op(']');
                if (!l.isEmpty()) {
                    op('(');
                    for (Object x : l) {
                        write(x, depth + 1);
                    }
                    op('e');
                }
            } else if (o instanceof Map<?, ?> m) {
                op('}');
                items(m, depth);
            } else if (o instanceof Global g) {
                global(g);
            } else if (o instanceof Reduce r) {
                write(r.callable(), depth + 1);
                tuple(r.args(), depth);
                op('R');
            } else if (o instanceof NewObj n) {
                global(n.cls());
                tuple(n.args(), depth);
                op(0x81);
                write(n.state(), depth + 1);
                op('b');
            } else if (o instanceof OrderedDict d) {
                global(new Global("collections", "OrderedDict"));
                op(')');
                op('R');
                items(d.items(), depth);
            } else if (o instanceof PersistentId p) {
                tuple(p.id(), depth);
                op('Q');
            } else {
                throw new IllegalArgumentException("cannot pickle a " + o.getClass().getName());
            }
        }

        private void items(Map<?, ?> m, int depth) {
            if (m.isEmpty()) {
                return;
            }
            op('(');
            for (Map.Entry<?, ?> e : m.entrySet()) {
                write(e.getKey(), depth + 1);
                write(e.getValue(), depth + 1);
            }
            op('u');
        }

        private void tuple(Tuple t, int depth) {
            List<Object> items = t.items();
            if (items.isEmpty()) {
                op(')');
                return;
            }
            if (items.size() > 3) {
                op('(');
            }
            for (Object x : items) {
                write(x, depth + 1);
            }
            switch (items.size()) {
                case 1 -> op(0x85);
                case 2 -> op(0x86);
                case 3 -> op(0x87);
                default -> op('t');
            }
        }

        private void global(Global g) {
            byte[] b = ("c" + g.module() + "\n" + g.name() + "\n").getBytes(StandardCharsets.UTF_8);
            bytes.write(b, 0, b.length);
        }

        private void integer(long v) {
            if (v >= 0 && v < 256) {
                op('K');
                le(v, 1);
            } else if (v >= 0 && v < 65536) {
                op('M');
                le(v, 2);
            } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                op('J');
                le(v, 4);
            } else {
                op(0x8a); // LONG1: little-endian two's complement, 8 bytes suffice for a long
                op(8);
                le(v, 8);
            }
        }
    }
}
