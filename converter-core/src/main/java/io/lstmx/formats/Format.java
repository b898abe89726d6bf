package io.lstmx.formats;

import java.util.List;
import java.util.Objects;

/**
 * A model file format as users name it. The identity is the {@link #id()} alone; the rest describes
 * the format for listings, detection and error messages. The formats lstmx knows are the constants
 * below; which of them can be read or written depends on the plug-ins on the class path (see
 * {@link FormatRegistry}).
 *
 * @param id          the canonical name, e.g. "onnx", "torchscript", "keras-h5"
 * @param description one line for listings
 * @param aliases     other names accepted for it on the command line and in {@link FormatRegistry#format}
 * @param extensions  file-name extensions (lower case, without the dot) that imply it; empty for none
 * @param directory   whether a model of this format is a folder rather than a file
 */
public record Format(String id, String description, List<String> aliases, List<String> extensions, boolean directory) {
    /** ONNX ModelProto (.onnx), with external data files beside it when large. */
    public static final Format ONNX = new Format("onnx", "ONNX model (.onnx)", List.of(), List.of("onnx"), false);
    /** A TorchScript archive written by torch.jit.save (zip with code/, constants.pkl, data.pkl). */
    public static final Format TORCHSCRIPT = new Format("torchscript", "TorchScript archive (torch.jit.save)",
            List.of("pytorch", "torch", "pt", "jit"), List.of("pt", "pth", "ptc"), false);
    /** A torch.save file holding a state_dict or a whole pickled module (zip or legacy format). */
    public static final Format PYTORCH_STATE_DICT = new Format("pytorch-state-dict",
            "PyTorch state_dict or pickled module (torch.save)", List.of("state-dict", "state_dict"), List.of("pt", "pth", "bin"), false);
    /** A Keras 3 archive (.keras: zip with config.json and model.weights.h5). */
    public static final Format KERAS = new Format("keras", "Keras 3 archive (.keras)", List.of(), List.of("keras"), false);
    /** A Keras HDF5 file (.h5: Keras 2, or Keras 3's legacy writer). */
    public static final Format KERAS_H5 = new Format("keras-h5", "Keras HDF5 model (.h5)", List.of("h5", "hdf5"), List.of("h5", "hdf5"), false);
    /** A TensorFlow SavedModel folder (saved_model.pb and variables/). */
    public static final Format SAVEDMODEL = new Format("savedmodel", "TensorFlow SavedModel folder",
            List.of("tensorflow", "tf", "saved_model"), List.of(), true);
    /** A frozen TensorFlow GraphDef (.pb with the weights as constants). */
    public static final Format TF_GRAPHDEF = new Format("tf-graphdef", "frozen TensorFlow GraphDef (.pb)",
            List.of("graphdef", "frozen", "pb"), List.of("pb"), false);

    /** Every format lstmx knows, whether or not a plug-in for it is on the class path. */
    public static final List<Format> KNOWN = List.of(ONNX, TORCHSCRIPT, PYTORCH_STATE_DICT, KERAS, KERAS_H5, SAVEDMODEL, TF_GRAPHDEF);

    /**
     * Checks and copies the components.
     *
     * @param id          the canonical name
     * @param description one line for listings
     * @param aliases     other names accepted for it
     * @param extensions  file-name extensions that imply it
     * @param directory   whether a model of this format is a folder
     */
    public Format {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(description, "description");
        aliases = List.copyOf(aliases);
        extensions = List.copyOf(extensions);
    }

    /**
     * Whether {@code name} is this format's id or one of its aliases.
     *
     * @param name a name in lower case, trimmed
     * @return true when the name means this format
     */
    public boolean answersTo(String name) {
        return id.equals(name) || aliases.contains(name);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Format f && f.id.equals(id);
    }

    @Override
    public int hashCode() {
        return id.hashCode();
    }

    @Override
    public String toString() {
        return id;
    }
}
