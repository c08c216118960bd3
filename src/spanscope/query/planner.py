"""Typed AST -> ``(sql, params)`` for one dialect: the WHERE expression over ``traces t`` and ORDER BY.

Span predicates are evaluated per span: a maximal subtree that names only ``span.*`` fields becomes one
``EXISTS (SELECT 1 FROM spans s WHERE <correlation> AND <subtree per span>)``, and within an AND all
span-only operands share one EXISTS. So ``span.name = 'db.query' AND span.duration_ms > 500`` needs one
slow db.query span, and ``NOT span.status = 'ERROR'`` means "some span is not in error". A NOT over a
group that mixes span and trace fields negates the group at trace level, so
``NOT (span.status = 'ERROR' OR tag.env = 'prod')`` means "no span in error and env is not prod".

NOT has two-valued meaning: a comparison on an absent value is false, so ``NOT tag.x = 'a'`` matches
traces without the tag, while ``tag.x != 'a'`` needs the tag present and different.
"""

from __future__ import annotations

from typing import Any, Final

from spanscope.query.dialect import Dialect, DuckDBDialect, Sql
from spanscope.query.errors import FilterError, FilterSyntaxError
from spanscope.query.grammar import FIXED_FIELDS, Arity, Field, Scope, ValueType, resolve_field
from spanscope.query.lexer import Tok, tokenize
from spanscope.query.nodes import And, Comparison, Expr, Not, Or, conjuncts, is_span_only
from spanscope.query.parser import parse_filter

_TRACE_KEYS: Final = ("project", "trace_id")  # what joins spans and findings to their trace
_ALIASES: Final = {Scope.TRACE: "t", Scope.SPAN: "s", Scope.FINDING: "f"}


class _Planner:
    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect

    # -- trace level (alias t) -------------------------------------------------------------------
    def expr(self, node: Expr) -> Sql:
        if is_span_only(node):
            condition = self.span_expr(node)
            if isinstance(node, Or):  # it follows the correlation's ANDs
                condition = condition.wrap("({})")
            return self.d.exists("spans", "s", _TRACE_KEYS, condition)
        if isinstance(node, Comparison):
            if node.field.scope is Scope.FINDING:
                return self.finding(node)
            return self.comparison(node)
        if isinstance(node, Not):
            return self.negate(self.expr(node.child))
        if isinstance(node, Or):
            return self.joined(" OR ", [self.trace_operand(child) for child in node.children])
        # AND: every span-only operand goes into one EXISTS, placed where the first of them stood.
        operands = conjuncts(node)
        span_operands = [op for op in operands if is_span_only(op)]
        parts: list[tuple[Sql, bool]] = []
        for operand in operands:
            if operand not in span_operands:
                parts.append(self.trace_operand(operand))
            elif operand is span_operands[0]:
                merged = operand if len(span_operands) == 1 else And(tuple(span_operands))
                parts.append((self.expr(merged), True))
        return self.joined(" AND ", parts)

    def trace_operand(self, node: Expr) -> tuple[Sql, bool]:
        """``node`` compiled at trace level, and whether its SQL is atomic (needs no parentheses)."""
        atomic = isinstance(node, Comparison | Not) or is_span_only(node)
        return self.expr(node), atomic

    def finding(self, node: Comparison) -> Sql:
        name = Sql(f"f.name = {self.d.placeholder}", (node.field.finding_name,))
        if node.op.arity is Arity.NONE:
            # A finding's value is never null, so IS NULL means "no finding of that name".
            found = self.d.exists("findings", "f", _TRACE_KEYS, name)
            return found if node.op.symbol == "IS NOT NULL" else found.wrap("NOT {}")
        condition = Sql.join(" AND ", [name, self.comparison(node)])
        return self.d.exists("findings", "f", _TRACE_KEYS, condition)

    # -- per span (alias s) ------------------------------------------------------------------------
    def span_expr(self, node: Expr) -> Sql:
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, Not):
            return self.negate(self.span_expr(node.child))
        separator = " AND " if isinstance(node, And) else " OR "
        items = conjuncts(node) if isinstance(node, And) else list(node.children)
        return self.joined(separator, [(self.span_expr(c), isinstance(c, Comparison | Not)) for c in items])

    # -- leaves and glue -----------------------------------------------------------------------------
    def comparison(self, node: Comparison) -> Sql:
        field = node.field
        column = f"{_ALIASES[field.scope]}.{field.spec.column}"
        values: list[Any] = node.values
        if field.type is ValueType.JSON:
            extract = self.d.json_number if node.numeric else self.d.json_text
            lhs = extract(column, field.path)
            # Booleans compare as their JSON text, which is how json_text renders them.
            values = [("true" if v else "false") if isinstance(v, bool) else v for v in values]
        else:
            lhs = Sql(column)
        text = self.d.render_operator(node.op, lhs.text, len(values))
        return Sql(text, lhs.params + tuple(values))

    def negate(self, inner: Sql) -> Sql:
        return Sql(f"NOT {self.d.not_null_false(inner.text)}", inner.params)

    @staticmethod
    def joined(separator: str, parts: list[tuple[Sql, bool]]) -> Sql:
        """Join operands, parenthesising the compound ones (``atomic`` False)."""
        return Sql.join(separator, [sql if atomic else sql.wrap("({})") for sql, atomic in parts])


def compile_filter(filter: str | Expr | None, dialect: Dialect | None = None) -> tuple[str, list[Any]]:
    """A SQL boolean expression over ``traces t`` and its bound parameters, in order.

    Use it as ``SELECT … FROM traces t WHERE t.project = ? AND (<sql>)``. No filter gives ``"TRUE"``.

    Raises:
        FilterError: the filter text is malformed, names an unknown field, or mismatches a type.

    Example:
        >>> compile_filter("trace.duration_ms > 500")
        ('t.duration_ms > ?', [500])
    """
    dialect = dialect or DuckDBDialect()
    expr = parse_filter(filter) if filter is None or isinstance(filter, str) else filter
    if expr is None:
        return dialect.true, []
    sql = _Planner(dialect).expr(expr)
    return sql.text, list(sql.params)


# Bare names accepted in ORDER BY, as the field they stand for.
_ORDER_NAMES: Final = {
    "id": "trace.id",
    "trace_id": "trace.id",
    "name": "trace.name",
    "status": "trace.status",
    "timestamp": "trace.timestamp",
    "timestamp_ms": "trace.timestamp",
    "start_time": "trace.timestamp",
    "duration_ms": "trace.duration_ms",
    "execution_time_ms": "trace.duration_ms",
    "session_id": "session.id",
    "user_id": "user.id",
}
_DEFAULT_ORDER: Final = ("trace.timestamp", True)


def _order_entry(entry: str) -> tuple[Field, bool]:
    tokens = tokenize(entry)
    if tokens[0].kind is not Tok.FIELD:
        raise FilterSyntaxError(f"expected a field, got {tokens[0].describe()}", tokens[0].column)
    descending = False
    rest = tokens[1:]
    if rest[0].kind is Tok.FIELD and rest[0].text.upper() in ("ASC", "DESC"):
        descending = rest[0].text.upper() == "DESC"
        rest = rest[1:]
    if rest[0].kind is not Tok.END:
        raise FilterSyntaxError(f"unexpected {rest[0].describe()}", rest[0].column, "expected ASC or DESC")
    name = _ORDER_NAMES.get(tokens[0].text.lower(), tokens[0].text)
    field = resolve_field(name, tokens[0].column)
    if field.scope is not Scope.TRACE:
        raise FilterSyntaxError(
            f"cannot order traces by {field.spec.name}",
            tokens[0].column,
            "order by trace.*, tag.<key>, metadata.<key>, session.id or user.id",
        )
    return field, descending


def _split_entries(order_by: list[str] | str) -> list[str]:
    if isinstance(order_by, list | tuple):
        return [str(entry) for entry in order_by]
    entries, depth_tick, start = [], False, 0
    for i, ch in enumerate(order_by):  # commas inside backticks belong to a key
        if ch == "`":
            depth_tick = not depth_tick
        elif ch == "," and not depth_tick:
            entries.append(order_by[start:i])
            start = i + 1
    entries.append(order_by[start:])
    return entries


def compile_order_by(order_by: list[str] | str | None, dialect: Dialect | None = None) -> tuple[str, list[Any]]:
    """An ORDER BY list (without the keyword) over ``traces t`` and its bound parameters.

    Entries are ``<field> [ASC|DESC]``: ``"duration_ms DESC"``, ``"timestamp"``, ``"tag.score DESC"``.
    JSON fields order numerically first (numbers and numeric strings), then by text. ``t.trace_id`` is
    always the last tie-breaker so pages are stable. None or empty orders by newest first.

    Raises:
        FilterError: an unknown or non-trace field, or a direction other than ASC/DESC.

    Example:
        >>> compile_order_by("duration_ms DESC")
        ('t.duration_ms DESC NULLS LAST, t.trace_id', [])
    """
    dialect = dialect or DuckDBDialect()
    entries = [e.strip() for e in _split_entries(order_by) if e.strip()] if order_by else []
    fields: list[tuple[Field, bool]] = []
    for entry in entries:
        try:
            fields.append(_order_entry(entry))
        except FilterError as err:
            raise type(err)(f"{err.message} in order_by entry {entry!r}", err.column, err.hint) from None
    if not fields:
        fields.append((resolve_field(_DEFAULT_ORDER[0], 1), _DEFAULT_ORDER[1]))
    terms: list[Sql] = []
    for field, descending in fields:
        column = f"t.{field.spec.column}"
        if field.type is ValueType.JSON:
            for value in (dialect.json_number(column, field.path), dialect.json_text(column, field.path)):
                terms.append(Sql(dialect.order_term(value.text, descending), value.params))
        else:
            terms.append(Sql(dialect.order_term(column, descending)))
    if fields[-1][0].spec is not FIXED_FIELDS["trace.id"]:
        terms.append(Sql("t.trace_id"))
    sql = Sql.join(", ", terms)
    return sql.text, list(sql.params)
