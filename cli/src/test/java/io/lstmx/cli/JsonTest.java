package io.lstmx.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.StringReader;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {
    /** Parses with Gson in strict RFC 8259 mode; fails on anything else, including trailing text. */
    static JsonElement parseStrict(String text) {
        try (JsonReader r = new JsonReader(new StringReader(text))) {
            r.setStrictness(Strictness.STRICT);
            JsonElement e = JsonParser.parseReader(r);
            assertEquals(JsonToken.END_DOCUMENT, r.peek(), "trailing content after the JSON value");
            return e;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void escapesAndNestsAsJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quote\"back\\slash", "line\nbreak\ttab\u0001ctl é");
        m.put("list", Arrays.asList(1, 2.5, null, true, List.of()));
        m.put("empty", Map.of());
        m.put("nan", Double.NaN);
        m.put("big", Long.MAX_VALUE);
        JsonObject o = parseStrict(Json.write(m)).getAsJsonObject();
        assertEquals("line\nbreak\ttab\u0001ctl é", o.get("quote\"back\\slash").getAsString());
        assertEquals(5, o.getAsJsonArray("list").size());
        assertEquals(2.5, o.getAsJsonArray("list").get(1).getAsDouble());
        assertTrue(o.getAsJsonArray("list").get(2).isJsonNull());
        assertTrue(o.getAsJsonObject("empty").isEmpty());
        assertTrue(o.get("nan").isJsonNull(), "NaN is not JSON; written as null");
        assertEquals(Long.MAX_VALUE, o.get("big").getAsLong());
    }

    /** Printed JSON cannot act on a terminal: ESC, DEL, C1 controls (CSI) and bidi overrides are escaped, yet parse back exactly. */
    @Test
    void terminalControlsAreEscapedButKept() {
        String name = "a\u001b[31m\u007f\u009b\u202e\u2028b";
        String text = Json.write(Map.of("name", name));
        for (char c : new char[] {'\u001b', '\u007f', '\u009b', '\u202e', '\u2028'}) {
            assertTrue(text.indexOf(c) < 0, "raw U+" + Integer.toHexString(c) + " in " + text);
        }
        assertEquals(name, parseStrict(text).getAsJsonObject().get("name").getAsString());
    }
}
