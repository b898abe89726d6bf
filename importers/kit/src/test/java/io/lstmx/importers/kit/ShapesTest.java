package io.lstmx.importers.kit;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.DType;
import io.lstmx.ir.Shape;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShapesTest {
    private static final SDim B = SDim.symbolic("batch");
    private static final SDim T = SDim.symbolic("time");

    private static SDim k(long v) {
        return SDim.known(v);
    }

    @Test
    void broadcastingAlignsFromTheRightAndStretchesOnes() {
        // [3, 1, 5] with [4, 1]: right-aligned [3, 1, 5] / [1, 4, 1] -> [3, 4, 5]
        assertEquals(List.of(k(3), k(4), k(5)), Shapes.broadcast(List.of(k(3), k(1), k(5)), List.of(k(4), k(1)), new TestNode()));
    }

    @Test
    void broadcastingASymbolAgainstOneKeepsTheSymbolAndAgainstASizeTakesTheSize() {
        assertEquals(List.of(B, k(7)), Shapes.broadcast(List.of(B, k(1)), List.of(k(1), k(7)), new TestNode()));
        assertEquals(List.of(k(2)), Shapes.broadcast(List.of(B), List.of(k(2)), new TestNode()));
    }

    @Test
    void broadcastingTwoDifferentSymbolsGivesAFreshOne() {
        List<SDim> out = Shapes.broadcast(List.of(B), List.of(T), new TestNode());
        assertEquals(List.of(SDim.anonymous(1)), out);
    }

    @Test
    void sizesThatDoNotBroadcastAreTheNodesBadInput() {
        LstmxException e = assertThrows(LstmxException.class, () -> Shapes.broadcast(List.of(k(3)), List.of(k(4)), new TestNode()));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().startsWith("test.model: node 'n' (Op): "), e.getMessage());
    }

    @Test
    void broadcastingAnUnknownRankIsUnknown() {
        assertNull(Shapes.broadcast(null, List.of(k(2)), new TestNode()));
    }

    @Test
    void aProductIsKnownWhenEveryFactorIsAndOtherwiseASymbolOnlyWhenTheRestAreOnes() {
        assertEquals(k(24), Shapes.product(List.of(k(2), k(3), k(4)), new TestNode()));
        assertEquals(B, Shapes.product(List.of(k(1), B, k(1)), new TestNode()));
        assertEquals(SDim.anonymous(1), Shapes.product(List.of(k(2), B), new TestNode()));
    }

    @Test
    void knownDimsBecomeIntsAndASymbolIsRefusedAsUnsupported() {
        assertArrayEquals(new int[] {2, 0, 5}, Shapes.toInts(List.of(k(2), k(0), k(5)), new TestNode()));
        assertEquals(ErrorCode.UNSUPPORTED, assertThrows(LstmxException.class, () -> Shapes.toInts(List.of(B), new TestNode())).code());
        assertEquals(ErrorCode.UNSUPPORTED, assertThrows(LstmxException.class,
                () -> Shapes.toInts(List.of(k(1L << 33)), new TestNode())).code());
    }

    @Test
    void entriesOfShapeVectorsAndIntegerVectorsButNotOfFloats() {
        assertEquals(List.of(B, k(3)), Shapes.entries(new Value.ShapeVec(List.of(B, k(3)), false)));
        assertEquals(List.of(k(2), k(-1)), Shapes.entries(new Value.Const(Tensor.ofLongs(new int[] {2}, new long[] {2, -1}))));
        assertNull(Shapes.entries(new Value.Const(Tensor.ofFloats(new int[] {1}, new float[] {2}))));
        assertNull(Shapes.entries(new Value.Const(Tensor.ofLongs(new int[] {1, 1}, new long[] {2}))), "rank 2 is no shape");
        assertNull(Shapes.entries(new Value.Run("x", DType.INT64, List.of(k(2)))));
    }

    @Test
    void allKnownNeedsAKnownRank() {
        assertTrue(Shapes.allKnown(List.of(k(1), k(2))));
        assertFalse(Shapes.allKnown(List.of(k(1), B)));
        assertFalse(Shapes.allKnown(null));
    }

    @Test
    void irShapesKeepNamesAndDropAnonymousSymbols() {
        assertEquals(Shape.of("batch", 3, ""), Shapes.toIr(List.of(B, k(3), SDim.anonymous(4))));
        assertEquals(Shape.UNKNOWN, Shapes.toIr(null));
        assertEquals(List.of(k(2), k(3)), Shapes.known(new int[] {2, 3}));
    }
}
