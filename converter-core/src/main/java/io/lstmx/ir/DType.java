package io.lstmx.ir;

/**
 * Element types of IR values. Floating tensors are held as float32 (float16 and float64 weights are
 * converted on import); integer tensors are held as int64 whatever their declared width, which is
 * kept so that exporters can write the declared type back (ONNX wants int32 sequence lengths).
 */
public enum DType {
    FLOAT32, INT32, INT64;

    public boolean isFloating() {
        return this == FLOAT32;
    }
}
