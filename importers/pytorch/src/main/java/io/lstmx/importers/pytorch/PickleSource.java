package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * The bytes a pickle is read from, with a hard end: every length the pickle states is checked
 * against {@link #remaining()} before anything of that size is allocated, so a file cannot make
 * the reader allocate more than it holds.
 */
abstract class PickleSource {
    /** Where the source is, for messages (e.g. "archive/data.pkl"). */
    final String where;

    PickleSource(String where) {
        this.where = where;
    }

    /** Offset of the next byte, counted from the start of the source. */
    abstract long position();

    /** Bytes left before the end. */
    abstract long remaining();

    /** The next byte (0-255); BAD_INPUT at the end. */
    abstract int read();

    /** The next {@code n} bytes; BAD_INPUT when fewer remain (checked before allocating). */
    abstract byte[] read(long n);

    /** Skips {@code n} bytes; BAD_INPUT when fewer remain. */
    abstract void skip(long n);

    LstmxException truncated(long wanted) {
        return LstmxException.badInput(where + ": truncated at byte " + position() + ": " + wanted + " more byte(s) needed, "
                + remaining() + " left");
    }

    /** A source over an array (a zip entry read whole). */
    static PickleSource of(byte[] bytes, String where) {
        return new ArraySource(bytes, where);
    }

    /** A source over {@code [start, end)} of a file (the legacy format, whose pickles precede the storages). */
    static PickleSource of(FileChannel channel, long start, long end, String where) {
        return new ChannelSource(channel, start, end, where);
    }

    private static final class ArraySource extends PickleSource {
        private final byte[] bytes;
        private int pos;

        ArraySource(byte[] bytes, String where) {
            super(where);
            this.bytes = bytes;
        }

        @Override
        long position() {
            return pos;
        }

        @Override
        long remaining() {
            return bytes.length - pos;
        }

        @Override
        int read() {
            if (pos >= bytes.length) {
                throw truncated(1);
            }
            return bytes[pos++] & 0xff;
        }

        @Override
        byte[] read(long n) {
            if (n < 0 || n > remaining()) {
                throw truncated(n);
            }
            byte[] b = java.util.Arrays.copyOfRange(bytes, pos, pos + (int) n);
            pos += (int) n;
            return b;
        }

        @Override
        void skip(long n) {
            if (n < 0 || n > remaining()) {
                throw truncated(n);
            }
            pos += (int) n;
        }
    }

    /** Buffered positional reads: the channel's own position is never used, so nothing else is disturbed. */
    private static final class ChannelSource extends PickleSource {
        private final FileChannel channel;
        private final long end;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        /** File offset of buf's first byte. */
        private long bufStart;
        private long pos;

        ChannelSource(FileChannel channel, long start, long end, String where) {
            super(where);
            this.channel = channel;
            this.end = end;
            this.pos = start;
            this.bufStart = start;
            buf.limit(0);
        }

        @Override
        long position() {
            return pos;
        }

        @Override
        long remaining() {
            return end - pos;
        }

        @Override
        int read() {
            if (pos >= end) {
                throw truncated(1);
            }
            if (pos < bufStart || pos >= bufStart + buf.limit()) {
                fill();
            }
            int b = buf.get((int) (pos - bufStart)) & 0xff;
            pos++;
            return b;
        }

        private void fill() {
            buf.clear();
            bufStart = pos;
            buf.limit((int) Math.min(buf.capacity(), end - pos));
            try {
                while (buf.hasRemaining()) {
                    if (channel.read(buf, bufStart + buf.position()) < 0) {
                        break;
                    }
                }
            } catch (IOException e) {
                throw LstmxException.badInput(where + ": cannot read: " + io.lstmx.util.IoErrors.describe(e));
            }
            buf.limit(buf.position());
            if (buf.limit() == 0) {
                throw LstmxException.badInput(where + ": the file ended at byte " + pos + " (it shrank while being read?)");
            }
        }

        @Override
        byte[] read(long n) {
            if (n < 0 || n > remaining()) {
                throw truncated(n);
            }
            if (n > Integer.MAX_VALUE - 16) {
                throw LstmxException.badInput(where + ": a value of " + n + " bytes at byte " + pos + " is larger than lstmx reads");
            }
            byte[] b = new byte[(int) n];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) read();
            }
            return b;
        }

        @Override
        void skip(long n) {
            if (n < 0 || n > remaining()) {
                throw truncated(n);
            }
            pos += n;
        }
    }
}
