package io.lstmx.util;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * What went wrong with a file, in words: the JDK's file-system exceptions often carry only the path
 * as their message ("cannot write: /out/m.onnx" says nothing), so each kind is named here.
 */
public final class IoErrors {
    private IoErrors() {
    }

    /** A short reason such as "permission denied (/out/m.onnx)" for {@code e}. */
    public static String describe(IOException e) {
        if (e == null) {
            return "unknown error";
        }
        String kind;
        if (e instanceof AccessDeniedException) {
            kind = "permission denied";
        } else if (e instanceof NoSuchFileException) {
            kind = "no such file or directory";
        } else if (e instanceof FileAlreadyExistsException) {
            kind = "already exists";
        } else if (e instanceof NotDirectoryException) {
            kind = "not a directory";
        } else if (e instanceof DirectoryNotEmptyException) {
            kind = "directory not empty";
        } else if (e instanceof FileSystemLoopException) {
            kind = "symbolic link loop";
        } else {
            kind = null;
        }
        if (e instanceof FileSystemException fse) {
            String file = fse.getFile();
            String reason = fse.getReason();
            StringBuilder sb = new StringBuilder(kind != null ? kind : reason != null ? reason : e.getClass().getSimpleName());
            if (kind != null && reason != null && !reason.equalsIgnoreCase(kind)) {
                sb.append(" (").append(reason).append(')');
            }
            if (file != null) {
                sb.append(": ").append(file);
                if (fse.getOtherFile() != null) {
                    sb.append(" -> ").append(fse.getOtherFile());
                }
            }
            return sb.toString();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
