package io.lstmx.exporters.pytorch;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtModel;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs a TorchScript archive in libtorch through DJL (offline: the native library comes from the class path). */
final class Libtorch {
    private Libtorch() {
    }

    static {
        // libtorch 2.7.1's oneDNN/graph-optimised RNN path was seen to give wrong LSTM results in a few
        // configurations (bias=False, stacked with h0/c0, bidirectional batch_first): run unoptimised.
        ai.djl.engine.Engine.getEngine("PyTorch"); // loads the native library
        JniUtils.setGraphExecutorOptimize(false);
        JniUtils.setNumThreads(1);
        JniUtils.setNumInteropThreads(1);
    }

    /** forward(inputs...) of the archive at {@code file}, outputs in order. */
    static List<Tensor> run(Path file, List<Tensor> inputs) throws Exception {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
             PtModel model = (PtModel) ai.djl.Model.newInstance("lstmx", Device.cpu(), "PyTorch")) {
            model.load(file.getParent(), file.getFileName().toString());
            PtSymbolBlock block = (PtSymbolBlock) model.getBlock();
            NDList in = new NDList();
            for (Tensor t : inputs) {
                long[] shape = new long[t.rank()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = t.dim(i);
                }
                in.add(t.dtype().isFloating() ? manager.create(t.toFloatArray(), new ai.djl.ndarray.types.Shape(shape))
                        : manager.create(t.toLongArray(), new ai.djl.ndarray.types.Shape(shape)));
            }
            NDList out = block.forward(new ParameterStore(manager, false), in, false);
            List<Tensor> result = new ArrayList<>();
            for (NDArray a : out) {
                long[] s = a.getShape().getShape();
                int[] shape = new int[s.length];
                for (int i = 0; i < s.length; i++) {
                    shape[i] = (int) s[i];
                }
                if (a.getDataType() == DataType.FLOAT32) {
                    result.add(Tensor.ofFloats(shape, a.toFloatArray()));
                } else if (a.getDataType() == DataType.INT64) {
                    result.add(Tensor.ofLongs(DType.INT64, shape, a.toLongArray()));
                } else {
                    result.add(Tensor.ofFloats(shape, a.toType(DataType.FLOAT32, false).toFloatArray()));
                }
            }
            return result;
        }
    }
}
