package io.lstmx.importers.pytorch.script;

import java.util.List;

/**
 * The syntax tree of TorchScript's printed code (the Python subset torch.jit.save writes under
 * code/): expressions and statements, each with the line it starts on so that an error can name it.
 */
public final class Ast {
    private Ast() {
    }

    /** An expression. */
    public sealed interface Expr permits Name, Num, Str, Const, Attr, Call, Index, TupleExpr, ListExpr, DictExpr, Unary, BinOp, Compare,
            BoolOp, IfExp, Slice {
        int line();
    }

    /** A variable or a dotted name's first part. */
    public record Name(int line, String id) implements Expr {
    }

    /** An integer (Long) or float (Double) literal. */
    public record Num(int line, Number value) implements Expr {
    }

    /** A string literal (adjacent literals joined). */
    public record Str(int line, String value) implements Expr {
    }

    /** True, False or None (value Boolean or null). */
    public record Const(int line, Boolean value) implements Expr {
    }

    /** {@code value.attr}. */
    public record Attr(int line, Expr value, String attr) implements Expr {
    }

    /** A keyword argument of a call. */
    public record Keyword(String name, Expr value) {
    }

    /** {@code func(args, name=value)}. */
    public record Call(int line, Expr func, List<Expr> args, List<Keyword> keywords) implements Expr {
    }

    /** {@code value[index]}. */
    public record Index(int line, Expr value, Expr index) implements Expr {
    }

    /** {@code lower:upper:step} inside an index (parts may be null). */
    public record Slice(int line, Expr lower, Expr upper, Expr step) implements Expr {
    }

    /** {@code (a, b)}. */
    public record TupleExpr(int line, List<Expr> items) implements Expr {
    }

    /** {@code [a, b]}. */
    public record ListExpr(int line, List<Expr> items) implements Expr {
    }

    /** {@code {k: v}}. */
    public record DictExpr(int line, List<Expr> keys, List<Expr> values) implements Expr {
    }

    /** {@code -x}, {@code +x}, {@code not x}, {@code ~x}. */
    public record Unary(int line, String op, Expr operand) implements Expr {
    }

    /** {@code a op b} for arithmetic and bitwise operators. */
    public record BinOp(int line, String op, Expr left, Expr right) implements Expr {
    }

    /** {@code a < b}, {@code a is not b}, ... (a single comparison; chains are split by the parser). */
    public record Compare(int line, String op, Expr left, Expr right) implements Expr {
    }

    /** {@code a and b} / {@code a or b}. */
    public record BoolOp(int line, String op, Expr left, Expr right) implements Expr {
    }

    /** {@code a if cond else b}. */
    public record IfExp(int line, Expr cond, Expr then, Expr otherwise) implements Expr {
    }

    /** A statement. */
    public sealed interface Stmt permits Assign, AugAssign, ExprStmt, Return, If, For, While, Pass, Break, Continue, Def, ClassDef,
            AnnAssign {
        int line();
    }

    /** {@code targets = value} (a target may be a tuple of targets). */
    public record Assign(int line, List<Expr> targets, Expr value) implements Stmt {
    }

    /** {@code target op= value}. */
    public record AugAssign(int line, Expr target, String op, Expr value) implements Stmt {
    }

    /** {@code name : type [= value]} (class attributes). */
    public record AnnAssign(int line, String name, Expr type, Expr value) implements Stmt {
    }

    /** An expression evaluated for its effect. */
    public record ExprStmt(int line, Expr value) implements Stmt {
    }

    /** {@code return [value]}. */
    public record Return(int line, Expr value) implements Stmt {
    }

    /** {@code if cond: body else: orelse}. */
    public record If(int line, Expr cond, List<Stmt> body, List<Stmt> orelse) implements Stmt {
    }

    /** {@code for target in iter: body}. */
    public record For(int line, Expr target, Expr iter, List<Stmt> body) implements Stmt {
    }

    /** {@code while cond: body}. */
    public record While(int line, Expr cond, List<Stmt> body) implements Stmt {
    }

    /** {@code pass}. */
    public record Pass(int line) implements Stmt {
    }

    /** {@code break}. */
    public record Break(int line) implements Stmt {
    }

    /** {@code continue}. */
    public record Continue(int line) implements Stmt {
    }

    /** A parameter of a def: name, annotation (or null), default (or null). */
    public record Param(String name, Expr type, Expr defaultValue) {
    }

    /** {@code def name(params) -> returns: body}. */
    public record Def(int line, String name, List<Param> params, Expr returns, List<Stmt> body) implements Stmt {
    }

    /** {@code class name(bases): body}. */
    public record ClassDef(int line, String name, List<Expr> bases, List<Stmt> body) implements Stmt {
    }
}
