package io.lstmx.references.libtorch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The parameter names of a TorchScript archive's {@code forward}, read from the archive itself (DJL
 * does not expose a method's schema): the top-level class named by {@code data.pkl}'s first GLOBAL
 * opcode, and its {@code def forward(self, ...)} in {@code code/<module path>.py}.
 */
final class TorchScriptSignature {
    /** Bytes read at most from data.pkl and from a code file. */
    private static final int MAX_READ = 4 << 20;

    private TorchScriptSignature() {
    }

    /**
     * The names of forward's parameters after {@code self}, in order.
     *
     * @param archive a torch.jit.save zip
     * @return the names, or null when the archive does not say them in the expected way
     */
    static List<String> forwardParameters(Path archive) {
        try (ZipFile zip = new ZipFile(archive.toFile())) {
            ZipEntry pkl = null;
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                ZipEntry z = e.nextElement();
                String n = z.getName();
                int slash = n.indexOf('/');
                if (slash > 0 && n.substring(slash + 1).equals("data.pkl")) {
                    pkl = z;
                    break;
                }
            }
            if (pkl == null) {
                return null;
            }
            String prefix = pkl.getName().substring(0, pkl.getName().indexOf('/') + 1);
            String[] type = topClass(read(zip, pkl));
            if (type == null) {
                return null;
            }
            ZipEntry code = zip.getEntry(prefix + "code/" + type[0].replace('.', '/') + ".py");
            if (code == null) {
                return null;
            }
            return parameters(new String(read(zip, code), StandardCharsets.UTF_8), type[1]);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static byte[] read(ZipFile zip, ZipEntry e) throws IOException {
        try (InputStream in = zip.getInputStream(e)) {
            return in.readNBytes(MAX_READ);
        }
    }

    /** Module and class of the pickle's first GLOBAL ('c' module '\n' name '\n'), after the PROTO opcode. */
    static String[] topClass(byte[] pkl) {
        int at = 0;
        if (pkl.length > 2 && (pkl[0] & 0xff) == 0x80) {
            at = 2;
        }
        if (at >= pkl.length || pkl[at] != 'c') {
            return null;
        }
        int nl1 = indexOf(pkl, (byte) '\n', at + 1);
        int nl2 = nl1 < 0 ? -1 : indexOf(pkl, (byte) '\n', nl1 + 1);
        if (nl2 < 0) {
            return null;
        }
        return new String[] {new String(pkl, at + 1, nl1 - at - 1, StandardCharsets.UTF_8),
                new String(pkl, nl1 + 1, nl2 - nl1 - 1, StandardCharsets.UTF_8)};
    }

    private static int indexOf(byte[] b, byte v, int from) {
        for (int i = from; i < b.length && i < from + 1000; i++) {
            if (b[i] == v) {
                return i;
            }
        }
        return -1;
    }

    /** forward's parameters after self in {@code class <name>(...)} of TorchScript's Python-like code. */
    static List<String> parameters(String code, String className) {
        int cls = code.indexOf("\nclass " + className + "(");
        if (cls < 0 && code.startsWith("class " + className + "(")) {
            cls = 0;
        }
        if (cls < 0) {
            return null;
        }
        int next = code.indexOf("\nclass ", cls + 1);
        int def = code.indexOf("def forward(self", cls);
        if (def < 0 || (next >= 0 && def > next)) {
            return null;
        }
        int open = code.indexOf('(', def);
        int depth = 0;
        int end = -1;
        for (int i = open; i < code.length(); i++) {
            char c = code.charAt(i);
            if (c == '(' || c == '[') {
                depth++;
            } else if (c == ')' || c == ']') {
                depth--;
                if (depth == 0) {
                    end = i;
                    break;
                }
            }
        }
        if (end < 0) {
            return null;
        }
        List<String> names = new ArrayList<>();
        StringBuilder part = new StringBuilder();
        depth = 0;
        for (int i = open + 1; i <= end; i++) {
            char c = code.charAt(i);
            if ((c == ',' && depth == 0) || i == end) {
                String p = part.toString().trim();
                int colon = p.indexOf(':');
                int eq = p.indexOf('=');
                String name = (colon >= 0 ? p.substring(0, colon) : eq >= 0 ? p.substring(0, eq) : p).trim();
                if (!name.isEmpty()) {
                    names.add(name);
                }
                part.setLength(0);
                continue;
            }
            if (c == '(' || c == '[') {
                depth++;
            } else if (c == ')' || c == ']') {
                depth--;
            }
            part.append(c);
        }
        if (names.isEmpty() || !names.get(0).equals("self")) {
            return null;
        }
        return List.copyOf(names.subList(1, names.size()));
    }
}
