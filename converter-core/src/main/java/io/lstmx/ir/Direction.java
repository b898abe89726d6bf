package io.lstmx.ir;

/** Direction of a recurrent layer. Bidirectional layers hold two weight sets: forward first. */
public enum Direction {
    FORWARD(1), REVERSE(1), BIDIRECTIONAL(2);

    private final int count;

    Direction(int count) {
        this.count = count;
    }

    /** Number of directions (1 or 2). */
    public int count() {
        return count;
    }
}
