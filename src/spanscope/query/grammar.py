"""The grammar as data: the fields a filter can name and the operators it can use.

Fields: fixed ones (``trace.status``) map to one column; keyed ones (``tag.<key>``) name one key of a
JSON object column; path ones (``span.inputs.<path>``) name a JSON path inside a JSON column. Aliases
(MLflow's ``attributes.status``, ``trace.execution_time_ms``, ``feedback.<name>`` …) resolve to the same
spec.

Operators: each described once, with its engine-neutral SQL template (``{lhs}`` is the field's
expression, ``{rhs}`` the bound placeholder(s)) and its human text. ``TYPE_RULES`` says which literals
and operators each field type accepts.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Final, TypeVar

from spanscope.query.errors import FilterError, FilterSyntaxError, UnknownFieldError
from spanscope.query.paths import JsonPath, parse_path, parse_single_key

T = TypeVar("T")


class Scope(Enum):
    """Which table a field is read from (and so which alias the SQL uses)."""

    TRACE = "trace"  # traces t
    SPAN = "span"  # spans s, one span at a time inside EXISTS
    FINDING = "finding"  # findings f, one finding at a time inside EXISTS


class ValueType(Enum):
    """What a field holds, which decides the literals and operators it accepts."""

    STRING = "a string"
    NUMBER = "a number"
    TIMESTAMP = "a timestamp (ISO-8601 string or epoch milliseconds)"
    STATUS = "a status (OK, ERROR or UNSET)"
    KIND = "a span kind"
    JSON = "a JSON value"


@dataclass(frozen=True)
class FieldSpec:
    name: str  # canonical spelling, as shown in messages: "trace.duration_ms", "tag.<key>"
    scope: Scope
    column: str  # column of the scope's table
    type: ValueType


@dataclass(frozen=True)
class Field:
    """A field as named in a filter: its spec plus the key or path it selects."""

    spec: FieldSpec
    text: str  # as written
    column: int  # 1-based column of the field in the filter text
    path: JsonPath = ()  # for JSON columns: the path inside the column
    finding_name: str | None = None  # for finding.<name>

    @property
    def scope(self) -> Scope:
        return self.spec.scope

    @property
    def type(self) -> ValueType:
        return self.spec.type


def _spec(name: str, scope: Scope, column: str, type_: ValueType) -> FieldSpec:
    return FieldSpec(name, scope, column, type_)


TRACE_ID: Final = _spec("trace.id", Scope.TRACE, "trace_id", ValueType.STRING)
TRACE_NAME: Final = _spec("trace.name", Scope.TRACE, "name", ValueType.STRING)
TRACE_STATUS: Final = _spec("trace.status", Scope.TRACE, "status", ValueType.STATUS)
TRACE_TIMESTAMP: Final = _spec("trace.timestamp", Scope.TRACE, "start_time_ns", ValueType.TIMESTAMP)
TRACE_DURATION: Final = _spec("trace.duration_ms", Scope.TRACE, "duration_ms", ValueType.NUMBER)
SESSION_ID: Final = _spec("session.id", Scope.TRACE, "session_id", ValueType.STRING)
USER_ID: Final = _spec("user.id", Scope.TRACE, "user_id", ValueType.STRING)
SPAN_NAME: Final = _spec("span.name", Scope.SPAN, "name", ValueType.STRING)
SPAN_KIND: Final = _spec("span.kind", Scope.SPAN, "kind", ValueType.KIND)
SPAN_STATUS: Final = _spec("span.status", Scope.SPAN, "status", ValueType.STATUS)
SPAN_DURATION: Final = _spec("span.duration_ms", Scope.SPAN, "duration_ms", ValueType.NUMBER)
SPAN_ID: Final = _spec("span.id", Scope.SPAN, "span_id", ValueType.STRING)
SPAN_PARENT_ID: Final = _spec("span.parent_id", Scope.SPAN, "parent_span_id", ValueType.STRING)
SPAN_TIMESTAMP: Final = _spec("span.timestamp", Scope.SPAN, "start_time_ns", ValueType.TIMESTAMP)
TRACE_SPAN_COUNT: Final = _spec("trace.span_count", Scope.TRACE, "span_count", ValueType.NUMBER)

TAG: Final = _spec("tag.<key>", Scope.TRACE, "tags", ValueType.JSON)
METADATA: Final = _spec("metadata.<key>", Scope.TRACE, "metadata", ValueType.JSON)
FINDING: Final = _spec("finding.<name>", Scope.FINDING, "value", ValueType.JSON)
SPAN_ATTRIBUTES: Final = _spec("span.attributes.<key>", Scope.SPAN, "attributes", ValueType.JSON)
SPAN_INPUTS: Final = _spec("span.inputs[.<path>]", Scope.SPAN, "inputs", ValueType.JSON)
SPAN_OUTPUTS: Final = _spec("span.outputs[.<path>]", Scope.SPAN, "outputs", ValueType.JSON)

# Fixed names (lower-cased) -> spec. Aliases sit next to the name they stand for.
FIXED_FIELDS: Final[dict[str, FieldSpec]] = {
    "trace.id": TRACE_ID,
    "trace.request_id": TRACE_ID,
    "trace.name": TRACE_NAME,
    "attributes.name": TRACE_NAME,
    "trace.status": TRACE_STATUS,
    "attributes.status": TRACE_STATUS,
    "trace.timestamp": TRACE_TIMESTAMP,
    "trace.timestamp_ms": TRACE_TIMESTAMP,
    "trace.start_time": TRACE_TIMESTAMP,
    "attributes.timestamp_ms": TRACE_TIMESTAMP,
    "trace.duration_ms": TRACE_DURATION,
    "trace.execution_time_ms": TRACE_DURATION,
    "attributes.execution_time_ms": TRACE_DURATION,
    "trace.span_count": TRACE_SPAN_COUNT,
    "session.id": SESSION_ID,
    "user.id": USER_ID,
    "span.name": SPAN_NAME,
    "span.kind": SPAN_KIND,
    "span.type": SPAN_KIND,
    "span.status": SPAN_STATUS,
    "span.duration_ms": SPAN_DURATION,
    "span.id": SPAN_ID,
    "span.span_id": SPAN_ID,
    "span.parent_id": SPAN_PARENT_ID,
    "span.parent_span_id": SPAN_PARENT_ID,
    "span.timestamp": SPAN_TIMESTAMP,
    "span.start_time": SPAN_TIMESTAMP,
}

# Prefixes whose rest is ONE key (dots included) of a JSON object column.
KEYED_PREFIXES: Final[dict[str, FieldSpec]] = {
    "tag.": TAG,
    "tags.": TAG,
    "metadata.": METADATA,
    "finding.": FINDING,
    "feedback.": FINDING,
    "span.attributes.": SPAN_ATTRIBUTES,
}

# Names whose rest (after '.' or '[') is a JSON path.
PATH_FIELDS: Final[dict[str, FieldSpec]] = {"span.inputs": SPAN_INPUTS, "span.outputs": SPAN_OUTPUTS}

CANONICAL_NAMES: Final = (
    "trace.id",
    "trace.name",
    "trace.status",
    "trace.timestamp",
    "trace.duration_ms",
    "trace.span_count",
    "tag.<key>",
    "metadata.<key>",
    "finding.<name>",
    "session.id",
    "user.id",
    "span.name",
    "span.kind",
    "span.status",
    "span.duration_ms",
    "span.id",
    "span.parent_id",
    "span.timestamp",
    "span.attributes.<key>",
    "span.inputs[.<path>]",
    "span.outputs[.<path>]",
)


def _unknown(text: str, column: int) -> UnknownFieldError:
    candidates = [*FIXED_FIELDS, *(p + "<key>" for p in KEYED_PREFIXES), *PATH_FIELDS]
    close = difflib.get_close_matches(text.lower(), candidates, n=1, cutoff=0.75)
    hint = f"expected one of {', '.join(CANONICAL_NAMES)}"
    if close:
        hint += f"; did you mean {close[0]}?"
    return UnknownFieldError(f"unknown field {text!r}", column, hint)


def resolve_field(text: str, column: int) -> Field:
    """The field named by ``text`` (a FIELD token starting at ``column``).

    Raises:
        UnknownFieldError: no such field.
        FilterSyntaxError: a keyed field without a key, or a malformed key or path.
    """
    lowered = text.lower()
    spec = FIXED_FIELDS.get(lowered)
    if spec is not None:
        return Field(spec, text, column)
    for prefix, spec in KEYED_PREFIXES.items():
        if lowered.startswith(prefix):
            rest = text[len(prefix) :]
            if not rest:
                raise FilterSyntaxError(
                    f"expected a {'name' if spec is FINDING else 'key'} after {text!r}",
                    column + len(text),
                    "keys with spaces or other characters go in backticks: tag.`my key`",
                )
            key = _shifted(parse_single_key, rest, column + len(prefix) - 1)
            if spec is FINDING:
                return Field(spec, text, column, finding_name=key)
            return Field(spec, text, column, path=(key,))
    for name, spec in PATH_FIELDS.items():
        if lowered == name:
            return Field(spec, text, column)
        if lowered.startswith(name) and text[len(name)] in ".[":
            rest = text[len(name) + 1 :] if text[len(name)] == "." else text[len(name) :]
            offset = column + len(text) - len(rest) - 1
            if not rest:
                raise FilterSyntaxError(f"expected a JSON path after {text!r}", column + len(text))
            return Field(spec, text, column, path=_shifted(parse_path, rest, offset))
    raise _unknown(text, column)


def _shifted(parse: Callable[[str], T], rest: str, offset: int) -> T:
    """Run ``parse(rest)`` and move any error's column to where ``rest`` sits in the filter."""
    try:
        return parse(rest)
    except FilterError as err:
        raise err.shifted(offset) from None


# Fields a percentile (``p95``) can stand against: numbers with a natural group (the span's or trace's name).
PERCENTILE_SPECS: Final = (SPAN_DURATION, TRACE_DURATION, SPAN_ATTRIBUTES)
PERCENTILE_HINT: Final = (
    "percentiles (p50, p90, p95, p99, p99.9 …) compare with span.duration_ms, trace.duration_ms "
    "or span.attributes.<key>"
)

# Tree-aware forms: quantifiers over a trace's spans, and relations inside a span condition.
QUANTIFIERS: Final = ("ANY", "ALL", "COUNT")
RELATIONS: Final = ("ancestor", "descendant")


# -- operators -----------------------------------------------------------------------------------------------


class Arity(Enum):
    ONE = "one value"
    LIST = "a parenthesised list of values"
    NONE = "no value"


@dataclass(frozen=True)
class Operator:
    symbol: str  # canonical spelling, as shown in messages
    template: str  # engine-neutral SQL
    arity: Arity
    text: str  # what it means, for docs and messages
    ordering: bool = False  # compares order (<, <=, >, >=)
    pattern: bool = False  # LIKE family: the value is a string pattern

    def render(self, lhs: str, placeholders: list[str]) -> str:
        return self.template.format(lhs=lhs, rhs=", ".join(placeholders))


OPERATORS: Final[dict[str, Operator]] = {
    op.symbol: op
    for op in (
        Operator("=", "{lhs} = {rhs}", Arity.ONE, "equals"),
        Operator("!=", "{lhs} <> {rhs}", Arity.ONE, "is present and differs from"),
        Operator("<", "{lhs} < {rhs}", Arity.ONE, "is less than", ordering=True),
        Operator("<=", "{lhs} <= {rhs}", Arity.ONE, "is at most", ordering=True),
        Operator(">", "{lhs} > {rhs}", Arity.ONE, "is greater than", ordering=True),
        Operator(">=", "{lhs} >= {rhs}", Arity.ONE, "is at least", ordering=True),
        Operator("LIKE", "{lhs} LIKE {rhs}", Arity.ONE, "matches the pattern (% and _)", pattern=True),
        Operator("ILIKE", "{lhs} ILIKE {rhs}", Arity.ONE, "matches the pattern, any case", pattern=True),
        Operator("NOT LIKE", "{lhs} NOT LIKE {rhs}", Arity.ONE, "is present, no match", pattern=True),
        Operator("NOT ILIKE", "{lhs} NOT ILIKE {rhs}", Arity.ONE, "is present, no match", pattern=True),
        Operator("IN", "{lhs} IN ({rhs})", Arity.LIST, "equals one of"),
        Operator("NOT IN", "{lhs} NOT IN ({rhs})", Arity.LIST, "is present and equals none of"),
        Operator("IS NULL", "{lhs} IS NULL", Arity.NONE, "is absent (or JSON null)"),
        Operator("IS NOT NULL", "{lhs} IS NOT NULL", Arity.NONE, "is present"),
    )
}

# Other spellings accepted in filter text.
OPERATOR_ALIASES: Final[dict[str, str]] = {"<>": "!=", "==": "="}

OPERATOR_LIST: Final = ", ".join(OPERATORS)


@dataclass(frozen=True)
class TypeRule:
    """What a field type accepts: literal kinds, and whether ordering and patterns make sense."""

    literals: tuple[type, ...]  # accepted Python types of literal values (bool is checked apart)
    ordering: bool
    pattern: bool
    booleans: bool = False  # true/false with = and !=


TYPE_RULES: Final[dict[ValueType, TypeRule]] = {
    ValueType.STRING: TypeRule((str,), ordering=True, pattern=True),
    ValueType.NUMBER: TypeRule((int, float), ordering=True, pattern=False),
    ValueType.TIMESTAMP: TypeRule((str, int, float), ordering=True, pattern=False),
    ValueType.STATUS: TypeRule((str,), ordering=False, pattern=True),
    ValueType.KIND: TypeRule((str,), ordering=False, pattern=True),
    ValueType.JSON: TypeRule((str, int, float), ordering=True, pattern=True, booleans=True),
}
