package io.lstmx.util;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OverlappedOutputStreamTest {
    /** A stream below that counts closes and may fail from some byte on; slow, so that writes overlap. */
    private static final class Below extends OutputStream {
        final ByteArrayOutputStream got = new ByteArrayOutputStream();
        long failFrom = Long.MAX_VALUE;
        int closes;
        String thread;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            thread = Thread.currentThread().getName();
            if (got.size() + len > failFrom) {
                throw new IOException("disk full at byte " + failFrom);
            }
            Thread.onSpinWait();
            got.write(b, off, len);
        }

        @Override
        public void close() {
            closes++;
        }
    }

    @Test
    void bytesArriveBelowInTheOrderTheyWereWrittenAcrossManyBuffers() throws IOException {
        SplittableRandom rnd = new SplittableRandom(1);
        byte[] all = new byte[100_003];
        rnd.nextBytes(all);
        Below below = new Below();
        OverlappedOutputStream o = new OverlappedOutputStream(below, 997);
        for (int i = 0; i < all.length; ) {
            int k = Math.min(all.length - i, rnd.nextInt(3000));
            if (k == 1 || rnd.nextInt(10) == 0) {
                o.write(all[i]);
                i++;
            } else {
                o.write(all, i, k);
                i += k;
            }
        }
        o.finish();
        assertArrayEquals(all, below.got.toByteArray());
        assertEquals("lstmx-file-writer", below.thread, "the stream below is written by the second thread");
        assertEquals(0, below.closes, "finish leaves the stream below open");
        assertThrows(IOException.class, () -> o.write(1), "a finished stream takes no more bytes");
        o.close();
        assertEquals(1, below.closes);
    }

    @Test
    void aFailureBelowIsThrownByALaterWriteOrByFinish() throws IOException {
        Below below = new Below();
        below.failFrom = 5000;
        OverlappedOutputStream o = new OverlappedOutputStream(below, 1000);
        IOException e = assertThrows(IOException.class, () -> {
            for (int i = 0; i < 100; i++) {
                o.write(new byte[700]);
            }
        });
        assertTrue(e.getMessage().contains("disk full"), e.getMessage());
        assertTrue(below.got.size() <= 5000);

        Below late = new Below();
        late.failFrom = 1500;
        OverlappedOutputStream p = new OverlappedOutputStream(late, 1000);
        p.write(new byte[1999]);
        IOException f = assertThrows(IOException.class, p::finish);
        assertTrue(f.getMessage().contains("disk full"), f.getMessage());
        assertFalse(late.got.size() > 1500);
    }

    @Test
    void writeThroughPassesEveryByteBelowAndLeavesTheStreamBelowOpen() throws IOException {
        byte[] all = new byte[3 << 20]; // three of its 1 MiB buffers
        new SplittableRandom(2).nextBytes(all);
        Below below = new Below();
        OverlappedOutputStream.writeThrough(below, out -> {
            out.write(all, 0, 7);
            out.write(all, 7, all.length - 7);
        });
        assertArrayEquals(all, below.got.toByteArray());
        assertEquals(0, below.closes);
        assertEquals("lstmx-file-writer", below.thread);
    }

    @Test
    void aFailingBodyIsThrownAsItWasNotHiddenBehindTheStreamBelowsFailure() {
        Below below = new Below();
        below.failFrom = 0; // flushing what the body wrote would fail too
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> OverlappedOutputStream.writeThrough(below, out -> {
            out.write(new byte[10]);
            throw new IllegalStateException("kernel 3 has the wrong shape");
        }));
        assertEquals("kernel 3 has the wrong shape", e.getMessage());
        assertEquals(0, e.getSuppressed().length);
        assertEquals(0, below.got.size());
        assertEquals(0, below.closes);
    }
}
