package io.lstmx.importers.pytorch.script;

import io.lstmx.importers.pytorch.script.Ast.*;
import io.lstmx.importers.pytorch.script.Lexer.Kind;
import io.lstmx.importers.pytorch.script.Lexer.Token;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * A recursive-descent parser for the Python subset TorchScript prints (classes with annotated
 * attributes and defs, assignments, if/else, for/while, return, calls, subscripts, literals).
 * Nesting is bounded by the lexer's bracket and block limits, by {@link #MAX_DEPTH} for the
 * parser's own recursion (unary chains, parenthesised operands, elif chains) and for the height of
 * every expression tree it builds (left-associative operator chains and trailers such as
 * {@code a.b[0](c)} are built by loops, so their trees would otherwise grow as deep as the line is
 * long, and whatever walks them would overflow the stack).
 */
public final class Parser {
    /** Deepest expression nesting accepted (unary chains, parenthesised operands, ...). */
    static final int MAX_DEPTH = 200;
    private static final Set<String> COMPARE = Set.of("==", "!=", "<", "<=", ">", ">=");

    private final List<Token> toks;
    private int pos;
    private int depth;
    /** Heights of the composite expressions of the statement being read (leaves are 1). */
    private final IdentityHashMap<Expr, Integer> heights = new IdentityHashMap<>();

    private Parser(List<Token> toks) {
        this.toks = toks;
    }

    /** Parses a whole code file into its top-level statements (classes, defs, imports are skipped). */
    public static List<Stmt> parse(String source) {
        Parser p = new Parser(Lexer.tokenize(source));
        List<Stmt> out = new ArrayList<>();
        while (p.peek().kind() != Kind.END) {
            if (p.peek().kind() == Kind.NEWLINE) {
                p.pos++;
                continue;
            }
            Stmt s = p.statement();
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    /** Parses one expression (used by tests and for type strings). */
    public static Expr parseExpression(String source) {
        Parser p = new Parser(Lexer.tokenize(source));
        Expr e = p.expr();
        if (p.peek().kind() != Kind.NEWLINE && p.peek().kind() != Kind.END) {
            throw p.error("unexpected " + p.peek() + " after the expression");
        }
        return e;
    }

    private Token peek() {
        return toks.get(pos);
    }

    private Token next() {
        Token t = toks.get(pos);
        if (t.kind() != Kind.END) {
            pos++;
        }
        return t;
    }

    private boolean accept(String s) {
        if (peek().is(s)) {
            pos++;
            return true;
        }
        return false;
    }

    private Token expect(String s) {
        Token t = next();
        if (!t.is(s)) {
            throw new ScriptSyntaxException(t.line(), "expected '" + s + "', found " + t);
        }
        return t;
    }

    private String name() {
        Token t = next();
        if (t.kind() != Kind.NAME) {
            throw new ScriptSyntaxException(t.line(), "expected a name, found " + t);
        }
        return t.text();
    }

    private ScriptSyntaxException error(String message) {
        return new ScriptSyntaxException(peek().line(), message);
    }

    private void endOfLine() {
        Token t = next();
        if (t.kind() != Kind.NEWLINE && t.kind() != Kind.END) {
            throw new ScriptSyntaxException(t.line(), "expected the end of the line, found " + t);
        }
    }

    // ---- statements

    private List<Stmt> block() {
        expect(":");
        if (peek().kind() != Kind.NEWLINE) {
            // A one-line body: "if x: pass".
            List<Stmt> one = new ArrayList<>();
            Stmt s = simple();
            endOfLine();
            if (s != null) {
                one.add(s);
            }
            return one;
        }
        next();
        Token ind = next();
        if (ind.kind() != Kind.INDENT) {
            throw new ScriptSyntaxException(ind.line(), "expected an indented block");
        }
        List<Stmt> body = new ArrayList<>();
        while (peek().kind() != Kind.DEDENT && peek().kind() != Kind.END) {
            if (peek().kind() == Kind.NEWLINE) {
                next();
                continue;
            }
            Stmt s = statement();
            if (s != null) {
                body.add(s);
            }
        }
        next();
        return body;
    }

    private Stmt statement() {
        // No expression spans statements: the heights of finished ones are no longer needed.
        heights.clear();
        Token t = peek();
        int line = t.line();
        if (t.kind() == Kind.NAME) {
            switch (t.text()) {
                case "class" -> {
                    next();
                    String n = name();
                    List<Expr> bases = new ArrayList<>();
                    if (accept("(")) {
                        while (!accept(")")) {
                            bases.add(expr());
                            if (!peek().is(")")) {
                                expect(",");
                            }
                        }
                    }
                    return new ClassDef(line, n, bases, block());
                }
                case "def" -> {
                    next();
                    String n = name();
                    expect("(");
                    List<Param> params = new ArrayList<>();
                    while (!accept(")")) {
                        String pn = name();
                        Expr type = accept(":") ? expr() : null;
                        Expr def = accept("=") ? expr() : null;
                        params.add(new Param(pn, type, def));
                        if (!peek().is(")")) {
                            expect(",");
                        }
                    }
                    Expr returns = accept("->") ? expr() : null;
                    return new Def(line, n, params, returns, block());
                }
                case "if" -> {
                    next();
                    return ifRest(line);
                }
                case "for" -> {
                    next();
                    Expr target = targetList();
                    Token in = next();
                    if (!in.is("in")) {
                        throw new ScriptSyntaxException(in.line(), "expected 'in', found " + in);
                    }
                    Expr iter = exprList();
                    return new For(line, target, iter, block());
                }
                case "while" -> {
                    next();
                    Expr cond = expr();
                    return new While(line, cond, block());
                }
                case "import", "from" -> {
                    while (peek().kind() != Kind.NEWLINE && peek().kind() != Kind.END) {
                        next();
                    }
                    endOfLine();
                    return null;
                }
                default -> {
                }
            }
        }
        Stmt s = simple();
        while (accept(";")) {
            if (peek().kind() == Kind.NEWLINE) {
                break;
            }
            // Several statements on one line are rare in printed code; keep the last effect-free ones.
            Stmt more = simple();
            if (more != null) {
                throw new ScriptSyntaxException(line, "several statements on one line separated by ';' are not read");
            }
        }
        endOfLine();
        return s;
    }

    private Stmt ifRest(int line) {
        Expr cond = expr();
        List<Stmt> body = block();
        List<Stmt> orelse = List.of();
        if (peek().is("elif")) {
            int l2 = next().line();
            enter();
            try {
                orelse = List.of(ifRest(l2));
            } finally {
                depth--;
            }
        } else if (peek().is("else")) {
            next();
            orelse = block();
        }
        return new If(line, cond, body, orelse);
    }

    private Stmt simple() {
        Token t = peek();
        int line = t.line();
        if (t.kind() == Kind.NAME) {
            switch (t.text()) {
                case "pass" -> {
                    next();
                    return new Pass(line);
                }
                case "break" -> {
                    next();
                    return new Break(line);
                }
                case "continue" -> {
                    next();
                    return new Continue(line);
                }
                case "return" -> {
                    next();
                    Expr v = peek().kind() == Kind.NEWLINE || peek().kind() == Kind.END ? null : exprList();
                    return new Return(line, v);
                }
                case "raise", "assert", "del", "global", "nonlocal", "lambda", "yield", "with", "try", "async", "await" ->
                        throw error("'" + t.text() + "' statements are not part of the code TorchScript prints");
                default -> {
                }
            }
        }
        Expr first = exprList();
        if (accept(":")) {
            // name : type [= value]
            if (!(first instanceof Name n)) {
                throw new ScriptSyntaxException(line, "an annotation needs a plain name on its left");
            }
            Expr type = expr();
            Expr value = accept("=") ? exprList() : null;
            return new AnnAssign(line, n.id(), type, value);
        }
        Token op = peek();
        if (op.kind() == Kind.OP && op.text().length() >= 2 && op.text().endsWith("=") && !COMPARE.contains(op.text())) {
            next();
            return new AugAssign(line, first, op.text().substring(0, op.text().length() - 1), exprList());
        }
        if (accept("=")) {
            List<Expr> targets = new ArrayList<>();
            targets.add(first);
            Expr value = exprList();
            while (accept("=")) {
                targets.add(value);
                value = exprList();
            }
            return new Assign(line, targets, value);
        }
        return new ExprStmt(line, first);
    }

    /** Targets of a for loop: names separated by commas, stopping at "in". */
    private Expr targetList() {
        int line = peek().line();
        List<Expr> items = new ArrayList<>();
        boolean comma = false;
        while (true) {
            items.add(primary());
            if (!accept(",")) {
                break;
            }
            comma = true;
            if (peek().is("in")) {
                break;
            }
        }
        return items.size() == 1 && !comma ? items.get(0) : tree(new TupleExpr(line, items));
    }

    /** One expression, or several separated by commas (a tuple; a trailing comma makes one too). */
    private Expr exprList() {
        int line = peek().line();
        Expr e = expr();
        if (!peek().is(",")) {
            return e;
        }
        List<Expr> items = new ArrayList<>();
        items.add(e);
        while (accept(",")) {
            Token t = peek();
            if (t.kind() == Kind.NEWLINE || t.kind() == Kind.END || t.is("=") || t.is(")") || t.is(":")) {
                break;
            }
            items.add(expr());
        }
        return tree(new TupleExpr(line, items));
    }

    // ---- expressions

    /** Records the height of a new composite expression, refusing one deeper than {@link #MAX_DEPTH}. */
    private <E extends Expr> E tree(E e) {
        int h;
        if (e instanceof Attr a) {
            h = height(a.value());
        } else if (e instanceof Call c) {
            h = Math.max(height(c.func()), height(c.args()));
            for (Keyword k : c.keywords()) {
                h = Math.max(h, height(k.value()));
            }
        } else if (e instanceof Index i) {
            h = Math.max(height(i.value()), height(i.index()));
        } else if (e instanceof Slice s) {
            h = Math.max(height(s.lower()), Math.max(height(s.upper()), height(s.step())));
        } else if (e instanceof TupleExpr t) {
            h = height(t.items());
        } else if (e instanceof ListExpr l) {
            h = height(l.items());
        } else if (e instanceof DictExpr d) {
            h = Math.max(height(d.keys()), height(d.values()));
        } else if (e instanceof Unary u) {
            h = height(u.operand());
        } else if (e instanceof BinOp b) {
            h = Math.max(height(b.left()), height(b.right()));
        } else if (e instanceof Compare c) {
            h = Math.max(height(c.left()), height(c.right()));
        } else if (e instanceof BoolOp b) {
            h = Math.max(height(b.left()), height(b.right()));
        } else if (e instanceof IfExp i) {
            h = Math.max(height(i.cond()), Math.max(height(i.then()), height(i.otherwise())));
        } else {
            h = 0;
        }
        h++;
        if (h > MAX_DEPTH) {
            throw error("expression nested more than " + MAX_DEPTH + " deep");
        }
        heights.put(e, h);
        return e;
    }

    private int height(Expr e) {
        return e == null ? 0 : heights.getOrDefault(e, 1);
    }

    private int height(List<Expr> l) {
        int h = 0;
        for (Expr e : l) {
            h = Math.max(h, height(e));
        }
        return h;
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw error("expression nested more than " + MAX_DEPTH + " deep");
        }
    }

    /** A full expression: conditional expressions and below. */
    Expr expr() {
        enter();
        try {
            Expr e = or();
            if (peek().is("if")) {
                int line = next().line();
                Expr cond = or();
                Token el = next();
                if (!el.is("else")) {
                    throw new ScriptSyntaxException(el.line(), "expected 'else' in a conditional expression, found " + el);
                }
                return tree(new IfExp(line, cond, e, expr()));
            }
            return e;
        } finally {
            depth--;
        }
    }

    private Expr or() {
        Expr e = and();
        while (peek().is("or")) {
            int line = next().line();
            e = tree(new BoolOp(line, "or", e, and()));
        }
        return e;
    }

    private Expr and() {
        Expr e = not();
        while (peek().is("and")) {
            int line = next().line();
            e = tree(new BoolOp(line, "and", e, not()));
        }
        return e;
    }

    private Expr not() {
        if (peek().is("not")) {
            int line = next().line();
            enter();
            try {
                return tree(new Unary(line, "not", not()));
            } finally {
                depth--;
            }
        }
        return comparison();
    }

    private Expr comparison() {
        Expr left = bitOr();
        Expr result = null;
        while (true) {
            Token t = peek();
            String op;
            if (t.kind() == Kind.OP && COMPARE.contains(t.text())) {
                op = t.text();
                next();
            } else if (t.is("is")) {
                next();
                op = accept("not") ? "is not" : "is";
            } else if (t.is("in")) {
                next();
                op = "in";
            } else if (t.is("not") && toks.get(pos + 1).is("in")) {
                next();
                next();
                op = "not in";
            } else {
                break;
            }
            Expr right = bitOr();
            Expr c = tree(new Compare(t.line(), op, left, right));
            result = result == null ? c : tree(new BoolOp(t.line(), "and", result, c));
            left = right;
        }
        return result == null ? left : result;
    }

    private Expr bitOr() {
        Expr e = bitXor();
        while (peek().is("|")) {
            int line = next().line();
            e = tree(new BinOp(line, "|", e, bitXor()));
        }
        return e;
    }

    private Expr bitXor() {
        Expr e = bitAnd();
        while (peek().is("^")) {
            int line = next().line();
            e = tree(new BinOp(line, "^", e, bitAnd()));
        }
        return e;
    }

    private Expr bitAnd() {
        Expr e = shift();
        while (peek().is("&")) {
            int line = next().line();
            e = tree(new BinOp(line, "&", e, shift()));
        }
        return e;
    }

    private Expr shift() {
        Expr e = arith();
        while (peek().is("<<") || peek().is(">>")) {
            Token t = next();
            e = tree(new BinOp(t.line(), t.text(), e, arith()));
        }
        return e;
    }

    private Expr arith() {
        Expr e = term();
        while (peek().is("+") || peek().is("-")) {
            Token t = next();
            e = tree(new BinOp(t.line(), t.text(), e, term()));
        }
        return e;
    }

    private Expr term() {
        Expr e = factor();
        while (peek().is("*") || peek().is("/") || peek().is("//") || peek().is("%") || peek().is("@")) {
            Token t = next();
            e = tree(new BinOp(t.line(), t.text(), e, factor()));
        }
        return e;
    }

    private Expr factor() {
        Token t = peek();
        if (t.is("-") && toks.get(pos + 1).kind() == Kind.NUMBER && toks.get(pos + 1).text().equals("9223372036854775808")
                && !toks.get(pos + 2).is("**")) {
            // int64's least value, whose magnitude is no int64 (what the folding below cannot reach).
            next();
            next();
            return new Num(t.line(), Long.MIN_VALUE);
        }
        if (t.is("-") || t.is("+") || t.is("~")) {
            next();
            enter();
            try {
                Expr operand = factor();
                if (t.is("-") && operand instanceof Num n) {
                    // Fold literals so that -9223372036854775808 and -1.5 stay numbers.
                    return new Num(t.line(), n.value() instanceof Long l ? (Number) (-l) : (Number) (-n.value().doubleValue()));
                }
                return tree(new Unary(t.line(), t.text(), operand));
            } finally {
                depth--;
            }
        }
        return power();
    }

    private Expr power() {
        Expr e = primary();
        if (peek().is("**")) {
            int line = next().line();
            enter();
            try {
                return tree(new BinOp(line, "**", e, factor()));
            } finally {
                depth--;
            }
        }
        return e;
    }

    private Expr primary() {
        Expr e = atom();
        int trailers = 0;
        while (true) {
            if (++trailers > MAX_DEPTH * 50) {
                throw error("too many calls, attributes or subscripts in one expression");
            }
            Token t = peek();
            if (t.is("(")) {
                next();
                List<Expr> args = new ArrayList<>();
                List<Keyword> kws = new ArrayList<>();
                while (!accept(")")) {
                    if (peek().kind() == Kind.NAME && toks.get(pos + 1).is("=")) {
                        String k = name();
                        next();
                        kws.add(new Keyword(k, expr()));
                    } else {
                        if (peek().is("*") || peek().is("**")) {
                            throw error("*args and **kwargs in calls are not read");
                        }
                        if (!kws.isEmpty()) {
                            throw error("a positional argument after keyword arguments");
                        }
                        args.add(expr());
                    }
                    if (!peek().is(")")) {
                        expect(",");
                    }
                }
                e = tree(new Call(t.line(), e, args, kws));
            } else if (t.is("[")) {
                next();
                Expr idx = subscript();
                if (peek().is(",")) {
                    List<Expr> items = new ArrayList<>();
                    items.add(idx);
                    while (accept(",")) {
                        if (peek().is("]")) {
                            break;
                        }
                        items.add(subscript());
                    }
                    idx = tree(new TupleExpr(t.line(), items));
                }
                expect("]");
                e = tree(new Index(t.line(), e, idx));
            } else if (t.is(".")) {
                next();
                e = tree(new Attr(t.line(), e, name()));
            } else {
                return e;
            }
        }
    }

    private Expr subscript() {
        int line = peek().line();
        Expr lower = null;
        if (!peek().is(":")) {
            lower = expr();
            if (!peek().is(":")) {
                return lower;
            }
        }
        expect(":");
        Expr upper = peek().is(":") || peek().is("]") || peek().is(",") ? null : expr();
        Expr step = null;
        if (accept(":")) {
            step = peek().is("]") || peek().is(",") ? null : expr();
        }
        return tree(new Slice(line, lower, upper, step));
    }

    private Expr atom() {
        Token t = next();
        int line = t.line();
        switch (t.kind()) {
            case NAME -> {
                return switch (t.text()) {
                    case "True" -> new Const(line, Boolean.TRUE);
                    case "False" -> new Const(line, Boolean.FALSE);
                    case "None" -> new Const(line, null);
                    default -> new Name(line, t.text());
                };
            }
            case NUMBER -> {
                return new Num(line, number(t));
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder(t.text());
                while (peek().kind() == Kind.STRING) {
                    sb.append(next().text());
                }
                return new Str(line, sb.toString());
            }
            case OP -> {
                if (t.is("(")) {
                    if (accept(")")) {
                        return tree(new TupleExpr(line, List.of()));
                    }
                    enter();
                    try {
                        Expr e = expr();
                        if (accept(")")) {
                            return e;
                        }
                        List<Expr> items = new ArrayList<>();
                        items.add(e);
                        while (accept(",")) {
                            if (peek().is(")")) {
                                break;
                            }
                            items.add(expr());
                        }
                        expect(")");
                        return tree(new TupleExpr(line, items));
                    } finally {
                        depth--;
                    }
                }
                if (t.is("[")) {
                    List<Expr> items = new ArrayList<>();
                    while (!accept("]")) {
                        items.add(expr());
                        if (peek().is("for")) {
                            throw error("list comprehensions are not read");
                        }
                        if (!peek().is("]")) {
                            expect(",");
                        }
                    }
                    return tree(new ListExpr(line, items));
                }
                if (t.is("{")) {
                    List<Expr> keys = new ArrayList<>();
                    List<Expr> values = new ArrayList<>();
                    while (!accept("}")) {
                        keys.add(expr());
                        expect(":");
                        values.add(expr());
                        if (!peek().is("}")) {
                            expect(",");
                        }
                    }
                    return tree(new DictExpr(line, keys, values));
                }
                throw new ScriptSyntaxException(line, "unexpected " + t);
            }
            default -> throw new ScriptSyntaxException(line, "unexpected " + t);
        }
    }

    private static Number number(Token t) {
        String s = t.text().replace("_", "");
        try {
            if (s.startsWith("0x") || s.startsWith("0X")) {
                return Long.parseLong(s.substring(2), 16);
            }
            if (s.matches("[0-9]+")) {
                return Long.parseLong(s);
            }
            if (s.matches("[0-9]*\\.?[0-9]*([eE][+-]?[0-9]+)?") && !s.equals(".")) {
                return Double.parseDouble(s);
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new ScriptSyntaxException(t.line(), "'" + t.text() + "' is not a number TorchScript prints");
    }
}
