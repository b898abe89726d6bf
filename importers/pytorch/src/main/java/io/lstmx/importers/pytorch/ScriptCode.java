package io.lstmx.importers.pytorch;

import io.lstmx.errors.LstmxException;
import io.lstmx.importers.pytorch.script.Ast;
import io.lstmx.importers.pytorch.script.Parser;
import io.lstmx.importers.pytorch.script.ScriptSyntaxException;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The code/ folder of a TorchScript archive, parsed: each {@code code/__torch__/a/b.py} defines
 * classes {@code __torch__.a.b.Name} and functions {@code __torch__.a.b.f}. Nothing is run here;
 * {@link ScriptInterpreter} reads the trees.
 */
final class ScriptCode {
    /**
     * Largest code file read, and all code files together. Printed code is small (the 36 fixture
     * archives hold 200 KB of it together); its syntax trees take about 11 times the text
     * (8 MiB of printed code: 87 MiB of trees, and 2 million tokens on the way), so these bounds
     * keep the code of any archive within ~200 MiB of heap.
     */
    static final long MAX_FILE = 4L << 20;
    static final long MAX_TOTAL = 16L << 20;

    /** A class: its definition, its methods and its class-level constants ({@code name : Final[int] = 3}). */
    record ClassInfo(String qualified, String file, Ast.ClassDef def, Map<String, Ast.Def> methods, Map<String, Ast.Expr> constants) {
    }

    /** A top-level function and the file it is in. */
    record FunctionInfo(String qualified, String file, Ast.Def def) {
    }

    final Map<String, ClassInfo> classes = new LinkedHashMap<>();
    final Map<String, FunctionInfo> functions = new LinkedHashMap<>();

    static ScriptCode load(TorchFile f) {
        ScriptCode code = new ScriptCode();
        long total = 0;
        for (String entry : f.entries("code/")) {
            if (!entry.endsWith(".py")) {
                continue;
            }
            byte[] bytes = f.entry(entry, MAX_FILE);
            total += bytes.length;
            if (total > MAX_TOTAL) {
                throw LstmxException.badInput(f.path() + ": the code files together exceed " + (MAX_TOTAL >> 20) + " MiB");
            }
            String module = entry.substring("code/".length(), entry.length() - ".py".length()).replace('/', '.');
            if (!AllowList.isModuleName(module)) {
                throw LstmxException.badInput(f.path() + ": code file '" + entry + "' is not named like a Python module");
            }
            List<Ast.Stmt> stmts;
            try {
                stmts = Parser.parse(utf8(f, entry, bytes));
            } catch (ScriptSyntaxException e) {
                throw LstmxException.badInput(f.path() + ": " + entry + " " + e.getMessage());
            }
            for (Ast.Stmt s : stmts) {
                if (s instanceof Ast.ClassDef c) {
                    Map<String, Ast.Def> methods = new LinkedHashMap<>();
                    Map<String, Ast.Expr> constants = new LinkedHashMap<>();
                    for (Ast.Stmt m : c.body()) {
                        if (m instanceof Ast.Def d) {
                            methods.put(d.name(), d);
                        } else if (m instanceof Ast.AnnAssign a && a.value() != null) {
                            constants.put(a.name(), a.value());
                        } else if (m instanceof Ast.Assign a && a.targets().size() == 1 && a.targets().get(0) instanceof Ast.Name n) {
                            constants.put(n.id(), a.value());
                        }
                    }
                    code.classes.put(module + "." + c.name(), new ClassInfo(module + "." + c.name(), entry, c, methods, constants));
                } else if (s instanceof Ast.Def d) {
                    code.functions.put(module + "." + d.name(), new FunctionInfo(module + "." + d.name(), entry, d));
                }
            }
        }
        if (code.classes.isEmpty()) {
            throw LstmxException.badInput(f.path() + ": a TorchScript archive without classes in code/");
        }
        return code;
    }

    private static String utf8(TorchFile f, String entry, byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw LstmxException.badInput(f.path() + ": code file '" + entry + "' is not UTF-8 text");
        }
    }
}
