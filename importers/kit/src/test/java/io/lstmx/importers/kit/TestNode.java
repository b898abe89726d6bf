package io.lstmx.importers.kit;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;

/** A node context for the kit's tests: node 'n' (Op) of test.model, with a given fold room. */
final class TestNode implements NodeContext {
    private final long room;
    private int fresh;

    TestNode(long room) {
        this.room = room;
    }

    TestNode() {
        this(Fold.LIMIT);
    }

    @Override
    public String where() {
        return "test.model: node 'n' (Op)";
    }

    @Override
    public String layerName() {
        return "n";
    }

    @Override
    public LstmxException bad(String message) {
        return LstmxException.badInput(where() + ": " + message);
    }

    @Override
    public LstmxException unsupported(String message) {
        return new LstmxException(ErrorCode.UNSUPPORTED, "node 'n' (Op): " + message);
    }

    @Override
    public long foldRoom() {
        return room;
    }

    @Override
    public SDim freshDim() {
        return SDim.anonymous(++fresh);
    }
}
