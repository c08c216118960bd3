"""``order_by`` entries -> ORDER BY terms, for trace rows (``traces t``) or span rows (``spans s`` + ``t``).

Entries are ``<field> [ASC|DESC]``. JSON fields (tags, metadata, attributes, findings) order numerically
first (numbers and numeric strings), then by text. NULLs always come last. Tie-breakers (``t.trace_id``;
``s.trace_id, s.span_id`` for spans) end every order so pages are stable and a keyset page token can say
exactly where a page ended (see ``OrderTerm`` and ``keyset_after``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from spanscope.query.dialect import Dialect, DuckDBDialect, Sql
from spanscope.query.errors import FilterError, FilterSyntaxError
from spanscope.query.grammar import FIXED_FIELDS, SPAN_ATTRIBUTES, Field, Scope, ValueType, resolve_field
from spanscope.query.lexer import Tok, tokenize

# Bare names accepted in ORDER BY, as the field they stand for.
_TRACE_NAMES: Final = {
    "id": "trace.id",
    "trace_id": "trace.id",
    "name": "trace.name",
    "status": "trace.status",
    "timestamp": "trace.timestamp",
    "timestamp_ms": "trace.timestamp",
    "start_time": "trace.timestamp",
    "duration_ms": "trace.duration_ms",
    "execution_time_ms": "trace.duration_ms",
    "span_count": "trace.span_count",
    "session_id": "session.id",
    "user_id": "user.id",
}
_SPAN_NAMES: Final = {
    **_TRACE_NAMES,
    "id": "span.id",
    "span_id": "span.id",
    "parent_id": "span.parent_id",
    "parent_span_id": "span.parent_id",
    "name": "span.name",
    "kind": "span.kind",
    "status": "span.status",
    "timestamp": "span.timestamp",
    "timestamp_ms": "span.timestamp",
    "start_time": "span.timestamp",
    "duration_ms": "span.duration_ms",
}
_DEFAULTS: Final = {"traces": "trace.timestamp", "spans": "span.timestamp"}
_TIE_BREAKERS: Final = {"traces": ("t.trace_id",), "spans": ("s.trace_id", "s.span_id")}
_HINTS: Final = {
    "traces": "order by trace.*, tag.<key>, metadata.<key>, finding.<name>, session.id or user.id "
    "(span fields order search_spans)",
    "spans": "order by span.*, trace.*, tag.<key>, metadata.<key>, finding.<name>, session.id or user.id",
}


@dataclass(frozen=True)
class OrderTerm:
    """One ORDER BY expression; ``nullable`` False for the tie-breakers, which are never NULL."""

    expr: Sql
    descending: bool = False
    nullable: bool = True


def _order_entry(entry: str, rows: str) -> tuple[Field, bool]:
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
    names = _SPAN_NAMES if rows == "spans" else _TRACE_NAMES
    name = names.get(tokens[0].text.lower(), tokens[0].text)
    field = resolve_field(name, tokens[0].column)
    if field.scope is Scope.SPAN and rows == "traces":
        raise FilterSyntaxError(f"cannot order traces by {field.spec.name}", tokens[0].column, _HINTS[rows])
    return field, descending


def _split_entries(order_by: Sequence[str] | str) -> list[str]:
    if not isinstance(order_by, str):
        return [str(entry) for entry in order_by]
    entries, in_ticks, start = [], False, 0
    for i, ch in enumerate(order_by):  # commas inside backticks belong to a key
        if ch == "`":
            in_ticks = not in_ticks
        elif ch == "," and not in_ticks:
            entries.append(order_by[start:i])
            start = i + 1
    entries.append(order_by[start:])
    return entries


def _field_terms(field: Field, descending: bool, dialect: Dialect) -> list[OrderTerm]:
    if field.scope is Scope.FINDING:
        terms = []
        for extract in (dialect.json_number, dialect.json_text):
            inner = extract("f.value", ())
            sql = dialect.latest_finding_value("t", inner.text)
            terms.append(OrderTerm(Sql(sql, (*inner.params, field.finding_name)), descending))
        return terms
    alias = "s" if field.scope is Scope.SPAN else "t"
    column = f"{alias}.{field.spec.column}"
    if field.type is not ValueType.JSON:
        return [OrderTerm(Sql(column), descending)]
    terms = []
    for numeric in (True, False):
        hot = dialect.hot_column(str(field.path[0]), numeric) if field.spec is SPAN_ATTRIBUTES else None
        if hot is not None:
            terms.append(OrderTerm(Sql(f"s.{hot}"), descending))
        else:
            extract = dialect.json_number if numeric else dialect.json_text
            terms.append(OrderTerm(extract(column, field.path), descending))
    return terms


def order_terms(
    order_by: Sequence[str] | str | None, dialect: Dialect | None = None, *, rows: str = "traces"
) -> list[OrderTerm]:
    """The ORDER BY terms for ``order_by``, tie-breakers included (None or empty: newest first).

    Raises:
        FilterError: an unknown field, a span field when ordering traces, or a direction other than ASC/DESC.
    """
    dialect = dialect or DuckDBDialect()
    entries = [e.strip() for e in _split_entries(order_by) if e.strip()] if order_by else []
    fields: list[tuple[Field, bool]] = []
    for entry in entries:
        try:
            fields.append(_order_entry(entry, rows))
        except FilterError as err:
            raise type(err)(f"{err.message} in order_by entry {entry!r}", err.column, err.hint) from None
    if not fields:
        fields.append((resolve_field(_DEFAULTS[rows], 1), True))
    terms = [term for f, descending in fields for term in _field_terms(f, descending, dialect)]
    if not (rows == "traces" and fields[-1][0].spec is FIXED_FIELDS["trace.id"]):
        terms += [OrderTerm(Sql(column), nullable=False) for column in _TIE_BREAKERS[rows]]
    return terms


def render_order(terms: Sequence[OrderTerm], dialect: Dialect | None = None) -> Sql:
    """The ORDER BY list (without the keyword) for ``terms``."""
    dialect = dialect or DuckDBDialect()
    parts = [Sql(dialect.order_term(t.expr.text, t.descending), t.expr.params) if t.nullable else t.expr for t in terms]
    return Sql.join(", ", parts)


def compile_order_by(
    order_by: Sequence[str] | str | None, dialect: Dialect | None = None, *, rows: str = "traces"
) -> tuple[str, list[Any]]:
    """An ORDER BY list (without the keyword) over ``traces t`` (or ``spans s`` + ``t``) and its parameters.

    Entries are ``<field> [ASC|DESC]``: ``"duration_ms DESC"``, ``"timestamp"``, ``"tag.score DESC"``.

    Example:
        >>> compile_order_by("duration_ms DESC")
        ('t.duration_ms DESC NULLS LAST, t.trace_id', [])
    """
    sql = render_order(order_terms(order_by, dialect, rows=rows), dialect)
    return sql.text, list(sql.params)


def keyset_after(terms: Sequence[OrderTerm], last: Sequence[Any], dialect: Dialect | None = None) -> Sql:
    """A condition true for the rows that come after the row whose term values were ``last``.

    Follows the order exactly: ASC/DESC per term and NULLs last (after a NULL only NULLs of that term).
    """
    dialect = dialect or DuckDBDialect()
    ph = dialect.placeholder

    def after(i: int) -> Sql:
        term, value = terms[i], last[i]
        expr, params = term.expr.text, term.expr.params
        beyond = "<" if term.descending else ">"
        if i == len(terms) - 1:
            if value is None:
                return Sql(dialect.false)
            strict = Sql(f"{expr} {beyond} {ph}", (*params, value))
            return Sql(f"({strict.text} OR {expr} IS NULL)", strict.params) if term.nullable else strict
        rest = after(i + 1)
        if value is None:
            return Sql(f"({expr} IS NULL AND {rest.text})", (*params, *rest.params))
        parts = [Sql(f"{expr} {beyond} {ph}", (*params, value))]
        if term.nullable:
            parts.append(Sql(f"{expr} IS NULL", params))
        parts.append(Sql(f"({expr} = {ph} AND {rest.text})", (*params, value, *rest.params)))
        return Sql.join(" OR ", parts).wrap("({})")

    return after(0)
