package io.lstmx.util;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * An output stream whose bytes reach the stream below on a second thread: writes fill one buffer,
 * and a full buffer is handed to the writer thread while the caller fills the other, so that
 * making the bytes (a writer transposing kernels as it goes) and the stream below taking them (the
 * operating system copying them into the page cache, a zip entry's CRC-32) overlap instead of
 * taking turns. Bytes arrive below in the order they were written. {@link #flush()} waits until
 * everything written so far is below (and flushes it); {@link #finish()} flushes and ends the
 * thread, leaving the stream below open; {@link #close()} finishes and closes the stream below. A
 * failure of the stream below is thrown by the next write, flush, finish or close. Not for use by
 * several threads at once.
 */
public final class OverlappedOutputStream extends OutputStream {
    private final OutputStream below;
    private final ExecutorService writer;
    private byte[] buf;
    /** The buffer the writer thread may be writing; filled next. */
    private byte[] spare;
    private int pos;
    private Future<?> pending;
    private boolean finished;

    /** Two buffers of {@code bufferBytes} over {@code below}. */
    public OverlappedOutputStream(OutputStream below, int bufferBytes) {
        if (bufferBytes < 1) {
            throw new IllegalArgumentException("buffer of " + bufferBytes + " bytes");
        }
        this.below = below;
        this.buf = new byte[bufferBytes];
        this.spare = new byte[bufferBytes];
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "lstmx-file-writer");
            t.setDaemon(true);
            return t;
        });
    }

    /** Buffers of 1 MiB. */
    public OverlappedOutputStream(OutputStream below) {
        this(below, 1 << 20);
    }

    @Override
    public void write(int b) throws IOException {
        open();
        if (pos == buf.length) {
            handOver();
        }
        buf[pos++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        open();
        while (len > 0) {
            if (pos == buf.length) {
                handOver();
            }
            int k = Math.min(len, buf.length - pos);
            System.arraycopy(b, off, buf, pos, k);
            pos += k;
            off += k;
            len -= k;
        }
    }

    /** Gives the full buffer to the writer thread (after the one it is writing) and goes on in the other. */
    private void open() throws IOException {
        if (finished) {
            throw new IOException("stream finished");
        }
    }

    private void handOver() throws IOException {
        open();
        awaitPending(); // the spare buffer is free again
        if (pos == 0) {
            return;
        }
        byte[] full = buf;
        int n = pos;
        pending = writer.submit(() -> {
            below.write(full, 0, n);
            return null;
        });
        buf = spare;
        spare = full;
        pos = 0;
    }

    @Override
    public void flush() throws IOException {
        handOver();
        awaitPending();
        below.flush();
    }

    /** Flushes and ends the writer thread; the stream below stays open. Later writes fail. */
    public void finish() throws IOException {
        if (finished) {
            return;
        }
        try {
            flush();
        } finally {
            finished = true;
            endWriter(pending, writer); // nobody goes on with the stream below under a write
            pending = null;
        }
    }

    /**
     * Runs {@code body} on an overlapped stream over {@code below} and finishes it (the stream below
     * stays open). If {@code body} fails, its failure is thrown as it was and the bytes still
     * buffered are dropped (the output is abandoned; flushing them could only add a second failure
     * in front of the first); the writer thread ends either way.
     */
    public static void writeThrough(OutputStream below, AtomicFiles.Writer body) throws IOException {
        OverlappedOutputStream o = new OverlappedOutputStream(below);
        try {
            body.write(o);
        } catch (IOException | RuntimeException | Error e) {
            o.abandon();
            throw e;
        }
        o.finish();
    }

    /** Ends the writer thread after the write it may be doing, without writing what is buffered. Later writes fail. */
    private void abandon() {
        finished = true;
        endWriter(pending, writer);
        pending = null;
    }

    @Override
    public void close() throws IOException {
        try {
            finish();
        } finally {
            below.close();
        }
    }

    private void awaitPending() throws IOException {
        Future<?> p = pending;
        pending = null;
        await(p);
    }

    /**
     * Waits for a write handed to {@code writer}'s thread (nothing for null), ignoring its failure
     * (the caller reported it, or is on its way out with another), then ends the thread.
     */
    public static void endWriter(Future<?> write, ExecutorService writer) {
        try {
            if (write != null) {
                write.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            // reported by whoever waited for it with await, or the caller is failing already
        } finally {
            writer.shutdown();
        }
    }

    /**
     * Waits for a write handed to another thread (nothing for null) and rethrows its failure as
     * it was: an IOException, a RuntimeException or an Error (anything else wrapped in an
     * IOException); interrupted, an InterruptedIOException with the interrupt flag set again.
     */
    public static void await(Future<?> write) throws IOException {
        if (write == null) {
            return;
        }
        try {
            write.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while writing");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IOException(c);
        }
    }
}
