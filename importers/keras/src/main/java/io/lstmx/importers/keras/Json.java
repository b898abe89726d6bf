package io.lstmx.importers.keras;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import io.lstmx.errors.LstmxException;

import java.io.StringReader;

/**
 * JSON parsing for Keras configs, bounded: the text's size and nesting depth are checked before
 * gson builds a tree (gson itself recurses without a limit, so a nesting bomb would overflow the
 * stack), and typed accessors that answer BAD_INPUT naming the file, the place and the key.
 */
final class Json {
    /** Deepest nesting accepted (real configs stay under 20: model, layers, wrapper, initializer). */
    static final int MAX_DEPTH = 100;
    /** Largest config text read, in characters. */
    static final int MAX_CHARS = 64 << 20;

    private Json() {
    }

    /** Parses {@code text} (read from {@code where}, e.g. "file: attribute model_config") as a JSON object. */
    static JsonObject parseObject(String text, String where) {
        if (text.length() > MAX_CHARS) {
            throw LstmxException.badInput(where + " holds " + text.length() + " characters of JSON, more than the " + MAX_CHARS + " lstmx reads");
        }
        checkDepth(text, where);
        JsonElement e;
        try {
            JsonReader r = new JsonReader(new StringReader(text));
            // Python's json module writes NaN and Infinity, which strict JSON lacks.
            r.setStrictness(Strictness.LENIENT);
            e = JsonParser.parseReader(r);
        } catch (JsonParseException | IllegalStateException | NumberFormatException ex) {
            throw LstmxException.badInput(where + " is not valid JSON: " + ex.getMessage());
        } catch (StackOverflowError ex) {
            throw LstmxException.badInput(where + " is nested too deeply");
        }
        if (!e.isJsonObject()) {
            throw LstmxException.badInput(where + " is JSON but not an object");
        }
        return e.getAsJsonObject();
    }

    /** Refuses text whose brackets nest deeper than {@link #MAX_DEPTH} (strings skipped). */
    static void checkDepth(String text, String where) {
        int depth = 0;
        boolean inString = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '[' || c == '{') {
                if (++depth > MAX_DEPTH) {
                    throw LstmxException.badInput(where + ": JSON nested more than " + MAX_DEPTH + " levels deep");
                }
            } else if (c == ']' || c == '}') {
                depth--;
            }
        }
    }

    static JsonObject obj(JsonObject o, String key, String where) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonObject()) {
            throw LstmxException.badInput(where + ": \"" + key + "\" is " + describe(e) + ", not an object");
        }
        return e.getAsJsonObject();
    }

    static JsonArray arr(JsonObject o, String key, String where) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonArray()) {
            throw LstmxException.badInput(where + ": \"" + key + "\" is " + describe(e) + ", not a list");
        }
        return e.getAsJsonArray();
    }

    static boolean isNull(JsonElement e) {
        return e == null || e.isJsonNull();
    }

    static String str(JsonObject o, String key, String where) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw LstmxException.badInput(where + ": \"" + key + "\" is " + describe(e) + ", not a string");
        }
        return e.getAsString();
    }

    static String str(JsonObject o, String key, String dflt, String where) {
        return isNull(o.get(key)) ? dflt : str(o, key, where);
    }

    static boolean bool(JsonObject o, String key, boolean dflt, String where) {
        JsonElement e = o.get(key);
        if (isNull(e)) {
            return dflt;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw LstmxException.badInput(where + ": \"" + key + "\" is " + describe(e) + ", not true or false");
        }
        return e.getAsBoolean();
    }

    static double num(JsonObject o, String key, double dflt, String where) {
        JsonElement e = o.get(key);
        if (isNull(e)) {
            return dflt;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw LstmxException.badInput(where + ": \"" + key + "\" is " + describe(e) + ", not a number");
        }
        return e.getAsDouble();
    }

    /** An integer in [min, max]. */
    static long integer(JsonElement e, long min, long max, String where) {
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw LstmxException.badInput(where + " is " + describe(e) + ", not an integer");
        }
        double d = e.getAsDouble();
        if (d != Math.rint(d) || d < min || d > max) {
            throw LstmxException.badInput(where + " is " + e + ", not an integer in [" + min + ", " + max + "]");
        }
        return (long) d;
    }

    static int integer(JsonObject o, String key, int min, int max, String where) {
        return (int) integer(o.get(key), min, max, where + ": \"" + key + "\"");
    }

    static int integer(JsonObject o, String key, int dflt, int min, int max, String where) {
        return isNull(o.get(key)) ? dflt : integer(o, key, min, max, where);
    }

    static String describe(JsonElement e) {
        if (e == null) {
            return "missing";
        }
        String s = e.toString();
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }
}
