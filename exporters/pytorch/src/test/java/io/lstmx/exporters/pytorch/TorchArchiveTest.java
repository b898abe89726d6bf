package io.lstmx.exporters.pytorch;

import io.lstmx.ir.samples.Bytes;
import io.lstmx.ir.DType;
import io.lstmx.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Storages are produced from the tensors when the archive is written (issue 9: the weights are not
 * held twice): the entries still hold the elements as little-endian float32 or int64, with the CRCs
 * and 64-byte alignment a zip reader and PyTorch expect.
 */
class TorchArchiveTest {
    @TempDir
    Path dir;

    @Test
    void storagesAreTheTensorsBytesWithTheirCrcsAndAlignment() throws IOException {
        float[] big = new float[40_000]; // more than one 64 KiB chunk
        for (int i = 0; i < big.length; i++) {
            big[i] = i * 0.25f - 7;
        }
        List<Tensor> tensors = List.of(Tensor.ofFloats(new int[] {200, 200}, big),
                Tensor.ofFloats(new int[] {3}, new float[] {0.5f, -2f, 1e-3f}).withDType(DType.FLOAT16),
                Tensor.ofLongs(new int[] {2, 2}, new long[] {1, -2, Long.MAX_VALUE, 40_000_000_000L}),
                Tensor.zeros(0));
        TorchArchive archive = new TorchArchive("m");
        archive.addText("version", "3\n");
        TorchArchive.Storages storages = new TorchArchive.Storages(archive, "data");
        for (Tensor t : tensors) {
            storages.tensor(t);
        }
        Path file = dir.resolve("m.pt");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        archive.writeTo(out);
        Files.write(file, out.toByteArray());
        try (ZipFile zip = new ZipFile(file.toFile())) { // checks every CRC as it reads
            assertEquals("3\n", new String(zip.getInputStream(zip.getEntry("m/version")).readAllBytes()));
            List<String> names = new ArrayList<>();
            zip.stream().forEach(e -> names.add(e.getName()));
            assertEquals(List.of("m/version", "m/data/0", "m/data/1", "m/data/2", "m/data/3"), names);
            for (int k = 0; k < tensors.size(); k++) {
                Tensor t = tensors.get(k);
                ZipEntry e = zip.getEntry("m/data/" + k);
                assertEquals(ZipEntry.STORED, e.getMethod());
                ByteBuffer want = ByteBuffer.allocate(t.size() * (t.dtype().isFloating() ? 4 : 8)).order(ByteOrder.LITTLE_ENDIAN);
                if (t.dtype().isFloating()) {
                    want.asFloatBuffer().put(t.toFloatArray());
                } else {
                    want.asLongBuffer().put(t.toLongArray());
                }
                byte[] got = zip.getInputStream(e).readAllBytes();
                assertArrayEquals(want.array(), got, "storage " + k);
                int at = Bytes.indexOf(out.toByteArray(), ("m/data/" + k).getBytes());
                int nameLength = ("m/data/" + k).length();
                int extra = ByteBuffer.wrap(out.toByteArray(), at - 2, 2).order(ByteOrder.LITTLE_ENDIAN).getShort();
                assertEquals(0, (at + nameLength + extra) % TorchArchive.ALIGNMENT, "storage " + k + " starts aligned");
            }
        }
    }

}
