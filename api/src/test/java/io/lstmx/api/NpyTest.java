package io.lstmx.api;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** .npy files built byte by byte from the NPY format specification (numpy/lib/format.py docs). */
class NpyTest {
    @TempDir
    Path dir;

    /**
     * magic "\x93NUMPY", major, minor, header length (2 bytes LE for v1, 4 bytes LE for v2), the
     * header dict padded with spaces and ended by '\n' so that data starts at a multiple of 64.
     */
    static byte[] npy(int major, String dict, byte[] data) {
        int prefix = 6 + 2 + (major == 1 ? 2 : 4);
        StringBuilder h = new StringBuilder(dict);
        while ((prefix + h.length() + 1) % 64 != 0) {
            h.append(' ');
        }
        h.append('\n');
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        int len = h.length();
        if (major == 1) {
            out.writeBytes(new byte[] {(byte) len, (byte) (len >> 8)});
        } else {
            out.writeBytes(new byte[] {(byte) len, (byte) (len >> 8), (byte) (len >> 16), (byte) (len >> 24)});
        }
        out.writeBytes(h.toString().getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(data);
        return out.toByteArray();
    }

    private Path file(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private static byte[] floats(ByteOrder order, float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(order);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    @Test
    void float32LittleEndianVersion1() throws IOException {
        Path p = file("a.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                floats(ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 4, 5, -6.5f)));
        Tensor t = Npy.read(p);
        assertEquals(DType.FLOAT32, t.dtype());
        assertArrayEquals(new int[] {2, 3}, t.shape());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, -6.5f}, t.toFloatArray());
    }

    @Test
    void float32BigEndian() throws IOException {
        // Raw bytes of 1.0f big-endian are 3f 80 00 00; -2.0f is c0 00 00 00.
        byte[] data = {0x3f, (byte) 0x80, 0, 0, (byte) 0xc0, 0, 0, 0};
        Tensor t = Npy.read(file("b.npy", npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data)));
        assertArrayEquals(new float[] {1f, -2f}, t.toFloatArray());
    }

    @Test
    void version2HeaderWithInt64() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(7).putLong(-1).putLong(1L << 40);
        Tensor t = Npy.read(file("c.npy", npy(2, "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 1), }", b.array())));
        assertEquals(DType.INT64, t.dtype());
        assertArrayEquals(new int[] {3, 1}, t.shape());
        assertArrayEquals(new long[] {7, -1, 1L << 40}, t.toLongArray());
    }

    @Test
    void int32BigEndianKeepsInt32Label() throws IOException {
        byte[] data = {0, 0, 0, 5, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xfe};
        Tensor t = Npy.read(file("d.npy", npy(1, "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }", data)));
        assertEquals(DType.INT32, t.dtype());
        assertArrayEquals(new long[] {5, -2}, t.toLongArray());
    }

    @Test
    void float64IsReadAsFloat32BothByteOrders() throws IOException {
        for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
            ByteBuffer b = ByteBuffer.allocate(16).order(order).putDouble(0.1).putDouble(-3e10);
            String descr = order == ByteOrder.LITTLE_ENDIAN ? "<f8" : ">f8";
            Tensor t = Npy.read(file(order == ByteOrder.LITTLE_ENDIAN ? "le.npy" : "be.npy",
                    npy(1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (1, 2), }", b.array())));
            assertEquals(DType.FLOAT32, t.dtype());
            assertArrayEquals(new float[] {0.1f, -3e10f}, t.toFloatArray());
        }
    }

    @Test
    void scalarAndEmptyShapes() throws IOException {
        Tensor s = Npy.read(file("s.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
                floats(ByteOrder.LITTLE_ENDIAN, 42f))));
        assertEquals(0, s.rank());
        assertEquals(42f, s.getFloat(0));
        Tensor z = Npy.read(file("z.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", new byte[0])));
        assertArrayEquals(new int[] {0, 3}, z.shape());
    }

    @Test
    void writeProducesSpecBytesAndReadsBack() throws IOException {
        Tensor t = Tensor.ofFloats(new int[] {2, 2}, new float[] {1.5f, -0f, Float.MAX_VALUE, 1e-30f});
        Path p = dir.resolve("w.npy");
        Npy.write(t, p);
        byte[] bytes = Files.readAllBytes(p);
        byte[] expected = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                floats(ByteOrder.LITTLE_ENDIAN, 1.5f, -0f, Float.MAX_VALUE, 1e-30f));
        assertArrayEquals(expected, bytes, "written bytes as the spec lays them out");
        assertTrue(Npy.read(p).bitEquals(t));
    }

    @Test
    void roundTripsIntegerScalarAndVectorTensors() {
        Tensor[] ts = {
            Tensor.ofLongs(DType.INT64, new int[] {3}, new long[] {Long.MIN_VALUE, 0, Long.MAX_VALUE}),
            Tensor.ofLongs(DType.INT32, new int[] {2, 1}, new long[] {Integer.MIN_VALUE, Integer.MAX_VALUE}),
            Tensor.scalar(-7.25f),
            Tensor.ofFloats(new int[] {1, 1, 5}, new float[] {Float.NaN, Float.POSITIVE_INFINITY, 1, 2, 3}),
        };
        for (int i = 0; i < ts.length; i++) {
            Path p = dir.resolve("rt" + i + ".npy");
            Npy.write(ts[i], p);
            Tensor back = Npy.read(p);
            assertTrue(back.bitEquals(ts[i]), "round trip of " + ts[i] + " gave " + back + " " + Arrays.toString(back.toFloatArray()));
        }
        // No temporary files left beside the outputs.
        try (var s = Files.list(dir)) {
            assertTrue(s.allMatch(f -> f.getFileName().toString().matches("rt\\d\\.npy")));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void badFilesAreRefusedNamingTheFile() throws IOException {
        byte[] good = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", floats(ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 4));
        Path truncated = file("truncated.npy", Arrays.copyOf(good, good.length - 3));
        Path text = file("text.npy", "just some text, not numpy\n".getBytes(StandardCharsets.US_ASCII));
        Path empty = file("empty.npy", new byte[0]);
        Path huge = file("huge.npy", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", new byte[16]));
        for (Path p : new Path[] {truncated, text, empty, huge, dir.resolve("missing.npy")}) {
            LstmxException e = assertThrows(LstmxException.class, () -> Npy.read(p), p.toString());
            assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        }
        Path fortran = file("fortran.npy", npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new byte[16]));
        Path complex = file("complex.npy", npy(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", new byte[16]));
        for (Path p : new Path[] {fortran, complex}) {
            LstmxException e = assertThrows(LstmxException.class, () -> Npy.read(p));
            assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        }
    }

    private static byte[] bytes(ByteOrder order, int width, long... v) {
        ByteBuffer b = ByteBuffer.allocate(width * v.length).order(order);
        for (long x : v) {
            switch (width) {
                case 1 -> b.put((byte) x);
                case 2 -> b.putShort((short) x);
                case 4 -> b.putInt((int) x);
                default -> b.putLong(x);
            }
        }
        return b.array();
    }

    /** Every integer dtype whose values all fit int64 is read exactly; the label is INT32 when the dtype fits int32. */
    @Test
    void everyIntegerDtypeThatFitsInt64IsReadExactly() throws IOException {
        record Case(String descr, int width, long[] raw, long[] expected, DType label) {
        }
        Case[] cases = {
            new Case("|b1", 1, new long[] {1, 0, 1}, new long[] {1, 0, 1}, DType.INT32),
            new Case("|i1", 1, new long[] {-128, 0, 127}, new long[] {-128, 0, 127}, DType.INT32),
            new Case("|u1", 1, new long[] {255, 0, 7}, new long[] {255, 0, 7}, DType.INT32),
            new Case("<i2", 2, new long[] {-32768, 1, 32767}, new long[] {-32768, 1, 32767}, DType.INT32),
            new Case(">u2", 2, new long[] {65535, 1, 2}, new long[] {65535, 1, 2}, DType.INT32),
            new Case("<u4", 4, new long[] {0xffff_ffffL, 1, 2}, new long[] {0xffff_ffffL, 1, 2}, DType.INT64),
            new Case("<i4", 4, new long[] {Integer.MIN_VALUE, 1, 2}, new long[] {Integer.MIN_VALUE, 1, 2}, DType.INT32),
            new Case(">i8", 8, new long[] {Long.MIN_VALUE, 1, Long.MAX_VALUE}, new long[] {Long.MIN_VALUE, 1, Long.MAX_VALUE}, DType.INT64),
        };
        for (Case c : cases) {
            ByteOrder order = c.descr().startsWith(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            Path p = file("int" + c.descr().substring(1) + ".npy", npy(1, "{'descr': '" + c.descr() + "', 'fortran_order': False, 'shape': (3,), }",
                    bytes(order, c.width(), c.raw())));
            Tensor t = Npy.read(p);
            assertEquals(c.label(), t.dtype(), c.descr());
            assertArrayEquals(c.expected(), t.toLongArray(), c.descr());
        }
    }

    /** float16 is read exactly as float32: normal, subnormal, signed zero, infinity and NaN bit patterns. */
    @Test
    void float16IsReadExactly() throws IOException {
        // 0x3c00 = 1.0, 0xc000 = -2.0, 0x0001 = 2^-24 (smallest subnormal), 0x8000 = -0.0, 0x7c00 = +inf,
        // 0x7bff = 65504 (largest finite), 0x3555 = 0.333251953125, 0x7e00 = NaN.
        long[] raw = {0x3c00, 0xc000, 0x0001, 0x8000, 0x7c00, 0x7bff, 0x3555, 0x7e00};
        Tensor t = Npy.read(file("half.npy", npy(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (8,), }",
                bytes(ByteOrder.LITTLE_ENDIAN, 2, raw))));
        assertEquals(DType.FLOAT32, t.dtype());
        float[] f = t.toFloatArray();
        assertArrayEquals(new float[] {1f, -2f, 0x1p-24f, -0f, Float.POSITIVE_INFINITY, 65504f, 0.333251953125f}, Arrays.copyOf(f, 7));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(f[3]), "negative zero keeps its sign");
        assertTrue(Float.isNaN(f[7]));
    }

    /** Dtypes lstmx cannot hold exactly are UNSUPPORTED with one kind of message: file, NumPy's dtype name, what is read. */
    @Test
    void dtypesThatCannotBeHeldAreRefusedNamingTheDtype() throws IOException {
        String[][] cases = {
            {"<u8", "uint64"}, {"<c8", "complex64"}, {"<c16", "complex128"}, {"<f16", "float128"}, {"<U3", "str"},
            {"|S4", "bytes"}, {"<M8[ns]", "datetime64"},
        };
        int i = 0;
        for (String[] c : cases) {
            Path p = file("refused" + i++ + ".npy", npy(1, "{'descr': '" + c[0] + "', 'fortran_order': False, 'shape': (1,), }", new byte[16]));
            LstmxException e = assertThrows(LstmxException.class, () -> Npy.read(p), c[0]);
            assertEquals(ErrorCode.UNSUPPORTED, e.code(), e.getMessage());
            assertTrue(e.getMessage().startsWith(p + ": .npy dtype " + c[1] + " "), e.getMessage());
            assertTrue(e.getMessage().endsWith("lstmx reads " + Npy.READ_DTYPES + " arrays"), e.getMessage());
        }
        Path structured = file("structured.npy", npy(1, "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }",
                new byte[8]));
        LstmxException e = assertThrows(LstmxException.class, () -> Npy.read(structured));
        assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("structured"), e.getMessage());
    }

    /** Not arrays of numbers at all (the rule: structured, object and sub-array dtypes are exit 2). */
    @Test
    void objectAndRawRecordDtypesAreBadInputNotAMissingFeature() throws IOException {
        int i = 0;
        for (String descr : new String[] {"|O", "|V8"}) {
            Path p = file("notnumbers" + i++ + ".npy", npy(1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (1,), }", new byte[16]));
            LstmxException e = assertThrows(LstmxException.class, () -> Npy.read(p));
            assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("'" + descr + "'"), e.getMessage());
        }
    }

    @Test
    void filesCutShortAnywhereAreBadInputNamingWhere() throws IOException {
        byte[] whole = npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new byte[8]);
        String[] where = {"bad magic", "version", "header length", "header", "data"};
        int[] cut = {3, 7, 10, 14, whole.length - 1};
        for (int k = 0; k < cut.length; k++) {
            Path p = file("cut" + k + ".npy", java.util.Arrays.copyOf(whole, cut[k]));
            LstmxException e = assertThrows(LstmxException.class, () -> Npy.read(p));
            assertEquals(ErrorCode.BAD_INPUT, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains(where[k]), where[k] + ": " + e.getMessage());
        }
    }

    @Test
    void doubleQuotedHeadersInAnyKeyOrderAreRead() throws IOException {
        Path p = file("dq.npy", npy(1, "{\"shape\": (2,), \"descr\": \"<f4\", \"fortran_order\": False}",
                java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f).array()));
        assertArrayEquals(new float[] {1.5f, -2f}, Npy.read(p).toFloatArray());
    }

    @Test
    void aDirectoryIsRefusedAsADirectory() throws IOException {
        Path d = Files.createDirectory(dir.resolve("x.npy"));
        LstmxException e = assertThrows(LstmxException.class, () -> Npy.read(d));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertEquals(d + ": is a directory, not a .npy file", e.getMessage());
    }
}
