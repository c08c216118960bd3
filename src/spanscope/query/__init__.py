"""The filter language: text -> typed AST -> ``(sql, params)`` for a SQL dialect; extract-field paths.

One grammar everywhere (SDK, HTTP, CLI, UI, monitors, datasets), MLflow-compatible plus AND/OR/NOT::

    filter     := or_expr
    or_expr    := and_expr ("OR" and_expr)*               -- precedence: NOT > AND > OR
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" or_expr ")" | quantified | related | comparison
    quantified := ("ANY" | "ALL") "span" "(" or_expr ")" | "COUNT" "span" "(" [or_expr] ")" CMP number
    related    := ("ancestor" | "descendant") "(" or_expr ")"     -- span conditions only, inside
    comparison := field CMP ("p50" | "p90" | "p95" | "p99" | "p<n>")   -- percentile of the same name
                | field ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") value
                | field ["NOT"] ("LIKE" | "ILIKE") string
                | field ["NOT"] "IN" "(" value ("," value)* ")"
                | field "IS" ["NOT"] "NULL"
    value      := 'string' | "string" | number | TRUE | FALSE        -- keywords in any case
    field      := trace.id | trace.name | trace.status | trace.timestamp | trace.duration_ms
                | tag.<key> | metadata.<key> | finding.<name> | session.id | user.id
                | trace.span_count | span.name | span.kind | span.status | span.duration_ms
                | span.id | span.parent_id | span.timestamp
                | span.attributes.<key> | span.inputs[.<path>] | span.outputs[.<path>]

After ``tag.``, ``metadata.``, ``finding.`` and ``span.attributes.`` the rest is ONE key (dots included);
backticks quote odd keys (``tag.`quality score` ``). After ``span.inputs.`` / ``span.outputs.`` the rest
is a JSON path (``messages[-1].content``). A number literal compares numerically (a value that is not a
number never matches), a string compares as text, ``true``/``false`` compare with ``=``/``!=``.
``trace.timestamp`` takes ISO-8601 text (UTC unless a zone is given) or epoch milliseconds.

Span predicates: one span must satisfy all ``span.*`` comparisons of a conjunction (see ``planner``).
``finding.<name>`` matches when any finding of that name, on the trace or a span, satisfies it.
Comparisons on an absent value are false, and NOT negates that: ``NOT tag.x = 'a'`` matches traces
without the tag, ``tag.x != 'a'`` does not.

Errors (all carry ``message``, a 1-based ``column`` and a ``hint`` of what was expected)::

    ValueError
     └── FilterError               e.g. "expected a value after '<' at column 21"
          ├── FilterSyntaxError    malformed text: missing value or ')', stray word, bad string/path
          ├── UnknownFieldError    "unknown field 'trace.nope' at column 1; expected one of …"
          └── FilterTypeError      value or operator that does not suit the field ("trace.status > 5")

SQL is produced through a ``Dialect`` (``DuckDBDialect`` here); values and JSON paths are always bound
``?`` parameters.
"""

from __future__ import annotations

from spanscope.query.dialect import Dialect, DuckDBDialect, Sql
from spanscope.query.errors import FilterError, FilterSyntaxError, FilterTypeError, UnknownFieldError
from spanscope.query.extract import ExtractField, parse_extract_field, resolve_extract_field
from spanscope.query.nodes import (
    And,
    Comparison,
    Expr,
    Literal,
    Not,
    Or,
    PercentileComparison,
    Related,
    SpanQuantifier,
)
from spanscope.query.order import OrderTerm, compile_order_by, keyset_after, order_terms, render_order
from spanscope.query.parser import parse_filter
from spanscope.query.paths import json_path_get
from spanscope.query.planner import compile_filter

__all__ = [
    "And",
    "Comparison",
    "Dialect",
    "DuckDBDialect",
    "Expr",
    "ExtractField",
    "FilterError",
    "FilterSyntaxError",
    "FilterTypeError",
    "Literal",
    "Not",
    "Or",
    "OrderTerm",
    "PercentileComparison",
    "Related",
    "SpanQuantifier",
    "Sql",
    "UnknownFieldError",
    "compile_filter",
    "compile_order_by",
    "json_path_get",
    "keyset_after",
    "order_terms",
    "parse_extract_field",
    "parse_filter",
    "render_order",
    "resolve_extract_field",
]
