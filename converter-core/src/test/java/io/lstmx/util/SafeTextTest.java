package io.lstmx.util;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTextTest {
    @Test
    void shortNamesArePrintedWhole() {
        String n = "lstm/" + "x".repeat(SafeText.MAX_NAME - 5);
        assertEquals(n, SafeText.name(n));
        assertNull(SafeText.name(null));
    }

    @Test
    void aHugeNameIsCutToHeadAndTailAroundACountedEllipsis() {
        String n = "head" + "a".repeat(10_000_000) + "tail";
        String shown = SafeText.name(n);
        assertTrue(shown.length() < SafeText.MAX_NAME + 40, shown.length() + " characters");
        assertTrue(shown.startsWith("headaaa") && shown.endsWith("aaatail"), shown);
        int kept = shown.length() - shown.substring(shown.indexOf('\u2026'), shown.lastIndexOf('\u2026') + 1).length();
        assertTrue(shown.contains("(" + (n.length() - kept) + " characters)"), "says how much was left out: " + shown);
    }

    @Test
    void aCutNeverSplitsASurrogatePair() {
        String n = "\ud83d\ude00".repeat(1000); // 2000 chars of emoji
        String shown = SafeText.name(n);
        String head = shown.substring(0, shown.indexOf('\u2026'));
        String tail = shown.substring(shown.lastIndexOf('\u2026') + 1);
        assertFalse(Character.isHighSurrogate(head.charAt(head.length() - 1)), "head ends on a whole character");
        assertFalse(Character.isLowSurrogate(tail.charAt(0)), "tail starts on a whole character");
    }

    @Test
    void aMessageCutsEveryLongWordAndStaysOneBoundedLine() {
        String msg = "model.onnx: node '" + "n".repeat(100_000) + "' (op Foo)\nsecond line " + "w ".repeat(10_000);
        String shown = SafeText.message(msg);
        assertFalse(shown.contains("\n"));
        assertTrue(shown.startsWith("model.onnx: node 'nnn"), shown.substring(0, 40));
        assertTrue(shown.length() <= SafeText.MAX_LINE + 40, shown.length() + " characters");
    }

    @Test
    void aMessageWithoutLongWordsIsOnlyMadeOneLine() {
        assertEquals("a b: c", SafeText.message("a b:\n  c"));
    }

    @Test
    void aShortListIsWrittenAsListsWriteThemselves() {
        assertEquals("[]", SafeText.list(List.of()));
        List<String> ten = IntStream.range(0, 10).mapToObj(i -> "x" + i).toList();
        assertEquals(ten.toString(), SafeText.list(ten));
    }

    @Test
    void aLongListNamesItsFirstTenAndCountsTheRest() {
        List<String> many = IntStream.range(0, 100_000).mapToObj(i -> "x" + i).toList();
        assertEquals("[x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, and 99990 more]", SafeText.list(many));
        assertEquals("[x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, and 1 more]", SafeText.list(many.subList(0, 11)));
    }
}
