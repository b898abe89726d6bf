package io.lstmx.importers;

import io.lstmx.ir.Format;
import io.lstmx.ir.Model;

import java.nio.file.Path;

/** Reads model files of any supported format into the canonical IR. */
public final class Importers {
    private Importers() {
    }

    /** Detects the format of {@code path} from its extension or content; errors name the file. */
    public static Format detect(Path path) {
        throw new UnsupportedOperationException("TODO");
    }

    /** Reads {@code path}; {@code format} may be null to detect it. */
    public static Model load(Path path, Format format) {
        throw new UnsupportedOperationException("TODO");
    }
}
