package io.lstmx.exporters.tensorflow;

import io.lstmx.ir.Direction;
import io.lstmx.ir.Layout;
import io.lstmx.ir.LstmSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

class SmokeTest {
    @TempDir
    Path dir;

    @Test
    void block() throws Exception {
        Samples.Sample s = Samples.lstm("x", LstmSpec.standard(3, 4, Direction.FORWARD, Layout.TIME_MAJOR), true, false);
        Tf.check(dir, s.model(), s.inputs());
    }

    @Test
    void loop() throws Exception {
        Samples.Sample s = Samples.lstm("x", LstmSpec.standard(3, 4, Direction.FORWARD, Layout.TIME_MAJOR).withLayout(Layout.TIME_MAJOR)
                .withCellClip(null), true, false);
        LstmSpec c = new LstmSpec(3, 4, 0, Direction.FORWARD, Layout.TIME_MAJOR, 0.5f, false, LstmSpec.DEFAULT_ACTIVATIONS);
        Samples.Sample s2 = Samples.lstm("x", c, true, false);
        Tf.check(dir, s2.model(), s2.inputs());
    }
}
