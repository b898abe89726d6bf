package io.lstmx.importers.pytorch;

/**
 * A storage a tensor views, as the pickle's persistent id names it; its bytes stay in the file
 * until a tensor that is used asks for them.
 *
 * @param key      the storage's key: the zip entry {@code <archive>/data/<key>}, or the legacy
 *                 format's root key
 * @param type     its element type
 * @param location the device it was saved from ("cpu", "cuda:0", ...); everything is read on the CPU
 * @param base     where this storage starts in the root storage, in elements (legacy views; else 0)
 * @param numel    its length in elements
 */
record StorageRef(String key, StorageType type, String location, long base, long numel) {
}
