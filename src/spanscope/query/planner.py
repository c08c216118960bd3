"""Typed AST -> ``(sql, params)`` for one dialect: the WHERE expression over ``traces t`` (or ``spans s``).

Span predicates are evaluated per span: a maximal subtree that names only span-level conditions
(``span.*`` comparisons, ``ancestor(…)``, ``descendant(…)``) becomes one
``EXISTS (SELECT 1 FROM spans s WHERE <correlation> AND <subtree per span>)``, and within an AND all
span-only operands share one EXISTS. So ``span.name = 'db.query' AND span.duration_ms > 500`` needs one
slow db.query span, and ``NOT span.status = 'ERROR'`` means "some span is not in error". A NOT over a
group that mixes span and trace fields negates the group at trace level, so
``NOT (span.status = 'ERROR' OR tag.env = 'prod')`` means "no span in error and env is not prod".

Searching spans (``rows="spans"``, alias ``s`` joined with its trace ``t``) the same span-level subtrees
are evaluated on the row's own span instead of inside EXISTS.

Tree-aware forms: ``ANY span(P)`` is the EXISTS above; ``ALL span(P)`` is "at least one span, and no span
where P is not true"; ``COUNT span(P) > n`` counts. ``descendant(P)`` / ``ancestor(P)`` hold for a span with
a proper descendant / ancestor satisfying P (a recursive walk of ``parent_span_id`` from the matching
spans, computed once per query by the dialect).

``<field> >= p95`` compares with the 95th percentile (exact, interpolated) of that field over the spans of
the same name (traces of the same name for ``trace.duration_ms``) in the same project, restricted to the
filter's time range: the ``trace.timestamp`` comparisons ANDed at the top level of the filter, applied to
the reference rows' own start times; without them, all time.

NOT has two-valued meaning: a comparison on an absent value is false, so ``NOT tag.x = 'a'`` matches
traces without the tag, while ``tag.x != 'a'`` needs the tag present and different.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from spanscope.query.dialect import Dialect, DuckDBDialect, Sql
from spanscope.query.grammar import FIXED_FIELDS, SPAN_ATTRIBUTES, Arity, Field, Scope, ValueType
from spanscope.query.nodes import (
    And,
    Comparison,
    Expr,
    Not,
    Or,
    PercentileComparison,
    Related,
    SpanQuantifier,
    conjuncts,
    is_span_only,
)
from spanscope.query.parser import parse_filter
from spanscope.query.paths import is_multi

TRACE_KEYS: Final = ("project", "trace_id")  # what joins spans and findings to their trace
_TRACE_TIMESTAMP: Final = FIXED_FIELDS["trace.timestamp"]


@dataclass
class _Bounds:
    """The time range the filter's top level restricts traces to (for percentile reference rows)."""

    parts: list[tuple[str, int]] = field(default_factory=list)  # (operator, ns)

    @classmethod
    def of(cls, expr: Expr) -> _Bounds:
        bounds = cls()
        for operand in conjuncts(expr):
            if (
                isinstance(operand, Comparison)
                and operand.field.spec is _TRACE_TIMESTAMP
                and operand.op.symbol in ("=", "<", "<=", ">", ">=")
            ):
                value = int(operand.values[0])
                if operand.op.symbol == "=":
                    bounds.parts += [(">=", value), ("<=", value)]
                else:
                    bounds.parts.append((operand.op.symbol, value))
        return bounds

    def sql(self, column: str, placeholder: str) -> Sql:
        return Sql.join("", [Sql(f" AND {column} {op} {placeholder}", (value,)) for op, value in self.parts])


class _Planner:
    def __init__(
        self,
        dialect: Dialect,
        *,
        span_rows: bool = False,
        bounds: _Bounds | None = None,
        span_floor_ns: int | None = None,
    ) -> None:
        self.d = dialect
        self.span_rows = span_rows
        self.bounds = bounds or _Bounds()
        self.span_floor_ns = span_floor_ns
        self._names = 0

    def trace_spans(self, alias: str, condition: Sql) -> Sql:
        """``condition`` on the spans of trace t, plus the start-time floor when the search has one (every span
        of a trace starts at or after the trace, so the floor only lets the engine skip older row groups)."""
        if self.span_floor_ns is None:
            return condition
        return Sql(
            f"{condition.text} AND {alias}.start_time_ns >= {self.d.placeholder}",
            (*condition.params, self.span_floor_ns),
        )

    def fresh(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}{self._names}"

    # -- trace level (alias t) -------------------------------------------------------------------
    def expr(self, node: Expr) -> Sql:
        if is_span_only(node):
            if self.span_rows:
                return self.span_expr(node, "s")
            condition = self.span_expr(node, "s")
            if isinstance(node, Or):  # it follows the correlation's ANDs
                condition = condition.wrap("({})")
            return self.d.exists("spans", "s", TRACE_KEYS, self.trace_spans("s", condition))
        if isinstance(node, SpanQuantifier):
            return self.quantifier(node)
        if isinstance(node, PercentileComparison):
            return self.percentile(node, "t")
        if isinstance(node, Comparison):
            if node.field.scope is Scope.FINDING:
                return self.finding(node)
            return self.comparison(node, "t")
        if isinstance(node, Not):
            return self.negate(self.expr(node.child))
        if isinstance(node, Or):
            return self.joined(" OR ", [self.trace_operand(child) for child in node.children])
        assert isinstance(node, And)
        # AND: every span-only operand goes into one EXISTS, placed where the first of them stood.
        operands = conjuncts(node)
        span_operands = [op for op in operands if is_span_only(op)]
        parts: list[tuple[Sql, bool]] = []
        for operand in operands:
            if not any(operand is op for op in span_operands):
                parts.append(self.trace_operand(operand))
            elif operand is span_operands[0]:
                merged = operand if len(span_operands) == 1 else And(tuple(span_operands))
                parts.append((self.expr(merged), not (self.span_rows and isinstance(merged, And | Or))))
        return self.joined(" AND ", parts)

    def trace_operand(self, node: Expr) -> tuple[Sql, bool]:
        """``node`` compiled at trace level, and whether its SQL is atomic (needs no parentheses)."""
        if is_span_only(node):
            atomic = not (self.span_rows and isinstance(node, And | Or))
        else:
            atomic = isinstance(node, Comparison | PercentileComparison | SpanQuantifier | Not)
        return self.expr(node), atomic

    def finding(self, node: Comparison) -> Sql:
        name = Sql(f"f.name = {self.d.placeholder}", (node.field.finding_name,))
        # findings_current: findings no later finding supersedes (schema migration 0102_findings_history).
        if node.op.arity is Arity.NONE:
            # A finding's value is never null, so IS NULL means "no finding of that name".
            found = self.d.exists("findings_current", "f", TRACE_KEYS, name)
            return found if node.op.symbol == "IS NOT NULL" else found.wrap("NOT {}")
        condition = Sql.join(" AND ", [name, self.comparison(node, "f")])
        return self.d.exists("findings_current", "f", TRACE_KEYS, condition)

    def quantifier(self, node: SpanQuantifier) -> Sql:
        # Searching spans, alias s is the row's span: a quantifier looks at the trace's spans under another.
        alias = self.fresh("q") if self.span_rows else "s"
        if node.quantifier == "COUNT":
            assert node.op is not None and node.count is not None
            if node.condition is None:
                counted = Sql("t.span_count")
            else:
                condition = self.span_expr(node.condition, alias)
                if isinstance(node.condition, Or):
                    condition = condition.wrap("({})")
                counted = self.d.count("spans", alias, TRACE_KEYS, self.trace_spans(alias, condition))
            return self.d.compare(node.op, counted, [node.count])
        assert node.condition is not None
        condition = self.span_expr(node.condition, alias)
        if node.quantifier == "ANY":
            if isinstance(node.condition, Or):
                condition = condition.wrap("({})")
            return self.d.exists("spans", alias, TRACE_KEYS, self.trace_spans(alias, condition))
        # ALL: at least one span, and none where the condition is not true (absent values are not true).
        violated = self.trace_spans(alias, self.negate(condition))
        return self.d.exists("spans", alias, TRACE_KEYS, violated).wrap("(t.span_count > 0 AND NOT {})")

    # -- per span (alias given) ------------------------------------------------------------------
    def span_expr(self, node: Expr, alias: str) -> Sql:
        if isinstance(node, Comparison):
            return self.comparison(node, alias)
        if isinstance(node, PercentileComparison):
            return self.percentile(node, alias)
        if isinstance(node, Related):
            return self.related(node, alias)
        if isinstance(node, Not):
            return self.negate(self.span_expr(node.child, alias))
        assert isinstance(node, And | Or)
        separator = " AND " if isinstance(node, And) else " OR "
        items = conjuncts(node) if isinstance(node, And) else list(node.children)
        atomic = (Comparison, PercentileComparison, Related, Not)
        return self.joined(separator, [(self.span_expr(c, alias), isinstance(c, atomic)) for c in items])

    def related(self, node: Related, alias: str) -> Sql:
        inner, out = self.fresh("r"), self.fresh("m")
        matching = self.d.related_spans(node.relation, self.fresh("rel"), inner, self.span_expr(node.condition, inner))
        keys = (*TRACE_KEYS, "span_id")
        return Sql(self.d.semi_join(f"({matching.text})", out, keys, alias), matching.params)

    def percentile(self, node: PercentileComparison, alias: str) -> Sql:
        """``<field> <op> (the quantile of the field over rows of the same name)``."""
        ref = self.fresh("p")
        if node.field.scope is Scope.TRACE:
            table, time_column = "traces", f"{ref}.start_time_ns"
        else:
            table, time_column = "spans", f"{ref}.start_time_ns"
        lhs = self.value(node.field, alias, numeric=True)
        reference = self.value(node.field, ref, numeric=True)
        rhs = self.d.same_name_quantile(
            table, ref, alias, reference, node.quantile, self.bounds.sql(time_column, self.d.placeholder)
        )
        return Sql(node.op.render(lhs.text, [rhs.text]), lhs.params + rhs.params)

    # -- leaves and glue -----------------------------------------------------------------------------
    def value(self, field: Field, alias: str, numeric: bool) -> Sql:
        """The SQL for ``field`` on the row ``alias``: a column, or a JSON extraction as text or number."""
        column = f"{alias}.{field.spec.column}"
        if field.type is not ValueType.JSON:
            return Sql(column)
        if field.spec is SPAN_ATTRIBUTES:
            hot = self.d.hot_column(str(field.path[0]), numeric)
            if hot is not None:
                return Sql(f"{alias}.{hot}")
        extract = self.d.json_number if numeric else self.d.json_text
        return extract(column, field.path)

    def comparison(self, node: Comparison, alias: str) -> Sql:
        values: list[Any] = node.values
        if node.field.type is ValueType.JSON:
            # Booleans compare as their JSON text, which is how json_text renders them.
            values = [("true" if v else "false") if isinstance(v, bool) else v for v in values]
            if is_multi(node.field.path):
                column = f"{alias}.{node.field.spec.column}"
                return self.d.compare_many(node.op, column, node.field.path, node.numeric, values)
        return self.d.compare(node.op, self.value(node.field, alias, node.numeric), values)

    def negate(self, inner: Sql) -> Sql:
        return Sql(f"NOT {self.d.not_null_false(inner.text)}", inner.params)

    @staticmethod
    def joined(separator: str, parts: list[tuple[Sql, bool]]) -> Sql:
        """Join operands, parenthesising the compound ones (``atomic`` False)."""
        return Sql.join(separator, [sql if atomic else sql.wrap("({})") for sql, atomic in parts])


def compile_filter(
    filter: str | Expr | None,
    dialect: Dialect | None = None,
    *,
    rows: str = "traces",
    span_floor_ns: int | None = None,
) -> tuple[str, list[Any]]:
    """A SQL boolean expression and its bound parameters, in order.

    ``rows="traces"`` (default): over ``traces t``, used as
    ``SELECT … FROM traces t WHERE t.project = ? AND (<sql>)``. ``rows="spans"``: over ``spans s`` joined
    with its trace ``t``, where bare span conditions apply to the row's span. No filter gives ``"TRUE"``.

    ``span_floor_ns`` (trace rows, for a search already restricted to ``t.start_time_ns >= span_floor_ns``)
    adds the same floor to the span subqueries so the engine can skip older row groups.

    Raises:
        FilterError: the filter text is malformed, names an unknown field, or mismatches a type.

    Example:
        >>> compile_filter("trace.duration_ms > 500")
        ('t.duration_ms > ?', [500])
    """
    if rows not in ("traces", "spans"):
        raise ValueError(f"rows must be 'traces' or 'spans', not {rows!r}")
    dialect = dialect or DuckDBDialect()
    expr = parse_filter(filter) if filter is None or isinstance(filter, str) else filter
    if expr is None:
        return dialect.true, []
    planner = _Planner(dialect, span_rows=rows == "spans", bounds=_Bounds.of(expr), span_floor_ns=span_floor_ns)
    sql = planner.expr(expr)
    return sql.text, list(sql.params)
