package io.lstmx.exporters.pytorch;

import io.lstmx.api.ReferenceEngine;
import io.lstmx.formats.Format;
import io.lstmx.ir.Tensor;
import io.lstmx.references.libtorch.LibtorchEngine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a TorchScript archive in libtorch 2.7 through the libtorch reference engine, as
 * {@code verify --reference libtorch} does (offline, oneDNN kept off AVX-512, self-checked; see
 * the README's "libtorch users should know").
 */
final class Libtorch {
    private static final LibtorchEngine ENGINE = new LibtorchEngine();

    private Libtorch() {
    }

    /** forward(inputs...) of the archive at {@code file}, outputs in order. */
    static List<Tensor> run(Path file, List<Tensor> inputs) {
        try (ReferenceEngine.Session s = ENGINE.open(file, Format.TORCHSCRIPT)) {
            Map<String, Tensor> named = new LinkedHashMap<>();
            List<String> names = s.inputNames();
            for (int i = 0; i < inputs.size(); i++) {
                named.put(names.get(i), inputs.get(i));
            }
            Map<String, Tensor> out = s.run(named);
            List<Tensor> result = new ArrayList<>();
            for (String o : s.outputNames()) {
                result.add(out.get(o));
            }
            return result;
        }
    }
}
