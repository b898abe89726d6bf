package io.lstmx.cli;

import io.lstmx.ir.DType;
import io.lstmx.ir.Layer;
import io.lstmx.ir.Model;
import io.lstmx.util.SafeText;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Formatting shared by the subcommands. */
final class Text {
    private Text() {
    }

    static String dtype(DType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }

    static String shape(int[] s) {
        return Arrays.toString(s);
    }

    static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    /** "5 layers (1 LSTM, 1 Dense, ...)" in order of first appearance. */
    static String layerSummary(Model m) {
        Map<String, Integer> kinds = new LinkedHashMap<>();
        for (Layer l : m.layers()) {
            kinds.merge(l.kind(), 1, Integer::sum);
        }
        StringBuilder sb = new StringBuilder();
        kinds.forEach((k, n) -> sb.append(sb.length() == 0 ? "" : ", ").append(n).append(' ').append(k));
        int n = m.layers().size();
        return n + (n == 1 ? " layer" : " layers") + (kinds.isEmpty() ? "" : " (" + sb + ")");
    }

    /**
     * Left-aligned columns separated by two spaces. Cells hold names from the model file, so each is
     * made one safe line first: a name with a line break or an escape sequence cannot add rows.
     */
    static String table(List<String[]> rawRows, String indent) {
        List<String[]> rows = new ArrayList<>();
        for (String[] r : rawRows) {
            String[] safe = new String[r.length];
            for (int c = 0; c < r.length; c++) {
                safe[c] = SafeText.oneLine(r[c]);
            }
            rows.add(safe);
        }
        int cols = rows.get(0).length;
        int[] width = new int[cols];
        for (String[] r : rows) {
            for (int c = 0; c < cols; c++) {
                // A longer cell overflows its column rather than widening it: padding 100,000 rows to
                // one megabyte-long name would print 100,000 megabytes.
                width[c] = Math.max(width[c], Math.min(r[c].length(), SafeText.MAX_NAME));
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder(indent);
            for (int c = 0; c < cols; c++) {
                line.append(r[c]);
                if (c < cols - 1) {
                    line.append(" ".repeat(Math.max(width[c] - r[c].length(), 0) + 2));
                }
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }
}
