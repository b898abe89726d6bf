package io.lstmx.cli;

import io.lstmx.formats.ReadOptions;
import picocli.CommandLine.Option;

/**
 * What a PyTorch state_dict or pickled module cannot tell about itself, as options shared by
 * {@code run}, {@code convert}, {@code verify} and {@code inspect}; each sets the read hint of the
 * same name (formats that do not need it ignore it).
 */
final class ReadHints {
    @Option(names = "--batch-first",
            description = "PyTorch state_dict: the recurrent layers take and give batch-major tensors [batch, time, features] "
                    + "(nn.LSTM(batch_first=True)); default time-major.")
    boolean batchFirst;

    @Option(names = "--last-step",
            description = "PyTorch state_dict: the layers after the recurrent ones apply to its last time step (out[:, -1, :]); "
                    + "default every step.")
    boolean lastStep;

    /** The read options these flags ask for; a flag not given sets no hint, so that what the file says decides. */
    ReadOptions options() {
        ReadOptions o = ReadOptions.DEFAULT;
        if (batchFirst) {
            o = o.withHint("batch-first", "true");
        }
        if (lastStep) {
            o = o.withHint("last-step", "true");
        }
        return o;
    }
}
