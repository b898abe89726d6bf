package io.lstmx.cli;

import io.lstmx.errors.LstmxException;
import io.lstmx.formats.Format;
import io.lstmx.formats.FormatRegistry;
import picocli.CommandLine;

/** picocli's view of format names: every name is resolved by the one {@link FormatRegistry}. */
final class Formats {
    private Formats() {
    }

    /** picocli converter for --from/--to/--roundtrip values. */
    static final class Converter implements CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            try {
                return FormatRegistry.standard().format(value);
            } catch (LstmxException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
