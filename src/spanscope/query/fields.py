"""One field of the filter language as a SQL value, for grouping, correlating and exporting.

``field_value("span.attributes.usage.total_tokens", dialect, numeric=True)`` is the SQL a filter would
compare, on the row ``s`` (a span) or ``t`` (its trace). Bare names mean what they mean in ``order_by``
(``name`` is ``span.name`` over spans, ``trace.name`` over traces), and ``model`` is
``span.attributes.gen_ai.request.model``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from spanscope.query.dialect import Dialect, DuckDBDialect, Sql
from spanscope.query.errors import FilterError, FilterSyntaxError
from spanscope.query.grammar import SPAN_ATTRIBUTES, Field, Scope, ValueType, resolve_field
from spanscope.query.order import _SPAN_NAMES, _TRACE_NAMES

_ALIASES: Final = {"model": "span.attributes.gen_ai.request.model"}


@dataclass(frozen=True)
class FieldValue:
    """A resolved field and its SQL (on alias ``s`` for span fields, ``t`` for trace fields)."""

    name: str  # as asked for
    field: Field
    sql: Sql

    @property
    def scope(self) -> Scope:
        return self.field.scope


def field_value(name: str, dialect: Dialect | None = None, *, rows: str = "spans", numeric: bool = False) -> FieldValue:
    """The SQL value of field ``name`` (text, or a number when ``numeric``) over span or trace rows.

    Raises:
        FilterError: an unknown field, or a span field over trace rows.
    """
    dialect = dialect or DuckDBDialect()
    text = name.strip()
    names = _SPAN_NAMES if rows == "spans" else _TRACE_NAMES
    resolved = _ALIASES.get(text.lower()) or names.get(text.lower(), text)
    try:
        field = resolve_field(resolved, 1)
    except FilterError as err:
        raise type(err)(f"{err.message} (in field {name!r})", err.column, err.hint) from None
    if field.scope is Scope.SPAN and rows == "traces":
        raise FilterSyntaxError(f"{field.spec.name} is a span field", 1, "use a trace-level field here")
    if field.scope is Scope.FINDING:
        inner = (dialect.json_number if numeric else dialect.json_text)("f.value", ())
        sql = dialect.latest_finding_value("t", inner.text)
        return FieldValue(name, field, Sql(sql, (*inner.params, field.finding_name)))
    alias = "s" if field.scope is Scope.SPAN else "t"
    column = f"{alias}.{field.spec.column}"
    if field.type is not ValueType.JSON:
        if numeric and field.type not in (ValueType.NUMBER, ValueType.TIMESTAMP):
            raise FilterSyntaxError(f"{field.spec.name} is not a number", 1, "use a numeric field")
        return FieldValue(name, field, Sql(column))
    if field.spec is SPAN_ATTRIBUTES:
        hot = dialect.hot_column(str(field.path[0]), numeric)
        if hot is not None:
            return FieldValue(name, field, Sql(f"s.{hot}"))
    extract = dialect.json_number if numeric else dialect.json_text
    return FieldValue(name, field, extract(column, field.path))
