package io.lstmx.util;

import io.lstmx.errors.LstmxException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes files so that nothing half-written is ever left behind: the content goes to a temporary
 * file in the target's folder, which is moved over the target only when complete.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Produces a file's content into a stream. */
    @FunctionalInterface
    public interface Writer {
        void write(OutputStream out) throws IOException;
    }

    /** Produces a file's content into a seekable channel (opened for writing, positioned at 0). */
    @FunctionalInterface
    public interface ChannelWriter {
        void write(FileChannel out) throws IOException;
    }

    public static void write(Path target, Writer writer) {
        writeChannel(target, ch -> {
            // not closed here: closing the stream would close the channel before the move (harmless,
            // but writeChannel closes it itself)
            OutputStream out = Channels.newOutputStream(ch);
            writer.write(out);
            out.flush();
        });
    }

    /**
     * As {@link #write(Path, Writer)}, for writers that go back to patch what they wrote (a zip
     * entry's CRC known only after its data): the temporary file as a channel.
     */
    public static void writeChannel(Path target, ChannelWriter writer) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = null;
        try {
            if (dir != null) {
                Files.createDirectories(dir);
                Staging.sweep(dir, "tmp"); // what a killed writer left here
            }
            // Not Files.createTempFile: it makes the file owner-only (0600), and the move would carry
            // that over to the result; a plain new file gets the usual permissions (umask).
            FileChannel out = null;
            while (out == null) {
                tmp = dir.resolve(Staging.newName("tmp"));
                try {
                    out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                } catch (FileAlreadyExistsException e) {
                    tmp = null;
                }
            }
            try (FileChannel o = out) {
                writer.write(o);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw LstmxException.badInput(target + ": cannot write: " + IoErrors.describe(e));
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: the temporary file is hidden; a later write into this folder sweeps it
                }
            }
        }
    }
}
