package io.lstmx.ir;

import io.lstmx.errors.ErrorCode;
import io.lstmx.errors.LstmxException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ports record of LSTM, GRU and RNN layers, and what the three share as {@link Layer.Recurrent}. */
class RecurrentPortsTest {
    private static final RecurrentSpec GRU_SPEC = new RecurrentSpec(3, 2, Direction.FORWARD, Layout.TIME_MAJOR, null, false,
            List.of(ActivationFn.SIGMOID, ActivationFn.TANH));
    private static final RecurrentSpec RNN_SPEC = new RecurrentSpec(3, 2, Direction.FORWARD, Layout.TIME_MAJOR, null, false,
            List.of(ActivationFn.TANH));

    @Test
    void portsListTheirValuesInOnnxOrderAndTakeEmptyNamesAsAbsent() {
        RecurrentPorts p = RecurrentPorts.of("x").withSequenceLengths("").withInitialStates("h0", "c0").withOutputs(null, "yh", "yc");
        assertEquals(List.of("x", "h0", "c0"), p.inputs());
        assertEquals(List.of("yh", "yc"), p.outputs());
        assertNull(p.sequenceLengths());
        assertTrue(p.hasCellState());
        assertEquals(new RecurrentPorts("x", null, "h0", null, "y", "yh", null), RecurrentPorts.withoutCell("x", "", "h0", "y", "yh"));
    }

    @Test
    void portsNeedAnInputSequence() {
        LstmxException e = assertThrows(LstmxException.class, () -> RecurrentPorts.of(""));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
    }

    @Test
    void gruAndRnnRefuseCellStatePortsNamingTheLayer() {
        RecurrentPorts withC0 = RecurrentPorts.of("x").withInitialStates(null, "c0").withOutputs("y", null);
        LstmxException gru = assertThrows(LstmxException.class,
                () -> new Layer.Gru("enc", withC0, GRU_SPEC, List.of(weights(3)), GateOrder.Gru.ONNX));
        assertEquals(ErrorCode.BAD_INPUT, gru.code());
        assertTrue(gru.getMessage().contains("layer 'enc' (GRU) has no cell state") && gru.getMessage().contains("'c0'"), gru.getMessage());
        RecurrentPorts withYc = RecurrentPorts.of("x").withOutputs("y", null, "yc");
        LstmxException rnn = assertThrows(LstmxException.class, () -> new Layer.Rnn("dec", withYc, RNN_SPEC, List.of(weights(1))));
        assertEquals(ErrorCode.BAD_INPUT, rnn.code());
        assertTrue(rnn.getMessage().contains("layer 'dec' (RNN) has no cell state") && rnn.getMessage().contains("'yc'"), rnn.getMessage());
    }

    @Test
    void aRecurrentLayerNeedsAnOutput() {
        LstmxException e = assertThrows(LstmxException.class,
                () -> new Layer.Rnn("r", RecurrentPorts.of("x"), RNN_SPEC, List.of(weights(1))));
        assertEquals(ErrorCode.BAD_INPUT, e.code());
        assertTrue(e.getMessage().contains("layer 'r' has no output in use"), e.getMessage());
    }

    @Test
    void theThreeKindsAnswerTheCommonQuestionsAlike() {
        LstmSpec lstmSpec = new LstmSpec(3, 4, 2, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR, 1.5f, false,
                LstmSpec.standard(3, 4, Direction.BIDIRECTIONAL, Layout.BATCH_MAJOR).activations());
        LstmWeights lw = new LstmWeights(Tensor.zeros(16, 3), Tensor.zeros(16, 2), Tensor.zeros(16), Tensor.zeros(16), null, Tensor.zeros(2, 4));
        Layer.Recurrent lstm = new Layer.Lstm("l", RecurrentPorts.of("x").withOutputs("y", null, "yc"), lstmSpec, List.of(lw, lw),
                GateOrder.CANONICAL);
        Layer.Recurrent gru = new Layer.Gru("g", RecurrentPorts.withoutCell("x", "n", null, "y", null), GRU_SPEC, List.of(weights(3)),
                GateOrder.Gru.CANONICAL);
        Layer.Recurrent rnn = new Layer.Rnn("r", RecurrentPorts.withoutCell("x", null, "h0", null, "yh"), RNN_SPEC, List.of(weights(1)));
        assertEquals(List.of(3, 4, 2, 4, 4, 2), List.of(lstm.inputSize(), lstm.hiddenSize(), lstm.outputSize(), lstm.cellWidth(),
                lstm.gates(), lstm.weights().size()));
        assertEquals(List.of(3, 2, 2, 0, 3, 1), List.of(gru.inputSize(), gru.hiddenSize(), gru.outputSize(), gru.cellWidth(),
                gru.gates(), gru.weights().size()));
        assertEquals(List.of(3, 2, 2, 0, 1, 1), List.of(rnn.inputSize(), rnn.hiddenSize(), rnn.outputSize(), rnn.cellWidth(),
                rnn.gates(), rnn.weights().size()));
        assertEquals(1.5f, lstm.clip());
        assertEquals(Layout.BATCH_MAJOR, lstm.layout());
        assertEquals(List.of("x", "n"), gru.inputs());
        assertEquals(List.of("yh"), rnn.outputs());
        Layer.Recurrent moved = rnn.withPorts(RecurrentPorts.withoutCell("x2", null, null, "z", null));
        assertEquals(List.of("x2"), moved.inputs());
        assertEquals(List.of("z"), moved.outputs());
        assertEquals("r", moved.name());
    }

    private static RecurrentWeights weights(int gates) {
        return new RecurrentWeights(Tensor.zeros(2 * gates, 3), Tensor.zeros(2 * gates, 2), Tensor.zeros(2 * gates), Tensor.zeros(2 * gates));
    }
}
