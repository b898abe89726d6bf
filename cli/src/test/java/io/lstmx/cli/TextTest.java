package io.lstmx.cli;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextTest {
    @Test
    void columnsAreAlignedToTheirWidestCell() {
        String t = Text.table(List.of(new String[] {"NAME", "KIND"}, new String[] {"lstm_1", "LSTM"}, new String[] {"y", "Dense"}), "  ");
        assertEquals("  NAME    KIND\n  lstm_1  LSTM\n  y       Dense\n", t);
    }

    @Test
    void aHugeCellOverflowsItsColumnInsteadOfWideningEveryRow() {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NAME", "KIND"});
        rows.add(new String[] {"n".repeat(1_000_000), "Relu"});
        for (int i = 0; i < 2000; i++) {
            rows.add(new String[] {"relu_" + i, "Relu"});
        }
        // Padding 2,000 rows to a million characters each would make a table of two billion.
        String t = Text.table(rows, "");
        assertTrue(t.length() < 1_000_000 + 2001 * 300, "table of " + t.length() + " characters");
        assertTrue(t.contains("n".repeat(1_000_000) + "  Relu\n"), "the long cell is printed whole, then its row goes on");
    }
}
