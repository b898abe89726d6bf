package io.lstmx.importers.keras;

import com.google.gson.JsonObject;
import io.lstmx.errors.LstmxException;
import io.lstmx.ir.Model;
import io.lstmx.ir.ModelInfo;
import io.lstmx.util.Heap;
import io.lstmx.util.IoErrors;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads Keras files into the IR, in pure Java: the model config (JSON) through {@link KerasConfig},
 * the weights through jHDF ({@link WeightSource}), the layers through {@link KerasGraph} and the
 * converters of {@link Converters}.
 * <ul>
 *   <li>.h5 (Keras 2, and Keras 3's legacy h5 writer): root attribute {@code model_config},
 *       weights under {@code /model_weights}; the Keras version from attribute {@code keras_version};</li>
 *   <li>.keras (Keras 3): a zip of config.json, metadata.json and model.weights.h5; entries are
 *       checked (no absolute or {@code ..} names, no duplicates) and their inflated sizes bounded
 *       before anything is inflated.</li>
 * </ul>
 * The Keras version decides what hard_sigmoid means: Keras 2's clip(0.2x + 0.5, 0, 1), Keras 3's
 * relu6(x + 3) / 6.
 */
final class KerasImporter {
    /** Largest config.json or metadata.json read. */
    static final long MAX_JSON_BYTES = 64L << 20;
    /** Largest model.weights.h5 inflated into memory. */
    static final long MAX_WEIGHTS_BYTES = Integer.MAX_VALUE - 16L;
    /** Deflate cannot compress more than about 1032:1; a larger ratio is a bomb. */
    static final long MAX_DEFLATE_RATIO = 1100;
    /**
     * Keras's JSON deflates about 3-5:1 (every fixture and real archive here), a config of
     * thousands of repeated layers perhaps 50:1; only padding reaches deflate's 1000:1, and a
     * .keras of 60 KiB then held a config.json of 60 MiB (180 MiB allocated to read it). Weights
     * keep the general bound: a model of zeros is legitimate.
     */
    static final long MAX_JSON_RATIO = 200;
    static final int MAX_ENTRIES = 10_000;

    private KerasImporter() {
    }

    static Model readH5(Path path) {
        String file = path.toString();
        try (H5 h5 = H5.open(path)) {
            String text = h5.stringAttribute(h5.hdf, "model_config");
            if (text == null) {
                throw LstmxException.badInput(file + ": no attribute model_config at the root (a weights-only file written by"
                        + " save_weights?); lstmx needs the model's config");
            }
            String version = h5.stringAttribute(h5.hdf, "keras_version");
            var mw = h5.group("model_weights");
            if (version == null && mw != null) {
                version = h5.stringAttribute(mw, "keras_version");
            }
            KerasConfig config = KerasConfig.parse(Json.parseObject(text, file + ": attribute model_config"), file + ": model_config");
            if (mw == null) {
                throw LstmxException.badInput(file + ": no group /model_weights (the model was saved without weights?)");
            }
            boolean k3 = version != null ? version.startsWith("3") : config.keras3Spelling || text.contains("DTypePolicy");
            String producer = "Keras " + (version == null ? (k3 ? "3" : "2") : version);
            WeightSource ws = new WeightSource.Legacy(h5);
            return build(file, config, ws, k3, new ModelInfo("keras-h5", producer, config.modelClass + ", legacy HDF5"));
        } catch (LstmxException e) {
            throw e.getMessage() != null && e.getMessage().contains(file) ? e : e.withContext(file);
        }
    }

    static Model readKeras(Path path) {
        String file = path.toString();
        try (ZipFile z = open(path)) {
            long fileSize = Files.size(path);
            Set<String> names = new HashSet<>();
            int count = 0;
            var it = z.entries();
            while (it.hasMoreElements()) {
                ZipEntry e = it.nextElement();
                if (++count > MAX_ENTRIES) {
                    throw LstmxException.badInput(file + ": more than " + MAX_ENTRIES + " zip entries");
                }
                checkName(file, e.getName());
                if (!names.add(e.getName())) {
                    throw LstmxException.badInput(file + ": zip entry '" + e.getName() + "' appears twice");
                }
            }
            if (!names.contains("config.json")) {
                throw LstmxException.badInput(file + ": a zip without config.json, so no .keras archive");
            }
            String text = new String(entry(file, z, "config.json", MAX_JSON_BYTES, MAX_JSON_RATIO, fileSize), StandardCharsets.UTF_8);
            String version = null;
            if (names.contains("metadata.json")) {
                JsonObject meta = Json.parseObject(new String(entry(file, z, "metadata.json", MAX_JSON_BYTES, MAX_JSON_RATIO, fileSize), StandardCharsets.UTF_8),
                        file + ": metadata.json");
                version = Json.str(meta, "keras_version", null, file + ": metadata.json");
            }
            KerasConfig config = KerasConfig.parse(Json.parseObject(text, file + ": config.json"), file + ": config.json");
            if (!names.contains("model.weights.h5")) {
                throw LstmxException.badInput(file + ": no model.weights.h5 in the archive" + (names.contains("model.weights.npz")
                        ? " (weights in .npz are not supported)" : ""));
            }
            byte[] weights = entry(file, z, "model.weights.h5", MAX_WEIGHTS_BYTES, MAX_DEFLATE_RATIO, fileSize);
            boolean k3 = version == null || !version.startsWith("2");
            try (H5 h5 = H5.fromBytes(file + "!model.weights.h5", weights)) {
                WeightSource ws = new WeightSource.ByObjectPath(h5, config);
                return build(file, config, ws, k3, new ModelInfo("keras", "Keras " + (version == null ? "3" : version),
                        config.modelClass + ", .keras archive"));
            }
        } catch (IOException e) {
            throw LstmxException.badInput(file + ": cannot read: " + IoErrors.describe(e));
        } catch (LstmxException e) {
            throw e.getMessage() != null && e.getMessage().contains(file) ? e : e.withContext(file);
        }
    }

    private static Model build(String file, KerasConfig config, WeightSource ws, boolean k3, ModelInfo info) {
        return new KerasGraph(file, config, ws, k3).build(info);
    }

    private static ZipFile open(Path path) {
        try {
            return new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw LstmxException.badInput(path + ": not a readable zip archive: " + e.getMessage());
        } catch (IOException e) {
            throw LstmxException.badInput(path + ": cannot read: " + IoErrors.describe(e));
        }
    }

    static void checkName(String file, String n) {
        boolean bad = n.startsWith("/") || n.contains("\\") || n.contains("\0") || (n.length() > 1 && n.charAt(1) == ':');
        for (String part : n.split("/", -1)) {
            bad |= part.equals("..");
        }
        if (bad) {
            throw LstmxException.badInput(file + ": zip entry '" + n + "' points outside the archive (absolute, drive, backslash or '..' name)");
        }
    }

    /** An entry's bytes, its declared size (at most {@code max}, at most {@code ratio} times its stored size) checked before anything is inflated. */
    private static byte[] entry(String file, ZipFile z, String name, long max, long ratio, long fileSize) {
        ZipEntry e = z.getEntry(name);
        long size = e.getSize();
        long stored = e.getCompressedSize();
        if (size < 0 || stored < 0) {
            throw LstmxException.badInput(file + ": zip entry '" + name + "' does not state its size");
        }
        if (size > max) {
            throw LstmxException.badInput(file + ": zip entry '" + name + "' declares " + size + " bytes, more than the " + max
                    + " lstmx reads for it");
        }
        if (e.getMethod() == ZipEntry.STORED ? size != stored || size > fileSize : stored > fileSize || size > stored * ratio + 1024) {
            throw LstmxException.badInput(file + ": zip entry '" + name + "' declares " + size + " bytes from " + stored
                    + " stored in a file of " + fileSize + " (a decompression bomb?)");
        }
        Heap.require(size, file + ": zip entry '" + name + "'");
        try (InputStream in = z.getInputStream(e)) {
            byte[] b = in.readNBytes((int) size);
            if (b.length != size || in.read() >= 0) {
                throw LstmxException.badInput(file + ": zip entry '" + name + "' holds " + (b.length != size ? b.length : "more than " + size)
                        + " bytes, but declares " + size);
            }
            return b;
        } catch (ZipException ex) {
            throw LstmxException.badInput(file + ": zip entry '" + name + "' is damaged: " + ex.getMessage());
        } catch (IOException ex) {
            throw LstmxException.badInput(file + ": cannot read zip entry '" + name + "': " + IoErrors.describe(ex));
        }
    }
}
