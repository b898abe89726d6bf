package io.lstmx.importers.pytorch.script;

import io.lstmx.importers.pytorch.script.Ast.*;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TorchScript code parser: every construct torch.jit.save prints (the fixtures' own code/ files
 * are parsed whole), and hostile sources — deep brackets, indentation and operator chains,
 * unterminated strings, huge numbers, NUL, CRLF — each refused with a {@link ScriptSyntaxException}
 * carrying its line, never a StackOverflowError, in time proportional to the size.
 */
class ParserTest {
    /** Per hostile source: megabytes of input must not take longer than this. */
    private static final Duration FAST = Duration.ofSeconds(10);

    private static Path fixtures() {
        return Path.of(System.getProperty("lstmx.root", "../..")).toAbsolutePath().normalize().resolve("fixtures/pytorch/torchscript");
    }

    /** Every code/*.py file of every fixture archive, as (archive/entry, text). */
    static List<String[]> fixtureCode() throws IOException {
        List<String[]> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(fixtures())) {
            for (Path p : s.filter(x -> x.getFileName().toString().equals("model.pt")).sorted().toList()) {
                try (ZipFile z = new ZipFile(p.toFile())) {
                    for (ZipEntry e : z.stream().filter(e -> e.getName().contains("/code/") && e.getName().endsWith(".py")).toList()) {
                        try (InputStream in = z.getInputStream(e)) {
                            out.add(new String[] {p.getParent().getFileName() + "/" + e.getName(),
                                    new String(in.readAllBytes(), StandardCharsets.UTF_8)});
                        }
                    }
                }
            }
        }
        assertTrue(out.size() >= 36, "too few code files: " + out.size());
        return out;
    }

    @TestFactory
    Stream<DynamicTest> everyFixtureCodeFileParses() throws IOException {
        return fixtureCode().stream().map(c -> DynamicTest.dynamicTest(c[0], () -> {
            List<Stmt> stmts = Parser.parse(c[1]);
            assertFalse(stmts.isEmpty(), c[0]);
            assertTrue(stmts.stream().allMatch(s -> s instanceof ClassDef || s instanceof Def), c[0] + " defines classes and functions");
            // CRLF line ends and a tab-free re-indentation read the same.
            assertEquals(shape(stmts), shape(Parser.parse(c[1].replace("\n", "\r\n"))), c[0] + " with CRLF");
        }));
    }

    /** A structural summary (statement kinds and lines), enough to compare two parses. */
    private static String shape(List<Stmt> stmts) {
        StringBuilder sb = new StringBuilder();
        for (Stmt s : stmts) {
            sb.append(s.getClass().getSimpleName()).append('@').append(s.line());
            if (s instanceof ClassDef c) {
                sb.append('{').append(shape(c.body())).append('}');
            } else if (s instanceof Def d) {
                sb.append('{').append(shape(d.body())).append('}');
            } else if (s instanceof If i) {
                sb.append('{').append(shape(i.body())).append('|').append(shape(i.orelse())).append('}');
            } else if (s instanceof For f) {
                sb.append('{').append(shape(f.body())).append('}');
            }
            sb.append(' ');
        }
        return sb.toString();
    }

    // ---- constructs of printed TorchScript

    private static final String MODULE = """
            class LSTM(Module):
              __parameters__ = ["weight_ih_l0", "weight_hh_l0", ]
              __buffers__ = []
              weight_ih_l0 : Tensor
              training : bool
              _is_full_backward_hook : Optional[bool]
              lstm : __torch__.torch.nn.modules.rnn.___torch_mangle_112.LSTM
              proj_size : Final[int] = 0
              dropout : Final[float] = 0.
              mode : Final[str] = "LSTM"
              bidirectional : Final[bool] = True
              def forward__0(self: __torch__.torch.nn.modules.rnn.___torch_mangle_112.LSTM,
                input: Tensor,
                hx: Optional[Tuple[Tensor, Tensor]]=None) -> Tuple[Tensor, Tuple[Tensor, Tensor]]:
                _0 = "For batched 3-D input, hx and cx should also be 3-D but got ({}-D, {}-D) tensors"
                is_batched = torch.eq(torch.dim(input), 3)
                if torch.__not__(is_batched):
                  input0 = torch.unsqueeze(input, 1)
                else:
                  input0 = input
                if torch.__is__(hx, None):
                  _2 = ops.prim.dtype(input0)
                  h_zeros = torch.zeros([2, max_batch_size, 6], dtype=_2, layout=None, device=_3)
                  hx0 = (h_zeros, c_zeros)
                else:
                  hx1 = unchecked_cast(Tuple[Tensor, Tensor], hx)
                  if _7:
                    msg = torch.format(_0, torch.dim((hx1)[0]), torch.dim((hx1)[1]))
                    ops.prim.RaiseException(msg, "builtins.RuntimeError")
                  else:
                    pass
                _13, _14, = hx0
                _15, _16, _17 = torch.lstm(input0, [_13, _14], _flat_weights, True, 1, 0., training, True, False)
                y, _0, = (lstm).forward__0(x1, None, )
                _1 = torch.slice(torch.slice(halves), 1, -1)
                _4 = torch.slice(torch.slice(hc), 1, None, 12)
                c = CONSTANTS.c0
                for t in range(torch.size(x, 0)):
                  _1 = torch.select(x, 0, t)
                  c0, h0 = c1, h1
                return (output, _18)
            def dropout(input: Tensor, p: float=0.5, training: bool=True, inplace: bool=False) -> Tensor:
              _0 = "dropout probability has to be between 0 and 1, but got {}"
              if torch.lt(p, 0.):
                _1 = True
              else:
                _1 = torch.gt(p, 1.)
              return _1
            """;

    @Test
    void theConstructsTorchScriptPrintsAreRead() {
        List<Stmt> stmts = Parser.parse(MODULE);
        assertEquals(2, stmts.size());
        ClassDef c = assertInstanceOf(ClassDef.class, stmts.get(0));
        assertEquals("LSTM", c.name());
        assertEquals(1, c.line());
        Def fwd = (Def) c.body().stream().filter(s -> s instanceof Def).findFirst().orElseThrow();
        assertEquals("forward__0", fwd.name());
        assertEquals(List.of("self", "input", "hx"), fwd.params().stream().map(Param::name).toList());
        assertInstanceOf(Const.class, fwd.params().get(2).defaultValue());
        assertInstanceOf(Index.class, fwd.returns());
        AnnAssign proj = (AnnAssign) c.body().stream().filter(s -> s instanceof AnnAssign a && a.name().equals("proj_size")).findFirst()
                .orElseThrow();
        assertEquals(0L, ((Num) proj.value()).value());
        AnnAssign drop = (AnnAssign) c.body().stream().filter(s -> s instanceof AnnAssign a && a.name().equals("dropout")).findFirst()
                .orElseThrow();
        assertEquals(0.0, ((Num) drop.value()).value());
        Def f = assertInstanceOf(Def.class, stmts.get(1));
        assertEquals(0.5, ((Num) f.params().get(1).defaultValue()).value());
        // Lines of statements are their own.
        If first = (If) fwd.body().stream().filter(s -> s instanceof If).findFirst().orElseThrow();
        assertEquals(17, first.line());
        For loop = (For) fwd.body().stream().filter(s -> s instanceof For).findFirst().orElseThrow();
        assertInstanceOf(Name.class, loop.target());
        Return r = (Return) fwd.body().get(fwd.body().size() - 1);
        assertInstanceOf(TupleExpr.class, r.value());
    }

    @Test
    void expressions() {
        assertEquals(new Num(1, -9223372036854775808L), Parser.parseExpression("-9223372036854775808"));
        assertEquals(new Num(1, 1e-05), Parser.parseExpression("1.0000000000000001e-05"));
        assertEquals(new Num(1, 255L), Parser.parseExpression("0xff"));
        assertEquals(new Num(1, 0.0), Parser.parseExpression("0."));
        assertEquals(new Str(1, "ab\n\u00e9"), Parser.parseExpression("'a' \"b\\n\" '\\xe9'"));
        assertEquals(new Str(1, "a\\nb"), Parser.parseExpression("r'a\\nb'"));
        BinOp sum = assertInstanceOf(BinOp.class, Parser.parseExpression("a + b * c - d"));
        assertEquals("-", sum.op());
        assertInstanceOf(BinOp.class, sum.left());
        // -a ** -b is -(a ** (-b)), as in Python.
        Unary neg = assertInstanceOf(Unary.class, Parser.parseExpression("-a ** -b"));
        assertEquals("**", ((BinOp) neg.operand()).op());
        assertEquals("*", ((BinOp) Parser.parseExpression("a * b")).op());
        BoolOp chain = assertInstanceOf(BoolOp.class, Parser.parseExpression("a < b <= c"));
        assertEquals("and", chain.op());
        assertEquals("is not", ((Compare) Parser.parseExpression("a is not None")).op());
        assertEquals("not in", ((Compare) Parser.parseExpression("a not in b")).op());
        assertInstanceOf(IfExp.class, Parser.parseExpression("a if c else b"));
        assertInstanceOf(BoolOp.class, Parser.parseExpression("a and not b or c"));
        Index sl = assertInstanceOf(Index.class, Parser.parseExpression("x[1:, ::2, :-1]"));
        assertEquals(3, ((TupleExpr) sl.index()).items().size());
        assertInstanceOf(DictExpr.class, Parser.parseExpression("{\"a\": 1, \"b\": [2, 3]}"));
        assertEquals(new TupleExpr(1, List.of()), Parser.parseExpression("()"));
        assertEquals(1, ((TupleExpr) Parser.parseExpression("(a,)")).items().size());
        Call call = assertInstanceOf(Call.class, Parser.parseExpression("torch.zeros([2, 3], dtype=6, layout=None, )"));
        assertEquals(1, call.args().size());
        assertEquals(2, call.keywords().size());
        assertInstanceOf(Attr.class, call.func());
        assertEquals("~", ((Unary) Parser.parseExpression("~x")).op());
        assertEquals("|", ((BinOp) Parser.parseExpression("a | b ^ c & d << 1")).op());
    }

    @Test
    void statements() {
        List<Stmt> s = Parser.parse("""
                def f(x):
                  while True:
                    if x: break
                    else: continue
                  x += 1
                  a = b = 3
                  y: int = 4
                  if a:
                    pass
                  elif b:
                    pass
                  else:
                    pass
                  import torch
                  from x import y
                  return
                """);
        Def d = (Def) s.get(0);
        assertInstanceOf(While.class, d.body().get(0));
        assertInstanceOf(AugAssign.class, d.body().get(1));
        assertEquals(2, ((Assign) d.body().get(2)).targets().size());
        assertInstanceOf(AnnAssign.class, d.body().get(3));
        If i = (If) d.body().get(4);
        assertInstanceOf(If.class, i.orelse().get(0));
        assertNull(((Return) d.body().get(5)).value());
        assertEquals(6, d.body().size(), "imports are skipped");
    }

    @Test
    void commentsBlankLinesContinuationsAndTabs() {
        List<Stmt> s = Parser.parse("# a comment\n\nclass A(Module):\n\t# inside\n\tx : int\n\n\tdef f(self):\n\t\treturn (1 +\n\t\t  2) + \\\n3\n");
        ClassDef c = (ClassDef) s.get(0);
        assertEquals(3, c.line());
        Def d = (Def) c.body().get(1);
        assertEquals(7, d.line());
        assertEquals(8, d.body().get(0).line());
    }

    // ---- malformed and hostile sources

    private static ScriptSyntaxException refused(String source, int line, String fragment) {
        ScriptSyntaxException e = refused(() -> Parser.parse(source));
        assertEquals(line, e.line(), e.getMessage());
        assertTrue(e.getMessage().startsWith("line " + line + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' in: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    private static ScriptSyntaxException refused(Executable body) {
        return assertTimeoutPreemptively(FAST, () -> assertThrows(ScriptSyntaxException.class, body));
    }

    @Test
    void malformedCodeNamesItsLine() {
        refused("x = 1\ny = (\n", 2, "never closed");
        refused("x = 1\ny = )\n", 2, "closes nothing");
        refused("x = 1\ny = 'abc\n", 2, "never closed");
        refused("x = 1\n\ny = '''abc\n\n", 3, "never closed");
        refused("def f(x):\n  return 1\n    return 2\n", 3, "");
        refused("def f(x):\n    return 1\n  return 2\n", 3, "indentation does not match");
        refused("x = 1\nlambda: 3\n", 2, "'lambda'");
        refused("x = 1\ny = [a for a in b]\n", 2, "comprehensions");
        refused("x = 1\nf(*a)\n", 2, "*args");
        refused("x = 1\nf(a=1, 2)\n", 2, "positional argument after keyword");
        refused("x = 1\ny = '\\x4'\n", 2, "");
        refused("x = 1\ny = 1 if c\n", 2, "expected 'else'");
        refused("x = 1\ny = 1; z = 2\n", 2, "';'");
        refused("x = 1\n(a, b) : int\n", 2, "annotation");
        refused("x = 1\nif x:\npass\n", 3, "indented block");
    }

    @Test
    void nulAndOtherControlCharactersAreRefusedWithTheirLine() {
        refused("x = 1\ny = \0\n", 2, "\\u0000");
        refused("x = 1\n\n\u0001", 3, "\\u0001");
        refused("x = 1\ny = \u007f\n", 2, "\\u007f");
        // Invalid UTF-8 is refused before parsing (ScriptCode); the replacement character the
        // decoder would make is no token either.
        refused("x = 1\ny = \ufffd\n", 2, "\\ufffd");
        refused("x = $\n", 1, "'$'");
    }

    @Test
    void crlfAndLoneCrLineEndsAreRead() {
        List<Stmt> s = Parser.parse("def f(x):\r\n  y = 1\r\n\r\n  return y\r\n");
        Def d = (Def) s.get(0);
        assertEquals(2, d.body().size());
        assertEquals(4, d.body().get(1).line());
        // A triple-quoted string keeps its CRs; its lines count.
        s = Parser.parse("x = '''a\r\nb'''\r\ny = 2\r\n");
        assertEquals(3, s.get(1).line());
    }

    @Test
    void hugeNumbersAreRefusedNotWrappedOrParsedSlowly() {
        refused("x = 1\ny = 99999999999999999999\n", 2, "not a number");
        refused("x = 1\ny = 0x1ffffffffffffffff\n", 2, "not a number");
        refused("x = 1\ny = 1.2.3\n", 2, "not a number");
        // A float out of range is infinity, as Python's float() gives.
        assertEquals(Double.POSITIVE_INFINITY, ((Num) Parser.parseExpression("1e999")).value());
        // Megabyte-long number tokens: linear, refused.
        refused(() -> Parser.parse("x = " + "1".repeat(1 << 20) + "a\n"));
        refused(() -> Parser.parse("x = 1" + "e+".repeat(1 << 19) + "\n"));
        refused(() -> Parser.parse("x = " + "9".repeat(1 << 20) + "\n"));
        refused(() -> Parser.parse("x = 0." + "5".repeat(1 << 20) + "x\n"));
    }

    @Test
    void deepBracketsAreRefusedAtTheLexersLimit() {
        for (String open : List.of("(", "[", "{", "f(")) {
            String src = "x = 1\ny = " + open.repeat(100_000) + "\n";
            ScriptSyntaxException e = refused(() -> Parser.parse(src));
            assertEquals(2, e.line(), e.getMessage());
            assertTrue(e.getMessage().contains("nested more than " + Lexer.MAX_NESTING), e.getMessage());
        }
        // Within the limit and balanced: read.
        String ok = "(".repeat(Lexer.MAX_NESTING / 2) + "1" + ")".repeat(Lexer.MAX_NESTING / 2);
        assertEquals(new Num(1, 1L), Parser.parseExpression(ok));
        refused(() -> Parser.parse("y = " + "(".repeat(50) + "1" + ")".repeat(49) + "\n"));
    }

    @Test
    void deepIndentationIsRefusedAtTheLexersLimit() {
        StringBuilder sb = new StringBuilder("x = 1\n");
        for (int i = 0; i < 10_000; i++) {
            sb.append(" ".repeat(i)).append("if x:\n");
        }
        ScriptSyntaxException e = refused(() -> Parser.parse(sb.toString()));
        assertTrue(e.getMessage().contains("nested more than"), e.getMessage());
        assertEquals(Lexer.MAX_NESTING + 3, e.line(), e.getMessage());
        // One line indented by a megabyte of spaces: one level, refused as unexpected.
        refused(() -> Parser.parse("x = 1\n" + " ".repeat(1 << 20) + "y = 2\n"));
    }

    @Test
    void longUnaryAndNotChainsAreRefusedAtTheParsersLimit() {
        for (String op : List.of("- ", "+", "~", "not ", "-+~")) {
            String src = "x = 1\ny = " + op.repeat(1_000_000 / op.length()) + "x\n";
            ScriptSyntaxException e = refused(() -> Parser.parse(src));
            assertEquals(2, e.line(), e.getMessage());
            assertTrue(e.getMessage().contains("nested more than"), e.getMessage());
        }
        // Right-associative power chains nest too.
        refused(() -> Parser.parse("y = x" + " ** x".repeat(100_000) + "\n"));
        refused(() -> Parser.parse("y = " + "a if b else ".repeat(100_000) + "c\n"));
    }

    /**
     * Left-associative chains are built by loops, not recursion: the parser itself cannot
     * overflow, but the tree it makes is as deep as the chain, and whatever walks it (the
     * interpreter, a record's hashCode) recurses that deep. They are bounded like other nesting.
     */
    @Test
    void longOperatorChainsAreRefusedBeforeTheyMakeADeepTree() {
        for (String op : List.of(" + ", " - ", " * ", " / ", " // ", " % ", " @ ", " | ", " ^ ", " & ", " << ", " >> ", " and ", " or ",
                " < ", " == ", " is ", " in ", " not in ")) {
            String src = "x = 1\ny = a" + (op + "a").repeat(200_000) + "\n";
            ScriptSyntaxException e = refused(() -> Parser.parse(src));
            assertEquals(2, e.line(), op + ": " + e.getMessage());
            assertTrue(e.getMessage().contains("nested more than"), op + ": " + e.getMessage());
        }
        for (String trailer : List.of(".a", "[0]", "()", "(x)[0].y")) {
            String src = "x = 1\ny = a" + trailer.repeat(200_000) + "\n";
            ScriptSyntaxException e = refused(() -> Parser.parse(src));
            assertEquals(2, e.line(), trailer + ": " + e.getMessage());
        }
        // Chains mixing levels and parentheses: each parenthesised level adds to the same depth.
        String mixed = "y = " + "(a + b * c - ".repeat(90) + "d" + ")".repeat(90) + "\n";
        assertInstanceOf(Assign.class, Parser.parse(mixed).get(0));
        refused(() -> Parser.parse("x = 1\n" + mixed.replace("d)", "d" + " + d".repeat(150) + ")")));
        // Chains of a realistic length are read.
        assertInstanceOf(BinOp.class, Parser.parseExpression("a" + " + a".repeat(50)));
        assertInstanceOf(Attr.class, Parser.parseExpression("__torch__.torch.nn.modules.rnn.___torch_mangle_112.LSTM"));
    }

    @Test
    void longElifChainsAreRefusedNotRecursedInto() {
        String src = "if a:\n  pass\n" + "elif a:\n  pass\n".repeat(100_000);
        ScriptSyntaxException e = refused(() -> Parser.parse(src));
        assertTrue(e.getMessage().contains("nested more than"), e.getMessage());
        // A handful is read.
        If i = (If) Parser.parse("if a:\n  pass\n" + "elif a:\n  pass\n".repeat(20)).get(0);
        assertInstanceOf(If.class, i.orelse().get(0));
    }

    @Test
    void flatButLongCodeIsReadInLinearTime() {
        // 50,000 statements and a list of 100,000 items: wide, not deep, so read.
        String many = "def f(x):\n" + "  y = torch.add(x, 1)\n".repeat(50_000);
        List<Stmt> s = assertTimeoutPreemptively(FAST, () -> Parser.parse(many));
        assertEquals(50_000, ((Def) s.get(0)).body().size());
        String list = "x = [" + "1, ".repeat(100_000) + "]\n";
        assertEquals(100_000, ((ListExpr) ((Assign) assertTimeoutPreemptively(FAST, () -> Parser.parse(list)).get(0)).value()).items().size());
    }

    @Test
    void unterminatedStringsAreLinear() {
        refused(() -> Parser.parse("x = '" + "a".repeat(4 << 20)));
        refused(() -> Parser.parse("x = '''" + "a\n".repeat(2 << 20)));
        refused(() -> Parser.parse("x = \"" + "\\\"".repeat(2 << 20)));
        // Many short unterminated strings: only the first is scanned.
        refused(() -> Parser.parse("x = 1\n" + "'\n".repeat(1 << 20)));
        refused(() -> Parser.parse("x = '''a''' '''" + "'".repeat(2) + "b"));
    }

    @Test
    void garbageNeverEscapesAsAnotherException() {
        java.util.Random rnd = new java.util.Random(42);
        String alphabet = "()[]{}:,.=+-*/%<>!&|^~@'\"\\#\n\r\t 0123456789abcxyz_eEif else for in while not and or is def class return pass\u0000\u00e9";
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int k = 0; k < 20_000; k++) {
                StringBuilder sb = new StringBuilder();
                int n = rnd.nextInt(80);
                for (int i = 0; i < n; i++) {
                    sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
                }
                try {
                    Parser.parse(sb.toString());
                } catch (ScriptSyntaxException e) {
                    assertTrue(e.line() >= 1, e.getMessage());
                } catch (RuntimeException | StackOverflowError e) {
                    throw new AssertionError("source " + sb.toString().replace("\n", "\\n") + " threw " + e, e);
                }
            }
        });
    }
}
